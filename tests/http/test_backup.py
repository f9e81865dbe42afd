"""Backup and restore (issue 23.3): a round trip keeps every bundle issued before the backup
verifiable and the log consistent with every checkpoint served before; what was sealed after
is reported missing; a corrupted archive is refused with nothing written; a restore, or a
start, over a log shorter than the one published is refused unless the operator says so."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from notary.app import create_app
from notary.config import Settings
from notary.runtime import Runtime
from notary.services.operations.archive import BackupCorrupt, BackupExists, check_archive
from notary.services.operations.backup import take_backup
from notary.services.operations.restore import TargetNotEmpty, restore_backup
from notary.services.operations.sealed_keys import WrongPassphrase
from notary.services.tlog.published import MARK_NAME, LogBehindPublished, LogForked, PublishedMarkUnreadable
from notary.verify.evidence.bundle import CHECKPOINT
from notary.verify.evidence.verifier import verify_bundle
from notary.verify.trust import TrustFile
from tests.support.log_audit import audit_of
from tests.support.people import Person
from tests.support.platforms import PlatformClient, new_platform, sign_body

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture
def restore_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[str]:
    """Where a restore writes its database: an empty PostgreSQL database beside the test's,
    or SQLite in the restored folder."""
    if not database_url:
        yield f"sqlite:///{tmp_path / 'restored' / 'notary.db'}"
        return
    cluster = request.getfixturevalue("postgres")
    name = database_url.rsplit("/", 1)[1].split("?", maxsplit=1)[0] + "_restored"
    cluster.execute(f"CREATE DATABASE {name}")
    yield cluster.url(name)
    cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def publish(runtime: Runtime) -> None:
    runtime.sequencer.seal_pending()
    runtime.stamper.stamp_records()
    runtime.clock.advance(seconds=2)
    runtime.checkpointer.run_once()
    runtime.stamper.stamp_checkpoints()


def seal_one(runtime: Runtime, client: Any) -> str:
    platform = new_platform(runtime, client, "Later Lending")
    investor, borrower = Person("王五"), Person("赵六", alg="p256")
    platform.enrol(investor)
    platform.enrol(borrower)
    filed = platform.file(investor, borrower, document=b"%PDF-1.4 after the backup")
    for role, person in (("investor", investor), ("borrower", borrower)):
        answer = client.post(
            f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
        )
        assert answer.status_code == 200
    publish(runtime)
    return str(filed["contract_id"])


def restored_runtime(target: Path, url: str, clock: Any) -> Runtime:
    return Runtime(Settings.load({}, instance_path=target, database_url=url), clock=clock, web=True)


def sealed_contracts(
    runtime: Runtime, client: Any, platform: Any, investor: Person, borrower: Person, count: int
) -> list[str]:
    """``count`` contracts sealed, timestamped and in a checkpoint; one past blob_inline_max so
    that a document is kept as a file."""
    ids = []
    for index in range(count):
        document = b"%%PDF-1.4 contract %d" % index
        if index == 1:
            document += b" " * runtime.settings.blob_inline_max
        filed = platform.file(investor, borrower, document=document)
        for role, person in (("investor", investor), ("borrower", borrower)):
            answer = client.post(
                f"/api/v1/contracts/{filed['contract_id']}/signatures", json=sign_body(person, filed, role)
            )
            assert answer.status_code == 200
        publish(runtime)
        ids.append(str(filed["contract_id"]))
    return ids


def bundle_of(platform: Any, contract_id: str) -> tuple[bytes, int]:
    """The contract's evidence bundle and the size of the checkpoint it holds."""
    answer = platform.get(f"/contracts/{contract_id}/evidence")
    assert answer.status_code == 200, answer.get_json()
    with zipfile.ZipFile(io.BytesIO(answer.data)) as bundle:
        size = int(bundle.read(CHECKPOINT).decode().split("\n")[1])
    return answer.data, size


