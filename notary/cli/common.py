"""What every ``notary`` command shares: settings, the runtime, options, output and exit codes."""

from __future__ import annotations

import getpass
import json
import unicodedata
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


class StartRefused(click.ClickException):
    """A setting that would change what the instance is (its log origin): one line, and exit
    status 78 (EX_CONFIG), so that a supervisor does not restart the process in a loop."""

    exit_code = 78


#: Exit status of a command run where there is no instance (EX_CONFIG, as an origin that would change).
NO_INSTANCE = 78


class NoInstance(click.ClickException):
    """No notary instance where ``NOTARY_INSTANCE_PATH`` points: one line, exit status 78."""

    exit_code = NO_INSTANCE
    code = "no_instance"


def runtime(settings: Settings | None = None, *, web: bool = False, examine_only: bool = False) -> Any:
    """The process's runtime (of ``settings``, by default the environment's; ``web`` also builds
    the certificate service; ``examine_only``: see :class:`~notary.runtime.Runtime`); raises
    :class:`NoInstance` where there is no instance and :class:`StartRefused` over a changed
    origin or a log shorter than the checkpoint it published."""
    from notary.runtime import Runtime
    from notary.services.tlog.origins import OriginChanged
    from notary.services.tlog.published import REFUSALS

    settings = settings or load_settings()
    if not settings.key_dir.is_dir():  # notary init makes the keys first, then the database
        raise NoInstance(
            f"no notary instance at {settings.instance_path}: run `notary init` there, "
            "or set NOTARY_INSTANCE_PATH to an instance's folder"
        )
    try:
        return Runtime(settings, web=web, examine_only=examine_only)
    except OriginChanged as exc:
        raise StartRefused(str(exc)) from exc
    except REFUSALS as exc:
        raise StartRefused(f"{exc.code}: {exc.message}") from exc


@contextmanager
def runtime_scope(*, web: bool = False) -> Iterator[Any]:
    """The process's runtime for one command, its connections closed when the command ends."""
    rt = runtime(web=web)
    try:
        yield rt
    finally:
        rt.close()


# What a terminal acts on or hides: control characters (escape sequences, CR, BEL), format
# characters (bidirectional overrides, zero-width), separators, surrogates, unassigned and
# private-use code points.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})


def _escaped(char: str) -> str:
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown(value: object) -> str:
    """Text from outside (names, titles, references, reasons, legal bases, ids), made inert for
    a terminal: every character it would act on or hide is written as a Python-style escape
    (``\\x1b``, ``\\u202e``), newlines included, so one value is one visible line."""
    text = str(value)
    if all(unicodedata.category(char) not in _HIDDEN for char in text):
        return text
    return "".join(_escaped(char) if unicodedata.category(char) in _HIDDEN else char for char in text)


def say(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Print a line the command composed. A last guard: whatever a caller forgot to pass
    through :func:`shown` is escaped here too, except the line breaks the text means."""
    click.echo("\n".join(shown(line) for line in text.split("\n")), err=err, nl=nl)


def json_text(data: Any) -> str:
    """``data`` as one line of JSON, UTF-8 kept readable, made inert by :func:`inert_json`."""
    return inert_json(json.dumps(data, ensure_ascii=False))


def inert_json(text: str) -> str:
    """JSON text with every character a terminal would act on or hide written as ``\\uXXXX``
    (JSON escapes controls, but not bidirectional overrides or zero-width characters). Such
    characters can only stand inside strings, where the escape means the same character."""
    if all(unicodedata.category(char) not in _HIDDEN for char in text):
        return text
    return "".join(
        json.dumps(char)[1:-1] if unicodedata.category(char) in _HIDDEN and char != "\n" else char
        for char in text
    )


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    """Print ``data`` as JSON (``--json``) or ``text`` for a person; both escaped (see :func:`say`)."""
    if as_json:
        click.echo(json_text(data))
    else:
        say(text)


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
