"""Watching contracts become ready: over HTTP as a client sees it, and in the database to check all.

"Ready" is what ``GET /contracts/{id}`` says in ``evidence.ready`` (the record's token, the
first checkpoint covering its leaf, and that checkpoint's token are stored); where the
service has the evidence route, a ready contract's ``GET /contracts/{id}/evidence`` must
also answer 200.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Collection
from typing import Any

from bench.load import Connection, RequestFailed

EVIDENCE_PATH = "/api/v1/contracts/{contract_id}/evidence"
CERTIFICATE_PATH = "/api/v1/contracts/{contract_id}/certificate"
SIGNATURE_BATCH_PATH = "/api/v1/contracts/signatures/batch"


def api_paths(conn: Connection) -> set[str]:
    """The paths the service's OpenAPI document lists (what this version of it offers)."""
    return set(conn.json("GET", "/api/v1/openapi.json", expect=(200,))["paths"])


class ReadyCheck:
    """Asks the service whether a contract's evidence is ready (and downloadable, where it can be)."""

    def __init__(self, conn: Connection, token: str, *, evidence_route: bool) -> None:
        self.conn = conn
        self.token = token
        self.evidence_route = evidence_route

    def ready(self, contract_id: str) -> bool:
        view = self.conn.json("GET", f"/api/v1/contracts/{contract_id}", token=self.token, expect=(200,))
        if not (view.get("evidence") or {}).get("ready"):
            return False
        if self.evidence_route:
            path = EVIDENCE_PATH.format(contract_id=contract_id)
            answer = self.conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
            if answer.status != 200:
                raise RequestFailed(f"ready but GET {path} answered {answer.status}")
        return True


class LatencySampler:
    """Polls sampled contracts from their last accepted signature until ready.

    A sample is first asked ``first`` seconds after its signature was accepted, then every
    ``interval`` seconds or a tenth of its age, whichever is longer: the latency is known to
    within 10 % (or ``interval``) while the polling stays a small part of the load (each poll
    is a full ``GET /contracts/{id}``). At most ``limit`` samples are followed at once;
    :meth:`offer` declines a sample while it is full.
    """

    def __init__(
        self, check: ReadyCheck, *, interval: float = 0.05, first: float = 0.2, limit: int = 3
    ) -> None:
        self.check = check
        self.interval = interval
        self.first = first
        self.limit = limit
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.polls = 0
        self._pending: dict[str, tuple[float, float]] = {}  # id -> (accepted at, next poll at)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> LatencySampler:
        self._thread.start()
        return self

    def offer(self, contract_id: str, accepted_at: float) -> bool:
        """Follow this contract (its last signature was accepted at ``accepted_at``) if there is room."""
        with self._lock:
            if len(self._pending) >= self.limit:
                return False
            self._pending[contract_id] = (accepted_at, accepted_at + self.first)
            return True

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.perf_counter()
            with self._lock:
                due = [(cid, accepted) for cid, (accepted, at) in self._pending.items() if at <= now]
            for contract_id, accepted_at in due:
                self.polls += 1
                try:
                    ready = self.check.ready(contract_id)
                except (RequestFailed, OSError) as exc:
                    self.errors.append(str(exc))
                    ready = False
                polled = time.perf_counter()
                with self._lock:
                    if ready:
                        self.latencies.append(polled - accepted_at)
                        del self._pending[contract_id]
                    else:
                        wait = max(self.interval, 0.1 * (polled - accepted_at))
                        self._pending[contract_id] = (accepted_at, polled + wait)
            with self._lock:
                upcoming = min((at for _, at in self._pending.values()), default=now + self.interval)
            self._stop.wait(min(self.interval, max(0.0, upcoming - time.perf_counter())))

    def finish(self, timeout: float) -> None:
        """Wait (up to ``timeout`` s) for the samples still followed, then stop."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(self.interval)
        self._stop.set()
        self._thread.join()


def unready(db: Any, contract_ids: Collection[str]) -> list[str]:
    """Of ``contract_ids``, those whose evidence is not ready, decided from the database itself.

    ``db`` is a :class:`notary.storage.db.Database` on the service's database. Ready: sealed,
    the record stamped, and the first checkpoint covering the leaf stamped.
    """
    from sqlalchemy import select

    from notary.storage.models import CheckpointTimestamp, Contract, RecordTimestamp, SignedCheckpoint

    wanted = set(contract_ids)
    with db.read() as session:
        sizes = sorted(session.execute(select(SignedCheckpoint.tree_size)).scalars())
        stamped_sizes = set(session.execute(select(CheckpointTimestamp.tree_size)).scalars())
        stamped_leaves = set(session.execute(select(RecordTimestamp.sequence)).scalars())
        rows = session.execute(select(Contract.id, Contract.record_sequence)).all()
    missing = []
    for contract_id, sequence in rows:
        if contract_id not in wanted:
            continue
        wanted.discard(contract_id)
        position = bisect.bisect_right(sizes, sequence) if sequence is not None else len(sizes)
        covering = sizes[position] if position < len(sizes) else None
        if covering is None or sequence not in stamped_leaves or covering not in stamped_sizes:
            missing.append(contract_id)
    return missing + sorted(wanted)
