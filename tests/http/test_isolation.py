"""Platforms are isolated: another platform's objects are a 404, exactly like missing ones."""

from __future__ import annotations

import base64

from notary.services.access.platforms import mark_defunct
from notary.services.clock import now_text
from tests.support.people import Person
from tests.support.platforms import contract_terms


def test_another_platform_sees_nothing(platform, investor, borrower, runtime, client, make_platform):
    filed = platform.file(investor, borrower)
    cid = filed["contract_id"]
    other = make_platform("Other Lending")
    for path in (
        f"/contracts/{cid}",
        f"/contracts/{cid}/signing-payload?role=investor",
        f"/contracts/{cid}/document",
    ):
        mine, theirs, missing = (
            platform.get(path),
            other.get(path),
            other.get(path.replace(cid, "ct_missing")),
        )
        assert mine.status_code == 200
        assert (theirs.status_code, missing.status_code) == (404, 404)
        assert theirs.get_json() == missing.get_json()


def test_another_platforms_parties_cannot_be_named(
    platform, investor, borrower, runtime, client, make_platform
):
    other = make_platform("Other Lending")
    own = Person()
    other.enrol(own)
    body = {
        "document_base64": base64.b64encode(b"doc").decode(),
        "media_type": "application/pdf",
        "terms": contract_terms(own, borrower),
    }
    response = other.post("/contracts", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_party"


def test_defunct_platform_token_is_refused(platform, investor, borrower, runtime):
    filed = platform.file(investor, borrower)
    with runtime.db.write() as session:
        mark_defunct(session, platform.platform_id, now=now_text(runtime.clock))
    response = platform.get(f"/contracts/{filed['contract_id']}")
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "platform_defunct"
