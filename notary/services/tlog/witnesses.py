"""Witnesses: the policy the log adopted, and the cosignatures it collects on its checkpoints.

Each new checkpoint goes to every configured witness (C2SP tlog-witness ``add-checkpoint``,
with a consistency proof from the size that witness last cosigned). Requests run in a thread
pool of their own: the worker's step only hands out requests and stores the answers that
have arrived, so a slow or dead witness never holds up sealing, timestamps or checkpoints.
Each request has a time-out; a witness that fails is retried after a pause doubling from
0.5 s to 60 s; a ``409`` (the witness cosigned another size) is retried at once from the
size it names. A witness only ever receives the latest checkpoint: it cosigns the growth
since its last one in one step.

The policy (k of the configured witnesses) is stored when first seen and again whenever the
configuration changes, each from the next checkpoint's size on (``from_size``), so bundles
sealed before are judged by the policy of their time, or without witnesses.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update

from notary.config import ConfigError
from notary.services import outbox
from notary.services.clock import Clock, now_text
from notary.services.tlog.cosigned import stored_policies
from notary.services.tlog.public import consistency_proof
from notary.services.tlog.timestamps import Backoff, cosigned_up_to, evidence_cosigned
from notary.storage.db import Database, insert_new
from notary.storage.models import CheckpointCosignature, SignedCheckpoint, WitnessPolicyRecord
from notary.verify.canonical import canonical_json
from notary.verify.cosignature import CosignerKey, parse_cosigner_key, verify_cosignatures
from notary.verify.errors import MalformedInput, NotaryError
from notary.verify.payloads import format_time
from notary.verify.witness_policy import WitnessPolicy
from notary.verify.witness_protocol import format_add_checkpoint, parse_size

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class ConfiguredWitness:
    """A witness the log asks: its name, the URL of its submission prefix and its cosigner key."""

    name: str
    url: str
    key: CosignerKey


def parse_witnesses(text: str) -> tuple[ConfiguredWitness, ...]:
    """``NOTARY_WITNESSES``: a JSON list of ``{"name", "url", "cosigner_key"}``.

    Raises :class:`~notary.config.ConfigError` naming what is wrong.
    """
    if not text.strip():
        return ()
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"witnesses: not JSON ({exc})") from exc
    if not isinstance(value, list):
        raise ConfigError("witnesses: a JSON list of {name, url, cosigner_key}")
    witnesses = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) != {"name", "url", "cosigner_key"}:
            raise ConfigError(f"witnesses[{index}]: exactly name, url and cosigner_key")
        url = entry["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"witnesses[{index}].url: an http(s) URL")
        try:
            key = parse_cosigner_key(entry["cosigner_key"])
        except MalformedInput as exc:
            raise ConfigError(f"witnesses[{index}].cosigner_key: {exc.message}") from exc
        if key.name != entry["name"]:
            raise ConfigError(
                f"witnesses[{index}]: the cosigner key is named {key.name!r}, not {entry['name']!r}"
            )
        witnesses.append(ConfiguredWitness(entry["name"], url.rstrip("/"), key))
    names = [witness.name for witness in witnesses]
    if len(set(names)) != len(names):
        raise ConfigError("witnesses: each witness once")
    return tuple(witnesses)


def policy_k(k: int, witnesses: Sequence[ConfiguredWitness]) -> int:
    """The policy's k: ``NOTARY_WITNESS_K``, 0 meaning all of them. Raises ``ConfigError``."""
    if not witnesses:
        return 0
    if k > len(witnesses):
        raise ConfigError(f"witness_k: {k} is more than the {len(witnesses)} witnesses configured")
    return k or len(witnesses)


def _policy_json(witnesses: Sequence[ConfiguredWitness]) -> str:
    return canonical_json([{"cosigner_key": w.key.text, "name": w.name} for w in witnesses]).decode()


