"""Keys have a lifecycle (issue 25.3): revocation, rotation and undoing an identity binding,
each audited and logged as a leaf; old contracts keep verifying with the key that signed them,
and their bundles say what happened to it later, with proof. Run on SQLite and PostgreSQL.

Before: a lost key could not be revoked or replaced (the same identity with a new key was 409
``party_exists``), and a mistaken ``notary identity verify`` could not be undone.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from notary.services.access.key_holders import verify_identity
from notary.services.clock import now_text
from notary.storage.access_models import AuditEntry
from notary.storage.models import LogLeaf
from notary.verify import key_events, payloads
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.leaves import LEAF_FORMATS
from notary.verify.trust import TrustFile
from tests.http.test_evidence import ready_contract
from tests.http.test_origin import audit_clean
from tests.support.access import Caller, login
from tests.support.evidence import members
from tests.support.people import Person
from tests.support.platforms import sign_body


def successor(person: Person, alg: str = "ed25519") -> Person:
    """The same person with a new key pair (and the same identity openings)."""
    new = Person(person.name, alg=alg, id_number=person.id_number)
    new.salts = person.salts
    new.party_id = person.party_id
    return new


def rotation_body(old: Person, new: Person, platform_id: str) -> dict[str, str]:
    enrolment = new.enrolment(platform_id)
    payload = key_events.rotate_payload(
        platform_id=platform_id,
        party_id=old.party_id,
        old_key_fingerprint=old.public.fingerprint,
        new_key_fingerprint=new.public.fingerprint,
        new_algorithm=new.public.algorithm,
    )
    return {
        "party_id": old.party_id,
        "new_public_key": new.public.pem,
        "new_enrolment_proof": enrolment["proof"],
        "signature": old.sign_b64(payload),
    }


def revocation_body(holder: Person, parties: dict[str, str], reason: str = "compromised") -> dict:
    """``parties``: party id → platform id, each signed for."""
    return {
        "key_fingerprint": holder.public.fingerprint,
        "reason": reason,
        "signatures": {
            party_id: holder.sign_b64(
                key_events.revoke_payload(
                    platform_id=platform_id,
                    party_id=party_id,
                    key_fingerprint=holder.public.fingerprint,
                    reason=reason,
                )
            )
            for party_id, platform_id in parties.items()
        },
    }


def trust_of(client) -> TrustFile:
    return TrustFile.from_json(client.get("/api/v1/trust").get_data())


def publish(runtime) -> None:
    """What the worker does between requests: stamp the new leaves, sign and stamp a checkpoint."""
    runtime.stamper.stamp_records()
    runtime.clock.advance(seconds=2)
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()


def leaves_of(runtime, leaf_format: str) -> list[dict]:
    with runtime.db.read() as session:
        rows = session.execute(select(LogLeaf.record).where(LogLeaf.format == leaf_format)).scalars().all()
    return [json.loads(row) for row in rows]


def test_a_lost_key_is_replaced_by_a_rotation_the_old_key_approves(
    runtime, client, platform, investor, borrower
):
    old_contract = ready_contract(platform, investor, borrower, runtime, client)
    new = successor(investor)
    # Before: the same identity with a new key is refused; the answer now points to rotation.
    refused = platform.post("/parties", json=new.enrolment(platform.platform_id))
    assert refused.status_code == 409
    assert "rotation" in refused.get_json()["error"]["message"]

    caller = Caller(client, login(client, investor))
    answer = caller.post("/me/keys/rotate", json=rotation_body(investor, new, platform.platform_id))
    assert answer.status_code == 200, answer.get_json()
    rotated = answer.get_json()
    assert rotated["party_id"] == investor.party_id
    assert rotated["key_fingerprint"] == new.public.fingerprint

    # The same party, the same commitment; the new key signs new contracts and logs in.
    filed = platform.file(new, borrower)
    assert (
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(new, filed, "investor")
        ).status_code
        == 200
    )
    assert Caller(client, login(client, new)).get("/me/contracts").status_code == 200
    # The old key signs nothing more, and its token and logins are gone.
    stale = client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(investor, filed, "investor")
    )
    assert stale.status_code == 422  # it does not verify with the party's key any more
    assert caller.get("/me/contracts").status_code == 401
    challenge = client.post("/api/v1/auth/challenge", json={"key_fingerprint": investor.public.fingerprint})
    assert challenge.status_code == 200

    # The old contract verifies with the key that signed it, and its bundle says it was replaced.
    publish(runtime)
    bundle = platform.get(f"/contracts/{old_contract}/evidence").data
    assert members(bundle)["keys/investor.pem"] == investor.public.pem.encode()
    report = verify_bundle(bundle, trust=trust_of(client), now=runtime.clock())
    assert report.valid, [c.to_dict() for c in report.checks if not c.passed]
    parties = {party.role: party for party in report.parties}
    (event,) = parties["investor"].key_events
    assert (event["kind"], event["new_key_fingerprint"]) == ("rotated", new.public.fingerprint)
    assert parties["borrower"].key_events == ()

    (leaf,) = leaves_of(runtime, key_events.KEY_ROTATION)
    assert leaf["approval"]["kind"] == "old_key"
    assert leaf["identity_commitment"] == investor.identity_commitment(platform.platform_id)
    assert key_events.KEY_ROTATION in LEAF_FORMATS
    assert audit_clean(runtime)


def test_rotation_refusals(runtime, client, platform, investor, borrower):
    caller = Caller(client, login(client, investor))
    new = successor(investor)
    body = rotation_body(investor, new, platform.platform_id)

    def refused(changed: dict, status: int, code: str) -> None:
        answer = caller.post("/me/keys/rotate", json={**body, **changed})
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (status, code), answer.get_json()

    refused({"signature": investor.sign_b64(b"something else")}, 422, "bad_signature")
    refused({"new_enrolment_proof": new.sign_b64(b"something else")}, 422, "bad_proof")
    refused({"party_id": borrower.party_id}, 404, "not_found")  # not this key's party
    # The borrower's key as the "new" key: bound to another identity.
    stolen = rotation_body(investor, borrower, platform.platform_id)
    refused({"new_public_key": stolen["new_public_key"], "signature": stolen["signature"]}, 409, "key_in_use")
    assert leaves_of(runtime, key_events.KEY_ROTATION) == []  # nothing was changed


def test_a_key_holder_revokes_a_stolen_key_everywhere_at_once(
    runtime, client, platform, investor, borrower, make_platform
):
    old_contract = ready_contract(platform, investor, borrower, runtime, client)
    other = make_platform("Other Lending")
    first_party = investor.party_id
    other_party = other.enrol(investor)  # the same key and person on a second platform
    investor.party_id = first_party
    pending = platform.file(investor, borrower)
    caller = Caller(client, login(client, investor))

    keys = caller.get("/me/keys").get_json()["parties"]
    assert {item["party_id"] for item in keys} == {first_party, other_party}
    assert all(item["keys"][0]["status"] == "active" and item["keys"][0]["yours"] for item in keys)

    both = {first_party: platform.platform_id, other_party: other.platform_id}
    partial = caller.post(
        "/me/keys/revoke", json=revocation_body(investor, {first_party: platform.platform_id})
    )
    assert (partial.status_code, partial.get_json()["error"]["code"]) == (422, "revocation_incomplete")
    forged = revocation_body(investor, both)
    forged["signatures"][other_party] = borrower.sign_b64(b"x")
    assert caller.post("/me/keys/revoke", json=forged).get_json()["error"]["code"] == "bad_signature"

    answer = caller.post("/me/keys/revoke", json=revocation_body(investor, both))
    assert answer.status_code == 200, answer.get_json()
    assert {item["party_id"] for item in answer.get_json()["parties"]} == {first_party, other_party}

    # At once: the token, logins, signatures and new enrolments of that key are refused.
    assert caller.get("/me/contracts").status_code == 401
    challenge = client.post("/api/v1/auth/challenge", json={"key_fingerprint": investor.public.fingerprint})
    signature = investor.sign_b64(
        payloads.login_payload(
            challenge_base64=challenge.get_json()["challenge_base64"],
            key_fingerprint=investor.public.fingerprint,
        )
    )
    token = client.post(
        "/api/v1/auth/token",
        json={
            "key_fingerprint": investor.public.fingerprint,
            "challenge_base64": challenge.get_json()["challenge_base64"],
            "signature": signature,
        },
    )
    assert token.status_code == 401
    signing = client.post(
        f"/api/v1/contracts/{pending['contract_id']}/signatures",
        json=sign_body(investor, pending, "investor"),
    )
    assert (signing.status_code, signing.get_json()["error"]["code"]) == (409, "key_revoked")
    third = make_platform("Third Lending")
    again = third.post("/parties", json=investor.enrolment(third.platform_id))
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "key_revoked")

    # The contract it signed before still verifies, and its bundle says when it was revoked.
    publish(runtime)
    bundle = platform.get(f"/contracts/{old_contract}/evidence").data
    report = verify_bundle(bundle, trust=trust_of(client), now=runtime.clock())
    assert report.valid, [c.to_dict() for c in report.checks if not c.passed]
    (event,) = next(party for party in report.parties if party.role == "investor").key_events
    assert (event["kind"], event["reason"]) == ("revoked", "compromised")
    assert any(name.startswith("later/events/") for name in members(bundle))
    # One leaf per party, each carrying the key's own notary.revoke.v1 signature.
    revocations = leaves_of(runtime, key_events.KEY_REVOCATION)
    assert {leaf["party_id"] for leaf in revocations} == {first_party, other_party}
    assert all(leaf["by"]["kind"] == "party" for leaf in revocations)
    with runtime.db.read() as session:
        actions = session.execute(select(AuditEntry.action)).scalars().all()
    assert "key.revoke" in actions
    assert audit_clean(runtime)


def test_an_operator_revokes_a_key_then_rotates_the_party_after_checking_the_document(
    runtime, client, platform, investor, borrower
):
    lifecycle = runtime.keys_lifecycle
    revoked = lifecycle.revoke_by_operator(investor.public.fingerprint, reason="lost", operator="Clerk Sun")
    assert list(revoked.leaves) == [investor.party_id]
    with pytest.raises(Exception, match="revoked already"):
        lifecycle.revoke_by_operator(investor.public.fingerprint, reason="lost", operator="Clerk Sun")

    new = successor(investor, alg="p256")
    from notary.services.keys.lifecycle import IdentityMismatch, NewKey

    proof = new.enrolment(platform.platform_id)["proof"]
    with pytest.raises(IdentityMismatch):
        lifecycle.rotate_by_operator(
            party_id=investor.party_id,
            new_key=NewKey(new.public.pem, proof),
            id_type="cn_resident",
            id_number=borrower.id_number,
            operator="Clerk Sun",
        )
    rotated = lifecycle.rotate_by_operator(
        party_id=investor.party_id,
        new_key=NewKey(new.public.pem, proof),
        id_type="cn_resident",
        id_number=investor.id_number,
        operator="Clerk Sun",
    )
    assert rotated.key_fingerprint == new.public.fingerprint
    (leaf,) = leaves_of(runtime, key_events.KEY_ROTATION)
    assert leaf["approval"]["kind"] == "operator"
    with runtime.db.read() as session:
        entry = session.get(AuditEntry, leaf["approval"]["audit_sequence"])
    assert entry.action == "key.rotate"
    filed = platform.file(new, borrower)
    assert (
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(new, filed, "investor")
        ).status_code
        == 200
    )
    keys = Caller(client, login(client, new)).get("/me/keys").get_json()["parties"][0]["keys"]
    assert [(k["status"], k["current"]) for k in keys] == [("active", True), ("revoked", False)]
    assert audit_clean(runtime)


def test_a_mistaken_identity_binding_is_undone(runtime, client, platform, investor, borrower):
    stranger = Person("陌生人")
    filed = platform.file(investor, borrower)
    with runtime.db.write() as session:
        verify_identity(
            session,
            runtime.pii,
            id_type="cn_resident",
            id_number=investor.id_number,  # the mistake: the investor's number, a stranger's key
            public_key_pem=stranger.public.pem,
            operator="Clerk Sun",
            now=now_text(runtime.clock),
        )
    caller = Caller(client, login(client, stranger))
    seen = caller.get("/me/contracts").get_json()["contracts"]
    assert [item["contract_id"] for item in seen] == [filed["contract_id"]]
    (bound,) = leaves_of(runtime, key_events.IDENTITY_BINDING)
    assert bound["key_fingerprint"] == stranger.public.fingerprint
    assert set(bound) == {
        "at",
        "audit_sequence",
        "format",
        "key_fingerprint",
        "operator",
        "previous_record_sha256",
        "sequence",
    }

    unbound = runtime.keys_lifecycle.unbind(
        stranger.public.fingerprint, reason="mistaken", operator="Clerk Sun"
    )
    assert caller.get("/me/contracts").get_json()["contracts"] == []
    assert caller.get(f"/contracts/{filed['contract_id']}").status_code == 404
    (leaf,) = leaves_of(runtime, key_events.IDENTITY_UNBINDING)
    assert (leaf["reason"], leaf["sequence"]) == ("mistaken", unbound.leaf_index)
    # The stranger's key may now be bound to its true holder.
    with runtime.db.write() as session:
        verify_identity(
            session,
            runtime.pii,
            id_type="cn_resident",
            id_number=stranger.id_number,
            public_key_pem=stranger.public.pem,
            operator="Clerk Sun",
            now=now_text(runtime.clock),
        )
    assert audit_clean(runtime)


def test_a_signature_verified_before_a_revocation_and_stored_after_it_is_refused(
    runtime, client, platform, investor, borrower, monkeypatch
):
    """The ceremony verifies outside its write transaction; a revocation that commits in
    between must still stop the signature (before: the row loaded earlier let it through)."""
    from notary.services.ceremony.signatures import Ceremony

    filed = platform.file(investor, borrower)
    verify = Ceremony._verify

    def verify_then_revoke(self, session, contract, party, act, signature):
        verified = verify(self, session, contract, party, act, signature)
        runtime.keys_lifecycle.revoke_by_operator(party.key_fingerprint, reason="compromised", operator="op")
        return verified

    monkeypatch.setattr(Ceremony, "_verify", verify_then_revoke)
    answer = client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(investor, filed, "investor")
    )
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (409, "key_revoked")
    status = platform.get(f"/contracts/{filed['contract_id']}").get_json()
    assert status["signatures"] == {}


def test_audit_finds_a_hidden_revocation_and_a_revived_key(runtime, client, platform, investor, borrower):
    """An insider with the database: delete the index row of a revocation (later bundles would
    leave it out) or set the revoked key active again (it would log in and sign again). The
    leaves are intact, so before this check ``notary audit`` found the store clean."""
    from notary.services.audit.integrity import default_auditors, run_audit
    from notary.storage.models import KeyEventRow, PartyKey

    revoked = runtime.keys_lifecycle.revoke_by_operator(
        investor.public.fingerprint, reason="compromised", operator="Clerk Sun"
    )
    (leaf,) = revoked.leaves.values()
    assert audit_clean(runtime)

    def divergence() -> dict:
        with runtime.db.read() as session:
            trusted = runtime.origins.trusted_logs(session)
        report = run_audit(runtime.db, default_auditors(runtime.blobs, trusted_logs=trusted))
        (found,) = [r.divergence for r in report.results if r.divergence]
        return found.as_dict()

    with runtime.db.write() as session:
        row = session.get(PartyKey, (investor.party_id, investor.public.fingerprint))
        row.status = "active"
    found = divergence()
    assert (found["check"], found["found"]) == ("key_events", "active")
    with runtime.db.write() as session:
        session.get(PartyKey, (investor.party_id, investor.public.fingerprint)).status = "revoked"
        index = session.get(KeyEventRow, leaf)
        saved = (index.kind, index.key_fingerprint, index.party_id, index.at)
        session.delete(index)
    found = divergence()
    assert (found["check"], found["where"]) == ("key_events", str(leaf))
    assert "missing" in found["message"]
    with runtime.db.write() as session:
        kind, key, party, at = saved
        session.add(
            KeyEventRow(leaf_sequence=leaf, kind="unbound", key_fingerprint=key, party_id=party, at=at)
        )
    assert "disagrees" in divergence()["message"]
    with runtime.db.write() as session:
        session.get(KeyEventRow, leaf).kind = kind
    assert audit_clean(runtime)


def test_audit_holds_every_key_a_party_has_had_to_its_fingerprint(
    runtime, client, platform, investor, borrower
):
    """After a rotation the party's earlier signatures name its old key, which is no divergence.
    That key's row in ``party_keys`` is what the old contracts' bundles carry, so an insider who
    puts another key there is found, as for the current key in ``parties`` (issue 15.4)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from sqlalchemy import update

    from notary.services.audit.integrity import default_auditors, run_audit
    from notary.storage.models import PartyKey

    ready_contract(platform, investor, borrower, runtime, client)
    new = successor(investor)
    caller = Caller(client, login(client, investor))
    assert (
        caller.post("/me/keys/rotate", json=rotation_body(investor, new, platform.platform_id)).status_code
        == 200
    )
    assert audit_clean(runtime)

    stranger = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with runtime.db.write() as session:
        session.execute(
            update(PartyKey)
            .where(
                PartyKey.party_id == investor.party_id,
                PartyKey.key_fingerprint == investor.public.fingerprint,
            )
            .values(public_key_der=stranger)
        )
    with runtime.db.read() as session:
        trusted = runtime.origins.trusted_logs(session)
    report = run_audit(runtime.db, default_auditors(runtime.blobs, trusted_logs=trusted))
    (found,) = [result.divergence for result in report.results if result.divergence]
    assert (found.check, found.where) == (
        "party_keys",
        f"{investor.public.fingerprint} of party {investor.party_id}",
    )
    assert "not the key its fingerprint names" in found.message


