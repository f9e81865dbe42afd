"""A clock that runs with real time but can be moved forward (to pass deadlines)."""

from __future__ import annotations

import datetime as dt


class MovableClock:
    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)
