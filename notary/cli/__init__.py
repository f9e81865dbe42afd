"""The ``notary`` command. Each command is a thin wrapper over a plain function.

Each command group has its module (:mod:`~notary.cli.instance`, :mod:`~notary.cli.platforms`,
:mod:`~notary.cli.party`, :mod:`~notary.cli.verify`, :mod:`~notary.cli.access`,
:mod:`~notary.cli.audit`, :mod:`~notary.cli.export`, :mod:`~notary.cli.log`,
:mod:`~notary.cli.webhooks`); what they share is in
:mod:`notary.cli.common`. Command modules import the service lazily, so ``notary verify``
starts without loading it.
"""

from __future__ import annotations

import json
from typing import Any

import click

from notary import __version__
from notary.cli import (
    access,
    audit,
    checks,
    export,
    instance,
    keys,
    log,
    operations,
    party,
    platforms,
    reports,
    verify,
    watch,
    webhooks,
    witness,
)
from notary.cli.common import shown
from notary.verify.errors import NotaryError


class JsonError(click.ClickException):
    """An error of a command run with ``--json``: ``{"error": {"code", "message"}}`` on stdout."""

    def __init__(self, code: str, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(json.dumps({"error": {"code": self.code, "message": self.message}}, ensure_ascii=False))


class NotaryGroup(click.Group):
    """Turns the notary's own errors into a one-line message and exit status 1 (or a JSON
    error object on stdout when the command was asked for ``--json``)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        asked_json = "--json" in args
        ctx = super().make_context(info_name, list(args), parent, **extra)
        ctx.meta["notary.json_errors"] = asked_json
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        as_json = bool(ctx.meta.get("notary.json_errors"))
        try:
            return super().invoke(ctx)
        except NotaryError as exc:
            if as_json:
                raise JsonError(exc.code, shown(exc.message), 1) from exc
            raise click.ClickException(f"{exc.code}: {shown(exc.message)}") from exc
        except click.ClickException as exc:
            if as_json and not isinstance(exc, (click.UsageError, JsonError)):
                code = getattr(exc, "code", "error")
                raise JsonError(str(code), exc.format_message(), exc.exit_code) from exc
            raise


@click.group(cls=NotaryGroup)
@click.version_option(__version__, prog_name="notary")
def main() -> None:
    """notary: files loan contracts, collects both signatures, seals them into a transparency log."""


for _command in (
    instance.init,
    instance.serve,
    instance.worker,
    platforms.platform,
    keys.party,
    party.keygen,
    party.enrol,
    party.sign,
    checks.login,
    checks.check,
    reports.report,
    verify.verify,
    *access.COMMANDS,
    audit.audit,
    operations.doctor,
    operations.backup,
    operations.restore,
    export.export,
    witness.witness,
    watch.monitor,
    watch.mirror,
    log.log,
    webhooks.webhook,
):
    main.add_command(_command)
