"""A throwaway notary PKI for certificate tests: instance keys, a signer and the mini TSA."""

from __future__ import annotations

from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from notary.services.certificate import CertificateSigner
from notary.signing.keystore import InstanceKeys, ensure_keys, load_keys
from tests.support.mini_tsa import MiniTSA


def make_keys(key_dir: Path) -> InstanceKeys:
    """Generate and load a fresh instance key set in ``key_dir``."""
    ensure_keys(key_dir, organisation="Example Notary")
    return load_keys(key_dir)


def make_signer(keys: InstanceKeys) -> tuple[CertificateSigner, MiniTSA]:
    """A certificate signer whose timestamps come from a mini TSA holding the instance's TSA key."""
    tsa = MiniTSA(keys.tsa_key, keys.tsa_chain)
    signer = CertificateSigner(
        signer_key=keys.notary_key,
        signer_cert=keys.notary_cert,
        chain=keys.notary_chain,
        timestamper=tsa.respond,
    )
    return signer, tsa


def asn1_root(keys: InstanceKeys) -> asn1_x509.Certificate:
    """The instance root as pyHanko's validation context wants it."""
    return asn1_x509.Certificate.load(keys.root_cert.public_bytes(serialization.Encoding.DER))
