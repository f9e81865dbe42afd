"""The filesystem blob store: small documents in the database, the rest as files."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from notary.errors import NotFound
from notary.storage.blobs import FilesystemBlobStore, make_blob_store
from notary.storage.models import Blob


def document(size: int, fill: bytes = b"x") -> tuple[str, bytes]:
    data = (fill * size)[:size]
    return hashlib.sha256(data).hexdigest(), data


def test_documents_up_to_the_threshold_go_to_the_database_and_larger_ones_to_files(runtime, tmp_path):
    store = FilesystemBlobStore(tmp_path / "blobs", inline_max=100)
    at_limit, over = document(100), document(101)
    with runtime.db.write() as session:
        store.put_many(session, [at_limit, over])
    with runtime.db.read() as session:
        inline = set(session.execute(select(Blob.sha256)).scalars())
        assert inline == {at_limit[0]}
        assert store.get(session, at_limit[0]) == at_limit[1]
        assert store.get(session, over[0]) == over[1]
    files = [path.name for path in (tmp_path / "blobs").rglob("*") if path.is_file()]
    assert files == [over[0]]


def test_a_threshold_of_zero_keeps_every_document_as_a_file(runtime, tmp_path):
    store = make_blob_store("filesystem", tmp_path / "blobs", 0)
    small = document(1)
    with runtime.db.write() as session:
        store.put_many(session, [small])
    with runtime.db.read() as session:
        assert session.execute(select(Blob.sha256)).first() is None
        assert store.get(session, small[0]) == small[1]


def test_a_document_in_neither_place_is_not_found(runtime, tmp_path):
    store = FilesystemBlobStore(tmp_path / "blobs", inline_max=100)
    with runtime.db.read() as session, pytest.raises(NotFound):
        store.get(session, document(5)[0])


def test_the_service_keeps_small_documents_inline_by_default(runtime):
    assert runtime.settings.blob_inline_max == 64 * 1024
    assert isinstance(runtime.blobs, FilesystemBlobStore)
    assert runtime.blobs.inline_max == 64 * 1024


def test_staging_writes_the_files_ahead_and_leaves_the_rows_to_the_transaction(runtime, tmp_path):
    store = FilesystemBlobStore(tmp_path / "blobs", inline_max=100)
    small, large = document(10), document(500)
    store.stage([small, large])  # no session: outside any transaction
    files = [path.name for path in (tmp_path / "blobs").rglob("*") if path.is_file()]
    assert files == [large[0]]
    with runtime.db.read() as session:
        assert store.get(session, large[0]) == large[1]
        with pytest.raises(NotFound):
            store.get(session, small[0])  # a row comes only with put_many's transaction
    with runtime.db.write() as session:
        store.put_many(session, [small, large])
    with runtime.db.read() as session:
        assert store.get(session, small[0]) == small[1]
    files = [path.name for path in (tmp_path / "blobs").rglob("*") if path.is_file()]
    assert files == [large[0]]  # not written twice


def test_the_database_store_stages_nothing(runtime):
    store = make_blob_store("database", runtime.settings.instance_path / "unused", 0)
    small = document(10)
    store.stage([small])
    with runtime.db.read() as session, pytest.raises(NotFound):
        store.get(session, small[0])
    assert not (runtime.settings.instance_path / "unused").exists()
