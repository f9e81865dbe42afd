"""Operating an instance: ``notary doctor``."""

from __future__ import annotations

import sys

import click

from notary.cli.common import json_option, json_text, load_settings, say


@click.command("doctor")
@json_option
def doctor(as_json: bool) -> None:
    """Examine the instance: days left on every certificate it relies on, free disk space,
    migrations, the worker's heartbeat, waiting contracts, the certificate font. One line per
    finding; exit status 0 when nothing needs action, 1 on a warning (act soon), 2 on a
    failure (broken now).
    """
    from notary.runtime import doctor_scope

    with doctor_scope(load_settings()) as examiner:
        checkup = examiner.checkup(deep=True)
    if as_json:
        click.echo(json_text(checkup.as_dict()))
    else:
        for finding in checkup.findings:
            say(finding.line())
        needing = checkup.needing_action()
        say(f"{len(needing)} finding(s) need action" if needing else "nothing needs action")
    sys.exit(checkup.exit_code)
