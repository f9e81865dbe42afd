"""The embedded RFC 3161 timestamp authority: the instance's own TSA key signs tokens in process.

Every record is stamped, so a token must cost far less than a millisecond. Building the
response as nested asn1crypto objects costs milliseconds (and far more for some signature
lengths), so everything constant is DER-encoded once in the constructor and each token only
encodes its few varying fields (serial, genTime, imprint, nonce), the signed attributes and
one ECDSA signature, then splices the layers together with their DER lengths. Requests
arriving over HTTP are parsed with asn1crypto; answers are always a TimeStampResp, a refusal
being one with status ``rejection`` and a failInfo (RFC 3161 section 2.4.2).

Policy: tokens carry :data:`EMBEDDED_TSA_POLICY_OID`, under the notary's private arc
:data:`NOTARY_OID_ARC` (a UUID OID, ITU-T X.667 / RFC 4122 section 1: unique without
registration). Serial numbers are ``time_ns << 64 | 64 random bits``: unique across restarts
and across processes sharing the key without any shared state, and at most 16 octets
(RFC 3161 allows up to 160 bits).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from asn1crypto import core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from notary.signing.keystore import InstanceKeys, KeysUnusable
from notary.verify.errors import MalformedInput

__all__ = [
    "EMBEDDED_TSA_POLICY_OID",
    "MAX_REQUEST_BYTES",
    "NOTARY_OID_ARC",
    "EmbeddedTSA",
    "time_serial",
]

NOTARY_OID_ARC = "2.25.196995554013548707575600631635348288800"
"""The notary's private OID arc: a UUID OID (2.25.<UUID 9433f6b1-04ae-44f8-bac5-d315fb47f520>)."""

EMBEDDED_TSA_POLICY_OID = NOTARY_OID_ARC + ".1.1"
"""TSA policy of the embedded authority, version 1: SHA-256 imprints only, genTime from the
host's clock (kept by NTP) with the accuracy stated in each token, no ordering guarantee."""

MAX_REQUEST_BYTES = 4096
"""A TimeStampReq is about 60 to 120 bytes; anything much larger is refused unread."""

# PKIFailureInfo bits of refusals (RFC 3161 section 2.4.2).
BAD_ALG = 0
BAD_DATA_FORMAT = 5
UNACCEPTED_POLICY = 15
UNACCEPTED_EXTENSION = 16
SYSTEM_FAILURE = 25

_log = logging.getLogger(__name__)

_SHA256_OID = "2.16.840.1.101.3.4.2.1"
_ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"
_ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
_ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_ID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
_SHA256_DIGEST_SIZE = 32
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())

# RFC 5754: SHA-2 AlgorithmIdentifiers SHOULD omit the parameters; requests with NULL
# parameters (OpenSSL sends them) get their imprint echoed as sent.
_SHA256_ALG_ABSENT = bytes.fromhex("300b0609608648016503040201")
_SHA256_ALG_NULL = bytes.fromhex("300d06096086480165030402010500")
_GRANTED = bytes.fromhex("3003020100")


_SHORT_LENGTHS = [bytes((length,)) for length in range(0x80)]


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return _SHORT_LENGTHS[length]
    if length < 0x100:
        return bytes((0x81, length))
    if length < 0x10000:
        return b"\x82" + length.to_bytes(2, "big")
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: bytes, content: bytes) -> bytes:
    return tag + _der_length(len(content)) + content


def _der_integer(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value
    return _tlv(b"\x02", value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True))


def _der_oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def _generalized_time(moment: dt.datetime) -> bytes:
    # DER (X.690 11.7): UTC "Z", no trailing zeros in the fraction, no dot for a whole second.
    utc = moment.astimezone(dt.UTC)
    text = f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d}"
    millis = utc.microsecond // 1000
    if millis:
        text += "." + f"{millis:03d}".rstrip("0")
    return _tlv(b"\x18", (text + "Z").encode("ascii"))


