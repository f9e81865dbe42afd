"""Which rate limit each request counts against, checked before anything of its body is read.

Per client address: login, the public verifier, signatures (the signature is the credential,
there is no token to count by), and anything without a token. Per token: enrolment, filing,
and every other call that carries one. Requests carrying a credential are refused once their
address has sent too many bad ones (``failed_auth``, counted on each 401), so guessing tokens
stops long before it could succeed. The limits themselves are settings (docs/configuration.md).
"""

from __future__ import annotations

from flask import Flask, Response, request

from notary.api.common import runtime
from notary.services.rate_limits import (
    DEFAULT,
    ENROLMENT,
    FAILED_AUTH,
    FILING,
    LOGIN,
    SIGNATURES,
    VERIFY,
    RateLimits,
    address_key,
    token_key,
)

ADDRESS, TOKEN = "address", "token"

#: API endpoints with a rule of their own; every other one under /api/ counts against ``default``.
RULES: dict[str, tuple[str, str]] = {
    "access.challenge": (LOGIN, ADDRESS),
    "access.token": (LOGIN, ADDRESS),
    "verification.post_verify": (VERIFY, ADDRESS),
    "parties.enrol": (ENROLMENT, TOKEN),
    "contracts.file_contract": (FILING, TOKEN),
    "contracts.file_batch": (FILING, TOKEN),
    "contracts.post_signature": (SIGNATURES, ADDRESS),
    "contracts.post_decline": (SIGNATURES, ADDRESS),
    "contracts.post_signatures_batch": (SIGNATURES, ADDRESS),
}

#: Never limited: load balancers poll the health check, and the API's own description.
EXEMPT = frozenset({"system.healthz", "api-docs.openapi_json"})


def client_address() -> str:
    """The client's address as counted: the peer's, or the one the trusted proxies name
    (``NOTARY_TRUSTED_PROXIES``; the app factory installs ProxyFix for them)."""
    return address_key(request.remote_addr)


def rate_limits() -> RateLimits:
    """The web runtime's rate limits (the app factory only takes a web runtime)."""
    limits = runtime().rate_limits
    if limits is None:
        raise RuntimeError("rate limits are counted by a web runtime (Runtime(..., web=True))")
    return limits


def _credential() -> str | None:
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else header
    return request.args.get("ticket") or None


def count_request() -> None:
    """Before a request: refuse it (429 ``rate_limited``) if its client has spent a limit."""
    endpoint = request.endpoint or ""
    if endpoint in EXEMPT:
        return
    limits = rate_limits()
    credential = _credential()
    if credential is not None:
        limits.check(FAILED_AUTH, client_address())
    if not request.path.startswith("/api/"):
        return  # pages count their own costly requests (notary.pages.verify)
    rule, per = RULES.get(endpoint, (DEFAULT, TOKEN))
    if per == TOKEN and credential is not None:
        limits.hit(rule, token_key(credential))
    else:
        limits.hit(rule, client_address())


def count_failure(response: Response) -> Response:
    """After a request: a 401 counts against its address's bad credentials."""
    if response.status_code == 401:
        rate_limits().count(FAILED_AUTH, client_address())
    return response


def init(app: Flask) -> None:
    app.before_request(count_request)
    app.after_request(count_failure)
