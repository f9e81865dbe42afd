"""Parsing of RFC 3161 answers into plain values, for :mod:`notary.verify.timestamp`.

The service verifies every token it stores, thousands a second, and asn1crypto's lazy object
model costs over a millisecond per token; so the fixed path through TimeStampResp, CMS
SignedData and TSTInfo is walked here with a small strict DER reader (definite minimal
lengths, low tag numbers, no trailing bytes). asn1crypto is still used where speed does not
matter: refusal details, name normalisation, display of non-directory names, PSS parameters.
Nothing here decides whether a token is true; :mod:`notary.verify.timestamp` does.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from notary.verify.errors import MalformedInput, UnsupportedAlgorithm, VerificationError

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

_SEQUENCE, _SET, _INTEGER, _OCTETS, _OID, _NULL, _BOOLEAN, _GENTIME = (
    0x30, 0x31, 0x02, 0x04, 0x06, 0x05, 0x01, 0x18,
)  # fmt: skip
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


class _Reader:
    """Sequential reader of the DER elements between ``pos`` and ``end`` of ``data``."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < self.end else None

    def element(self) -> tuple[int, int, int]:
        """(tag, content start, content end) of the next element; moves past it."""
        data, pos = self.data, self.pos
        if pos + 2 > self.end:
            raise MalformedTimestamp("truncated DER")
        tag, length = data[pos], data[pos + 1]
        if tag & 0x1F == 0x1F:
            raise MalformedTimestamp("high tag numbers are not used in timestamps")
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or pos + count > self.end:
                raise MalformedTimestamp("indefinite or oversized DER length")
            length = int.from_bytes(data[pos : pos + count], "big")
            if length < 0x80 or data[pos] == 0:
                raise MalformedTimestamp("non-minimal DER length")
            pos += count
        if pos + length > self.end:
            raise MalformedTimestamp("truncated DER")
        self.pos = pos + length
        return tag, pos, pos + length

    def expect(self, tag: int, what: str) -> tuple[int, int]:
        found, start, end = self.element()
        if found != tag:
            raise MalformedTimestamp(f"{what}: expected tag {tag:#04x}, found {found:#04x}")
        return start, end

    def inner(self, tag: int, what: str) -> _Reader:
        start, end = self.expect(tag, what)
        return _Reader(self.data, start, end)

    def raw(self) -> bytes:
        start = self.pos
        self.element()
        return self.data[start : self.pos]

    def octets(self, tag: int, what: str) -> bytes:
        start, end = self.expect(tag, what)
        return self.data[start:end]

    def integer(self, what: str) -> int:
        content = self.octets(_INTEGER, what)
        if not content or (len(content) > 1 and (content[0], content[1] & 0x80) in ((0, 0), (0xFF, 0x80))):
            raise MalformedTimestamp(f"{what}: not a minimal DER INTEGER")
        return int.from_bytes(content, "big", signed=True)

    def oid(self, what: str) -> str:
        dotted = _oid_text(self.octets(_OID, what))
        if dotted is None:
            raise MalformedTimestamp(f"{what}: bad OBJECT IDENTIFIER")
        return dotted

    def done(self, what: str) -> None:
        if self.pos != self.end:
            raise MalformedTimestamp(f"{what}: unexpected trailing data")


@functools.lru_cache(maxsize=512)
def _oid_text(content: bytes) -> str | None:
    """Dotted form of an OBJECT IDENTIFIER's content octets; None when not minimal DER."""
    if not content or content[-1] & 0x80:
        return None
    arcs: list[int] = []
    value = 0
    for index, octet in enumerate(content):
        # 0x80 opening an arc is a non-minimal encoding (X.690 8.19.2).
        if octet == 0x80 and (index == 0 or not content[index - 1] & 0x80):
            return None
        value = value << 7 | octet & 0x7F
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))


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


def _algorithm(reader: _Reader, what: str) -> tuple[str, bytes | None]:
    inner = reader.inner(_SEQUENCE, what)
    oid = inner.oid(what)
    parameters = inner.raw() if inner.peek() is not None else None
    inner.done(what)
    return oid, parameters


def _hash(reader: _Reader, what: str) -> str:
    oid, parameters = _algorithm(reader, what)
    if parameters not in (None, b"\x05\x00"):
        raise MalformedTimestamp(f"{what}: a hash algorithm takes no parameters")
    return HASH_NAMES.get(oid, oid)


def _der_header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes((tag, length))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets


def _status(reader: _Reader) -> None:
    status_raw = reader.raw()
    status = _Reader(status_raw).inner(_SEQUENCE, "PKIStatusInfo").integer("PKIStatus")
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


