"""Identity documents: checking ID numbers, masking them, and keeping them encrypted at rest."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from notary.errors import Unprocessable
from notary.services.text import describe
from notary.verify import payloads
from notary.verify.encoding import b64decode, b64encode
from notary.verify.identity import ID_TYPES, mask, mask_id_number
from notary.verify.payloads import normalise_id_number

# ID types and masking are defined once, beside the offline verifier that shows masked numbers.
__all__ = [
    "ID_TYPES",
    "BadIdNumber",
    "IdentitySecrets",
    "PiiCipher",
    "check_id_number",
    "check_phone",
    "mask_id_number",
    "mask_phone",
]

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Every pattern is ASCII and matched whole: "\d" takes any script's digits, and a number with
# one full-width digit masked like the real one but hashed to a second identity.
_AS_SENT = re.compile(r"[0-9A-Za-z ]{1,40}", re.ASCII)
_RESIDENT = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}", re.ASCII)
_PERMIT = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?|[0-9]{8}(?:[0-9]{2})?|[A-Z][0-9]{8}", re.ASCII)


class BadIdNumber(Unprocessable):
    """An ID number that is not valid for its type."""

    code = "bad_id_number"


def check_id_number(id_type: str, id_number: str) -> str:
    """The normalised ID number, or :class:`BadIdNumber` (unknown type, bad form or check digit).

    Only ASCII letters, digits and spaces are read, before anything else looks at the number
    (normalising, checking, masking, hashing, lookup): a full-width or Arabic-Indic digit, a
    tab, a newline or an ideographic space is refused, never folded into the real number.
    """
    if not isinstance(id_number, str) or not _AS_SENT.fullmatch(id_number):
        raise BadIdNumber(_not_ascii("an ID number", id_number, "ASCII letters, digits and spaces"))
    number = normalise_id_number(id_number)
    if id_type == "cn_resident":
        _check_resident(number)
    elif id_type == "cn_uscc":
        _check_uscc(number)
    elif id_type == "passport":
        if not _PASSPORT.fullmatch(number):
            raise BadIdNumber("a passport number is 5 to 20 letters and digits")
    elif id_type == "hk_macau_taiwan_permit":
        if not _PERMIT.fullmatch(number):
            raise BadIdNumber("not a Hong Kong, Macau or Taiwan travel permit number")
    else:
        raise BadIdNumber(f"unknown id_type; one of: {', '.join(ID_TYPES)}")
    return number


def _check_resident(number: str) -> None:
    """GB 11643-1999: 17 digits, a valid birth date, and the ISO 7064 MOD 11-2 check character."""
    if not _RESIDENT.fullmatch(number):
        raise BadIdNumber("a resident ID number is 17 digits and a check digit or X")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise BadIdNumber("the birth date in the ID number is not a date") from exc
    if birth.year < 1900 or birth > dt.datetime.now(dt.UTC).date():
        raise BadIdNumber("the birth date in the ID number is out of range")
    total = sum(int(d) * w for d, w in zip(number[:17], _RESIDENT_WEIGHTS, strict=True))
    if _RESIDENT_CHECK[total % 11] != number[17]:
        raise BadIdNumber("the check digit of the ID number is wrong")


def _check_uscc(number: str) -> None:
    """GB 32100-2015 unified social credit code: 18 characters, MOD 31 check character."""
    if len(number) != 18 or any(c not in _USCC_ALPHABET for c in number):
        raise BadIdNumber("a unified social credit code is 18 characters of its alphabet")
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(number[:17], _USCC_WEIGHTS, strict=True))
    if _USCC_ALPHABET[(31 - total % 31) % 31] != number[17]:
        raise BadIdNumber("the check character of the credit code is wrong")


def mask_phone(phone: str) -> str:
    """``138****0000``: the first three and last four digits."""
    return mask(phone, keep_start=3, keep_end=4)


_PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,22}", re.ASCII)


def check_phone(phone: str) -> str:
    """The phone number without spaces or dashes; raises :class:`Unprocessable`.

    ASCII digits, spaces and dashes with an optional leading ``+``, matched whole: no other
    script's digits, and no trailing newline.
    """
    if not isinstance(phone, str) or not _PHONE.fullmatch(phone):
        message = _not_ascii("phone", phone, "ASCII digits, spaces and dashes, optionally a leading +")
        raise Unprocessable(message, details={"phone": [message]})
    return phone.replace(" ", "").replace("-", "")


def _not_ascii(what: str, value: object, allowed: str) -> str:
    """Why ``value`` is refused: the first character outside ``allowed`` when there is one."""
    if isinstance(value, str):
        for position, char in enumerate(value):
            if not (char.isascii() and (char.isalnum() or char in " +-")):
                return f"{what} is {allowed} only: {describe(char)} at position {position} is not"
    return f"{what} must be {allowed}"


class PiiCipher:
    """AES-256-GCM for personal data at rest, and a keyed hash (HMAC-SHA256) to find it.

    The keyed hash cannot be reversed by hashing every possible ID number without the key,
    unlike the plain identity hash of the payloads.
    """

    def __init__(self, encryption_key: bytes, lookup_key: bytes) -> None:
        self._aead = AESGCM(encryption_key)
        self._lookup_key = lookup_key

    def encrypt(self, value: str, *, context: str) -> bytes:
        """Nonce ‖ ciphertext; ``context`` (e.g. ``party.id_number``) is bound as associated data."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, value.encode("utf-8"), context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """The clear text; raises :class:`ValueError` if the blob was changed or the key is wrong."""
        try:
            return self._aead.decrypt(blob[:12], blob[12:], context.encode()).decode("utf-8")
        except InvalidTag as exc:
            raise ValueError("personal data does not decrypt: changed, or another key") from exc

    def lookup(self, id_type: str, number: str) -> str:
        """Keyed hash of a normalised identity, for finding a person without storing the number."""
        message = f"{id_type}:{normalise_id_number(number)}".encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()


class IdentitySecrets:
    """Salts and commitments kept under the personal-data key (``docs/formats.md`` section 1).

    The salt of a party's commitment is stored encrypted, as its base64 text, so that the
    opening can be disclosed again to the party and to an approved case's export.
    """

    SALT_CONTEXT = "party.identity_salt"
    LEGACY_PROOF_CONTEXT = "party.legacy_enrol_proof"
    ID_NUMBER_CONTEXT = "party.id_number"

    def __init__(self, cipher: PiiCipher) -> None:
        self.cipher = cipher

    def seal_salt(self, salt: bytes) -> bytes:
        """The salt encrypted for storage."""
        return self.cipher.encrypt(b64encode(salt), context=self.SALT_CONTEXT)

    def opening(self, *, id_type: str, id_number_enc: bytes, salt_enc: bytes) -> bytes:
        """The opening file's bytes from stored values; raises ``ValueError`` if they do not decrypt."""
        number = self.cipher.decrypt(id_number_enc, context=self.ID_NUMBER_CONTEXT)
        salt = b64decode(self.cipher.decrypt(salt_enc, context=self.SALT_CONTEXT), what="salt")
        return payloads.identity_opening(id_type=id_type, id_number=number, salt=salt)

    # --- the upgrade of round-1 parties (migration 0011) -------------------------------------

    def commit(self, id_type: str, id_number_enc: bytes) -> tuple[str, bytes]:
        """A commitment over a salt the notary draws, for a party enrolled before round 2."""
        number = self.cipher.decrypt(id_number_enc, context=self.ID_NUMBER_CONTEXT)
        salt = secrets.token_bytes(payloads.SALT_BYTES)
        opening = payloads.identity_opening(id_type=id_type, id_number=number, salt=salt)
        return payloads.identity_commitment(opening), self.seal_salt(salt)

    def seal_proof(self, proof: bytes) -> bytes:
        """A round-1 enrolment proof, encrypted: it confirms guesses of the unsalted hash."""
        return self.cipher.encrypt(b64encode(proof), context=self.LEGACY_PROOF_CONTEXT)

    def open_proof(self, sealed: bytes) -> bytes:
        """The round-1 proof back (to downgrade)."""
        return b64decode(self.cipher.decrypt(sealed, context=self.LEGACY_PROOF_CONTEXT), what="proof")

    def legacy_hash(self, id_type: str, id_number_enc: bytes) -> str:
        """Round 1's unsalted identity hash (to downgrade)."""
        number = self.cipher.decrypt(id_number_enc, context=self.ID_NUMBER_CONTEXT)
        return payloads.identity_sha256(id_type, number)
