"""Filing: bad input is refused with its code and stores nothing; idempotency; batches."""

from __future__ import annotations

import base64
import io
import json
import threading

import pytest
from sqlalchemy import func, select

from notary.storage.models import Contract
from tests.support.people import Person
from tests.support.platforms import DOCUMENT, contract_terms


def contract_count(runtime) -> int:
    with runtime.db.read() as session:
        return session.execute(select(func.count()).select_from(Contract)).scalar_one()


def json_filing(first, second, document=DOCUMENT, **terms):
    return {
        "document_base64": base64.b64encode(document).decode(),
        "media_type": "application/pdf",
        "terms": contract_terms(first, second, **terms),
    }


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"amount": "10000.001"}, "validation_failed", "terms.amount"),
        ({"amount": "0.00"}, "validation_failed", "terms.amount"),
        ({"amount": "-5"}, "validation_failed", "terms.amount"),
        ({"amount": 10000}, "validation_failed", "terms.amount"),
        ({"amount": "1e5"}, "validation_failed", "terms.amount"),
        ({"annual_rate": "1.5"}, "validation_failed", "terms.annual_rate"),
        ({"annual_rate": "0.1234567"}, "validation_failed", "terms.annual_rate"),
        ({"term_months": "12"}, "validation_failed", "terms.term_months"),
        ({"term_months": True}, "validation_failed", "terms.term_months"),
        ({"term_months": 12.5}, "validation_failed", "terms.term_months"),
        ({"term_months": 0}, "validation_failed", "terms.term_months"),
        ({"currency": "cny"}, "validation_failed", "terms.currency"),
        ({"start_date": "2026-02-30"}, "validation_failed", "terms.start_date"),
        ({"sign_by": "2026-12-08"}, "validation_failed", "terms.sign_by"),
        ({"sign_by": "2020-01-01T00:00:00Z"}, "validation_failed", "terms.sign_by"),
        ({"nickname": "x"}, "validation_failed", "terms.nickname"),
        ({"title": None, "external_ref": ""}, "validation_failed", "terms.external_ref"),
        ({"investor": "pa_doesnotexist"}, "unknown_party", "terms.investor"),
    ],
)
def test_bad_terms_are_refused(platform, investor, borrower, runtime, change, code, field):
    response = platform.post("/contracts", json=json_filing(investor, borrower, **change))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    assert field in error["details"]
    assert contract_count(runtime) == 0


def test_missing_terms_and_same_party_twice(platform, investor, borrower, runtime):
    terms = contract_terms(investor, borrower)
    del terms["currency"]
    body = {
        "document_base64": base64.b64encode(DOCUMENT).decode(),
        "media_type": "application/pdf",
        "terms": terms,
    }
    response = platform.post("/contracts", json=body)
    assert response.get_json()["error"]["details"] == {"terms.currency": ["Missing data for required field."]}
    response = platform.post("/contracts", json=json_filing(investor, investor, borrower=investor.party_id))
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert contract_count(runtime) == 0


def test_bad_bodies(platform, investor, borrower, runtime):
    good = json_filing(investor, borrower)
    cases = [
        ({"data": b'{"document_base64": ', "content_type": "application/json"}, 400, "malformed_json"),
        ({"data": b"[1, NaN]", "content_type": "application/json"}, 400, "malformed_json"),
        ({"data": b"hello", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"json": {**good, "document_base64": "not base64!"}}, 422, "validation_failed"),
        ({"json": {**good, "document_base64": ""}}, 422, "empty_document"),
        ({"json": {**good, "media_type": "pdf"}}, 422, "validation_failed"),
        ({"json": {**good, "terms": "a string"}}, 422, "validation_failed"),
        ({"json": {"media_type": "application/pdf", "terms": good["terms"]}}, 422, "validation_failed"),
    ]
    for kwargs, status, code in cases:
        response = platform.post("/contracts", **kwargs)
        assert response.status_code == status, (kwargs, response.get_json())
        assert response.get_json()["error"]["code"] == code
    assert contract_count(runtime) == 0


