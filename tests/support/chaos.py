"""A live service under load, its processes killed at random moments, and what it acknowledged.

:class:`Load` files contracts and signs them from a few threads over HTTP, keeping only what the
service acknowledged (201 for a filing, 200 for a signature) and every checkpoint it served.
:func:`victims` names the processes of a ``notary serve``: its gunicorn web workers and its
background worker. :func:`check_nothing_lost` is the verdict of the chaos tests and the soak.
"""

from __future__ import annotations

import base64
import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from notary.runtime import Runtime
from notary.storage.models import Contract, LogLeaf, Signature
from notary.verify.merkle import proofs as merkle
from notary.verify.note import parse_verifier_key, verify_checkpoint
from tests.support.live_api import LivePlatform, call
from tests.support.people import Person
from tests.support.server import Service

DOCUMENT = b"%PDF-1.4\n% a loan contract under fire\n"

#: Fast turns, so kills land in every phase: checkpoints every 100 ms, a dead leader's lease gone
#: after 1 s, no rate limit in the way of the load.
SERVICE_ENV = {
    "NOTARY_CHECKPOINT_INTERVAL": "100ms",
    "NOTARY_LEASE_DURATION": "1s",
    **{
        f"NOTARY_RATE_LIMIT_{rule}": "off"
        for rule in ("LOGIN", "FAILED_AUTH", "VERIFY", "ENROLMENT", "FILING", "SIGNATURES", "DEFAULT")
    },
}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def resident_mb(service: Service) -> float:
    """The resident memory of the whole service (supervisor, gunicorn and its workers, the
    background worker), in MiB."""
    assert service.process is not None
    pending, total_kb = [service.process.pid], 0
    while pending:
        pid = pending.pop()
        pending.extend(_children(pid))
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total_kb += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
    return round(total_kb / 1024, 1)


def victims(service: Service) -> dict[str, list[int]]:
    """The service's killable processes: ``web`` (gunicorn's workers) and ``worker``."""
    assert service.process is not None
    found: dict[str, list[int]] = {"web": [], "worker": []}
    for child in _children(service.process.pid):
        command = _command(child)
        if "gunicorn" in command:
            found["web"].extend(_children(child))
        elif "notary.cli worker" in command:
            found["worker"].append(child)
    return found


@dataclass
class Acknowledged:
    """What the service said it had stored, and every checkpoint it served."""

    filings: dict[str, str] = field(default_factory=dict)  # contract id -> external_ref
    signatures: set[tuple[str, str]] = field(default_factory=set)  # (contract id, role)
    checkpoints: set[str] = field(default_factory=set)
    refused: dict[str, int] = field(default_factory=dict)  # what failed, by status or error
    latencies_ms: list[tuple[float, float]] = field(default_factory=list)  # (time, filing ms)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.refused[what] = self.refused.get(what, 0) + 1


