"""Rate limits (issue 20, item 1): the attacks of the issue, each stopped by a 429 in the error
format with Retry-After; separate limits per kind of request, per address or per token."""

from __future__ import annotations

import base64
import io
import secrets
from typing import Any

import pytest

from notary.config import ConfigError, Settings
from tests.support.limits import limited_client
from tests.support.people import Person
from tests.support.platforms import new_platform


def _refusal(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 429, answer.get_data(as_text=True)
    retry_after = int(answer.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    error = answer.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"]["retry_after"] == retry_after
    assert error["details"]["limit"] in error["message"]
    return error


def _bad_login(client: Any) -> Any:
    return client.post(
        "/api/v1/auth/token",
        json={
            "key_fingerprint": "ab" * 32,
            "challenge_base64": base64.b64encode(secrets.token_bytes(32)).decode(),
            "signature": base64.b64encode(b"\x01" * 64).decode(),
        },
    )


def test_300_failed_logins_are_stopped_by_the_default_login_limit(client: Any) -> None:
    # Before: 300 failed logins in a row were all answered 401.
    statuses = [_bad_login(client).status_code for _ in range(300)]
    assert statuses[:20] == [401] * 20
    assert statuses[20:] == [429] * 280
    error = _refusal(_bad_login(client))
    assert error["details"] == {
        "rule": "login",
        "limit": "20 per 1 minute",
        "per": "address",
        "retry_after": error["details"]["retry_after"],
    }


def test_300_guessed_tokens_are_stopped_and_then_so_is_every_credential_from_that_address(
    client: Any, platform: Any
) -> None:
    # Before: 300 requests with guessed tokens were all answered 401.
    statuses = [
        client.get(
            "/api/v1/me/contracts", headers={"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
        ).status_code
        for _ in range(300)
    ]
    assert statuses[:30] == [401] * 30
    assert set(statuses[30:]) == {429}
    # The address that guessed is refused even with a good token, until its window ends;
    # answers without a credential (the public log) are still served.
    _refusal(platform.get("/contracts/co_none"))
    assert client.get("/api/v1/log/key").status_code == 200


def test_a_good_token_is_not_counted_as_a_failure(client: Any, platform: Any) -> None:
    for _ in range(40):
        assert platform.get("/contracts/co_none").status_code == 404


def test_100_verifications_in_a_row_are_stopped(client: Any) -> None:
    # Before: 100 calls to the public verifier in a row were all answered.
    statuses = [
        client.post(
            "/api/v1/verify",
            data={"bundle": (io.BytesIO(b"not a zip"), "evidence.zip")},
            content_type="multipart/form-data",
        ).status_code
        for _ in range(100)
    ]
    assert statuses[:30] == [400] * 30
    assert statuses[30:] == [429] * 70
    # The page's form counts against the same limit: it is the same verifier.
    page = client.post(
        "/verify",
        data={"bundle": (io.BytesIO(b"not a zip"), "evidence.zip")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 429
    assert "text/html" in page.content_type
    assert int(page.headers["Retry-After"]) >= 1


def test_filing_is_limited_per_token(settings: Settings, clock: Any, runtime: Any) -> None:
    with limited_client(settings, clock, rate_limit_filing="2/minute") as client:
        first, second = new_platform(runtime, client, "One"), new_platform(runtime, client, "Two")
        investor, borrower = Person("张三"), Person("李四", alg="p256")
        first.enrol(investor)
        first.enrol(borrower)
        first.file(investor, borrower, b"%PDF-1.4 one")
        first.file(investor, borrower, b"%PDF-1.4 two")
        error = _refusal(first.post("/contracts", json={"terms": {}}))
        assert error["details"]["per"] == "token"
        assert error["details"]["rule"] == "filing"
        _refusal(first.post("/contracts/batch", json={"contracts": []}))
        # Another platform's token has its own allowance; other kinds of request are not filings.
        assert (
            second.post("/contracts/batch", json={"contracts": []}).status_code == 422
        )  # counted, not refused
        assert first.get("/contracts/co_none").status_code == 404


def test_enrolment_has_its_own_limit(settings: Settings, clock: Any, runtime: Any) -> None:
    with limited_client(settings, clock, rate_limit_enrolment="1/minute") as client:
        platform = new_platform(runtime, client)
        platform.enrol(Person("张三"))
        _refusal(platform.post("/parties", json=Person("李四").enrolment(platform.platform_id)))
        assert platform.post("/contracts/batch", json={"contracts": []}).status_code == 422


def test_signatures_are_limited_per_address(settings: Settings, clock: Any) -> None:
    with limited_client(settings, clock, rate_limit_signatures="3/minute") as client:
        body = {"role": "investor", "signature": base64.b64encode(b"\x01" * 64).decode()}
        statuses = [
            client.post("/api/v1/contracts/co_none/signatures", json=body).status_code,
            client.post("/api/v1/contracts/co_none/decline", json=body).status_code,
            client.post("/api/v1/contracts/signatures/batch", json={"signatures": []}).status_code,
        ]
        assert 429 not in statuses
        _refusal(client.post("/api/v1/contracts/co_none/signatures", json=body))


def test_every_other_request_counts_against_the_default_limit(settings: Settings, clock: Any) -> None:
    with limited_client(settings, clock, rate_limit_default="5/minute") as client:
        for _ in range(5):
            assert client.get("/api/v1/log/key").status_code == 200
        _refusal(client.get("/api/v1/trust"))
        # The health check is never limited: load balancers poll it.
        assert client.get("/api/v1/healthz").status_code == 200


def test_a_limit_can_be_turned_off(settings: Settings, clock: Any) -> None:
    with limited_client(settings, clock, rate_limit_login="off") as client:
        assert {_bad_login(client).status_code for _ in range(25)} == {401}


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(settings: Settings, clock: Any) -> None:
    def login_from(client: Any, forwarded: str) -> int:
        return client.post(
            "/api/v1/auth/challenge",
            json={"key_fingerprint": "ab" * 32},
            headers={"X-Forwarded-For": forwarded},
        ).status_code

    # Without a proxy, X-Forwarded-For is anyone's to write: changing it does not escape the limit.
    with limited_client(settings, clock, rate_limit_login="2/minute") as client:
        statuses = [login_from(client, f"198.51.100.{n}") for n in range(3)]
        assert statuses == [200, 200, 429]
    # Behind one trusted proxy, the client is the address that proxy saw (the last one it appended).
    with limited_client(settings, clock, rate_limit_login="2/minute", trusted_proxies=1) as client:
        assert [login_from(client, f"spoofed, 203.0.113.{n}") for n in range(3)] == [200] * 3
        assert [login_from(client, "203.0.113.9") for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("rate_limit_login", "twenty a minute"),
        ("rate_limit_storage", "memory://"),
        ("rate_limit_storage", "/tmp/counters.sqlite"),
        ("trusted_proxies", "-1"),
    ],
)
def test_unusable_limit_settings_are_refused_at_start(setting: str, value: str) -> None:
    with pytest.raises(ConfigError, match=setting):
        Settings.load({}, **{setting: value})
