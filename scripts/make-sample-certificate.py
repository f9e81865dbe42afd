"""Make docs/sample-certificate.pdf and docs/sample-certificate.png from fictitious test data.

    .venv/bin/python scripts/make-sample-certificate.py

Keys are generated afresh in a temporary folder (a throwaway "Example Notary" root) and the
timestamp comes from the test authority, so the sample's signature is valid but trusted by no
one. Needs pdftoppm (poppler-utils) for the PNG.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notary.services.evidence.pdf import issue_certificate  # noqa: E402
from tests.support.certificate_facts import sample_facts  # noqa: E402
from tests.support.certificate_pki import make_keys, make_signer  # noqa: E402


def main() -> None:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        signer, _ = make_signer(make_keys(Path(scratch) / "keys"))
        facts = sample_facts(title="个人消费借款合同", external_ref="P2P-2026-000123", amount="123456789.99")
        issued = issue_certificate(facts, signer)
        pdf_path = docs / "sample-certificate.pdf"
        pdf_path.write_bytes(issued.pdf)
        prefix = Path(scratch) / "page"
        subprocess.run(  # noqa: S603 -- a fixed command on a file this script wrote
            [  # noqa: S607 -- pdftoppm from PATH, as the tests run it
                "pdftoppm",
                "-png",
                "-r",
                "110",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf_path),
                str(prefix),
            ],
            check=True,
        )
        (docs / "sample-certificate.png").write_bytes(prefix.with_suffix(".png").read_bytes())
    print(f"{pdf_path.relative_to(ROOT)}  sha256 {issued.sha256}")


if __name__ == "__main__":
    main()
