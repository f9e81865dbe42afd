"""The platforms' public record, with its notices, kept for a short while, and who follows what.

Figures are computed by :mod:`~notary.services.transparency.figures` and kept for
``NOTARY_TRANSPARENCY_CACHE`` (60 s by default; ``computed_at`` says when) so that a popular
page does not aggregate a million contracts on every view.

Notices, for the portal and the feeds:

- ``defunct``: the platform was marked defunct (since when);
- ``open_reports``: its open reports reached ``NOTARY_REPORT_NOTICE_THRESHOLD`` (10);
- ``filings_stopped``: no filing for longer than usual. *Usual* is the longest gap between two
  consecutive filing days in the 90 days before its last filing; the notice comes when the
  silence is longer than twice that and than ``NOTARY_FILING_SILENCE_MIN`` (3 days). A
  platform with fewer than 5 filing days in that window has no usual yet and gets no notice.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from notary.config import Settings
from notary.errors import Conflict, NotFound
from notary.services.access.key_holders import parties_of_key, verified_lookup
from notary.services.clock import Clock
from notary.services.transparency.figures import PlatformFigures, platform_figures, usual_gap_days
from notary.storage.db import Database
from notary.storage.models import Contract, Platform
from notary.storage.report_models import Follow
from notary.verify import payloads
from notary.verify.times import parse_rfc3339

USUAL_WINDOW = dt.timedelta(days=90)
MIN_FILING_DAYS = 5


class FollowedAutomatically(Conflict):
    """A platform of one's own contracts is followed whatever one chooses."""

    code = "followed_automatically"


@dataclass(frozen=True)
class Snapshot:
    figures: tuple[PlatformFigures, ...]
    computed_at: str

    def as_dicts(self) -> list[dict[str, Any]]:
        return [figures.as_dict(self.computed_at) for figures in self.figures]


class Transparency:
    """The platforms' figures and notices (public), and the follows of key holders."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self._cache: dict[str | None, tuple[dt.datetime, Snapshot]] = {}
        self._lock = threading.Lock()

    def all_platforms(self) -> Snapshot:
        """Every platform's figures, by name."""
        return self._cached(None, lambda now: self._compute(now, None))

    def platform(self, platform_id: str) -> Snapshot:
        """One platform's figures; raises ``not_found``."""
        snapshot = self._cached(platform_id, lambda now: self._compute(now, platform_id))
        if not snapshot.figures:
            raise NotFound(f"no platform {platform_id}")
        return snapshot

    def _cached(self, key: str | None, compute: Callable[[dt.datetime], Snapshot]) -> Snapshot:
        now = self.clock()
        lifetime = dt.timedelta(seconds=self.settings.transparency_cache)
        with self._lock:
            held = self._cache.get(key)
            if held is not None and now - held[0] < lifetime:
                return held[1]
        snapshot = compute(now)
        with self._lock:
            self._cache[key] = (now, snapshot)
        return snapshot

    def _compute(self, now: dt.datetime, platform_id: str | None) -> Snapshot:
        at = payloads.format_time(now)
        with self.db.read() as session:
            figures = platform_figures(session, now=at, platform_id=platform_id)
            for item in figures:
                item.notices = self._notices(session, item, now)
        return Snapshot(tuple(figures), at)

    def _notices(self, session: Any, figures: PlatformFigures, now: dt.datetime) -> list[dict[str, Any]]:
        notices: list[dict[str, Any]] = []
        if figures.status == "defunct":
            notices.append({"kind": "defunct", "since": figures.defunct_at})
        threshold = self.settings.report_notice_threshold
        if figures.reports_open >= threshold:
            notices.append({"kind": "open_reports", "open": figures.reports_open, "threshold": threshold})
        last = figures.last_filing_at
        if figures.status != "defunct" and last is not None:
            last_time = parse_rfc3339(last)
            usual, days = usual_gap_days(
                session, figures.platform_id, payloads.format_time(last_time - USUAL_WINDOW)
            )
            figures.usual_gap_days = usual
            if usual is not None and days >= MIN_FILING_DAYS:
                allowed = max(
                    dt.timedelta(days=2 * usual), dt.timedelta(seconds=self.settings.filing_silence_min)
                )
                if now - last_time > allowed:
                    notices.append(
                        {
                            "kind": "filings_stopped",
                            "last_filing_at": last,
                            "usual_gap_days": usual,
                            "since": payloads.format_time(last_time + allowed),
                        }
                    )
        return notices

    # Following.

    def followed(self, key_fingerprint: str) -> list[dict[str, Any]]:
        """The platforms a key holder follows: those of its contracts (``automatic``) and those it
        chose (``chosen``), each with its notices."""
        with self.db.read() as session:
            mine = parties_of_key(key_fingerprint, verified_lookup(session, key_fingerprint))
            automatic = set(
                session.execute(
                    select(Contract.platform_id)
                    .where(Contract.investor_id.in_(mine) | Contract.borrower_id.in_(mine))
                    .distinct()
                ).scalars()
            )
            chosen = set(
                session.execute(
                    select(Follow.platform_id).where(Follow.key_fingerprint == key_fingerprint)
                ).scalars()
            )
        everything = {figures.platform_id: figures for figures in self.all_platforms().figures}
        answer = []
        for platform_id in sorted(
            automatic | chosen,
            key=lambda pid: (everything[pid].name, pid) if pid in everything else ("", pid),
        ):
            figures = everything.get(platform_id)
            if figures is None:
                continue
            answer.append(
                {
                    "platform_id": platform_id,
                    "name": figures.name,
                    "status": figures.status,
                    "followed": "automatic" if platform_id in automatic else "chosen",
                    "notices": figures.notices,
                }
            )
        return answer

    def follow(self, key_fingerprint: str, platform_id: str) -> bool:
        """Follow a platform by choice; True when newly followed. Raises ``not_found``."""
        with self.db.write() as session:
            if session.get(Platform, platform_id) is None:
                raise NotFound(f"no platform {platform_id}")
            if session.get(Follow, (key_fingerprint, platform_id)) is not None:
                return False
            session.add(
                Follow(
                    key_fingerprint=key_fingerprint,
                    platform_id=platform_id,
                    created_at=payloads.format_time(self.clock()),
                )
            )
            return True

    def unfollow(self, key_fingerprint: str, platform_id: str) -> None:
        """Stop following a platform chosen before. Raises ``followed_automatically`` for a
        platform of one's own contracts and ``not_found`` for one not followed."""
        with self.db.write() as session:
            mine = parties_of_key(key_fingerprint, verified_lookup(session, key_fingerprint))
            own = session.execute(
                select(Contract.id)
                .where(
                    Contract.platform_id == platform_id,
                    Contract.investor_id.in_(mine) | Contract.borrower_id.in_(mine),
                )
                .limit(1)
            ).first()
            if own is not None:
                raise FollowedAutomatically(
                    "you follow the platforms of your own contracts whatever you choose"
                )
            follow = session.get(Follow, (key_fingerprint, platform_id))
            if follow is None:
                raise NotFound("you do not follow this platform")
            session.delete(follow)
