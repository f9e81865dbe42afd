"""Verifying a case export: a genuine one passes; each kind of tampering fails the check that
names it; the trust file decides whose exports are believed; unusable zips are refused."""

from __future__ import annotations

import io
import json

import pytest

from notary.verify.canonical import canonical_json, parse_canonical_json
from notary.verify.export.archive import MalformedExport
from notary.verify.export.report import render_export_text
from notary.verify.export.verifier import BUNDLE, EXPORT, archive_kind, verify_export
from notary.verify.trust import INTEGRITY_ONLY
from tests.support.evidence import VERIFIED_AT, SampleLog, SampleNotary, members
from tests.support.evidence import rezip as rezip_bundle
from tests.support.export import EXPORTED_AT, export_members, make_export, manifest_bytes, rezip, sign

SIZE = 3


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    notary = SampleNotary.create(tmp_path_factory.mktemp("notary") / "keys")
    log = SampleLog(notary, SIZE)
    bundles = {log.filed[i].contract_id: log.bundle(i, SIZE) for i in range(SIZE)}
    other = SampleNotary.create(tmp_path_factory.mktemp("other") / "keys", organisation="Forger Notary")
    return notary, log, bundles, other


def verify(data, trust=INTEGRITY_ONLY):
    return verify_export(io.BytesIO(data), trust=trust, now=VERIFIED_AT)


def outcome(report):
    """{check name: (status, code)} for every check that did not pass."""
    return {check.name: (check.status, check.code) for check in report.checks if not check.passed}


def test_a_genuine_export_verifies(world):
    notary, _, bundles, _ = world
    data = make_export(notary, bundles, not_included={"ct_9999TEST": "awaiting_signatures"})
    report = verify(data, notary.trust())
    assert report.valid, report.to_dict()
    assert report.origin_established
    assert [check.name for check in report.checks] == [
        "trust", "export_manifest", "manifest_signature", "notary_certificate",
        "members", "bundle_digests", "bundles", "scope",
    ]  # fmt: skip
    assert [bundle.contract_id for bundle in report.bundles] == sorted(bundles)
    assert all(bundle.valid and bundle.report["valid"] for bundle in report.bundles)
    assert report.case["case_number"] == "JX-2026-117"
    assert report.exported_at == EXPORTED_AT
    assert dict(report.not_included) == {"ct_9999TEST": "awaiting_signatures"}
    # The JSON is canonical, each bundle's report embedded whole; the text names the verdict.
    as_json = report.to_json()
    assert parse_canonical_json(as_json) == report.to_dict()
    assert report.to_dict()["bundles"][0]["report"]["checks"][0]["name"] == "trust"
    assert "Case export: VALID: integrity and origin established" in render_export_text(report)
    # Without a trust file: the export's own keys; valid for integrity only.
    alone = verify(data)
    assert alone.valid
    assert not alone.origin_established
    assert alone.trust_basis == "integrity_only"


def test_an_export_of_no_bundles_verifies(world):
    notary, *_ = world
    report = verify(make_export(notary, {}), notary.trust())
    assert report.valid, report.to_dict()
    assert report.bundles == ()


def test_zip64_records_are_read(world):
    notary, _, bundles, _ = world
    report = verify(make_export(notary, bundles, force_zip64=True), notary.trust())
    assert report.valid, report.to_dict()


def tampered(world, kind):
    notary, _, bundles, other = world
    data = make_export(notary, bundles)
    entries = export_members(data)
    first = sorted(bundles)[0]
    path = f"bundles/{first}.zip"
    if kind == "byte in a bundle":
        inner = members(entries[path])
        inner["README.txt"] = inner["README.txt"].replace(b"sha256", b"sha257", 1)
        entries[path] = rezip_bundle(inner)  # a sound zip: only the content changed
    elif kind == "removed bundle":
        del entries[path]
    elif kind == "extra member":
        entries["notes.txt"] = b"trust me"
    elif kind == "unlisted bundle":
        entries["bundles/ct_7777TEST.zip"] = entries[path]
    elif kind == "manifest changed":
        entries["manifest.json"] = entries["manifest.json"].replace(b"JX-2026-117", b"JX-2026-118")
    elif kind == "signature of another manifest":
        entries["manifest.sig"] = sign(
            notary, manifest_bytes(bundles, exported_at="2026-12-03T09:00:00.000Z")
        )
    elif kind == "signature by another key":
        entries["manifest.sig"] = sign(other, entries["manifest.json"])
    elif kind == "manifest not canonical":
        entries["manifest.json"] = json.dumps(json.loads(entries["manifest.json"]), indent=1).encode()
    elif kind == "manifest missing":
        del entries["manifest.json"]
    elif kind == "bundle under another name":
        second = sorted(bundles)[1]
        swapped = {first: bundles[second], second: bundles[second]}
        return make_export(notary, swapped)
    elif kind == "outside the scope":
        return make_export(notary, bundles, case=dict(json.loads(entries["manifest.json"])["case"],
                                                         scope={"platform_id": "pl_0002"}))  # fmt: skip
    return rezip(entries)


