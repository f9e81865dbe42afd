"""Readable forms of signed values, made once on the server for the certificate and the pages.

A notary shows every value exactly as it was signed; the forms here are shown *beside* that
value and labelled as derived, never instead of it:

* :func:`amount_forms` — ``"123456789.99"`` with thousands separators (``123,456,789.99``)
  and, for CNY, in Chinese capitals (``人民币壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元玖角玖分``);
* :func:`time_forms` — an RFC 3339 time in Beijing time as Chinese readers write it
  (``2026年12月1日 16:00:05 (北京时间, UTC+8)``);
* :func:`chinese_date` (``2026年12月8日``) and :func:`rate_percent` (``8.00%``).

The ``*_forms`` functions never raise: a form that cannot be derived (old data outside the
grammar) is ``None``, and the caller shows the signed value alone. The single-form functions
raise :class:`NotDerivable`. Pure standard library; imports nothing of ``notary`` but the error
root, so interfaces and services alike may use it.

>>> from notary.display import amount_forms, time_forms
>>> amount_forms("1005", "CNY").capitals
'人民币壹仟零伍元整'
>>> time_forms("2026-12-01T08:00:05Z").beijing
'2026年12月1日 16:00:05 (北京时间, UTC+8)'
"""

from notary.display.amounts import (
    MAX_AMOUNT,
    AmountForms,
    amount_forms,
    amount_in_capitals,
    group_thousands,
)
from notary.display.errors import NotDerivable
from notary.display.rates import rate_percent
from notary.display.times import BEIJING_LABEL, TimeForms, beijing_time, chinese_date, time_forms

__all__ = [
    "BEIJING_LABEL",
    "MAX_AMOUNT",
    "AmountForms",
    "NotDerivable",
    "TimeForms",
    "amount_forms",
    "amount_in_capitals",
    "beijing_time",
    "chinese_date",
    "group_thousands",
    "rate_percent",
    "time_forms",
]
