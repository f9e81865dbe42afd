"""The ``notary`` command. Each command is a thin wrapper over a plain function."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import click

from notary import __version__
from notary.cli import access as cli_access
from notary.cli import export as cli_export
from notary.cli.access import operator_option as _operator_option
from notary.config import ConfigError, Settings
from notary.verify.errors import NotaryError


def _settings() -> Settings:
    try:
        return Settings.load()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _runtime() -> Any:
    from notary.runtime import Runtime

    return Runtime(_settings())


def _emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


class NotaryGroup(click.Group):
    """Turns the notary's own errors into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NotaryError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc


@click.group(cls=NotaryGroup)
@click.version_option(__version__, prog_name="notary")
def main() -> None:
    """notary: files loan contracts, collects both signatures, seals them into a transparency log."""


# --- the instance -------------------------------------------------------------------------


def init_instance(settings: Settings) -> dict[str, Any]:
    """Create the instance folder, keys and database schema; idempotent, never overwrites a key."""
    from notary.signing.keystore import ensure_keys
    from notary.storage.db import Database
    from notary.storage.schema import upgrade

    settings.instance_path.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.instance_path, 0o700)
    created = ensure_keys(settings.key_dir, organisation=settings.organisation)
    settings.blob_dir.mkdir(exist_ok=True)
    database = Database(settings.effective_database_url)
    try:
        upgrade(database)
    finally:
        database.dispose()
    return {
        "instance_path": str(settings.instance_path),
        "database": database.dialect,
        "keys_created": created,
        "log_origin": settings.effective_log_origin,
    }


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def init(as_json: bool) -> None:
    """Create the instance folder, database and keys (idempotent; never overwrites a key)."""
    result = init_instance(_settings())
    created = ", ".join(result["keys_created"]) or "none (all present)"
    _emit(
        as_json,
        result,
        f"instance {result['instance_path']} ready ({result['database']}); keys created: {created}",
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
@click.option("--no-worker", is_flag=True, help="Do not start a background worker beside the web server.")
@click.option(
    "--workers", type=int, default=None, help="gunicorn worker processes (default NOTARY_WEB_WORKERS)."
)
def serve(host: str, port: int, dev: bool, no_worker: bool, workers: int | None) -> None:
    """Run the service (gunicorn) and one background worker beside it."""
    settings = _settings()
    if dev:
        web = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "notary.app:create_app()",
            "run",
            "--host",
            host,
            "--port",
            str(port),
        ]
    else:
        web = gunicorn_command(
            "notary.app:create_app()",
            host=host,
            port=port,
            workers=workers or settings.web_workers,
            threads=settings.web_threads,
        )
    worker = None if no_worker else [sys.executable, "-m", "notary.cli", "worker"]
    sys.exit(_supervise(web, worker))


def gunicorn_command(app: str, *, host: str, port: int, workers: int, threads: int = 1) -> list[str]:
    """How ``notary serve`` runs gunicorn (the benchmark runs its bare endpoint the same way).

    With ``threads`` > 1 the workers are gthread workers: connections stay open between
    requests (keep-alive), one request's wait for the disk or the database lets another run,
    and a long answer (a case export) does not count against the worker timeout, which then
    only catches a worker that stopped answering altogether.
    """
    worker_class = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []
    return [
        sys.executable, "-m", "gunicorn", "--no-control-socket",
        "--workers", str(workers), *worker_class, "--bind", f"{host}:{port}",
        "--timeout", "120", "--graceful-timeout", "10", app,
    ]  # fmt: skip


