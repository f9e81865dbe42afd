"""Derived forms of signed values: thousands separators, 大写, Beijing time, dates, rates.

The capitals are checked on a table of cases taken from the 《支付结算办法》 rules (zeros,
整, 角 and 分, the 万亿 nesting) and, by property, against an independent reader that turns
capitals back into a number: every amount the terms accept converts, and converts back.
"""

import datetime as dt
import doctest
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import notary.display
from notary.display import (
    MAX_AMOUNT,
    NotDerivable,
    amount_forms,
    amount_in_capitals,
    beijing_time,
    chinese_date,
    group_thousands,
    rate_percent,
    time_forms,
)
from notary.errors import Unprocessable
from notary.services.filing.terms import validate_terms

CAPITALS = [
    ("123456789.99", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元玖角玖分"),
    ("1005", "壹仟零伍元整"),
    ("1005.00", "壹仟零伍元整"),
    ("1004.56", "壹仟零肆元伍角陆分"),
    ("10000", "壹万元整"),
    ("10", "壹拾元整"),
    ("16", "壹拾陆元整"),
    ("100000", "壹拾万元整"),
    ("100010", "壹拾万零壹拾元整"),
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("1.05", "壹元零伍分"),
    ("10.05", "壹拾元零伍分"),
    ("10.5", "壹拾元伍角"),
    ("10.50", "壹拾元伍角"),
    ("0.5", "伍角"),
    ("0.55", "伍角伍分"),
    ("0.05", "伍分"),
    ("0.01", "壹分"),
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("100000005", "壹亿零伍元整"),
    ("100005000", "壹亿零伍仟元整"),
    ("100050000", "壹亿零伍万元整"),
    ("10500000000", "壹佰零伍亿元整"),
    ("1000000000000", "壹万亿元整"),
    ("1000100000000", "壹万零壹亿元整"),
    ("1000000000001", "壹万亿零壹元整"),
    ("100000000000005", "壹佰万亿零伍元整"),
    (MAX_AMOUNT, "玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("999999999999999", "玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元整"),
]

NOT_AMOUNTS = [
    "",
    " 1",
    "1 ",
    "1\n",
    "01",
    "00.10",
    "1.",
    ".5",
    "1.234",
    "-1",
    "+1",
    "1e5",
    "1,000",
    "1_000",
    "NaN",
    "Infinity",
    "1000000000000000",  # 16 digits: one more than the terms allow
    "1٠٠٠٠٠.00",  # Arabic-Indic zeros, which Decimal reads as 100000
    "1０００",  # full-width digits
    "١",
    None,
    1005,
    b"1005",
]


@pytest.mark.parametrize(("amount", "capitals"), CAPITALS)
def test_capitals(amount, capitals):
    assert amount_in_capitals(amount) == capitals
    assert amount_forms(amount, "CNY").capitals == "人民币" + capitals


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_not_an_amount_has_no_derived_form(amount):
    with pytest.raises(NotDerivable) as raised:
        amount_in_capitals(amount)
    assert raised.value.code == "not_derivable"
    assert raised.value.details == {"value": amount}
    with pytest.raises(NotDerivable):
        group_thousands(amount)
    forms = amount_forms(amount, "CNY")
    assert (forms.amount, forms.grouped, forms.capitals) == (amount, None, None)


@pytest.mark.parametrize(
    ("amount", "grouped"),
    [
        ("0", "0"),
        ("1", "1"),
        ("999", "999"),
        ("1000", "1,000"),
        ("10000.5", "10,000.5"),
        ("123456789.99", "123,456,789.99"),
        ("1000000.00", "1,000,000.00"),
        (MAX_AMOUNT, "999,999,999,999,999.99"),
    ],
)
def test_group_thousands(amount, grouped):
    assert group_thousands(amount) == grouped


def test_other_currencies_get_separators_but_no_capitals():
    forms = amount_forms("1005.00", "USD")
    assert (forms.amount, forms.currency, forms.grouped, forms.capitals) == (
        "1005.00",
        "USD",
        "1,005.00",
        None,
    )


def test_the_largest_amount_is_the_terms_largest():
    """The terms and the capitals agree on the limit: if either moves, this fails."""
    terms = {
        "investor": "pa_a",
        "borrower": "pa_b",
        "currency": "CNY",
        "annual_rate": "0.08",
        "term_months": 12,
        "start_date": "2026-12-08",
    }
    validate_terms({**terms, "amount": MAX_AMOUNT})
    one_more = str(Decimal(MAX_AMOUNT) + Decimal("0.01"))
    with pytest.raises(Unprocessable):
        validate_terms({**terms, "amount": one_more})
    with pytest.raises(NotDerivable):
        amount_in_capitals(one_more)


# An independent reader of capitals: drops every 零 (a placeholder), splits on the last 亿,
# then on 万, and sums digit × unit inside a section.
_DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_UNIT = {"拾": 10, "佰": 100, "仟": 1000}


def _read_integer(text):
    if "亿" in text:
        high, low = text.rsplit("亿", 1)
        return _read_integer(high) * 10**8 + _read_integer(low)
    if "万" in text:
        high, low = text.split("万", 1)
        return _read_integer(high) * 10**4 + _read_integer(low)
    total, digit = 0, 0
    for char in text.replace("零", ""):
        if char in _UNIT:
            total += digit * _UNIT[char]
            digit = 0
        else:
            digit = _DIGIT[char]
    return total + digit


def read_capitals(text):
    fen = jiao = 0
    if text.endswith("整"):
        text = text[:-1]
    if text.endswith("分"):
        fen, text = _DIGIT[text[-2]], text[:-2].removesuffix("零")
    if text.endswith("角"):
        jiao, text = _DIGIT[text[-2]], text[:-2]
    yuan = _read_integer(text.removesuffix("元")) if text else 0
    return Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100


def test_the_reader_reads_the_table():
    for amount, capitals in CAPITALS:
        assert read_capitals(capitals) == Decimal(amount)


# Amounts in the terms' grammar, weighted towards zeros, where the rules are.
_DIGITS = st.sampled_from("00000000123456789")
AMOUNTS = st.builds(
    lambda whole, fraction: (whole.lstrip("0") or "0") + (f".{fraction}" if fraction else ""),
    st.text(_DIGITS, min_size=1, max_size=15),
    st.one_of(st.just(""), st.text(_DIGITS, min_size=1, max_size=2)),
)


@settings(max_examples=1500, deadline=None)
@given(AMOUNTS)
def test_capitals_read_back_to_the_amount(amount):
    capitals = amount_in_capitals(amount)
    assert read_capitals(capitals) == Decimal(amount)
    assert set(capitals) <= set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整")
    assert "零零" not in capitals
    assert not capitals.startswith("零") or capitals == "零元整"
    # 零 stands only before a digit: never before a unit, never last.
    assert re.search(r"零[^壹贰叁肆伍陆柒捌玖]", capitals + "$") is None or capitals == "零元整"
    # A ten is never written bare (拾 alone could be prefixed).
    assert re.search(r"(^|[^壹贰叁肆伍陆柒捌玖])拾", capitals) is None
    fraction = amount.partition(".")[2].ljust(2, "0")
    assert capitals.endswith("整") == (fraction == "00")
    assert ("元" in capitals) == (Decimal(amount) >= 1 or Decimal(amount) == 0)


@settings(max_examples=500, deadline=None)
@given(AMOUNTS)
def test_separators_keep_every_digit(amount):
    grouped = group_thousands(amount)
    assert grouped.replace(",", "") == amount
    whole = grouped.partition(".")[0].split(",")
    assert 1 <= len(whole[0]) <= 3
    assert all(len(group) == 3 for group in whole[1:])


BEIJING = [
    ("2026-12-01T08:00:05Z", "2026年12月1日 16:00:05 (北京时间, UTC+8)"),
    ("2026-12-01T08:00:05.123Z", "2026年12月1日 16:00:05.123 (北京时间, UTC+8)"),
    ("2026-12-01T08:00:05.123456789Z", "2026年12月1日 16:00:05.123456789 (北京时间, UTC+8)"),
    ("2026-12-01T08:00:05.100Z", "2026年12月1日 16:00:05.100 (北京时间, UTC+8)"),
    ("2026-12-01T16:00:05+08:00", "2026年12月1日 16:00:05 (北京时间, UTC+8)"),
    ("2026-12-31T16:00:00Z", "2027年1月1日 00:00:00 (北京时间, UTC+8)"),
    ("2026-12-31T15:59:59.999Z", "2026年12月31日 23:59:59.999 (北京时间, UTC+8)"),
    ("2028-02-28T16:00:00Z", "2028年2月29日 00:00:00 (北京时间, UTC+8)"),
    ("2026-03-01T00:30:00+09:30", "2026年2月28日 23:00:00 (北京时间, UTC+8)"),
    ("2026-06-30T20:00:00-05:00", "2026年7月1日 09:00:00 (北京时间, UTC+8)"),
    ("2026-06-30T20:00:00-00:00", "2026年7月1日 04:00:00 (北京时间, UTC+8)"),
    ("9999-12-31T23:59:59Z", "10000年1月1日 07:59:59 (北京时间, UTC+8)"),
    ("0000-01-01T00:00:00+08:00", "0年1月1日 00:00:00 (北京时间, UTC+8)"),
    ("0000-02-29T00:00:00Z", "0年2月29日 08:00:00 (北京时间, UTC+8)"),
]

NOT_TIMES = [
    "",
    "2026-12-01",
    "2026-12-01T08:00:05",  # no offset
    "2026-12-01t08:00:05Z",
    "2026-12-01T08:00:05z",
    "2026-12-01 08:00:05Z",
    "2026-12-01T08:00Z",
    "20261201T080005Z",  # basic format
    "2026-W49-2T08:00:05Z",  # week date
    "2026-335T08:00:05Z",  # ordinal date
    "2026-12-01T08:00:05,5Z",  # comma fraction
    "2026-12-01T08:00:05.Z",
    "2026-12-01T08:00:05.1234567891Z",  # 10 fractional digits
    "2026-12-01T08:00:05+0800",
    "2026-12-01T08:00:05+08",
    "2026-12-01T08:00:05+08:00:00",  # seconds in the offset
    "2026-12-01T08:00:05+24:00",
    "2026-12-01T08:00:05+08:60",
    "2026-12-31T23:59:60Z",  # leap second
    "2026-12-01T24:00:00Z",
    "2026-13-01T08:00:05Z",
    "2026-02-29T08:00:05Z",  # not a leap year
    "2026-12-00T08:00:05Z",
    "2026-12-01T08:00:05Z\n",
    "２０２６-12-01T08:00:05Z",
    None,
    dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
]


@pytest.mark.parametrize(("text", "beijing"), BEIJING)
def test_beijing_time(text, beijing):
    assert beijing_time(text) == beijing
    assert time_forms(text).beijing == beijing
    assert time_forms(text).signed == text


@pytest.mark.parametrize("text", NOT_TIMES)
def test_not_rfc3339_has_no_beijing_form(text):
    with pytest.raises(NotDerivable) as raised:
        beijing_time(text)
    assert raised.value.details == {"value": text}
    assert time_forms(text).beijing is None


OFFSETS = st.one_of(
    st.just("Z"),
    st.builds(
        lambda sign, hours, minutes: f"{sign}{hours:02d}:{minutes:02d}",
        st.sampled_from("+-"),
        st.integers(0, 23),
        st.integers(0, 59),
    ),
)


@settings(max_examples=1000, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31)),
    OFFSETS,
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=9)),
)
def test_beijing_time_is_utc_plus_eight(moment, offset, fraction):
    stamp = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
    text = stamp + (f".{fraction}" if fraction else "") + offset
    # The reference: Python's own ISO reader on the same instant, without the fraction.
    reference = dt.datetime.fromisoformat(text.replace(f".{fraction}", "", 1) if fraction else text)
    beijing = reference.astimezone(dt.timezone(dt.timedelta(hours=8)))
    clock = beijing.strftime("%H:%M:%S") + (f".{fraction}" if fraction else "")
    expected = f"{beijing.year}年{beijing.month}月{beijing.day}日 {clock} (北京时间, UTC+8)"
    assert beijing_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-12-08", "2026年12月8日"), ("2026-01-31", "2026年1月31日"), ("2028-02-29", "2028年2月29日")],
)
def test_chinese_date(text, expected):
    assert chinese_date(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-02-29", "2026-1-31", "2026-12-08T00:00:00Z", "20261208", "2026-13-01", "2026-12-08\n", None],
)
def test_not_a_date(text):
    with pytest.raises(NotDerivable):
        chinese_date(text)