def test_round_trip_keeps_bundles_and_checkpoints(
    runtime, client, platform, investor, borrower, tmp_path, restore_url, clock
):
    ids = sealed_contracts(runtime, client, platform, investor, borrower, 3)
    bundles = {cid: bundle_of(platform, cid) for cid in ids}
    served = client.get("/api/v1/log/checkpoints").get_json()["checkpoints"]
    assert served
    archive = tmp_path / "backup.tar"
    taken = take_backup(runtime.settings, archive, passphrase=PASSPHRASE, created_at="2026-12-06T00:00:00Z")
    manifest = check_archive(archive)
    assert manifest.tree_size == taken.facts.tree_size > 0
    assert manifest.checkpoint is not None
    assert manifest.has_keys
    if not runtime.db.is_sqlite or runtime.settings.blob_store == "filesystem":
        assert any(name.startswith("blobs/") for name in manifest.members)  # the large document
    assert "public/root-ca.pem" in manifest.members
    assert "public/log-ed25519.pub" in manifest.members
    assert not any(name.endswith(".key") for name in manifest.members)  # private keys only sealed
    raw = archive.read_bytes()
    for secret in ("log-ed25519.key", "pii.key", "root-ca.key"):
        assert (runtime.settings.key_dir / secret).read_bytes() not in raw
    later = seal_one(runtime, client)  # sealed after the backup

    target = tmp_path / "restored"
    restored = restore_backup(archive, target, database_url=restore_url, passphrase=PASSPHRASE)
    assert restored.keys_restored
    assert restored.missing is None  # nothing kept in the target says more was published
    for name in ("log-ed25519.key", "pii.key", "notary.pem"):
        assert (target / "keys" / name).read_bytes() == (runtime.settings.key_dir / name).read_bytes()
    assert oct((target / "keys" / "pii.key").stat().st_mode & 0o777) == "0o600"
    rt = restored_runtime(target, restore_url, clock)
    try:
        report = audit_of(rt)
        assert report.clean, report.as_dict()
        restored_client = create_app(runtime=rt).test_client()
        trust = TrustFile.from_json(restored_client.get("/api/v1/trust").get_data())
        newest = restored_client.get("/api/v1/log/checkpoint").get_data(as_text=True)
        newest_size = int(newest.split("\n")[1])
        assert newest_size == manifest.data["log"]["checkpoint_size"]
        for cid, (bundle, size) in bundles.items():
            proof = restored_client.get(f"/api/v1/log/proof/consistency?first={size}&second={newest_size}")
            assert proof.status_code == 200, cid
            report = verify_bundle(
                bundle, trust=trust, newer_checkpoint=newest, consistency_proof=proof.get_json(), now=clock()
            )
            assert report.valid, report.to_dict()
            assert report.origin_established
        # Every checkpoint served before the backup is served again with the same body.
        for entry in served:
            again = restored_client.get(f"/api/v1/log/checkpoints/{entry['tree_size']}")
            assert again.status_code == 200
            assert again.get_data(as_text=True).split("\n\n")[0] == entry["checkpoint"].split("\n\n")[0]
        # The contract sealed after the backup is not there; the mark is the backup's checkpoint.
        owner = PlatformClient(restored_client, platform.platform_id, platform.token)
        assert owner.get(f"/contracts/{ids[0]}").status_code == 200
        assert owner.get(f"/contracts/{later}").status_code == 404
        assert int((target / MARK_NAME).read_text().split("\n")[1]) == newest_size
    finally:
        rt.close()


def backup_of(runtime: Runtime, tmp_path: Path, *, passphrase: bytes | None = PASSPHRASE) -> Path:
    archive = tmp_path / "backup.tar"
    take_backup(runtime.settings, archive, passphrase=passphrase, created_at="2026-12-06T00:00:00Z")
    return archive


def rewritten(archive: Path, out: Path, change: Any) -> Path:
    """A copy of ``archive`` with ``change(name, data)`` applied to each member (None drops it)."""
    with tarfile.open(archive) as source, tarfile.open(out, "w:", format=tarfile.PAX_FORMAT) as copy:
        for member in source:
            handle = source.extractfile(member)
            data = change(member.name, handle.read() if handle else b"")
            if data is None:
                continue
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return out