def _accuracy(accuracy: dt.timedelta) -> bytes:
    total_us = accuracy // dt.timedelta(microseconds=1)
    if total_us <= 0:
        raise ValueError("accuracy must be positive")
    seconds, rest = divmod(total_us, 1_000_000)
    millis, micros = divmod(rest, 1000)
    content = b""
    if seconds:
        content += _der_integer(seconds)
    if millis:
        content += _tlv(b"\x80", _der_integer(millis)[2:])
    if micros:
        content += _tlv(b"\x81", _der_integer(micros)[2:])
    return _tlv(b"\x30", content)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def time_serial() -> int:
    """A serial number unique across processes and restarts: ``time_ns << 64 | 64 random bits``."""
    return time.time_ns() << 64 | secrets.randbits(64)


def _rejection(fail_bit: int, text: str) -> bytes:
    """A TimeStampResp with status rejection, a statusString and one failInfo bit.

    Hand-encoded: asn1crypto's TimeStampResp wrongly requires a token, so it cannot encode one.
    """
    # A DER named BIT STRING stops at its last set bit; the first octet counts unused bits.
    octets = bytearray(fail_bit // 8 + 1)
    octets[-1] = 0x80 >> (fail_bit % 8)
    fail_info = _tlv(b"\x03", bytes((7 - fail_bit % 8,)) + bytes(octets))
    status_string = _tlv(b"\x30", _tlv(b"\x0c", text.encode("utf-8")))
    return _tlv(b"\x30", _tlv(b"\x30", b"\x02\x01\x02" + status_string + fail_info))


@dataclass(frozen=True)
class IssuedToken:
    """A token this authority made: the TimeStampResp, the token in it, and what it asserts."""

    response: bytes
    token: bytes
    gen_time: dt.datetime
    serial_number: int


class EmbeddedTSA:
    """An RFC 3161 authority signing with an ECDSA key held in this process.

    ``chain`` lists the issuers of ``cert`` (nearest first); those that are not self-signed
    go into tokens beside ``cert`` when the requester asks for certificates, so a verifier
    needs only the root. ``clock`` gives genTime (aware datetimes, truncated to the
    millisecond); ``serials`` gives serial numbers (positive, at most 20 octets). An
    instance holds no mutable state: threads may share it.

    Raises :class:`~notary.signing.keystore.KeysUnusable` when the key does not match the
    certificate or the certificate lacks the critical timeStamping extended key usage.
    """

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        policy_oid: str = EMBEDDED_TSA_POLICY_OID,
        accuracy: dt.timedelta | None = dt.timedelta(seconds=1),
        include_tsa_name: bool = True,
        clock: Callable[[], dt.datetime] = _utc_now,
        serials: Callable[[], int] = time_serial,
    ) -> None:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeysUnusable("the embedded TSA needs an ECDSA key")
        own_public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if own_public != cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            raise KeysUnusable("the TSA key does not match the TSA certificate")
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        except x509.ExtensionNotFound as exc:
            raise KeysUnusable("the TSA certificate has no extended key usage") from exc
        if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
            raise KeysUnusable("the TSA certificate needs a critical timeStamping-only EKU (RFC 3161 2.3)")

        self._key = key
        self._clock = clock
        self._serials = serials
        self.certificate = cert
        self.policy_oid = policy_oid
        self.chain = tuple(chain)

        cert_der = cert.public_bytes(serialization.Encoding.DER)
        asn1_cert = asn1_x509.Certificate.load(cert_der)
        issuer_der = bytes(asn1_cert.issuer.dump())

        self._policy = _der_oid(policy_oid)
        self._accuracy = _accuracy(accuracy) if accuracy is not None else b""
        self._tsa_name = (
            _tlv(b"\xa0", _tlv(b"\xa4", bytes(asn1_cert.subject.dump()))) if include_tsa_name else b""
        )
        # MessageImprint and messageDigest headers: everything before the 32 digest bytes.
        self._imprint_header = {
            alg: b"\x30" + _der_length(len(alg) + 34) + alg + b"\x04\x20"
            for alg in (_SHA256_ALG_ABSENT, _SHA256_ALG_NULL)
        }
        self._econtent_type = _der_oid(_ID_CT_TSTINFO)
        self._content_type_attr = _tlv(
            b"\x30", _der_oid(_ID_CONTENT_TYPE) + _tlv(b"\x31", self._econtent_type)
        )
        md_oid = _der_oid(_ID_MESSAGE_DIGEST)
        self._message_digest_attr_header = (
            b"\x30" + _der_length(len(md_oid) + 36) + md_oid + b"\x31\x22\x04\x20"
        )
        # ESSCertIDv2 with SHA-256, the DEFAULT hash algorithm, which DER therefore omits.
        issuer_serial = _tlv(
            b"\x30", _tlv(b"\x30", _tlv(b"\xa4", issuer_der)) + _der_integer(cert.serial_number)
        )
        ess_cert_id = _tlv(b"\x30", _tlv(b"\x04", hashlib.sha256(cert_der).digest()) + issuer_serial)
        self._signing_cert_attr = _tlv(
            b"\x30",
            _der_oid(_ID_SIGNING_CERTIFICATE_V2) + _tlv(b"\x31", _tlv(b"\x30", _tlv(b"\x30", ess_cert_id))),
        )
        sid = _tlv(b"\x30", issuer_der + _der_integer(cert.serial_number))
        self._signer_info_head = b"\x02\x01\x01" + sid + _SHA256_ALG_ABSENT
        self._signature_alg = _tlv(b"\x30", _der_oid(_ECDSA_WITH_SHA256))
        self._signed_data_head = b"\x02\x01\x03" + _tlv(b"\x31", _SHA256_ALG_ABSENT)
        embedded = [cert_der] + [
            issuer.public_bytes(serialization.Encoding.DER)
            for issuer in self.chain
            if issuer != cert and issuer.subject != issuer.issuer
        ]
        # CertificateSet is a SET OF: DER wants its elements in ascending order.
        self._certificates = _tlv(b"\xa0", b"".join(sorted(embedded)))
        self._content_info_head = _der_oid(_ID_SIGNED_DATA)

    @classmethod
    def from_instance_keys(cls, keys: InstanceKeys, **options: object) -> EmbeddedTSA:
        """The instance's TSA key, certificate and issuers as an authority; raises as ``__init__``."""
        return cls(keys.tsa_key, keys.tsa_cert, keys.tsa_chain[1:], **options)  # type: ignore[arg-type]

    @property
    def roots(self) -> tuple[x509.Certificate, ...]:
        """The self-signed certificates of ``chain``: what a verifier must trust."""
        return tuple(cert for cert in self.chain if cert.subject == cert.issuer)

    def stamp(self, digest: bytes, *, nonce: int | None = None, cert_req: bool = True) -> bytes:
        """Stamp a SHA-256 ``digest`` in process; returns the TimeStampResp DER (status granted).

        Raises :class:`MalformedInput` when ``digest`` is not 32 bytes.
        """
        return self.issue(digest, nonce=nonce, cert_req=cert_req).response

    def issue(self, digest: bytes, *, nonce: int | None = None, cert_req: bool = True) -> IssuedToken:
        """Like :meth:`stamp`, and also say what the token asserts (its time and serial), so an
        in-process caller need not parse the token it was just handed.

        Raises :class:`MalformedInput` when ``digest`` is not 32 bytes.
        """
        if not isinstance(digest, bytes) or len(digest) != _SHA256_DIGEST_SIZE:
            raise MalformedInput("a timestamp imprint must be a 32-byte SHA-256 digest")
        return self._issue(self._imprint_header[_SHA256_ALG_ABSENT] + digest, nonce, cert_req)

    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER TimeStampReq with a DER TimeStampResp; never raises for bad input.

        Refusals (status rejection) carry failInfo badDataFormat (unparsable, wrong version or
        imprint length), badAlg (any hash but SHA-256), unacceptedPolicy (a reqPolicy not
        ours) or unacceptedExtension (any request extension).
        """
        if len(request_der) > MAX_REQUEST_BYTES:
            return _rejection(BAD_DATA_FORMAT, "request too large")
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            version = request["version"].native
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]
            hash_oid = algorithm["algorithm"].dotted
            parameters = algorithm["parameters"]
            hashed = imprint["hashed_message"].native
            policy = request["req_policy"]
            req_policy = None if isinstance(policy, core.Void) else policy.dotted
            nonce = request["nonce"].native
            cert_req = bool(request["cert_req"].native)
            extensions = request["extensions"].native
        except (ValueError, TypeError, KeyError, IndexError, OverflowError):
            return _rejection(BAD_DATA_FORMAT, "not a DER TimeStampReq")
        if version != "v1":
            return _rejection(BAD_DATA_FORMAT, "unsupported TimeStampReq version")
        if hash_oid != _SHA256_OID:
            return _rejection(BAD_ALG, "only SHA-256 imprints are accepted")
        if isinstance(parameters, core.Void):
            alg_der = _SHA256_ALG_ABSENT
        elif isinstance(parameters, core.Null):
            alg_der = _SHA256_ALG_NULL
        else:
            return _rejection(BAD_ALG, "SHA-256 takes no parameters")
        if not isinstance(hashed, bytes) or len(hashed) != _SHA256_DIGEST_SIZE:
            return _rejection(BAD_DATA_FORMAT, "a SHA-256 imprint is 32 bytes")
        if req_policy is not None and req_policy != self.policy_oid:
            return _rejection(UNACCEPTED_POLICY, f"this authority only grants {self.policy_oid}")
        if extensions:
            return _rejection(UNACCEPTED_EXTENSION, "no request extensions are supported")
        try:
            return self._issue(self._imprint_header[alg_der] + hashed, nonce, cert_req).response
        except Exception:
            # A requester gets a reply, never a dropped connection; the operator gets the trace.
            _log.exception("embedded TSA failed to sign")
            return _rejection(SYSTEM_FAILURE, "the authority could not sign")

    def _issue(self, message_imprint: bytes, nonce: int | None, cert_req: bool) -> IssuedToken:
        serial = self._serials()
        gen_time = self._clock()
        tst_info = _tlv(
            b"\x30",
            b"\x02\x01\x01"
            + self._policy
            + message_imprint
            + _der_integer(serial)
            + _generalized_time(gen_time)
            + self._accuracy
            + (_der_integer(nonce) if nonce is not None else b"")
            + self._tsa_name,
        )
        attributes = sorted(
            (
                self._content_type_attr,
                self._message_digest_attr_header + hashlib.sha256(tst_info).digest(),
                self._signing_cert_attr,
            )
        )
        signed_attrs = b"".join(attributes)
        # The signature covers the attributes as a DER SET OF; SignerInfo holds them [0] IMPLICIT.
        signature = self._key.sign(_tlv(b"\x31", signed_attrs), _ECDSA_SHA256)
        signer_info = _tlv(
            b"\x30",
            self._signer_info_head
            + _tlv(b"\xa0", signed_attrs)
            + self._signature_alg
            + _tlv(b"\x04", signature),
        )
        encap = _tlv(b"\x30", self._econtent_type + _tlv(b"\xa0", _tlv(b"\x04", tst_info)))
        signed_data = _tlv(
            b"\x30",
            self._signed_data_head
            + encap
            + (self._certificates if cert_req else b"")
            + _tlv(b"\x31", signer_info),
        )
        token = _tlv(b"\x30", self._content_info_head + _tlv(b"\xa0", signed_data))
        # genTime is written to the millisecond (see _generalized_time): say the same here.
        written = gen_time.astimezone(dt.UTC).replace(microsecond=gen_time.microsecond // 1000 * 1000)
        return IssuedToken(_tlv(b"\x30", _GRANTED + token), token, written, serial)