@pytest.mark.parametrize(
    ("rate", "percent"),
    [
        ("0", "0.00%"),
        ("0.08", "8.00%"),
        ("0.0800", "8.00%"),
        ("0.1", "10.00%"),
        ("0.123456", "12.3456%"),
        ("0.000001", "0.0001%"),
        ("0.999999", "99.9999%"),
    ],
)
def test_rate_percent(rate, percent):
    assert rate_percent(rate) == percent


@pytest.mark.parametrize("rate", ["1", "0.1234567", "0.", ".08", "0.٠٨", "0.08\n", "-0.1", "8%", None])
def test_not_a_rate(rate):
    with pytest.raises(NotDerivable):
        rate_percent(rate)


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=0, max_size=6))
def test_rate_percent_keeps_every_digit(decimals):
    rate = "0." + decimals if decimals else "0"
    percent = rate_percent(rate)
    assert Decimal(percent.removesuffix("%")) == Decimal(rate) * 100


def test_the_package_docstring_examples_hold():
    assert doctest.testmod(notary.display).failed == 0


def test_importing_the_display_forms_loads_nothing_of_the_service():
    """Pages, services and the offline verifier may all use it: it stands on the verifier's errors only."""
    code = (
        "import sys, notary.display\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'reportlab', 'pyhanko')"
        " or (m.startswith('notary.') and not m.startswith(('notary.display', 'notary.verify')))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
