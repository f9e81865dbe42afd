"""A throwaway notary PKI for certificate tests: instance keys, a signer and the embedded TSA."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from notary.services.evidence.pdf import CertificateSigner
from notary.signing.keystore import InstanceKeys, ensure_keys, load_keys
from notary.signing.tsa import EmbeddedTSA


def make_keys(key_dir: Path) -> InstanceKeys:
    """Generate and load a fresh instance key set in ``key_dir``."""
    ensure_keys(key_dir, organisation="Example Notary")
    return load_keys(key_dir)


class CountingTSA:
    """The embedded authority, counting the requests it answers."""

    def __init__(self, tsa: EmbeddedTSA) -> None:
        self.tsa = tsa
        self.requests = 0

    def respond(self, request_der: bytes) -> bytes:
        self.requests += 1
        return self.tsa.respond(request_der)


def make_signer(
    keys: InstanceKeys, *, clock: Callable[[], dt.datetime] | None = None
) -> tuple[CertificateSigner, CountingTSA]:
    """A certificate signer timestamped by the embedded authority with the instance's TSA key,
    at ``clock`` (a fixed time for sample evidence on the fixed timeline; default: the machine's,
    for keys made now)."""
    authority = (
        EmbeddedTSA.from_instance_keys(keys)
        if clock is None
        else EmbeddedTSA.from_instance_keys(keys, clock=clock)
    )
    tsa = CountingTSA(authority)
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
