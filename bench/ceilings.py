"""The machine's own ceilings, measured in the same run as the service.

``ceiling_sealed_per_s``: in one process, with no HTTP and no framework, the per-contract
work sealing cannot avoid, done in batches of 1000 on a fresh instance's database with the
service's durability settings (SQLite WAL with ``synchronous=FULL``; PostgreSQL's defaults):

1. filing: SHA-256 of the document, canonical JSON of the terms and its SHA-256; one
   transaction inserts the contracts and stores the documents in the instance's blob store;
2. signatures: each role's signing payload (canonical JSON) and its verification with the
   enrolled key (Ed25519 for investors, ECDSA P-256 for borrowers); one transaction inserts
   the signatures and marks the contracts signed;
3. sealing: the evidence records (canonical JSON), their SHA-256 and leaf hashes appended
   with the service's own ``append_leaves`` and tree sink; one transaction, contracts sealed;
4. tokens: one RFC 3161 token per record from the embedded authority
   (:meth:`EmbeddedTSA.stamp`), plus a checkpoint and its token per batch; one transaction.

The parties' own signing is done before the clock starts. Each step's time per contract is
reported (``ceiling_us_per_contract``), with, for comparison, what checking one embedded
token costs (:func:`verify_timestamp`, which the service does and the ceiling does not).

``ceiling_durable_commits_per_s``: one writer's write transactions of one small row each,
one after another, on the same database with the same settings: what the disk's flush
allows. SQLite serialises writers across processes, so there it bounds all of the service's
write transactions together; a lifecycle contract needs three (filing and two signatures).

``empty_endpoint_per_s``: :mod:`bench.empty_app` under the same gunicorn command as
``notary serve`` and the same load generator as the lifecycle scenario.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from bench.instance import Instance, free_port
from bench.load import Connection, Meter, run_threads
from bench.population import resident_id


def _parties(rt: Any, key_dir: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    import random

    from notary.cli import party_tools
    from notary.services.access.platforms import add_platform
    from notary.services.ceremony.parties import Enrolment, enrol
    from notary.services.clock import now_text

    now = now_text(rt.clock)
    rng = random.Random(3)
    parties, keys = {}, {}
    with rt.db.write() as session:
        platform_id = add_platform(session, "Ceiling Lending", now=now).platform_id
        for role, algorithm in (("investor", "ed25519"), ("borrower", "p256")):
            key = party_tools.generate(key_dir / role, algorithm)
            body = party_tools.enrolment_body(
                key, folder=key_dir / role, platform_id=platform_id, name=role, id_number=resident_id(rng)
            )
            request = Enrolment(
                body["name"],
                body["id_number"],
                body["public_key"],
                body["proof"],
                identity_salt=body["identity_salt"],
            )
            parties[role] = enrol(
                session, rt.identity_secrets, platform_id=platform_id, request=request, now=now
            ).party
            keys[role] = key
    return platform_id, parties, keys


class _Steps:
    """Seconds spent in each step, summed over batches."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def timed(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return action()
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def _prepare(
    platform_id: str, parties: dict[str, Any], keys: dict[str, Any], count: int
) -> list[dict[str, Any]]:
    """Contracts as filed, with both parties' signatures made in advance (the parties' work)."""
    from notary.storage.ids import CONTRACT, new_id
    from notary.verify import payloads
    from notary.verify.canonical import canonical_json

    prepared = []
    for index in range(count):
        document = f"%PDF-1.4\n% ceiling contract {index}\n".encode() + b"x" * 2000
        terms = {
            "investor": parties["investor"].id,
            "borrower": parties["borrower"].id,
            "amount": f"{10000 + index}.00",
            "currency": "CNY",
            "annual_rate": "0.0800",
            "term_months": 12,
            "start_date": "2026-12-01",
            "sign_by": "2030-01-01T00:00:00.000Z",
        }
        contract_id = new_id(CONTRACT)
        signatures = {}
        for role in payloads.ROLES:
            payload = payloads.contract_payload(
                purpose=payloads.PURPOSE_SIGN,
                contract_id=contract_id,
                platform_id=platform_id,
                role=role,
                party_id=parties[role].id,
                document_sha256=hashlib.sha256(document).hexdigest(),
                terms_sha256=hashlib.sha256(canonical_json(terms)).hexdigest(),
            )
            signatures[role] = keys[role].sign(payload)
        prepared.append({"id": contract_id, "document": document, "terms": terms, "signatures": signatures})
    return prepared


