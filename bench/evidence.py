"""What a person gets: the certificate PDF over HTTP, and the offline check of a bundle.

``certificate_ms``: the first ``GET /contracts/{id}/certificate`` of a sealed contract (the
PDF is made, signed, timestamped and stored then), median over a few contracts; the
second fetch of the same certificate is ``certificate_again_ms``. ``verify_ms``:
:func:`notary.verify.evidence.verifier.verify_bundle` in this process on a bundle downloaded with
``GET /contracts/{id}/evidence``, with the service's trust file, median of a few runs.
Where the service lacks a route, the figure is null.

``certificate_render_ms``: the PDF alone (layout, fonts, PDF/A), in this process, from the facts
the service stored for the first certificate: what ``certificate_ms`` spends outside the
request, the signature and its timestamp. ``certificate_render_rare_first_ms`` is the same
facts with party names only the fallback faces draw (``𠮷田太郎``, ``王𫝀``), the first time in
this process (HanaMin registered then), ``certificate_render_rare_ms`` the median after.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.load import Connection, RequestFailed
from bench.population import Population
from bench.progress import CERTIFICATE_PATH, EVIDENCE_PATH, ReadyCheck


def _sealed_contracts(conn: Connection, population: Population, count: int, tag: str) -> list[str]:
    ids = []
    for index in range(count):
        filed = conn.json(
            "POST",
            "/api/v1/contracts",
            raw=population.filing_body(index, tag, 4096),
            token=population.token,
            expect=(201,),
        )
        for role in ("investor", "borrower"):
            body = {"role": role, "signature": population.sign(filed, role)}
            conn.json("POST", f"/api/v1/contracts/{filed['contract_id']}/signatures", body, expect=(200,))
        ids.append(filed["contract_id"])
    check = ReadyCheck(conn, population.token, evidence_route=False)
    deadline = time.monotonic() + 60
    for contract_id in ids:
        while not check.ready(contract_id):
            if time.monotonic() > deadline:
                raise TimeoutError("the evidence contracts did not become ready")
            time.sleep(0.05)
    return ids


def _timed_get(conn: Connection, path: str, token: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    answer = conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    if answer.status != 200:
        raise RequestFailed(f"GET {path}: {answer.status} {answer.body[:200]!r}")
    return elapsed, answer.body


def _render_figures(db: Any, contract_id: str, count: int) -> dict[str, Any]:
    import dataclasses

    from notary.services.evidence.pdf import facts_from_json, render_certificate
    from notary.storage.models import IssuedCertificate

    with db.read() as session:
        issued = session.get(IssuedCertificate, contract_id)
        if issued is None:
            return {}
        facts = facts_from_json(issued.facts)
    rare = dataclasses.replace(
        facts,
        investor=dataclasses.replace(facts.investor, name="𠮷田太郎"),
        borrower=dataclasses.replace(facts.borrower, name="王𫝀"),
    )

    def timed(which: Any) -> float:
        started = time.perf_counter()
        render_certificate(which)
        return time.perf_counter() - started

    timed(facts)  # this process's first certificate registers WenQuanYi: not part of the figure
    plain = [timed(facts) for _ in range(count)]
    first_rare = timed(rare)
    rare_times = [timed(rare) for _ in range(count)]
    return {
        "certificate_render_ms": round(statistics.median(plain) * 1000, 1),
        "certificate_render_rare_first_ms": round(first_rare * 1000, 1),
        "certificate_render_rare_ms": round(statistics.median(rare_times) * 1000, 1),
    }


def run_evidence(
    conn: Connection,
    population: Population,
    paths: set[str],
    *,
    tag: str,
    count: int = 5,
    db: Any = None,
) -> dict[str, Any]:
    """Time certificates and offline verification; returns the figures."""
    figures: dict[str, Any] = {"certificate_ms": None, "verify_ms": None}
    has_certificate, has_evidence = CERTIFICATE_PATH in paths, EVIDENCE_PATH in paths
    if not (has_certificate or has_evidence):
        return figures
    ids = _sealed_contracts(conn, population, count, tag)
    if has_certificate:
        first, again = [], []
        for contract_id in ids:
            path = CERTIFICATE_PATH.format(contract_id=contract_id)
            elapsed, pdf = _timed_get(conn, path, population.token)
            first.append(elapsed)
            again.append(_timed_get(conn, path, population.token)[0])
        figures["certificate_ms"] = round(statistics.median(first) * 1000, 1)
        figures["certificate_again_ms"] = round(statistics.median(again) * 1000, 1)
        figures["certificate_bytes"] = len(pdf)
        if db is not None:
            figures.update(_render_figures(db, ids[0], count))
    if has_evidence:
        try:
            from notary.verify.evidence.verifier import verify_bundle
            from notary.verify.trust import TrustFile
        except ImportError:
            return figures
        trust = TrustFile.from_json(conn.request("GET", "/api/v1/trust").body)
        _, bundle = _timed_get(conn, EVIDENCE_PATH.format(contract_id=ids[0]), population.token)
        times = []
        for _ in range(count):
            started = time.perf_counter()
            report = verify_bundle(bundle, trust=trust)
            times.append(time.perf_counter() - started)
            if not report.valid:
                raise RequestFailed(f"the downloaded bundle does not verify: {report}")
        figures["verify_ms"] = round(statistics.median(times) * 1000, 1)
        figures["bundle_bytes"] = len(bundle)
    return figures