TAMPERING = [
    (
        "byte in a bundle",
        {"bundle_digests": ("failed", "digest_mismatch"), "bundles": ("failed", "invalid_bundle")},
    ),
    ("removed bundle", {"members": ("failed", "missing_member")}),
    ("extra member", {"members": ("failed", "unexpected_member")}),
    # (a copy of another contract's bundle: it is not the evidence its name says, either)
    (
        "unlisted bundle",
        {"members": ("failed", "unexpected_member"), "bundles": ("failed", "invalid_bundle")},
    ),
    ("manifest changed", {"manifest_signature": ("failed", "bad_signature")}),
    ("signature of another manifest", {"manifest_signature": ("failed", "bad_signature")}),
    ("signature by another key", {"manifest_signature": ("failed", "key_mismatch")}),
    (
        "manifest not canonical",
        {
            "export_manifest": ("failed", "malformed_manifest"),
            **dict.fromkeys(
                ("manifest_signature", "notary_certificate", "members", "bundle_digests"), ("not_run", None)
            ),
        },
    ),
    (
        "manifest missing",
        {
            "export_manifest": ("failed", "missing_member"),
            **dict.fromkeys(
                ("manifest_signature", "notary_certificate", "members", "bundle_digests"), ("not_run", None)
            ),
        },
    ),
    ("bundle under another name", {"bundles": ("failed", "invalid_bundle")}),
    ("outside the scope", {"scope": ("failed", "out_of_scope")}),
]


@pytest.mark.parametrize(("kind", "expected"), TAMPERING, ids=[kind for kind, _ in TAMPERING])
def test_tampering_fails_the_check_that_names_it(world, kind, expected):
    notary, *_ = world
    report = verify(tampered(world, kind), notary.trust())
    assert not report.valid
    assert outcome(report) == expected
    assert "Case export: INVALID" in render_export_text(report)


def test_a_bundle_that_is_no_zip_is_named(world):
    notary, _, bundles, _ = world
    first = sorted(bundles)[0]
    report = verify(make_export(notary, {**bundles, first: b"not a zip"}), notary.trust())
    assert outcome(report) == {"bundles": ("failed", "invalid_bundle")}
    (bad,) = [bundle for bundle in report.bundles if not bundle.valid]
    assert (bad.path, bad.code, bad.report) == (f"bundles/{first}.zip", "malformed_bundle", None)


def test_the_trust_file_decides_whose_exports_are_believed(world):
    notary, _, bundles, other = world
    # A forger's export, consistent with the forger's own keys, signed by the forger.
    forged = make_export(other, bundles)
    assert verify(forged).valid  # integrity only: anyone can be consistent with their own keys
    report = verify(forged, notary.trust())
    assert outcome(report) == {"notary_certificate": ("failed", "untrusted_notary_chain")}
    # The genuine export against the forger's trust: the notary and every bundle are untrusted.
    report = verify(make_export(notary, bundles), other.trust())
    assert set(outcome(report)) == {"notary_certificate", "bundles"}


def test_the_notary_certificate_must_be_valid_when_it_signed(world):
    notary, _, bundles, _ = world
    report = verify(make_export(notary, bundles, exported_at="2100-01-01T00:00:00.000Z"), notary.trust())
    assert outcome(report) == {"notary_certificate": ("failed", "untrusted_notary_chain")}


def test_a_person_scope_cannot_be_checked_offline_and_is_not_reported(world):
    notary, _, bundles, _ = world
    scope = {"id_type": "cn_resident", "id_number_masked": "110105********002X"}
    case = {"case_id": "cs_1", "case_number": "1", "legal_basis": "law", "scope": scope}
    report = verify(make_export(notary, bundles, case=case), notary.trust())
    assert report.valid
    assert report.check("scope") is None


def test_a_damaged_member_makes_the_export_unusable(world):
    notary, _, bundles, _ = world
    data = bytearray(make_export(notary, bundles))
    at = data.index(b"README.txt") + 200  # inside the first bundle, which is stored as is
    data[at] ^= 1
    with pytest.raises(MalformedExport, match="damaged"):
        verify(bytes(data), notary.trust())
    data = bytearray(make_export(notary, bundles))
    data[data.rindex(b'"signature":"') + 20] ^= 1  # inside manifest.sig, the last member
    with pytest.raises(MalformedExport, match=r"manifest\.sig"):
        verify(bytes(data), notary.trust())


def test_archive_kind(world):
    notary, log, bundles, _ = world
    assert archive_kind(io.BytesIO(make_export(notary, bundles))) == EXPORT
    assert archive_kind(io.BytesIO(make_export(notary, {}))) == EXPORT
    assert archive_kind(io.BytesIO(log.bundle(0, SIZE))) == BUNDLE
    assert archive_kind(io.BytesIO(b"not a zip")) == BUNDLE
    assert (
        archive_kind(io.BytesIO(rezip({"manifest.json": canonical_json({"format": "notary-export/1"})})))
        == EXPORT
    )
