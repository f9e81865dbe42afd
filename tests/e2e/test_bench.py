"""The benchmark runs end to end (tiny sizes) and its last line is the JSON the issue asks for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FIGURES = {
    "sealed_per_s", "lifecycle_per_s", "seal_latency_p50_ms", "seal_latency_p99_ms", "proof_p50_ms",
    "proof_reads", "certificate_ms", "verify_ms", "rss_mb", "ceiling_sealed_per_s",
    "empty_endpoint_per_s", "database", "quick", "cpus", "load_average_start", "proof_leaves",
    "witness_sealed_ratio", "witness_cosigned_ms_p50", "certificate_render_ms",
    "certificate_render_rare_first_ms", "certificate_render_rare_ms",
    "webhook_outbox_cost", "webhook_delivering_cost", "webhook_events_per_s", "webhook_baseline_drift",
    "transparency_one_ms", "transparency_count_ms", "transparency_api_ms", "check_other_ms", "check_never_ms",
}  # fmt: skip


@pytest.mark.slow
def test_a_tiny_run_prints_every_figure():
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--contracts", "40", "--lifecycle-seconds", "1",
         "--proof-leaves", "3000", "--proof-requests", "20", "--ceiling-contracts", "30", "--webhook-contracts", "40",
         "--transparency-contracts", "2000"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=480, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures.keys() >= FIGURES
    assert figures["database"] == "sqlite"
    assert figures["sealed_contracts"] == 40
    assert figures["signature_mode"] == "batch"
    assert figures["proof_leaves"] == 3000
    # An inclusion proof reads the tree state and the proof's nodes: two queries, whatever the size.
    assert figures["proof_reads"] == 2
    assert figures["proof_nodes"] <= 2 * 12
    assert figures["lifecycle_per_s"] > 0
    # Every event of the delivering run reached the receiver, signed as documented.
    assert figures["webhook_events_delivered"] == figures["webhook_events_expected"] == 4 * 40
    assert figures["webhook_bad_signatures"] == 0
    assert figures["seal_latency_samples"] > 0
    assert figures["certificate_ms"] > 0
    assert 0 < figures["certificate_render_ms"] < figures["certificate_ms"]
    assert figures["certificate_render_rare_ms"] > 0
    assert figures["verify_ms"] > 0
    assert figures["rss_mb"] > 0
    assert figures["transparency_contracts"] == 2000
    # Somebody else's document and a never-filed one: the same bytes, every one of 400 answers.
    assert figures["check_same_bytes"] is True