def test_multipart_filing(platform, investor, borrower):
    terms = json.dumps(contract_terms(investor, borrower))
    response = platform.post(
        "/contracts",
        data={
            "document": (
                io.BytesIO(b"PK\x03\x04 ofd bytes"),
                "loan.ofd",
                "application/ofd",
            ),
            "terms": terms,
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    cid = response.get_json()["contract_id"]
    view = platform.get(f"/contracts/{cid}").get_json()
    assert view["media_type"] == "application/ofd"
    document = platform.get(f"/contracts/{cid}/document")
    assert document.data == b"PK\x03\x04 ofd bytes"
    assert document.headers["Content-Disposition"].endswith('.ofd"')


def test_multipart_bad_input(platform, investor, borrower, runtime):
    terms = json.dumps(contract_terms(investor, borrower))
    cases = [
        ({"terms": terms}, "validation_failed"),
        ({"document": (io.BytesIO(DOCUMENT), "a.pdf", "application/pdf")}, "validation_failed"),
        ({"document": (io.BytesIO(b""), "a.pdf", "application/pdf"), "terms": terms}, "empty_document"),
        (
            {"document": (io.BytesIO(DOCUMENT), "a.pdf", "application/pdf"), "terms": "{oops"},
            "malformed_json",
        ),
    ]
    for data, code in cases:
        response = platform.post("/contracts", data=data, content_type="multipart/form-data")
        assert response.get_json()["error"]["code"] == code, data
    assert contract_count(runtime) == 0


def test_oversized_documents_get_413(settings, investor, borrower, platform, runtime):
    limit = 1024
    object.__setattr__(runtime.settings, "max_document_bytes", limit)
    big = b"x" * (limit + 1)
    response = platform.post("/contracts", json=json_filing(investor, borrower, document=big))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    terms = json.dumps(contract_terms(investor, borrower))
    response = platform.post(
        "/contracts",
        data={"document": (io.BytesIO(big), "a.pdf", "application/pdf"), "terms": terms},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    exact = platform.post("/contracts", json=json_filing(investor, borrower, document=b"y" * limit))
    assert exact.status_code == 201
    assert contract_count(runtime) == 1


class CountingStream(io.RawIOBase):
    """A request body that records how much of it the server read."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.read_bytes

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.remaining, 65536)
        buffer[:n] = b"a" * n
        self.remaining -= n
        self.read_bytes += n
        return n


def test_oversized_body_is_refused_without_reading_it(app, platform, runtime):
    from werkzeug.test import create_environ

    object.__setattr__(runtime.settings, "max_document_bytes", 1024 * 1024)
    size = 200 * 1024 * 1024
    stream = CountingStream(size)
    environ = create_environ(
        "/api/v1/contracts",
        method="POST",
        headers={**platform.auth, "Content-Type": "application/json"},
    )
    environ["wsgi.input"] = stream
    environ["CONTENT_LENGTH"] = str(size)
    statuses = []
    body = b"".join(app.wsgi_app(environ, lambda status, headers, *_: statuses.append(status)))
    assert statuses == ["413 REQUEST ENTITY TOO LARGE"]
    assert json.loads(body)["error"]["code"] == "too_large"
    assert stream.read_bytes < 1024 * 1024


def test_idempotent_replay_and_conflict(platform, investor, borrower, runtime):
    body = json_filing(investor, borrower, external_ref="loan-7")
    first = platform.post("/contracts", json=body)
    again = platform.post("/contracts", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.get_json() == first.get_json()
    other = json_filing(investor, borrower, external_ref="loan-7", amount="20000.00")
    conflict = platform.post("/contracts", json=other)
    assert conflict.status_code == 409
    assert conflict.get_json()["error"]["code"] == "idempotency_conflict"
    # Terms are compared as sent: the defaulted sign_by written out is other content.
    explicit = json_filing(
        investor, borrower, external_ref="loan-7", sign_by=first.get_json()["terms"]["sign_by"]
    )
    assert platform.post("/contracts", json=explicit).status_code == 409
    assert contract_count(runtime) == 1


def test_the_same_filing_sent_at_once_from_many_threads_is_stored_once(platform, investor, borrower, runtime):
    # The lookups run before the write transaction: the threads that lose the race on the
    # unique external_ref run again and replay the winner's contract.
    from notary.services.filing.service import Filing

    filing = Filing(DOCUMENT, "application/pdf", contract_terms(investor, borrower, external_ref="loan-race"))
    barrier = threading.Barrier(6)
    answers = []

    def file() -> None:
        barrier.wait()
        answers.append(runtime.filing.file_one(platform.platform_id, filing))

    threads = [threading.Thread(target=file) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.replayed for answer in answers) == [False, True, True, True, True, True]
    assert len({answer.body["contract_id"] for answer in answers}) == 1
    assert contract_count(runtime) == 1


def test_idempotency_key_header(platform, investor, borrower, runtime):
    body = json_filing(investor, borrower)
    headers = {"Idempotency-Key": "req-1"}
    first = platform.post("/contracts", json=body, headers=headers)
    again = platform.post("/contracts", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["contract_id"] == first.get_json()["contract_id"]
    other = platform.post(
        "/contracts", json=json_filing(investor, borrower, document=b"other"), headers=headers
    )
    assert other.get_json()["error"]["code"] == "idempotency_conflict"
    # Without a key, the same content is a new contract.
    assert platform.post("/contracts", json=body).status_code == 201
    assert contract_count(runtime) == 2


def test_idempotency_is_scoped_to_the_platform(platform, investor, borrower, runtime, client, make_platform):
    platform.post("/contracts", json=json_filing(investor, borrower, external_ref="shared-ref"))
    other = make_platform("Other Lending")
    a, b = Person(), Person()
    other.enrol(a)
    other.enrol(b)
    response = other.post("/contracts", json=json_filing(a, b, external_ref="shared-ref"))
    assert response.status_code == 201


def test_batch(platform, investor, borrower, runtime):
    good = [json_filing(investor, borrower, external_ref=f"batch-{i}") for i in range(3)]
    bad_terms = json_filing(investor, borrower, amount="oops")
    bad_shape = {"document_base64": "AAAA"}
    response = platform.post(
        "/contracts/batch", json={"contracts": [good[0], bad_terms, good[1], bad_shape, good[2], good[0]]}
    )
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [201, 422, 201, 422, 201, 200]
    assert results[1]["body"]["error"]["code"] == "validation_failed"
    assert results[5]["body"]["contract_id"] == results[0]["body"]["contract_id"]
    assert contract_count(runtime) == 3
    # The same batch again: every good item replays.
    again = platform.post("/contracts/batch", json={"contracts": good}).get_json()["results"]
    assert [r["status"] for r in again] == [200, 200, 200]
    assert contract_count(runtime) == 3


def test_batch_limits(platform, investor, borrower):
    response = platform.post("/contracts/batch", json={"contracts": []})
    assert response.get_json()["error"]["code"] == "validation_failed"
    many = [json_filing(investor, borrower)] * 1001
    response = platform.post("/contracts/batch", json={"contracts": many})
    assert response.status_code == 422
