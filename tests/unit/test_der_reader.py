"""The strict DER reader under the timestamp verifier: what it refuses, byte by byte."""

from __future__ import annotations

import pytest
from asn1crypto import core

from notary.verify.timestamp.der import INTEGER, OID, SEQUENCE, DerReader, MalformedDer


@pytest.mark.parametrize(
    "encoding",
    [
        pytest.param(bytes.fromhex("3080"), id="indefinite length"),
        pytest.param(bytes.fromhex("30810100"), id="long form for a short length"),
        pytest.param(bytes.fromhex("3082000100"), id="leading zero length octet"),
        pytest.param(bytes.fromhex("3004020100"), id="shorter than its length"),
        pytest.param(bytes.fromhex("1f0100"), id="high tag number"),
        pytest.param(bytes.fromhex("30"), id="truncated header"),
    ],
)
def test_refuses_non_der_framing(encoding: bytes) -> None:
    with pytest.raises(MalformedDer):
        DerReader(encoding).element()


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, -1, -128, -129, 2**64, -(2**64), 2**159 + 7])
def test_integers_round_trip_with_asn1crypto(value: int) -> None:
    assert DerReader(core.Integer(value).dump()).integer("n") == value


@pytest.mark.parametrize("content", ["0000", "007f", "ff80", "ffff", ""])
def test_refuses_non_minimal_integers(content: str) -> None:
    encoding = bytes((INTEGER, len(content) // 2)) + bytes.fromhex(content)
    with pytest.raises(MalformedDer):
        DerReader(encoding).integer("n")


@pytest.mark.parametrize(
    "dotted",
    ["1.2.840.113549.1.9.16.1.4", "2.25.196995554013548707575600631635348288800.1.1", "0.9.2342", "2.999.1"],
)
def test_object_identifiers_round_trip_with_asn1crypto(dotted: str) -> None:
    assert DerReader(core.ObjectIdentifier(dotted).dump()).oid("oid") == dotted


@pytest.mark.parametrize("content", ["2a8086", "2a86", "802a", ""])
def test_refuses_malformed_object_identifiers(content: str) -> None:
    encoding = bytes((OID, len(content) // 2)) + bytes.fromhex(content)
    with pytest.raises(MalformedDer):
        DerReader(encoding).oid("oid")


def test_wrong_tags_and_leftovers_are_refused() -> None:
    reader = DerReader(bytes.fromhex("3003020101"))
    with pytest.raises(MalformedDer, match="expected tag"):
        reader.inner(0x31, "set")
    inner = DerReader(bytes.fromhex("30060201010201ff")).inner(SEQUENCE, "pair")
    assert inner.integer("first") == 1
    with pytest.raises(MalformedDer, match="trailing"):
        inner.done("pair")
