"""``notary witness``: run a witness of your own (docs/witnesses.md).

A witness is meant for someone other than the notary's operator (a court, a regulator, an
association of lenders) on a machine of their own. ``init`` makes its key, ``add-log`` names
the logs it watches and their keys, ``serve`` runs the C2SP tlog-witness protocol, ``show``
and ``evidence`` say what it cosigned and what it refused, ``backup`` copies its state.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from notary.cli.common import emit, json_option, json_text, say
from notary.cli.instance import gunicorn_command

_DIR = click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="NOTARY_WITNESS_DIR",
    required=True,
    help="The witness's folder (NOTARY_WITNESS_DIR): its key, configuration and state.",
)


def _folder(path: Path):  # type: ignore[no-untyped-def]
    from notary.watch.witness.files import WitnessFolder

    return WitnessFolder(path)


@click.group()
def witness() -> None:
    """A witness: cosigns the notary's checkpoints only while the log stays append-only."""


@witness.command("init")
@_DIR
@click.option("--name", required=True, help="The witness's name, a schema-less URL (witness.example.org/w1).")
@json_option
def init(folder: Path, name: str, as_json: bool) -> None:
    """Create the witness's key and state; prints the cosigner key to publish."""
    cosigner = _folder(folder).init(name)
    emit(
        as_json,
        {"name": cosigner.name, "cosigner_key": cosigner.cosigner_key, "dir": str(folder)},
        f"witness {cosigner.name} ready in {folder}\ncosigner key (give it to the notary's operator): "
        f"{cosigner.cosigner_key}\nback up {folder} now and after every change (docs/witnesses.md)",
    )


@witness.command("add-log")
@_DIR
@click.option("--origin", required=True, help="The log's origin line.")
@click.option("--key", "verifier_key", required=True, help="The log's verifier key (GET /log/key).")
@json_option
def add_log(folder: Path, origin: str, verifier_key: str, as_json: bool) -> None:
    """Watch a log: cosign its checkpoints signed by this key (restart serve to take effect)."""
    config = _folder(folder).add_log(origin, verifier_key)
    emit(as_json, config, f"{origin}: now watched ({len(config['logs'])} log(s) in all)")


@witness.command("serve")
@_DIR
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def serve(folder: Path, host: str, port: int, threads: int) -> None:
    """Answer add-checkpoint (C2SP tlog-witness) and the read extension (gunicorn)."""
    import datetime as dt
    import subprocess

    folder = folder.resolve()
    _folder(folder).witness(lambda: dt.datetime.now(dt.UTC))  # an unusable folder fails here, not in gunicorn
    command = gunicorn_command(
        f"notary.watch.witness.app:create_witness_app('{folder}')",
        host=host,
        port=port,
        workers=1,
        threads=threads,
    )
    sys.exit(subprocess.call(command))


@witness.command("show")
@_DIR
@json_option
def show(folder: Path, as_json: bool) -> None:
    """The witness's key, the logs it watches, the latest checkpoint it cosigned of each."""
    from notary.watch.witness.state import WitnessState

    witness_folder = _folder(folder)
    cosigner = witness_folder.cosigner()
    state = WitnessState(witness_folder.state_path)
    latest = [item.to_dict() for item in state.all_latest()]
    refused = len(state.misbehaviour())
    data = {
        "name": cosigner.name,
        "cosigner_key": cosigner.cosigner_key,
        "logs": sorted(witness_folder.logs()),
        "latest": latest,
        "evidence": refused,
    }
    lines = [f"witness {cosigner.name}", f"cosigner key {cosigner.cosigner_key}"]
    lines += [
        f"{item['origin']}: cosigned up to size {item['tree_size']} at {item['cosigned_at']}"
        for item in latest
    ]
    lines.append(f"refused checkpoints kept as evidence: {refused}")
    emit(as_json, data, "\n".join(lines))


@witness.command("evidence")
@_DIR
def evidence(folder: Path) -> None:
    """Every refused checkpoint (fork, rollback, failed proof), with what was cosigned before, as JSON."""
    from notary.watch.witness.state import WitnessState

    say(json_text(WitnessState(_folder(folder).state_path).misbehaviour()))


@witness.command("backup")
@_DIR
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
def backup(folder: Path, out: Path) -> None:
    """A consistent copy of the state (safe while serving); keep it with a copy of the key."""
    from notary.watch.witness.state import WitnessState

    WitnessState(_folder(folder).state_path).backup(out)
    say(f"state copied to {out}")
