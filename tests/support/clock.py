"""The suite's one source of time.

Every fixture takes its time from here, in one of two ways, never a mix:

- **relative to now**: :func:`suite_now` (and :class:`MovableClock`, which starts there). Instance
  keys, the service's clock and its timestamp authority all read it, so whatever a test builds
  through the service is consistent with the certificates it is checked against.
- **fixed**: :data:`EPOCH` and the times derived from it, for sample evidence built without a
  service (``tests/support/evidence.py``): its keys, records, tokens, exports and the moment it is
  verified at are all fixed, so those tests give the same result on any day.

``NOTARY_TEST_CLOCK_SHIFT`` (``+1y``, ``+10y``, ``-30d``, ``+12h``) moves :func:`suite_now` away
from the machine's clock. ``make test`` runs the suite once more a year and ten years ahead
(``make test-future``): a test that passes today but mixes a fixed date with the real clock, or
reads the machine's clock where it should read the injected one, fails there first. Tests that
are about the machine's own clock (real service processes, ``openssl``, Chromium) are marked
``wallclock`` and left out of that run.
"""

from __future__ import annotations

import datetime as dt
import os
import re

SHIFT_VARIABLE = "NOTARY_TEST_CLOCK_SHIFT"

# The fixed timeline of sample evidence: keys made a month before, a contract filed, signed,
# sealed and stamped on 2026-12-01, a case exported the next day.
EPOCH = dt.datetime(2026, 12, 1, 8, 0, 0, tzinfo=dt.UTC)
KEYS_MADE = EPOCH - dt.timedelta(days=30)

_UNITS = {"y": dt.timedelta(days=365), "d": dt.timedelta(days=1), "h": dt.timedelta(hours=1)}


def parse_shift(text: str) -> dt.timedelta:
    """``+1y``, ``-30d``, ``+12h`` (years are 365 days); empty means none.

    Raises ValueError for anything else, so a mistyped shift cannot silently run unshifted."""
    if not text:
        return dt.timedelta(0)
    match = re.fullmatch(r"([+-])([0-9]{1,4})([ydh])", text.strip(), flags=re.ASCII)
    if match is None:
        raise ValueError(f"{SHIFT_VARIABLE} must look like +1y, +10y, -30d or +12h, not {text!r}")
    sign, count, unit = match.groups()
    delta = int(count) * _UNITS[unit]
    return -delta if sign == "-" else delta


SHIFT = parse_shift(os.environ.get(SHIFT_VARIABLE, ""))


def suite_now() -> dt.datetime:
    """The suite's present: the machine's clock moved by ``NOTARY_TEST_CLOCK_SHIFT``."""
    return dt.datetime.now(dt.UTC) + SHIFT


class MovableClock:
    """A clock that runs with the suite's present but can be moved forward (to pass deadlines)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return suite_now() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


class FixedClock:
    """A clock standing still at ``moment`` until moved: for evidence built on the fixed timeline."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += dt.timedelta(**delta)
