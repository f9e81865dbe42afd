"""``/me/contracts``: a key holder sees what every platform filed in its name, and nothing else."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from notary.errors import NotaryError
from notary.services.access.key_holders import verify_identity
from notary.services.access.platforms import mark_defunct
from notary.services.clock import now_text
from notary.storage.models import LogLeaf, Signature
from tests.support.access import Caller, login
from tests.support.people import Person
from tests.support.platforms import DOCUMENT, sign_body


def verify(runtime, person, *, id_number=None, key=None):
    with runtime.db.write() as session:
        return verify_identity(
            session,
            runtime.pii,
            id_type="cn_resident",
            id_number=id_number or person.id_number,
            public_key_pem=(key or person).public.pem,
            operator="op",
            now=now_text(runtime.clock),
        )


def listed(caller, **query):
    answer = caller.get("/me/contracts", query_string=query)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_every_platform_defunct_included(runtime, client, platform, investor, borrower, make_platform):
    here = platform.file(investor, borrower, title="个人借款合同")
    other = make_platform("Other Lending")
    other.enrol(investor)  # the same key and identity, enrolled by a second platform
    carol = Person("Carol")
    other.enrol(carol)
    there = other.file(investor, carol, amount="500.00")
    dave = Person("Dave")
    other.enrol(dave)
    unrelated = other.file(carol, dave)
    with runtime.db.write() as session:
        mark_defunct(session, other.platform_id, now=now_text(runtime.clock))

    items = listed(Caller(client, login(client, investor)))["contracts"]
    by_id = {item["contract_id"]: item for item in items}
    assert set(by_id) == {here["contract_id"], there["contract_id"]}
    assert unrelated["contract_id"] not in by_id
    mine = by_id[here["contract_id"]]
    assert mine["platform"] == {
        "platform_id": platform.platform_id,
        "name": "Example Lending",
        "status": "active",
    }
    assert (mine["role"], mine["status"], mine["signed_with_your_key"]) == (
        "investor",
        "awaiting_signatures",
        True,
    )
    assert (mine["amount"], mine["currency"], mine["title"]) == ("10000.00", "CNY", "个人借款合同")
    assert mine["document_sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    assert by_id[there["contract_id"]]["platform"]["status"] == "defunct"
    assert by_id[there["contract_id"]]["amount"] == "500.00"

    borrower_items = listed(Caller(client, login(client, borrower)))["contracts"]
    assert [(i["contract_id"], i["role"]) for i in borrower_items] == [(here["contract_id"], "borrower")]


def test_pages_follow_the_cursor(client, platform, investor, borrower):
    filed = [platform.file(investor, borrower, external_ref=f"loan-{i}")["contract_id"] for i in range(5)]
    caller = Caller(client, login(client, investor))
    seen, cursor = [], None
    for _ in range(5):
        page = listed(caller, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [item["contract_id"] for item in page["contracts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(filed)
    assert caller.get("/me/contracts", query_string={"limit": 0}).status_code == 422
    assert caller.get("/me/contracts", query_string={"limit": 501}).status_code == 422


def test_another_key_is_shown_only_after_an_operator_verified_the_identity(
    runtime, client, platform, investor, borrower, make_platform
):
    rogue = make_platform("Rogue Lending")
    # The rogue platform enrols the investor's ID number with a key it made up.
    made_up = Person("张三", id_number=investor.id_number)
    rogue.enrol(made_up)
    stooge = Person("Stooge")
    rogue.enrol(stooge)
    forged = rogue.file(made_up, stooge, amount="99999.00")
    own = platform.file(investor, borrower)

    caller = Caller(client, login(client, investor))
    assert [i["contract_id"] for i in listed(caller)["contracts"]] == [own["contract_id"]]
    for path in ("", "/document", "/signing-payload?role=investor"):
        assert caller.get(f"/contracts/{forged['contract_id']}{path}").status_code == 404

    verified = verify(runtime, investor)
    assert verified.created
    assert verified.verification.id_number_masked.count("*") == 8
    items = {i["contract_id"]: i for i in listed(caller)["contracts"]}
    assert set(items) == {own["contract_id"], forged["contract_id"]}
    assert items[forged["contract_id"]]["signed_with_your_key"] is False
    assert items[forged["contract_id"]]["platform"]["name"] == "Rogue Lending"
    assert items[own["contract_id"]]["signed_with_your_key"] is True
    assert caller.get(f"/contracts/{forged['contract_id']}").get_json()["terms"]["amount"] == "99999.00"
    assert caller.get(f"/contracts/{forged['contract_id']}/document").data == DOCUMENT
    # The made-up key's holder sees its own contract, but not the investor's.
    rogue_caller = Caller(client, login(client, made_up))
    assert [i["contract_id"] for i in listed(rogue_caller)["contracts"]] == [forged["contract_id"]]
    assert rogue_caller.get(f"/contracts/{own['contract_id']}").status_code == 404


def test_a_verified_key_that_no_platform_enrolled_logs_in(runtime, client, platform, investor, borrower):
    filed = platform.file(investor, borrower)
    own_key = Person("张三", id_number=investor.id_number)  # the person's own key, never enrolled
    verify(runtime, investor, key=own_key)
    items = listed(Caller(client, login(client, own_key)))["contracts"]
    assert [(i["contract_id"], i["signed_with_your_key"]) for i in items] == [(filed["contract_id"], False)]


def test_verification_binds_a_key_to_one_identity(runtime, platform, investor):
    assert verify(runtime, investor).created
    assert not verify(runtime, investor).created  # idempotent
    with pytest.raises(NotaryError) as refused:
        verify(runtime, investor, id_number=Person().id_number)
    assert refused.value.code == "key_in_use"
    with pytest.raises(NotaryError) as refused:
        verify(runtime, investor, id_number="110105194912310021")
    assert refused.value.code == "bad_id_number"
    # A platform cannot bind a verified key to another identity either.
    other = Person("Other")
    other.private, other.public = investor.private, investor.public
    answer = platform.post("/parties", json=other.enrolment(platform.platform_id))
    assert answer.get_json()["error"]["code"] == "key_in_use"


def test_signatures_by_a_verified_key_carry_verified_assurance(runtime, client, platform, investor, borrower):
    before = platform.file(investor, borrower, external_ref="before")
    client.post(
        f"/api/v1/contracts/{before['contract_id']}/signatures", json=sign_body(investor, before, "investor")
    )
    verify(runtime, investor)
    after = platform.file(investor, borrower, external_ref="after")
    for filed in (before, after):
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures",
            json=sign_body(borrower, filed, "borrower"),
        )
    client.post(
        f"/api/v1/contracts/{after['contract_id']}/signatures", json=sign_body(investor, after, "investor")
    )
    runtime.sequencer.seal_pending()
    with runtime.db.read() as session:
        assurance = {
            (act.contract_id, act.role): act.identity_assurance
            for act in session.execute(select(Signature)).scalars()
        }
        records = {
            leaf.contract_id: json.loads(leaf.record) for leaf in session.execute(select(LogLeaf)).scalars()
        }
    assert assurance[(before["contract_id"], "investor")] == "platform"  # as of signing
    assert assurance[(after["contract_id"], "investor")] == "verified"
    assert assurance[(after["contract_id"], "borrower")] == "platform"
    signatures = records[after["contract_id"]]["signatures"]
    assert signatures["investor"]["identity_assurance"] == "verified"
    assert records[before["contract_id"]]["signatures"]["investor"]["identity_assurance"] == "platform"
