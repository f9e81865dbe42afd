"""PEM certificates from untrusted files (bundles, trust files), read strictly."""

from __future__ import annotations

import warnings

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from notary.verify.errors import MalformedInput
from notary.verify.timestamp.chain import load_untrusted_certificate

__all__ = ["load_pem_certificates"]


def load_pem_certificates(data: bytes, *, what: str, canonical: bool = True) -> tuple[x509.Certificate, ...]:
    """The certificates of PEM text, each of which must parse in full.

    With ``canonical`` (the default) the bytes must be exactly what re-encoding the
    certificates gives (64-column base64, ``\\n`` line ends, nothing between or around them),
    so that no byte of the file goes unchecked. Raises :class:`MalformedInput` otherwise, or
    when there is no certificate.
    """
    try:
        with warnings.catch_warnings():
            # cryptography warns about some damage (a bad serial, a bad name) and carries on.
            warnings.simplefilter("error")
            certificates = tuple(x509.load_pem_x509_certificates(data))
    except (ValueError, Warning) as exc:
        raise MalformedInput(f"{what} is not PEM certificates") from exc
    checked = []
    for index, cert in enumerate(certificates):
        loaded = load_untrusted_certificate(cert.public_bytes(serialization.Encoding.DER))
        if loaded is None:
            raise MalformedInput(f"certificate {index + 1} of {what} is damaged")
        checked.append(loaded)
    if canonical and b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in checked) != data:
        raise MalformedInput(f"{what} is not exactly its certificates in canonical PEM")
    return tuple(checked)