def _issuer_serial(reader: _Reader) -> tuple[tuple[bytes, ...], int]:
    inner = reader.inner(_SEQUENCE, "IssuerSerial")
    names = inner.inner(_SEQUENCE, "GeneralNames")
    directory_names = []
    while names.peek() is not None:
        tag, start, end = names.element()
        if tag == 0xA4:
            directory_names.append(names.data[start:end])
    serial = inner.integer("IssuerSerial serial")
    inner.done("IssuerSerial")
    return tuple(directory_names), serial


def _ess_cert_id(values: _Reader, version: int) -> EssCertId:
    attribute = values.inner(_SEQUENCE, "SigningCertificate")
    certs = attribute.inner(_SEQUENCE, "SigningCertificate certs")
    # RFC 2634 / 5035: the first identifier names the signer's own certificate.
    ess = certs.inner(_SEQUENCE, "ESSCertID")
    algorithm = "sha1" if version == 1 else "sha256"
    if version == 2 and ess.peek() == _SEQUENCE:
        algorithm = _hash(ess, "ESSCertIDv2 hashAlgorithm")
    cert_hash = ess.octets(_OCTETS, "ESSCertID certHash")
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


def _accuracy(reader: _Reader) -> dt.timedelta:
    inner = reader.inner(_SEQUENCE, "Accuracy")
    seconds = inner.integer("Accuracy seconds") if inner.peek() == _INTEGER else 0
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
    if not isinstance(der, bytes):
        raise MalformedTimestamp("a timestamp must be DER bytes")
    outer = _Reader(der)
    top = outer.inner(_SEQUENCE, "TimeStampResp")
    outer.done("TimeStampResp")
    # A TimeStampResp opens with PKIStatusInfo (a SEQUENCE), a bare token with its content type.
    if top.peek() == _SEQUENCE:
        _status(top)
        if top.peek() is None:
            raise MalformedTimestamp("a granted answer without a token")
        token = top.raw()
        top.done("TimeStampResp")
        top = _Reader(token).inner(_SEQUENCE, "TimeStampToken")
    else:
        token = der
    if top.oid("ContentInfo contentType") != _ID_SIGNED_DATA:
        raise MalformedTimestamp("the token is not CMS SignedData")
    explicit = top.inner(0xA0, "ContentInfo content")
    top.done("ContentInfo")
    signed_data = explicit.inner(_SEQUENCE, "SignedData")
    explicit.done("ContentInfo content")
    # Versions and the digest algorithm list are outside the signature; pinning them to what
    # RFC 5652 prescribes leaves no byte of a token that could change without notice.
    if signed_data.integer("SignedData version") not in (3, 4, 5):
        raise MalformedTimestamp("SignedData with TSTInfo content must be version 3 (RFC 5652 5.1)")
    digest_algorithms = signed_data.inner(_SET, "SignedData digestAlgorithms")
    listed_digests = set()
    while digest_algorithms.peek() is not None:
        listed_digests.add(_hash(digest_algorithms, "SignedData digestAlgorithm"))
    encap = signed_data.inner(_SEQUENCE, "EncapsulatedContentInfo")
    if encap.oid("eContentType") != ID_CT_TSTINFO:
        raise MalformedTimestamp("the signed content is not a TSTInfo")
    if encap.peek() is None:
        raise MalformedTimestamp("the token carries no TSTInfo")
    econtent = encap.inner(0xA0, "eContent")
    tst_der = econtent.octets(_OCTETS, "eContent")
    econtent.done("eContent")
    encap.done("EncapsulatedContentInfo")
    certificates: list[bytes] = []
    if signed_data.peek() == 0xA0:
        bag = signed_data.inner(0xA0, "certificates")
        while bag.peek() is not None:
            start = bag.pos
            tag, _, _ = bag.element()
            if tag == _SEQUENCE:  # other CertificateChoices (attribute certificates...) are not signers
                certificates.append(bag.data[start : bag.pos])
    if signed_data.peek() == 0xA1:
        signed_data.element()  # CRLs: not used offline
    signer_infos = signed_data.inner(_SET, "signerInfos")
    signed_data.done("SignedData")
    signer = signer_infos.inner(_SEQUENCE, "SignerInfo")
    if signer_infos.peek() is not None:
        raise MalformedTimestamp("a timestamp token has exactly one signer (RFC 3161 2.4.2)")

    signer_version = signer.integer("SignerInfo version")
    signer_issuer = signer_serial = signer_key_id = None
    if signer.peek() == _SEQUENCE:
        if signer_version != 1:
            raise MalformedTimestamp("a SignerInfo naming issuer and serial is version 1 (RFC 5652 5.3)")
        sid = signer.inner(_SEQUENCE, "IssuerAndSerialNumber")
        signer_issuer = sid.raw()
        signer_serial = sid.integer("IssuerAndSerialNumber serial")
        sid.done("IssuerAndSerialNumber")
    else:
        if signer_version != 3:
            raise MalformedTimestamp("a SignerInfo naming a key identifier is version 3 (RFC 5652 5.3)")
        signer_key_id = signer.octets(0x80, "SignerIdentifier")
    digest_algorithm = _hash(signer, "SignerInfo digestAlgorithm")
    if digest_algorithm not in listed_digests:
        raise MalformedTimestamp("the signer's digest algorithm is not in SignedData digestAlgorithms")
    if signer.peek() != 0xA0:
        raise MalformedTimestamp("the signer has no signed attributes (RFC 3161 requires them)")
    attrs_start, attrs_end = signer.expect(0xA0, "signedAttrs")
    signed_attrs = _der_header(_SET, attrs_end - attrs_start) + signer.data[attrs_start:attrs_end]
    signature_algorithm, signature_parameters = _algorithm(signer, "signatureAlgorithm")
    signature = signer.octets(_OCTETS, "signature")
    if signer.peek() == 0xA1:
        signer.element()
    signer.done("SignerInfo")

    seen: set[str] = set()
    content_type = message_digest = None
    ess_ids: list[EssCertId] = []
    attrs = _Reader(signer.data, attrs_start, attrs_end)
    while attrs.peek() is not None:
        attribute = attrs.inner(_SEQUENCE, "Attribute")
        kind = attribute.oid("Attribute type")
        values = attribute.inner(_SET, "Attribute values")
        attribute.done("Attribute")
        if kind in seen:
            raise MalformedTimestamp(f"signed attribute {kind} appears twice")
        seen.add(kind)
        if kind == _ID_CONTENT_TYPE:
            content_type = values.oid("content-type")
            values.done("content-type attribute")
        elif kind == _ID_MESSAGE_DIGEST:
            message_digest = values.octets(_OCTETS, "message-digest")
            values.done("message-digest attribute")
        elif kind in (_ID_SIGNING_CERTIFICATE, _ID_SIGNING_CERTIFICATE_V2):
            ess_ids.append(_ess_cert_id(values, 1 if kind == _ID_SIGNING_CERTIFICATE else 2))
    if content_type is None or message_digest is None:
        raise MalformedTimestamp("the content-type and message-digest attributes are required")

    tst_outer = _Reader(tst_der)
    tst = tst_outer.inner(_SEQUENCE, "TSTInfo")
    tst_outer.done("TSTInfo")
    if tst.integer("TSTInfo version") != 1:
        raise MalformedTimestamp("unsupported TSTInfo version")
    policy = tst.oid("TSTInfo policy")
    imprint = tst.inner(_SEQUENCE, "MessageImprint")
    imprint_algorithm = _hash(imprint, "MessageImprint hashAlgorithm")
    hashed_message = imprint.octets(_OCTETS, "MessageImprint hashedMessage")
    imprint.done("MessageImprint")
    serial_number = tst.integer("TSTInfo serialNumber")
    gen_time = _gen_time(tst.octets(_GENTIME, "genTime"))
    accuracy = _accuracy(tst) if tst.peek() == _SEQUENCE else None
    ordering = False
    if tst.peek() == _BOOLEAN:
        flag = tst.octets(_BOOLEAN, "ordering")
        if flag not in (b"\x00", b"\xff"):
            raise MalformedTimestamp("ordering is not a DER BOOLEAN")
        ordering = flag == b"\xff"
    nonce = tst.integer("TSTInfo nonce") if tst.peek() == _INTEGER else None
    tsa_name = None
    if tst.peek() == 0xA0:
        explicit_name = tst.inner(0xA0, "TSTInfo tsa")
        tsa_name = explicit_name.raw()
        explicit_name.done("TSTInfo tsa")
    if tst.peek() == 0xA1:
        tst.element()  # extensions: none is understood, none is critical by definition here
    tst.done("TSTInfo")

    return ParsedToken(
        token=token,
        tst_info=tst_der,
        policy=policy,
        imprint_algorithm=imprint_algorithm,
        imprint=hashed_message,
        serial_number=serial_number,
        gen_time=gen_time,
        accuracy=accuracy,
        ordering=ordering,
        nonce=nonce,
        tsa_name=tsa_name,
        certificates=tuple(certificates),
        signer_issuer=signer_issuer,
        signer_serial=signer_serial,
        signer_key_id=signer_key_id,
        digest_algorithm=digest_algorithm,
        signed_attrs=signed_attrs,
        content_type_attr=content_type,
        message_digest=message_digest,
        ess_cert_ids=tuple(ess_ids),
        signature_algorithm=signature_algorithm,
        signature_parameters=signature_parameters,
        signature=signature,
    )


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
