"""``POST /me/check`` (核验): what the platform filed in the caller's name, and nothing about anyone else."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from notary.services.access import checks
from notary.services.access.key_holders import verify_identity
from notary.services.clock import now_text
from notary.storage.models import Contract
from tests.support.access import Caller, login, new_investigator
from tests.support.people import Person
from tests.support.platforms import DOCUMENT, new_platform, sign_body

DIGEST = hashlib.sha256(DOCUMENT).hexdigest()
NEVER_FILED = hashlib.sha256(b"a document nobody filed").hexdigest()


def check(caller, digest, **claimed):
    body = {"document_sha256": digest}
    if claimed:
        body["claimed"] = claimed
    return caller.post("/me/check", json=body)


def answer_of(caller, digest, **claimed):
    response = check(caller, digest, **claimed)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def seal(runtime, client, filed, *people):
    for role, person in zip(("investor", "borrower"), people, strict=True):
        answer = client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
        assert answer.status_code in (200, 201), answer.get_json()
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()


def test_filed_and_awaiting_names_whose_signature_is_missing(client, platform, investor, borrower):
    filed = platform.file(investor, borrower, title="个人借款合同")
    client.post(
        f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(borrower, filed, "borrower")
    )

    answer = answer_of(Caller(client, login(client, investor)), DIGEST)

    assert answer["result"] == "filed"
    assert answer["more"] is False
    (item,) = answer["contracts"]
    assert item["contract_id"] == filed["contract_id"]
    assert (item["role"], item["party_id"], item["status"]) == (
        "investor",
        investor.party_id,
        "awaiting_signatures",
    )
    assert item["awaiting"] == [{"role": "investor", "you": True}]
    assert item["under_another_key"] is False
    assert item["platform"] == {
        "platform_id": platform.platform_id,
        "name": "Example Lending",
        "status": "active",
    }
    assert item["terms"]["amount"] == "10000.00"
    assert item["terms"]["title"] == "个人借款合同"
    assert item["document_sha256"] == DIGEST
    assert "evidence" not in item
    assert "claim_differs" not in item


def test_filed_and_sealed_links_the_evidence(runtime, client, platform, investor, borrower):
    filed = platform.file(investor, borrower)
    seal(runtime, client, filed, investor, borrower)

    borrower_caller = Caller(client, login(client, borrower))
    (item,) = answer_of(borrower_caller, DIGEST)["contracts"]

    assert (item["role"], item["status"]) == ("borrower", "sealed")
    assert "awaiting" not in item
    evidence = item["evidence"]
    assert evidence["ready"] is True
    assert evidence["bundle"] == f"/api/v1/contracts/{filed['contract_id']}/evidence"
    # The links work with the same token.
    assert borrower_caller.client.get(evidence["bundle"], headers=borrower_caller.headers).status_code == 200
    assert (
        borrower_caller.client.get(evidence["certificate"], headers=borrower_caller.headers).status_code
        == 200
    )


def test_claimed_terms_that_differ_are_named(client, platform, investor, borrower):
    platform.file(investor, borrower)
    caller = Caller(client, login(client, investor))

    (item,) = answer_of(caller, DIGEST, amount="100000", start_date="2026-12-01")["contracts"]
    assert item["claim_differs"] == ["amount"]
    (item,) = answer_of(caller, DIGEST, amount="10000", platform_id=platform.platform_id)["contracts"]
    assert "claim_differs" not in item  # 10000 and 10000.00 are one amount (compared in fen)


def test_document_differs_when_the_terms_match_but_the_copy_does_not(
    runtime, client, platform, investor, borrower
):
    filed = platform.file(investor, borrower, document=b"%PDF-1.4\n% the platform's altered copy\n")
    caller = Caller(client, login(client, investor))

    answer = answer_of(caller, DIGEST, amount="10000.00", start_date="2026-12-01")
    assert answer["result"] == "document_differs"
    (item,) = answer["contracts"]
    assert item["contract_id"] == filed["contract_id"]
    assert item["document_sha256"] == filed["document_sha256"] != DIGEST

    # Terms that match no contract of the caller's, or a platform alone, are not a match.
    assert answer_of(caller, DIGEST, amount="9999.00")["result"] == "not_filed"
    assert answer_of(caller, DIGEST, platform_id=platform.platform_id)["result"] == "not_filed"
    assert answer_of(caller, DIGEST)["result"] == "not_filed"
    other = new_platform(runtime, client, "Other Lending")
    assert (
        answer_of(caller, DIGEST, amount="10000.00", platform_id=other.platform_id)["result"] == "not_filed"
    )


def test_filed_under_another_key_of_a_verified_identity_is_flagged(
    runtime, client, platform, investor, borrower
):
    # The platform enrolled the investor's ID number with a key it made itself, and filed.
    forged = Person(investor.name, id_number=investor.id_number)
    other = new_platform(runtime, client, "Other Lending")
    other.enrol(forged)
    carol = Person("Carol")
    other.enrol(carol)
    other.file(forged, carol)
    caller = Caller(client, login(client, investor))

    # Before an operator verified the investor's identity, it is not the investor's to see.
    assert answer_of(caller, DIGEST)["result"] == "not_filed"

    with runtime.db.write() as session:
        verify_identity(
            session,
            runtime.pii,
            id_type="cn_resident",
            id_number=investor.id_number,
            public_key_pem=investor.public.pem,
            operator="op",
            now=now_text(runtime.clock),
        )
    answer = answer_of(caller, DIGEST)
    assert answer["result"] == "filed"
    (item,) = answer["contracts"]
    assert item["under_another_key"] is True
    assert item["party_id"] == forged.party_id
    assert item["platform"]["platform_id"] == other.platform_id


def test_a_long_list_of_term_matches_never_hides_the_document(
    client, platform, investor, borrower, monkeypatch
):
    for index in range(3):
        platform.file(investor, borrower, document=b"other copy %d" % index)
    platform.file(investor, borrower)
    caller = Caller(client, login(client, investor))
    monkeypatch.setattr(checks, "MAX_CONTRACTS", 2)

    answer = answer_of(caller, DIGEST, start_date="2026-12-01")
    assert answer["result"] == "filed"
    assert [item["document_sha256"] for item in answer["contracts"]] == [DIGEST]
    answer = answer_of(caller, NEVER_FILED, start_date="2026-12-01")
    assert answer["result"] == "document_differs"
    assert len(answer["contracts"]) == 2
    assert answer["more"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"document_sha256": DIGEST.upper()}, "document_sha256"),
        ({"document_sha256": DIGEST[:-1]}, "document_sha256"),
        ({"document_sha256": DIGEST, "claimed": {"amount": "1,000.00"}}, "claimed.amount"),
        ({"document_sha256": DIGEST, "claimed": {"amount": "１０００"}}, "claimed.amount"),
        ({"document_sha256": DIGEST, "claimed": {"start_date": "2026-02-30"}}, "claimed.start_date"),
        ({"document_sha256": DIGEST, "claimed": {"platform_id": "pl 1"}}, "claimed.platform_id"),
        ({"document_sha256": DIGEST, "claimed": {"rate": "0.08"}}, "claimed"),
        ({}, "document_sha256"),
    ],
)
def test_bad_input_is_refused_naming_the_field(client, investor, body, field):
    response = Caller(client, login(client, investor)).post("/me/check", json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert any(key == field or key.startswith(field + ".") for key in error["details"]), error


def test_only_key_holders_check(runtime, client, platform):
    assert check(Caller(client), DIGEST).status_code == 401
    assert check(Caller(client, platform.token), DIGEST).status_code == 403
    assert check(Caller(client, new_investigator(runtime, client).token), DIGEST).status_code == 403


@contextmanager
def statements(runtime):
    """Every statement the database is sent, with its parameters."""
    seen: list[tuple[str, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, repr(parameters)))

    event.listen(runtime.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("claimed", [{}, {"amount": "10000.00", "start_date": "2026-12-01"}])
def test_someone_elses_document_is_answered_as_one_nobody_filed(
    runtime, client, platform, investor, borrower, claimed
):
    """The privacy rule, structurally: the same statements, the same parameters but the digest,
    and the same bytes, whether the document is another person's contract or nobody's."""
    platform.file(investor, borrower)
    stranger = Person("王五")
    platform.enrol(stranger)
    caller = Caller(client, login(client, stranger))
    check(caller, NEVER_FILED, **claimed)  # warm the statement caches alike for both

    answers = {}
    sent = {}
    for name, digest in (("someone else's", DIGEST), ("never filed", NEVER_FILED)):
        with statements(runtime) as seen:
            response = check(caller, digest, **claimed)
        answers[name] = (response.status_code, response.headers.get("Content-Type"), response.get_data())
        sent[name] = [(sql, parameters.replace(digest, "<digest>")) for sql, parameters in seen]

    assert answers["someone else's"] == answers["never filed"]
    assert answers["never filed"][0] == 200
    assert sent["someone else's"] == sent["never filed"]
    # One statement looks at contracts, whatever the answer.
    assert sum("FROM contracts" in sql for sql, _ in sent["never filed"]) == 1


def test_no_index_leads_with_the_document_digest():
    """A lookup by digest would read another person's contract before dropping it; the check
    goes through the caller's parties. Whoever adds such an index must read checks.py first."""
    for index in Contract.__table__.indexes:
        assert next(iter(index.columns)).name != "document_sha256", index.name
    for constraint in Contract.__table__.constraints:
        columns = list(getattr(constraint, "columns", []))
        assert not columns or columns[0].name != "document_sha256", constraint


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_check_reaches_contracts_through_the_party_indexes(runtime, platform, investor, borrower):
    """Before: the caller's parties and contracts were ORs with subqueries, which PostgreSQL
    cannot look up in an index: every check read every party and every contract (about 280 ms
    at 5x10^5 contracts, 6 ms through the indexes). With sequential scans priced out, the plan
    a large table gets shows on a small one."""
    platform.file(investor, borrower)
    parameters = {
        "key_fingerprint": investor.public.fingerprint,
        "document_sha256": DIGEST,
        "by_terms": True,
        "amount_fen": None,
        "start_date": None,
        "claimed_platform_id": None,
        "limit": 101,
    }
    with runtime.db.engine.connect() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        statement = checks._CANDIDATES.compile(dialect=connection.dialect)
        plan = "\n".join(
            connection.exec_driver_sql(
                f"EXPLAIN {statement}", statement.construct_params(parameters)
            ).scalars()
        )
    for index in ("ix_parties_key_fingerprint", "ix_contracts_investor_id", "ix_contracts_borrower_id"):
        assert index in plan, plan
