"""Offline verification of RFC 3161 tokens: published vectors and deliberately broken tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from typing import Any

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from notary.signing.tsa import EmbeddedTSA
from notary.verify.errors import NotaryError
from notary.verify.timestamp.verifier import (
    ALL_IMPRINT_ALGORITHMS,
    CertificateExpiredAtGenTime,
    ImprintMismatch,
    MalformedTimestamp,
    MissingTimestampingEKU,
    NonceMismatch,
    SignerKeyUsageInvalid,
    SigningCertificateMismatch,
    TimestampRejected,
    TimestampSignatureInvalid,
    TsaNameMismatch,
    UnsupportedHashAlgorithm,
    UntrustedTimestampChain,
    verify_timestamp,
)
from tests.support.clock import suite_now
from tests.timestamp_pki import (
    NOW,
    VECTORS,
    TsaPki,
    forge_response,
    issue,
    make_root,
    make_tsa_pki,
)

TSP = VECTORS / "tsp"
needs_vectors = pytest.mark.skipif(
    not TSP.is_dir(), reason="published vectors (../shared/vectors) are not present"
)
DIGEST = hashlib.sha256(b"an evidence record").digest()

# Invalid published vectors and the error each must raise (timestamps.json gives only valid: false).
EXPECTED_ERRORS: dict[str, type[NotaryError]] = {
    "test_tsa-wrong-message": ImprintMismatch,
    "test_tsa-other-tsa": UntrustedTimestampChain,
    "test_tsa-injected-certs-pinned-spoofed": TsaNameMismatch,
    "sigstage-invalid-signature": TimestampSignatureInvalid,
    "sigstage-sha256-wrong-message": ImprintMismatch,
}


def load_vectors() -> list[dict[str, Any]]:
    if not TSP.is_dir():
        return []
    return list(json.loads((TSP / "timestamps.json").read_text())["vectors"])


def vector_inputs(vector: dict[str, Any]) -> dict[str, Any]:
    raw = (TSP / vector["chain"]).read_bytes()
    if vector.get("chain_format") == "der-root-only":
        certs = [x509.load_der_x509_certificate(raw)]
    else:
        certs = x509.load_pem_x509_certificates(raw)
    message = vector["message"]
    return {
        "message": message["utf8"].encode() if "utf8" in message else (TSP / message["file"]).read_bytes(),
        "trust_roots": [cert for cert in certs if cert.subject == cert.issuer],
        "intermediates": [cert for cert in certs if cert.subject != cert.issuer],
        "tsa_name": vector.get("tsa_name"),
    }


@needs_vectors
@pytest.mark.parametrize("vector", load_vectors(), ids=lambda vector: vector["id"])
def test_published_vectors(vector: dict[str, Any]) -> None:
    tsr = (TSP / vector["tsr"]).read_bytes()
    inputs = vector_inputs(vector)
    if vector["valid"]:
        info = verify_timestamp(tsr, imprint_algorithms=ALL_IMPRINT_ALGORITHMS, **inputs)
        assert info.chain[-1] in inputs["trust_roots"]
        assert info.chain[0].subject.rfc4514_string() == info.signer_subject
        # Valid at genTime; several of these chains have expired since (identrust, sigstore.mock).
        assert all(
            cert.not_valid_before_utc <= info.gen_time <= cert.not_valid_after_utc for cert in info.chain
        )
    else:
        with pytest.raises(EXPECTED_ERRORS[vector["id"]]):
            verify_timestamp(tsr, imprint_algorithms=ALL_IMPRINT_ALGORITHMS, **inputs)


@needs_vectors
@pytest.mark.parametrize("vector", [v for v in load_vectors() if v["valid"]], ids=lambda vector: vector["id"])
def test_default_policy_is_sha256_imprints_only(vector: dict[str, Any]) -> None:
    tsr = (TSP / vector["tsr"]).read_bytes()
    imprint = tsp.TimeStampResp.load(tsr)["time_stamp_token"]["content"]["encap_content_info"]["content"]
    if imprint.parsed["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256":
        verify_timestamp(tsr, **vector_inputs(vector))
    else:
        with pytest.raises(UnsupportedHashAlgorithm):
            verify_timestamp(tsr, **vector_inputs(vector))


@needs_vectors
def test_vector_nonces_are_those_of_their_requests() -> None:
    folder = TSP / "rfc3161-client" / "test_tsa"
    chain = x509.load_pem_x509_certificates((folder / "ts_chain.pem").read_bytes())
    inputs = {"message": b"hello", "trust_roots": chain[-1:], "intermediates": chain[:-1]}
    tsr = (folder / "response.tsr").read_bytes()
    nonce = tsp.TimeStampReq.load((folder / "request.der").read_bytes())["nonce"].native
    info = verify_timestamp(tsr, nonce=nonce, imprint_algorithms=ALL_IMPRINT_ALGORITHMS, **inputs)
    assert info.nonce == nonce
    other = tsp.TimeStampReq.load((folder / "other_request.der").read_bytes())["nonce"].native
    with pytest.raises(NonceMismatch):
        verify_timestamp(tsr, nonce=other, imprint_algorithms=ALL_IMPRINT_ALGORITHMS, **inputs)


@pytest.fixture(scope="module")
def tsa_pki() -> TsaPki:
    return make_tsa_pki()


@pytest.fixture(scope="module")
def embedded(tsa_pki: TsaPki) -> EmbeddedTSA:
    return EmbeddedTSA(tsa_pki.tsa_key, tsa_pki.tsa, [tsa_pki.root], clock=suite_now)  # type: ignore[arg-type]


def test_own_token_reports_what_it_asserts(embedded: EmbeddedTSA, tsa_pki: TsaPki) -> None:
    response = embedded.stamp(DIGEST, nonce=77)
    info = verify_timestamp(response, digest=DIGEST, nonce=77, trust_roots=[tsa_pki.root])
    assert info.imprint == DIGEST
    assert info.hash_algorithm == "sha256"
    assert info.nonce == 77
    assert info.accuracy == dt.timedelta(seconds=1)
    assert info.ordering is False
    assert info.tsa_name == info.signer_subject == tsa_pki.tsa.subject.rfc4514_string()
    assert info.chain == (tsa_pki.tsa, tsa_pki.root)
    assert info.signer_fingerprint == tsa_pki.tsa.fingerprint(hashes.SHA256()).hex()
    assert abs(info.gen_time - suite_now()) < dt.timedelta(seconds=5)
    # The bare token (what a bundle may store) verifies the same; so does the message itself.
    assert verify_timestamp(info.token, digest=DIGEST, trust_roots=[tsa_pki.root]) == info
    message_response = embedded.stamp(hashlib.sha256(b"body\n").digest())
    verify_timestamp(message_response, message=b"body\n", trust_roots=[tsa_pki.root])
    assert info.chain_pem.count(b"BEGIN CERTIFICATE") == 2


def flipped(data: bytes, needle: bytes, offset: int = -1) -> bytes:
    """``data`` with one bit changed inside the only occurrence of ``needle``."""
    assert data.count(needle) == 1
    position = data.index(needle) + (offset % len(needle))
    return data[:position] + bytes((data[position] ^ 0x01,)) + data[position + 1 :]


def test_corrupted_own_tokens_fail_each_with_its_error(tsa_pki: TsaPki) -> None:
    serial = 0x0102030405060708
    tsa = EmbeddedTSA(tsa_pki.tsa_key, tsa_pki.tsa, [tsa_pki.root], serials=lambda: serial, clock=suite_now)  # type: ignore[arg-type]
    response = tsa.stamp(DIGEST, nonce=5)
    roots = [tsa_pki.root]
    verify_timestamp(response, digest=DIGEST, nonce=5, trust_roots=roots)

    cases: list[tuple[bytes, dict[str, Any], type[NotaryError]]] = [
        # The ECDSA signature closes the response: its last byte is the end of s.
        (response[:-1] + bytes((response[-1] ^ 0x01,)), {}, TimestampSignatureInvalid),
        (flipped(response, bytes.fromhex("02080102030405060708")), {}, TimestampSignatureInvalid),
        (flipped(response, DIGEST), {}, TimestampSignatureInvalid),
        (response, {"digest": hashlib.sha256(b"another record").digest()}, ImprintMismatch),
        (response, {"digest": hashlib.sha384(b"x").digest(), "digest_algorithm": "sha384"}, ImprintMismatch),
        (response, {"nonce": 6}, NonceMismatch),
        (tsa.stamp(DIGEST), {"nonce": 5}, NonceMismatch),
        (response, {"trust_roots": [make_root("Stranger")[1]]}, UntrustedTimestampChain),
        (response, {"trust_roots": []}, UntrustedTimestampChain),
        (response, {"tsa_name": "CN=Someone Else"}, TsaNameMismatch),
        (response[:-10], {}, MalformedTimestamp),
        (response + b"\x00", {}, MalformedTimestamp),
        (b"", {}, MalformedTimestamp),
        (b"\x30\x80\x00\x00", {}, MalformedTimestamp),
        (tsa.respond(b"garbage"), {}, TimestampRejected),
    ]
    for index, (token, changes, error) in enumerate(cases):
        arguments: dict[str, Any] = {"digest": DIGEST, "nonce": 5, "trust_roots": roots, **changes}
        with pytest.raises(error) as raised:
            verify_timestamp(token, **arguments)
        assert raised.value.code == error.code, index


def test_rejection_details_name_the_failure(embedded: EmbeddedTSA, tsa_pki: TsaPki) -> None:
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha1"}, "hashed_message": bytes(20)},
        }
    )
    with pytest.raises(TimestampRejected) as raised:
        verify_timestamp(embedded.respond(request.dump()), digest=DIGEST, trust_roots=[tsa_pki.root])
    assert raised.value.details == {
        "status": "rejection",
        "fail_info": ["bad_alg"],
        "status_string": ["only SHA-256 imprints are accepted"],
    }


def test_every_single_bit_flip_is_caught(embedded: EmbeddedTSA, tsa_pki: TsaPki) -> None:
    response = embedded.stamp(DIGEST, nonce=9)
    accepted = []
    for position in range(len(response)):
        changed = response[:position] + bytes((response[position] ^ 0x01,)) + response[position + 1 :]
        try:
            verify_timestamp(changed, digest=DIGEST, nonce=9, trust_roots=[tsa_pki.root])
        except NotaryError:
            continue
        accepted.append(position)
    # Only PKIStatus granted (0) -> grantedWithMods (1) passes: the status is not signed, and
    # RFC 3161 makes both a valid token.
    assert accepted == [response.index(b"\x30\x03\x02\x01\x00") + 4]


@pytest.mark.parametrize("scheme", ["pkcs1", "pss"])
@pytest.mark.parametrize("ess", ["v1", "v2"])
def test_rsa_signatures_and_both_ess_versions(scheme: str, ess: str) -> None:
    rsa_pki = make_tsa_pki(rsa_tsa=True)
    response = forge_response(key=rsa_pki.tsa_key, cert=rsa_pki.tsa, digest=DIGEST, scheme=scheme, ess=ess)
    info = verify_timestamp(response, digest=DIGEST, trust_roots=[rsa_pki.root])
    assert info.signer_subject == rsa_pki.tsa.subject.rfc4514_string()


def forged_error(pki: TsaPki, *, roots: list[x509.Certificate] | None = None, **options: Any) -> str:
    options.setdefault("digest", DIGEST)
    options.setdefault("key", pki.tsa_key)
    options.setdefault("cert", pki.tsa)
    response = forge_response(**options)
    try:
        verify_timestamp(response, digest=DIGEST, trust_roots=roots or [pki.root])
    except NotaryError as exc:
        return exc.code
    return "valid"


def test_forged_tokens_fail_each_with_its_error(tsa_pki: TsaPki) -> None:
    _, other = issue(tsa_pki.root_key, tsa_pki.root, common_name="Other TSA")
    assert forged_error(tsa_pki) == "valid"
    assert forged_error(tsa_pki, ess="v1") == "valid"
    # Signed by one key, claiming another certificate throughout: the signature cannot verify.
    assert forged_error(tsa_pki, cert=other, embed=[other]) == TimestampSignatureInvalid.code
    assert forged_error(tsa_pki, ess_cert=other) == SigningCertificateMismatch.code
    assert forged_error(tsa_pki, ess=None) == SigningCertificateMismatch.code
    assert forged_error(tsa_pki, embed=[], sid_cert=other) == UntrustedTimestampChain.code
    assert forged_error(tsa_pki, signature_hash="sha1") == UnsupportedHashAlgorithm.code
    assert (
        forged_error(tsa_pki, imprint_algorithm="sha512", digest=bytes(64)) == UnsupportedHashAlgorithm.code
    )
    assert forged_error(tsa_pki, tsa_name=other.subject) == TsaNameMismatch.code
    assert forged_error(tsa_pki, tsa_name=tsa_pki.tsa.subject) == "valid"


def test_an_impostor_in_the_certificate_bag_changes_nothing(tsa_pki: TsaPki) -> None:
    # Same issuer and serial as the genuine TSA certificate, another key: the bag is unsigned.
    _, impostor = issue(tsa_pki.root_key, tsa_pki.root, serial_number=tsa_pki.tsa.serial_number)
    both = forge_response(key=tsa_pki.tsa_key, cert=tsa_pki.tsa, digest=DIGEST, embed=[impostor, tsa_pki.tsa])
    assert verify_timestamp(both, digest=DIGEST, trust_roots=[tsa_pki.root]).chain[0] == tsa_pki.tsa
    alone = forge_response(key=tsa_pki.tsa_key, cert=tsa_pki.tsa, digest=DIGEST, embed=[impostor])
    with pytest.raises(TimestampSignatureInvalid):
        verify_timestamp(alone, digest=DIGEST, trust_roots=[tsa_pki.root])


@pytest.mark.parametrize(
    ("certificate_options", "error"),
    [
        ({"eku_critical": False}, MissingTimestampingEKU),
        ({"eku": None}, MissingTimestampingEKU),
        (
            {"eku": [ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.CODE_SIGNING]},
            MissingTimestampingEKU,
        ),
        ({"digital_signature": False}, SignerKeyUsageInvalid),
    ],
    ids=["eku-not-critical", "no-eku", "eku-not-only-timestamping", "key-usage"],
)
def test_signer_certificate_must_be_fit_for_timestamping(
    tsa_pki: TsaPki, certificate_options: dict[str, Any], error: type[NotaryError]
) -> None:
    key, cert = issue(tsa_pki.root_key, tsa_pki.root, **certificate_options)
    assert forged_error(tsa_pki, key=key, cert=cert) == error.code


def test_validity_is_judged_at_gen_time(tsa_pki: TsaPki) -> None:
    key, cert = issue(
        tsa_pki.root_key,
        tsa_pki.root,
        not_before=NOW - dt.timedelta(days=30),
        not_after=NOW - dt.timedelta(days=10),
    )
    # Expired today, valid when it signed: the token stands.
    assert forged_error(tsa_pki, key=key, cert=cert, gen_time=NOW - dt.timedelta(days=20)) == "valid"
    for gen_time in (NOW - dt.timedelta(days=5), NOW - dt.timedelta(days=31)):
        assert (
            forged_error(tsa_pki, key=key, cert=cert, gen_time=gen_time) == CertificateExpiredAtGenTime.code
        )


def test_paths_through_intermediates(tsa_pki: TsaPki) -> None:
    ca_key, ca = issue(tsa_pki.root_key, tsa_pki.root, common_name="Intermediate", ca=True)
    key, cert = issue(ca_key, ca, common_name="Deep TSA")
    response = forge_response(key=key, cert=cert, digest=DIGEST, embed=[cert])
    with pytest.raises(UntrustedTimestampChain):
        verify_timestamp(response, digest=DIGEST, trust_roots=[tsa_pki.root])
    info = verify_timestamp(response, digest=DIGEST, trust_roots=[tsa_pki.root], intermediates=[ca])
    assert info.chain == (cert, ca, tsa_pki.root)
    embedded_both = forge_response(key=key, cert=cert, digest=DIGEST, embed=[ca, cert])
    assert verify_timestamp(embedded_both, digest=DIGEST, trust_roots=[tsa_pki.root]).chain == info.chain
    # An issuer that is not a CA cannot extend a path, whatever it signed.
    leaf_key, leaf_issuer = issue(tsa_pki.root_key, tsa_pki.root, common_name="Not A CA")
    key, cert = issue(leaf_key, leaf_issuer, common_name="Under A Leaf")
    response = forge_response(key=key, cert=cert, digest=DIGEST, embed=[cert, leaf_issuer])
    with pytest.raises(UntrustedTimestampChain, match="is not a CA"):
        verify_timestamp(response, digest=DIGEST, trust_roots=[tsa_pki.root])


def test_api_misuse_is_a_type_error(embedded: EmbeddedTSA, tsa_pki: TsaPki) -> None:
    response = embedded.stamp(DIGEST)
    with pytest.raises(TypeError):
        verify_timestamp(response, trust_roots=[tsa_pki.root])
    with pytest.raises(TypeError):
        verify_timestamp(response, digest=DIGEST, message=b"x", trust_roots=[tsa_pki.root])
    with pytest.raises(UnsupportedHashAlgorithm):
        verify_timestamp(response, digest=DIGEST, trust_roots=[tsa_pki.root], imprint_algorithms=["sha1"])


def test_verifier_imports_nothing_of_the_service() -> None:
    code = (
        "import sys, notary.verify.timestamp.verifier; "
        "service = ('flask', 'sqlalchemy', 'rfc3161ng', 'requests', 'notary.signing'); "
        "bad = [m for m in service if m in sys.modules]; "
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert result.stdout.strip() == ""
