"""Annual rates for people: the signed fraction as a percentage."""

from __future__ import annotations

import re
from decimal import Decimal

from notary.display.errors import NotDerivable

_RATE = re.compile(r"0(?:\.[0-9]{1,6})?", re.ASCII)


def rate_percent(rate: str) -> str:
    """``"0.0800"`` gives ``"8.00%"``: at least two decimals, more only when the rate has them.

    ``"0.123456"`` gives ``"12.3456%"``: no digit is dropped. Raises :class:`NotDerivable` for
    anything but the terms' grammar (a fraction ``0`` to ``0.999999``).
    """
    if not isinstance(rate, str) or not _RATE.fullmatch(rate):
        raise NotDerivable("not a rate between 0 and 1 with at most 6 decimals", details={"value": rate})
    percent = Decimal(rate) * 100
    exponent = percent.normalize().as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 0)
    return f"{percent:.{places}f}%"