def _batch(
    rt: Any, steps: _Steps, platform_id: str, parties: dict[str, Any], batch: list[dict[str, Any]]
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding
    from sqlalchemy import insert, update

    from notary.services.filing.terms import amount_in_fen
    from notary.services.tlog.sequencer import append_leaves
    from notary.storage.db import insert_new
    from notary.storage.models import Contract, RecordTimestamp, Signature, SignedCheckpoint, TsaChain
    from notary.storage.tree import TreeSink, tree_state
    from notary.verify import payloads
    from notary.verify.canonical import canonical_json
    from notary.verify.encoding import b64encode
    from notary.verify.keys import PublicKey
    from notary.verify.note import Checkpoint

    now = payloads.format_time(rt.clock())

    def filing() -> list[dict[str, Any]]:
        rows, documents = [], []
        for item in batch:
            document_sha256 = hashlib.sha256(item["document"]).hexdigest()
            terms_json = canonical_json(item["terms"])
            documents.append((document_sha256, item["document"]))
            rows.append(
                {
                    "id": item["id"], "platform_id": platform_id, "investor_id": parties["investor"].id,
                    "borrower_id": parties["borrower"].id, "status": "awaiting_signatures",
                    "document_sha256": document_sha256, "document_size": len(item["document"]),
                    "media_type": "application/pdf", "terms_json": terms_json,
                    "terms_sha256": hashlib.sha256(terms_json).hexdigest(),
                    "amount_fen": amount_in_fen(item["terms"]["amount"]),
                    "start_date": item["terms"]["start_date"],
                    "currency": item["terms"]["currency"],
                    "request_sha256": document_sha256, "received_at": now, "deadline": item["terms"]["sign_by"],
                }
            )  # fmt: skip
        with rt.db.write() as session:
            rt.blobs.put_many(session, documents)
            session.execute(insert(Contract), rows)
        return rows

    contracts = steps.timed("filing", filing)

    def signatures() -> list[dict[str, Any]]:
        rows = []
        for item, contract in zip(batch, contracts, strict=True):
            for role in payloads.ROLES:
                party = parties[role]
                payload = payloads.contract_payload(
                    purpose=payloads.PURPOSE_SIGN, contract_id=contract["id"], platform_id=platform_id,
                    role=role, party_id=party.id, document_sha256=contract["document_sha256"],
                    terms_sha256=contract["terms_sha256"],
                )  # fmt: skip
                stored = PublicKey.from_der(party.public_key_der).verify(item["signatures"][role], payload)
                rows.append(
                    {
                        "contract_id": contract["id"], "role": role, "purpose": payloads.PURPOSE_SIGN,
                        "party_id": party.id, "algorithm": party.algorithm,
                        "key_fingerprint": party.key_fingerprint, "identity_commitment": party.identity_commitment,
                        "enrolment_proof": party.enrol_proof,
                        "identity_assurance": "platform", "signature": stored,
                        "submitted_sha256": hashlib.sha256(item["signatures"][role]).hexdigest(), "signed_at": now,
                    }
                )  # fmt: skip
        with rt.db.write() as session:
            session.execute(insert(Signature), rows)
            session.execute(
                update(Contract)
                .where(Contract.id.in_([c["id"] for c in contracts]))
                .values(status="signed", signed_at=now)
            )
        return rows

    signature_rows = steps.timed("signatures", signatures)

    def sealing() -> list[Any]:
        by_contract: dict[str, dict[str, Any]] = {}
        for row in signature_rows:
            by_contract.setdefault(row["contract_id"], {})[row["role"]] = payloads.record_signature_v2(
                party_id=row["party_id"], key_fingerprint=row["key_fingerprint"],
                identity_commitment=row["identity_commitment"], identity_assurance=row["identity_assurance"],
                algorithm=row["algorithm"], signature_base64=b64encode(row["signature"]), signed_at=now,
                enrolment_proof_base64=None if row["enrolment_proof"] is None else b64encode(row["enrolment_proof"]),
            )  # fmt: skip

        def builder(contract: dict[str, Any]) -> Callable[[int, str], bytes]:
            return lambda sequence, previous: payloads.evidence_record(
                sequence=sequence, previous_record_sha256=previous, contract_id=contract["id"],
                platform_id=platform_id, document_sha256=contract["document_sha256"],
                document_size=contract["document_size"], media_type=contract["media_type"],
                terms_sha256=contract["terms_sha256"], signatures=by_contract[contract["id"]],
                received_at=now, sealed_at=now, record_format=payloads.RECORD_FORMAT_V2,
            )  # fmt: skip

        builders = [(payloads.RECORD_FORMAT_V2, c["id"], builder(c)) for c in contracts]
        with rt.db.write() as session:
            leaves = append_leaves(session, builders, created_at=now, sinks=[TreeSink()])
            session.execute(
                update(Contract),
                [{"id": c["id"], "status": "sealed", "closed_at": now, "record_sequence": leaf.sequence}
                 for c, leaf in zip(contracts, leaves, strict=True)],
            )  # fmt: skip
        return leaves

    leaves = steps.timed("sealing", sealing)

    def tokens() -> None:
        tsa = rt.embedded_tsa
        chain = b"".join(c.public_bytes(Encoding.PEM) for c in (tsa.certificate, *tsa.chain))
        chain_sha256 = hashlib.sha256(chain).hexdigest()
        rows = []
        for leaf in leaves:
            issued = tsa.issue(hashlib.sha256(leaf.record).digest(), nonce=leaf.sequence + 1)
            rows.append({
                "sequence": leaf.sequence, "authority": "embedded", "response": issued.response,
                "chain_sha256": chain_sha256, "gen_time": payloads.format_time(issued.gen_time),
                "serial": format(issued.serial_number, "x"), "stamped_at": now,
            })  # fmt: skip
        with rt.db.write() as session:
            insert_new(
                session, TsaChain, [{"sha256": chain_sha256, "pem": chain.decode("ascii")}], ["sha256"]
            )
            session.execute(insert(RecordTimestamp), rows)
            size, root = tree_state(session)
            checkpoint = Checkpoint(rt.log_signer.name, size, root)
            note = rt.log_signer.sign_checkpoint(checkpoint)
            tsa.stamp(hashlib.sha256(checkpoint.body).digest(), nonce=size)
            session.add(
                SignedCheckpoint(
                    tree_size=size, root_hash=root, note=note, origin=rt.log_signer.name,
                    key_hash=rt.log_signer.key_hash.hex(), signed_at=now,
                )
            )  # fmt: skip

    steps.timed("tokens", tokens)


def _token_check_us(rt: Any, runs: int = 200) -> float:
    from notary.verify.timestamp.verifier import verify_timestamp

    tsa = rt.embedded_tsa
    digest = hashlib.sha256(b"ceiling").digest()
    response = tsa.stamp(digest, nonce=7)
    started = time.perf_counter()
    for _ in range(runs):
        verify_timestamp(response, digest=digest, nonce=7, trust_roots=tsa.roots, intermediates=())
    return (time.perf_counter() - started) / runs * 1e6


def durable_commits(db: Any, seconds: float = 2.0) -> dict[str, Any]:
    """Serial write transactions of one small row each, on ``db`` with the service's settings.

    Each is a whole write transaction as the service runs it (``BEGIN IMMEDIATE`` on SQLite),
    so the rate is what the disk's flush allows one writer at a time. SQLite serialises its
    writers, so on SQLite this bounds every process's write transactions together.
    """
    from sqlalchemy import text

    with db.write() as session:
        session.execute(text("CREATE TABLE bench_commit_probe (id INTEGER PRIMARY KEY, data BYTEA)"))
    times: list[float] = []
    began = time.perf_counter()
    try:
        stop_at = began + seconds
        while time.perf_counter() < stop_at or len(times) < 20:
            started = time.perf_counter()
            with db.write() as session:
                session.execute(
                    text("INSERT INTO bench_commit_probe (id, data) VALUES (:id, :data)"),
                    {"id": len(times), "data": os.urandom(512)},
                )
            times.append(time.perf_counter() - started)
        elapsed = time.perf_counter() - began
    finally:
        with db.write() as session:
            session.execute(text("DROP TABLE bench_commit_probe"))
    times.sort()
    return {
        "ceiling_durable_commits_per_s": round(len(times) / elapsed, 1),
        "durable_commit_p50_ms": round(times[len(times) // 2] * 1000, 2),
        "durable_commit_p90_ms": round(times[int(len(times) * 0.9)] * 1000, 2),
    }


def sealed_ceiling(database_url: str, contracts: int) -> dict[str, Any]:
    """The in-process sealing ceiling on a fresh instance; returns its figures."""
    from notary.config import Settings
    from notary.runtime import Runtime

    instance = Instance.create("ceiling", database_url)
    rt = Runtime(Settings.load({}, instance_path=instance.path, database_url=database_url))
    try:
        platform_id, parties, keys = _parties(rt, instance.path.parent / "parties")
        prepared = _prepare(platform_id, parties, keys, contracts)
        steps = _Steps()
        started = time.perf_counter()
        for start in range(0, contracts, 1000):
            _batch(rt, steps, platform_id, parties, prepared[start : start + 1000])
        wall = time.perf_counter() - started
        return {
            **durable_commits(rt.db),
            "ceiling_sealed_per_s": round(contracts / wall, 1),
            "ceiling_contracts": contracts,
            "ceiling_us_per_contract": {
                name: round(seconds / contracts * 1e6, 1) for name, seconds in steps.seconds.items()
            },
            "token_check_us": round(_token_check_us(rt), 1),
        }
    finally:
        rt.close()
        instance.remove()


def empty_endpoint(seconds: float, threads: int, server: str = "") -> dict[str, Any]:
    """Requests per second to :mod:`bench.empty_app` under ``notary serve``'s gunicorn command,
    or under another ``server`` of :mod:`bench.servers`."""
    from bench.servers import web_command
    from notary.cli.instance import gunicorn_command
    from notary.config import Settings

    port = free_port()
    if server:
        command = web_command(server, "bench.empty_app:app", host="127.0.0.1", port=port)
    else:
        web_threads = int(os.environ.get("NOTARY_WEB_THREADS", Settings().web_threads))
        command = gunicorn_command(
            "bench.empty_app:app", host="127.0.0.1", port=port, workers=2, threads=web_threads
        )
    server_process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        probe = Connection("127.0.0.1", port, timeout=5)
        deadline = time.monotonic() + 30
        while True:
            try:
                probe.request("GET", "/")
                break
            except OSError:
                if server_process.poll() is not None:
                    raise RuntimeError(f"the bare endpoint's server exited: {' '.join(command)}") from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        from bench import procs

        meter = Meter(lambda: [server_process.pid, *(p.pid for p in procs.descendants(server_process.pid))])
        done = [0] * threads
        stop_at = time.perf_counter() + seconds

        def client(index: int) -> None:
            conn = Connection("127.0.0.1", port)
            while time.perf_counter() < stop_at:
                conn.request("GET", "/")
                done[index] += 1

        meter.start()
        run_threads(threads, client)
        usage = meter.stop()
        return {
            "empty_endpoint_per_s": round(sum(done) / usage.wall, 1),
            "empty_endpoint_service_cpu_us": round(usage.service_cpu / max(1, sum(done)) * 1e6, 1),
            "empty_endpoint_usage": usage.shares(),
        }
    finally:
        server_process.terminate()
        server_process.wait(timeout=20)


def run_ceilings(plan: Any, database_url: str, say: Callable[[str], None]) -> dict[str, Any]:
    figures = sealed_ceiling(database_url, plan.ceiling_contracts)
    say(f"ceiling: {figures['ceiling_sealed_per_s']}/s sealed in one process")
    say(f"durable commits: {figures['ceiling_durable_commits_per_s']}/s, one writer")
    figures.update(empty_endpoint(2 if plan.quick else 10, threads=8))
    say(f"empty endpoint: {figures['empty_endpoint_per_s']}/s")
    return figures
