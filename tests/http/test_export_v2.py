"""export/2 (docs/formats.md section 6): the openings of the parties in a case's scope, and an
RFC 3161 token over the manifest's signature that dates the export.

Issue 15.1: an approved case's export is, besides the party itself, the one place an identity
opening may go, and only for the parties in its scope. The token: before, an export was judged
at its own ``exported_at``, a time the notary key alone vouched for, so whoever held that key
could re-sign a manifest at any date; now it is judged at the authority's genTime.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from notary.verify.canonical import canonical_json, parse_json
from notary.verify.export.manifest import parse_signature, signature_file
from notary.verify.export.verifier import verify_export
from notary.verify.payloads import format_time
from notary.verify.trust import TrustFile
from tests.http.test_export import make_ready, members_of, sign_both
from tests.support.access import approve, open_case


def exported(runtime, client, platform, investor, borrower, clock, make_investigator, scope):
    filed = platform.file(investor, borrower, document=b"%PDF-1.4 export v2\n")
    sign_both(client, filed, investor, borrower)
    make_ready(runtime, clock)
    police = make_investigator()
    case_id = open_case(police, scope(filed))
    approve(runtime, case_id)
    answer = police.get(f"/cases/{case_id}/export")
    assert answer.status_code == 200, answer.get_json()
    return answer.data


def verify(client, runtime, data):
    trust = TrustFile.from_json(client.get("/api/v1/trust").get_data())
    return verify_export(io.BytesIO(data), trust=trust, now=runtime.clock())


def rezipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def failed(report) -> dict[str, str | None]:
    return {check.name: check.code for check in report.checks if check.status == "failed"}


def test_a_party_scope_opens_that_party_only(
    runtime, client, platform, investor, borrower, clock, make_investigator
):
    data = exported(
        runtime, client, platform, investor, borrower, clock, make_investigator,
        lambda filed: {"party_id": str(borrower.party_id)},
    )  # fmt: skip
    files = members_of(data)
    assert [name for name in files if name.startswith("openings/")] == [f"openings/{borrower.party_id}.json"]
    report = verify(client, runtime, data)
    assert report.valid, [check.to_dict() for check in report.failures]
    parties = report.bundles[0].report["parties"]
    assert parties["borrower"]["identity"]["status"] == "proven"
    assert parties["investor"]["identity"]["status"] == "claimed"  # not in scope: never opened


def test_an_opening_slipped_in_is_refused(
    runtime, client, platform, investor, borrower, clock, make_investigator
):
    data = exported(
        runtime, client, platform, investor, borrower, clock, make_investigator,
        lambda filed: {"party_id": str(borrower.party_id)},
    )  # fmt: skip
    files = members_of(data)
    files[f"openings/{investor.party_id}.json"] = investor.opening(platform.platform_id)
    report = verify(client, runtime, rezipped(files))
    assert failed(report)["members"] == "unexpected_member"


def test_a_backdated_manifest_resigned_with_the_notary_key_does_not_verify(
    runtime, client, platform, investor, borrower, clock, make_investigator
):
    """Whoever holds the notary key re-signs the manifest a year earlier: the token dates the
    original signature, so the re-signed one has none; with a token of its own, it is dated
    now, not at the claimed time."""
    data = exported(
        runtime, client, platform, investor, borrower, clock, make_investigator,
        lambda filed: {"platform_id": platform.platform_id},
    )  # fmt: skip
    files = members_of(data)
    manifest = parse_json(files["manifest.json"])
    genuine = verify(client, runtime, data)
    assert genuine.valid
    assert genuine.manifest_time == "rfc3161_gen_time"
    manifest["exported_at"] = format_time(runtime.clock() - dt.timedelta(days=365))
    files["manifest.json"] = canonical_json(manifest)
    signature = runtime.keys.notary_key.sign(
        hashlib.sha256(files["manifest.json"]).digest(), ec.ECDSA(Prehashed(hashes.SHA256()))
    )
    files["manifest.sig"] = signature_file(
        key_fingerprint=parse_signature(files["manifest.sig"]).key_fingerprint, signature=signature
    )
    backdated = verify(client, runtime, rezipped(files))
    assert not backdated.valid
    assert failed(backdated)["manifest_timestamp"] == "imprint_mismatch"

    # A fresh token for the new signature: dated by the authority now, a year after the claim.
    stamped = runtime.tsa_client.stamp_first(hashlib.sha256(files["manifest.sig"]).digest())
    files["timestamp/manifest.tsr"], files["timestamp/manifest-chain.pem"] = (
        stamped.response,
        stamped.chain_pem,
    )
    restamped = verify(client, runtime, rezipped(files))
    assert restamped.manifest_gen_time == format_time(stamped.gen_time)
    assert restamped.manifest_gen_time != manifest["exported_at"]


def test_a_token_removed_is_missing_not_a_downgrade(
    runtime, client, platform, investor, borrower, clock, make_investigator
):
    data = exported(
        runtime, client, platform, investor, borrower, clock, make_investigator,
        lambda filed: {"platform_id": platform.platform_id},
    )  # fmt: skip
    files = members_of(data)
    del files["timestamp/manifest.tsr"]
    report = verify(client, runtime, rezipped(files))
    assert failed(report)["manifest_timestamp"] == "missing_member"
    assert not report.valid
