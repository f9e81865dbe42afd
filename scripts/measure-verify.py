"""Measure how long verifying a genuine evidence bundle takes in process, and a cold `notary verify`.

    .venv/bin/python scripts/measure-verify.py [--runs 200] [--warmup 20]

The bundle is made from real parts (tests/support/evidence.py: the embedded timestamp
authority, the log's note signer, a Merkle log of 8 records, two checkpoint timestamps). Prints
the median and 90th percentile of wall-clock and CPU time of ``verify_bundle`` over ``--runs``
calls after a warm-up, without and with a trust file, with a newer checkpoint and its
consistency proof; then the wall time of a whole `notary verify` process (interpreter start
and imports included), median of 5.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notary.verify.evidence.verifier import verify_bundle  # noqa: E402
from notary.verify.trust import INTEGRITY_ONLY  # noqa: E402
from tests.support.evidence import SampleLog, SampleNotary  # noqa: E402


def timed(action: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(runs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        action()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return wall, cpu


def summary(name: str, wall: list[float], cpu: list[float]) -> str:
    def p90(values: list[float]) -> float:
        return statistics.quantiles(values, n=10)[8] * 1000

    return (
        f"{name:<40} wall median {statistics.median(wall) * 1000:6.2f} ms  p90 {p90(wall):6.2f} ms   "
        f"cpu median {statistics.median(cpu) * 1000:6.2f} ms  p90 {p90(cpu):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        notary = SampleNotary.create(folder / "keys")
        log = SampleLog(notary, 8)
        bundle = log.bundle(3, 5, checkpoint_tokens=2)
        trust = notary.trust()
        newer, proof = log.checkpoint(8), log.consistency(5, 8)
        cases: dict[str, Callable[[], object]] = {
            "verify_bundle --integrity-only": lambda: verify_bundle(bundle, trust=INTEGRITY_ONLY),
            "verify_bundle --trust": lambda: verify_bundle(bundle, trust=trust),
            "verify_bundle --trust + consistency": lambda: verify_bundle(
                bundle, trust=trust, newer_checkpoint=newer, consistency_proof=proof
            ),
        }
        assert all(action().valid for action in cases.values())  # type: ignore[attr-defined]
        print(f"bundle: {len(bundle)} bytes; {args.runs} runs after {args.warmup} warm-up runs")
        for name, action in cases.items():
            timed(action, args.warmup)
            print(summary(name, *timed(action, args.runs)))

        (folder / "bundle.zip").write_bytes(bundle)
        (folder / "trust.json").write_text(json.dumps(trust.to_dict()))
        command = [
            sys.executable,
            "-m",
            "notary.cli",
            "verify",
            str(folder / "bundle.zip"),
            "--integrity-only",
        ]
        command += ["--trust", str(folder / "trust.json")]
        cold = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT)  # noqa: S603
            cold.append(time.perf_counter() - start)
        print(
            f"{'notary verify --trust (a whole process)':<40} wall median {statistics.median(cold) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
