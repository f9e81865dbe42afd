"""``notary audit`` over the keys' lifecycle: the key event leaves, their index and the keys'
status all tell one story.

What it catches: a ``key_events`` row deleted or changed (a later bundle would then leave out
a revocation), and a revoked or replaced key made ``active`` again in ``party_keys`` (it would
log in and sign again), both invisible to the log's own checks because the leaves are intact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from notary.services.audit.auditor import Divergence, DivergenceFound, Findings, batches, count_rows
from notary.storage.db import Database
from notary.storage.models import KeyEventRow, KeyStatus, LogLeaf, PartyKey
from notary.verify import key_events
from notary.verify.errors import MalformedInput

_FORMATS = LogLeaf.format.in_(key_events.KEY_EVENT_FORMATS)
#: The status a key event leaves a party's key in (a revoked key stays revoked when rotated).
_AFTER = {"revoked": {KeyStatus.REVOKED}, "rotated": {KeyStatus.ROTATED, KeyStatus.REVOKED}}


@dataclass
class KeyEventAuditor:
    """Each key event leaf parses strictly, is indexed in ``key_events`` as it says, and has
    left the party's key retired; the index holds no other row."""

    name: str = "key_events"
    label: str = "key events"

    def total(self, db: Database) -> int:
        return count_rows(db, LogLeaf.sequence, _FORMATS)

    def run(self, db: Database, findings: Findings) -> Iterator[int]:
        seen = 0
        for rows in batches(db, LogLeaf.sequence, (LogLeaf.sequence, LogLeaf.record), _FORMATS):
            events: dict[int, key_events.KeyEvent] = {}
            for row in rows:
                with findings.item("log leaf", row.sequence):
                    events[row.sequence] = self._parse(row)
            with db.read() as session:
                index = {
                    row.leaf_sequence: row
                    for row in session.execute(
                        select(KeyEventRow).where(KeyEventRow.leaf_sequence.in_(list(events)))
                    ).scalars()
                }
                pairs = [(e.party_id, e.key_fingerprint) for e in events.values() if e.party_id is not None]
                keys = {
                    (row.party_id, row.key_fingerprint): row.status
                    for row in session.execute(
                        select(PartyKey).where(PartyKey.party_id.in_([p for p, _ in pairs]))
                    ).scalars()
                }
            for sequence, event in events.items():
                with findings.item("log leaf", sequence):
                    self._check(event, index.get(sequence), keys)
            seen += len(rows)
            yield len(rows)
        with db.read() as session:
            indexed = session.execute(select(func.count()).select_from(KeyEventRow)).scalar_one()
        if indexed != seen:
            findings.add(
                Divergence(
                    self.name,
                    "key_events",
                    "table",
                    "the index holds rows that are no key event leaf",
                    str(seen),
                    str(indexed),
                )
            )

    def _parse(self, row: Any) -> key_events.KeyEvent:
        try:
            return key_events.parse_key_event(bytes(row.record))
        except MalformedInput as exc:
            raise DivergenceFound(Divergence(self.name, "log leaf", str(row.sequence), exc.message)) from exc

    def _check(
        self,
        event: key_events.KeyEvent,
        indexed: KeyEventRow | None,
        keys: dict[tuple[str, str], str],
    ) -> None:
        where = str(event.sequence)
        if indexed is None:
            raise DivergenceFound(
                Divergence(self.name, "log leaf", where, "the key event is missing from the key_events index")
            )
        stored = (indexed.kind, indexed.key_fingerprint, indexed.party_id, indexed.at)
        told = (event.kind, event.key_fingerprint, event.party_id, event.at)
        if stored != told:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "log leaf",
                    where,
                    "the key_events row disagrees with the leaf",
                    " ".join(str(value) for value in told),
                    " ".join(str(value) for value in stored),
                )
            )
        wanted = _AFTER.get(event.kind)
        if wanted is None or event.party_id is None:
            return
        status = keys.get((event.party_id, event.key_fingerprint))
        if status not in wanted:
            raise DivergenceFound(
                Divergence(
                    self.name,
                    "party key",
                    f"{event.key_fingerprint} (party {event.party_id})",
                    f"leaf {event.sequence} {event.kind} this key, yet party_keys says otherwise",
                    " or ".join(sorted(wanted)),
                    str(status),
                )
            )
