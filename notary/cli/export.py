"""Case exports on the command line: ``notary export`` (an operator, on the server) and the
export half of ``notary verify`` (anyone, offline).

Registered on the ``notary`` group by :mod:`notary.cli`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from notary.cli.access import _emit, _json_option, operator_option, runtime_scope


@click.command("export")
@click.option("--case", "case_id", required=True, help="The approved case to export.")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="The zip file to write."
)
@operator_option
@_json_option
def export(case_id: str, out: Path, operator: str, as_json: bool) -> None:
    """Export an approved case: every evidence bundle in its scope and a manifest signed by the
    notary, as one zip (docs/export.md). Recorded in the audit trail under --operator, with the
    case's investigator. The file appears only once complete.
    """
    from notary.services.access.export import begin_export
    from notary.services.audit import trail as audit

    with runtime_scope() as rt:
        job = begin_export(rt, case_id, actor=audit.operator(operator))
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
                shown = 0

                def progress(handled: int) -> None:
                    nonlocal shown
                    bar.update(handled - shown)
                    shown = handled

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
    _emit(
        as_json,
        result,
        f"case {case_id}: {summary.bundles} bundle(s) in {out} ({summary.bytes} bytes, SHA-256 {summary.sha256}); "
        f"{summary.not_included} contract(s) in scope not included (evidence not ready)",
    )


def is_export(path: Path) -> bool:
    """Whether the file at ``path`` is a case export (rather than a bundle); unreadable files
    are left to the bundle reader to report."""
    from notary.verify.export.verifier import EXPORT, archive_kind

    try:
        with path.open("rb") as handle:
            return archive_kind(handle) == EXPORT
    except OSError:
        return False


def verify_export_file(path: Path, trust: Any) -> Any:
    """Verify the case export at ``path`` with the trust file ``trust`` (or None); the report.

    Raises :class:`notary.cli.Unusable` (exit 2) for a file that cannot be read or is not a
    zip the export reader will open.
    """
    from notary.cli import Unusable
    from notary.verify.errors import NotaryError
    from notary.verify.export.archive import ExportArchive
    from notary.verify.export.verifier import verify_export

    try:
        with path.open("rb") as handle:
            if not sys.stderr.isatty():
                return verify_export(handle, trust=trust)
            total = ExportArchive.open(handle).bundle_count
            with click.progressbar(
                length=total, label="verifying bundles", file=sys.stderr, show_pos=True
            ) as bar:
                return verify_export(handle, trust=trust, progress=lambda _done: bar.update(1))
    except OSError as exc:
        raise Unusable(f"cannot read export {path}: {exc.strerror or exc}") from exc
    except NotaryError as exc:
        raise Unusable(exc.message, code=exc.code) from exc
