"""Delivering the outbox: signed POSTs from a pool of threads, retried with backoff, logged.

One dispatcher leads at a time (its own lease, ``webhooks``, beside the sealing worker's), so
an event is sent by one process; a process that dies mid-delivery leaves the delivery
``pending`` in the database, and the next leader sends the same event (same ``event_id``, same
bytes) again: delivery is at least once, and receivers deduplicate by ``event_id``.

Each round records the attempts that finished (one write transaction for all of them), then
hands due deliveries to the thread pool:

- per endpoint, at most ``per_endpoint`` in flight, and one while the endpoint's last try got
  no answer at all (a hanging or unreachable receiver holds one thread, not the pool), so a
  slow endpoint never delays the others;
- per endpoint and subject (a contract), in event order: an event waits while an earlier
  event of the same contract to the same endpoint is still pending (in flight or waiting for
  a retry); a platform's own events (``platform.defunct``) wait for everything before them;
- after a failure the next try comes ``retry_base · 2^(n-1)`` later, ±20 % at random, so 12
  tries span about 24 hours; then the delivery is ``failed`` (resend brings it back).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from notary import __version__
from notary.errors import NotaryError
from notary.services.ceremony.identity import PiiCipher
from notary.services.clock import Clock
from notary.services.outbox import DeliveryStatus, EndpointStatus, EventType
from notary.services.webhooks.addresses import AddressPolicy
from notary.services.webhooks.endpoints import cancel_pending, live_secret_values
from notary.services.webhooks.signature import SIGNATURE_HEADER, signature_header
from notary.services.webhooks.transport import DeliveryFailed, Transport
from notary.storage.db import Database
from notary.storage.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from notary.verify.payloads import format_time

log = logging.getLogger(__name__)

DELIVERED = "delivered"
"""The outcome of an attempt answered with a 2xx; every other outcome is a failure."""
_NO_ANSWER = frozenset({"timeout", "connection_error", "tls_error"})
_BATCH_WAIT = 0.01


@dataclass(frozen=True)
class Job:
    """One attempt to make: a pending delivery as claimed (``attempts`` made before it)."""

    endpoint_id: str
    event_seq: int
    attempts: int
    event_id: str
    event_type: str
    body: bytes
    url: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to: ``outcome`` is ``delivered``, ``http_error``, ``timeout``,
    ``connection_error``, ``tls_error``, ``refused_address``, ``unresolvable_host``,
    ``bad_webhook_url`` or ``no_secret``."""

    job: Job
    started_at: str
    outcome: str
    status_code: int | None
    latency_ms: int
    error: str | None
    excerpt: str | None


D = WebhookDelivery
_EARLIER = aliased(WebhookDelivery)
_BARRIER = aliased(WebhookDelivery)

# Due deliveries of one endpoint, in the order they fell due, that nothing holds back: no
# earlier pending event of the same subject, and for a platform's own events (no subject)
# no earlier pending event at all.
_DUE = (
    select(D.event_seq, D.attempts, WebhookEvent.event_id, WebhookEvent.type, WebhookEvent.body)
    .join(WebhookEvent, WebhookEvent.seq == D.event_seq)
    .where(
        D.endpoint_id == bindparam("endpoint_id"),
        D.status == DeliveryStatus.PENDING,
        D.next_attempt_at <= bindparam("now"),
        ~exists().where(
            _EARLIER.endpoint_id == D.endpoint_id,
            _EARLIER.subject == D.subject,
            _EARLIER.event_seq < D.event_seq,
            _EARLIER.status == DeliveryStatus.PENDING,
        ),
        or_(
            D.subject.is_not(None),
            ~exists().where(
                _BARRIER.endpoint_id == D.endpoint_id,
                _BARRIER.status == DeliveryStatus.PENDING,
                _BARRIER.event_seq < D.event_seq,
            ),
        ),
    )
    .order_by(D.next_attempt_at, D.event_seq)
    .limit(bindparam("limit"))
)
_WITH_WORK = select(WebhookEndpoint.id, WebhookEndpoint.url).where(
    WebhookEndpoint.status == EndpointStatus.ACTIVE,
    exists().where(
        D.endpoint_id == WebhookEndpoint.id,
        D.status == DeliveryStatus.PENDING,
        D.next_attempt_at <= bindparam("now"),
    ),
)
_TABLE = WebhookDelivery.__table__
# Core, not ORM: one executemany for every attempt of a round, guarded by the attempt count
# claimed (a resend or another leader's newer result is never overwritten).
_RECORD = (
    update(_TABLE)
    .where(
        _TABLE.c.endpoint_id == bindparam("b_endpoint_id"),
        _TABLE.c.event_seq == bindparam("b_event_seq"),
        _TABLE.c.attempts == bindparam("b_claimed"),
        _TABLE.c.status == DeliveryStatus.PENDING,
    )
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        last_attempt_at=bindparam("b_started"),
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered"),
    )
)


