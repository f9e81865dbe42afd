"""Trusted time for the log: a token for every leaf, and for every checkpoint one per authority.

Tokens are asked for outside any database transaction (an authority may be slow or away) and
stored together afterwards. When no authority answers, the work simply stays pending: the
leaf is sealed already, it waits, and the next rounds retry with a growing pause. A leaf is
never stamped twice: its sequence is the token's primary key.

Leaves are stamped in order, so the stamped leaves are always a prefix of the log and the
next to stamp are those after the highest stamped sequence: finding them, and counting the
backlog, costs an index lookup however long the log grows. Checkpoints likewise, authority by
authority.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notary.errors import TimestampUnavailable
from notary.services import outbox
from notary.services.clock import Clock, now_text
from notary.services.tlog.cosigned import largest_met, met_sizes, stored_policies
from notary.signing.tsa_client import StampResult, TimestampClient
from notary.storage.db import Database, insert_new
from notary.storage.models import (
    CheckpointTimestamp,
    Contract,
    LogLeaf,
    RecordTimestamp,
    SignedCheckpoint,
    TsaChain,
)
from notary.storage.tree import tree_state
from notary.verify.note import Checkpoint
from notary.verify.payloads import format_time
from notary.verify.witness_policy import WitnessPolicy, policy_for

logger = logging.getLogger(__name__)


@dataclass
class Backoff:
    """A pause that doubles after each failure (up to ``ceiling`` seconds) and resets on success."""

    floor: float = 0.5
    ceiling: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    _pause: float = 0.0
    _until: float = field(default=0.0)

    def ready(self) -> bool:
        return self.monotonic() >= self._until

    def failed(self) -> None:
        self._pause = min(self.ceiling, max(self.floor, self._pause * 2))
        self._until = self.monotonic() + self._pause

    def succeeded(self) -> None:
        self._pause, self._until = 0.0, 0.0


def _evidence_ready(session: Session, first: int, end: int, now: str) -> None:
    """Emit ``evidence.ready`` for the contracts of leaves ``[first, end)``, made ready by the
    tokens this transaction stores."""
    if end <= first:
        return
    sizes = _covering_sizes(session, first, end)
    events = []
    for contract, record_sha256, sequence in _sealed_in(session, first, end):
        covering = sizes[bisect.bisect_right(sizes, sequence)]  # the first size above it
        events.append(
            outbox.evidence_ready(
                contract, leaf_index=sequence, record_sha256=record_sha256, checkpoint_size=covering
            )
        )
    outbox.emit(session, events, now=now)


def cosigned_up_to(session: Session, policies: Sequence[WitnessPolicy]) -> int:
    """How many leaves (a prefix of the log) may have cosigned evidence: their own token, and
    a checkpoint above them that meets its witness policy and has its token.

    Checkpoint tokens are a prefix too (:func:`ready_up_to`), so the first checkpoint meeting
    the policy above a leaf has its token whenever the largest one does. A leaf below the
    prefix is ``cosigned`` unless no policy covers its first checkpoint (``not_required``).
    """
    if not policies:
        return 0
    largest = session.execute(select(func.max(CheckpointTimestamp.tree_size))).scalar_one_or_none()
    return min(stamped_up_to(session), largest_met(session, policies, up_to=largest or 0))


def evidence_cosigned(
    session: Session, policies: Sequence[WitnessPolicy], first: int, end: int, now: str
) -> None:
    """Emit ``evidence.cosigned`` for the contracts of leaves ``[first, end)`` whose first
    checkpoint a witness policy covers, made cosigned by what this transaction stores."""
    if end <= first:
        return
    met = met_sizes(
        session,
        policies,
        above=first,
        up_to=session.execute(select(func.max(CheckpointTimestamp.tree_size))).scalar_one(),
    )
    covering = _covering_sizes(session, first, end)
    events = []
    for contract, record_sha256, sequence in _sealed_in(session, first, end):
        if policy_for(policies, covering[bisect.bisect_right(covering, sequence)]) is None:
            continue  # sealed before the log had witnesses: judged without them
        cosigned = met[bisect.bisect_right(met, sequence)]
        events.append(
            outbox.evidence_cosigned(
                contract, leaf_index=sequence, record_sha256=record_sha256, checkpoint_size=cosigned
            )
        )
    outbox.emit(session, events, now=now)


def _sealed_in(session: Session, first: int, end: int) -> list[tuple[Contract, str, int]]:
    """The contracts sealed as leaves ``[first, end)``, in log order, with their record's
    SHA-256 and their leaf index."""
    rows = session.execute(
        select(Contract, LogLeaf.record_sha256)
        .join(LogLeaf, LogLeaf.sequence == Contract.record_sequence)
        .where(Contract.record_sequence >= first, Contract.record_sequence < end)
        .order_by(Contract.record_sequence)
    ).all()
    # Joined on the leaf's sequence, so record_sequence is never None here.
    return [(contract, digest, int(contract.record_sequence or 0)) for contract, digest in rows]


def _covering_sizes(session: Session, first: int, end: int) -> list[int]:
    """The checkpoint sizes that can be the first to cover leaves ``[first, end)``: from above
    the first leaf to the first at or above the end (one exists while ``end`` is at most a
    stamped checkpoint's size)."""
    upper = session.execute(
        select(func.min(SignedCheckpoint.tree_size)).where(SignedCheckpoint.tree_size >= end)
    ).scalar_one()
    return list(
        session.execute(
            select(SignedCheckpoint.tree_size)
            .where(SignedCheckpoint.tree_size > first, SignedCheckpoint.tree_size <= upper)
            .order_by(SignedCheckpoint.tree_size)
        ).scalars()
    )


def checkpoint_body(checkpoint: SignedCheckpoint) -> bytes:
    """The signed body of a stored checkpoint: what its tokens are over."""
    return Checkpoint(checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash).body


def stamped_up_to(session: Session) -> int:
    """How many leaves (a prefix of the log) have their token."""
    last = session.execute(select(func.max(RecordTimestamp.sequence))).scalar_one_or_none()
    return 0 if last is None else last + 1


def ready_up_to(session: Session) -> int:
    """How many leaves (a prefix of the log) have evidence ready: their own token, and a token
    on the first checkpoint covering them.

    Both kinds of token are stamped in order (checkpoints per authority, from the first), so
    the leaves with a token are a prefix of the log and the checkpoints with a token are those
    up to the largest stamped size: a leaf is ready when it lies below both.
    """
    largest = session.execute(select(func.max(CheckpointTimestamp.tree_size))).scalar_one_or_none()
    return min(stamped_up_to(session), largest or 0)


def timestamp_backlog(session: Session) -> int:
    """Leaves still waiting for their token."""
    size, _ = tree_state(session)
    return size - stamped_up_to(session)


class Stamper:
    """Asks the configured authorities for the tokens the log still lacks."""

    def __init__(
        self, db: Database, client: TimestampClient, clock: Clock, *, batch_size: int = 1000
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.batch_size = batch_size
        self.records_backoff = Backoff()
        self.authority_backoff = {authority.name: Backoff() for authority in client.authorities}
        self._known_chains: set[str] = set()

    def _store(
        self,
        model: type,
        keys: list[str],
        results: list[tuple[dict[str, object], StampResult]],
    ) -> None:
        """Insert the token rows, and each certificate chain not stored yet, in one transaction."""
        with self.db.write() as session:
            listening = outbox.anyone_listens(session)
            policies = stored_policies(session) if listening else ()
            ready_before = ready_up_to(session) if listening else 0
            cosigned_before = cosigned_up_to(session, policies)
            rows, chains = self._rows(session, results)
            insert_new(session, model, rows, keys)
            if listening:
                now = now_text(self.clock)
                _evidence_ready(session, ready_before, ready_up_to(session), now)
                evidence_cosigned(session, policies, cosigned_before, cosigned_up_to(session, policies), now)
        self._known_chains.update(chains)  # only once they are committed

    def _rows(
        self, session: Session, results: list[tuple[dict[str, object], StampResult]]
    ) -> tuple[list[dict[str, object]], set[str]]:
        """Token rows, storing each new certificate chain once; also the chains stored."""
        now = now_text(self.clock)
        chains = {}
        rows = []
        for keys, result in results:
            chain_sha256 = hashlib.sha256(result.chain_pem).hexdigest()
            if chain_sha256 not in self._known_chains:
                chains[chain_sha256] = {"sha256": chain_sha256, "pem": result.chain_pem.decode("ascii")}
            rows.append(
                {
                    **keys,
                    "authority": result.authority,
                    "response": result.response,
                    "chain_sha256": chain_sha256,
                    "gen_time": format_time(result.gen_time),
                    "serial": format(result.serial_number, "x"),
                    "stamped_at": now,
                }
            )
        insert_new(session, TsaChain, list(chains.values()), ["sha256"])
        return rows, set(chains)

    def stamp_records(self) -> int:
        """Stamp up to ``batch_size`` leaves without a token, in order; returns how many."""
        if not self.records_backoff.ready():
            return 0
        with self.db.read() as session:
            size, _ = tree_state(session)
            first = stamped_up_to(session)
            if first >= size:
                return 0
            pending = session.execute(
                select(LogLeaf.sequence, LogLeaf.record)
                .where(LogLeaf.sequence >= first)
                .order_by(LogLeaf.sequence)
                .limit(self.batch_size)
            ).all()
        results: list[tuple[dict[str, object], StampResult]] = []
        for sequence, record in pending:
            try:
                result = self.client.stamp_first(hashlib.sha256(record).digest())
            except TimestampUnavailable as exc:
                # Stop at the first leaf that waits: the stamped leaves stay a prefix.
                logger.warning("record %s waits for a timestamp: %s", sequence, exc.message)
                self.records_backoff.failed()
                break
            results.append(({"sequence": sequence}, result))
        else:
            self.records_backoff.succeeded()
        if results:
            self._store(RecordTimestamp, ["sequence"], results)
        return len(results)

    def stamp_checkpoints(self, limit: int = 20) -> int:
        """Give checkpoints the tokens they lack, one per configured authority; returns tokens added.

        Each authority stamps checkpoints in order, from the one after the last it stamped; an
        authority that is away keeps its place and catches up when it returns.
        """
        wanted: dict[str, list[SignedCheckpoint]] = {}
        with self.db.read() as session:
            for authority in self.client.authorities:
                if not self.authority_backoff[authority.name].ready():
                    continue
                last = session.execute(
                    select(func.max(CheckpointTimestamp.tree_size)).where(
                        CheckpointTimestamp.authority == authority.name
                    )
                ).scalar_one_or_none()
                query = select(SignedCheckpoint).order_by(SignedCheckpoint.tree_size).limit(limit)
                if last is not None:
                    query = query.where(SignedCheckpoint.tree_size > last)
                checkpoints = session.execute(query).scalars().all()
                if checkpoints:
                    wanted[authority.name] = list(checkpoints)
        if not wanted:
            return 0
        positions = {
            authority.name: index for index, authority in enumerate(self.client.authorities, start=1)
        }
        results: list[tuple[dict[str, object], StampResult]] = []
        for name, checkpoints in wanted.items():
            for checkpoint in checkpoints:
                try:
                    result = self.client.stamp_with(
                        name, hashlib.sha256(checkpoint_body(checkpoint)).digest()
                    )
                except TimestampUnavailable as exc:
                    logger.warning(
                        "checkpoint %s waits for a token from %s: %s", checkpoint.tree_size, name, exc.message
                    )
                    self.authority_backoff[name].failed()
                    break
                self.authority_backoff[name].succeeded()
                results.append(({"tree_size": checkpoint.tree_size, "position": positions[name]}, result))
        if results:
            self._store(CheckpointTimestamp, ["tree_size", "authority"], results)
        return len(results)
