"""``notary restore``: an instance rebuilt from a backup, after the whole archive was checked.

Nothing is written until everything that can refuse has been asked: the archive against its
manifest (:func:`~notary.services.operations.archive.check_archive`), the target folder (absent,
empty, or holding only the ``published-checkpoint`` kept from the lost instance), the
published checkpoint against the log the backup covers, the passphrase of the keys, and for
PostgreSQL an empty target database. Files are then written to a staging folder beside the
target and moved in; the backup's newest checkpoint becomes the restored instance's
published mark.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notary.errors import Conflict, Unprocessable
from notary.services.operations.archive import (
    CONFIG_MEMBER,
    KEYS_MEMBER,
    POSTGRES_MEMBER,
    SQLITE_MEMBER,
    Manifest,
    check_archive,
    open_archive,
)
from notary.services.operations.database_copy import ensure_empty, restore_postgres
from notary.services.operations.sealed_keys import open_keys
from notary.services.tlog.published import (
    MARK_NAME,
    LogBehindPublished,
    Published,
    PublishedMark,
    read_published,
)
from notary.storage.db import Database
from notary.storage.schema import upgrade

_PRIVATE_KEY_MODE, _PUBLIC_MODE = 0o600, 0o644


class TargetNotEmpty(Conflict):
    """``--to`` names a folder that holds something besides a kept ``published-checkpoint``."""

    code = "restore_target_not_empty"


class PassphraseNeeded(Unprocessable):
    """The backup holds encrypted keys and no passphrase was given."""

    code = "backup_passphrase_needed"


class DatabaseMismatch(Unprocessable):
    """A PostgreSQL backup without a target database URL, or one restored onto another kind."""

    code = "restore_database_mismatch"


@dataclass(frozen=True)
class Restored:
    """What was restored: the log the backup covers and what is known to be missing."""

    target: Path
    manifest: Manifest
    keys_restored: bool
    published_before: int | None
    superseded: Path | None

    @property
    def missing(self) -> tuple[int, int] | None:
        """Leaves published after the backup and not in it: ``(from, to)`` (``to`` exclusive)."""
        if self.published_before is None or self.published_before <= self.manifest.tree_size:
            return None
        return self.manifest.tree_size, self.published_before

    def as_dict(self) -> dict[str, Any]:
        missing = self.missing
        return {
            "target": str(self.target),
            "tree_size": self.manifest.tree_size,
            "checkpoint_size": self.manifest.data["log"].get("checkpoint_size"),
            "keys_restored": self.keys_restored,
            "published_size_before": self.published_before,
            "missing_leaves": None if missing is None else {"from": missing[0], "to": missing[1]},
            "superseded_mark": str(self.superseded) if self.superseded else None,
        }


def _target_state(target: Path) -> Published | None:
    """Refuse a target with anything but a kept mark in it; the mark, if there is one."""
    if target.exists() and not target.is_dir():
        raise TargetNotEmpty(f"{target} is a file, not a folder")
    if target.is_dir():
        extra = sorted(p.name for p in target.iterdir() if p.name != MARK_NAME)
        if extra:
            raise TargetNotEmpty(
                f"{target} is not empty ({', '.join(extra[:5])}): restore into a new folder "
                f"(it may hold only the {MARK_NAME} kept from the lost instance)"
            )
        mark = target / MARK_NAME
        if mark.exists():
            return read_published(mark.read_text("utf-8"), None, where=str(mark))
    return None


def restore_backup(
    archive_path: Path,
    target: Path,
    *,
    database_url: str,
    passphrase: bytes | None,
    keys_from: Path | None = None,
    published: str | None = None,
    accept_shorter: bool = False,
    checked: Manifest | None = None,
) -> Restored:
    """Rebuild an instance in ``target`` from ``archive_path``.

    ``checked``: the manifest :func:`check_archive` returned for this archive a moment ago (the
    command line checks first, to know whether to ask for a passphrase), else it is checked
    here. ``published`` is a checkpoint note served before the loss (from a monitor, a witness, a
    bundle); with the mark kept in ``target`` the larger one counts. Raises, before anything is
    written: ``BackupCorrupt``, :class:`TargetNotEmpty`, ``PublishedMarkUnreadable``,
    ``LogBehindPublished`` (unless ``accept_shorter``), :class:`PassphraseNeeded`,
    ``WrongPassphrase``, :class:`DatabaseMismatch`, ``TargetDatabaseNotEmpty``; while writing,
    ``DumpFailed`` and ``OSError``.
    """
    manifest = checked or check_archive(archive_path)
    known = [_target_state(target)]
    if published is not None:
        known.append(read_published(published, None, where="--published"))
    published_size = max((p.checkpoint.size for p in known if p is not None), default=None)
    if published_size is not None and published_size > manifest.tree_size and not accept_shorter:
        raise LogBehindPublished(
            f"the backup covers the log up to size {manifest.tree_size} but a checkpoint of size "
            f"{published_size} was published: leaves {manifest.tree_size} to {published_size - 1} "
            "(sealed after the backup) would be lost and the log forked. Restore a newer backup, "
            "or accept the loss with --unsafe-accept-shorter-log",
            details={"log_size": manifest.tree_size, "published_size": published_size},
        )
    kind = manifest.database_kind
    if (kind == "postgresql") != database_url.startswith("postgresql"):
        raise DatabaseMismatch(
            "a PostgreSQL backup is restored into an empty PostgreSQL database named by "
            "NOTARY_DATABASE_URL, a SQLite backup with NOTARY_DATABASE_URL unset"
            f" (this backup: {kind})"
        )
    key_files: dict[str, bytes] = {}
    if keys_from is not None:
        key_files = {p.name: p.read_bytes() for p in sorted(keys_from.iterdir()) if p.is_file()}
    elif manifest.has_keys:
        if passphrase is None:
            raise PassphraseNeeded(
                "this backup holds encrypted keys: give the passphrase (NOTARY_BACKUP_PASSPHRASE or the prompt)"
            )
        with open_archive(archive_path) as archive:
            handle = archive.extractfile(KEYS_MEMBER)
            assert handle is not None  # checked by check_archive
            key_files = open_keys(handle.read(), passphrase)
    database = Database(database_url) if kind == "postgresql" else None
    try:
        if database is not None:
            ensure_empty(database)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.restoring-"))
        try:
            _write_members(archive_path, staging, key_files)
            if database is not None:
                restore_postgres(database, staging / "notary.pgdump")
                (staging / "notary.pgdump").unlink()
                upgrade(database)
            else:
                restored = Database(f"sqlite:///{staging / 'notary.db'}")
                try:
                    upgrade(restored)
                finally:
                    restored.dispose()
                (staging / "notary.db-writers").unlink(missing_ok=True)
            _move_in(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        if database is not None:
            database.dispose()
    mark = PublishedMark(target)
    superseded = mark.supersede() if accept_shorter else None
    if manifest.checkpoint is not None:
        mark.advance(manifest.checkpoint, int(manifest.data["log"]["checkpoint_size"]))
    return Restored(target, manifest, bool(key_files), published_size, superseded)


def _write_members(archive_path: Path, staging: Path, key_files: dict[str, bytes]) -> None:
    (staging / "keys").mkdir(mode=0o700)
    with open_archive(archive_path) as archive:
        for member in archive:
            name = member.name
            if name in {SQLITE_MEMBER, POSTGRES_MEMBER}:
                path = staging / ("notary.db" if name == SQLITE_MEMBER else "notary.pgdump")
            elif name.startswith("blobs/"):
                path = staging / name
            elif name.startswith("public/") and name.endswith(".pem"):
                path = staging / "keys" / name.removeprefix("public/")
            elif name == CONFIG_MEMBER:
                path = staging / CONFIG_MEMBER
            else:
                continue  # manifest.json, keys.enc, the log's public key (the key file holds it)
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = archive.extractfile(member)
            assert handle is not None  # checked by check_archive
            with path.open("xb") as out:
                shutil.copyfileobj(handle, out)
            os.chmod(path, _PUBLIC_MODE if name.startswith("public/") else _PRIVATE_KEY_MODE)
    for name, data in key_files.items():
        path = staging / "keys" / name
        path.write_bytes(data)
        os.chmod(path, _PUBLIC_MODE if name.endswith(".pem") else _PRIVATE_KEY_MODE)


def _move_in(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        staging.mkdir()  # for the caller's cleanup
        return
    for entry in staging.iterdir():
        os.replace(entry, target / entry.name)
