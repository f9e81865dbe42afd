"""The authenticator, called directly: who is behind an ``Authorization`` header, at the
service's present (tests/http covers the same answers through the API)."""

from __future__ import annotations

import datetime as dt

import pytest

from notary.errors import Unauthenticated
from notary.services import auth
from notary.services.access.platforms import mark_defunct
from notary.services.clock import now_text
from notary.verify.payloads import format_time


def test_each_kind_of_bearer_is_named_by_its_kind_and_subject(runtime, platform):
    now = now_text(runtime.clock)
    with runtime.db.write() as session:
        party = auth.issue_token(session, kind=auth.PARTY, subject_id="a" * 64, now=now, expires_at=None)
        investigator = auth.issue_token(session, kind=auth.INVESTIGATOR, subject_id="iv_1", now=now)
    principal = runtime.authenticator.principal
    assert principal(f"Bearer {platform.token}") == auth.Principal(auth.PLATFORM, platform.platform_id)
    assert principal(f"bearer  {party}") == auth.Principal(auth.PARTY, "a" * 64)
    assert principal(f"Bearer {investigator}") == auth.Principal(auth.INVESTIGATOR, "iv_1")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwdw==", "ntp_no_scheme"])
def test_a_missing_or_malformed_header_is_unauthenticated(runtime, header):
    with pytest.raises(Unauthenticated):
        runtime.authenticator.principal(header)


def test_an_unknown_token_is_unauthenticated(runtime, platform):
    with pytest.raises(Unauthenticated):
        runtime.authenticator.principal(f"Bearer {platform.token}x")


def test_a_party_token_expires_by_the_service_clock(runtime, clock):
    moment = runtime.clock()
    with runtime.db.write() as session:
        token = auth.issue_token(
            session,
            kind=auth.PARTY,
            subject_id="b" * 64,
            now=format_time(moment),
            expires_at=format_time(moment + dt.timedelta(minutes=10)),
        )
    assert runtime.authenticator.principal(f"Bearer {token}").kind == auth.PARTY
    clock.advance(minutes=10)
    with pytest.raises(Unauthenticated):
        runtime.authenticator.principal(f"Bearer {token}")


def test_revoked_tokens_and_download_tickets_are_no_bearers(runtime, platform):
    moment = runtime.clock()
    now, tomorrow = format_time(moment), format_time(moment + dt.timedelta(days=1))
    with runtime.db.write() as session:
        ticket = auth.issue_token(
            session, kind=auth.EXPORT_TICKET, subject_id="cs_1", now=now, expires_at=tomorrow
        )
        auth.revoke_tokens(session, kind=auth.PLATFORM, subject_id=platform.platform_id, now=now)
    for token in (ticket, platform.token):
        with pytest.raises(Unauthenticated):
            runtime.authenticator.principal(f"Bearer {token}")


def test_a_defunct_platform_is_told_so_not_just_refused(runtime, platform):
    with runtime.db.write() as session:
        mark_defunct(session, platform.platform_id, now=now_text(runtime.clock))
    with pytest.raises(auth.PlatformDefunct):
        runtime.authenticator.principal(f"Bearer {platform.token}")
