"""`notary verify`: exit 0 valid, 1 invalid, 2 unusable input with a one-line reason; and it
never loads the service (Flask, SQLAlchemy) to do so."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

from notary.cli import main
from notary.verify.archive import MAX_MEMBERS
from tests.support.evidence import SampleLog, SampleNotary, members, rezip

INDEX, SIZE, NEWER = 1, 3, 6


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify")
    notary = SampleNotary.create(folder / "keys")
    log = SampleLog(notary, NEWER)
    genuine = log.bundle(INDEX, SIZE)
    changed = members(genuine)
    changed["record.json"] = log.filed[0].record
    wrong_proof = log.consistency(SIZE, NEWER)
    wrong_proof["hashes"] = wrong_proof["hashes"][::-1]
    contents = {
        "genuine.zip": genuine,
        "changed.zip": rezip(changed, fix_manifest=True),
        "document.pdf": log.filed[INDEX].document,
        "other.pdf": log.filed[0].document,
        "trust.json": notary.trust_json(),
        "newer.txt": log.checkpoint(NEWER).encode(),
        "proof.json": json.dumps(log.consistency(SIZE, NEWER)).encode(),
        "wrong-proof.json": json.dumps(wrong_proof).encode(),
        "junk.zip": b"this is not a zip",
        "empty.zip": b"",
        "many.zip": rezip({f"m{i}.txt": b"" for i in range(MAX_MEMBERS + 1)}),
        "bomb.zip": _bomb(),
        "bad-trust.json": b'{"logs": []}',
    }
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return folder


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", bytes(16 * 1024 * 1024))
    return buffer.getvalue()


def run(files, *args):
    result = CliRunner().invoke(main, ["verify", *(str(files / a) if "." in a else a for a in args)])
    return result.exit_code, result.output


def test_a_genuine_bundle_exits_0_with_the_trust_file_and_3_for_integrity_only(files):
    code, output = run(files, "genuine.zip", "--integrity-only")
    assert code == 3, output
    assert "VALID for integrity only: ORIGIN NOT ESTABLISHED" in output
    code, output = run(files, "genuine.zip", "--trust", "trust.json", "--document", "document.pdf")
    assert code == 0, output
    assert "VALID: integrity and origin established" in output
    assert "[ok  ] document_digest" in output


def test_json_output(files):
    code, output = run(files, "genuine.zip", "--trust", "trust.json", "--json")
    assert code == 0
    report = json.loads(output)
    assert report["valid"] is True
    assert report["trust_basis"] == "trust_file"
    assert report["log"]["leaf_index"] == INDEX


def test_the_trust_is_chosen_explicitly(files):
    for args in ([], ["--trust", "trust.json", "--integrity-only"]):
        code, output = run(files, "genuine.zip", *args)
        assert code == 2, output
        assert "choose what to trust: --trust FILE" in output


def test_an_invalid_bundle_exits_1_naming_the_check(files):
    code, output = run(files, "changed.zip", "--integrity-only")
    assert code == 1
    assert output.startswith("Evidence bundle for contract ct_0000TEST: INVALID")
    assert "[FAIL] record_timestamp" in output
    code, output = run(files, "genuine.zip", "--integrity-only", "--document", "other.pdf")
    assert code == 1
    assert "[FAIL] document_digest" in output


def test_consistency_with_a_newer_checkpoint(files):
    code, output = run(
        files,
        "genuine.zip",
        "--trust",
        "trust.json",
        "--checkpoint",
        "newer.txt",
        "--consistency",
        "proof.json",
    )
    assert code == 0, output
    assert f"Consistent with the newer checkpoint of size {NEWER}" in output
    code, output = run(
        files,
        "genuine.zip",
        "--integrity-only",
        "--checkpoint",
        "newer.txt",
        "--consistency",
        "wrong-proof.json",
    )
    assert code == 1
    assert "[FAIL] consistency" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["junk.zip"], "malformed_bundle: not a zip archive"),
        (["empty.zip"], "malformed_bundle: the file is empty"),
        (["many.zip"], f"malformed_bundle: the archive has {MAX_MEMBERS + 1} members"),
        (["bomb.zip"], "malformed_bundle: member 'manifest.json' inflates more than 100 times"),
        (["absent.zip"], "cannot read bundle"),
        (["genuine.zip", "--trust", "bad-trust.json"], "malformed_trust_file"),
        (["genuine.zip", "--trust", "junk.zip"], "malformed_trust_file"),
        (["genuine.zip", "--checkpoint", "newer.txt"], "--checkpoint and --consistency go together"),
        (
            ["genuine.zip", "--checkpoint", "newer.txt", "--consistency", "junk.zip"],
            "consistency proof is not valid JSON",
        ),
    ],
)
def test_unusable_input_exits_2_with_one_clear_line(files, args, message):
    code, output = run(files, *args, *([] if "--trust" in args else ["--integrity-only"]))
    assert code == 2
    assert message in output
    assert "Traceback" not in output


def test_unusable_input_with_json_prints_an_error_object(files):
    code, output = run(files, "junk.zip", "--integrity-only", "--json")
    assert code == 2
    error = json.loads(output.splitlines()[0])["error"]
    assert error == {"code": "malformed_bundle", "message": "not a zip archive"}


def test_the_command_runs_without_the_service(files):
    """In a fresh process: real exit statuses, and Flask and SQLAlchemy never imported."""
    code = (
        "import sys\n"
        "from notary.cli import main\n"
        "try:\n"
        f"    main(['verify', {str(files / 'genuine.zip')!r}, '--trust', {str(files / 'trust.json')!r}])\n"
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        "loaded = [m for m in ('flask', 'sqlalchemy', 'alembic', 'marshmallow', 'notary.services', 'notary.storage')"
        " if m in sys.modules]\n"
        "print('STATUS', status, 'LOADED', ','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip().splitlines()[-1] == "STATUS 0 LOADED", result.stdout + result.stderr
    for name, status in (("genuine.zip", 3), ("changed.zip", 1), ("junk.zip", 2)):
        process = subprocess.run(
            [sys.executable, "-m", "notary.cli", "verify", str(files / name), "--integrity-only"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert process.returncode == status, process.stderr
    assert process.stderr.strip() == "Error: malformed_bundle: not a zip archive"
