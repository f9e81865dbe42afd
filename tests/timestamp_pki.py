"""A throwaway PKI and a forger of RFC 3161 responses, for timestamp tests.

The forger builds tokens the slow, obvious way (asn1crypto objects) and can get any part
deliberately wrong: another signer, no ESS attribute, an ESS naming another certificate,
RSA PKCS#1 v1.5 or PSS signatures, a genTime outside the certificate's validity. The
embedded authority under test never produces such tokens, so they have to be made here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.clock import suite_now

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

NOW = suite_now().replace(microsecond=0)
VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"
OPENSSL = shutil.which("openssl")


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Timestamp Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_root(
    common_name: str = "Test Root", key: PrivateKey | None = None
) -> tuple[PrivateKey, x509.Certificate]:
    key = key or ec_key()
    subject = name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=365))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _key_usage(*, cert_sign: bool = False, digital_signature: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    issuer_key: PrivateKey,
    issuer_cert: x509.Certificate,
    *,
    common_name: str = "Test TSA",
    key: PrivateKey | None = None,
    ca: bool = False,
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.TIME_STAMPING,),
    eku_critical: bool = True,
    digital_signature: bool = True,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    serial_number: int | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """A certificate under ``issuer_cert``: a TSA leaf by default, a CA with ``ca=True``."""
    key = key or ec_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(common_name))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial_number or x509.random_serial_number())
        .not_valid_before(not_before or NOW - dt.timedelta(days=30))
        .not_valid_after(not_after or NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            _key_usage(cert_sign=ca, digital_signature=digital_signature and not ca), critical=True
        )
    )
    if eku is not None and not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=eku_critical)
    return key, builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class TsaPki:
    root_key: PrivateKey
    root: x509.Certificate
    tsa_key: PrivateKey
    tsa: x509.Certificate


def make_tsa_pki(*, rsa_tsa: bool = False, common_name: str = "Test Root") -> TsaPki:
    root_key, root = make_root(common_name)
    tsa_key, tsa = issue(root_key, root, key=rsa_key() if rsa_tsa else None)
    return TsaPki(root_key, root, tsa_key, tsa)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(der(cert))


def forge_response(
    *,
    key: PrivateKey,
    cert: x509.Certificate,
    digest: bytes,
    nonce: int | None = None,
    gen_time: dt.datetime | None = None,
    embed: Sequence[x509.Certificate] | None = None,
    sid_cert: x509.Certificate | None = None,
    ess: str | None = "v2",
    ess_cert: x509.Certificate | None = None,
    scheme: str = "ecdsa",
    imprint_algorithm: str = "sha256",
    signature_hash: str = "sha256",
    tsa_name: x509.Name | None = None,
) -> bytes:
    """A TimeStampResp signed by ``key``; every other argument can be made wrong on purpose."""
    gen_time = gen_time or suite_now()
    tst_fields: dict[str, object] = {
        "version": "v1",
        "policy": "1.2.3.4.5",
        "message_imprint": {"hash_algorithm": {"algorithm": imprint_algorithm}, "hashed_message": digest},
        "serial_number": 42,
        "gen_time": gen_time,
    }
    if nonce is not None:
        tst_fields["nonce"] = nonce
    if tsa_name is not None:
        tst_fields["tsa"] = asn1_x509.GeneralName(
            {"directory_name": asn1_x509.Name.load(tsa_name.public_bytes())}
        )
    tst_der = tsp.TSTInfo(tst_fields).dump()
    ess_target = ess_cert or cert
    issuer_serial = {
        "issuer": [asn1_x509.GeneralName({"directory_name": _asn1(ess_target).issuer})],
        "serial_number": ess_target.serial_number,
    }
    attributes = [
        {"type": "content_type", "values": ["tst_info"]},
        {"type": "message_digest", "values": [hashlib.new(signature_hash, tst_der).digest()]},
    ]
    if ess == "v2":
        ess_id = {"cert_hash": hashlib.sha256(der(ess_target)).digest(), "issuer_serial": issuer_serial}
        attributes.append({"type": "signing_certificate_v2", "values": [{"certs": [ess_id]}]})
    elif ess == "v1":
        ess_id = {"cert_hash": hashlib.sha1(der(ess_target)).digest(), "issuer_serial": issuer_serial}
        attributes.append({"type": "signing_certificate", "values": [{"certs": [ess_id]}]})
    signed_attrs = cms.CMSAttributes(attributes)
    to_sign = signed_attrs.dump()
    hash_algorithm = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1(), "sha384": hashes.SHA384()}[
        signature_hash
    ]
    if scheme == "ecdsa":
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        signature = key.sign(to_sign, ec.ECDSA(hash_algorithm))
        signature_algorithm: dict[str, object] = {"algorithm": f"{signature_hash}_ecdsa"}
    elif scheme == "pkcs1":
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(to_sign, padding.PKCS1v15(), hash_algorithm)
        signature_algorithm = {"algorithm": f"{signature_hash}_rsa"}
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        pss = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=32)
        signature = key.sign(to_sign, pss, hash_algorithm)
        signature_algorithm = {
            "algorithm": "rsassa_pss",
            "parameters": {
                "hash_algorithm": {"algorithm": signature_hash},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": signature_hash}},
                "salt_length": 32,
                "trailer_field": "trailer_field_bc",
            },
        }
    sid = _asn1(sid_cert or cert)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {"issuer_and_serial_number": {"issuer": sid.issuer, "serial_number": sid.serial_number}}
            ),
            "digest_algorithm": {"algorithm": signature_hash},
            "signed_attrs": signed_attrs,
            "signature_algorithm": signature_algorithm,
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": signature_hash}],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_der)},
            "certificates": [_asn1(each) for each in (embed if embed is not None else [cert])],
            "signer_infos": [signer_info],
        }
    )
    token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return bytes(tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump())


def gen_time_of(token_or_response: bytes) -> dt.datetime:
    """The genTime of a TimeStampResp or of a bare token (CMS ContentInfo)."""
    first = core.Sequence.load(token_or_response)[0]
    if isinstance(first, core.ObjectIdentifier):  # ContentInfo starts with its content type
        token = cms.ContentInfo.load(token_or_response)
    else:  # TimeStampResp starts with its PKIStatusInfo
        token = tsp.TimeStampResp.load(token_or_response)["time_stamp_token"]
    return token["content"]["encap_content_info"]["content"].parsed["gen_time"].native


def openssl_at_gen_time(token_or_response: bytes) -> list[str]:
    """``-attime`` at the token's genTime: openssl judges certificates at its own clock unless told,
    and a verifier of old evidence must judge them when the token was made (as the bundle's
    README tells people to)."""
    return ["-attime", str(int(gen_time_of(token_or_response).timestamp()))]


def openssl(
    *args: str | Path, check: bool = True, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the openssl command line; tests that need it skip when it is missing."""
    assert OPENSSL is not None
    return subprocess.run(
        [OPENSSL, *map(str, args)], input=stdin, capture_output=True, check=check, timeout=60
    )
