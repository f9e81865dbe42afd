"""Offline verification of RFC 3161 timestamp tokens: no network, trust roots passed in.

A token is checked the way a court will need it checked years later: the CMS signature over
the signed attributes, the message-digest attribute over the TSTInfo, the ESS
signing-certificate attribute binding the signer certificate, the signer's critical
timeStamping-only extended key usage (RFC 3161 section 2.3), and a path from the signer to a
trust root with every certificate valid **at genTime**. Not "now": TSA certificates expire
(a few years) long before the evidence they stamped stops mattering (decades); what counts is
that the key was certified when it signed, which is the very moment the token asserts. No
revocation is checked (offline); a TSA key compromised later is handled by re-stamping
evidence under a newer token, not by this check.

Imprint policy: SHA-256 only by default (the notary's own tokens and records); callers may
admit SHA-384 and SHA-512 (``imprint_algorithms``), never SHA-1 or MD5. Signatures: RSA
PKCS#1 v1.5, RSA-PSS, ECDSA and Ed25519, over SHA-256/384/512 only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from asn1crypto import algos
from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from notary.verify.errors import InvalidSignature, VerificationError
from notary.verify.timestamp import parser as timestamp_token
from notary.verify.timestamp.chain import (
    CertificateNotValidAt,
    UntrustedChain,
    load_untrusted_certificate,
    validate_path,
)
from notary.verify.timestamp.parser import (
    MalformedTimestamp,
    ParsedToken,
    TimestampRejected,
    UnsupportedHashAlgorithm,
)

__all__ = [
    "ALL_IMPRINT_ALGORITHMS",
    "DEFAULT_IMPRINT_ALGORITHMS",
    "CertificateExpiredAtGenTime",
    "ImprintMismatch",
    "MalformedTimestamp",
    "MissingTimestampingEKU",
    "NonceMismatch",
    "SignerKeyUsageInvalid",
    "SigningCertificateMismatch",
    "TimestampInfo",
    "TimestampRejected",
    "TimestampSignatureInvalid",
    "TsaNameMismatch",
    "UnsupportedHashAlgorithm",
    "UntrustedTimestampChain",
    "verify_timestamp",
]

DEFAULT_IMPRINT_ALGORITHMS: tuple[str, ...] = ("sha256",)
ALL_IMPRINT_ALGORITHMS: tuple[str, ...] = ("sha256", "sha384", "sha512")

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# ESS certificate identifiers only name a certificate the verifier already holds; RFC 2634's
# ESSCertID is SHA-1 by definition and remains acceptable for that purpose.
_ESS_HASHES = frozenset({"sha1", "sha256", "sha384", "sha512"})
_RSA_PKCS1 = {
    "1.2.840.113549.1.1.1": None,
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
}
_RSA_PSS = "1.2.840.113549.1.1.10"
_ECDSA = {
    "1.2.840.10045.2.1": None,
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
_ED25519 = "1.3.101.112"
_DIRECTORY_NAME = 0xA4


class ImprintMismatch(VerificationError):
    """The token stamps some other data than the message or digest given."""

    code = "imprint_mismatch"


class NonceMismatch(VerificationError):
    """The token's nonce is missing or not the one sent: a replayed or foreign answer."""

    code = "nonce_mismatch"


class TimestampSignatureInvalid(InvalidSignature):
    """The CMS signature or the message-digest attribute does not verify."""

    code = "timestamp_signature_invalid"


class SigningCertificateMismatch(VerificationError):
    """No ESS signing-certificate attribute, or one naming another certificate than the signer."""

    code = "signing_certificate_mismatch"


class UntrustedTimestampChain(UntrustedChain):
    """The signer certificate is not found or does not chain to a given trust root."""

    code = "untrusted_timestamp_chain"


class MissingTimestampingEKU(VerificationError):
    """The signer certificate lacks a critical extended key usage of timeStamping only."""

    code = "missing_timestamping_eku"


class SignerKeyUsageInvalid(VerificationError):
    """The signer certificate's key usage allows neither digitalSignature nor nonRepudiation."""

    code = "signer_key_usage_invalid"


class CertificateExpiredAtGenTime(CertificateNotValidAt):
    """A certificate on the signer's path was not valid at the token's genTime."""

    code = "certificate_expired_at_gen_time"