def flip_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def test_a_corrupted_backup_is_refused_and_nothing_is_written(
    runtime, client, platform, investor, borrower, tmp_path, restore_url
):
    sealed_contracts(runtime, client, platform, investor, borrower, 2)
    archive = backup_of(runtime, tmp_path)
    with tarfile.open(archive) as opened:
        manifest = json.loads(opened.extractfile("manifest.json").read())
    blob = next((name for name in manifest["members"] if name.startswith("blobs/")), None)
    database = "database/notary.sqlite" if runtime.db.is_sqlite else "database/notary.pgdump"

    def edited_manifest(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        value = json.loads(data)
        value["log"]["tree_size"] += 1  # unprotected fields do not matter; hashes do:
        value["members"]["public/root-ca.pem"]["sha256"] = "0" * 64
        return json.dumps(value).encode()

    def extra(name: str, data: bytes) -> bytes:
        return data

    cases = {
        "database flipped": lambda name, data: flip_byte(data) if name == database else data,
        "certificate flipped": lambda name, data: flip_byte(data) if name == "public/notary.pem" else data,
        "keys flipped": lambda name, data: flip_byte(data) if name == "keys.enc" else data,
        "member dropped": lambda name, data: None if name == "public/tsa.pem" else data,
        "manifest dropped": lambda name, data: None if name == "manifest.json" else data,
        "manifest edited": edited_manifest,
        "manifest garbage": lambda name, data: b"{not json" if name == "manifest.json" else data,
    }
    if blob is not None:
        cases["document flipped"] = lambda name, data: flip_byte(data) if name == blob else data
    target = tmp_path / "restored"
    for label, change in cases.items():
        damaged = rewritten(archive, tmp_path / f"{label}.tar", change)
        with pytest.raises(BackupCorrupt) as refused:
            restore_backup(damaged, target, database_url=restore_url, passphrase=PASSPHRASE)
        assert refused.value.code == "backup_corrupt", label
        assert not target.exists(), label
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    not_tar = tmp_path / "not.tar"
    not_tar.write_bytes(b"PK\x03\x04 a zip, not a backup")
    for damaged in (truncated, not_tar, tmp_path / "absent.tar"):
        with pytest.raises(BackupCorrupt):
            restore_backup(damaged, target, database_url=restore_url, passphrase=PASSPHRASE)
        assert not target.exists()
    # An added member, and one that tries to leave its folder.
    with tarfile.open(archive, "a") as appended:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        appended.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BackupCorrupt, match="escape"):
        restore_backup(archive, target, database_url=restore_url, passphrase=PASSPHRASE)
    assert not target.exists()
    assert not (tmp_path / "escape").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".restored")] == []


def test_wrong_passphrase_and_a_used_target_write_nothing(runtime, tmp_path, restore_url):
    archive = backup_of(runtime, tmp_path)
    target = tmp_path / "restored"
    with pytest.raises(WrongPassphrase):
        restore_backup(archive, target, database_url=restore_url, passphrase=b"not it")
    assert not target.exists()
    target.mkdir()
    (target / "notary.db").write_bytes(b"someone's data")
    with pytest.raises(TargetNotEmpty):
        restore_backup(archive, target, database_url=restore_url, passphrase=PASSPHRASE)
    assert [p.name for p in target.iterdir()] == ["notary.db"]
    with pytest.raises(BackupExists):
        backup_of(runtime, tmp_path)  # never over an existing archive


def test_a_backup_without_keys_restores_public_material_only(runtime, tmp_path, restore_url):
    archive = backup_of(runtime, tmp_path, passphrase=None)
    assert not check_archive(archive).has_keys
    target = tmp_path / "restored"
    restored = restore_backup(archive, target, database_url=restore_url, passphrase=None)
    assert not restored.keys_restored
    assert sorted(p.name for p in (target / "keys").iterdir()) == [
        "notary.pem", "report.pem", "root-ca.pem", "tsa.pem",
    ]  # fmt: skip


