"""Measure how long a signed evidence certificate takes, and where the time goes.

    .venv/bin/python scripts/measure-certificate.py [--runs 30]

Keys are loaded once, the signer is built once and the timestamp authority is called in
process (the embedded authority, notary.signing.tsa), as the service does with its
embedded authority. Prints the median and 90th percentile of wall-clock and CPU time over
``--runs`` certificates after a warm-up; CPU time is what the machine spends on one
certificate, wall time also counts anything else running on it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notary.services.evidence.pdf import CertificateSigner, issue_certificate, render_certificate  # noqa: E402
from notary.services.evidence.pdf.fonts import certificate_fonts  # noqa: E402
from notary.signing.tsa import EmbeddedTSA  # noqa: E402
from tests.support.certificate_facts import sample_facts  # noqa: E402
from tests.support.certificate_pki import make_keys  # noqa: E402


def timed(action: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        action()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return wall, cpu


def summary(name: str, wall: list[float], cpu: list[float]) -> str:
    def ms(values: list[float], q: int) -> str:
        return f"{statistics.quantiles(values, n=10)[q - 1] * 1000:6.1f}" if q else ""

    return (
        f"{name:<34} wall median {statistics.median(wall) * 1000:6.1f} ms  p90 {ms(wall, 9)} ms   "
        f"cpu median {statistics.median(cpu) * 1000:6.1f} ms  p90 {ms(cpu, 9)} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    certificate_fonts()
    print(f"font registration (once per process): {(time.perf_counter() - started) * 1000:.0f} ms")

    with tempfile.TemporaryDirectory() as scratch:
        keys = make_keys(Path(scratch) / "keys")
    tsa = EmbeddedTSA.from_instance_keys(keys)
    tsa_wall: list[float] = []

    def respond(request_der: bytes) -> bytes:
        start = time.perf_counter()
        try:
            return tsa.respond(request_der)
        finally:
            tsa_wall.append(time.perf_counter() - start)

    signer = CertificateSigner(
        signer_key=keys.notary_key, signer_cert=keys.notary_cert, chain=keys.notary_chain, timestamper=respond
    )
    facts = sample_facts()
    unsigned = render_certificate(facts)

    def whole() -> object:
        return issue_certificate(facts, signer)

    for _ in range(args.warmup):
        whole()
    tsa_wall.clear()
    results = [
        ("render (unsigned PDF)", *timed(lambda: render_certificate(facts), args.runs)),
        ("sign (PAdES + timestamp)", *timed(lambda: signer.sign(unsigned), args.runs)),
    ]
    tsa_in_sign = list(tsa_wall)
    results.append(("render + sign + sha256 (issue)", *timed(whole, args.runs)))
    for name, wall, cpu in results:
        print(summary(name, wall, cpu))
    print(
        f"{'  of sign: timestamp authority':<34} wall median {statistics.median(tsa_in_sign) * 1000:6.1f} ms"
        f"  ({len(tsa_in_sign)} calls, one per signature)"
    )
    print(f"PDF size: unsigned {len(unsigned)} bytes, signed {len(whole().pdf)} bytes")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
