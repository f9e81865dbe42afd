"""``notary verify`` and the trust file's witness policy (issue 21, item 2d): exit 4 below k,
naming the witnesses that cosigned; exit 0 at k."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from notary.cli import main
from notary.verify.canonical import canonical_json
from tests.support.cosigned import W1, W2, cosign_note, cosigned, policy_trust
from tests.support.evidence import SampleLog, SampleNotary
from tests.support.export import make_export


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("witnesses")
    notary = SampleNotary.create(folder / "keys")
    log = SampleLog(notary, 4)
    genuine = log.bundle(1, 3)
    contents = {
        "export.zip": make_export(notary, {log.filed[i].contract_id: log.bundle(i, 3) for i in range(3)}),
        "cosigned-newer.txt": cosign_note(log.checkpoint(4), W1, W2).encode(),
        "proof.json": json.dumps(log.consistency(3, 4)).encode(),
        "one.zip": cosigned(genuine, W1),
        "two.zip": cosigned(genuine, W1, W2),
        "k2.json": canonical_json(policy_trust(notary, 2).to_dict()),
        "no-policy.json": notary.trust_json(),
    }
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return folder


def run(files, *args):
    result = CliRunner().invoke(main, ["verify", *(str(files / a) if "." in a else a for a in args)])
    return result.exit_code, result.output


def test_below_the_policy_exits_4_naming_the_cosigners(files):
    code, output = run(files, "one.zip", "--trust", "k2.json")
    assert code == 4, output
    assert "NOT YET VALID" in output
    assert "Witnesses: 1 of the 3 listed cosigned, at least 2 required" in output
    assert W1.name in output
    assert "[FAIL] witness_cosignatures" in output
    code, output = run(files, "one.zip", "--trust", "k2.json", "--json")
    assert code == 4
    report = json.loads(output)
    assert report["verdict"] == "below_witness_policy"
    assert report["witnesses"]["cosigned_by"] == [W1.name]


def test_k_cosignatures_exit_0(files):
    code, output = run(files, "two.zip", "--trust", "k2.json")
    assert code == 0, output
    assert "Witnesses: 2 of the 3 listed cosigned, at least 2 required" in output
    assert f"{W1.name}, {W2.name}" in output
    # A trust file without witness policies does not judge the cosignatures.
    code, output = run(files, "one.zip", "--trust", "no-policy.json")
    assert code == 0, output
    assert "witness_cosignatures" not in output


def test_require_witnesses_raises_k(files):
    code, output = run(files, "two.zip", "--trust", "k2.json", "--require-witnesses", "3")
    assert code == 4, output
    assert "Witnesses: 2 of the 3 listed cosigned, at least 3 required" in output
    code, output = run(files, "two.zip", "--trust", "k2.json", "--require-witnesses", "1")
    assert code == 0, output  # never lowers the trust file's k: 2 are there, 2 required


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0", "bad_witness_requirement"),
        ("-1", "bad_witness_requirement"),
        ("two", "bad_witness_requirement"),
        ("4", "witness_requirement_unmeetable"),
    ],
)
def test_a_bad_requirement_exits_2_with_its_code(files, value, code):
    exit_code, output = run(files, "two.zip", "--trust", "k2.json", f"--require-witnesses={value}")
    assert exit_code == 2, output
    assert output.startswith(f"Error: {code}: "), output
    assert "Traceback" not in output
    exit_code, output = run(files, "two.zip", "--trust", "k2.json", f"--require-witnesses={value}", "--json")
    assert exit_code == 2
    assert json.loads(output.splitlines()[0])["error"]["code"] == code


def test_requiring_witnesses_needs_a_trust_file_with_a_policy(files):
    for trust in (["--trust", "no-policy.json"], ["--integrity-only"]):
        code, output = run(files, "one.zip", *trust, "--require-witnesses", "1")
        assert code == 2, output
        assert "witness_requirement_unmeetable" in output
        assert "with witness_policies" in output


def test_a_newer_cosigned_checkpoint_lifts_a_bundle_below_the_policy(files):
    """What the exit-4 message advises (--online fetches the same two files)."""
    code, output = run(
        files,
        "one.zip",
        "--trust",
        "k2.json",
        "--checkpoint",
        "cosigned-newer.txt",
        "--consistency",
        "proof.json",
    )
    assert code == 0, output
    assert "2 of 3 witnesses cosigned the newer checkpoint of size 4" in output


def test_a_case_export_below_the_policy_exits_4(files):
    code, output = run(files, "export.zip", "--trust", "k2.json")
    assert code == 4, output
    assert "witness_policy_not_met" in output