class Load:
    """``threads`` clients, each filing a contract and signing it twice, over and over."""

    def __init__(self, service: Service, threads: int = 2, rate: float | None = None) -> None:
        self.service = service
        self.platform = LivePlatform.add(service)
        self.investor = Person("张三", alg="ed25519")
        self.borrower = Person("李四", alg="p256")
        self.platform.enrol(self.investor)
        self.platform.enrol(self.borrower)
        self.acknowledged = Acknowledged()
        #: Seconds between one thread's lifecycles for ``rate`` lifecycles a second in all.
        self.interval = threads / rate if rate else 0.0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in range(threads)]
        self._threads.append(threading.Thread(target=self._watch_checkpoints))
        self._serial = 0

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return call(method, self.service.base + path, **kwargs)
        except (OSError, http.client.HTTPException) as exc:  # a worker killed mid-answer
            # The connection broke, or the body was cut short (IncompleteRead): no answer.
            self.acknowledged.count(type(exc).__name__)
            return None

    def _client(self, number: int) -> None:
        ack = self.acknowledged
        next_start = time.monotonic()
        while not self._stop.is_set():
            if self.interval:
                next_start += self.interval
            with ack.lock:
                self._serial += 1
                reference = f"chaos-{number}-{self._serial}"
            body = {
                "document_base64": base64.b64encode(DOCUMENT + reference.encode()).decode(),
                "media_type": "application/pdf",
                "terms": {
                    "investor": self.investor.party_id, "borrower": self.borrower.party_id,
                    "amount": "1000.00", "currency": "CNY", "annual_rate": "0.0800",
                    "term_months": 12, "start_date": "2026-12-01", "external_ref": reference,
                },
            }  # fmt: skip
            started = time.monotonic()
            answer = self._call("POST", "/contracts", token=self.platform.token, body=body)
            if answer is None or answer.status != 201:
                if answer is not None:
                    ack.count(f"filing {answer.status}")
                continue
            filed = answer.json()
            with ack.lock:
                ack.filings[filed["contract_id"]] = reference
                ack.latencies_ms.append((started, (time.monotonic() - started) * 1000))
            for person, role in ((self.investor, "investor"), (self.borrower, "borrower")):
                payload = base64.b64decode(filed["signing_payloads"][role]["payload_base64"])
                signature = {"role": role, "signature": person.sign_b64(payload)}
                for _attempt in range(5):  # a signature is idempotent: try again after a broken answer
                    answer = self._call(
                        "POST", f"/contracts/{filed['contract_id']}/signatures", body=signature
                    )
                    if answer is not None and answer.status == 200:
                        with ack.lock:
                            ack.signatures.add((filed["contract_id"], role))
                        break
                    if answer is not None:
                        ack.count(f"signature {answer.status}")
                    time.sleep(0.2)
            if self.interval:
                self._stop.wait(max(0.0, next_start - time.monotonic()))

    def _watch_checkpoints(self) -> None:
        while not self._stop.wait(0.2):
            answer = self._call("GET", "/log/checkpoint")
            if answer is not None and answer.status == 200:
                with self.acknowledged.lock:
                    self.acknowledged.checkpoints.add(answer.body.decode())


def wait_sealed(rt: Runtime, contract_ids: set[str], timeout: float = 120) -> None:
    """Until every one of these contracts is sealed and covered by a checkpoint."""
    deadline = time.monotonic() + timeout
    while True:
        with rt.db.read() as session:
            sealed = set(
                session.execute(
                    select(Contract.id).where(Contract.id.in_(contract_ids), Contract.status == "sealed")
                ).scalars()
            )
        if sealed == contract_ids:
            return
        assert time.monotonic() < deadline, f"{len(contract_ids - sealed)} signed contracts never sealed"
        time.sleep(0.5)


def check_nothing_lost(rt: Runtime, acknowledged: Acknowledged) -> dict[str, Any]:
    """The verdict: nothing acknowledged is missing, nothing is there twice, and every checkpoint
    ever served is the root of a prefix of today's log (so consistent with the newest)."""
    with rt.db.read() as session:
        stored = set(
            session.execute(select(Contract.id).where(Contract.id.in_(acknowledged.filings))).scalars()
        )
        signatures = {
            (cid, role) for cid, role in session.execute(select(Signature.contract_id, Signature.role))
        }
        duplicates = session.execute(
            select(Contract.external_ref, func.count())
            .group_by(Contract.external_ref)
            .having(func.count() > 1)
        ).all()
        leaves = session.execute(select(LogLeaf.record).order_by(LogLeaf.sequence)).scalars().all()
    lost_filings = set(acknowledged.filings) - stored
    lost_signatures = acknowledged.signatures - signatures
    assert not lost_filings, f"acknowledged filings lost: {sorted(lost_filings)}"
    assert not lost_signatures, f"acknowledged signatures lost: {sorted(lost_signatures)}"
    assert not duplicates, f"filed twice: {duplicates}"
    leaf_hashes = [merkle.leaf_hash(record) for record in leaves]
    verifier = parse_verifier_key(rt.log_signer.verifier_key)
    for note in acknowledged.checkpoints:
        served = verify_checkpoint(note, [verifier], origin=rt.log_signer.name).checkpoint
        assert served.size <= len(leaf_hashes), f"a checkpoint of {served.size} leaves; the log has fewer"
        assert served.root_hash == merkle.root_from_leaf_hashes(leaf_hashes[: served.size]), (
            f"the checkpoint served at size {served.size} is not a prefix of the log"
        )
    filing_ms = [ms for _, ms in acknowledged.latencies_ms]
    return {
        "filings_acknowledged": len(acknowledged.filings),
        "signatures_acknowledged": len(acknowledged.signatures),
        "checkpoints_served": len(acknowledged.checkpoints),
        "leaves": len(leaf_hashes),
        "refused": dict(acknowledged.refused),
        "filing_p50_ms": round(statistics.median(filing_ms), 1) if filing_ms else None,
    }
