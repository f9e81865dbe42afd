"""``backup``: the time and size of ``notary backup`` and ``notary restore`` on a full instance.

The instance is filled with sealed contracts by the sealing ceiling's own batches
(:mod:`bench.ceilings`: filed, both signatures verified, sealed into the log, one RFC 3161
token per record and a checkpoint per 1000), each with a document of ``document_bytes`` kept as
a file (``NOTARY_BLOB_INLINE_MAX=0``), so that the archive carries one member per document as
a real instance's does. Then, in this process: the backup (with the keys, encrypted), the
restore's full check of the archive, and the restore itself (without the audit, which is
measured by ``notary audit``'s own figures).

For comparison in the same run (the machine is shared): ``backup_copy_ceiling_s``, reading
and writing the same bytes with ``shutil.copyfile`` (the database file and every document).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.ceilings import _batch, _parties, _prepare, _Steps
from bench.instance import Instance


def _tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def run_backup(plan: Any, database_url: str, restore_url: str, say: Callable[[str], None]) -> dict[str, Any]:
    """Fill an instance with ``plan.backup_contracts`` sealed contracts, back it up, restore it."""
    from notary.config import Settings
    from notary.runtime import Runtime
    from notary.services.operations.archive import check_archive
    from notary.services.operations.backup import take_backup
    from notary.services.operations.restore import restore_backup

    contracts = plan.backup_contracts
    instance = Instance.create("backup", database_url, NOTARY_BLOB_INLINE_MAX="0")
    work = Path(tempfile.mkdtemp(prefix="notary-bench-backup-"))
    settings = Settings.load({}, instance_path=instance.path, database_url=database_url, blob_inline_max=0)
    rt = Runtime(settings)
    try:
        platform_id, parties, keys = _parties(rt, instance.path.parent / "parties")
        say(f"backup: filling an instance with {contracts} sealed contracts")
        started = time.perf_counter()
        steps = _Steps()
        prepared = _prepare(platform_id, parties, keys, contracts)  # every document different
        for start in range(0, contracts, 1000):
            _batch(rt, steps, platform_id, parties, prepared[start : start + 1000])
            if start and start % 20000 == 0:
                say(f"backup: {start} contracts")
        fill_s = time.perf_counter() - started
    finally:
        rt.close()
    try:
        archive = work / "backup.tar"
        say("backup: notary backup --include-keys")
        taken = take_backup(
            settings, archive, passphrase=b"bench passphrase", created_at="2026-01-01T00:00:00Z"
        )
        say("backup: checking the archive")
        started = time.perf_counter()
        check_archive(archive)
        check_s = time.perf_counter() - started
        say("backup: notary restore (without its audit)")
        started = time.perf_counter()
        restore_backup(
            archive,
            work / "restored",
            database_url=restore_url or f"sqlite:///{work / 'restored' / 'notary.db'}",
            passphrase=b"bench passphrase",
        )
        restore_s = time.perf_counter() - started
        database_bytes = (instance.path / "notary.db").stat().st_size if not database_url else None
        started = time.perf_counter()
        copies = work / "copies"
        copies.mkdir()
        if not database_url:
            shutil.copyfile(instance.path / "notary.db", copies / "notary.db")
        for index, path in enumerate(p for p in (instance.path / "blobs").rglob("*") if p.is_file()):
            shutil.copyfile(path, copies / str(index))
        copy_s = time.perf_counter() - started
        figures = {
            "backup_contracts": contracts,
            "backup_fill_s": round(fill_s, 1),
            "backup_s": round(taken.seconds, 2),
            "backup_bytes": taken.size,
            "backup_members": taken.members,
            "backup_tree_size": taken.facts.tree_size,
            "backup_database_bytes": database_bytes,
            "backup_blob_bytes": _tree_bytes(instance.path / "blobs"),
            "backup_check_s": round(check_s, 2),
            "restore_s": round(restore_s, 2),
            "backup_copy_ceiling_s": round(copy_s, 2),
        }
        say(f"backup: {figures}")
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)
        instance.remove()
        os.sync()