class TsaNameMismatch(VerificationError):
    """The TSTInfo's tsa name, or the pinned name, is not the signer certificate's subject."""

    code = "tsa_name_mismatch"


@dataclass(frozen=True)
class TimestampInfo:
    """What a verified token asserts, and who asserted it."""

    gen_time: dt.datetime
    serial_number: int
    policy: str
    hash_algorithm: str
    imprint: bytes
    nonce: int | None
    accuracy: dt.timedelta | None
    ordering: bool
    tsa_name: str | None
    signer_subject: str
    signer_fingerprint: str
    chain: tuple[x509.Certificate, ...]
    token: bytes

    @property
    def chain_pem(self) -> bytes:
        """The signer's certificate, then its issuers up to the trust root, as PEM."""
        return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in self.chain)


def verify_timestamp(
    response_or_token: bytes,
    *,
    digest: bytes | None = None,
    message: bytes | None = None,
    digest_algorithm: str = "sha256",
    nonce: int | None = None,
    trust_roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    imprint_algorithms: Collection[str] = DEFAULT_IMPRINT_ALGORITHMS,
    tsa_name: x509.Name | str | None = None,
) -> TimestampInfo:
    """Verify a DER TimeStampResp or bare TimeStampToken over ``message`` or its ``digest``.

    Give exactly one of ``message`` (hashed with the token's imprint algorithm) and
    ``digest`` (made with ``digest_algorithm``). ``nonce`` must match when given.
    ``intermediates`` and the certificates inside the token are candidate issuers; only
    ``trust_roots`` are trusted. ``tsa_name`` pins the signer's subject (a Name, or its
    RFC 4514 string).

    Raises :class:`MalformedTimestamp`, :class:`TimestampRejected`,
    :class:`TimestampSignatureInvalid`, :class:`SigningCertificateMismatch`,
    :class:`MissingTimestampingEKU`, :class:`SignerKeyUsageInvalid`,
    :class:`UntrustedTimestampChain`, :class:`CertificateExpiredAtGenTime`,
    :class:`TsaNameMismatch`, :class:`UnsupportedHashAlgorithm`, :class:`ImprintMismatch`,
    :class:`NonceMismatch`; ``TypeError`` unless exactly one of ``message``/``digest`` is given.
    """
    if (digest is None) == (message is None):
        raise TypeError("give exactly one of 'digest' and 'message'")
    for name in imprint_algorithms:
        if name not in ALL_IMPRINT_ALGORITHMS:
            raise UnsupportedHashAlgorithm(f"imprint algorithm {name} is never accepted")
    parsed = timestamp_token.parse(response_or_token)

    embedded = [cert for cert in map(load_untrusted_certificate, parsed.certificates) if cert is not None]
    candidates = [*embedded, *intermediates]
    signer = _signing_certificate(parsed, [*candidates, *trust_roots])
    _check_signing_certificate(parsed, signer)
    _check_signer_usage(signer)
    try:
        chain = validate_path(signer, trust_roots=trust_roots, intermediates=candidates, at=parsed.gen_time)
    except CertificateNotValidAt as exc:
        raise CertificateExpiredAtGenTime(exc.message, details=exc.details) from exc
    except UntrustedChain as exc:
        raise UntrustedTimestampChain(exc.message, details=exc.details) from exc
    tsa_display = _check_tsa_name(parsed, signer, tsa_name)
    _check_imprint(parsed, digest, message, digest_algorithm, imprint_algorithms)
    if nonce is not None and parsed.nonce != nonce:
        raise NonceMismatch(
            "the token's nonce is not the request's",
            details={"expected": str(nonce), "found": None if parsed.nonce is None else str(parsed.nonce)},
        )
    return TimestampInfo(
        gen_time=parsed.gen_time,
        serial_number=parsed.serial_number,
        policy=parsed.policy,
        hash_algorithm=parsed.imprint_algorithm,
        imprint=parsed.imprint,
        nonce=parsed.nonce,
        accuracy=parsed.accuracy,
        ordering=parsed.ordering,
        tsa_name=tsa_display,
        signer_subject=signer.subject.rfc4514_string(),
        signer_fingerprint=signer.fingerprint(hashes.SHA256()).hex(),
        chain=chain,
        token=parsed.token,
    )


