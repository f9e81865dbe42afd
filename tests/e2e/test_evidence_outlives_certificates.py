"""Evidence sealed today still verifies decades from now, long after the certificates in it expire.

The bundle and the case export are made through the service today; then `notary verify` runs
under libfaketime with the machine's clock moved 15 and 40 years ahead (past the embedded
authority's and the notary's certificates, and past the root's too). Time-stamped signatures are
judged at the time of their timestamp, so the verdict must not change (docs/evidence-format.md,
"Evidence outlives its certificates").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from notary.verify.trust import TrustFile
from tests.support.access import approve, open_case
from tests.support.platforms import sign_body

FAKETIME = shutil.which("faketime")
pytestmark = pytest.mark.skipif(FAKETIME is None, reason="faketime (Debian's faketime) is not installed")


def seal(runtime, client, platform, investor, borrower, document: bytes) -> str:
    filed = platform.file(investor, borrower, document=document)
    for role, person in (("investor", investor), ("borrower", borrower)):
        answer = client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
        assert answer.status_code == 200, answer.get_json()
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()
    return filed["contract_id"]


def verify_later(years: int, *args: str | Path) -> dict:
    """`notary verify --json` in a process whose clock reads ``years`` years ahead."""
    env = {**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    result = subprocess.run(
        [FAKETIME, "-f", f"+{years}y", sys.executable, "-m", "notary.cli", "verify", *map(str, args), "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    report["exit_status"] = result.returncode
    return report


def latest_expiry(pem_files: list[bytes]) -> dt.datetime:
    certificates = [cert for data in pem_files for cert in x509.load_pem_x509_certificates(data)]
    return max(cert.not_valid_after_utc for cert in certificates)


@pytest.mark.slow
def test_a_bundle_and_an_export_sealed_today_verify_decades_later(
    runtime, client, platform, investor, borrower, tmp_path, make_investigator
):
    contract_id = seal(runtime, client, platform, investor, borrower, b"%PDF-1.4\n% decades\n")
    bundle = platform.get(f"/contracts/{contract_id}/evidence")
    assert bundle.status_code == 200, bundle.get_json()
    trust = client.get("/api/v1/trust").get_data()
    (tmp_path / "evidence.zip").write_bytes(bundle.data)
    (tmp_path / "trust.json").write_bytes(trust)

    police = make_investigator()
    case_id = open_case(police, {"platform_id": platform.platform_id})
    approve(runtime, case_id)
    export = police.get(f"/cases/{case_id}/export")
    assert export.status_code == 200, export.get_json()
    (tmp_path / "export.zip").write_bytes(export.data)

    # Every certificate the evidence relies on, roots included, has expired by the later date.
    trusted = TrustFile.from_json(trust)
    roots = [
        pem.encode() for pem in trusted.to_dict()["notary_roots_pem"] + trusted.to_dict()["tsa_roots_pem"]
    ]
    expiry = latest_expiry(roots)
    assert expiry < runtime.clock() + dt.timedelta(days=365 * 40)

    for years in (15, 40):
        report = verify_later(years, tmp_path / "evidence.zip", "--trust", tmp_path / "trust.json")
        assert report["exit_status"] == 0, report
        assert report["valid"] is True
        assert report["origin_established"] is True
        verified_at = dt.datetime.fromisoformat(report["verified_at"].replace("Z", "+00:00"))
        assert verified_at > runtime.clock() + dt.timedelta(days=365 * years - 2)
        assert report["signing_time"]["source"] == "rfc3161_gen_time"

        exported = verify_later(years, tmp_path / "export.zip", "--trust", tmp_path / "trust.json")
        assert exported["exit_status"] == 0, exported
        assert exported["valid"] is True
        assert [item["valid"] for item in exported["bundles"]] == [True]
    # 40 years on, even the roots have expired: nothing was judged at the verifier's clock.
    assert verified_at > expiry
