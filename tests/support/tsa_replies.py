"""Hand-made RFC 3161 refusals, for testing how callers treat an authority that says no."""

from __future__ import annotations

from asn1crypto import core, tsp

TEST_POLICY = "1.3.6.1.4.1.59999.3161.1"  # a private arc: test tokens only


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
