"""``notary verify``: an evidence bundle, a case export or a certificate PDF, offline.

The caller chooses what the verification is anchored in: ``--trust FILE`` (the notary's
published trust file, obtained from a source the caller trusts) or ``--integrity-only`` (the
input's own keys: proves nothing changed, not who made it). Exit status (docs/formats.md):

- 0 valid, origin established with the trust file;
- 1 invalid;
- 2 unusable input or usage (neither or both of ``--trust`` and ``--integrity-only`` included);
- 3 valid for integrity only (``--integrity-only``);
- 4 every check passed but the witness policy.

``--online URL`` is the one thing fetched, by :mod:`notary.cli.online`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from notary.cli.common import Unusable, inert_json, json_text, read_input, say
from notary.verify.errors import NotaryError

#: Small inputs (trust file, checkpoint, proof, opening) are read up to this size; anything larger is refused.
_SMALL_INPUT_BYTES = 1024 * 1024

EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE, EXIT_INTEGRITY_ONLY, EXIT_BELOW_WITNESS_POLICY = 0, 1, 2, 3, 4
_EXIT = {
    "valid": EXIT_VALID,
    "invalid": EXIT_INVALID,
    "valid_integrity_only": EXIT_INTEGRITY_ONLY,
    "below_witness_policy": EXIT_BELOW_WITNESS_POLICY,
}


def trust_choice(trust: Path | None, integrity_only: bool) -> Any:
    """The trust the caller chose: a parsed trust file or ``INTEGRITY_ONLY``. Raises
    :class:`click.UsageError` unless exactly one was given, :class:`Unusable` for a trust file
    that cannot be read or parsed."""
    from notary.verify.trust import INTEGRITY_ONLY, TrustFile

    if (trust is None) == (not integrity_only):
        raise click.UsageError(
            "choose what to trust: --trust FILE (the notary's trust file, from a source you trust) "
            "or --integrity-only (the input's own keys: proves integrity, not origin)"
        )
    if trust is None:
        return INTEGRITY_ONLY
    try:
        return TrustFile.from_json(read_input(trust, _SMALL_INPUT_BYTES, "trust file"))
    except NotaryError as exc:
        raise Unusable(exc.message, code=exc.code) from exc


def read_openings(paths: tuple[Path, ...]) -> tuple[Any, ...]:
    """The identity openings given with ``--opening``; raises :class:`Unusable` (exit 2) for one
    that cannot be read or is not an opening."""
    from notary.verify.identity import parse_opening

    try:
        return tuple(parse_opening(read_input(path, _SMALL_INPUT_BYTES, "opening")) for path in paths)
    except NotaryError as exc:
        raise Unusable(exc.message, code=exc.code) from exc


def verify_inputs(
    bundle: Path,
    *,
    trust: Any,
    document: Path | None = None,
    openings: tuple[Any, ...] = (),
    checkpoint: Path | None = None,
    consistency: Path | None = None,
    certified_bundle: Path | None = None,
    online: str | None = None,
    require_witnesses: str | None = None,
) -> Any:
    """Read the files of ``notary verify`` and verify against ``trust`` (see :func:`trust_choice`);
    returns the report (of a bundle, or of a case export when ``bundle`` is one: see
    :func:`is_export`).

    Raises :class:`Unusable` for a file that cannot be read or is too large, for a
    consistency proof that does not parse, for a bundle that is not a zip the verifier
    will open (``malformed_bundle``), and for a ``require_witnesses`` that is not a positive
    integer or more than the trust file's policies list.
    """
    from notary.verify.archive import MAX_ARCHIVE_BYTES
    from notary.verify.evidence.verifier import verify_bundle

    if (checkpoint is None) != (consistency is None):
        raise click.UsageError("--checkpoint and --consistency go together")
    if online is not None and checkpoint is not None:
        raise click.UsageError("--online fetches a newer checkpoint: give it or --checkpoint, not both")
    if require_witnesses is not None and (is_pdf(bundle) or is_export(bundle)):
        raise click.UsageError(
            "--require-witnesses is for an evidence bundle; a certificate's or a case export's bundles "
            "are held to the trust file's witness policy as it stands"
        )
    if is_pdf(bundle):
        return verify_certificate_file(
            bundle,
            document=document,
            openings=openings,
            trust=trust,
            checkpoint=checkpoint,
            consistency=consistency,
            certified_bundle=certified_bundle,
            online=online,
        )
    if certified_bundle is not None:
        raise click.UsageError("--bundle is for a certificate PDF")
    if is_export(bundle):
        if document or checkpoint or consistency or openings:
            raise click.UsageError(
                "--document, --opening, --checkpoint and --consistency are for a bundle, not a case export"
            )
        return verify_export_file(bundle, trust)
    data = read_input(bundle, MAX_ARCHIVE_BYTES, "bundle")
    given = read_input(document, MAX_ARCHIVE_BYTES, "document") if document else None
    try:
        newer, proof = _newer(checkpoint, consistency)
        return verify_bundle(
            data,
            trust=trust,
            document=given,
            openings=openings,
            newer_checkpoint=newer,
            consistency_proof=proof,
            require_witnesses=require_witnesses,
        )
    except NotaryError as exc:
        raise Unusable(exc.message, code=exc.code) from exc


def _newer(checkpoint: Path | None, consistency: Path | None) -> tuple[bytes | None, dict[str, Any] | None]:
    """The newer checkpoint and consistency proof given, read and parsed.

    Raises :class:`Unusable` for a file that cannot be read, and what the parser raises.
    """
    from notary.verify.canonical import parse_json

    newer = read_input(checkpoint, _SMALL_INPUT_BYTES, "checkpoint") if checkpoint else None
    proof = (
        parse_json(read_input(consistency, _SMALL_INPUT_BYTES, "consistency proof"), what="consistency proof")
        if consistency
        else None
    )
    if proof is not None and not isinstance(proof, dict):
        raise Unusable("the consistency proof must be a JSON object {first, second, hashes}")
    return newer, proof


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--trust",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The notary's trust file (GET /trust), from a source you trust.",
)
@click.option(
    "--integrity-only",
    is_flag=True,
    help="Use the input's own keys: proves it is unchanged, not who made it (exit 3 when it holds).",
)
@click.option(
    "--document", type=click.Path(path_type=Path, dir_okay=False), help="Your copy of the document."
)
@click.option(
    "--opening",
    "openings",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="An identity opening (opening-*.json), to prove a party's identity; repeatable.",
)
@click.option(
    "--checkpoint", type=click.Path(path_type=Path, dir_okay=False), help="A newer signed checkpoint."
)
@click.option(
    "--consistency",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The consistency proof (JSON) from the bundle's tree size to the newer checkpoint.",
)
@click.option(
    "--bundle",
    "certified_bundle",
    type=click.Path(path_type=Path, dir_okay=False),
    help="For a certificate PDF: the evidence bundle it certifies.",
)
@click.option(
    "--online",
    metavar="URL",
    help="Fetch the latest checkpoint and the consistency proof from a notary or a mirror "
    "(everything fetched is checked; the URL need not be trusted).",
)
@click.option(
    "--require-witnesses",
    metavar="K",
    help="Demand at least K witness cosignatures on the bundle's checkpoint (raises the trust "
    "file's k for this run, never lowers it; exit 4 when fewer).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(
    bundle: Path,
    trust: Path | None,
    integrity_only: bool,
    document: Path | None,
    openings: tuple[Path, ...],
    checkpoint: Path | None,
    consistency: Path | None,
    certified_bundle: Path | None,
    online: str | None,
    require_witnesses: str | None,
    as_json: bool,
) -> None:
    """Verify an evidence bundle, a case export or a certificate PDF offline, with exactly one of
    --trust FILE and --integrity-only: exit 0 valid, 1 invalid, 2 unusable input, 3 valid for
    integrity only, 4 valid but below the witness policy."""
    from notary.verify.export.report import ExportReport, render_export_text
    from notary.verify.report import render_text
    from notary.verify_pdf import CertificateReport, render_certificate_text

    try:
        if online and (checkpoint or consistency):
            raise click.UsageError("--online fetches what --checkpoint and --consistency give")
        if online and not is_pdf(bundle):
            from notary.cli.online import fetch_newer

            checkpoint, consistency = fetch_newer(online, bundle)
            online = None
        report = verify_inputs(
            bundle,
            trust=trust_choice(trust, integrity_only),
            document=document,
            openings=read_openings(openings),
            checkpoint=checkpoint,
            consistency=consistency,
            certified_bundle=certified_bundle,
            online=online,
            require_witnesses=require_witnesses,
        )
    except Unusable as exc:
        if as_json:
            click.echo(json_text({"error": {"code": exc.code, "message": exc.message}}))
        raise
    if as_json:
        pieces = report.json_pieces() if isinstance(report, ExportReport) else [report.to_json()]
        for piece in pieces:
            click.echo(inert_json(piece.decode("utf-8")), nl=False)
        click.echo()
    elif isinstance(report, CertificateReport):
        click.echo(render_certificate_text(report), nl=False)
    else:
        # The report quotes the bundle (ids, names of authorities): shown inert, line by line.
        text = render_export_text(report) if isinstance(report, ExportReport) else render_text(report)
        say(text, nl=False)
    sys.exit(_EXIT[report.verdict])


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
    """Verify the case export at ``path`` against ``trust`` (see :func:`trust_choice`); the report.

    Raises :class:`~notary.cli.common.Unusable` (exit 2) for a file that cannot be read or is not a
    zip the export reader will open.
    """
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


def is_pdf(path: Path) -> bool:
    """Whether the file at ``path`` starts as a PDF does (``%PDF-``); unreadable files are left
    to the reader that follows to report."""
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False


def verify_certificate_file(
    path: Path,
    *,
    document: Path | None,
    trust: Any,
    checkpoint: Path | None,
    consistency: Path | None,
    certified_bundle: Path | None,
    online: str | None,
    openings: tuple[Any, ...] = (),
) -> Any:
    """Verify the certificate PDF at ``path`` against ``trust`` (see :func:`trust_choice`) with
    what was given; the certificate's report.

    Raises :class:`Unusable` (exit 2) for files that cannot be read or parsed, a PDF that is no
    certificate, ``--opening`` or ``--online`` for a certificate that carries no record
    without ``--bundle`` (``opening_needs_record``, ``online_needs_record``: nothing to check
    them against), and an ``--online`` URL that does not answer a checkpoint and a proof.
    """
    from notary.verify.archive import MAX_ARCHIVE_BYTES
    from notary.verify_pdf import carries_record, online_tree_size, verify_certificate
    from notary.verify_pdf.document import MAX_CERTIFICATE_BYTES

    data = read_input(path, MAX_CERTIFICATE_BYTES, "certificate")
    given = read_input(document, MAX_ARCHIVE_BYTES, "document") if document else None
    evidence = read_input(certified_bundle, MAX_ARCHIVE_BYTES, "bundle") if certified_bundle else None
    try:
        if openings and evidence is None and not carries_record(data):
            # A verdict without the openings checked would read as if they had been.
            raise Unusable(
                "--opening proves a party's identity against the record, which this certificate "
                "does not carry: give its evidence bundle (--bundle)",
                code="opening_needs_record",
            )
        newer, proof = _newer(checkpoint, consistency)
        if online is not None:
            from notary.cli.online import fetch_newer_checkpoint

            size = online_tree_size(data, evidence)
            if size is None:
                raise Unusable(
                    "--online proves that the log still holds the record, which needs the record: this "
                    "certificate carries none, so give its evidence bundle (--bundle)",
                    code="online_needs_record",
                )
            newer, proof = fetch_newer_checkpoint(online, size)
        return verify_certificate(
            data,
            trust=trust,
            bundle=evidence,
            document=given,
            openings=openings,
            newer_checkpoint=newer,
            consistency_proof=proof,
        )
    except NotaryError as exc:
        raise Unusable(exc.message, code=exc.code) from exc
