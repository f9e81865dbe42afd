"""Body size before parsing, authentication before validation (issue 20, item 2), and every 413
naming its limit (item 5)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest

from notary.api.bodies import FIXED
from notary.services.access.platforms import mark_defunct
from notary.services.clock import now_text
from tests.support.access import new_investigator
from tests.support.limits import limited_client
from tests.support.platforms import PlatformClient, contract_terms

MIB = 1024 * 1024


class Untouchable(io.RawIOBase):
    """A request body that must never be read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read")


class Endless(io.RawIOBase):
    """A body with no Content-Length that goes on for ``size`` bytes; counts what was read."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"a" * n
        self.read_bytes += n
        return n


def _post(client: Any, path: str, body: io.RawIOBase, *, length: int | None, **headers: str) -> Any:
    """POST ``body`` as the server would get it: with this Content-Length, or none (chunked)."""
    environ: dict[str, Any] = {"wsgi.input": body}
    if length is None:
        environ["wsgi.input_terminated"] = True  # what gunicorn says of a chunked body
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(length)
    return client.post(
        path, headers={"Content-Type": "application/json", **headers}, environ_overrides=environ
    )


def _too_large(answer: Any, limit: int) -> None:
    assert answer.status_code == 413, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["code"] == "too_large"
    assert f"at most {limit} bytes" in error["message"]
    assert error["details"] == {"limit_bytes": limit}


def test_a_60_mib_body_without_a_token_is_never_read(client: Any) -> None:
    # Before: parsed whole before the 401 (the web worker went from 110 to 692 MB).
    body = Untouchable()
    _too_large(_post(client, "/api/v1/parties", body, length=60 * MIB), FIXED["parties.enrol"])
    # Without a Content-Length the request is refused for its missing token, still unread.
    answer = _post(client, "/api/v1/parties", Untouchable(), length=None)
    assert answer.status_code == 401


def test_a_streamed_body_is_cut_off_at_the_limit(client: Any, platform: PlatformClient) -> None:
    body = Endless(60 * MIB)
    answer = _post(client, "/api/v1/parties", body, length=None, **platform.auth)
    _too_large(answer, FIXED["parties.enrol"])
    assert body.read_bytes <= FIXED["parties.enrol"] + 64 * 1024


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/v1/auth/challenge", FIXED["access.challenge"]),
        ("/api/v1/auth/token", FIXED["access.token"]),
        ("/api/v1/contracts/co_x/signatures", FIXED["contracts.post_signature"]),
        ("/api/v1/contracts/co_x/decline", FIXED["contracts.post_decline"]),
        ("/api/v1/contracts/signatures/batch", FIXED["contracts.post_signatures_batch"]),
        ("/api/v1/cases", FIXED["access.open_case"]),
        ("/api/v1/contracts/co_x", 16 * 1024),
    ],
)
def test_each_route_takes_a_body_fitting_what_it_needs(client: Any, path: str, limit: int) -> None:
    _too_large(_post(client, path, Untouchable(), length=limit + 1), limit)


def test_filing_takes_the_document_limit_and_a_batch_the_request_limit(
    settings: Any, clock: Any, runtime: Any
) -> None:
    from tests.support.platforms import new_platform

    with limited_client(settings, clock, max_document_bytes=3000, max_request_bytes=50_000) as client:
        platform = new_platform(runtime, client)
        filing = 3000 * 4 // 3 + MIB
        _too_large(
            _post(client, "/api/v1/contracts", Untouchable(), length=filing + 1, **platform.auth), filing
        )
        _too_large(
            _post(client, "/api/v1/contracts/batch", Untouchable(), length=50_001, **platform.auth), 50_000
        )
        _too_large(
            client.post(
                "/api/v1/verify",
                data={"bundle": (io.BytesIO(b"z" * 60_000), "evidence.zip")},
                content_type="multipart/form-data",
            ),
            50_000,
        )
        # A document over the document limit inside a body that fits: the 413 names that limit.
        answer = platform.post(
            "/contracts",
            json={
                "document_base64": base64.b64encode(b"%" * 3001).decode(),
                "media_type": "application/pdf",
                "terms": {},
            },
        )
        _too_large(answer, 3000)
        multipart = platform.post(
            "/contracts",
            data={"document": (io.BytesIO(b"%" * 3001), "c.pdf", "application/pdf"), "terms": "{}"},
            content_type="multipart/form-data",
        )
        _too_large(multipart, 3000)


def test_a_body_over_the_app_wide_limit_is_answered_in_the_error_format(settings: Any, clock: Any) -> None:
    # Before: Werkzeug's HTML text, with no limit in it.
    with limited_client(settings, clock, max_request_bytes=50_000) as client:
        answer = client.post(
            "/verify/report.pdf",
            data={"bundle": (io.BytesIO(b"z" * 60_000), "evidence.zip")},
            content_type="multipart/form-data",
        )
        _too_large(answer, 50_000)


def _bad_bodies(platform: PlatformClient) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/parties", {"name": 1}),
        ("POST", "/contracts/batch", {"contracts": "no"}),
        ("POST", "/contracts", {"terms": "no"}),
        ("POST", "/cases", {"scope": 1}),
        ("GET", "/me/contracts?limit=-5", {}),
        ("POST", "/me/check", {"document_sha256": 5}),
        ("GET", "/contracts/co_x/signing-payload?role=nobody", {}),
    ]


def test_authentication_comes_before_validation(runtime: Any, client: Any, platform: PlatformClient) -> None:
    # Before: /parties, /contracts/batch, /cases, /me/contracts and the signing payload
    # validated the request first, answering 422 to a caller with no token at all.
    def status(method: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, str]:
        call = client.post if method == "POST" else client.get
        answer = call("/api/v1" + path, json=body or None, headers=headers)
        return answer.status_code, answer.get_json()["error"]["code"]

    investigator = new_investigator(runtime, client)
    for method, path, body in _bad_bodies(platform):
        assert status(method, path, body, {}) == (401, "unauthenticated"), path
        assert status(method, path, body, {"Authorization": "Bearer nope"}) == (401, "unauthenticated"), path
    # The wrong kind of caller: 403, not 422.
    assert status("POST", "/parties", {"name": 1}, investigator.headers)[0] == 403
    assert status("POST", "/cases", {"scope": 1}, platform.auth)[0] == 403
    assert status("GET", "/me/contracts?limit=-5", {}, platform.auth)[0] == 403
    # A defunct platform's token: 410, not 422.
    with runtime.db.write() as session:
        mark_defunct(session, platform.platform_id, operator="test", now=now_text(runtime.clock))
    for method, path, body in _bad_bodies(platform)[:3]:
        assert status(method, path, body, platform.auth)[0] == 410, path


def test_a_valid_caller_still_gets_its_validation_errors(
    client: Any, platform: PlatformClient, investor: Any, borrower: Any
) -> None:
    assert platform.post("/parties", json={"name": 1}).status_code == 422
    terms = contract_terms(investor, borrower, amount="-1")
    answer = platform.post(
        "/contracts",
        json={
            "document_base64": base64.b64encode(b"%PDF").decode(),
            "media_type": "application/pdf",
            "terms": terms,
        },
    )
    assert answer.status_code == 422
