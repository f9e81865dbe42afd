"""notary.verify is the court's offline verifier: it must load without the service.

Checked twice: statically (every import of every module names the standard library,
cryptography, asn1crypto, rfc8785 or notary.verify itself) and at run time in a fresh process
(importing every module loads neither Flask nor SQLAlchemy nor any other notary package).
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import notary.verify

ALLOWED = {"cryptography", "asn1crypto", "rfc8785"}
PACKAGE = Path(notary.verify.__file__).parent


def modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages([str(PACKAGE)], prefix="notary.verify."))


def test_every_import_is_of_the_standard_library_or_the_allowed_few():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if name.startswith("notary.verify") or name == "notary.verify":
                    continue
                if top in ALLOWED or top in sys.stdlib_module_names or top == "__future__":
                    continue
                offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []


def test_importing_every_module_loads_nothing_of_the_service():
    code = (
        "import importlib, sys\n"
        f"for name in {modules()!r}: importlib.import_module(name)\n"
        "import notary.verify, notary.verify.evidence.verifier\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'alembic', 'marshmallow',"
        " 'click', 'werkzeug', 'rfc3161ng', 'reportlab', 'pyhanko')"
        " or (m.startswith('notary.') and not m.startswith('notary.verify'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
    assert "notary.verify.evidence.verifier" in modules()