def _signing_certificate(parsed: ParsedToken, candidates: Sequence[x509.Certificate]) -> x509.Certificate:
    """The certificate named by the SignerInfo whose key verifies the signature.

    Several candidates may carry the signer's issuer and serial (a forged certificate slipped
    into the token's unsigned certificate bag); the one whose key verifies is the signer, so
    such an injection cannot make a genuine token fail.
    """
    named = [cert for cert in dict.fromkeys(candidates) if _names_signer(parsed, cert)]
    if not named:
        raise UntrustedTimestampChain(
            "the signer's certificate is neither in the token nor among those given"
        )
    first_error: TimestampSignatureInvalid | None = None
    for cert in named:
        try:
            _check_signature(parsed, cert)
        except TimestampSignatureInvalid as exc:
            first_error = first_error or exc
            continue
        return cert
    assert first_error is not None
    raise first_error


def _names_signer(parsed: ParsedToken, cert: x509.Certificate) -> bool:
    if parsed.signer_key_id is not None:
        return _subject_key_id(cert) == parsed.signer_key_id
    return (
        parsed.signer_issuer is not None
        and cert.serial_number == parsed.signer_serial
        and timestamp_token.names_equal(parsed.signer_issuer, cert.issuer)
    )


def _check_signature(parsed: ParsedToken, signer: x509.Certificate) -> None:
    if parsed.content_type_attr != timestamp_token.ID_CT_TSTINFO:
        raise MalformedTimestamp("the content-type attribute is not id-ct-TSTInfo")
    digest_hash = _hash_named(parsed.digest_algorithm, "signer digest")
    if hashlib.new(digest_hash, parsed.tst_info).digest() != parsed.message_digest:
        raise TimestampSignatureInvalid("the message-digest attribute does not match the TSTInfo")
    try:
        key = signer.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TimestampSignatureInvalid("the signer certificate's public key is unusable") from exc
    oid = parsed.signature_algorithm
    try:
        if oid in _RSA_PKCS1 and isinstance(key, rsa.RSAPublicKey):
            hash_name = _hash_named(_RSA_PKCS1[oid] or digest_hash, "signature")
            key.verify(parsed.signature, parsed.signed_attrs, padding.PKCS1v15(), _HASHES[hash_name]())
        elif oid == _RSA_PSS and isinstance(key, rsa.RSAPublicKey):
            pss, hash_algorithm = _pss(parsed.signature_parameters)
            key.verify(parsed.signature, parsed.signed_attrs, pss, hash_algorithm)
        elif oid in _ECDSA and isinstance(key, ec.EllipticCurvePublicKey):
            hash_name = _hash_named(_ECDSA[oid] or digest_hash, "signature")
            key.verify(parsed.signature, parsed.signed_attrs, ec.ECDSA(_HASHES[hash_name]()))
        elif oid == _ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(parsed.signature, parsed.signed_attrs)
        else:
            raise TimestampSignatureInvalid(
                f"signature algorithm {oid} does not fit the signer's {type(key).__name__} key"
            )
    except (_CryptoInvalidSignature, ValueError) as exc:
        raise TimestampSignatureInvalid(
            "the token's signature does not verify with the signer's key"
        ) from exc


