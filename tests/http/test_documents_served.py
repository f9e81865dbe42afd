"""A document is served as exactly what was filed, and only harmless types are filed
(issue 25 item 5): a GB18030 contract filed as ``text/plain`` came back as ``text/plain;
charset=utf-8`` and showed garbled to the party checking what it signs.
"""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select, update

from notary.storage.access_models import AuditEntry
from notary.storage.models import Contract
from tests.support.access import approve, new_investigator, open_case
from tests.support.platforms import contract_terms

GB18030_CONTRACT = "借款合同：出借人张三，借款人李四，金额壹万元整。\n".encode("gb18030")


def file_as(platform, investor, borrower, document, media_type):
    body = {
        "document_base64": base64.b64encode(document).decode(),
        "media_type": media_type,
        "terms": contract_terms(investor, borrower),
    }
    return platform.post("/contracts", json=body)


@pytest.mark.parametrize(
    ("media_type", "document"),
    [
        ("text/plain", GB18030_CONTRACT),
        ("application/pdf", b"%PDF-1.4\n% contract\n"),
        ("application/ofd", b"PK\x03\x04 ofd"),
        ("image/png", b"\x89PNG\r\n\x1a\n"),
        ("image/jpeg", b"\xff\xd8\xff\xe0"),
    ],
)
def test_the_document_comes_back_with_exactly_the_filed_type(
    platform, investor, borrower, media_type, document
):
    filed = file_as(platform, investor, borrower, document, media_type)
    assert filed.status_code == 201, filed.get_json()
    served = platform.get(f"/contracts/{filed.get_json()['contract_id']}/document")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == media_type  # no "; charset=utf-8" added
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.data == document


@pytest.mark.parametrize(
    "media_type",
    [
        "text/html",
        "image/svg+xml",
        "application/xhtml+xml",
        "application/xml",
        "text/javascript",
        "application/octet-stream",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ],
)
def test_active_or_unknown_types_are_refused(platform, investor, borrower, runtime, media_type):
    refused = file_as(platform, investor, borrower, b"<svg onload=alert(1)>", media_type)
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "unsupported_document_type"
    assert "application/pdf" in error["message"]
    with runtime.db.read() as session:
        assert session.execute(select(func.count()).select_from(Contract)).scalar_one() == 0


def test_a_type_filed_before_the_allow_list_is_served_as_octet_stream(platform, investor, borrower, runtime):
    filed = file_as(platform, investor, borrower, b"<p>old</p>", "text/plain").get_json()
    with runtime.db.write() as session:  # as stored by an earlier release
        session.execute(update(Contract).values(media_type="text/html"))
    served = platform.get(f"/contracts/{filed['contract_id']}/document")
    assert served.headers["Content-Type"] == "application/octet-stream"
    assert served.data == b"<p>old</p>"


def test_an_investigators_signing_payload_read_records_role_and_purpose(
    runtime, client, platform, investor, borrower
):
    filed = platform.file(investor, borrower)["contract_id"]
    investigator = new_investigator(runtime, client)
    case_id = open_case(investigator, {"platform_id": platform.platform_id})
    approve(runtime, case_id)
    for query in ("role=borrower", "role=investor&purpose=decline"):
        assert investigator.get(f"/contracts/{filed}/signing-payload?{query}").status_code == 200
    with runtime.db.read() as session:
        entries = (
            session.execute(
                select(AuditEntry.entry)
                .where(AuditEntry.action == "signing_payload.read")
                .order_by(AuditEntry.sequence)
            )
            .scalars()
            .all()
        )
    details = [json.loads(entry)["details"] for entry in entries]
    assert details == [
        {"basis": "case", "role": "borrower", "purpose": "notary.sign.v1"},
        {"basis": "case", "role": "investor", "purpose": "notary.decline.v1"},
    ]
