"""Test support for witnesses: a small log that signs real checkpoints with real proofs, and a
witness (``notary witness serve``) in its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from notary.signing.note_signer import NoteSigner
from notary.verify.merkle.proofs import leaf_hash
from notary.verify.note import Checkpoint
from notary.verify.witness_protocol import format_add_checkpoint
from tests.support.server import free_port
from tests.unit.merkle_reference import ReferenceTree

ORIGIN = "notary.test/contracts/v1"


@dataclass
class SmallLog:
    """A log of ``leaves`` signed by ``signer``: checkpoints and consistency proofs on demand."""

    origin: str = ORIGIN
    signer: NoteSigner = field(
        default_factory=lambda: NoteSigner(ORIGIN, ed25519.Ed25519PrivateKey.generate())
    )
    leaves: list[bytes] = field(default_factory=list)

    def grow(self, count: int, tag: str = "") -> None:
        start = len(self.leaves)
        self.leaves += [leaf_hash(f"{tag}leaf {start + i}".encode()) for i in range(count)]

    def truncate(self, size: int) -> None:
        del self.leaves[size:]

    @property
    def tree(self) -> ReferenceTree:
        return ReferenceTree(self.leaves)

    def checkpoint(self, size: int | None = None) -> str:
        size = len(self.leaves) if size is None else size
        return self.signer.sign(Checkpoint(self.origin, size, self.tree.root(size)).body)

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = len(self.leaves) if new is None else new
        return [] if old == 0 or old >= new else self.tree.consistency_proof(old, new)

    def request(self, old: int, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        return format_add_checkpoint(old, self.proof(old, size), self.checkpoint(size))


class WitnessProcess:
    """``notary witness serve`` for a folder made with ``notary witness init``; stopped on exit."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "NOTARY_WITNESS_DIR": str(folder)}
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> dict:
        result = subprocess.run(
            [sys.executable, "-m", "notary.cli", "witness", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return (
            json.loads(result.stdout) if result.stdout.startswith(("{", "[")) else {"output": result.stdout}
        )

    def init(self) -> str:
        return self.cli("init", "--name", self.name, "--json")["cosigner_key"]

    def start(self) -> WitnessProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "notary.cli", "witness", "serve", "--port", str(self.port)],
            env=self.env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return self
            except (OSError, urllib.error.URLError):
                if self.process.poll() is not None:
                    raise RuntimeError("the witness did not start") from None
                time.sleep(0.1)
        raise RuntimeError("the witness did not answer")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=20)
        self.process = None

    def post(self, body: bytes) -> tuple[int, str, bytes]:
        request = urllib.request.Request(self.url + "/add-checkpoint", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.headers.get("Content-Type", ""), answer.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers.get("Content-Type", ""), exc.read()


class ThreadedWitness:
    """A witness folder served over real HTTP from a thread of the test process."""

    def __init__(self, folder: Path, name: str, origin: str, log_verifier_key: str, clock) -> None:
        from notary.watch.witness.files import WitnessFolder

        self.folder = WitnessFolder(folder)
        self.cosigner = self.folder.init(name)
        self.folder.add_log(origin, log_verifier_key)
        self.name = name
        self.clock = clock
        self.server = None
        self.thread = None
        self.url = ""

    @property
    def config(self) -> dict:
        return {"name": self.name, "url": self.url, "cosigner_key": self.cosigner.cosigner_key}

    def start(self, port: int = 0) -> ThreadedWitness:
        import threading

        from werkzeug.serving import make_server

        from notary.watch.witness.app import witness_app

        self.server = make_server(
            "127.0.0.1", port, witness_app(self.folder.witness(self.clock)), threaded=True
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class SilentServer:
    """Accepts connections and never answers: a witness that hangs."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def stop(self) -> None:
        self.sock.close()
        for connection in self.accepted:
            connection.close()


def truncate_log(db, size: int) -> None:
    """What a malicious operator does to a copy of an instance: delete every leaf from ``size``
    on, with the contracts they sealed, their signatures and certificates, the audit anchors,
    the checkpoints, tokens and cosignatures after it, and put the tree back to ``size``."""
    from sqlalchemy import delete, select, update

    from notary.storage.access_models import AuditAnchor
    from notary.storage.models import (
        CheckpointCosignature,
        CheckpointTimestamp,
        Contract,
        IssuedCertificate,
        LogLeaf,
        LogState,
        RecordTimestamp,
        Signature,
        SignedCheckpoint,
        TreeNode,
    )
    from notary.storage.tree import read_nodes
    from notary.verify.merkle.plan import root_plan

    with db.write() as session:
        doomed = select(Contract.id).where(Contract.record_sequence >= size)
        session.execute(delete(Signature).where(Signature.contract_id.in_(doomed)))
        session.execute(delete(IssuedCertificate).where(IssuedCertificate.contract_id.in_(doomed)))
        session.execute(delete(AuditAnchor).where(AuditAnchor.leaf_sequence >= size))
        session.execute(delete(RecordTimestamp).where(RecordTimestamp.sequence >= size))
        session.execute(delete(CheckpointTimestamp).where(CheckpointTimestamp.tree_size > size))
        session.execute(delete(CheckpointCosignature).where(CheckpointCosignature.tree_size > size))
        session.execute(delete(SignedCheckpoint).where(SignedCheckpoint.tree_size > size))
        for level in range(64):
            session.execute(delete(TreeNode).where(TreeNode.level == level, TreeNode.idx >= size >> level))
        session.execute(delete(LogLeaf).where(LogLeaf.sequence >= size))
        session.execute(delete(Contract).where(Contract.record_sequence >= size))
        plan = root_plan(size)
        root = plan.assemble(read_nodes(session, plan.nodes))
        session.execute(update(LogState).values(tree_size=size, root_hash=root))


class ServedApp:
    """A WSGI app served over real HTTP from a thread (the notary, for mirrors and monitors)."""

    def __init__(self, app) -> None:
        import threading

        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver:
    """A real HTTP receiver that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        from flask import Flask, request

        self.received: list[dict] = []
        app = Flask("webhook-receiver")

        @app.post("/")
        def receive():
            self.received.append(request.get_json())
            return "", 204

        self.served = ServedApp(app)
        self.url = self.served.url + "/"

    def stop(self) -> None:
        self.served.stop()
