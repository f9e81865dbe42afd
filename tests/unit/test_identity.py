"""ID numbers: GB 11643 (resident ID) and GB 32100 (credit code) check characters, masking, PII."""

from __future__ import annotations

import pytest

from notary.services.ceremony.identity import BadIdNumber, PiiCipher, check_id_number, mask_id_number


def test_gb11643_sample_number():
    # The sample number printed in GB 11643-1999.
    assert check_id_number("cn_resident", "11010519491231002x") == "11010519491231002X"
    for bad in ("110105194912310021", "11010519491331002X", "1101051949123100", "A1010519491231002X"):
        with pytest.raises(BadIdNumber):
            check_id_number("cn_resident", bad)


def test_gb32100_credit_code():
    # A well-known published code (the State Grid Corporation of China).
    assert check_id_number("cn_uscc", "91110000710925462X") == "91110000710925462X"
    with pytest.raises(BadIdNumber):
        check_id_number("cn_uscc", "91110000710925462Y")


def test_other_documents_and_unknown_type():
    assert check_id_number("passport", "e1234 5678") == "E12345678"
    assert check_id_number("hk_macau_taiwan_permit", "H12345678") == "H12345678"
    with pytest.raises(BadIdNumber):
        check_id_number("passport", "!!")
    with pytest.raises(BadIdNumber, match="unknown id_type"):
        check_id_number("library_card", "123")


def test_masking():
    assert mask_id_number("cn_resident", "11010519491231002X") == "110105********002X"
    assert mask_id_number("passport", "E12345678") == "E12**5678"


def test_pii_cipher_binds_context_and_detects_changes():
    cipher = PiiCipher(b"k" * 32, b"l" * 32)
    blob = cipher.encrypt("11010519491231002X", context="party.id_number")
    assert cipher.decrypt(blob, context="party.id_number") == "11010519491231002X"
    with pytest.raises(ValueError, match="decrypt"):
        cipher.decrypt(blob, context="party.phone")
    with pytest.raises(ValueError, match="decrypt"):
        cipher.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), context="party.id_number")
    assert cipher.lookup("cn_resident", "11010519491231002x") == cipher.lookup(
        "cn_resident", "11010519491231002X"
    )
    assert cipher.lookup("cn_resident", "11010519491231002X") != PiiCipher(b"k" * 32, b"m" * 32).lookup(
        "cn_resident", "11010519491231002X"
    )
