"""``notary backup``: a consistent online snapshot of an instance in one archive.

Order matters. The database is copied first (one consistent moment,
:mod:`~notary.services.operations.database_copy`); the blobs after it. Documents are written
to the blob folder before the transaction that refers to them commits and are never removed,
so every document the copied database refers to is on disk by then; documents of contracts
filed after the copy may come along too, unreferenced and harmless. The archive is written to
``<out>.partial`` and renamed when complete, so a backup that was interrupted never looks
like one.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notary import __version__
from notary.config import Settings
from notary.services.operations.archive import (
    CONFIG_MEMBER,
    FORMAT,
    KEYS_MEMBER,
    MANIFEST,
    POSTGRES_MEMBER,
    SQLITE_MEMBER,
    BackupExists,
    HashingReader,
)
from notary.services.operations.database_copy import LogFacts, copy_sqlite, dump_postgres
from notary.services.operations.sealed_keys import seal_keys
from notary.signing.keystore import load_keys
from notary.storage.db import Database

PUBLIC_LOG_KEY = "log-ed25519.pub"


@dataclass(frozen=True)
class BackupTaken:
    """What ``notary backup`` wrote: where, the log it covers, and its figures."""

    path: Path
    facts: LogFacts
    members: int
    blobs: int
    size: int
    seconds: float
    keys_included: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "log": self.facts.as_dict(),
            "members": self.members,
            "blobs": self.blobs,
            "bytes": self.size,
            "seconds": round(self.seconds, 3),
            "keys_included": self.keys_included,
        }


def _blob_files(root: Path) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for first in sorted(root.iterdir()):
        if not first.is_dir() or len(first.name) != 2:
            continue
        for second in sorted(first.iterdir()):
            if not second.is_dir():
                continue
            for path in sorted(second.iterdir()):
                if not path.name.startswith(".") and path.is_file():  # .incoming-*: not yet a blob
                    yield f"blobs/{first.name}/{second.name}/{path.name}", path


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mtime: float) -> dict[str, Any]:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(mtime), 0o600
    reader = HashingReader(io.BytesIO(data))
    archive.addfile(info, reader)
    return reader.entry()


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> dict[str, Any]:
    info = archive.gettarinfo(str(path), arcname=name)
    # A whole-second time: a float one makes tarfile write a PAX header per member (1 KB more,
    # measured: 100 MB of a 10^5-document archive).
    info.mtime = int(info.mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as handle:
        reader = HashingReader(handle)
        archive.addfile(info, reader)
    return reader.entry()


def _public_config(instance_path: Path) -> bytes | None:
    """The instance's ``config.json`` without ``database_url`` (it names the old server and may
    hold its password; the restored instance is pointed at its own)."""
    path = instance_path / "config.json"
    if not path.exists():
        return None
    values = json.loads(path.read_text("utf-8"))
    values.pop("database_url", None)
    return json.dumps(values, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def take_backup(
    settings: Settings, out: Path, *, passphrase: bytes | None, created_at: str, db: Database | None = None
) -> BackupTaken:
    """Write a backup of the instance ``settings`` describe to ``out``; private keys only with
    a ``passphrase`` (then encrypted under it).

    Raises :class:`BackupExists`, ``KeysUnusable`` (the instance's keys do not load),
    :class:`~notary.services.operations.database_copy.DumpFailed`, ``OSError`` (disk).
    """
    started = time.monotonic()
    if out.exists():
        raise BackupExists(f"{out} exists: a backup never replaces another; choose a new name")
    keys = load_keys(settings.key_dir)
    database = db or Database(settings.effective_database_url)
    partial = out.with_name(out.name + ".partial")
    members: dict[str, dict[str, Any]] = {}
    blobs = 0
    try:
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".notary-backup-") as work:
            if database.is_sqlite:
                kind, member, copy = "sqlite", SQLITE_MEMBER, Path(work) / "notary.sqlite"
                source = database.engine.url.database
                if not source:
                    raise ValueError("an in-memory database cannot be backed up")
                facts = copy_sqlite(Path(source), copy)
            else:
                kind, member, copy = "postgresql", POSTGRES_MEMBER, Path(work) / "notary.pgdump"
                facts = dump_postgres(database, copy)
            now = time.time()
            with tarfile.open(partial, "w:", format=tarfile.PAX_FORMAT) as archive:
                members[member] = _add_file(archive, member, copy)
                os.unlink(copy)  # the copy's space back before the blobs are read
                for name, path in _blob_files(settings.blob_dir):
                    members[name] = _add_file(archive, name, path)
                    blobs += 1
                for path in sorted(settings.key_dir.glob("*.pem")):
                    members[f"public/{path.name}"] = _add_file(archive, f"public/{path.name}", path)
                members[f"public/{PUBLIC_LOG_KEY}"] = _add_bytes(
                    archive, f"public/{PUBLIC_LOG_KEY}", keys.log_public_pem.encode("ascii"), now
                )
                config = _public_config(settings.instance_path)
                if config is not None:
                    members[CONFIG_MEMBER] = _add_bytes(archive, CONFIG_MEMBER, config, now)
                if passphrase is not None:
                    files = {
                        path.name: path.read_bytes()
                        for path in sorted(settings.key_dir.iterdir())
                        if path.is_file()
                    }
                    members[KEYS_MEMBER] = _add_bytes(archive, KEYS_MEMBER, seal_keys(files, passphrase), now)
                manifest = {
                    "format": FORMAT,
                    "created_at": created_at,
                    "notary_version": __version__,
                    "database": {"kind": kind, "member": member, "schema_revision": facts.schema_revision},
                    "blob_store": settings.blob_store,
                    "log": facts.as_dict(),
                    "keys": "encrypted (notary-keys/1)" if passphrase is not None else "not included",
                    "members": members,
                }
                _add_bytes(
                    archive, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"), now
                )
            with partial.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        if db is None:
            database.dispose()
    return BackupTaken(
        path=out,
        facts=facts,
        members=len(members) + 1,
        blobs=blobs,
        size=out.stat().st_size,
        seconds=time.monotonic() - started,
        keys_included=passphrase is not None,
    )
