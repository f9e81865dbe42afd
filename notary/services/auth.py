"""Bearer tokens and who holds them. Tokens are random; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from notary.errors import Gone, Unauthenticated
from notary.services.clock import Clock, now_text
from notary.storage.db import Database
from notary.storage.models import ApiToken, Platform
from notary.verify.vocabulary import PlatformStatus


class PrincipalKind(StrEnum):
    """Who holds a token: the three bearers, and the export ticket (never a bearer)."""

    PLATFORM = "platform"
    PARTY = "party"
    INVESTIGATOR = "investigator"
    EXPORT_TICKET = "export_ticket"
    """A single-use, short-lived download ticket for one case's export (its subject is the
    case): it goes in a URL so the browser can stream a large export to disk."""


PLATFORM, PARTY, INVESTIGATOR = PrincipalKind.PLATFORM, PrincipalKind.PARTY, PrincipalKind.INVESTIGATOR
EXPORT_TICKET = PrincipalKind.EXPORT_TICKET
_PREFIX = {PLATFORM: "ntp_", PARTY: "ntk_", INVESTIGATOR: "nti_", EXPORT_TICKET: "ntd_"}
BEARER_KINDS = frozenset({PLATFORM, PARTY, INVESTIGATOR})


class PlatformDefunct(Gone):
    """The token of a platform marked defunct: refused from the moment it is marked."""

    code = "platform_defunct"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a platform (by id), a key holder (by key fingerprint) or an investigator."""

    kind: str
    subject_id: str


def token_sha256(token: str) -> str:
    """What is stored for a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session, *, kind: str, subject_id: str, now: str, expires_at: str | None = None
) -> str:
    """Create a token for ``subject_id``; the clear token is returned once and never stored."""
    token = _PREFIX[kind] + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_sha256=token_sha256(token),
            kind=kind,
            subject_id=subject_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token


def revoke_tokens(session: Session, *, kind: str, subject_id: str, now: str) -> int:
    """Revoke every live token of ``subject_id`` (of this ``kind``); returns how many."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.kind == kind, ApiToken.subject_id == subject_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; raises :class:`Unauthenticated`."""
    if not authorization:
        raise Unauthenticated("an Authorization: Bearer token is required")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token


def authenticate(session: Session | Connection, token: str, *, now: str) -> Principal:
    """The principal behind ``token``; raises :class:`Unauthenticated` or :class:`PlatformDefunct`."""
    row = session.execute(_TOKEN, {"sha256": token_sha256(token)}).first()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthenticated("the token is unknown, revoked or expired")
    if row.kind not in BEARER_KINDS:
        raise Unauthenticated("the token is unknown, revoked or expired")
    if row.kind == PLATFORM and row.platform_status == PlatformStatus.DEFUNCT:
        raise PlatformDefunct("this platform has been marked defunct; its tokens no longer work")
    return Principal(row.kind, row.subject_id)


class Authenticator:
    """Who is behind a request's ``Authorization`` header, at the service's present."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def principal(self, authorization: str | None) -> Principal:
        """The caller named by an ``Authorization: Bearer`` header; raises
        :class:`Unauthenticated` (no, a malformed, unknown, revoked or expired token) or
        :class:`PlatformDefunct`."""
        token = bearer_token(authorization)
        with self.db.read_rows() as connection:
            return authenticate(connection, token, now=now_text(self.clock))


# Every authenticated request runs this: one statement, built once, with the platform's
# status alongside (NULL for other kinds of token).
_TOKEN = (
    select(
        ApiToken.kind,
        ApiToken.subject_id,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        Platform.status.label("platform_status"),
    )
    .outerjoin(Platform, and_(ApiToken.kind == PLATFORM, Platform.id == ApiToken.subject_id))
    .where(ApiToken.token_sha256 == bindparam("sha256"))
)


def redeem_ticket(session: Session, ticket: str, *, case_id: str, now: str) -> None:
    """Use a download ticket for ``case_id`` once: it is revoked in the same statement that
    checks it, so two requests with one ticket cannot both pass. Raises
    :class:`Unauthenticated` for a ticket that is unknown, used, expired or for another case."""
    result = session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_sha256 == token_sha256(ticket),
            ApiToken.kind == EXPORT_TICKET,
            ApiToken.subject_id == case_id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        .values(revoked_at=now)
    )
    if int(result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        raise Unauthenticated("the download ticket is unknown, used, expired or for another case")
