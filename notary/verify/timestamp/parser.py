"""Parsing of RFC 3161 answers into plain values, for :mod:`notary.verify.timestamp.verifier`.

The service verifies every token it stores, thousands a second, and asn1crypto's lazy object
model costs over a millisecond per token; so the fixed path through TimeStampResp, CMS
SignedData and TSTInfo is walked here with a small strict DER reader (definite minimal
lengths, low tag numbers, no trailing bytes). asn1crypto is still used where speed does not
matter: refusal details, name normalisation, display of non-directory names, PSS parameters.
Nothing here decides whether a token is true; :mod:`notary.verify.timestamp.verifier` does.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from notary.verify.errors import MalformedInput, UnsupportedAlgorithm, VerificationError
from notary.verify.timestamp.der import (
    BOOLEAN,
    GENERALIZED_TIME,
    INTEGER,
    OCTET_STRING,
    SEQUENCE,
    SET,
    DerReader,
    MalformedDer,
)

__all__ = [
    "HASH_NAMES",
    "ID_CT_TSTINFO",
    "EssCertId",
    "MalformedTimestamp",
    "ParsedToken",
    "TimestampRejected",
    "UnsupportedHashAlgorithm",
    "general_name_text",
    "names_equal",
    "parse",
]

ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"
_ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
_ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_ID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
_ID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"

HASH_NAMES = {
    "1.2.840.113549.2.5": "md5",
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}

_GENERALIZED_TIME = re.compile(rb"(\d{14})(?:\.(\d*[1-9]))?Z")


class MalformedTimestamp(MalformedInput):
    """Not a DER TimeStampResp or TimeStampToken, or one missing what RFC 3161 requires."""

    code = "malformed_timestamp"


class UnsupportedHashAlgorithm(UnsupportedAlgorithm):
    """An imprint, digest or signature hash outside the accepted set (SHA-1, MD5, ...)."""

    code = "unsupported_hash_algorithm"


class TimestampRejected(VerificationError):
    """The authority answered, but with a status other than granted (details: failInfo)."""

    code = "timestamp_rejected"


@dataclass(frozen=True)
class EssCertId:
    """The first ESSCertID (v1: SHA-1) or ESSCertIDv2 of a signing-certificate attribute."""

    hash_algorithm: str
    cert_hash: bytes
    issuer_names: tuple[bytes, ...] | None
    serial_number: int | None


@dataclass(frozen=True)
class ParsedToken:
    """The fields of a token that verification reads, undecided whether any of them is true."""

    token: bytes
    tst_info: bytes
    policy: str
    imprint_algorithm: str
    imprint: bytes
    serial_number: int
    gen_time: dt.datetime
    accuracy: dt.timedelta | None
    ordering: bool
    nonce: int | None
    tsa_name: bytes | None
    certificates: tuple[bytes, ...]
    signer_issuer: bytes | None
    signer_serial: int | None
    signer_key_id: bytes | None
    digest_algorithm: str
    signed_attrs: bytes
    content_type_attr: str
    message_digest: bytes
    ess_cert_ids: tuple[EssCertId, ...]
    signature_algorithm: str
    signature_parameters: bytes | None
    signature: bytes


def _algorithm(reader: DerReader, what: str) -> tuple[str, bytes | None]:
    inner = reader.inner(SEQUENCE, what)
    oid = inner.oid(what)
    parameters = inner.raw() if inner.peek() is not None else None
    inner.done(what)
    return oid, parameters


def _hash(reader: DerReader, what: str) -> str:
    oid, parameters = _algorithm(reader, what)
    if parameters not in (None, b"\x05\x00"):
        raise MalformedTimestamp(f"{what}: a hash algorithm takes no parameters")
    return HASH_NAMES.get(oid, oid)


def _der_header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes((tag, length))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets


def _status(reader: DerReader) -> None:
    status_raw = reader.raw()
    status = DerReader(status_raw).inner(SEQUENCE, "PKIStatusInfo").integer("PKIStatus")
    if status in (0, 1):  # granted, grantedWithMods
        return
    try:
        info = tsp.PKIStatusInfo.load(status_raw).native
        failures = sorted(info["fail_info"] or ())
        texts = list(info["status_string"] or ())
        name = str(info["status"])
    except (ValueError, TypeError, KeyError):
        failures, texts, name = [], [], str(status)
    raise TimestampRejected(
        f"the authority answered {name}" + (f" ({', '.join(failures)})" if failures else ""),
        details={"status": name, "fail_info": failures, "status_string": texts},
    )


def _issuer_serial(reader: DerReader) -> tuple[tuple[bytes, ...], int]:
    inner = reader.inner(SEQUENCE, "IssuerSerial")
    names = inner.inner(SEQUENCE, "GeneralNames")
    directory_names = []
    while names.peek() is not None:
        tag, start, end = names.element()
        if tag == 0xA4:
            directory_names.append(names.data[start:end])
    serial = inner.integer("IssuerSerial serial")
    inner.done("IssuerSerial")
    return tuple(directory_names), serial


def _ess_cert_id(values: DerReader, version: int) -> EssCertId:
    attribute = values.inner(SEQUENCE, "SigningCertificate")
    certs = attribute.inner(SEQUENCE, "SigningCertificate certs")
    # RFC 2634 / 5035: the first identifier names the signer's own certificate.
    ess = certs.inner(SEQUENCE, "ESSCertID")
    algorithm = "sha1" if version == 1 else "sha256"
    if version == 2 and ess.peek() == SEQUENCE:
        algorithm = _hash(ess, "ESSCertIDv2 hashAlgorithm")
    cert_hash = ess.octets(OCTET_STRING, "ESSCertID certHash")
    names, serial = _issuer_serial(ess) if ess.peek() is not None else (None, None)
    ess.done("ESSCertID")
    values.done("SigningCertificate attribute")
    return EssCertId(algorithm, cert_hash, names, serial)


def _gen_time(content: bytes) -> dt.datetime:
    match = _GENERALIZED_TIME.fullmatch(content)
    if match is None:
        raise MalformedTimestamp("genTime is not a DER GeneralizedTime")
    digits = match.group(1)
    try:
        moment = dt.datetime(
            int(digits[0:4]), int(digits[4:6]), int(digits[6:8]),
            int(digits[8:10]), int(digits[10:12]), int(digits[12:14]), tzinfo=dt.UTC,
        )  # fmt: skip
    except ValueError as exc:
        raise MalformedTimestamp("genTime is not a date") from exc
    fraction = match.group(2)
    if fraction:
        moment += dt.timedelta(microseconds=round(int(fraction) * 10 ** (6 - len(fraction))))
    return moment


def _accuracy(reader: DerReader) -> dt.timedelta:
    inner = reader.inner(SEQUENCE, "Accuracy")
    seconds = inner.integer("Accuracy seconds") if inner.peek() == INTEGER else 0
    millis = micros = 0
    if inner.peek() == 0x80:
        millis = int.from_bytes(inner.octets(0x80, "Accuracy millis"), "big")
    if inner.peek() == 0x81:
        micros = int.from_bytes(inner.octets(0x81, "Accuracy micros"), "big")
    inner.done("Accuracy")
    return dt.timedelta(seconds=seconds, milliseconds=millis, microseconds=micros)


def parse(der: bytes) -> ParsedToken:
    """Read a DER TimeStampResp (its status checked) or a bare TimeStampToken.

    Raises :class:`MalformedTimestamp` and :class:`TimestampRejected` (status not granted).
    """
    try:
        return _parse(der)
    except MalformedDer as exc:
        raise MalformedTimestamp(exc.message) from exc


def _parse(der: bytes) -> ParsedToken:
    if not isinstance(der, bytes):
        raise MalformedTimestamp("a timestamp must be DER bytes")
    outer = DerReader(der)
    top = outer.inner(SEQUENCE, "TimeStampResp")
    outer.done("TimeStampResp")
    # A TimeStampResp opens with PKIStatusInfo (a SEQUENCE), a bare token with its content type.
    if top.peek() == SEQUENCE:
        _status(top)
        if top.peek() is None:
            raise MalformedTimestamp("a granted answer without a token")
        token = top.raw()
        top.done("TimeStampResp")
        top = DerReader(token).inner(SEQUENCE, "TimeStampToken")
    else:
        token = der
    if top.oid("ContentInfo contentType") != _ID_SIGNED_DATA:
        raise MalformedTimestamp("the token is not CMS SignedData")
    explicit = top.inner(0xA0, "ContentInfo content")
    top.done("ContentInfo")
    signed_data = explicit.inner(SEQUENCE, "SignedData")
    explicit.done("ContentInfo content")
    fields: dict[str, Any] = {"token": token}
    signer, listed_digests = _read_signed_data(signed_data, fields)
    _read_signer_info(signer, listed_digests, fields)
    _read_tst_info(fields)
    return ParsedToken(**fields)


def _read_signed_data(signed_data: DerReader, fields: dict[str, Any]) -> tuple[DerReader, set[str]]:
    # Versions and the digest algorithm list are outside the signature; pinning them to what
    # RFC 5652 prescribes leaves no byte of a token that could change without notice.
    if signed_data.integer("SignedData version") not in (3, 4, 5):
        raise MalformedTimestamp("SignedData with TSTInfo content must be version 3 (RFC 5652 5.1)")
    digest_algorithms = signed_data.inner(SET, "SignedData digestAlgorithms")
    listed_digests = set()
    while digest_algorithms.peek() is not None:
        listed_digests.add(_hash(digest_algorithms, "SignedData digestAlgorithm"))
    encap = signed_data.inner(SEQUENCE, "EncapsulatedContentInfo")
    if encap.oid("eContentType") != ID_CT_TSTINFO:
        raise MalformedTimestamp("the signed content is not a TSTInfo")
    if encap.peek() is None:
        raise MalformedTimestamp("the token carries no TSTInfo")
    econtent = encap.inner(0xA0, "eContent")
    fields["tst_info"] = econtent.octets(OCTET_STRING, "eContent")
    econtent.done("eContent")
    encap.done("EncapsulatedContentInfo")
    certificates: list[bytes] = []
    if signed_data.peek() == 0xA0:
        bag = signed_data.inner(0xA0, "certificates")
        while bag.peek() is not None:
            start = bag.pos
            tag, _, _ = bag.element()
            if tag == SEQUENCE:  # other CertificateChoices (attribute certificates...) are not signers
                certificates.append(bag.data[start : bag.pos])
    fields["certificates"] = tuple(certificates)
    if signed_data.peek() == 0xA1:
        signed_data.element()  # CRLs: not used offline
    signer_infos = signed_data.inner(SET, "signerInfos")
    signed_data.done("SignedData")
    signer = signer_infos.inner(SEQUENCE, "SignerInfo")
    if signer_infos.peek() is not None:
        raise MalformedTimestamp("a timestamp token has exactly one signer (RFC 3161 2.4.2)")
    return signer, listed_digests


def _read_signer_info(signer: DerReader, listed_digests: set[str], fields: dict[str, Any]) -> None:
    version = signer.integer("SignerInfo version")
    fields["signer_issuer"] = fields["signer_serial"] = fields["signer_key_id"] = None
    if signer.peek() == SEQUENCE:
        if version != 1:
            raise MalformedTimestamp("a SignerInfo naming issuer and serial is version 1 (RFC 5652 5.3)")
        sid = signer.inner(SEQUENCE, "IssuerAndSerialNumber")
        fields["signer_issuer"] = sid.raw()
        fields["signer_serial"] = sid.integer("IssuerAndSerialNumber serial")
        sid.done("IssuerAndSerialNumber")
    else:
        if version != 3:
            raise MalformedTimestamp("a SignerInfo naming a key identifier is version 3 (RFC 5652 5.3)")
        fields["signer_key_id"] = signer.octets(0x80, "SignerIdentifier")
    fields["digest_algorithm"] = _hash(signer, "SignerInfo digestAlgorithm")
    if fields["digest_algorithm"] not in listed_digests:
        raise MalformedTimestamp("the signer's digest algorithm is not in SignedData digestAlgorithms")
    if signer.peek() != 0xA0:
        raise MalformedTimestamp("the signer has no signed attributes (RFC 3161 requires them)")
    start, end = signer.expect(0xA0, "signedAttrs")
    # The signature covers the attributes re-tagged as the SET OF they are ([0] IMPLICIT here).
    fields["signed_attrs"] = _der_header(SET, end - start) + signer.data[start:end]
    fields["signature_algorithm"], fields["signature_parameters"] = _algorithm(signer, "signatureAlgorithm")
    fields["signature"] = signer.octets(OCTET_STRING, "signature")
    if signer.peek() == 0xA1:
        signer.element()  # unsigned attributes
    signer.done("SignerInfo")
    _read_signed_attributes(DerReader(signer.data, start, end), fields)


def _read_signed_attributes(attrs: DerReader, fields: dict[str, Any]) -> None:
    seen: set[str] = set()
    ess_ids: list[EssCertId] = []
    while attrs.peek() is not None:
        attribute = attrs.inner(SEQUENCE, "Attribute")
        kind = attribute.oid("Attribute type")
        values = attribute.inner(SET, "Attribute values")
        attribute.done("Attribute")
        if kind in seen:
            raise MalformedTimestamp(f"signed attribute {kind} appears twice")
        seen.add(kind)
        if kind == _ID_CONTENT_TYPE:
            fields["content_type_attr"] = values.oid("content-type")
            values.done("content-type attribute")
        elif kind == _ID_MESSAGE_DIGEST:
            fields["message_digest"] = values.octets(OCTET_STRING, "message-digest")
            values.done("message-digest attribute")
        elif kind in (_ID_SIGNING_CERTIFICATE, _ID_SIGNING_CERTIFICATE_V2):
            ess_ids.append(_ess_cert_id(values, 1 if kind == _ID_SIGNING_CERTIFICATE else 2))
    if _ID_CONTENT_TYPE not in seen or _ID_MESSAGE_DIGEST not in seen:
        raise MalformedTimestamp("the content-type and message-digest attributes are required")
    fields["ess_cert_ids"] = tuple(ess_ids)


def _read_tst_info(fields: dict[str, Any]) -> None:
    outer = DerReader(fields["tst_info"])
    tst = outer.inner(SEQUENCE, "TSTInfo")
    outer.done("TSTInfo")
    if tst.integer("TSTInfo version") != 1:
        raise MalformedTimestamp("unsupported TSTInfo version")
    fields["policy"] = tst.oid("TSTInfo policy")
    imprint = tst.inner(SEQUENCE, "MessageImprint")
    fields["imprint_algorithm"] = _hash(imprint, "MessageImprint hashAlgorithm")
    fields["imprint"] = imprint.octets(OCTET_STRING, "MessageImprint hashedMessage")
    imprint.done("MessageImprint")
    fields["serial_number"] = tst.integer("TSTInfo serialNumber")
    fields["gen_time"] = _gen_time(tst.octets(GENERALIZED_TIME, "genTime"))
    fields["accuracy"] = _accuracy(tst) if tst.peek() == SEQUENCE else None
    fields["ordering"] = False
    if tst.peek() == BOOLEAN:
        flag = tst.octets(BOOLEAN, "ordering")
        if flag not in (b"\x00", b"\xff"):
            raise MalformedTimestamp("ordering is not a DER BOOLEAN")
        fields["ordering"] = flag == b"\xff"
    fields["nonce"] = tst.integer("TSTInfo nonce") if tst.peek() == INTEGER else None
    fields["tsa_name"] = None
    if tst.peek() == 0xA0:
        explicit_name = tst.inner(0xA0, "TSTInfo tsa")
        fields["tsa_name"] = explicit_name.raw()
        explicit_name.done("TSTInfo tsa")
    if tst.peek() == 0xA1:
        tst.element()  # extensions: the notary understands none, and TSTInfo gives them no criticality
    tst.done("TSTInfo")


def names_equal(name_der: bytes, other: x509.Name) -> bool:
    """RFC 5280 name comparison: identical DER, or equal after asn1crypto's normalisation."""
    other_der = other.public_bytes()
    if name_der == other_der:
        return True
    # Normalising (case, spaces, string types) is slow, so only for differing encodings.
    try:
        return bool(asn1_x509.Name.load(name_der) == asn1_x509.Name.load(other_der))
    except (ValueError, TypeError, KeyError):
        return False


def general_name_text(general_name: bytes) -> str:
    """A readable form of a GeneralName that is not a directoryName (a DNS name, a URI...)."""
    try:
        return str(asn1_x509.GeneralName.load(general_name).native)
    except (ValueError, TypeError, KeyError):
        return general_name.hex()
