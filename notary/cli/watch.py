"""``notary monitor`` and ``notary mirror``: watching a notary from outside (docs/witnesses.md)."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
from pathlib import Path

import click

from notary.cli.common import Unusable, read_input, say
from notary.config import parse_duration


def _seconds(_ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value, name=param.name or "duration")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command()
@click.option("--notary", "notary_url", required=True, help="The notary's public URL (http://host:port).")
@click.option(
    "--trust",
    "trust_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The notary's trust file, kept from a source you trust: log keys and witness policy.",
)
@click.option(
    "--state",
    "state_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The monitor's own folder: the history it holds the notary to, the alarms raised.",
)
@click.option("--mirror", "mirrors", multiple=True, help="A mirror's URL (repeatable).")
@click.option("--witness", "witnesses", multiple=True, help="A witness's URL (repeatable).")
@click.option("--webhook", help="POST each new alarm as JSON to this URL.")
@click.option(
    "--max-cosign-wait",
    default="10m",
    show_default=True,
    callback=_seconds,
    help="Alarm when the latest checkpoint stays below the witness policy this long.",
)
@click.option("--interval", default="30s", show_default=True, callback=_seconds, help="Between rounds.")
@click.option("--once", is_flag=True, help="One round; exit 1 if an alarm holds, 0 otherwise.")
def monitor(
    notary_url: str,
    trust_path: Path,
    state_dir: Path,
    mirrors: tuple[str, ...],
    witnesses: tuple[str, ...],
    webhook: str | None,
    max_cosign_wait: float,
    interval: float,
    once: bool,
) -> None:
    """Watch a notary, its mirrors and witnesses; alarm on a fork, a rollback, a checkpoint that
    does not verify, or a cosignature missing too long (log line, webhook, exit status)."""
    from notary.verify.errors import MalformedInput
    from notary.watch.monitor import Monitor, Sources, trust_for_monitor

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    try:
        log_keys, policies = trust_for_monitor(read_input(trust_path, 1 << 20, "trust file"))
    except MalformedInput as exc:
        raise Unusable(exc.message, code=exc.code) from exc
    state_dir.mkdir(parents=True, exist_ok=True)
    watcher = Monitor(
        Sources(notary_url, mirrors, witnesses),
        log_keys,
        policies,
        state_dir / "monitor.json",
        clock=lambda: dt.datetime.now(dt.UTC),
        max_cosign_wait=max_cosign_wait,
        webhook=webhook,
    )
    if once:
        alarms = watcher.round()
        say(f"{len(alarms)} alarm(s)" if alarms else "no alarm")
        sys.exit(1 if alarms else 0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    raised = False
    while not stop.is_set():
        raised = bool(watcher.round()) or raised
        stop.wait(interval)
    sys.exit(1 if raised else 0)


_MIRROR_DIR = click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="NOTARY_MIRROR_DIR",
    required=True,
    help="The mirror's folder (NOTARY_MIRROR_DIR).",
)


def _mirror_sync(folder: Path):  # type: ignore[no-untyped-def]
    from notary.verify.errors import MalformedInput
    from notary.watch.mirror.store import MirrorStore
    from notary.watch.mirror.sync import MirrorSync
    from notary.watch.monitor import trust_for_monitor

    store = MirrorStore(folder / "mirror.db")
    upstream, trust = store.meta("upstream"), store.meta("trust")
    if upstream is None or trust is None:
        raise Unusable(f"{folder} is not a mirror: run notary mirror init first")
    try:
        log_keys, _ = trust_for_monitor(trust.encode("utf-8"))
    except MalformedInput as exc:
        raise Unusable(exc.message, code=exc.code) from exc
    return MirrorSync(store, upstream, log_keys, clock=lambda: dt.datetime.now(dt.UTC))


@click.group()
def mirror() -> None:
    """A read-only copy of a notary's public log (hashes, checkpoints, cosignatures, proofs)."""


@mirror.command("init")
@_MIRROR_DIR
@click.option("--from", "upstream", required=True, help="The notary's public URL (or another mirror's).")
@click.option("--trust", "trust_path", type=click.Path(path_type=Path, dir_okay=False), required=True)
def mirror_init(folder: Path, upstream: str, trust_path: Path) -> None:
    """Make a mirror folder following ``--from``, checking with the trust file given."""
    from notary.verify.errors import MalformedInput
    from notary.watch.mirror.store import MirrorStore
    from notary.watch.monitor import trust_for_monitor

    trust = read_input(trust_path, 1 << 20, "trust file")
    try:
        trust_for_monitor(trust)
    except MalformedInput as exc:
        raise Unusable(exc.message, code=exc.code) from exc
    folder.mkdir(parents=True, exist_ok=True)
    store = MirrorStore(folder / "mirror.db")
    store.set_meta("upstream", upstream)
    store.set_meta("trust", trust.decode("utf-8"))
    say(f"mirror of {upstream} in {folder}")


@mirror.command("sync")
@_MIRROR_DIR
@click.option("--follow", is_flag=True, help="Keep following (every --interval) until stopped.")
@click.option("--interval", default="5s", show_default=True, callback=_seconds)
def mirror_sync(folder: Path, follow: bool, interval: float) -> None:
    """Fetch and check what is new; exit 1 when an alarm was raised (a fork, a rollback, a bad
    checkpoint); an unreachable notary is not an alarm."""
    from notary.verify.errors import NotaryError

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    syncer = _mirror_sync(folder)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    alarmed = False
    while True:
        try:
            result = syncer.sync_once()
            alarmed = alarmed or result.alarm is not None
            if not follow:
                say(
                    f"mirror at size {result.tree_size}; {result.checkpoints} new checkpoint(s)"
                    + (f"; ALARM {result.alarm}" if result.alarm else "")
                )
        except NotaryError as exc:
            say(f"upstream unreachable: {exc.message}", err=True)
        if not follow or stop.wait(interval):
            break
    sys.exit(1 if alarmed else 0)


@mirror.command("serve")
@_MIRROR_DIR
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8200, show_default=True, type=int)
@click.option("--interval", default="5s", show_default=True, help="Between syncs.")
def mirror_serve(folder: Path, host: str, port: int, interval: str) -> None:
    """Serve the read routes (gunicorn) and keep following the notary beside them."""
    from notary.cli.instance import _supervise, gunicorn_command

    folder = folder.resolve()
    _mirror_sync(folder)  # an unusable folder stops here
    web = gunicorn_command(
        f"notary.watch.mirror.app:create_mirror_app('{folder}')", host=host, port=port, workers=1, threads=4
    )
    follower = [sys.executable, "-m", "notary.cli", "mirror", "sync", "--dir", str(folder), "--follow",
                "--interval", interval]  # fmt: skip
    sys.exit(_supervise(web, follower))
