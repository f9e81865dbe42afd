"""Following a notary: every checkpoint checked against the leaves' own hashes before it is kept.

The mirror rebuilds the tree from the leaf hashes the notary publishes (hashes only, never a
record: round2-notes, privacy of the log) and keeps a checkpoint only when the tree of its size,
built here, has its root. Since every checkpoint is checked against one growing tree, this
checks every inclusion and every consistency step between them at once. What it refuses:

* ``bad_checkpoint``: a checkpoint whose signature does not verify with the trusted log keys;
* ``fork``: leaves that do not give the checkpoint's root on top of what the mirror holds,
  or another root for a size the mirror holds (the log was rewritten);
* ``rollback``: the notary's latest checkpoint is smaller than the mirror's.

On an alarm the mirror stops following and keeps serving what it checked; the alarm is logged
(``ALARM ...``), kept, and shown at ``/api/v1/mirror``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from notary.verify.encoding import hex_digest
from notary.verify.errors import NotaryError
from notary.verify.merkle.plan import append_leaves, append_plan
from notary.verify.note import Checkpoint, parse_note
from notary.verify.payloads import format_time
from notary.watch import fetch
from notary.watch.mirror.store import MirrorStore
from notary.watch.monitor import TrustedLogKey, verify_trusted_checkpoint

log = logging.getLogger("notary.mirror")

PAGE = 1000
FORK, ROLLBACK, BAD_CHECKPOINT = "fork", "rollback", "bad_checkpoint"


class MirrorAlarm(NotaryError):
    """The upstream log did something a log must never do; the mirror stopped following it."""

    code = "mirror_alarm"

    def __init__(self, kind: str, message: str, evidence: str = "") -> None:
        super().__init__(message, details={"kind": kind})
        self.kind = kind
        self.evidence = evidence


@dataclass(frozen=True)
class Synced:
    """What one sync did."""

    tree_size: int
    checkpoints: int
    alarm: str | None = None


class MirrorSync:
    """Brings the mirror up to the upstream notary's latest checkpoint."""

    def __init__(
        self,
        store: MirrorStore,
        upstream: str,
        log_keys: Sequence[TrustedLogKey],
        *,
        clock: Callable[[], dt.datetime],
        timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.upstream = upstream.rstrip("/") + "/api/v1"
        self.log_keys = tuple(log_keys)
        self.clock = clock
        self.timeout = timeout

    def sync_once(self) -> Synced:
        """Fetch and check everything new; raises :class:`~notary.watch.fetch.Unreachable` when
        the notary does not answer (the mirror keeps serving). An alarm is kept and returned."""
        added = 0
        try:
            self._check_latest()
            while True:
                with self.store.reading() as connection:
                    held = self.store.latest(connection)
                after = -1 if held is None else held[0]
                page = fetch.get_json(
                    fetch.with_query(self.upstream + "/log/checkpoints", after=after, limit=100),
                    timeout=self.timeout,
                )
                items = page.get("checkpoints", []) if isinstance(page, dict) else []
                if not items:
                    break
                for item in items:
                    self._add(item["checkpoint"])
                    added += 1
            self._refresh_cosignatures()
        except MirrorAlarm as alarm:
            log.error("ALARM %s mirror of %s: %s", alarm.kind, self.upstream, alarm.message)
            self.store.alarm(alarm.kind, alarm.message, alarm.evidence, format_time(self.clock()))
            return Synced(self._size(), added, alarm.kind)
        self.store.set_meta("last_sync", format_time(self.clock()))
        return Synced(self._size(), added)

    def _size(self) -> int:
        with self.store.reading() as connection:
            return self.store.size(connection)

    def _verify(self, text: str) -> Checkpoint:
        try:
            return verify_trusted_checkpoint(text, self.log_keys)
        except NotaryError as exc:
            raise MirrorAlarm(BAD_CHECKPOINT, f"a checkpoint does not verify: {exc.message}", text) from exc

    def _check_latest(self) -> None:
        text = fetch.get(self.upstream + "/log/checkpoint", timeout=self.timeout).decode("utf-8")
        latest = self._verify(text)
        with self.store.reading() as connection:
            held = self.store.latest(connection)
            same = connection.execute(
                "SELECT root_hash, note FROM checkpoints WHERE tree_size = ?", (latest.size,)
            ).fetchone()
        if held is not None and latest.size < held[0]:
            raise MirrorAlarm(
                ROLLBACK,
                f"the notary's latest checkpoint is of size {latest.size}; this mirror holds {held[0]}",
                text,
            )
        if same is not None and same[0] != latest.root_hash:
            raise MirrorAlarm(
                FORK, f"another root for size {latest.size} than the one this mirror holds", text
            )

    def _add(self, text: str) -> None:
        checkpoint = self._verify(text)
        with self.store.transaction() as connection:
            size = self.store.size(connection)
            same = connection.execute(
                "SELECT root_hash FROM checkpoints WHERE tree_size = ?", (checkpoint.size,)
            ).fetchone()
            if same is not None:
                if same[0] != checkpoint.root_hash:
                    raise MirrorAlarm(FORK, f"another root for size {checkpoint.size}", text)
                return
            if checkpoint.size < size:
                raise MirrorAlarm(
                    FORK, f"a new checkpoint of size {checkpoint.size} below the mirror's {size}", text
                )
            existing = self.store.nodes(connection, append_plan(size))
            hashes, records = self._leaves(size, checkpoint.size)
            appended = append_leaves(size, existing, hashes)
            if appended.root != checkpoint.root_hash:
                raise MirrorAlarm(
                    FORK,
                    f"the leaves from {size} to {checkpoint.size} do not give the checkpoint's root on top of "
                    "what this mirror holds: the log was rewritten",
                    text,
                )
            self.store.add(
                connection,
                size,
                records,
                appended.nodes,
                [(checkpoint.size, checkpoint.origin, checkpoint.root_hash, text)],
            )

    def _leaves(self, start: int, end: int) -> tuple[list[bytes], list[str]]:
        hashes: list[bytes] = []
        records: list[str] = []
        while start + len(hashes) < end:
            first = start + len(hashes)
            page = fetch.get_json(
                fetch.with_query(
                    self.upstream + "/log/leaf-hashes", start=first, count=min(PAGE, end - first)
                ),
                timeout=self.timeout,
            )
            try:
                got = [hex_digest(item, what="leaf hash") for item in page["leaf_hashes"]]
                names = [hex_digest(item, what="record SHA-256").hex() for item in page["record_sha256"]]
            except (KeyError, TypeError, NotaryError) as exc:
                raise fetch.Unreachable(f"{self.upstream}: leaf hashes that do not parse") from exc
            if page.get("start") != first or not got or len(got) != len(names):
                raise fetch.Unreachable(f"{self.upstream}: a short or misplaced page of leaf hashes")
            hashes += got[: end - first]
            records += names[: end - first]
        return hashes, records

    def _refresh_cosignatures(self) -> None:
        """Cosignatures arrive after the checkpoint: take them for the latest few, when the
        checkpoint's text and the log's signature are unchanged."""
        with self.store.reading() as connection:
            recent = connection.execute(
                "SELECT tree_size, note FROM checkpoints ORDER BY tree_size DESC LIMIT 5"
            ).fetchall()
        for size, note in recent:
            try:
                text = fetch.get(f"{self.upstream}/log/checkpoints/{size}", timeout=self.timeout).decode(
                    "utf-8"
                )
            except (NotaryError, UnicodeDecodeError):
                continue
            if text == note:
                continue
            checkpoint = self._verify(text)
            if parse_note(text).text != parse_note(note).text:
                raise MirrorAlarm(FORK, f"the checkpoint of size {checkpoint.size} changed", text)
            if len(text) > len(note):
                with self.store.transaction() as connection:
                    connection.execute("UPDATE checkpoints SET note = ? WHERE tree_size = ?", (text, size))
