"""The certificate route: made once from stored evidence, the same bytes every time, reproducible."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from sqlalchemy import select

from notary.storage.models import IssuedCertificate
from tests.support.platforms import sign_body


def ready_contract(platform, investor, borrower, runtime, client):
    filed = platform.file(investor, borrower, title="个人借款合同")
    for role, person in (("investor", investor), ("borrower", borrower)):
        client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
    runtime.sequencer.seal_pending()
    return filed["contract_id"]


@pytest.mark.slow
def test_certificate_is_made_once_and_reproducible(
    platform, investor, borrower, runtime, client, make_platform
):
    cid = ready_contract(platform, investor, borrower, runtime, client)
    early = platform.get(f"/contracts/{cid}/certificate")
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "evidence_not_ready"
    assert early.headers["Retry-After"]
    runtime.stamper.stamp_records()
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()

    first = platform.get(f"/contracts/{cid}/certificate")
    assert first.status_code == 200, first.get_json()
    assert first.mimetype == "application/pdf"
    again = platform.get(f"/contracts/{cid}/certificate")
    assert again.data == first.data
    digest = hashlib.sha256(first.data).hexdigest()
    assert first.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"
    with runtime.db.read() as session:
        issued = session.execute(select(IssuedCertificate)).scalar_one()
    assert issued.pdf_sha256 == digest
    assert runtime.certificates.reproduce(cid) is True

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(first.data))
    assert len(reader.embedded_signatures) == 1
    # Masked identities only: never a full ID number.
    assert investor.id_number.encode() not in first.data

    other = make_platform("Other Lending")
    assert other.get(f"/contracts/{cid}/certificate").status_code == 404