def adopt_policy(
    db: Database, witnesses: Sequence[ConfiguredWitness], k: int, clock: Clock
) -> WitnessPolicy | None:
    """Store the configured policy if it is not the current one: it applies from the size after
    the latest checkpoint; the previous one ends at that checkpoint. Returns the current policy."""
    wanted = _policy_json(witnesses) if witnesses else None
    with db.write() as session:
        current = session.execute(
            select(WitnessPolicyRecord).where(WitnessPolicyRecord.until_size.is_(None))
        ).scalar_one_or_none()
        if current is not None and (current.witnesses, current.k) == (wanted, k):
            return stored_policies(session)[-1]
        if current is None and wanted is None:
            return None
        latest = session.execute(select(func.max(SignedCheckpoint.tree_size))).scalar_one_or_none()
        next_size = 0 if latest is None else latest + 1
        if current is not None:
            if current.from_size >= next_size:
                # No checkpoint was signed under it: replace it rather than leave an empty range.
                session.delete(current)
                session.flush()
            else:
                session.execute(
                    update(WitnessPolicyRecord)
                    .where(WitnessPolicyRecord.from_size == current.from_size)
                    .values(until_size=next_size - 1)
                )
        if wanted is not None:
            session.add(
                WitnessPolicyRecord(from_size=next_size, k=k, witnesses=wanted, adopted_at=now_text(clock))
            )
        log.info("witness policy: %s of %s from size %s", k, len(witnesses), next_size)
    with db.read() as session:
        policies = stored_policies(session)
    return policies[-1] if policies and wanted is not None else None


@dataclass(frozen=True)
class _Request:
    witness: ConfiguredWitness
    origin: str
    tree_size: int
    note: str
    body: bytes


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    error: str | None = None


@dataclass
class _WitnessState:
    known: dict[str, int] = field(default_factory=dict)  # origin -> size it last cosigned
    backoff: Backoff = field(default_factory=Backoff)
    in_flight: Future[_Answer] | None = None
    request: _Request | None = None


