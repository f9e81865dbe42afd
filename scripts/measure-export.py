"""Measure the case export: bundles per second, and memory at 10^3 against 10^4 bundles.

    .venv/bin/python scripts/measure-export.py [--counts 1000 10000] [--postgres] [--verify]

Makes a throwaway instance (SQLite, or a throwaway PostgreSQL cluster with ``--postgres``),
then for each count a platform with that many contracts (filed through the service, signed in
bulk: tests/support/bulk.py) sealed, stamped by the embedded timestamp authority and
checkpointed through the runtime, and an approved case over that platform. Each export then
runs in a fresh process (so that its peak RSS is its own), writing the zip to a file:

- timed run: wall time, bundles/s, bytes, and the process's peak RSS (``VmHWM``: the high-water
  mark of its own memory map) against its RSS just before the export (runtime built, keys
  loaded, the database opened);
- a second run under ``tracemalloc``: the peak of memory allocated by Python during it.

With ``--verify``, the largest export is also verified (``verify_export``, with the trust
file) in a fresh process: bundles/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notary.cli.instance import init_instance  # noqa: E402
from notary.config import Settings  # noqa: E402
from notary.runtime import Runtime  # noqa: E402
from notary.services.access import cases  # noqa: E402
from notary.services.audit import trail as audit  # noqa: E402
from notary.services.clock import stamp  # noqa: E402
from notary.storage.models import Contract  # noqa: E402


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_mib() -> float:
    return _status_mib("VmRSS")


def _peak_mib() -> float:
    # The high-water mark of this process's own memory map. Not ru_maxrss: on Linux it carries
    # over the parent's peak across fork and exec, so a child would report the parent's size.
    return _status_mib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(instance: Path, database_url: str, counts: list[int]) -> dict[int, str]:
    """Make each count's contracts ready and a case over them; the case ids by count."""
    from sqlalchemy import select

    from tests.support.bulk import make_signed_contracts

    settings = Settings.load({}, instance_path=instance, database_url=database_url)
    init_instance(settings)
    rt = Runtime(settings)
    case_ids = {}
    try:
        for count in counts:
            started = time.perf_counter()
            ids = make_signed_contracts(rt, count)
            while rt.sequencer.seal_pending():
                pass
            while rt.stamper.stamp_records():
                pass
            time.sleep(1.1)  # the checkpoint interval
            while rt.checkpointer.run_once():
                time.sleep(1.1)
            while rt.stamper.stamp_checkpoints():
                pass
            with rt.db.write() as session:
                platform_id = session.execute(
                    select(Contract.platform_id).where(Contract.id == ids[0])
                ).scalar_one()
                now = stamp(rt.clock)
                investigator = cases.add_investigator(
                    session, "Officer Wang", agency="Police", operator="m", now=now
                )
                case = cases.open_case(
                    session,
                    rt.pii,
                    investigator_id=investigator.investigator_id,
                    case_number=f"M-{count}",
                    legal_basis="measurement",
                    scope={"platform_id": platform_id},
                    now=now,
                )
                case_ids[count] = case.id
            with rt.db.write() as session:
                cases.approve_case(session, case_ids[count], operator="m", now=stamp(rt.clock))
            print(f"prepared {count} ready contracts in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        rt.close()
    return case_ids


def export_once(instance: Path, database_url: str, case_id: str, out: Path) -> dict[str, float]:
    """In this (fresh) process: one timed export, then one under tracemalloc."""

    settings = Settings.load({}, instance_path=instance, database_url=database_url)
    rt = Runtime(settings)
    rt.keys, rt.db, rt.blobs  # noqa: B018 (built before the baseline is taken)
    baseline = _rss_mib()
    job = rt.exports.begin(case_id, actor=audit.operator("measure"))
    started, cpu_started = time.perf_counter(), time.process_time()
    with out.open("wb") as handle:
        for chunk in job.stream():
            handle.write(chunk)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = _peak_mib()

    if os.environ.get("MEASURE_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        job = rt.exports.begin(case_id, actor=audit.operator("measure"))
        profile.runcall(lambda: [None for _ in job.stream()])
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    tracemalloc.start()
    job = rt.exports.begin(case_id, actor=audit.operator("measure"))
    for _ in job.stream():
        pass
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rt.close()
    return {
        "bundles": job.summary.bundles,
        "seconds": elapsed,
        "bundles_per_second": job.summary.bundles / elapsed,
        "bundles_per_cpu_second": job.summary.bundles / cpu,
        "bytes": job.summary.bytes,
        "rss_before_mib": baseline,
        "peak_rss_mib": peak,
        "traced_peak_mib": traced_peak / 2**20,
    }


def verify_once(path: Path, trust_json: bytes) -> dict[str, float]:
    from notary.verify.export.verifier import verify_export
    from notary.verify.trust import TrustFile

    baseline = _rss_mib()
    started, cpu_started = time.perf_counter(), time.process_time()
    with path.open("rb") as handle:
        report = verify_export(handle, trust=TrustFile.from_json(trust_json))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "valid": report.valid,
        "bundles": len(report.bundles),
        "seconds": elapsed,
        "bundles_per_second": len(report.bundles) / elapsed,
        "bundles_per_cpu_second": len(report.bundles) / cpu,
        "rss_before_mib": baseline,
        "peak_rss_mib": _peak_mib(),
        "report_json_bytes": len(report.to_json()),
    }


def _child(*args: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    if os.environ.get("MEASURE_PROFILE"):
        print(result.stderr)
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster, not SQLite")
    parser.add_argument("--verify", action="store_true", help="also verify the largest export")
    parser.add_argument(
        "--child-export", nargs=4, metavar=("INSTANCE", "URL", "CASE", "OUT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--child-verify", nargs=2, metavar=("EXPORT", "TRUST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_export:
        instance, url, case_id, out = args.child_export
        print(json.dumps(export_once(Path(instance), url, case_id, Path(out))))
        return
    if args.child_verify:
        print(json.dumps(verify_once(Path(args.child_verify[0]), Path(args.child_verify[1]).read_bytes())))
        return

    cluster = None
    with tempfile.TemporaryDirectory(prefix="measure-export-") as scratch:
        url = ""
        if args.postgres:
            from tests.support.postgres import Cluster

            cluster = Cluster().start()
            cluster.execute("CREATE DATABASE measure")
            url = cluster.url("measure")
        try:
            instance = Path(scratch) / "instance"
            case_ids = prepare(instance, url, args.counts)
            print(f"database: {'postgresql' if url else 'sqlite'}; python {sys.version.split()[0]}")
            results = {}
            for count in args.counts:
                out = Path(scratch) / f"export-{count}.zip"
                results[count] = figures = _child(
                    "--child-export", str(instance), url, case_ids[count], str(out)
                )
                print(
                    f"{count:>6} bundles: {figures['seconds']:6.1f} s, {figures['bundles_per_second']:6.0f} bundles/s "
                    f"({figures['bundles_per_cpu_second']:.0f} per CPU second), "
                    f"{figures['bytes'] / 2**20:7.1f} MiB; RSS {figures['rss_before_mib']:5.1f} MiB before, "
                    f"peak {figures['peak_rss_mib']:5.1f} MiB; Python allocations peak "
                    f"{figures['traced_peak_mib']:5.2f} MiB",
                    flush=True,
                )
            if args.verify:
                largest = max(args.counts)
                rt = Runtime(Settings.load({}, instance_path=instance, database_url=url))
                from notary.verify.canonical import canonical_json

                (Path(scratch) / "trust.json").write_bytes(canonical_json(rt.published.trust_file()))
                rt.close()
                figures = _child(
                    "--child-verify",
                    str(Path(scratch) / f"export-{largest}.zip"),
                    str(Path(scratch) / "trust.json"),
                )
                print(
                    f"verify {figures['bundles']} bundles: {figures['seconds']:.1f} s, "
                    f"{figures['bundles_per_second']:.0f} bundles/s ({figures['bundles_per_cpu_second']:.0f} per CPU "
                    f"second), valid {figures['valid']}; RSS "
                    f"{figures['rss_before_mib']:.1f} MiB before, peak {figures['peak_rss_mib']:.1f} MiB; "
                    f"report JSON {figures['report_json_bytes'] / 2**20:.1f} MiB",
                    flush=True,
                )
        finally:
            if cluster is not None:
                cluster.stop()


if __name__ == "__main__":
    main()
