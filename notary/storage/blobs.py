"""The content-addressed document store: documents are kept under their SHA-256.

Two backends behind one interface: the filesystem (default; durable by write, fsync, rename,
fsync of the folder) and the database (the document rides in the same transaction as its
contract). The filesystem store keeps small documents (``blob_inline_max``) in the database
too: two fsyncs per document cost far more than the bytes, and a batch's database rows share
one commit. An S3-compatible store would be a third backend.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from notary.errors import NotFound
from notary.storage.db import insert_new
from notary.storage.models import Blob

Document = tuple[str, bytes]  # (SHA-256 hex, bytes)


class BlobStore(Protocol):
    """Stores and returns documents by SHA-256 (lowercase hex)."""

    def stage(self, documents: Iterable[tuple[str, bytes]]) -> None:
        """Write ahead, outside any transaction, what needs none (a file store's files), so that
        the database's writers do not queue behind its fsyncs; :meth:`put_many` then finds it.
        A staged document whose transaction fails stays behind, unreferenced."""

    def put_many(self, session: Session | Connection, documents: Iterable[tuple[str, bytes]]) -> None:
        """Store each ``(sha256, data)``; durable once the session's transaction commits."""

    def get(self, session: Session, sha256: str) -> bytes:
        """The document's bytes; raises :class:`NotFound`."""


class FilesystemBlobStore:
    """Documents as files ``<root>/ab/cd/<sha256>``, written before the transaction commits;
    those of at most ``inline_max`` bytes in the ``blobs`` table instead."""

    def __init__(self, root: Path, inline_max: int = 0) -> None:
        self.root = root
        self.inline_max = inline_max
        self.inline = DatabaseBlobStore()

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _split(self, documents: Iterable[tuple[str, bytes]]) -> tuple[list[Document], list[Document]]:
        """The documents kept in the database, and those kept as files."""
        small: list[Document] = []
        large: list[Document] = []
        for sha256, data in documents:
            (small if len(data) <= self.inline_max else large).append((sha256, data))
        return small, large

    def stage(self, documents: Iterable[tuple[str, bytes]]) -> None:
        self._write_files(self._split(documents)[1])

    def put_many(self, session: Session | Connection, documents: Iterable[tuple[str, bytes]]) -> None:
        small, large = self._split(documents)
        if small:
            self.inline.put_many(session, small)
        self._write_files(large)  # each one staged already is found and skipped

    def _write_files(self, documents: list[tuple[str, bytes]]) -> None:
        folders: set[Path] = set()
        for sha256, data in documents:
            path = self._path(sha256)
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            folders.add(path.parent)
        for folder in folders:
            _fsync_dir(folder)

    def get(self, session: Session, sha256: str) -> bytes:
        try:
            return self.inline.get(session, sha256)
        except NotFound:
            pass
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound("document not found") from exc


class DatabaseBlobStore:
    """Documents in the ``blobs`` table, inside the caller's transaction."""

    def stage(self, documents: Iterable[tuple[str, bytes]]) -> None:
        """Nothing to write ahead: the rows go in with the transaction."""

    def put_many(self, session: Session | Connection, documents: Iterable[tuple[str, bytes]]) -> None:
        rows = {sha256: {"sha256": sha256, "size": len(data), "data": data} for sha256, data in documents}
        insert_new(session, Blob, list(rows.values()), ["sha256"])

    def get(self, session: Session, sha256: str) -> bytes:
        data = session.execute(select(Blob.data).where(Blob.sha256 == sha256)).scalar_one_or_none()
        if data is None:
            raise NotFound("document not found")
        return data


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_blob_store(kind: str, root: Path, inline_max: int = 0) -> BlobStore:
    """The configured backend: ``filesystem`` (documents up to ``inline_max`` bytes in the
    database) or ``database``."""
    if kind == "database":
        return DatabaseBlobStore()
    return FilesystemBlobStore(root, inline_max)
