"""RFC 3339 only: every form fromisoformat reads beyond it is refused (issue 25, item 1)."""

from __future__ import annotations

import datetime as dt

import pytest

from notary.verify.times import MalformedTime, parse_rfc3339

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-08T00:00:00Z", dt.datetime(2026, 12, 8, tzinfo=UTC)),
        ("2026-12-08T08:00:00+08:00", dt.datetime(2026, 12, 8, tzinfo=UTC)),
        ("2026-12-07T19:30:00-04:30", dt.datetime(2026, 12, 8, tzinfo=UTC)),
        ("2026-12-08T00:00:00-00:00", dt.datetime(2026, 12, 8, tzinfo=UTC)),
        ("2026-12-08T00:00:00.5Z", dt.datetime(2026, 12, 8, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2026-12-08T00:00:00.123Z", dt.datetime(2026, 12, 8, 0, 0, 0, 123000, tzinfo=UTC)),
        # Nine digits are allowed; what datetime cannot hold is cut, never rounded up.
        ("2026-12-08T23:59:59.999999999Z", dt.datetime(2026, 12, 8, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2028-02-29T12:00:00Z", dt.datetime(2028, 2, 29, 12, tzinfo=UTC)),
        ("2026-12-08T00:00:00+23:59", dt.datetime(2026, 12, 7, 0, 1, tzinfo=UTC)),
    ],
)
def test_rfc3339_is_read(text, expected):
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-W51-1T00Z",  # ISO week date: the certificate printed "Sign by 2026-W51-1T00Z"
        "2026-W51-1T00:00:00Z",
        "2026-342T00:00:00Z",  # ordinal date
        "20261208T000000Z",  # basic format
        "2026-12-08T000000Z",
        "2026-12-08T00:00Z",  # no seconds
        "2026-12-08T00Z",
        "2026-12-08T00:00:00+08:00:30",  # seconds in the offset
        "2026-12-08T00:00:00+0800",
        "2026-12-08T00:00:00+08",
        "2026-12-08T00:00:00,5Z",  # comma before the fraction
        "2026-12-08T00:00:00.1234567890Z",  # ten fractional digits
        "2026-12-08T00:00:00.Z",
        "2026-12-08t00:00:00Z",  # lower-case t
        "2026-12-08T00:00:00z",  # lower-case z
        "2026-12-08 00:00:00Z",  # space for T
        "2026-12-08T00:00:00",  # no offset
        "2026-12-08",
        "2026-12-08T23:59:60Z",  # leap second
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-12-08T24:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-12-08T00:00:00+24:00",
        "2026-12-08T00:00:00+08:60",
        "2026-12-08T00:00:00Z\n",  # a trailing newline
        " 2026-12-08T00:00:00Z",
        "٢٠٢٦-12-08T00:00:00Z",  # Arabic-Indic digits
        "２０２６-12-08T00:00:00Z",  # full-width digits
        "2026-12-08T00:00:00\u2212 08:00",
        "",
    ],
)
def test_everything_else_is_refused(text):
    with pytest.raises(MalformedTime) as caught:
        parse_rfc3339(text, what="sign_by")
    assert caught.value.code == "malformed_time"
    assert "sign_by" in caught.value.message


@pytest.mark.parametrize("value", [None, 20261208, b"2026-12-08T00:00:00Z", ["2026-12-08T00:00:00Z"]])
def test_non_strings_are_refused(value):
    with pytest.raises(MalformedTime):
        parse_rfc3339(value)


def test_fromisoformat_reads_what_is_refused():
    """Why the grammar is ours: the standard library reads these, and would let them in."""
    for text in (
        "2026-W51-1T00Z",
        "20261208T000000Z",
        "2026-12-08T00:00:00,5Z",
        "2026-12-08T00:00:00+08:00:30",
    ):
        assert dt.datetime.fromisoformat(text).tzinfo is not None
        with pytest.raises(MalformedTime):
            parse_rfc3339(text)