def test_restore_over_a_longer_published_log_is_refused_unless_accepted(
    runtime, client, platform, investor, borrower, tmp_path, restore_url, clock
):
    sealed_contracts(runtime, client, platform, investor, borrower, 2)
    archive = backup_of(runtime, tmp_path)
    backup_size = check_archive(archive).tree_size
    seal_one(runtime, client)  # published after the backup
    kept = (runtime.settings.instance_path / MARK_NAME).read_text()
    published_size = int(kept.split("\n")[1])
    assert published_size > backup_size
    # The operator kept the lost instance's published-checkpoint in the new folder.
    target = tmp_path / "restored"
    target.mkdir()
    (target / MARK_NAME).write_text(kept)
    with pytest.raises(LogBehindPublished) as refused:
        restore_backup(archive, target, database_url=restore_url, passphrase=PASSPHRASE)
    assert refused.value.details == {"log_size": backup_size, "published_size": published_size}
    assert [p.name for p in target.iterdir()] == [MARK_NAME]  # nothing written
    # The same checkpoint given with --published (from a monitor or a bundle) is refused alike.
    with pytest.raises(LogBehindPublished):
        restore_backup(
            archive, tmp_path / "other", database_url=restore_url, passphrase=PASSPHRASE, published=kept
        )
    assert not (tmp_path / "other").exists()

    restored = restore_backup(
        archive, target, database_url=restore_url, passphrase=PASSPHRASE, accept_shorter=True
    )
    assert restored.missing == (backup_size, published_size)
    assert restored.superseded == target / f"{MARK_NAME}.superseded-{published_size}"
    assert restored.superseded.read_text() == kept
    rt = restored_runtime(target, restore_url, clock)  # the accepted restore starts
    try:
        assert audit_of(rt).clean
    finally:
        rt.close()


def test_a_start_over_a_rolled_back_database_is_refused_unless_accepted(
    runtime, client, platform, investor, borrower, tmp_path, clock, restore_url
):
    sealed_contracts(runtime, client, platform, investor, borrower, 2)
    archive = backup_of(runtime, tmp_path)
    backup_size = check_archive(archive).tree_size
    seal_one(runtime, client)
    mark = runtime.settings.instance_path / MARK_NAME
    published_size = int(mark.read_text().split("\n")[1])
    # Roll this instance's database back to the backup (as a PostgreSQL point-in-time recovery
    # or a copied SQLite file would), keeping the instance folder and its mark.
    runtime.close()
    rolled = tmp_path / "restored"
    restore_backup(archive, rolled, database_url=restore_url, passphrase=PASSPHRASE)
    settings = replace(runtime.settings, database_url=restore_url)
    with pytest.raises(LogBehindPublished) as refused:
        Runtime(settings, clock=clock)
    assert refused.value.details == {"log_size": backup_size, "published_size": published_size}
    accepted = Runtime(replace(settings, unsafe_accept_shorter_log=True), clock=clock)
    accepted.close()
    assert (settings.instance_path / f"{MARK_NAME}.superseded-{published_size}").exists()
    assert int(mark.read_text().split("\n")[1]) <= backup_size
    Runtime(settings, clock=clock).close()  # accepted once: the next start needs no flag


def test_a_start_over_another_history_is_refused(runtime, client, platform, investor, borrower, clock):
    sealed_contracts(runtime, client, platform, investor, borrower, 1)
    mark = runtime.settings.instance_path / MARK_NAME
    note = mark.read_text()
    size = int(note.split("\n")[1])
    # A checkpoint of the same size with another root, signed by this log's key: another history.
    from notary.verify.note import Checkpoint

    forged = runtime.log_signer.sign_checkpoint(Checkpoint(runtime.log_signer.name, size, b"\x07" * 32))
    mark.write_text(forged)
    with pytest.raises(LogForked):
        Runtime(runtime.settings, clock=clock)
    mark.write_text("not a checkpoint\n")
    with pytest.raises(PublishedMarkUnreadable):
        Runtime(runtime.settings, clock=clock)
