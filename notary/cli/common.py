"""What every ``notary`` command shares: settings, the runtime, options, output and exit codes."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from notary.config import ConfigError, Settings


def load_settings() -> Settings:
    try:
        return Settings.load()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def runtime() -> Any:
    from notary.runtime import Runtime

    return Runtime(load_settings())


@contextmanager
def runtime_scope() -> Iterator[Any]:
    """The process's runtime for one command, its connections closed when the command ends."""
    rt = runtime()
    try:
        yield rt
    finally:
        rt.close()


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


def default_operator() -> str:
    """The operator's name when ``--operator`` is not given: the login name of the shell."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def operator_option(function: Any) -> Any:
    return click.option(
        "--operator",
        default=default_operator,
        show_default="your login name",
        help="Who acts (recorded in the audit trail).",
    )(function)


def json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(function)


class Unusable(click.ClickException):
    """Input that cannot be verified at all: exit status 2, one line saying why."""

    exit_code = 2

    def __init__(self, message: str, *, code: str = "unusable_input") -> None:
        super().__init__(message)
        self.code = code

    def format_message(self) -> str:
        return self.message if self.code == "unusable_input" else f"{self.code}: {self.message}"


def read_input(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise Unusable(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise Unusable(f"{what} {path} is larger than {limit} bytes")
    return data