def test_the_me_keys_fragment_is_the_key_holders_alone(runtime, client, platform, investor):
    assert client.get("/me/keys").status_code == 401
    token = login(client, investor)
    page = client.get("/me/keys?lang=en", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert f'data-party="{investor.party_id}"' in html
    assert f'data-platform="{platform.platform_id}"' in html
    assert f'<form id="revoke" class="danger" data-key="{investor.public.fingerprint}">' in html
    assert investor.id_number not in html  # masked only


def test_after_a_rotation_the_same_opening_proves_the_identity_of_the_new_keys_signature(
    runtime, client, platform, investor, borrower
):
    """The new key's own notary.enrol.v2 proof over the unchanged commitment rides in each new
    record, so the person's one opening proves who signed, with either key."""
    from notary.verify.identity import parse_opening

    new = successor(investor)
    caller = Caller(client, login(client, investor))
    assert (
        caller.post("/me/keys/rotate", json=rotation_body(investor, new, platform.platform_id)).status_code
        == 200
    )
    contract = ready_contract(platform, new, borrower, runtime, client)
    bundle = platform.get(f"/contracts/{contract}/evidence").data
    opening = parse_opening(investor.opening(platform.platform_id))
    report = verify_bundle(bundle, trust=trust_of(client), openings=[opening], now=runtime.clock())
    assert report.valid, [c.to_dict() for c in report.checks if not c.passed]
    signer = next(party for party in report.parties if party.role == "investor")
    assert signer.key_fingerprint == new.public.fingerprint
    assert signer.identity is not None
    assert signer.identity.status == "proven"
