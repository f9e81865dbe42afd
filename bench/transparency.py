"""Platform figures at 10^6 contracts, and the 核验 privacy timing.

A fresh instance gets one big platform (``--transparency-contracts``, 10^6 by default, 10^5
quick) and nine small ones of 1,000 contracts each, inserted straight into the database
(statuses, amounts, start dates and filing times spread over three years; parties enrolled
through the API), then ``ANALYZE``. Timed in this process, each the median of several runs:

- ``transparency_count_ms``: the machine's ceiling, ``count(*)`` of the big platform's
  contracts over its index;
- ``transparency_one_ms`` / ``transparency_all_ms``: every figure of the big platform / of
  every platform (:func:`notary.services.transparency.figures.platform_figures`), and each
  statement alone (``transparency_statement_ms``);
- ``transparency_api_ms``: ``GET /api/v1/platforms/{id}/transparency`` through the app (the
  minute's cache off), notices included.

Then the privacy rule of ``POST /me/check``: a key holder with 20 contracts asks 200 times
about somebody else's document and 200 times about a document nobody filed, interleaved,
through the app in this process (no network noise): ``check_other_ms`` and
``check_never_ms`` are the medians, with the quartiles, and ``check_same_bytes`` says whether
every answer was the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.instance import Instance

SMALL_PLATFORMS = 9
SMALL_CONTRACTS = 1000
CALLER_CONTRACTS = 20
CHUNK = 20000
STATUSES = (
    ("sealed", 0.80),
    ("declined", 0.05),
    ("expired", 0.05),
    ("awaiting_signatures", 0.06),
    ("signed", 0.04),
)


def _median_ms(action: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def _enrol(client: Any, token: str, platform_id: str, key_dir: Path, name: str, seed: int) -> tuple[str, Any]:
    from bench.population import resident_id
    from notary.cli import party_tools

    folder = key_dir / name
    key = party_tools.generate(folder, "ed25519")
    body = party_tools.enrolment_body(
        key, folder=folder, platform_id=platform_id, name=name, id_number=resident_id(random.Random(seed))
    )
    answer = client.post("/api/v1/parties", json=body, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"enrolment failed: {answer.get_json()}")
    return str(answer.get_json()["party_id"]), key


def _contract_rows(
    rng: random.Random,
    platform_id: str,
    parties: list[tuple[str, str]],
    count: int,
    now: dt.datetime,
    start: int,
) -> list[dict[str, Any]]:
    from notary.storage.ids import CONTRACT, ulid
    from notary.verify.canonical import canonical_json
    from notary.verify.payloads import format_time

    rows = []
    statuses = [status for status, _ in STATUSES]
    weights = [weight for _, weight in STATUSES]
    for index in range(start, start + count):
        investor, borrower = parties[index % len(parties)]
        filed = now - dt.timedelta(seconds=rng.randrange(3 * 365 * 86400))
        start_date = (
            (filed + dt.timedelta(hours=8) - dt.timedelta(days=rng.randrange(0, 30))).date().isoformat()
        )
        fen = rng.randrange(100000, 100000000)
        terms = {
            "amount": f"{fen // 100}.{fen % 100:02d}", "annual_rate": "0.0800", "borrower": borrower,
            "currency": "CNY", "investor": investor, "start_date": start_date, "term_months": 12,
        }  # fmt: skip
        terms_json = canonical_json(terms)
        document = hashlib.sha256(f"{platform_id} contract {index}".encode()).hexdigest()
        rows.append(
            {
                "id": CONTRACT + ulid(int(filed.timestamp() * 1000)), "platform_id": platform_id,
                "investor_id": investor, "borrower_id": borrower,
                "status": rng.choices(statuses, weights)[0], "document_sha256": document,
                "document_size": 1000, "media_type": "application/pdf", "terms_json": terms_json,
                "terms_sha256": hashlib.sha256(terms_json).hexdigest(), "amount_fen": fen,
                "start_date": start_date, "currency": "CNY", "request_sha256": document,
                "received_at": format_time(filed), "deadline": format_time(filed + dt.timedelta(days=7)),
            }
        )  # fmt: skip
    return rows


def _populate(
    rt: Any, client: Any, instance: Instance, contracts: int, say: Callable[[str], None]
) -> dict[str, Any]:
    from sqlalchemy import insert

    from notary.storage.models import Contract

    rng = random.Random(18)
    now = rt.clock()
    keys = instance.path.parent / "transparency-keys"
    platforms = []
    for index in range(1 + SMALL_PLATFORMS):
        new = rt.platforms.add(f"Bench Platform {index}")
        platforms.append((new.platform_id, new.token))
    big, big_token = platforms[0]
    pairs = []
    for index in range(10):
        investor, _ = _enrol(client, big_token, big, keys, f"investor-{index}", 100 + index)
        borrower, _ = _enrol(client, big_token, big, keys, f"borrower-{index}", 200 + index)
        pairs.append((investor, borrower))
    caller_party, caller_key = _enrol(client, big_token, big, keys, "caller", 300)
    started = time.perf_counter()
    done = 0
    while done < contracts:
        count = min(CHUNK, contracts - done)
        rows = _contract_rows(rng, big, pairs, count, now, done)
        if done == 0:
            # The caller's own contracts: the first rows, with the caller as investor.
            for row in rows[:CALLER_CONTRACTS]:
                row["investor_id"] = caller_party
        with rt.db.write() as session:
            session.execute(insert(Contract), rows)
        done += count
        if done % 200000 == 0:
            say(f"transparency: {done} contracts inserted")
    for platform_id, token in platforms[1:]:
        small_pairs = [
            (_enrol(client, token, platform_id, keys, f"{platform_id}-i", 400)[0],
             _enrol(client, token, platform_id, keys, f"{platform_id}-b", 500)[0])
        ]  # fmt: skip
        with rt.db.write() as session:
            session.execute(
                insert(Contract), _contract_rows(rng, platform_id, small_pairs, SMALL_CONTRACTS, now, 0)
            )
    insert_s = time.perf_counter() - started
    with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if rt.db.engine.dialect.name == "postgresql" else "ANALYZE")
    other_document = hashlib.sha256(f"{big} contract {CALLER_CONTRACTS + 5}".encode()).hexdigest()
    return {
        "big": big,
        "caller_key": caller_key,
        "other_document": other_document,
        "insert_s": round(insert_s, 1),
    }


def _time_figures(rt: Any, client: Any, big: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from notary.services.transparency import figures as figures_module
    from notary.storage.models import Contract
    from notary.verify.payloads import format_time

    now = format_time(rt.clock())
    count = select(func.count()).select_from(Contract).where(Contract.platform_id == big)

    def read(action: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with rt.db.read() as session:
                return action(session)

        return run

    result: dict[str, Any] = {
        "transparency_count_ms": _median_ms(read(lambda s: s.execute(count).scalar_one()), 5),
        "transparency_one_first_ms": _median_ms(
            read(lambda s: figures_module.platform_figures(s, now=now, platform_id=big)), 1
        ),
        "transparency_one_ms": _median_ms(
            read(lambda s: figures_module.platform_figures(s, now=now, platform_id=big)), 5
        ),
        "transparency_all_ms": _median_ms(read(lambda s: figures_module.platform_figures(s, now=now)), 3),
    }
    statements = figures_module._QUERIES[True]
    parameters = {"platform_id": big, "now": now}
    result["transparency_statement_ms"] = {
        name: _median_ms(read(lambda s, q=query: s.execute(q, parameters).all()), 3)
        for name, query in statements.items()
    }
    since = format_time(rt.clock() - dt.timedelta(days=90))
    result["transparency_statement_ms"]["usual_gap"] = _median_ms(
        read(lambda s: figures_module.usual_gap_days(s, big, since)), 3
    )
    result["transparency_api_ms"] = _median_ms(
        lambda: client.get(f"/api/v1/platforms/{big}/transparency").get_json(), 3
    )
    result["transparency_vs_count"] = round(
        result["transparency_one_ms"] / max(result["transparency_count_ms"], 0.01), 1
    )
    return result


def _time_checks(client: Any, key: Any, other_document: str, tries: int) -> dict[str, Any]:
    from notary.verify import payloads
    from notary.verify.encoding import b64encode

    fingerprint = key.public.fingerprint
    challenge = client.post("/api/v1/auth/challenge", json={"key_fingerprint": fingerprint}).get_json()
    payload = payloads.login_payload(
        challenge_base64=challenge["challenge_base64"], key_fingerprint=fingerprint
    )
    token = client.post(
        "/api/v1/auth/token",
        json={"key_fingerprint": fingerprint, "challenge_base64": challenge["challenge_base64"],
              "signature": b64encode(key.sign(payload))},
    ).get_json()["token"]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    never = hashlib.sha256(b"a document nobody filed").hexdigest()
    times: dict[str, list[float]] = {"other": [], "never": []}
    bodies: set[bytes] = set()
    for _ in range(20):  # warm both paths alike
        for digest in (other_document, never):
            client.post("/api/v1/me/check", json={"document_sha256": digest}, headers=headers)
    for index in range(tries * 2):
        name, digest = (("other", other_document), ("never", never))[index % 2]
        started = time.perf_counter()
        answer = client.post("/api/v1/me/check", json={"document_sha256": digest}, headers=headers)
        times[name].append(time.perf_counter() - started)
        bodies.add(answer.get_data())

    def quartiles(values: list[float]) -> list[float]:
        q = statistics.quantiles(values, n=4)
        return [round(q[0] * 1000, 3), round(q[2] * 1000, 3)]

    other_ms = statistics.median(times["other"]) * 1000
    never_ms = statistics.median(times["never"]) * 1000
    return {
        "check_tries": tries,
        "check_other_ms": round(other_ms, 3),
        "check_never_ms": round(never_ms, 3),
        "check_other_iqr_ms": quartiles(times["other"]),
        "check_never_iqr_ms": quartiles(times["never"]),
        "check_median_difference_ms": round(other_ms - never_ms, 3),
        "check_same_bytes": len(bodies) == 1,
    }


def run_transparency(plan: Any, database_url: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Populate, time the figures and the checks; returns the figures."""
    from notary.app import create_app
    from notary.config import Settings
    from notary.runtime import Runtime

    instance = Instance.create("transparency", database_url)
    settings = Settings.load({}, instance_path=instance.path, database_url=database_url, transparency_cache=0)
    rt = Runtime(settings, web=True)
    try:
        client = create_app(runtime=rt).test_client()
        say(f"transparency: inserting {plan.transparency_contracts} contracts")
        built = _populate(rt, client, instance, plan.transparency_contracts, say)
        figures: dict[str, Any] = {
            "transparency_contracts": plan.transparency_contracts,
            "transparency_insert_s": built["insert_s"],
        }
        figures.update(_time_figures(rt, client, built["big"]))
        say(
            f"transparency: one platform {figures['transparency_one_ms']} ms, all {figures['transparency_all_ms']} ms"
        )
        figures.update(_time_checks(client, built["caller_key"], built["other_document"], 200))
        say(f"checks: other {figures['check_other_ms']} ms, never filed {figures['check_never_ms']} ms")
        return figures
    finally:
        rt.close()
        instance.remove()