class Dispatcher:
    """Sends due deliveries and records what happened. Call :meth:`run_once` from the
    webhooks worker's loop (while it holds the lease); :meth:`close` at the end."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        cipher: PiiCipher,
        policy: AddressPolicy,
        transport: Transport,
        *,
        threads: int,
        per_endpoint: int,
        max_attempts: int,
        retry_base: float,
        retention: float,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.cipher = cipher
        self.policy = policy
        self.transport = transport
        self.threads = threads
        self.per_endpoint = per_endpoint
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retention = retention
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: dict[tuple[str, int], Job] = {}
        self._finished: queue.SimpleQueue[Attempt] = queue.SimpleQueue()
        self._done = threading.Event()
        self._silent: set[str] = set()  # endpoints whose last try got no answer at all

    # -- the loop ---------------------------------------------------------------------------

    def run_once(self) -> int:
        """Record finished attempts, then start due ones; returns how many of both."""
        if self._in_flight and self._finished.empty():
            # Let a few finish so their results share one write transaction.
            self._done.wait(_BATCH_WAIT)
        self._done.clear()
        return self.record_finished() + self.start_due()

    def drain(self, timeout: float = 30.0) -> None:
        """Rounds until nothing is in flight and nothing is due now (tests, ``worker --once``)."""
        deadline = time.monotonic() + timeout
        while True:
            handled = self.run_once()
            if not handled and not self._in_flight:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"webhook deliveries still in flight after {timeout:g} s")
            if not handled:
                self._done.wait(0.01)

    def close(self) -> None:
        """Wait for the attempts in flight (each ends within the timeout) and record them."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.record_finished()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    # -- starting ---------------------------------------------------------------------------

    def start_due(self) -> int:
        """Hand due deliveries to the pool, within each endpoint's share; returns how many."""
        busy = Counter(endpoint_id for endpoint_id, _ in self._in_flight)
        free_threads = self.threads - len(self._in_flight)
        if free_threads <= 0:
            return 0
        now = format_time(self.clock())
        jobs: list[Job] = []
        with self.db.read() as session:
            endpoints = list(session.execute(_WITH_WORK, {"now": now}).all())
            # Endpoints with the fewest in flight first, so a busy one cannot take every thread.
            endpoints.sort(key=lambda row: busy[row.id])
            claimed: dict[str, list[tuple[int, int, str, str, bytes]]] = {}
            for endpoint_id, _url in endpoints:
                share = (1 if endpoint_id in self._silent else self.per_endpoint) - busy[endpoint_id]
                share = min(share, free_threads - sum(len(rows) for rows in claimed.values()))
                if share <= 0:
                    continue
                due = session.execute(
                    _DUE, {"endpoint_id": endpoint_id, "now": now, "limit": share + busy[endpoint_id]}
                ).all()
                fresh = [
                    (row[0], row[1], row[2], row[3], row[4])
                    for row in due
                    if (endpoint_id, row.event_seq) not in self._in_flight
                ]
                if fresh:
                    claimed[endpoint_id] = fresh[:share]
            if not claimed:
                return 0
            secrets = live_secret_values(session, self.cipher, list(claimed), now)
        urls = {row.id: row.url for row in endpoints}
        for endpoint_id, rows in claimed.items():
            for event_seq, attempts, event_id, event_type, body in rows:
                jobs.append(
                    Job(
                        endpoint_id,
                        event_seq,
                        attempts,
                        event_id,
                        event_type,
                        body,
                        urls[endpoint_id],
                        tuple(secrets[endpoint_id]),
                    )
                )
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="webhook")
        for job in jobs:
            self._in_flight[(job.endpoint_id, job.event_seq)] = job
            self._pool.submit(self._attempt_safely, job)
        return len(jobs)

    def _attempt_safely(self, job: Job) -> None:
        try:
            result = self.attempt(job)
        except Exception as exc:  # a bug must not lose the delivery: it is retried
            log.exception("webhook attempt failed unexpectedly")
            result = Attempt(
                job, format_time(self.clock()), "connection_error", None, 0, str(exc)[:180], None
            )
        self._finished.put(result)
        self._done.set()

    def attempt(self, job: Job) -> Attempt:
        """One signed POST of ``job``'s event, the address checked again first."""
        moment = self.clock()
        started_at = format_time(moment)
        if not job.secrets:
            return Attempt(job, started_at, "no_secret", None, 0, "the endpoint has no live secret", None)
        try:
            target = self.policy.check_url(job.url)
            addresses = self.policy.resolve(target)
        except NotaryError as exc:
            return Attempt(job, started_at, exc.code, None, 0, exc.message[:180], None)
        timestamp = int(moment.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"notary-webhooks/{__version__}",
            "Notary-Event-Id": job.event_id,
            "Notary-Event-Type": job.event_type,
            "Notary-Delivery-Attempt": str(job.attempts + 1),
            SIGNATURE_HEADER: signature_header(job.secrets, timestamp, job.body),
        }
        try:
            answer = self.transport.post(target, addresses[0], job.body, headers)
        except DeliveryFailed as exc:
            return Attempt(job, started_at, exc.kind, None, exc.latency_ms, exc.message, None)
        outcome = DELIVERED if 200 <= answer.status < 300 else "http_error"
        error = None if outcome == DELIVERED else _http_error(answer.status)
        return Attempt(
            job, started_at, outcome, answer.status, answer.latency_ms, error, _excerpt(answer.excerpt)
        )

    # -- recording --------------------------------------------------------------------------

    def record_finished(self) -> int:
        """Store every finished attempt and its delivery's new state in one transaction."""
        finished: list[Attempt] = []
        while True:
            try:
                finished.append(self._finished.get_nowait())
            except queue.Empty:
                break
        if not finished:
            return 0
        now = self.clock()
        updates, attempts, closed = [], [], []
        for result in finished:
            job = result.job
            made = job.attempts + 1
            delivered = result.outcome == DELIVERED
            final = delivered or made >= self.max_attempts
            status = (
                DeliveryStatus.DELIVERED
                if delivered
                else DeliveryStatus.FAILED
                if final
                else DeliveryStatus.PENDING
            )
            updates.append(
                {
                    "b_endpoint_id": job.endpoint_id,
                    "b_event_seq": job.event_seq,
                    "b_claimed": job.attempts,
                    "b_status": str(status),
                    "b_attempts": made,
                    "b_next": None if final else format_time(now + self.backoff(made)),
                    "b_started": result.started_at,
                    "b_code": result.status_code,
                    "b_error": result.error,
                    "b_delivered": result.started_at if delivered else None,
                }
            )
            attempts.append(
                {
                    "endpoint_id": job.endpoint_id,
                    "event_seq": job.event_seq,
                    "attempt": made,
                    "started_at": result.started_at,
                    "outcome": result.outcome,
                    "status_code": result.status_code,
                    "latency_ms": result.latency_ms,
                    "error": result.error,
                    "response_excerpt": result.excerpt,
                }
            )
            if final and job.event_type == EventType.PLATFORM_DEFUNCT:
                closed.append(job.endpoint_id)
            if result.outcome in _NO_ANSWER:
                self._silent.add(job.endpoint_id)
            elif result.outcome in {DELIVERED, "http_error"}:
                self._silent.discard(job.endpoint_id)
        try:
            with self.db.write() as session:
                session.execute(_RECORD, updates)
                session.execute(insert(WebhookAttempt), attempts)
                if closed:
                    # The platform's last event is done: nothing after it is ever sent.
                    cancel_pending(session, closed, format_time(now))
        except Exception:
            for result in finished:  # kept for the next round: never forgotten in flight
                self._finished.put(result)
            raise
        for result in finished:
            self._in_flight.pop((result.job.endpoint_id, result.job.event_seq), None)
        return len(finished)

    def backoff(self, attempts: int) -> dt.timedelta:
        """The pause after the ``attempts``-th failed try: ``retry_base · 2^(n-1)``, ±20 %."""
        return dt.timedelta(seconds=self.retry_base * 2 ** (attempts - 1) * self.rng.uniform(0.8, 1.2))

    # -- upkeep -----------------------------------------------------------------------------

    def purge_old(self, batch: int = 1000) -> int:
        """Delete events older than the retention whose deliveries are all done, with their
        deliveries and attempts; returns how many events went."""
        cutoff = format_time(self.clock() - dt.timedelta(seconds=self.retention))
        removed = 0
        while True:
            with self.db.write() as session:
                seqs = _purgeable(session, cutoff, batch)
                if not seqs:
                    return removed
                session.execute(delete(WebhookAttempt).where(WebhookAttempt.event_seq.in_(seqs)))
                session.execute(delete(D).where(D.event_seq.in_(seqs)))
                session.execute(delete(WebhookEvent).where(WebhookEvent.seq.in_(seqs)))
            removed += len(seqs)


def _purgeable(session: Session, cutoff: str, batch: int) -> list[int]:
    pending = exists().where(and_(D.event_seq == WebhookEvent.seq, D.status == DeliveryStatus.PENDING))
    query = select(WebhookEvent.seq).where(WebhookEvent.created_at < cutoff, ~pending).limit(batch)
    return list(session.execute(query).scalars())


def _http_error(status: int) -> str:
    if 300 <= status < 400:
        return f"answered {status}: redirects are not followed"
    return f"answered {status}"


def _excerpt(text: str) -> str | None:
    shown = "".join(char if char.isprintable() else " " for char in text).strip()
    return shown[:200] or None
