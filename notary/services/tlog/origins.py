"""The log's origin: an identity fixed once and stored, never an address derived at each start.

Round 1 computed the origin from ``NOTARY_PUBLIC_URL`` every time the service started, so moving
an instance to its real domain silently published a new origin and every bundle issued before
stopped verifying (issue 15.5). Now:

- the first start of an instance (``notary init``, or the first process) stores the origin:
  ``NOTARY_LOG_ORIGIN`` if set, else the host of the public URL at that moment, or, for an
  instance that already has checkpoints, their origin (migration 0012 does that on upgrade);
- afterwards the public URL may change freely; a ``NOTARY_LOG_ORIGIN`` that differs from the
  stored origin stops the process at start (:class:`OriginChanged`), with one line;
- ``notary log rotate-origin`` is the one way to change it: it logs a
  ``notary-origin-rotation/1`` leaf, signs a checkpoint under the old origin covering it, and
  from then on signs under the new one; ``/trust`` keeps the old origin with its sizes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notary.config import ConfigError
from notary.errors import Conflict, Unprocessable
from notary.signing.note_signer import NoteSigner
from notary.storage.db import Database
from notary.storage.models import LogOrigin, SignedCheckpoint
from notary.storage.tree import TreeSink, tree_state
from notary.verify import leaves
from notary.verify.evidence.bundle import LogKey
from notary.verify.note import Checkpoint, is_valid_key_name
from notary.verify.trust import TrustedLog


class OriginChanged(ConfigError):
    """A setting would change the stored origin: the process stops at start."""


class BadOrigin(Unprocessable):
    """Not a usable origin (a C2SP key name: no spaces or plus signs), or the one in use."""

    code = "bad_origin"


class OriginInUse(Conflict):
    """The log has already used this origin; an origin names one span of the log only."""

    code = "origin_in_use"


@dataclass(frozen=True)
class Rotation:
    """What ``notary log rotate-origin`` did."""

    from_origin: str
    to_origin: str
    leaf_index: int
    tree_size: int


class LogOrigins:
    """The log's stored origins and the signers and public keys that go with them."""

    def __init__(self, db: Database, log_key: ed25519.Ed25519PrivateKey, log_public_pem: str) -> None:
        self.db = db
        self._private_key = log_key
        self.log_public_pem = log_public_pem
        self._signers: dict[str, NoteSigner] = {}
        self._lock = threading.Lock()

    def establish(self, *, configured: str, derived: str, now: str) -> str:
        """The current origin, stored at the first start; raises :class:`OriginChanged` when
        ``configured`` (``NOTARY_LOG_ORIGIN``, empty when unset) differs from the stored one.

        On an empty table the origin is that of the stored checkpoints (an instance upgraded
        between migration and first start), else ``configured``, else ``derived`` (from the
        public URL). Two processes starting at once store one origin: the first insert wins.
        """
        with self.db.write() as session:
            current = self._current(session)
            if current is None:
                stored = session.execute(
                    select(SignedCheckpoint.origin).order_by(SignedCheckpoint.tree_size.desc()).limit(1)
                ).scalar_one_or_none()
                current = stored or configured or derived
                if not is_valid_key_name(current):
                    raise OriginChanged(
                        f"the log origin {current!r} is not a valid key name (no spaces or +)"
                    )
                session.add(LogOrigin(origin=current, from_size=0, until_size=None, established_at=now))
        if configured and configured != current:
            raise OriginChanged(
                f"origin_changed: NOTARY_LOG_ORIGIN is {configured!r} but this instance's log is {current!r}; "
                "the origin is fixed when the instance is made (unset NOTARY_LOG_ORIGIN, or rotate it "
                "with `notary log rotate-origin`)"
            )
        return current

    def current(self, session: Session) -> str:
        """The origin checkpoints are signed under now; raises ``LookupError`` before :meth:`establish`."""
        origin = self._current(session)
        if origin is None:
            raise LookupError("the log has no origin yet: run notary init")
        return origin

    @staticmethod
    def _current(session: Session) -> str | None:
        return session.execute(
            select(LogOrigin.origin).where(LogOrigin.until_size.is_(None))
        ).scalar_one_or_none()

    def signer(self, origin: str) -> NoteSigner:
        """The note signer of ``origin`` (the log key under that name)."""
        with self._lock:
            if origin not in self._signers:
                self._signers[origin] = NoteSigner(origin, self._private_key)
            return self._signers[origin]

    def log_key(self, origin: str) -> LogKey:
        """``GET /log/key`` and a bundle's ``log/key.json`` for checkpoints of ``origin``."""
        return LogKey(origin, self.signer(origin).verifier_key, self.log_public_pem)

    def trusted_logs(self, session: Session) -> list[TrustedLog]:
        """Every origin with the sizes it signs, oldest first: the trust file's ``logs``."""
        rows = session.execute(
            select(LogOrigin).order_by(LogOrigin.from_size, LogOrigin.until_size)
        ).scalars()
        return [
            TrustedLog(row.origin, self.signer(row.origin).verifier, row.from_size, row.until_size)
            for row in rows
        ]

    def rotate(self, session: Session, new_origin: str, *, now: str) -> Rotation:
        """Rotate to ``new_origin`` inside the caller's write transaction.

        Appends a ``notary-origin-rotation/1`` leaf, signs the checkpoint of the tree that
        includes it under the old origin, closes the old origin at that size and opens the new
        one from it (both may sign that one size). Raises :class:`BadOrigin` or
        :class:`OriginInUse`; ``LookupError`` before the log has an origin.
        """
        from notary.services.tlog.sequencer import append_leaves

        old = self.current(session)
        if not is_valid_key_name(new_origin) or new_origin == old:
            raise BadOrigin("the new origin must be a key name (no spaces or +) other than the current one")
        if session.get(LogOrigin, new_origin) is not None:
            raise OriginInUse(f"the log has already used the origin {new_origin!r}")
        old_signer, new_signer = self.signer(old), self.signer(new_origin)

        def build(sequence: int, previous: str) -> bytes:
            return leaves.origin_rotation(
                sequence=sequence,
                previous_record_sha256=previous,
                from_origin=old,
                from_verifier_key=old_signer.verifier_key,
                to_origin=new_origin,
                to_verifier_key=new_signer.verifier_key,
                at=now,
            )

        (leaf,) = append_leaves(
            session, [(leaves.ORIGIN_ROTATION, None, build)], created_at=now, sinks=[TreeSink()]
        )
        size, root = tree_state(session)
        session.add(
            SignedCheckpoint(
                tree_size=size,
                root_hash=root,
                note=old_signer.sign_checkpoint(Checkpoint(old, size, root)),
                origin=old,
                key_hash=old_signer.key_hash.hex(),
                signed_at=now,
            )
        )
        session.execute(update(LogOrigin).where(LogOrigin.origin == old).values(until_size=size))
        session.add(LogOrigin(origin=new_origin, from_size=size, until_size=None, established_at=now))
        session.flush()
        return Rotation(old, new_origin, leaf.sequence, size)
