"""Registering platforms and marking collapsed ones defunct."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from notary.errors import NotFound, Unprocessable
from notary.services import auth, outbox
from notary.services.audit import trail as audit
from notary.services.clock import Clock, now_text
from notary.services.text import check_text
from notary.storage.db import Database
from notary.storage.ids import PLATFORM, new_id
from notary.storage.models import Platform
from notary.verify.vocabulary import PlatformStatus


@dataclass(frozen=True)
class NewPlatform:
    platform_id: str
    name: str
    token: str


def add_platform(session: Session, name: str, *, now: str, operator: str = audit.OPERATOR) -> NewPlatform:
    """Register a platform and issue its API token (shown once); recorded in the audit trail."""
    name = check_text(name, field="name", printed=True).strip()
    if not name or len(name) > 200:
        raise Unprocessable("a platform needs a name of 1 to 200 characters")
    platform = Platform(id=new_id(PLATFORM), name=name, status=PlatformStatus.ACTIVE, created_at=now)
    session.add(platform)
    session.flush()
    token = auth.issue_token(session, kind=auth.PLATFORM, subject_id=platform.id, now=now)
    audit.record(
        session,
        at=now,
        actor=audit.operator(operator),
        action="platform.add",
        object_kind="platform",
        object_id=platform.id,
        details={"name": name},
    )
    return NewPlatform(platform.id, name, token)


def new_platform_token(
    session: Session, platform_id: str, *, revoke_others: bool, now: str, operator: str = audit.OPERATOR
) -> tuple[str, int]:
    """A new API token for a platform (shown once), and with ``revoke_others`` every older one
    revoked in the same transaction: a rotation, or the answer to a leaked token. Recorded in
    the audit trail. Returns the token and how many were revoked; raises ``not_found``, or
    ``platform_defunct`` for a platform marked defunct (it gets no new tokens)."""
    platform = session.get(Platform, platform_id, with_for_update=True)
    if platform is None:
        raise NotFound(f"no platform {platform_id}")
    if platform.status == PlatformStatus.DEFUNCT:
        raise auth.PlatformDefunct(f"platform {platform_id} is defunct: it gets no new tokens")
    revoked = (
        auth.revoke_tokens(session, kind=auth.PLATFORM, subject_id=platform_id, now=now)
        if revoke_others
        else 0
    )
    token = auth.issue_token(session, kind=auth.PLATFORM, subject_id=platform_id, now=now)
    audit.record(
        session,
        at=now,
        actor=audit.operator(operator),
        action="platform.token",
        object_kind="platform",
        object_id=platform_id,
        details={"tokens_revoked": revoked},
    )
    return token, revoked


def mark_defunct(session: Session, platform_id: str, *, now: str, operator: str = audit.OPERATOR) -> Platform:
    """Mark a platform defunct: its tokens stop working at once; nothing is deleted.

    Recorded in the audit trail (once: marking it again changes nothing), and told to its
    webhooks as its last event (``platform.defunct``): nothing is sent to it afterwards.
    Raises ``not_found``.
    """
    platform = session.get(Platform, platform_id, with_for_update=True)
    if platform is None:
        raise NotFound(f"no platform {platform_id}")
    if platform.status != PlatformStatus.DEFUNCT:
        platform.status = PlatformStatus.DEFUNCT
        # Tokens are kept, not revoked: a defunct platform's token must answer 410
        # platform_defunct (not 401), so the caller learns why.
        platform.defunct_at = now
        audit.record(
            session,
            at=now,
            actor=audit.operator(operator),
            action="platform.defunct",
            object_kind="platform",
            object_id=platform.id,
        )
        outbox.emit(session, [outbox.platform_defunct(platform)], now=now)
    return platform


@dataclass(frozen=True)
class PlatformToken:
    """A platform's new API token (shown once) and how many older ones were revoked with it."""

    platform_id: str
    token: str
    tokens_revoked: int


@dataclass(frozen=True)
class DefunctPlatform:
    platform_id: str
    status: PlatformStatus
    defunct_at: str


class PlatformRegistry:
    """Operators' acts on platforms, each in its own transaction at the service's present."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def add(self, name: str, *, operator: str = audit.OPERATOR) -> NewPlatform:
        """Register a platform (:func:`add_platform`); raises ``unprocessable`` for a bad name."""
        with self.db.write() as session:
            return add_platform(session, name, now=now_text(self.clock), operator=operator)

    def new_token(
        self, platform_id: str, *, revoke_others: bool = False, operator: str = audit.OPERATOR
    ) -> PlatformToken:
        """A new token (:func:`new_platform_token`); raises ``not_found`` or ``platform_defunct``."""
        with self.db.write() as session:
            token, revoked = new_platform_token(
                session, platform_id, revoke_others=revoke_others, now=now_text(self.clock), operator=operator
            )
        return PlatformToken(platform_id, token, revoked)

    def mark_defunct(self, platform_id: str, *, operator: str = audit.OPERATOR) -> DefunctPlatform:
        """Mark a platform defunct (:func:`mark_defunct`); raises ``not_found``."""
        with self.db.write() as session:
            platform = mark_defunct(session, platform_id, now=now_text(self.clock), operator=operator)
            return DefunctPlatform(platform.id, PlatformStatus(platform.status), str(platform.defunct_at))
