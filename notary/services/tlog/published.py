"""The largest checkpoint this instance has published, kept beside the database, not in it.

A database restored from a backup (or a PostgreSQL rolled back to a dump) has lost the leaves
sealed after the backup, and the checkpoints that covered them; but those checkpoints were
served, cosigned and put in bundles. Signing new checkpoints over the shorter log would fork
it: two roots for one size, both signed by the log key. The database cannot tell, since it
was rolled back with everything else, so the checkpointer also writes each new checkpoint to
``<instance>/published-checkpoint`` (its signed note, replaced atomically), and every process
compares it with the database at start (:func:`guard_published`):

- the database's log is shorter than the mark: :class:`LogBehindPublished`;
- it is as long, but its checkpoint of the mark's size has another root (or none):
  :class:`LogForked`.

The operator may accept a shorter log explicitly (``NOTARY_UNSAFE_ACCEPT_SHORTER_LOG=1``):
the old mark is kept as ``published-checkpoint.superseded-<size>`` and the database's newest
checkpoint becomes the mark, so the choice is made once and leaves a trace.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from notary.errors import Conflict
from notary.services.tlog.origins import LogOrigins
from notary.storage.db import Database
from notary.storage.models import SignedCheckpoint
from notary.storage.tree import tree_state
from notary.verify.errors import NotaryError
from notary.verify.note import Checkpoint, parse_checkpoint, verify_note

log = logging.getLogger(__name__)

MARK_NAME = "published-checkpoint"


class LogBehindPublished(Conflict):
    """The log is shorter than a checkpoint it has already published (a restore or a rolled
    back database): starting would fork it. ``details``: ``log_size``, ``published_size``."""

    code = "log_behind_published"


class LogForked(Conflict):
    """The log's checkpoint at the published size has another root than the one published."""

    code = "log_forked"


class PublishedMarkUnreadable(Conflict):
    """``published-checkpoint`` is not a checkpoint signed by this log's key."""

    code = "published_mark_unreadable"


#: What stops a process at start.
REFUSALS = (LogBehindPublished, LogForked, PublishedMarkUnreadable)


@dataclass(frozen=True)
class Published:
    """A published checkpoint read back: the note and what it says."""

    note: str
    checkpoint: Checkpoint


class PublishedMark:
    """``<instance>/published-checkpoint``: the signed note of the largest checkpoint published."""

    def __init__(self, instance_path: Path) -> None:
        self.path = instance_path / MARK_NAME

    def read(self, origins: LogOrigins | None = None) -> Published | None:
        """The mark, or None where there is none. With ``origins`` its signature is checked
        with the log key under its origin. Raises :class:`PublishedMarkUnreadable`."""
        try:
            note = self.path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise PublishedMarkUnreadable(f"{self.path}: cannot be read ({exc})") from exc
        return read_published(note, origins, where=str(self.path))

    def advance(self, note: str, size: int) -> None:
        """Replace the mark with ``note`` (of ``size``) unless it already holds a larger one."""
        try:
            current = self.read()
        except PublishedMarkUnreadable:
            current = None
        if current is not None and current.checkpoint.size >= size:
            return
        write_atomically(self.path, note.encode("utf-8"))

    def supersede(self) -> Path | None:
        """Keep the mark under another name (``.superseded-<size>``); returns where, or None."""
        try:
            current = self.read()
        except PublishedMarkUnreadable:
            current = None
        if not self.path.exists():
            return None
        size = current.checkpoint.size if current else "unreadable"
        kept = self.path.with_name(f"{MARK_NAME}.superseded-{size}")
        os.replace(self.path, kept)
        return kept


def read_published(note: str, origins: LogOrigins | None, *, where: str) -> Published:
    """A checkpoint note as published; with ``origins`` its signature is checked. Raises
    :class:`PublishedMarkUnreadable`."""
    try:
        checkpoint = parse_checkpoint(note.split("\n\n", 1)[0] + "\n")
        if origins is not None:
            verify_note(note, [origins.signer(checkpoint.origin).verifier])
    except NotaryError as exc:
        raise PublishedMarkUnreadable(
            f"{where}: not a checkpoint signed by this log ({exc.message})"
        ) from exc
    return Published(note, checkpoint)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and a rename."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def guard_published(db: Database, mark: PublishedMark, origins: LogOrigins, *, accept_shorter: bool) -> None:
    """Refuse a log that is behind or beside the published mark (see the module's text).

    Raises :class:`LogBehindPublished`, :class:`LogForked` or :class:`PublishedMarkUnreadable`;
    with ``accept_shorter`` it warns instead, keeps the old mark aside and marks the database's
    newest checkpoint.
    """
    published = mark.read(origins)
    if published is None:
        return
    size = published.checkpoint.size
    with db.read() as session:
        log_size, _ = tree_state(session)
        row = session.execute(
            select(SignedCheckpoint.root_hash).where(SignedCheckpoint.tree_size == size)
        ).scalar_one_or_none()
        newest = session.execute(
            select(SignedCheckpoint.note, SignedCheckpoint.tree_size)
            .order_by(SignedCheckpoint.tree_size.desc())
            .limit(1)
        ).first()
    problem: NotaryError | None = None
    if log_size < size:
        problem = LogBehindPublished(
            f"the log holds {log_size} leaves but this instance published a checkpoint of size {size} "
            f"({mark.path}): leaves {log_size} to {size - 1} are missing (restored from an older "
            "backup?); starting would fork the log. Restore a newer backup, or accept the loss with "
            "NOTARY_UNSAFE_ACCEPT_SHORTER_LOG=1",
            details={"log_size": log_size, "published_size": size},
        )
    elif row != published.checkpoint.root_hash:
        problem = LogForked(
            f"the log's checkpoint of size {size} differs from the one published ({mark.path}): "
            "this database holds another history. Restore the right backup, or accept it with "
            "NOTARY_UNSAFE_ACCEPT_SHORTER_LOG=1",
            details={"published_size": size},
        )
    if problem is None:
        return
    if not accept_shorter:
        raise problem
    kept = mark.supersede()
    if newest is not None:
        mark.advance(newest.note, newest.tree_size)
    log.warning(
        "unsafe_accept_shorter_log: starting over a log the published checkpoint does not match "
        "(%s); the old mark is kept as %s",
        problem.code,
        kept,
    )
