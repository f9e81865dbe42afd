"""``notary audit``: re-derive every stored hash and report the first divergence."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from notary.cli.common import json_option, json_text, load_settings, runtime, say, shown
from notary.config import Settings


class _Quiet:
    def update(self, n_steps: int) -> None:
        pass


@contextmanager
def _progress_bar(label: str, total: int) -> Iterator[Any]:
    # A bar only where someone watches (a terminal) and the store is large enough to wait for.
    if total < 1000 or not sys.stderr.isatty():
        yield _Quiet()
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar


def audit_instance(settings: Settings, *, collect_all: bool = False) -> Any:
    """The audit report of the instance ``settings`` describe (``notary audit``, and
    ``notary restore`` on what it restored)."""
    from notary.services.audit.integrity import default_auditors, run_audit

    rt = runtime(settings, web=True, examine_only=True)
    try:
        with rt.db.read() as session:
            trusted = rt.origins.trusted_logs(session)
        auditors = default_auditors(
            rt.blobs,
            trusted_logs=trusted,
            tsa_roots=rt.published.tsa_roots(),
            notary_root=rt.keys.root_cert,
            certificates=rt.certificates,
        )
        return run_audit(rt.db, auditors, progress=_progress_bar, collect_all=collect_all)
    finally:
        rt.close()


@click.command("audit")
@click.option("--all", "collect_all", is_flag=True, help="List every divergence, not each check's first.")
@json_option
def audit(collect_all: bool, as_json: bool) -> None:
    """Recompute every hash of the documents, records, chain, tree, checkpoints, timestamp
    tokens, certificates, party keys and audit trail from storage and report the first
    divergence (with --all, every one). Exit status 0 when clean, 1 at a divergence.
    """
    report = audit_instance(load_settings(), collect_all=collect_all)
    if as_json:
        click.echo(json_text(report.as_dict()))
    else:
        for result in report.results:
            status = "ok" if result.divergence is None else "DIVERGED"
            say(f"{status:9}{result.name:18}{result.checked} checked")
        first = report.divergence
        if first is None:
            say("clean: every hash re-derived from storage agrees")
        elif collect_all:
            say(f"{len(report.divergences)} divergence(s):")
            for found in report.divergences:
                say(f"  {found.check}: {found.what} {shown(found.where)}: {shown(found.message)}")
        else:
            say(f"first divergence: {first.check}: {first.what} {shown(first.where)}: {shown(first.message)}")
            if first.expected is not None:
                say(f"  expected {shown(first.expected)}\n  found    {shown(first.found)}")
    sys.exit(0 if report.clean else 1)
