"""The ``notary`` command. Each command is a thin wrapper over a plain function.

Each command group has its module (:mod:`~notary.cli.instance`, :mod:`~notary.cli.platforms`,
:mod:`~notary.cli.party`, :mod:`~notary.cli.verify`, :mod:`~notary.cli.access`,
:mod:`~notary.cli.audit`, :mod:`~notary.cli.export`, :mod:`~notary.cli.log`,
:mod:`~notary.cli.webhooks`); what they share is in
:mod:`notary.cli.common`. Command modules import the service lazily, so ``notary verify``
starts without loading it.
"""

from __future__ import annotations

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


class NotaryGroup(click.Group):
    """Turns the notary's own errors into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NotaryError as exc:
            raise click.ClickException(f"{exc.code}: {shown(exc.message)}") from exc


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
    export.export,
    witness.witness,
    watch.monitor,
    watch.mirror,
    log.log,
    webhooks.webhook,
):
    main.add_command(_command)
