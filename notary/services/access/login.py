"""Logging in with one's own key: a single-use challenge, signed inside the login payload.

``POST /auth/challenge`` hands out 32 random bytes bound to a key fingerprint; only their
SHA-256 is stored. ``POST /auth/token`` consumes the challenge whatever the outcome, checks the
signature over the login payload (``payloads.login_payload``) with a key that a platform
enrolled or an operator verified, and issues a short-lived party token. The challenge answer
never depends on whether the key is known, so it reveals nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from notary.config import Settings
from notary.errors import Unauthenticated, Unprocessable
from notary.services import auth
from notary.services.audit import trail as audit
from notary.services.clock import Clock
from notary.storage.access_models import IdentityVerification, LoginChallenge
from notary.storage.db import Database
from notary.storage.models import KeyStatus, PartyKey
from notary.verify import payloads
from notary.verify.encoding import b64decode, b64encode, hex_digest
from notary.verify.errors import InvalidSignature, MalformedInput, NotaryError
from notary.verify.keys import PublicKey

CHALLENGE_BYTES = 32


class BadChallenge(Unauthenticated):
    """The challenge is unknown, already used, expired, or was issued for another key."""

    code = "bad_challenge"


@dataclass(frozen=True)
class Challenge:
    challenge_base64: str
    expires_at: str


@dataclass(frozen=True)
class PartyToken:
    token: str
    expires_at: str
    key_fingerprint: str


def check_fingerprint(key_fingerprint: str) -> str:
    """The fingerprint if it is 64 lowercase hex digits; raises ``validation_failed``."""
    try:
        hex_digest(key_fingerprint, what="key_fingerprint")
    except MalformedInput as exc:
        raise Unprocessable(exc.message, details={"key_fingerprint": [exc.message]}) from exc
    return key_fingerprint


def login_key(session: Session, key_fingerprint: str) -> PublicKey | None:
    """The key a platform enrolled (and nobody revoked or replaced) or an operator verified under
    this fingerprint, if any."""
    der = session.execute(
        select(PartyKey.public_key_der)
        .where(PartyKey.key_fingerprint == key_fingerprint, PartyKey.status == KeyStatus.ACTIVE)
        .limit(1)
    ).scalar_one_or_none()
    if der is None:
        der = session.execute(
            select(IdentityVerification.public_key_der).where(
                IdentityVerification.key_fingerprint == key_fingerprint
            )
        ).scalar_one_or_none()
    if der is None:
        return None
    try:
        return PublicKey.from_der(der)
    except MalformedInput:
        # A key stored before keys were checked strictly (a small-order Ed25519 key): it
        # proves nothing, so it logs in as an unknown key would not.
        return None


class Login:
    """Challenges and party tokens. Dependencies are passed in."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def challenge(self, key_fingerprint: str) -> Challenge:
        """A fresh single-use challenge for ``key_fingerprint`` (known or not: the answer is alike).

        Raises ``validation_failed`` for a fingerprint that is not 64 lowercase hex digits.
        Expired challenges are purged here, so the table holds at most what was asked for
        within one challenge lifetime.
        """
        check_fingerprint(key_fingerprint)
        now = self.clock()
        created_at = payloads.format_time(now)
        expires_at = payloads.format_time(now + dt.timedelta(seconds=self.settings.challenge_lifetime))
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        with self.db.write() as session:
            session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at <= created_at))
            session.add(
                LoginChallenge(
                    challenge_sha256=hashlib.sha256(challenge).hexdigest(),
                    key_fingerprint=key_fingerprint,
                    created_at=created_at,
                    expires_at=expires_at,
                )
            )
        return Challenge(b64encode(challenge), expires_at)

    def token(self, key_fingerprint: str, challenge_base64: str, signature_base64: str) -> PartyToken:
        """Exchange a signed challenge for a party token.

        Raises ``bad_challenge`` (unknown, used, expired, or issued for another key),
        ``unauthenticated`` (the signature does not verify with a key known under this
        fingerprint; an unknown key gets the same answer) or ``validation_failed``. The
        challenge is consumed even when the answer is a refusal.
        """
        check_fingerprint(key_fingerprint)
        try:
            challenge = b64decode(challenge_base64, what="challenge_base64")
        except MalformedInput as exc:
            raise BadChallenge("unknown, used or expired challenge") from exc
        now = self.clock()
        at = payloads.format_time(now)
        refusal: NotaryError | None = None
        with self.db.write() as session:
            # DELETE ... RETURNING: of two racing answers to one challenge, only one gets it.
            consumed = session.execute(
                delete(LoginChallenge)
                .where(LoginChallenge.challenge_sha256 == hashlib.sha256(challenge).hexdigest())
                .returning(LoginChallenge.key_fingerprint, LoginChallenge.expires_at)
            ).first()
            if consumed is None:
                raise BadChallenge("unknown, used or expired challenge")
            if consumed.key_fingerprint != key_fingerprint or consumed.expires_at <= at:
                refusal = BadChallenge("unknown, used or expired challenge")
            else:
                refusal = _check_signature(session, key_fingerprint, challenge_base64, signature_base64)
            if refusal is None:
                expires_at = payloads.format_time(
                    now + dt.timedelta(seconds=self.settings.party_token_lifetime)
                )
                token = auth.issue_token(
                    session, kind=auth.PARTY, subject_id=key_fingerprint, now=at, expires_at=expires_at
                )
                audit.record(
                    session,
                    at=at,
                    actor=audit.Actor(auth.PARTY, key_fingerprint),
                    action="auth.login",
                    details={"expires_at": expires_at},
                )
        # Raised after the block so that the consumed challenge is committed.
        if refusal is not None:
            raise refusal
        return PartyToken(token, expires_at, key_fingerprint)


def _check_signature(
    session: Session, key_fingerprint: str, challenge_base64: str, signature_base64: str
) -> NotaryError | None:
    refusal = Unauthenticated("the signature does not verify with a key known under this fingerprint")
    key = login_key(session, key_fingerprint)
    if key is None:
        return refusal
    payload = payloads.login_payload(challenge_base64=challenge_base64, key_fingerprint=key_fingerprint)
    try:
        key.verify(b64decode(signature_base64, what="signature"), payload)
    except (MalformedInput, InvalidSignature):
        return refusal
    return None
