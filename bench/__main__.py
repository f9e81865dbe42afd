"""``python -m bench``: run the benchmark and print one JSON object as the last line.

    python -m bench [--quick] [--database sqlite|postgresql] [--database-url URL]
                    [--only sealed,lifecycle,evidence,webhooks,proofs,ceilings,witnesses,transparency,backup]
                    [--only servers [--servers sync,gthread,waitress,granian]]
                    [--only lingers [--lingers 0,5,20,50,100]]
                    [--profile DIR]

``NOTARY_BENCH_QUICK=1`` is ``--quick``; ``NOTARY_BENCH_DATABASE=postgresql`` starts a
throwaway PostgreSQL cluster; ``NOTARY_BENCH_DATABASE_URL`` uses an existing server (the
benchmark creates and drops databases of its own there). Progress goes to stderr.
See docs/benchmark.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from typing import Any

from bench import procs
from bench.run import Plan, run


def _parse(argv: list[str]) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("NOTARY_BENCH_QUICK") == "1")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default=os.environ.get("NOTARY_BENCH_DATABASE", "sqlite"),
    )
    parser.add_argument("--database-url", default=os.environ.get("NOTARY_BENCH_DATABASE_URL", ""))
    parser.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    parser.add_argument("--contracts", type=int, help="contracts in the sealed scenario")
    parser.add_argument(
        "--webhook-contracts", type=int, help="contracts in each of the webhooks scenario's runs"
    )
    parser.add_argument("--lifecycle-seconds", type=float)
    parser.add_argument("--proof-leaves", type=int)
    parser.add_argument("--ceiling-contracts", type=int)
    parser.add_argument("--proof-requests", type=int)
    parser.add_argument("--transparency-contracts", type=int, help="contracts of the big platform (10^6)")
    parser.add_argument(
        "--backup-contracts", type=int, help="sealed contracts in the backup's instance (10^5)"
    )
    parser.add_argument("--document-bytes", type=int, default=2048)
    parser.add_argument("--signatures", choices=["auto", "batch", "single"], default="auto")
    parser.add_argument(
        "--servers",
        default="",
        help="the servers scenario's servers (default: sync,gthread,waitress,granian)",
    )
    parser.add_argument(
        "--lingers", default="", help="the lingers scenario's worker lingers in ms (default: 0,5,20,50,100)"
    )
    parser.add_argument("--profile", default="", help="record py-spy profiles of the service into DIR")
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile: sample only threads holding the GIL (Python's own CPU; no waits)",
    )
    args = parser.parse_args(argv)
    database = "postgresql" if args.database_url else args.database
    return Plan(
        quick=args.quick,
        database=database,
        database_url=args.database_url,
        only=frozenset(filter(None, args.only.split(","))),
        contracts=args.contracts or (1000 if args.quick else 20000),
        lifecycle_seconds=args.lifecycle_seconds or (5.0 if args.quick else 40.0),
        proof_leaves=args.proof_leaves or (10**5 if args.quick else 10**6),
        ceiling_contracts=args.ceiling_contracts or (1000 if args.quick else 10000),
        proof_requests=args.proof_requests or (300 if args.quick else 2000),
        document_bytes=args.document_bytes,
        signatures=args.signatures,
        profile_dir=args.profile,
        profile_gil=args.profile_gil,
        webhook_contracts=args.webhook_contracts or (1000 if args.quick else 5000),
        transparency_contracts=args.transparency_contracts or (10**5 if args.quick else 10**6),
        servers=frozenset(filter(None, args.servers.split(","))),
        lingers=tuple(int(ms) for ms in filter(None, args.lingers.split(","))),
        backup_contracts=args.backup_contracts or (10**4 if args.quick else 10**5),
    )


def main(argv: list[str] | None = None) -> int:
    plan = _parse(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    figures: dict[str, Any] = {
        "database": plan.database,
        "quick": plan.quick,
        "cpus": procs.cpu_count(),
        "load_average_start": [round(value, 2) for value in procs.load_average()],
        "python": platform.python_version(),
        "fsync_ms_start": procs.fsync_ms(tempfile.gettempdir()),
        "cpu_calibration_ms_start": procs.calibration_ms(),
    }
    figures.update(run(plan))
    figures["fsync_ms_end"] = procs.fsync_ms(tempfile.gettempdir())
    figures["cpu_calibration_ms_end"] = procs.calibration_ms()
    figures["load_average_end"] = [round(value, 2) for value in procs.load_average()]
    figures["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
