"""The CLI never shows a traceback (issue 20, item 6): no instance where NOTARY_INSTANCE_PATH
points is one line naming what to do, exit status 78; with ``--json`` every error is a JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from notary.cli import main
from notary.cli.common import NO_INSTANCE


@pytest.mark.parametrize(
    "args",
    [["platform", "add", "Example Lending"], ["case", "list"], ["audit"], ["report", "list"]],
    ids=["platform add", "case list", "audit", "report list"],
)
def test_no_instance_is_one_line_saying_what_to_do(tmp_path: Path, args: list[str]) -> None:
    # Before: FileNotFoundError (platform add), SQLAlchemy's OperationalError (case list).
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(main, args, env={"NOTARY_INSTANCE_PATH": str(missing)})
    assert result.exit_code == NO_INSTANCE == 78, result.output
    assert "Traceback" not in result.output
    assert result.output.strip() == (
        f"Error: no notary instance at {missing}: run `notary init` there, "
        "or set NOTARY_INSTANCE_PATH to an instance's folder"
    )
    assert not missing.exists()  # nothing was created in passing


def test_with_json_the_error_is_a_json_object(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(main, ["case", "list", "--json"], env={"NOTARY_INSTANCE_PATH": str(missing)})
    assert result.exit_code == 78
    assert json.loads(result.output) == {
        "error": {
            "code": "no_instance",
            "message": f"no notary instance at {missing}: run `notary init` there, "
            "or set NOTARY_INSTANCE_PATH to an instance's folder",
        }
    }
