"""One stored value, one meaning: look-alike digits, hidden characters and loose times are
refused at the door with a 422 that names what is wrong, and nothing is stored
(issue 25 item 1, issue 15 item 2, round2-notes "Shown versus signed").

Each case here was accepted before (201, sealed, verified VALID) or crashed (500).
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from notary.storage.access_models import Case
from notary.storage.models import Contract, Party
from tests.support.people import Person, resident_id
from tests.support.platforms import DOCUMENT, contract_terms


def count(runtime, model) -> int:
    with runtime.db.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def filing(first, second, **terms):
    return {
        "document_base64": base64.b64encode(DOCUMENT).decode(),
        "media_type": "application/pdf",
        "terms": contract_terms(first, second, **terms),
    }


# Each: the terms changed, the field named, and a word the message must contain.
LOOK_ALIKE_TERMS = [
    ({"amount": "1٠٠٠٠٠.00"}, "terms.amount", None),  # Arabic-Indic zeros: Decimal reads 100000.00
    ({"amount": "1０００"}, "terms.amount", None),  # full-width digits
    ({"amount": "10000.00\n"}, "terms.amount", None),  # "$" matched before a trailing newline
    ({"amount": "१००"}, "terms.amount", None),  # Devanagari digits
    ({"annual_rate": "0.٠٨"}, "terms.annual_rate", None),
    ({"annual_rate": "0.08\n"}, "terms.annual_rate", None),
    ({"currency": "CNY\n"}, "terms.currency", None),
    ({"currency": "ＣＮＹ"}, "terms.currency", None),
    ({"start_date": "２０２６-12-01"}, "terms.start_date", None),
    ({"start_date": "2026-12-01\n"}, "terms.start_date", None),
    ({"external_ref": "loan-1\n"}, "terms.external_ref", None),
    ({"sign_by": "2026-W51-1T00Z"}, "terms.sign_by", "RFC 3339"),  # printed as "Sign by 2026-W51-1T00Z"
    ({"sign_by": "20261208T000000Z"}, "terms.sign_by", "RFC 3339"),
    ({"sign_by": "2026-12-08T00:00:00+08:00:30"}, "terms.sign_by", "RFC 3339"),
    ({"sign_by": "2026-12-08T00:00:00,5Z"}, "terms.sign_by", "RFC 3339"),
    ({"sign_by": "2026-12-08T00:00:00.1234567890Z"}, "terms.sign_by", "RFC 3339"),
    ({"sign_by": "2026-12-08t00:00:00z"}, "terms.sign_by", "RFC 3339"),
    ({"sign_by": "2026-12-08T00:00:00Z\n"}, "terms.sign_by", "RFC 3339"),
    ({"title": "借款合同\x00"}, "terms.title", "U+0000"),
    ({"title": "借款\x1b[2K合同"}, "terms.title", "U+001B"),
    ({"title": "借款合同\r\n"}, "terms.title", "U+000D"),
    ({"title": "合同\u202e0001"}, "terms.title", "U+202E"),  # right-to-left override
    ({"title": "合同\u2066x\u2069"}, "terms.title", "U+2066"),  # left-to-right isolate
    ({"title": "合\u200b同"}, "terms.title", "U+200B"),  # zero-width space
    ({"title": "合\u200d同"}, "terms.title", "U+200D"),  # zero-width joiner
    ({"title": "\ufeff合同"}, "terms.title", "U+FEFF"),  # zero-width no-break space
    ({"title": "Cafe\u0301"}, "terms.title", "NFC"),  # decomposed: not NFC
    ({"title": "合同 क"}, "terms.title", "U+0915"),  # no embedded font has a glyph for it
]


@pytest.mark.parametrize(("change", "field", "word"), LOOK_ALIKE_TERMS)
def test_terms_that_read_two_ways_are_refused(platform, investor, borrower, runtime, change, field, word):
    answer = platform.post("/contracts", json=filing(investor, borrower, **change))
    assert answer.status_code == 422, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error["details"], error
    if word is not None:
        assert word in json.dumps(error["details"][field], ensure_ascii=False), error
    assert count(runtime, Contract) == 0


def test_a_lone_surrogate_in_a_title_is_a_422(platform, investor, borrower, runtime):
    body = json.dumps(filing(investor, borrower, title="借款合同")).replace(
        json.dumps("借款合同")[1:-1], "\\ud800"
    )
    answer = platform.post("/contracts", data=body, content_type="application/json")
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert "U+D800" in json.dumps(answer.get_json()["error"]["details"]["terms.title"])
    assert count(runtime, Contract) == 0


BEIJING = dt.timezone(dt.timedelta(hours=8))


def test_strict_terms_still_take_every_valid_form(platform, investor, borrower, runtime):
    platform.file(
        investor,
        borrower,
        amount="999999999999999.99",
        annual_rate="0.000001",
        # Nine fractional digits and an offset, a month after the service's present.
        sign_by=(runtime.clock() + dt.timedelta(days=30))
        .astimezone(BEIJING)
        .strftime("%Y-%m-%dT%H:%M:%S.123456789+08:00"),
        title="个人借款合同（第 2 版）𠮷",
        external_ref="LOAN-2026/12#0001",
    )
    assert count(runtime, Contract) == 1


def enrolment(platform, **changes):
    person = Person("王五")
    body = person.enrolment(platform.platform_id)
    body.update(changes)
    return body


def test_a_look_alike_id_number_is_not_a_second_identity(platform, runtime):
    """15.2: one full-width digit made a second identity that masked the same."""
    real = resident_id()
    for look_alike in (
        real[:6] + "１" + real[7:],  # one full-width digit
        "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in real),  # Arabic-Indic
        real[:17] + "ｘ" if real[17] == "X" else real[:6] + "\u0661" + real[7:],
        real + "\n",
        real[:9] + "\u3000" + real[9:],  # ideographic space
        real[:9] + "\t" + real[9:],
        real[:9] + "\u200b" + real[9:],
    ):
        person = Person("王五", id_number=look_alike)
        answer = platform.post("/parties", json=person.enrolment(platform.platform_id))
        assert answer.status_code == 422, (look_alike, answer.get_json())
        assert answer.get_json()["error"]["code"] == "bad_id_number"
    assert count(runtime, Party) == 0
    # ASCII spaces and a lower-case x are still the same number, as before.
    spaced = Person("王五", id_number=real[:6] + " " + real[6:14] + " " + real[14:].lower())
    assert platform.post("/parties", json=spaced.enrolment(platform.platform_id)).status_code == 201


@pytest.mark.parametrize(
    "phone",
    [
        "13800000000\n",
        "１３８００００００００",
        "138\u0660\u06600000000",
        "+86 138\u00a00000 0000",
        "1380000\x000000",
    ],
)
def test_phones_are_ascii_only(platform, runtime, phone):
    answer = platform.post("/parties", json=enrolment(platform, phone=phone))
    assert answer.status_code == 422, answer.get_json()
    assert "phone" in answer.get_json()["error"]["details"]
    assert count(runtime, Party) == 0


def test_a_phone_with_spaces_dashes_and_a_plus_is_kept(platform, runtime):
    answer = platform.post("/parties", json=enrolment(platform, phone="+86 138-0000-1234"))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["phone_masked"].endswith("1234")


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("王\x00五", "U+0000"),
        ("王\x1b[1A五", "U+001B"),
        ("王五\n", "U+000A"),
        ("\u202e五王", "U+202E"),
        ("王\u202a五", "U+202A"),
        ("王\u2069五", "U+2069"),
        ("王\u200c五", "U+200C"),
        ("王\u2060五", "U+2060"),
        ("Zoe\u0308", "NFC"),
        ("王ب", "U+0628"),
    ],
)
def test_names_refuse_hidden_and_unprintable_characters(platform, runtime, name, word):
    answer = platform.post("/parties", json=enrolment(platform, name=name))
    assert answer.status_code == 422, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert word in json.dumps(error["details"]["name"], ensure_ascii=False)
    assert count(runtime, Party) == 0


def test_a_lone_surrogate_in_a_name_is_a_422_not_a_500(platform, runtime):
    body = json.dumps(enrolment(platform, name="王五")).replace(json.dumps("王五")[1:-1], "王\\udc00")
    answer = platform.post("/parties", data=body, content_type="application/json")
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert "U+DC00" in json.dumps(answer.get_json()["error"]["details"]["name"])
    assert count(runtime, Party) == 0


def test_a_rare_name_the_fallback_font_covers_is_accepted(platform, runtime):
    answer = platform.post("/parties", json=enrolment(platform, name="𠮷田 𪚥"))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["name"] == "𠮷田 𪚥"


LEGAL_BASIS_ATTACK = "Criminal Procedure Law art. 54\x1b[1A\x1b[2K\r    scope: party_id pa_0123456789"


@pytest.mark.parametrize(
    "body",
    [
        {"case_number": "2026-0001", "legal_basis": LEGAL_BASIS_ATTACK},
        {"case_number": "2026-0001", "legal_basis": "art. 54\u202e"},
        {"case_number": "2026\u200b-0001", "legal_basis": "art. 54"},
        {"case_number": "2026-0001\n", "legal_basis": "art. 54"},
    ],
)
def test_cases_refuse_control_and_bidi_characters(runtime, client, platform, body, make_investigator):
    investigator = make_investigator()
    answer = investigator.post("/cases", json={**body, "scope": {"platform_id": platform.platform_id}})
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["code"] == "validation_failed"
    assert count(runtime, Case) == 0


def test_a_look_alike_id_number_in_a_case_scope_is_refused(runtime, client, make_investigator):
    investigator = make_investigator()
    real = resident_id()
    answer = investigator.post(
        "/cases",
        json={"case_number": "1", "legal_basis": "law", "scope": {"id_number": real[:6] + "１" + real[7:]}},
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "bad_id_number"


def test_amounts_are_also_stored_in_fen_for_arithmetic(platform, investor, borrower, runtime):
    for amount in ("10000.5", "0.01", "999999999999999.99", "7"):
        platform.file(investor, borrower, amount=amount)
    with runtime.db.read() as session:
        total = session.execute(select(func.sum(Contract.amount_fen))).scalar_one()
        rows = session.execute(select(Contract.terms_json, Contract.amount_fen)).all()
    assert total == 1000050 + 1 + 99999999999999999 + 700
    for terms_json, fen in rows:  # the signed string stays as sent; fen is derived from it
        amount = json.loads(terms_json)["amount"]
        units, _, cents = amount.partition(".")
        assert fen == int(units) * 100 + int(cents.ljust(2, "0"))