def _pss(parameters: bytes | None) -> tuple[padding.PSS, hashes.HashAlgorithm]:
    """RSASSA-PSS parameters (RFC 4055); only MGF1 with the message hash is accepted."""
    try:
        native = algos.RSASSAPSSParams.load(parameters or b"\x30\x00").native
        hash_name = _hash_named(native["hash_algorithm"]["algorithm"], "signature")
        mgf = native["mask_gen_algorithm"]
        mgf_hash = mgf["parameters"]["algorithm"]
        salt_length = int(native["salt_length"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedTimestamp("unreadable RSASSA-PSS parameters") from exc
    if mgf["algorithm"] != "mgf1" or mgf_hash != hash_name:
        raise UnsupportedHashAlgorithm("RSASSA-PSS with another mask generation than MGF1 over the same hash")
    hash_algorithm = _HASHES[hash_name]()
    return padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=salt_length), hash_algorithm


def _check_signing_certificate(parsed: ParsedToken, signer: x509.Certificate) -> None:
    if not parsed.ess_cert_ids:
        raise SigningCertificateMismatch("the token has no ESS signing-certificate attribute")
    der = signer.public_bytes(serialization.Encoding.DER)
    for ess in parsed.ess_cert_ids:
        # RFC 2634 / 5035: the first certificate identifier names the signer's certificate.
        if ess.hash_algorithm not in _ESS_HASHES:
            raise UnsupportedHashAlgorithm(f"ESS certificate hash {ess.hash_algorithm} is not accepted")
        if hashlib.new(ess.hash_algorithm, der).digest() != ess.cert_hash:
            raise SigningCertificateMismatch("the ESS signing-certificate hash names another certificate")
        if ess.serial_number is not None and ess.issuer_names is not None:
            issuer_names = ess.issuer_names
            if ess.serial_number != signer.serial_number or not any(
                timestamp_token.names_equal(name, signer.issuer) for name in issuer_names
            ):
                raise SigningCertificateMismatch("the ESS issuerSerial names another certificate")


def _check_signer_usage(signer: x509.Certificate) -> None:
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as exc:
        raise MissingTimestampingEKU("the signer certificate has no extended key usage") from exc
    except (ValueError, x509.DuplicateExtension) as exc:
        raise MalformedTimestamp("the signer certificate's extensions do not parse") from exc
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise MissingTimestampingEKU("the signer's extended key usage must be timeStamping only")
    if not eku.critical:
        raise MissingTimestampingEKU("the signer's timeStamping extended key usage must be critical")
    try:
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SignerKeyUsageInvalid(
            "the signer's key usage allows neither digitalSignature nor nonRepudiation"
        )


def _check_tsa_name(
    parsed: ParsedToken, signer: x509.Certificate, pinned: x509.Name | str | None
) -> str | None:
    if pinned is not None:
        subject: x509.Name | str = (
            signer.subject if isinstance(pinned, x509.Name) else signer.subject.rfc4514_string()
        )
        if subject != pinned:
            raise TsaNameMismatch(
                f"the token was signed by {signer.subject.rfc4514_string()}, not by {pinned}"
            )
    if parsed.tsa_name is None:
        return None
    if parsed.tsa_name[0] != _DIRECTORY_NAME:
        return timestamp_token.general_name_text(parsed.tsa_name)
    # RFC 3161 2.4.2: a tsa name MUST correspond to a subject name of the signer's certificate.
    name = _directory_name(parsed.tsa_name)
    if name is None or not timestamp_token.names_equal(name, signer.subject):
        raise TsaNameMismatch("the TSTInfo's tsa name is not the signer certificate's subject")
    return signer.subject.rfc4514_string()


def _check_imprint(
    parsed: ParsedToken,
    digest: bytes | None,
    message: bytes | None,
    digest_algorithm: str,
    imprint_algorithms: Collection[str],
) -> None:
    algorithm = parsed.imprint_algorithm
    if algorithm not in imprint_algorithms:
        raise UnsupportedHashAlgorithm(
            f"the token's imprint is {algorithm}; accepted: {', '.join(sorted(imprint_algorithms))}"
        )
    if message is not None:
        expected = hashlib.new(algorithm, message).digest()
    else:
        assert digest is not None
        if digest_algorithm != algorithm:
            raise ImprintMismatch(
                f"the token's imprint is {algorithm}, the digest given is {digest_algorithm}"
            )
        expected = digest
    if parsed.imprint != expected:
        raise ImprintMismatch("the token stamps other data than the message given")


def _subject_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, ValueError):
        return None


def _directory_name(general_name: bytes) -> bytes | None:
    """The Name inside a GeneralName ``[4] EXPLICIT Name``, or None when it is malformed."""
    header = 2 if general_name[1] < 0x80 else 2 + (general_name[1] & 0x7F)
    name = general_name[header:]
    return name if name[:1] == b"\x30" else None


def _hash_named(name: str, what: str) -> str:
    if name not in _HASHES:
        raise UnsupportedHashAlgorithm(f"{what} hash {name} is not accepted")
    return name
