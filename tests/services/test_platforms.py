"""The platform registry, called directly: what operators do to platforms, each act audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from notary.errors import NotFound, Unauthenticated, Unprocessable
from notary.services import auth
from notary.storage.models import Platform
from notary.verify.payloads import format_time
from notary.verify.vocabulary import PlatformStatus
from tests.support.access import audit_actions


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_an_added_platform_holds_a_working_token_and_the_act_is_audited(runtime):
    new = runtime.platforms.add("  Example Lending ", operator="op-zhang")
    assert new.name == "Example Lending"
    assert new.token.startswith("ntp_")
    assert runtime.authenticator.principal(bearer(new.token)) == auth.Principal(
        auth.PLATFORM, new.platform_id
    )
    assert audit_actions(runtime, new.platform_id) == ["platform.add"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "Evil\u202eLending"])
def test_a_bad_name_stores_nothing(runtime, name):
    with pytest.raises(Unprocessable):
        runtime.platforms.add(name)
    with runtime.db.read() as session:
        assert session.execute(select(func.count()).select_from(Platform)).scalar_one() == 0


def test_a_new_token_rotates_only_when_asked(runtime):
    new = runtime.platforms.add("Example Lending")
    kept = runtime.platforms.new_token(new.platform_id)
    assert kept.tokens_revoked == 0
    rotated = runtime.platforms.new_token(new.platform_id, revoke_others=True)
    assert rotated.tokens_revoked == 2
    for old in (new.token, kept.token):
        with pytest.raises(Unauthenticated):
            runtime.authenticator.principal(bearer(old))
    assert runtime.authenticator.principal(bearer(rotated.token)).subject_id == new.platform_id
    assert audit_actions(runtime, new.platform_id) == ["platform.add", "platform.token", "platform.token"]


def test_marking_defunct_is_dated_by_the_service_clock_and_happens_once(runtime, clock):
    new = runtime.platforms.add("Example Lending")
    clock.advance(days=400)  # the service's present, not the machine's
    before = format_time(runtime.clock())
    marked = runtime.platforms.mark_defunct(new.platform_id)
    assert (marked.platform_id, marked.status) == (new.platform_id, PlatformStatus.DEFUNCT)
    assert before <= marked.defunct_at <= format_time(runtime.clock())
    clock.advance(days=1)
    assert runtime.platforms.mark_defunct(new.platform_id) == marked
    assert audit_actions(runtime, new.platform_id) == ["platform.add", "platform.defunct"]
    with pytest.raises(auth.PlatformDefunct):
        runtime.authenticator.principal(bearer(new.token))
    with pytest.raises(auth.PlatformDefunct):
        runtime.platforms.new_token(new.platform_id)


def test_an_unknown_platform_is_not_found(runtime):
    with pytest.raises(NotFound):
        runtime.platforms.mark_defunct("pl_missing")
    with pytest.raises(NotFound):
        runtime.platforms.new_token("pl_missing")
