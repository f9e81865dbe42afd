"""Registering platforms and marking collapsed ones defunct."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from notary.errors import NotFound, Unprocessable
from notary.services import auth
from notary.storage.ids import PLATFORM, new_id
from notary.storage.models import Platform


@dataclass(frozen=True)
class NewPlatform:
    platform_id: str
    name: str
    token: str


def add_platform(session: Session, name: str, *, now: str) -> NewPlatform:
    """Register a platform and issue its API token (shown once)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Unprocessable("a platform needs a name of 1 to 200 characters")
    platform = Platform(id=new_id(PLATFORM), name=name, status="active", created_at=now)
    session.add(platform)
    session.flush()
    token = auth.issue_token(session, kind=auth.PLATFORM, subject_id=platform.id, now=now)
    return NewPlatform(platform.id, name, token)


def mark_defunct(session: Session, platform_id: str, *, now: str) -> Platform:
    """Mark a platform defunct: its tokens stop working at once; nothing is deleted."""
    platform = session.get(Platform, platform_id, with_for_update=True)
    if platform is None:
        raise NotFound(f"no platform {platform_id}")
    if platform.status != "defunct":
        platform.status = "defunct"
        # Tokens are kept, not revoked: a defunct platform's token must answer 410
        # platform_defunct (not 401), so the caller learns why.
        platform.defunct_at = now
    return platform
