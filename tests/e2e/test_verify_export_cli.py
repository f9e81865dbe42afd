"""`notary verify` on a case export: the same exit statuses as for a bundle (0 valid, 1 invalid
naming the failed checks, 2 unusable), the export's own report, and no service loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from notary.cli import main
from notary.verify.canonical import parse_canonical_json
from tests.support.evidence import SampleLog, SampleNotary, members
from tests.support.evidence import rezip as rezip_bundle
from tests.support.export import export_members, make_export, rezip

SIZE = 2


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify-export")
    notary = SampleNotary.create(folder / "keys")
    log = SampleLog(notary, SIZE)
    bundles = {log.filed[i].contract_id: log.bundle(i, SIZE) for i in range(SIZE)}
    genuine = make_export(notary, bundles)
    entries = export_members(genuine)
    first = f"bundles/{log.filed[0].contract_id}.zip"
    inner = members(entries[first])
    inner["terms.json"] = inner["terms.json"].replace(b"10000.00", b"90000.00")
    entries[first] = rezip_bundle(inner, fix_manifest=True)
    damaged = bytearray(genuine)
    damaged[damaged.index(b"terms.json") + 300] ^= 1
    contents = {
        "export.zip": genuine,
        "tampered.zip": rezip(entries),
        "damaged.zip": bytes(damaged),
        "trust.json": notary.trust_json(),
        "document.pdf": log.filed[0].document,
    }
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return folder, first


def run(folder, *args):
    result = CliRunner().invoke(main, ["verify", *(str(folder / a) if "." in a else a for a in args)])
    return result.exit_code, result.output


def test_a_genuine_export_exits_0(files):
    folder, _ = files
    code, output = run(folder, "export.zip", "--integrity-only")
    assert code == 3, output
    assert output.startswith("Case export: VALID for integrity only: ORIGIN NOT ESTABLISHED")
    code, output = run(folder, "export.zip", "--trust", "trust.json")
    assert code == 0, output
    assert output.startswith("Case export: VALID: integrity and origin established")
    assert "[ok  ] manifest_signature" in output
    assert f"{SIZE} bundle(s): {SIZE} valid, 0 not" in output


def test_json_output_is_the_export_report(files):
    folder, _ = files
    code, output = run(folder, "export.zip", "--trust", "trust.json", "--json")
    assert code == 0
    report = parse_canonical_json(output.strip().encode())
    assert (report["format"], report["valid"], report["trust_basis"]) == (
        "notary-export-verification/2", True, "trust_file"
    )  # fmt: skip
    assert [bundle["report"]["valid"] for bundle in report["bundles"]] == [True] * SIZE


def test_a_tampered_export_exits_1_naming_the_checks_and_the_bundle(files):
    folder, first = files
    code, output = run(folder, "tampered.zip", "--trust", "trust.json")
    assert code == 1, output
    assert output.startswith("Case export: INVALID")
    assert "[FAIL] bundle_digests" in output
    assert "[FAIL] bundles" in output
    assert f"{first}: invalid_bundle: failed: " in output
    assert "terms_digest (digest_mismatch)" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["damaged.zip", "--integrity-only"], "malformed_export: member 'bundles/"),
        (
            ["export.zip", "--integrity-only", "--document", "document.pdf"],
            "are for a bundle, not a case export",
        ),
        (["export.zip", "--trust", "export.zip"], "malformed_trust_file"),
    ],
)
def test_unusable_input_exits_2(files, args, message):
    folder, _ = files
    code, output = run(folder, *args)
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output


def test_the_command_runs_without_the_service(files):
    folder, _ = files
    code = (
        "import sys\n"
        "from notary.cli import main\n"
        "try:\n"
        f"    main(['verify', {str(folder / 'export.zip')!r}, '--trust', {str(folder / 'trust.json')!r}, '--json'])\n"
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        "loaded = [m for m in ('flask', 'sqlalchemy', 'notary.services', 'notary.storage') if m in sys.modules]\n"
        "print('STATUS', status, 'LOADED', ','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    last = result.stdout.strip().splitlines()[-1]
    assert last == "STATUS 0 LOADED", result.stdout[-500:] + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[0])["valid"] is True
