"""``notary backup`` / ``notary restore`` as commands: their refusals are one line with a code
and an exit status, never a traceback, and a restore without keys says what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from notary.cli import main

pytestmark = pytest.mark.wallclock  # the CLI's runtime runs on the machine clock


@pytest.fixture
def instance(instance_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    shutil.copytree(instance_template, path)
    return path


def invoke(args: list[str], env: dict[str, str]) -> object:
    return CliRunner().invoke(main, args, env={"NOTARY_DATABASE_URL": "", **env})


def test_refusals_are_one_line(instance, tmp_path):
    env = {"NOTARY_INSTANCE_PATH": str(instance)}
    nowhere = invoke(["backup", "--out", str(tmp_path / "missing" / "b.tar")], env)
    assert nowhere.exit_code == 1
    assert nowhere.output.startswith("Error: io_error: ")
    assert nowhere.exception is None or isinstance(nowhere.exception, SystemExit)

    unasked = invoke(["backup", "--out", str(tmp_path / "b.tar"), "--include-keys"], env)
    assert unasked.exit_code == 1  # no terminal to ask on, no NOTARY_BACKUP_PASSPHRASE
    assert "backup_passphrase_needed" in unasked.output
    assert not (tmp_path / "b.tar").exists()

    keyed = {**env, "NOTARY_BACKUP_PASSPHRASE": "the passphrase"}
    taken = invoke(["backup", "--out", str(tmp_path / "b.tar"), "--include-keys", "--json"], keyed)
    assert taken.exit_code == 0, taken.output
    assert json.loads(taken.output)["keys_included"] is True
    again = invoke(["backup", "--out", str(tmp_path / "b.tar")], env)
    assert again.exit_code == 1
    assert again.output.startswith("Error: backup_exists: ")

    target = tmp_path / "restored"
    wrong = invoke(
        ["restore", str(tmp_path / "b.tar"), "--to", str(target)],
        {"NOTARY_INSTANCE_PATH": str(target), "NOTARY_BACKUP_PASSPHRASE": "not it"},
    )
    assert wrong.exit_code == 1
    assert wrong.output.startswith("Error: backup_passphrase_wrong: ")
    assert not target.exists()
    for result in (nowhere, unasked, again, wrong):
        assert "Traceback" not in result.output


def test_a_restore_without_keys_is_not_audited_until_they_are_given(instance, tmp_path):
    env = {"NOTARY_INSTANCE_PATH": str(instance)}
    assert invoke(["backup", "--out", str(tmp_path / "b.tar")], env).exit_code == 0
    target = tmp_path / "restored"
    bare = invoke(
        ["restore", str(tmp_path / "b.tar"), "--to", str(target)], {"NOTARY_INSTANCE_PATH": str(target)}
    )
    assert bare.exit_code == 3, bare.output
    assert "no private keys restored" in bare.output
    shutil.rmtree(target)
    keyed = invoke(
        [
            "restore",
            str(tmp_path / "b.tar"),
            "--to",
            str(target),
            "--keys-from",
            str(instance / "keys"),
            "--json",
        ],
        {"NOTARY_INSTANCE_PATH": str(target)},
    )
    assert keyed.exit_code == 0, keyed.output
    result = json.loads(keyed.output)
    assert result["keys_restored"] is True
    assert result["audit"]["clean"] is True
