"""Amounts for people: thousands separators and Chinese capital numerals (大写).

The input is the amount string the parties signed, in the grammar the terms accept
(``[0-9]{1,15}`` with up to two decimals, ASCII only, no sign, no exponent). The output is a
derived form shown beside that string, never instead of it.

The capitals follow the 《支付结算办法》 rules for bills and cheques:

* every digit is a capital (壹贰叁…), and a leading ten is written ``壹拾`` so nothing can be
  prefixed to it;
* inside a section (个, 万, 亿) a run of zeros before a non-zero digit is one ``零``
  (壹仟零伍元); a section's trailing zeros are not written (壹拾万柒仟元), and a section
  that starts with zeros after a higher one gets one ``零`` (壹亿零伍元);
* sections above 亿 nest: 10^12 is 壹万亿;
* an amount that stops at 元 ends in ``整``; after 角 or 分 nothing follows (壹元伍角,
  壹元伍角陆分); a zero 角 before a non-zero 分 is written ``零`` (壹拾元零伍分); a zero 元
  before a non-zero 角 is not (壹仟陆佰捌拾元叁角贰分), one of the two forms the rules allow;
* amounts below one 元 start at their first non-zero unit (伍角, 伍分).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notary.display.errors import NotDerivable

# The terms' grammar (notary.services.filing.terms); a test checks both accept the same largest amount.
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,14})(?:\.([0-9]{1,2}))?", re.ASCII)
MAX_AMOUNT = "999999999999999.99"

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_GROUP_UNITS = ("", "拾", "佰", "仟")
# The currency whose capitals the rules define; other currencies get no 大写.
CURRENCY_PREFIXES = {"CNY": "人民币"}


def _parts(amount: str) -> tuple[str, str]:
    match = _AMOUNT.fullmatch(amount) if isinstance(amount, str) else None
    if match is None:
        raise NotDerivable(
            "the amount is not a plain decimal with at most 15 digits and 2 decimals",
            details={"value": amount},
        )
    return match.group(1), match.group(2) or ""


def group_thousands(amount: str) -> str:
    """``"123456789.99"`` gives ``"123,456,789.99"``: the same digits, grouped by three.

    Decimals are kept as signed (``"10000.5"`` gives ``"10,000.5"``). Raises
    :class:`NotDerivable` for a string outside the amount grammar.
    """
    whole, fraction = _parts(amount)
    grouped = f"{int(whole):,}"
    return f"{grouped}.{fraction}" if fraction else grouped


def _group(value: int) -> str:
    """1..9999 in capitals; zeros between non-zero digits become one 零, trailing ones vanish."""
    text = ""
    pending_zero = False
    for position in range(3, -1, -1):
        digit = value // 10**position % 10
        if digit == 0:
            pending_zero = bool(text)
            continue
        if pending_zero:
            text += "零"
            pending_zero = False
        text += _DIGITS[digit] + _GROUP_UNITS[position]
    return text


def _integer(value: int) -> str:
    """A positive integer in capitals, sections 万 and 亿 nesting (10^12 is 壹万亿)."""
    if value >= 10**8:
        high, low, section = *divmod(value, 10**8), 10**8
        text = _integer(high) + "亿"
    elif value >= 10**4:
        high, low, section = *divmod(value, 10**4), 10**4
        text = _group(high) + "万"
    else:
        return _group(value)
    if low:
        # Zeros leading the lower section are read as one 零 (壹亿零伍, 壹万零伍佰).
        text += ("零" if low < section // 10 else "") + _integer(low)
    return text


def amount_in_capitals(amount: str) -> str:
    """The amount in Chinese capital numerals with 元角分, without a currency prefix.

    ``"1005"`` gives ``"壹仟零伍元整"``, ``"10.50"`` ``"壹拾元伍角"``, ``"0.05"`` ``"伍分"``,
    ``"0"`` ``"零元整"``. Raises :class:`NotDerivable` for a string outside the amount grammar.
    """
    whole, fraction = _parts(amount)
    yuan = int(whole)
    fraction = fraction.ljust(2, "0")
    jiao, fen = int(fraction[0]), int(fraction[1])
    text = _integer(yuan) + "元" if yuan else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    if fen:
        if yuan and not jiao:
            text += "零"
        text += _DIGITS[fen] + "分"
    if not jiao and not fen:
        text = (text or "零元") + "整"
    return text


@dataclass(frozen=True)
class AmountForms:
    """An amount as signed, with the forms derived from it for reading.

    ``grouped`` is the amount with thousands separators; ``capitals`` the 大写 with its
    currency prefix (人民币…). Either is ``None`` when it cannot be derived: ``capitals`` for
    a currency other than CNY, both for an amount outside the grammar (old data).
    """

    amount: str
    currency: str
    grouped: str | None
    capitals: str | None


def amount_forms(amount: str, currency: str) -> AmountForms:
    """Every form of ``amount`` in ``currency``; never raises (see :class:`AmountForms`)."""
    try:
        grouped: str | None = group_thousands(amount)
        prefix = CURRENCY_PREFIXES.get(currency)
        capitals = prefix + amount_in_capitals(amount) if prefix else None
    except NotDerivable:
        grouped = capitals = None
    return AmountForms(amount=amount, currency=currency, grouped=grouped, capitals=capitals)
