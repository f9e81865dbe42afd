"""The reason the notary exists, walked end to end: a platform collapses, and its investors and
the police still get everything, without the platform's help, and nobody gets what is not theirs.

Operators act through the ``notary`` command, everyone else over HTTP. The investor lends on
two platforms; one collapses. She gets all her evidence with her own key; the police get it
through an approved case, as one export that verifies offline, and nothing outside the case.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from notary.cli import main
from notary.cli.party_tools import load
from notary.storage.access_models import AuditEntry
from notary.storage.models import LogLeaf
from notary.verify import payloads
from notary.verify.canonical import parse_json
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.export.verifier import verify_export
from notary.verify.trust import TrustFile
from tests.support.access import Caller, login
from tests.support.export import export_members
from tests.support.people import Person, resident_id
from tests.support.platforms import PlatformClient, contract_terms


def notary(env, *args):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def sign_both(client, filed, investor, borrower):
    for role, person in (("investor", investor), ("borrower", borrower)):
        payload = base64.b64decode(filed["signing_payloads"][role]["payload_base64"])
        body = {"role": role, "signature": person.sign_b64(payload)}
        assert (
            client.post(f"/api/v1/contracts/{filed['contract_id']}/signatures", json=body).status_code == 200
        )


@pytest.mark.wallclock  # the CLI runs on the machine clock
def test_after_the_collapse(settings, runtime, client, clock, tmp_path):
    env = {"NOTARY_INSTANCE_PATH": str(settings.instance_path), "NOTARY_DATABASE_URL": settings.database_url}
    worker = runtime.worker(holder="test-worker")

    # Before: an operator registers the platform; it enrols its investor and borrowers.
    added = json.loads(notary(env, "platform", "add", "Collapsing Lending", "--json", "--operator", "Ops Li"))
    platform = PlatformClient(client, added["platform_id"], added["token"])
    alice_number = resident_id()
    notary(env, "keygen", "--out", str(tmp_path / "alice"))
    alice_key = load(tmp_path / "alice")
    enrolment = json.loads(
        notary(env, "enrol", "--key", str(tmp_path / "alice"), "--platform-id", platform.platform_id,
               "--name", "张三", "--id-number", alice_number)
    )  # fmt: skip
    alice_party = platform.post("/parties", json=enrolment).get_json()["party_id"]
    alice = Person("张三", id_number=alice_number)  # holds alice's key for signing below
    alice.private, alice.public, alice.party_id = alice_key.private, alice_key.public, alice_party
    borrowers = [Person(f"Borrower {i}", alg="p256") for i in range(2)]
    for person in borrowers:
        platform.enrol(person)

    # It files three loans; two are signed by both and sealed, one still awaits signatures.
    filed = [platform.file(alice, b, document=b"%%PDF-1.4 loan %d\n" % i) for i, b in enumerate(borrowers)]
    filed.append(platform.file(alice, borrowers[0], document=b"%PDF-1.4 loan 2\n", amount="2500.00"))
    for item, borrower in zip(filed[:2], borrowers, strict=True):
        sign_both(client, item, alice, borrower)
    # She lends on a second platform too, with the same key; two strangers borrow and lend there.
    steady = json.loads(notary(env, "platform", "add", "Steady Lending", "--json", "--operator", "Ops Li"))
    second = PlatformClient(client, steady["platform_id"], steady["token"])
    enrolment = json.loads(
        notary(env, "enrol", "--key", str(tmp_path / "alice"), "--platform-id", second.platform_id,
               "--name", "张三", "--id-number", alice_number)
    )  # fmt: skip
    alice_there = Person("张三", id_number=alice_number)
    alice_there.private, alice_there.public = alice_key.private, alice_key.public
    alice_there.party_id = second.post("/parties", json=enrolment).get_json()["party_id"]
    strangers = [Person("Stranger A"), Person("Stranger B", alg="p256")]
    for person in strangers:
        second.enrol(person)
    elsewhere = second.file(alice_there, strangers[0], document=b"%PDF-1.4 loan elsewhere\n")
    foreign = second.file(strangers[1], strangers[0], document=b"%PDF-1.4 not hers\n")
    sign_both(client, elsewhere, alice_there, strangers[0])
    sign_both(client, foreign, strangers[1], strangers[0])
    worker.run_once()
    ids = [item["contract_id"] for item in filed]
    hers = [*ids, elsewhere["contract_id"]]
    sealed = [ids[0], ids[1], elsewhere["contract_id"]]

    # The collapse: the operator marks the platform defunct; its token stops working at once.
    notary(env, "platform", "defunct", platform.platform_id, "--operator", "Ops Li")
    for answer in (
        platform.get(f"/contracts/{ids[0]}"),
        platform.post("/contracts", json={"terms": contract_terms(alice, borrowers[0])}),
    ):
        assert answer.status_code == 410
        assert answer.get_json()["error"]["code"] == "platform_defunct"

    # The investor logs in with her own key (the party tool signs the login payload)...
    challenge = client.post("/api/v1/auth/challenge", json={"key_fingerprint": alice.public.fingerprint})
    login_payload = payloads.login_payload(
        challenge_base64=challenge.get_json()["challenge_base64"], key_fingerprint=alice.public.fingerprint
    )
    (tmp_path / "login.json").write_bytes(login_payload)
    signature = notary(env, "sign", "--key", str(tmp_path / "alice"), "--login", str(tmp_path / "login.json"))
    token = client.post(
        "/api/v1/auth/token",
        json={
            "key_fingerprint": alice.public.fingerprint,
            "challenge_base64": challenge.get_json()["challenge_base64"],
            "signature": signature.strip().splitlines()[-1],
        },
    ).get_json()["token"]
    investor = Caller(client, token)

    # ...and finds every contract filed in her name, on both platforms, the collapsed one's included.
    listing = investor.get("/me/contracts").get_json()["contracts"]
    assert sorted(item["contract_id"] for item in listing) == sorted(hers)
    assert {item["platform"]["name"]: item["platform"]["status"] for item in listing} == {
        "Collapsing Lending": "defunct", "Steady Lending": "active"
    }  # fmt: skip
    assert {item["contract_id"]: item["status"] for item in listing} == {
        ids[0]: "sealed", ids[1]: "sealed", ids[2]: "awaiting_signatures", elsewhere["contract_id"]: "sealed"
    }  # fmt: skip
    for contract_id, item in zip(ids[:2], filed[:2], strict=True):
        view = investor.get(f"/contracts/{contract_id}").get_json()
        document = investor.get(f"/contracts/{contract_id}/document").data
        assert hashlib.sha256(document).hexdigest() == view["document_sha256"] == item["document_sha256"]
        with runtime.db.read() as session:
            record = session.execute(
                select(LogLeaf.record).where(LogLeaf.sequence == view["evidence"]["leaf_index"])
            ).scalar_one()
        assert hashlib.sha256(record).hexdigest() == view["evidence"]["record_sha256"]
        assert json.loads(record)["document_sha256"] == view["document_sha256"]
    # All her evidence too, with no platform involved: each bundle verifies offline.
    trust_json = client.get("/api/v1/trust").get_data()
    trust = TrustFile.from_json(trust_json)
    for contract_id in sealed:
        bundle = investor.get(f"/contracts/{contract_id}/evidence")
        assert bundle.status_code == 200, bundle.get_json()
        report = verify_bundle(bundle.data, trust=trust, now=runtime.clock())
        assert report.valid, report.to_dict()
    report = verify_bundle(
        investor.get(f"/contracts/{ids[0]}/evidence").data,
        document=b"%PDF-1.4 loan 0\n",
        trust=trust,
        now=runtime.clock(),
    )
    assert report.valid, report.to_dict()
    certificate = investor.get(f"/contracts/{ids[0]}/certificate")
    assert certificate.status_code == 200, certificate.get_json()
    assert certificate.data.startswith(b"%PDF")
    # A borrower of the same platform sees only his own loan.
    borrower_view = Caller(client, login(client, borrowers[1])).get("/me/contracts").get_json()
    assert [item["contract_id"] for item in borrower_view["contracts"]] == [ids[1]]

    # The police: an investigator opens a case over the investor (by ID number, on every platform).
    made = json.loads(
        notary(env, "investigator", "add", "Officer Wang", "--agency", "Example City Police", "--json")
    )
    police = Caller(client, made["token"])
    opened = police.post(
        "/cases",
        json={"case_number": "JX-2026-117", "legal_basis": "Criminal Procedure Law art. 54",
              "scope": {"id_number": alice_number}},
    )  # fmt: skip
    case_id = opened.get_json()["case_id"]
    assert police.get(f"/contracts/{ids[0]}").status_code == 403  # not approved yet
    refused = police.get(f"/cases/{case_id}/export")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "forbidden")
    early = CliRunner().invoke(
        main, ["export", "--case", case_id, "--out", str(tmp_path / "early.zip")], env=env
    )
    assert (early.exit_code, early.stderr) == (1, "Error: forbidden: this case has not been approved yet\n")
    assert not (tmp_path / "early.zip").exists()
    approved = json.loads(
        notary(env, "case", "approve", case_id, "--yes", "--operator", "Judge Zhao", "--json")
    )
    assert approved["status"] == "approved"
    assert approved["scope"]["id_number_masked"] != alice_number
    for contract_id in ids:
        assert police.get(f"/contracts/{contract_id}/document").status_code == 200
    assert police.get(f"/contracts/{ids[1]}/certificate").data.startswith(b"%PDF")
    assert police.get(f"/contracts/{ids[1]}/evidence").status_code == 200
    assert police.get(f"/cases/{case_id}").get_json()["status"] == "approved"

    # The police export the case: every sealed contract of hers, on both platforms, and nothing
    # of the strangers'; the contract still awaiting signatures is named, not included.
    export = police.get(f"/cases/{case_id}/export")
    assert export.status_code == 200, export.get_json()
    report = verify_export(io.BytesIO(export.data), trust=trust, now=runtime.clock())
    assert report.valid, report.to_dict()
    files = export_members(export.data)
    assert sorted(name for name in files if name.startswith("bundles/")) == sorted(
        f"bundles/{cid}.zip" for cid in sealed
    )
    manifest = parse_json(files["manifest.json"])
    assert manifest["not_included"] == {ids[2]: "awaiting_signatures"}
    assert manifest["exported_by"] == {"kind": "investigator", "id": made["investigator_id"]}
    assert foreign["contract_id"].encode() not in export.data
    # Offline, with the published trust file, as a court would check it.
    (tmp_path / "export.zip").write_bytes(export.data)
    (tmp_path / "trust.json").write_bytes(trust_json)
    verdict = json.loads(
        notary(env, "verify", str(tmp_path / "export.zip"), "--trust", str(tmp_path / "trust.json"), "--json")
    )
    assert (verdict["valid"], verdict["origin_established"]) == (True, True)
    assert [bundle["report"]["contract_id"] for bundle in verdict["bundles"]] == sorted(sealed)
    # An operator can export the same case on the server, with a progress bar on stderr.
    result = CliRunner().invoke(
        main, ["export", "--case", case_id, "--out", str(tmp_path / "server.zip"), "--operator", "Judge Zhao", "--json"],
        env=env, catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"exporting case {case_id}" in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["bundles"], summary["not_included"]) == (3, 1)
    assert hashlib.sha256((tmp_path / "server.zip").read_bytes()).hexdigest() == summary["sha256"]
    notary(env, "verify", str(tmp_path / "server.zip"), "--trust", str(tmp_path / "trust.json"))

    # Everything was recorded; within a minute the trail's head reaches the log; the store audits clean.
    clock.advance(seconds=61)
    worker.run_once()
    with runtime.db.read() as session:
        trail = session.execute(select(AuditEntry).order_by(AuditEntry.sequence)).scalars().all()
        formats = session.execute(select(LogLeaf.format).order_by(LogLeaf.sequence)).scalars().all()
    acts = [(entry.action, entry.actor_kind, entry.actor_id) for entry in trail]
    assert acts[0] == ("platform.add", "operator", "Ops Li")
    assert ("platform.defunct", "operator", "Ops Li") in acts
    assert ("auth.login", "party", alice.public.fingerprint) in acts
    assert ("case.approve", "operator", "Judge Zhao") in acts
    assert ("certificate.read", "party", alice.public.fingerprint) in acts
    assert ("evidence.read", "party", alice.public.fingerprint) in acts
    exports = [parse_json(entry.entry) for entry in trail if entry.action == "case.export"]
    assert [(entry["actor"]["kind"], entry["details"]["investigator_id"]) for entry in exports] == [
        ("investigator", made["investigator_id"]), ("operator", made["investigator_id"])
    ]  # fmt: skip
    assert exports[1]["actor"]["id"] == "Judge Zhao"
    assert {entry["case_id"] for entry in exports} == {case_id}
    police_reads = [entry for entry in trail if entry.actor_kind == "investigator" and entry.object_id in ids]
    assert [entry.case_id for entry in police_reads] == [case_id] * 5  # the refused read is not one
    assert formats.count("notary-audit-head/1") == 2
    report = json.loads(notary(env, "audit", "--json"))
    assert report["clean"] is True
