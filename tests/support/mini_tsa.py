"""A minimal RFC 3161 timestamp authority for tests: request DER in, response DER out.

It does what a real authority must and nothing more: it copies the message imprint and nonce,
signs a TSTInfo with an ECDSA P-256 key (SignedData with content type, message digest and an
ESSCertIDv2 signing-certificate attribute, RFC 5816), and includes its chain when asked. The
production authority is notary.signing.tsa; this one exists so that the certificate's
timestamp adapter is tested against an independent responder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Callable

from asn1crypto import algos, cms, core, tsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

TEST_POLICY = "1.3.6.1.4.1.59999.3161.1"  # a private arc: test tokens only


class MiniTSA:
    """Answers TimeStampReq DER with TimeStampResp DER, signed by ``key`` (P-256)."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        chain: list[cx509.Certificate],
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._key = key
        # Kept as DER and loaded afresh per answer: asn1crypto re-encodes a parsed value when it
        # is put into a new structure, which costs tens of milliseconds for a certificate chain.
        self._chain_der = [cert.public_bytes(serialization.Encoding.DER) for cert in chain]
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._serials = itertools.count(1)
        leaf = x509.Certificate.load(self._chain_der[0])
        self._issuer_der = leaf.issuer.dump()
        self._leaf_serial = leaf.serial_number
        self._ess_der = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(self._chain_der[0]).digest(),
                        "issuer_serial": {
                            "issuer": [x509.GeneralName({"directory_name": leaf.issuer})],
                            "serial_number": leaf.serial_number,
                        },
                    }
                ]
            }
        ).dump()
        self.requests = 0

    def respond(self, request_der: bytes) -> bytes:
        """Answer one request; a malformed request gets a ``rejection`` with ``bad_data_format``."""
        self.requests += 1
        try:
            request = tsp.TimeStampReq.load(request_der)
            imprint = request["message_imprint"]
            imprint.native  # noqa: B018 -- parse it all now, so a bad request is rejected here
        except ValueError:
            return rejection("bad_data_format")
        now = self._clock().replace(microsecond=0)  # whole seconds: no fraction to encode
        tst_info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": TEST_POLICY,
                "message_imprint": imprint,
                "serial_number": next(self._serials),
                "gen_time": now,
                "accuracy": {"seconds": 1},
                "nonce": request["nonce"].native,
            }
        )
        signed_attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(tst_info.dump()).digest()]},
                {"type": "signing_certificate_v2", "values": [tsp.SigningCertificateV2.load(self._ess_der)]},
            ]
        )
        signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": x509.Name.load(self._issuer_der),
                            "serial_number": self._leaf_serial,
                        }
                    }
                ),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
                "signature": signature,
            }
        )
        signed_data = {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": core.ParsableOctetString(tst_info.dump()),
            },
            "signer_infos": [signer_info],
        }
        if request["cert_req"].native:
            signed_data["certificates"] = [x509.Certificate.load(der) for der in self._chain_der]
        token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


def rejection(fail_info: str, text: str = "") -> bytes:
    """A TimeStampResp refusing the request: a status and no token.

    Built by hand because asn1crypto declares the (OPTIONAL) timeStampToken mandatory.
    """
    status = {"status": "rejection", "fail_info": {fail_info}}
    if text:
        status["status_string"] = [text]
    status_der = tsp.PKIStatusInfo(status).dump()
    return core.Sequence.load(b"\x30" + _der_length(len(status_der)) + status_der).dump()


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    encoded = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded
