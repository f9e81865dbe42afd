"""Sign the certificate PDF: PAdES (ETSI.CAdES.detached) with the notary key and a signature timestamp.

The timestamp comes from any RFC 3161 responder given as a plain callable
``respond(request_der) -> response_der`` (the embedded authority in process, or an HTTP
client), wrapped by :class:`CallableTimeStamper`. Build one :class:`CertificateSigner` per
process and reuse it from any thread: the pyHanko signer, the signature settings and the
encoded signing-certificate attribute are made once, and each PDF then costs one ECDSA
signature and one timestamp request.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import NamedTuple

from asn1crypto import core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
from pyhanko.sign.general import SigningError, as_signing_certificate_v2
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from notary.errors import NotaryError, TimestampUnavailable
from notary.services.evidence.pdf.facts import CertificateFacts
from notary.services.evidence.pdf.render import TITLE_EN, TITLE_ZH, render_certificate

SIGNATURE_FIELD = "NotarySignature"
# Room for the CMS blob in /Contents: signature, the signer's chain, the timestamp token and the
# authority's chain come to ~3.5 KB with the notary's P-256 PKI. A fixed reservation skips
# pyHanko's dry-run signature (a second CMS build and timestamp per PDF); an authority with a
# larger answer falls back to pyHanko's estimate.
DEFAULT_BYTES_RESERVED = 8192
Respond = Callable[[bytes], bytes]


class CertificateSigningFailed(NotaryError):
    """The certificate PDF could not be signed (unusable key or certificate, unreadable PDF)."""

    code = "certificate_signing_failed"


class SignedCertificate(NamedTuple):
    """A signed certificate and the SHA-256 of its bytes, which the caller records."""

    pdf: bytes
    sha256: str


class CallableTimeStamper(TimeStamper):
    """A pyHanko :class:`TimeStamper` that asks a plain callable instead of an HTTP server.

    ``respond`` takes an RFC 3161 TimeStampReq (DER) and returns a TimeStampResp (DER); it
    knows nothing about pyHanko, so the embedded authority and a test responder plug in alike.
    """

    def __init__(self, respond: Respond) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._respond = respond

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        """Ask ``respond``; raises :class:`TimestampUnavailable` for a refusal or a garbled answer.

        pyHanko checks the nonce; the imprint is checked here because pyHanko does not, and a
        token over the wrong digest would only be noticed when someone validates the PDF.
        """
        response_der = self._respond(req.dump())
        status, status_strings = _response_status(response_der)
        if status not in ("granted", "granted_with_mods"):
            raise TimestampUnavailable(
                f"the timestamp authority refused the request ({status}: {'; '.join(status_strings)})",
                details={"status": status},
            )
        try:
            response = tsp.TimeStampResp.load(response_der)
            token_info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
            imprint = token_info["message_imprint"].dump()
        except (ValueError, TypeError, KeyError) as exc:
            raise TimestampUnavailable("the timestamp authority's token is not an RFC 3161 token") from exc
        if imprint != req["message_imprint"].dump():
            raise TimestampUnavailable("the timestamp authority stamped another digest than the one asked")
        return response


def _response_status(response_der: bytes) -> tuple[str, list[str]]:
    # asn1crypto declares TimeStampResp.timeStampToken mandatory (RFC 3161 makes it OPTIONAL), so
    # a refusal, which has no token, only parses field by field.
    try:
        outer = core.Sequence.load(response_der, strict=True)
        status_info = tsp.PKIStatusInfo.load(outer[0].dump())
        return status_info["status"].native, list(status_info["status_string"].native or [])
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise TimestampUnavailable("the timestamp authority's answer is not an RFC 3161 response") from exc


class _SigningCertificateV2(CMSAttributeProvider, SignedAttributeProviderSpec):
    """The one signed attribute PAdES adds (ESS signing-certificate-v2), encoded once.

    Together with the content-type and message-digest attributes pyHanko always adds, this is
    the attribute set of pyHanko's own PAdES profile; rebuilding it from the parsed certificate
    for each PDF made up most of the signing time.
    """

    attribute_type = "signing_certificate_v2"

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        self._der = as_signing_certificate_v2(signing_cert).dump()

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self._der)

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> list[CMSAttributeProvider]:
        return [self]


class _KeySigner(signers.Signer):
    """pyHanko signer over an in-memory ECDSA key object: no key re-parsing per signature.

    An HSM-backed signer would replace this class and nothing else.
    """

    def __init__(self, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]) -> None:
        certs = [asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)) for cert in chain]
        super().__init__(
            signing_cert=certs[0],
            cert_registry=SimpleCertificateStore.from_certs(certs),  # type: ignore[no-untyped-call]
            embed_roots=True,
        )
        self.signed_attr_prov_spec = _SigningCertificateV2(certs[0])
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError(f"the notary signs with sha256 only, not {digest_algorithm}")
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


class _ArchivalWriter(IncrementalPdfFileWriter):  # type: ignore[misc]
    """An incremental writer that leaves the document's metadata as rendered.

    pyHanko would set the Info dictionary's ModDate and append itself to its Producer, and
    rewrite the XMP packet with a Producer of its own: the two then disagree, which PDF/A
    forbids (ISO 19005-3, 6.6.3). The signing time is in the signature; the metadata keeps
    the certificate's issue time. A test compares Info and XMP in the signed file, so a
    pyHanko that stops calling this hook is noticed.
    """

    def _update_meta(self) -> None:
        return


class CertificateSigner:
    """Signs certificate PDFs with the notary's key; build once, use from any thread.

    ``chain`` is the signer's certificate first, then its issuers up to the root (as
    ``InstanceKeys.notary_chain``); ``timestamper`` is an RFC 3161 ``respond`` callable or a
    ready pyHanko :class:`TimeStamper`. Raises :class:`CertificateSigningFailed` when the key
    is not an ECDSA key or does not match ``signer_cert``.
    """

    def __init__(
        self,
        *,
        signer_key: ec.EllipticCurvePrivateKey,
        signer_cert: x509.Certificate,
        chain: list[x509.Certificate],
        timestamper: Respond | TimeStamper,
        bytes_reserved: int = DEFAULT_BYTES_RESERVED,
        reason: str | None = None,
    ) -> None:
        if not isinstance(signer_key, ec.EllipticCurvePrivateKey):
            raise CertificateSigningFailed("the notary signing key must be an ECDSA key")
        if signer_key.public_key() != signer_cert.public_key():
            raise CertificateSigningFailed("the notary signing key does not match its certificate")
        if not chain or chain[0] != signer_cert:
            chain = [signer_cert, *chain]
        self._signer = _KeySigner(signer_key, chain)
        self._timestamper = (
            timestamper if isinstance(timestamper, TimeStamper) else CallableTimeStamper(timestamper)
        )
        self._bytes_reserved = bytes_reserved
        self._metadata = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason or f"{TITLE_ZH} / {TITLE_EN}",
            name=signer_cert.subject.rfc4514_string(),
        )

    def sign(self, pdf: bytes) -> bytes:
        """Return ``pdf`` with the notary's PAdES signature and signature timestamp appended.

        Raises :class:`TimestampUnavailable` when the authority does not answer usefully (the
        caller retries later) and :class:`CertificateSigningFailed` for anything else.
        """
        try:
            try:
                return self._sign(pdf, self._bytes_reserved)
            except SigningError:
                # Most likely a CMS larger than the reservation; pyHanko's estimate sizes it.
                return self._sign(pdf, None)
        except NotaryError:
            raise
        except (PdfError, SigningError, ValueError, OSError) as exc:
            raise CertificateSigningFailed(f"cannot sign the certificate PDF: {exc}") from exc

    def _sign(self, pdf: bytes, bytes_reserved: int | None) -> bytes:
        writer = _ArchivalWriter(io.BytesIO(pdf), strict=True)
        signed = signers.sign_pdf(
            writer,
            self._metadata,
            signer=self._signer,
            timestamper=self._timestamper,
            bytes_reserved=bytes_reserved,
        )
        return bytes(signed.getvalue())


def sign_certificate(
    pdf: bytes,
    *,
    signer_key: ec.EllipticCurvePrivateKey,
    signer_cert: x509.Certificate,
    chain: list[x509.Certificate],
    timestamper: Respond | TimeStamper,
) -> bytes:
    """Sign one PDF; for repeated signing build a :class:`CertificateSigner` once instead.

    Raises what :class:`CertificateSigner` and :meth:`CertificateSigner.sign` raise.
    """
    signer = CertificateSigner(
        signer_key=signer_key, signer_cert=signer_cert, chain=chain, timestamper=timestamper
    )
    return signer.sign(pdf)


def issue_certificate(facts: CertificateFacts, signer: CertificateSigner) -> SignedCertificate:
    """Render and sign the certificate of ``facts``; returns the PDF and its SHA-256 (hex).

    Raises what :func:`render_certificate` and :meth:`CertificateSigner.sign` raise.
    """
    pdf = signer.sign(render_certificate(facts))
    return SignedCertificate(pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest())
