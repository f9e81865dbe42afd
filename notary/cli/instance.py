"""Running an instance: ``notary init``, ``notary serve`` and ``notary worker``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any

import click

from notary.cli.common import StartRefused, emit, load_settings, runtime
from notary.config import Settings
from notary.logs import configure_logging


def init_instance(settings: Settings) -> dict[str, Any]:
    """Create the instance folder, keys and database schema; idempotent, never overwrites a key."""
    from notary.services.ceremony.identity import IdentitySecrets, PiiCipher
    from notary.signing.keystore import ensure_keys, load_keys
    from notary.storage.db import Database
    from notary.storage.schema import upgrade

    settings.instance_path.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.instance_path, 0o700)
    created = ensure_keys(settings.key_dir, organisation=settings.organisation)
    settings.blob_dir.mkdir(exist_ok=True)
    keys = load_keys(settings.key_dir)
    secrets = IdentitySecrets(PiiCipher(keys.pii_encryption_key, keys.pii_lookup_key))
    database = Database(settings.effective_database_url)
    try:
        upgrade(database, identity_upgrade=secrets)
    finally:
        database.dispose()
    origin = preflight(settings)  # the first start fixes the log's origin (docs/formats.md section 7)
    return {
        "instance_path": str(settings.instance_path),
        "database": database.dialect,
        "keys_created": created,
        "log_origin": origin,
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def init(as_json: bool) -> None:
    """Create the instance folder, database and keys (idempotent; never overwrites a key)."""
    result = init_instance(load_settings())
    created = ", ".join(result["keys_created"]) or "none (all present)"
    emit(
        as_json,
        result,
        f"instance {result['instance_path']} ready ({result['database']}); keys created: {created}",
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--dev",
    is_flag=True,
    help="Flask's development server instead of gunicorn; webhooks may go to loopback over http.",
)
@click.option("--no-worker", is_flag=True, help="Do not start a background worker beside the web server.")
@click.option(
    "--workers", type=int, default=None, help="gunicorn worker processes (default NOTARY_WEB_WORKERS)."
)
def serve(host: str, port: int, dev: bool, no_worker: bool, workers: int | None) -> None:
    """Run the service (gunicorn) and one background worker beside it."""
    settings = load_settings()
    if dev:
        # Readable lines for a person at a terminal; the processes started below inherit it.
        os.environ["NOTARY_LOG_FORMAT"] = "text"
        settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    preflight(settings)
    if dev:
        # Development: webhooks may go to a receiver on this machine over plain http (the
        # worker and the web processes inherit it); production keeps https and public addresses.
        os.environ.setdefault("NOTARY_UNSAFE_WEBHOOK_LOOPBACK", "1")
        web = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "notary.app:serve_app()",
            "run",
            "--host",
            host,
            "--port",
            str(port),
        ]
    else:
        web = gunicorn_command(
            "notary.app:serve_app()",
            host=host,
            port=port,
            workers=workers or settings.web_workers,
            threads=settings.web_threads,
        )
    worker = None if no_worker else [sys.executable, "-m", "notary.cli", "worker"]
    shared_metrics_folder(settings)
    sys.exit(_supervise(web, worker))


def preflight(settings: Settings) -> str:
    """The log's origin, stored at the first start; raises what would stop every process of
    the service (unreadable keys, :class:`StartRefused` over a changed origin), so that
    ``notary init`` and ``notary serve`` stop with one line before anything is started.

    Only the keys and the stored origin are read, not a whole runtime: its imports cost each
    start seconds on a busy machine, and every process builds its own anyway."""
    from notary.services.clock import now_text, system_clock
    from notary.services.tlog.origins import LogOrigins, OriginChanged
    from notary.services.tlog.published import REFUSALS, PublishedMark, guard_published
    from notary.signing.keystore import load_keys
    from notary.storage.db import Database

    keys = load_keys(settings.key_dir)
    database = Database(settings.effective_database_url)
    try:
        origins = LogOrigins(database, keys.log_key, keys.log_public_pem)
        origin = origins.establish(
            configured=settings.log_origin, derived=settings.effective_log_origin, now=now_text(system_clock)
        )
        guard_published(
            database,
            PublishedMark(settings.instance_path),
            origins,
            accept_shorter=settings.unsafe_accept_shorter_log,
        )
        return origin
    except OriginChanged as exc:
        raise StartRefused(str(exc)) from exc
    except REFUSALS as exc:
        raise StartRefused(f"{exc.code}: {exc.message}") from exc
    finally:
        database.dispose()


def shared_metrics_folder(settings: Settings) -> str:
    """Point every process this command starts at one folder for their Prometheus counts
    (prometheus-client's multiprocess mode), emptied first: counts left by an earlier run would
    be added to this one's. ``PROMETHEUS_MULTIPROC_DIR`` when set, else ``<instance>/metrics``.
    Set in the environment before the processes start, as the library requires."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(settings.instance_path / "metrics")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


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
        "--timeout", "120", "--graceful-timeout", "10",
        "--logger-class", "notary.cli.gunicorn_logs.NotaryGunicornLogger", app,
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


@click.command()
@click.option("--once", is_flag=True, help="Do one round of work and exit (when leading).")
def worker(once: bool) -> None:
    """Background work: sealing, timestamps and retries, deadline expiry, webhook deliveries.
    One leads at a time (deliveries have their own leader)."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    rt = runtime()
    background = rt.worker()
    dispatcher = rt.webhook_dispatcher()
    webhooks = rt.webhook_worker(dispatcher, holder=background.holder)
    if once:
        handled = background.run_once() + webhooks.run_once()
        dispatcher.close()  # the deliveries started are finished and recorded before exiting
        click.echo(json.dumps({"handled": handled}))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Deliveries have a loop (and lease) of their own: a receiver that hangs holds a delivery
    # thread, never the sealing.
    delivering = threading.Thread(target=webhooks.run, args=(stop,), name="webhooks", daemon=True)
    delivering.start()
    try:
        background.run(stop)
    finally:
        stop.set()
        delivering.join()
        dispatcher.close()
