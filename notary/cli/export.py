"""``notary export``: an operator writes an approved case's export on the server.

Verifying one offline is ``notary verify`` (:mod:`notary.cli.verify`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from notary.cli.common import emit, json_option, operator_option, runtime_scope, shown


@click.command("export")
@click.option("--case", "case_id", required=True, help="The approved case to export.")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="The zip file to write."
)
@operator_option
@json_option
def export(case_id: str, out: Path, operator: str, as_json: bool) -> None:
    """Export an approved case: every evidence bundle in its scope and a manifest signed by the
    notary, as one zip (docs/export.md). Recorded in the audit trail under --operator, with the
    case's investigator. The file appears only once complete.
    """
    from notary.services.audit import trail as audit

    with runtime_scope() as rt:
        job = rt.exports.begin(case_id, actor=audit.operator(operator))
        partial = out.with_name(out.name + ".partial")
        try:
            with (
                partial.open("wb") as handle,
                click.progressbar(
                    length=max(job.in_scope, 1),
                    label=f"exporting case {case_id}",
                    file=sys.stderr,
                    show_pos=True,
                ) as bar,
            ):
                done = 0

                def progress(handled: int) -> None:
                    nonlocal done
                    bar.update(handled - done)
                    done = handled

                for chunk in job.stream(progress):
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    summary = job.summary
    result = {
        "case_id": case_id,
        "out": str(out),
        "bundles": summary.bundles,
        "not_included": summary.not_included,
        "bytes": summary.bytes,
        "sha256": summary.sha256,
        "manifest_sha256": summary.manifest_sha256,
        "exported_at": job.header["exported_at"],
    }
    emit(
        as_json,
        result,
        f"case {shown(case_id)}: {summary.bundles} bundle(s) in {shown(out)} ({summary.bytes} bytes, SHA-256 {summary.sha256}); "
        f"{summary.not_included} contract(s) in scope not included (evidence not ready)",
    )