class CosignatureCollector:
    """Asks the configured witnesses to cosign the latest checkpoint; stores what they answer."""

    def __init__(
        self,
        db: Database,
        witnesses: Sequence[ConfiguredWitness],
        *,
        k: int,
        clock: Clock,
        timeout: float = 5.0,
    ) -> None:
        self.db = db
        self.witnesses = tuple(witnesses)
        self.k = k
        self.clock = clock
        self.timeout = timeout
        self._state = {witness.name: _WitnessState() for witness in self.witnesses}
        self._pool: ThreadPoolExecutor | None = None
        self._adopted = False

    def adopt_once(self) -> int:
        """Store the configured policy if it changed (once per process, before its first
        checkpoint, so the policy covers everything this process signs); returns 0."""
        if not self._adopted:
            adopt_policy(self.db, self.witnesses, self.k, self.clock)
            self._load_known()
            self._adopted = True
        return 0

    def run_once(self) -> int:
        """Store the answers that arrived, send the latest checkpoint where it is due; returns
        the cosignatures stored. Never waits for a witness."""
        self.adopt_once()
        if not self.witnesses:
            return 0
        stored = self._harvest()
        self._send()
        return stored

    def close(self) -> None:
        """Stop the pool (answers still in flight are dropped; their witnesses keep them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _load_known(self) -> None:
        with self.db.read() as session:
            rows = session.execute(
                select(
                    CheckpointCosignature.witness,
                    CheckpointCosignature.origin,
                    func.max(CheckpointCosignature.tree_size),
                ).group_by(CheckpointCosignature.witness, CheckpointCosignature.origin)
            ).all()
        for name, origin, size in rows:
            if name in self._state:
                self._state[name].known[origin] = size

    def _send(self) -> None:
        idle = [
            w
            for w in self.witnesses
            if self._state[w.name].in_flight is None and self._state[w.name].backoff.ready()
        ]
        if not idle:
            return
        with self.db.read() as session:
            latest = session.execute(
                select(SignedCheckpoint).order_by(SignedCheckpoint.tree_size.desc()).limit(1)
            ).scalar_one_or_none()
            if latest is None:
                return
            requests = []
            for witness in idle:
                old = self._state[witness.name].known.get(latest.origin, 0)
                if old == latest.tree_size:
                    continue
                if old > latest.tree_size:
                    log.error(
                        "witness %s has cosigned size %s of %s, beyond this log's latest checkpoint (%s): "
                        "the log was rolled back or forked",
                        witness.name, old, latest.origin, latest.tree_size,
                    )  # fmt: skip
                    self._state[witness.name].backoff.failed()
                    continue
                proof = consistency_proof(session, old, latest.tree_size) if old else []
                body = format_add_checkpoint(old, proof, latest.note)
                requests.append(_Request(witness, latest.origin, latest.tree_size, latest.note, body))
        if not requests:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=len(self.witnesses), thread_name_prefix="witness")
        for request in requests:
            state = self._state[request.witness.name]
            state.request = request
            state.in_flight = self._pool.submit(self._exchange, request)

    def _exchange(self, request: _Request) -> _Answer:
        http_request = urllib.request.Request(  # noqa: S310 - http(s) checked in parse_witnesses
            request.witness.url + "/add-checkpoint", data=request.body, method="POST"
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as reply:  # noqa: S310
                return _Answer(reply.status, reply.read(MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as exc:
            with exc:
                return _Answer(exc.code, exc.read(MAX_ANSWER_BYTES))
        except OSError as exc:
            return _Answer(0, b"", str(exc))

    def _harvest(self) -> int:
        rows: list[dict[str, Any]] = []
        now = format_time(self.clock())
        for witness in self.witnesses:
            state = self._state[witness.name]
            future, request = state.in_flight, state.request
            if future is None or request is None or not future.done():
                continue
            state.in_flight, state.request = None, None
            row = self._outcome(state, request, future.result())
            if row is not None:
                rows.append({**row, "received_at": now})
        if rows:
            with self.db.write() as session:
                listening = outbox.anyone_listens(session)
                policies = stored_policies(session) if listening else ()
                before = cosigned_up_to(session, policies)
                insert_new(session, CheckpointCosignature, rows, ["tree_size", "witness"])
                if listening:
                    evidence_cosigned(session, policies, before, cosigned_up_to(session, policies), now)
        return len(rows)

    def _outcome(self, state: _WitnessState, request: _Request, answer: _Answer) -> dict[str, Any] | None:
        name = request.witness.name
        if answer.status == 200:
            try:
                [found] = verify_cosignatures(
                    request.note + answer.body.decode("utf-8"), [request.witness.key]
                )
            except (NotaryError, UnicodeDecodeError, ValueError) as exc:
                log.error("witness %s answered without a valid cosignature: %s", name, exc)
                state.backoff.failed()
                return None
            state.known[request.origin] = request.tree_size
            state.backoff.succeeded()
            return {
                "tree_size": request.tree_size,
                "witness": name,
                "origin": request.origin,
                "line": found.line,
                "cosigned_at": format_time(found.time),
            }
        if answer.status == 409:
            try:
                size = parse_size(answer.body)
            except MalformedInput:
                log.error("witness %s refused size %s: %s", name, request.tree_size, _shown(answer.body))
                state.backoff.failed()
                return None
            previous = state.known.get(request.origin, 0)
            state.known[request.origin] = size
            if size == previous:
                # Same size, another root: the witness holds a tree this log does not.
                log.error(
                    "witness %s holds another tree of size %s of %s: a fork", name, size, request.origin
                )
                state.backoff.failed()
            return None
        if answer.status == 0:
            log.warning("witness %s did not answer: %s", name, answer.error)
        else:
            log.error(
                "witness %s refused the checkpoint of size %s (HTTP %s): %s",
                name, request.tree_size, answer.status, _shown(answer.body),
            )  # fmt: skip
        state.backoff.failed()
        return None


def _shown(body: bytes) -> str:
    return body[:200].decode("utf-8", "replace").strip()
