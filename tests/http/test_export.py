"""The case export over HTTP: allowed only through an approved case of one's own, limited to the
case's scope, audited, and verifiable offline; its bundles are the bundles served one by one."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from notary.services.access import export as export_service
from notary.storage.access_models import AuditEntry
from notary.storage.models import Contract
from notary.verify.canonical import parse_json
from notary.verify.export.archive import ExportArchive
from notary.verify.export.verifier import verify_export
from notary.verify.trust import INTEGRITY_ONLY, TrustFile
from tests.support.access import Caller, approve, login, open_case
from tests.support.people import Person
from tests.support.platforms import sign_body


def sign_both(client, filed, investor, borrower):
    for role, person in (("investor", investor), ("borrower", borrower)):
        answer = client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
        assert answer.status_code == 200, answer.get_json()


def make_ready(runtime, clock):
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    clock.advance(seconds=2)
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()


def members_of(data):
    archive = ExportArchive.open(io.BytesIO(data))
    return {entry.name: archive.read(entry) for entry in archive.entries()}


def test_a_case_export(
    platform, investor, borrower, runtime, client, clock, monkeypatch, make_platform, make_investigator
):
    monkeypatch.setattr(export_service, "PAGE_SIZE", 2)  # several pages from a few contracts
    # Two contracts ready under two different checkpoints, one awaiting signatures, one sealed
    # but not yet stamped; and a ready contract of another platform (out of scope).
    ready = []
    for n in range(2):
        filed = platform.file(investor, borrower, document=b"%%PDF-1.4 loan %d\n" % n)
        sign_both(client, filed, investor, borrower)
        make_ready(runtime, clock)
        ready.append(filed["contract_id"])
    awaiting = platform.file(investor, borrower, document=b"%PDF-1.4 awaiting\n")["contract_id"]
    other = make_platform("Other Lending")
    stranger, stranger_borrower = Person("王五"), Person("赵六", alg="p256")
    other.enrol(stranger)
    other.enrol(stranger_borrower)
    foreign = other.file(stranger, stranger_borrower, document=b"%PDF-1.4 foreign\n")
    sign_both(client, foreign, stranger, stranger_borrower)
    make_ready(runtime, clock)
    pending = platform.file(investor, borrower, document=b"%PDF-1.4 pending\n")
    sign_both(client, pending, investor, borrower)
    runtime.sequencer.seal_pending()

    police = make_investigator()
    case_id = open_case(police, {"platform_id": platform.platform_id})
    path = f"/cases/{case_id}/export"

    # No export before approval; none of another investigator's case; none for other callers.
    refused = police.get(path)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "forbidden")
    approve(runtime, case_id)
    assert make_investigator("Officer Li").get(path).status_code == 404
    assert police.get("/cases/cs_01NOSUCHCASE0000000000000/export").status_code == 404
    assert platform.get(path).status_code == 403
    assert Caller(client, login(client, investor)).get(path).status_code == 403
    assert Caller(client).get(path).status_code == 401

    answer = police.get(path)
    assert answer.status_code == 200, answer.get_json()
    assert answer.mimetype == "application/zip"
    assert re.fullmatch(
        rf'attachment; filename="{case_id}-export\.zip"', answer.headers["Content-Disposition"]
    )
    assert "Content-Length" not in answer.headers  # streamed
    data = answer.data

    trust = TrustFile.from_json(client.get("/api/v1/trust").get_data())
    report = verify_export(io.BytesIO(data), trust=trust, now=runtime.clock())
    assert report.valid, report.to_dict()
    assert report.origin_established
    assert [check.name for check in report.checks] == [
        "trust", "export_manifest", "manifest_signature", "manifest_timestamp", "notary_certificate",
        "members", "bundle_digests", "bundles", "openings", "scope",
    ]  # fmt: skip
    # export/2: dated by an RFC 3161 token over its signature, judged at its genTime.
    assert (report.subject, report.manifest_time) == ("notary-export/2", "rfc3161_gen_time")
    # A platform scope: the openings of both parties, so each identity is proven.
    for bundle_result in report.bundles:
        assert bundle_result.report is not None
        statuses = {party["identity"]["status"] for party in bundle_result.report["parties"].values()}
        assert statuses == {"proven"}

    # In scope and ready: the bundles, byte for byte as served one by one; the rest listed.
    files = members_of(data)
    assert list(files) == [
        "keys/notary.pem",
        *(f"bundles/{cid}.zip" for cid in sorted(ready)),
        *sorted(f"openings/{person.party_id}.json" for person in (investor, borrower)),
        "manifest.json",
        "manifest.sig",
        "timestamp/manifest.tsr",
        "timestamp/manifest-chain.pem",
    ]
    for person in (investor, borrower):
        assert files[f"openings/{person.party_id}.json"] == person.opening(platform.platform_id)
    for cid in ready:
        single = police.get(f"/contracts/{cid}/evidence", headers={"Notary-Case": case_id})
        assert files[f"bundles/{cid}.zip"] == single.data
    manifest = parse_json(files["manifest.json"])
    assert manifest["not_included"] == {
        awaiting: "awaiting_signatures",
        pending["contract_id"]: "evidence_pending",
    }
    assert foreign["contract_id"] not in files["manifest.json"].decode()
    assert manifest["case"] == {
        "case_id": case_id,
        "case_number": "2026-0001",
        "legal_basis": "Criminal Procedure Law art. 54",
        "scope": {"platform_id": platform.platform_id},
    }
    assert manifest["exported_by"] == {"kind": "investigator", "id": police_id(runtime, case_id)}
    assert manifest["investigator"]["name"] == "Officer Wang"
    assert manifest["format"] == "notary-export/2"
    assert manifest["openings"] == {
        f"openings/{person.party_id}.json": person.identity_commitment(platform.platform_id)
        for person in (investor, borrower)
    }

    # Recorded before the bytes: who, which case, how many contracts it covered.
    with runtime.db.read() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "case.export")).scalar_one()
    body = parse_json(entry.entry)
    assert (entry.actor_kind, entry.object_id, entry.case_id) == ("investigator", case_id, case_id)
    assert body["details"] == {
        "case_number": "2026-0001", "contracts_in_scope": 4, "investigator_id": police_id(runtime, case_id)
    }  # fmt: skip
    assert body["at"] == manifest["exported_at"]

    # POST /verify takes an export too, and answers with the export's report.
    verified = client.post(
        "/api/v1/verify",
        data={"bundle": (io.BytesIO(data), "export.zip")},
        content_type="multipart/form-data",
    ).get_json()
    assert (verified["format"], verified["valid"]) == ("notary-export-verification/2", True)
    assert [bundle["report"]["contract_id"] for bundle in verified["bundles"]] == sorted(ready)


def test_batched_parts_are_the_single_parts(platform, investor, borrower, runtime, client, clock):
    ids = []
    for n in range(3):
        filed = platform.file(investor, borrower, document=b"%%PDF-1.4 batch %d\n" % n)
        sign_both(client, filed, investor, borrower)
        if n < 2:
            make_ready(runtime, clock)
        ids.append(filed["contract_id"])
    runtime.sequencer.seal_pending()  # the third: sealed, not ready
    ids.append(platform.file(investor, borrower, document=b"%PDF-1.4 unsigned\n")["contract_id"])
    assembler = runtime.bundles.assembler()
    with runtime.db.read() as session:
        contracts = [session.get(Contract, cid) for cid in ids]
        batched = assembler.page(session, contracts)
        for contract, parts in zip(contracts[:2], batched[:2], strict=True):
            document = runtime.blobs.get(session, contract.document_sha256)
            assert assembler.with_document(parts, document) == runtime.bundles.parts(session, contract)
    assert batched[2:] == [None, None]


def police_id(runtime, case_id):
    from notary.storage.access_models import Case

    with runtime.db.read() as session:
        return session.get(Case, case_id).investigator_id


@pytest.mark.wallclock  # the CLI builds its own runtime on the machine clock
def test_notary_export_refuses_what_it_cannot_export(
    settings, runtime, client, tmp_path, make_platform, make_investigator
):
    from click.testing import CliRunner

    from notary.cli import main

    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    out = tmp_path / "export.zip"
    missing = CliRunner().invoke(main, ["export", "--case", "cs_nope", "--out", str(out)], env=env)
    assert (missing.exit_code, missing.stderr) == (1, "Error: not_found: no case cs_nope\n")
    police = make_investigator()
    platform = make_platform()
    case_id = open_case(police, {"platform_id": platform.platform_id})
    pending = CliRunner().invoke(main, ["export", "--case", case_id, "--out", str(out)], env=env)
    assert pending.exit_code == 1
    assert "forbidden" in pending.stderr
    approve(runtime, case_id)
    done = CliRunner().invoke(
        main, ["export", "--case", case_id, "--out", str(out), "--operator", "Ops"], env=env
    )
    assert done.exit_code == 0, done.output
    assert f"case {case_id}: 0 bundle(s) in {out}" in done.stdout
    with out.open("rb") as handle:
        assert verify_export(handle, trust=INTEGRITY_ONLY).valid
    assert not list(tmp_path.glob("*.partial"))
