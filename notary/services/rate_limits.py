"""Rate limits: how many requests of a kind one client may make, shared by every process.

A rule is a kind of request (``login``, ``verify``, ``filing``, ...) with the limits the
settings give it (``NOTARY_RATE_LIMIT_<RULE>``, e.g. ``20/minute;200/hour``, or ``off``).
The interfaces say which rule a request falls under and who the client is (its address or its
token, see :func:`address_key` and :func:`token_key`); this counts it, in fixed windows kept
in the shared counters (:mod:`notary.storage.rate_counters`), and refuses it with
:class:`~notary.errors.RateLimited` when a limit is spent.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable, Mapping

from limits import RateLimitItem, parse_many
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from notary.config import Settings
from notary.errors import RateLimited

LOGIN, FAILED_AUTH, VERIFY, SIGNED_REPORT = "login", "failed_auth", "verify", "signed_report"
ENROLMENT, FILING, SIGNATURES, DEFAULT = "enrolment", "filing", "signatures", "default"
RULES = (LOGIN, FAILED_AUTH, VERIFY, SIGNED_REPORT, ENROLMENT, FILING, SIGNATURES, DEFAULT)

#: What a refusal says was counted, per rule.
_WHAT = {
    LOGIN: "login requests",
    FAILED_AUTH: "requests with a bad, expired or revoked credential",
    VERIFY: "verifications",
    SIGNED_REPORT: "signed reports",
    ENROLMENT: "enrolments",
    FILING: "filings",
    SIGNATURES: "signatures and declines",
    DEFAULT: "requests",
}


def rules_from(settings: Settings) -> dict[str, str]:
    """Each rule's limits as configured (``rate_limit_<rule>``)."""
    return {rule: getattr(settings, f"rate_limit_{rule}") for rule in RULES}


class RateLimits:
    """Counts requests per rule and client in ``storage``; ``rules`` maps a rule to its limits
    (``off``: none). ``now`` must be the clock ``storage`` runs on."""

    def __init__(
        self, storage: Storage, rules: Mapping[str, str], *, now: Callable[[], float] = time.time
    ) -> None:
        self.storage = storage
        self.now = now
        self._limiter = FixedWindowRateLimiter(storage)
        self._rules: dict[str, tuple[RateLimitItem, ...]] = {
            rule: tuple(parse_many(text)) for rule, text in rules.items() if text and text != "off"
        }

    def limited(self, rule: str) -> bool:
        """Whether ``rule`` has any limit."""
        return rule in self._rules

    def hit(self, rule: str, client: str, *, cost: int = 1) -> None:
        """Count one request of ``client`` under ``rule``; raises :class:`RateLimited` (naming
        the limit and when to try again) when that is one too many."""
        for item in self._rules.get(rule, ()):
            if not self._limiter.hit(item, rule, client, cost=cost):
                raise self._refusal(rule, item, client)

    def check(self, rule: str, client: str) -> None:
        """Raise :class:`RateLimited` if ``client`` has spent a limit of ``rule``, counting nothing
        (the failed-authentication rule is checked first and counted only on a failure)."""
        for item in self._rules.get(rule, ()):
            if not self._limiter.test(item, rule, client):
                raise self._refusal(rule, item, client)

    def count(self, rule: str, client: str) -> None:
        """Count one request of ``client`` under ``rule`` without refusing anything."""
        for item in self._rules.get(rule, ()):
            self._limiter.hit(item, rule, client)

    def _refusal(self, rule: str, item: RateLimitItem, client: str) -> RateLimited:
        reset_at = self._limiter.get_window_stats(item, rule, client).reset_time
        retry_after = max(1, math.ceil(reset_at - self.now()))
        per = "token" if client.startswith("token:") else "address"
        limit = str(item)  # "20 per 1 minute"
        return RateLimited(
            f"too many {_WHAT.get(rule, 'requests')} from this {per}: at most {limit}; "
            f"try again in {retry_after} s",
            retry_after=retry_after,
            details={"rule": rule, "limit": limit, "per": per, "retry_after": retry_after},
        )


def address_key(address: str | None) -> str:
    """The client an address stands for: the address itself, or its /64 for IPv6 (one
    subscriber is usually given a whole /64, so counting single addresses would count nothing)."""
    if not address:
        return "address:unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{address[:64]}"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"address:{parsed.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((parsed, 64), strict=False)}"
    return f"address:{parsed}"


def token_key(token: str) -> str:
    """The client a bearer token stands for, named by a hash (tokens never go into the counters)."""
    return "token:" + hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]