def _supervise(web: list[str], worker: list[str] | None) -> int:
    """Run the web server and keep a worker running beside it until the server stops."""
    processes: dict[str, subprocess.Popen[bytes]] = {"web": subprocess.Popen(web)}
    if worker:
        processes["worker"] = subprocess.Popen(worker)
    stopping = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while not stopping.is_set():
        web_code = processes["web"].poll()
        if web_code is not None:
            code = web_code
            break
        if worker and processes["worker"].poll() is not None:
            click.echo("notary: the worker stopped; starting another", err=True)
            processes["worker"] = subprocess.Popen(worker)
        stopping.wait(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    return code


@main.command()
@click.option("--once", is_flag=True, help="Do one round of work and exit (when leading).")
def worker(once: bool) -> None:
    """Background work: sealing, timestamps and retries, deadline expiry. One leads at a time."""
    from notary.services.worker import Worker

    rt = _runtime()
    background = Worker(rt)
    if once:
        click.echo(json.dumps({"handled": background.run_once()}))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    background.run(stop)


# --- operators ----------------------------------------------------------------------------

for _command in (*cli_access.COMMANDS, cli_export.export):
    main.add_command(_command)


@main.group()
def platform() -> None:
    """Register platforms and mark collapsed ones defunct."""


@platform.command("add")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@_operator_option
def platform_add(name: str, as_json: bool, operator: str) -> None:
    """Register a platform; prints its id and API token (shown once)."""
    from notary.services.access.platforms import add_platform
    from notary.services.clock import stamp

    with cli_access.runtime_scope() as rt, rt.db.write() as session:
        new = add_platform(session, name, now=stamp(rt.clock), operator=operator)
    _emit(
        as_json,
        {"platform_id": new.platform_id, "token": new.token},
        f"platform {new.platform_id} ({new.name})\ntoken (shown once): {new.token}",
    )


@platform.command("defunct")
@click.argument("platform_id")
@click.option("--json", "as_json", is_flag=True)
@_operator_option
def platform_defunct(platform_id: str, as_json: bool, operator: str) -> None:
    """Mark a collapsed platform: its token stops working at once; nothing is deleted."""
    from notary.services.access.platforms import mark_defunct
    from notary.services.clock import stamp

    with cli_access.runtime_scope() as rt, rt.db.write() as session:
        marked = mark_defunct(session, platform_id, now=stamp(rt.clock), operator=operator)
        result = {"platform_id": marked.id, "status": marked.status, "defunct_at": marked.defunct_at}
    _emit(as_json, result, f"platform {platform_id} is defunct since {result['defunct_at']}")


@platform.command("token")
@click.argument("platform_id")
@click.option("--revoke-others", is_flag=True, help="Revoke every older token of the platform at once.")
@click.option("--json", "as_json", is_flag=True)
@_operator_option
def platform_token(platform_id: str, revoke_others: bool, as_json: bool, operator: str) -> None:
    """Issue a new API token for a platform (shown once): rotation, or after a leak."""
    from notary.services.access.platforms import new_platform_token
    from notary.services.clock import stamp

    with cli_access.runtime_scope() as rt, rt.db.write() as session:
        token, revoked = new_platform_token(
            session, platform_id, revoke_others=revoke_others, now=stamp(rt.clock), operator=operator
        )
    _emit(
        as_json,
        {"platform_id": platform_id, "token": token, "tokens_revoked": revoked},
        f"platform {platform_id}: {revoked} older token(s) revoked\ntoken (shown once): {token}",
    )


# --- parties ------------------------------------------------------------------------------


@main.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the key pair.")
@click.option("--alg", type=click.Choice(["ed25519", "p256"]), default="ed25519", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def keygen(out: Path, alg: str, as_json: bool) -> None:
    """Make a party's key pair (the private key stays in OUT, mode 0600)."""
    from notary.cli import party_tools

    key = party_tools.generate(out, alg)
    _emit(
        as_json,
        {"public_key": str(out / party_tools.PUBLIC), "key_fingerprint": key.public.fingerprint},
        f"key pair in {out} ({key.public.algorithm}); fingerprint {key.public.fingerprint}",
    )


@main.command()
@click.option("--key", "key_dir", required=True, type=click.Path(path_type=Path))
@click.option("--platform-id", required=True)
@click.option("--name", required=True)
@click.option("--id-number", required=True)
@click.option("--id-type", default="cn_resident", show_default=True)
@click.option("--phone")
def enrol(
    key_dir: Path, platform_id: str, name: str, id_number: str, id_type: str, phone: str | None
) -> None:
    """Print the JSON body of POST /parties for this key, proof included."""
    from notary.cli import party_tools

    body = party_tools.enrolment_body(
        party_tools.load(key_dir),
        platform_id=platform_id,
        name=name,
        id_number=id_number,
        id_type=id_type,
        phone=phone,
    )
    click.echo(json.dumps(body, ensure_ascii=False))


@main.command()
@click.option("--key", "key_dir", required=True, type=click.Path(path_type=Path))
@click.argument("payload_file", type=click.File("rb"))
@click.option("--login", is_flag=True, help="Sign a login payload (and nothing else).")
@click.option("--document", type=click.File("rb"), help="Your copy of the document: its digest must match.")
@click.option("--json", "as_json", is_flag=True, help="Print the body of POST /contracts/{id}/signatures.")
def sign(key_dir: Path, payload_file: Any, login: bool, document: Any, as_json: bool) -> None:
    """Show what PAYLOAD_FILE commits you to, then sign its exact bytes; prints base64.

    PAYLOAD_FILE holds the payload bytes, or the API's {"payload_base64", ...} answer.
    """
    import hashlib

    from notary.cli import party_tools
    from notary.verify.encoding import b64encode

    payload = party_tools.read_payload(payload_file.read())
    fields = party_tools.describe(payload, allow_login=login)
    key = party_tools.load(key_dir)
    for name, value in fields.items():
        click.echo(f"  {name}: {value}", err=True)
    if document is not None and not login:
        digest = hashlib.sha256(document.read()).hexdigest()
        if digest != fields["document_sha256"]:
            raise click.ClickException(
                f"your document's SHA-256 is {digest}, not the one in the payload; not signing"
            )
        click.echo("  your copy of the document matches document_sha256", err=True)
    if login and fields["key_fingerprint"] != key.public.fingerprint:
        raise click.ClickException("this login payload names another key")
    signature = b64encode(key.sign(payload))
    if as_json:
        click.echo(json.dumps({"role": fields.get("role"), "signature": signature}))
    else:
        click.echo(signature)


# --- offline verification ---------------------------------------------------------------------

#: Small inputs (trust file, checkpoint, proof) are read up to this size; anything larger is refused.
_SMALL_INPUT_BYTES = 1024 * 1024


class Unusable(click.ClickException):
    """Input that cannot be verified at all: exit status 2, one line saying why."""

    exit_code = 2

    def __init__(self, message: str, *, code: str = "unusable_input") -> None:
        super().__init__(message)
        self.code = code

    def format_message(self) -> str:
        return self.message if self.code == "unusable_input" else f"{self.code}: {self.message}"


def _read_input(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise Unusable(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise Unusable(f"{what} {path} is larger than {limit} bytes")
    return data


def verify_inputs(
    bundle: Path,
    *,
    document: Path | None,
    trust: Path | None,
    checkpoint: Path | None,
    consistency: Path | None,
) -> Any:
    """Read the files of ``notary verify`` and verify; returns the report (of a bundle, or of a
    case export when ``bundle`` is one: see :func:`notary.cli.export.is_export`).

    Raises :class:`Unusable` for a file that cannot be read or is too large, for a trust
    file or consistency proof that does not parse, and for a bundle that is not a zip the
    verifier will open (``malformed_bundle``).
    """
    from notary.verify.archive import MAX_ARCHIVE_BYTES
    from notary.verify.canonical import parse_json
    from notary.verify.evidence.verifier import verify_bundle
    from notary.verify.trust import TrustFile

    if (checkpoint is None) != (consistency is None):
        raise click.UsageError("--checkpoint and --consistency go together")
    if cli_export.is_export(bundle):
        if document or checkpoint or consistency:
            raise click.UsageError(
                "--document, --checkpoint and --consistency are for a bundle, not a case export"
            )
        try:
            trust_file = (
                TrustFile.from_json(_read_input(trust, _SMALL_INPUT_BYTES, "trust file")) if trust else None
            )
        except NotaryError as exc:
            raise Unusable(exc.message, code=exc.code) from exc
        return cli_export.verify_export_file(bundle, trust_file)
    data = _read_input(bundle, MAX_ARCHIVE_BYTES, "bundle")
    given = _read_input(document, MAX_ARCHIVE_BYTES, "document") if document else None
    try:
        trust_file = (
            TrustFile.from_json(_read_input(trust, _SMALL_INPUT_BYTES, "trust file")) if trust else None
        )
        newer = _read_input(checkpoint, _SMALL_INPUT_BYTES, "checkpoint") if checkpoint else None
        proof = (
            parse_json(
                _read_input(consistency, _SMALL_INPUT_BYTES, "consistency proof"), what="consistency proof"
            )
            if consistency
            else None
        )
        if proof is not None and not isinstance(proof, dict):
            raise Unusable("the consistency proof must be a JSON object {first, second, hashes}")
        return verify_bundle(
            data, document=given, trust=trust_file, newer_checkpoint=newer, consistency_proof=proof
        )
    except NotaryError as exc:
        raise Unusable(exc.message, code=exc.code) from exc


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--document", type=click.Path(path_type=Path, dir_okay=False), help="Your copy of the document."
)
@click.option(
    "--trust", type=click.Path(path_type=Path, dir_okay=False), help="The notary's trust file (GET /trust)."
)
@click.option(
    "--checkpoint", type=click.Path(path_type=Path, dir_okay=False), help="A newer signed checkpoint."
)
@click.option(
    "--consistency",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The consistency proof (JSON) from the bundle's tree size to the newer checkpoint.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(
    bundle: Path,
    document: Path | None,
    trust: Path | None,
    checkpoint: Path | None,
    consistency: Path | None,
    as_json: bool,
) -> None:
    """Verify an evidence bundle or a case export offline: exit 0 valid, 1 invalid, 2 unusable input."""
    from notary.verify.export.report import ExportReport, render_export_text
    from notary.verify.report import render_text

    try:
        report = verify_inputs(
            bundle, document=document, trust=trust, checkpoint=checkpoint, consistency=consistency
        )
    except Unusable as exc:
        if as_json:
            click.echo(json.dumps({"error": {"code": exc.code, "message": exc.message}}, ensure_ascii=False))
        raise
    if as_json:
        pieces = report.json_pieces() if isinstance(report, ExportReport) else [report.to_json()]
        for piece in pieces:
            click.echo(piece.decode("utf-8"), nl=False)
        click.echo()
    else:
        text = render_export_text(report) if isinstance(report, ExportReport) else render_text(report)
        click.echo(text, nl=False)
    sys.exit(0 if report.valid else 1)


if __name__ == "__main__":
    main()
