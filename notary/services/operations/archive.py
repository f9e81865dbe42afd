"""The backup archive: a POSIX tar whose last member, ``manifest.json``, lists every other
member with its SHA-256 and size, and the log the backup covers.

Members (``docs/operations.md``, "Backup and restore"):

- ``database/notary.sqlite`` (SQLite) or ``database/notary.pgdump`` (``pg_dump -Fc``);
- ``blobs/ab/cd/<sha256>``: the documents kept as files (content-addressed);
- ``public/*.pem``: the root, notary, timestamp and report certificates, and
  ``public/log-ed25519.pub``, the log's public key;
- ``config.json``: the instance's settings file, if it has one, without ``database_url``;
- ``keys.enc``: the private keys, only with ``--include-keys``
  (:mod:`~notary.services.operations.sealed_keys`).

:func:`check_archive` reads the whole archive and compares it with the manifest before a
restore writes anything: a member missing, added, of another size or hash, a link, a path
that leaves its folder, or a manifest that does not parse is :class:`BackupCorrupt`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from notary.errors import Conflict, MalformedInput

FORMAT = "notary-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/notary.sqlite"
POSTGRES_MEMBER = "database/notary.pgdump"
KEYS_MEMBER = "keys.enc"
CONFIG_MEMBER = "config.json"
_MEMBER_NAME = re.compile(r"^(?:database/notary\.(?:sqlite|pgdump)|blobs/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}"
                          r"|public/[A-Za-z0-9._-]+|config\.json|keys\.enc)$")  # fmt: skip
_CHUNK = 1 << 20


class BackupCorrupt(MalformedInput):
    """The archive does not match its manifest, or is not a notary backup; nothing was
    written. ``details``: ``member`` where one is to blame."""

    code = "backup_corrupt"


class BackupExists(Conflict):
    """``--out`` names a file that exists: a backup never replaces another."""

    code = "backup_exists"


@dataclass(frozen=True)
class Manifest:
    """``manifest.json`` read back and checked against the archive."""

    data: dict[str, Any]

    @property
    def members(self) -> dict[str, dict[str, Any]]:
        return dict(self.data["members"])

    @property
    def database_kind(self) -> str:
        return str(self.data["database"]["kind"])

    @property
    def tree_size(self) -> int:
        return int(self.data["log"]["tree_size"])

    @property
    def checkpoint(self) -> str | None:
        note = self.data["log"].get("checkpoint")
        return str(note) if note else None

    @property
    def has_keys(self) -> bool:
        return KEYS_MEMBER in self.data["members"]


class HashingReader:
    """A file read through, hashing what passes (``tarfile.addfile`` reads it once)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def entry(self) -> dict[str, Any]:
        return {"sha256": self.digest.hexdigest(), "size": self.size}


@contextmanager
def open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    """The archive for reading; raises :class:`BackupCorrupt` when it is not a tar at all."""
    try:
        archive = tarfile.open(path, "r:")  # noqa: SIM115 - closed by this context manager
    except FileNotFoundError as exc:
        raise BackupCorrupt(f"{path}: no such file") from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupCorrupt(f"{path}: not a notary backup (not a tar archive: {exc})") from exc
    try:
        yield archive
    finally:
        archive.close()


def _digest(handle: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def check_archive(path: Path) -> Manifest:
    """Read all of ``path`` and check it against its manifest; the checked manifest.

    Raises :class:`BackupCorrupt` naming the first member that differs.
    """
    found: dict[str, tuple[str, int]] = {}
    manifest_bytes: bytes | None = None
    with open_archive(path) as archive:
        try:
            for member in archive:
                name = member.name
                if not member.isfile():
                    raise BackupCorrupt(f"{name}: not a regular file", details={"member": name})
                if name in found or (name == MANIFEST and manifest_bytes is not None):
                    raise BackupCorrupt(f"{name}: twice in the archive", details={"member": name})
                handle = archive.extractfile(member)
                if handle is None:  # pragma: no cover - isfile() members always have one
                    raise BackupCorrupt(f"{name}: unreadable", details={"member": name})
                if name == MANIFEST:
                    manifest_bytes = handle.read(64 << 20)
                    continue
                if not _MEMBER_NAME.fullmatch(name):
                    raise BackupCorrupt(f"{name}: not a member of a notary backup", details={"member": name})
                found[name] = _digest(handle)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupCorrupt(f"{path}: the archive is damaged ({exc})") from exc
    if manifest_bytes is None:
        raise BackupCorrupt(f"{path}: no {MANIFEST}: not a notary backup", details={"member": MANIFEST})
    manifest = _parse_manifest(manifest_bytes)
    listed = manifest.members
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            raise BackupCorrupt(
                f"{name}: listed in the manifest but not in the archive", details={"member": name}
            )
        if name not in listed:
            raise BackupCorrupt(f"{name}: in the archive but not in the manifest", details={"member": name})
        sha256, size = found[name]
        if (listed[name].get("sha256"), listed[name].get("size")) != (sha256, size):
            raise BackupCorrupt(
                f"{name}: its SHA-256 or size differs from the manifest's", details={"member": name}
            )
        if name.startswith("blobs/") and name.rsplit("/", 1)[1] != sha256:
            raise BackupCorrupt(f"{name}: its content does not hash to its name", details={"member": name})
    return manifest


def _parse_manifest(raw: bytes) -> Manifest:
    try:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, not {FORMAT}")
        if data["database"]["kind"] not in {"sqlite", "postgresql"}:
            raise ValueError("unknown database kind")
        int(data["log"]["tree_size"])
        members = data["members"]
        if not isinstance(members, dict) or not all(isinstance(v, dict) for v in members.values()):
            raise ValueError("members is not an object of objects")
        database_member = SQLITE_MEMBER if data["database"]["kind"] == "sqlite" else POSTGRES_MEMBER
        if database_member not in members:
            raise ValueError(f"no {database_member}")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupCorrupt(
            f"{MANIFEST} is not a notary backup manifest ({exc})", details={"member": MANIFEST}
        ) from exc
    return Manifest(data)
