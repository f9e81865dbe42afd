"""The embedded timestamp authority: protocol, DER, and agreement with ``openssl ts``."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest
from asn1crypto import core, tsp
from cryptography.hazmat.primitives import hashes, serialization

from notary.signing import pki
from notary.signing.keystore import InstanceKeys, KeysUnusable
from notary.signing.tsa import EMBEDDED_TSA_POLICY_OID, NOTARY_OID_ARC, EmbeddedTSA, time_serial
from notary.verify.errors import MalformedInput
from notary.verify.timestamp.verifier import verify_timestamp
from tests.support.clock import suite_now
from tests.timestamp_pki import OPENSSL, VECTORS, issue, openssl, openssl_at_gen_time, pem

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")
NOW = suite_now()


@pytest.fixture(scope="module")
def keys() -> InstanceKeys:
    root_key = pki.new_key()
    root = pki.make_root(root_key, organisation="TSA Tests", now=NOW)
    tsa_key = pki.new_key()
    tsa_cert = pki.issue(
        root_key=root_key,
        root_cert=root,
        public_key=tsa_key.public_key(),
        common_name="TSA Tests Timestamp Authority",
        organisation="TSA Tests",
        purpose="timestamping",
        now=NOW,
    )
    return InstanceKeys(
        log_key=None,  # type: ignore[arg-type]  # only the TSA's keys are used here
        root_cert=root,
        tsa_key=tsa_key,
        tsa_cert=tsa_cert,
        notary_key=None,  # type: ignore[arg-type]
        notary_cert=None,  # type: ignore[arg-type]
        pii_encryption_key=b"",
        pii_lookup_key=b"",
    )


@pytest.fixture(scope="module")
def tsa(keys: InstanceKeys) -> EmbeddedTSA:
    return EmbeddedTSA.from_instance_keys(keys, clock=suite_now)


@pytest.fixture
def files(tmp_path: Path, keys: InstanceKeys) -> Path:
    (tmp_path / "root.pem").write_bytes(pem(keys.root_cert))
    (tmp_path / "tsa.pem").write_bytes(pem(keys.tsa_cert))
    return tmp_path


def tst_info(response: bytes) -> tsp.TSTInfo:
    resp = tsp.TimeStampResp.load(response, strict=True)
    return resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed


def status(response: bytes) -> tuple[str, set[str]]:
    # asn1crypto's TimeStampResp insists on a token, which refusals lack: read the parts.
    outer = core.Sequence.load(response, strict=True)
    info = tsp.PKIStatusInfo.load(outer[0].dump(), strict=True).native
    if info["status"] != "granted":
        assert len(outer) == 1, "a refusal carries no token"
    return info["status"], set(info["fail_info"] or ())


def test_stamp_is_strict_der_with_every_field(tsa: EmbeddedTSA, keys: InstanceKeys) -> None:
    digest = hashlib.sha256(b"record").digest()
    before = suite_now().replace(microsecond=0)
    response = tsa.stamp(digest, nonce=2**64 - 1)
    after = suite_now()

    parsed = tsp.TimeStampResp.load(response, strict=True)
    assert parsed.dump(force=True) == response  # re-encoding changes nothing: lengths and order are DER
    assert parsed["status"]["status"].native == "granted"
    info = tst_info(response).native
    assert info["policy"] == EMBEDDED_TSA_POLICY_OID
    assert EMBEDDED_TSA_POLICY_OID.startswith(NOTARY_OID_ARC + ".")
    assert info["message_imprint"] == {
        "hash_algorithm": {"algorithm": "sha256", "parameters": None},
        "hashed_message": digest,
    }
    assert info["nonce"] == 2**64 - 1
    assert info["accuracy"] == {"seconds": 1, "millis": None, "micros": None}
    assert info["ordering"] is False
    assert before <= info["gen_time"] <= after
    assert 0 < info["serial_number"] < 2**160
    assert info["tsa"] == {"organization_name": "TSA Tests", "common_name": "TSA Tests Timestamp Authority"}

    signed_data = parsed["time_stamp_token"]["content"]
    assert signed_data["version"].native == "v3"
    certs = [cert.chosen.dump() for cert in signed_data["certificates"]]
    assert certs == [keys.tsa_cert.public_bytes(serialization.Encoding.DER)]  # the root is the verifier's
    signer = signed_data["signer_infos"][0]
    assert signer["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    attrs = {attr["type"].native: attr["values"] for attr in signer["signed_attrs"]}
    assert set(attrs) == {"content_type", "message_digest", "signing_certificate_v2"}
    ess = attrs["signing_certificate_v2"][0]["certs"][0]
    assert ess["cert_hash"].native == keys.tsa_cert.fingerprint(hashes.SHA256())
    assert ess["issuer_serial"]["serial_number"].native == keys.tsa_cert.serial_number


def test_gen_time_has_millisecond_precision_in_der_form(keys: InstanceKeys) -> None:
    moments = iter(
        [
            dt.datetime(2030, 1, 2, 3, 4, 5, 120_999, tzinfo=dt.UTC),
            dt.datetime(2030, 1, 2, 3, 4, 5, 999, tzinfo=dt.UTC),
            dt.datetime(2030, 1, 2, 11, 4, 5, 7000, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        ]
    )
    tsa = EmbeddedTSA(keys.tsa_key, keys.tsa_cert, [keys.root_cert], clock=lambda: next(moments))
    raw = [bytes(tst_info(tsa.stamp(bytes(32)))["gen_time"].contents) for _ in range(3)]
    # DER: no trailing zeros in the fraction, no fraction at all for a whole second, always Z.
    assert raw == [b"20300102030405.12Z", b"20300102030405Z", b"20300102030405.007Z"]


def test_serials_are_unique_and_injectable(keys: InstanceKeys) -> None:
    first, second = (EmbeddedTSA.from_instance_keys(keys, clock=suite_now) for _ in range(2))
    serials = {tst_info(tsa.stamp(bytes(32)))["serial_number"].native for tsa in (first, second) * 100}
    assert len(serials) == 200
    assert len({time_serial() for _ in range(10_000)}) == 10_000
    assert time_serial() >> 64 <= dt.datetime.now(dt.UTC).timestamp() * 1e9 + 1e9
    fixed = EmbeddedTSA.from_instance_keys(keys, serials=lambda: 7, clock=suite_now)
    assert tst_info(fixed.stamp(bytes(32)))["serial_number"].native == 7


def test_options_accuracy_name_and_certificates(keys: InstanceKeys) -> None:
    tsa = EmbeddedTSA.from_instance_keys(
        keys, accuracy=dt.timedelta(milliseconds=1500), include_tsa_name=False, clock=suite_now
    )
    response = tsa.stamp(bytes(32), cert_req=False)
    info = tst_info(response).native
    assert info["accuracy"] == {"seconds": 1, "millis": 500, "micros": None}
    assert info["tsa"] is None
    assert info["nonce"] is None
    token = tsp.TimeStampResp.load(response)["time_stamp_token"]["content"]
    assert not token["certificates"]
    # Without embedded certificates a verifier finds the signer among those it is given.
    verify_timestamp(response, digest=bytes(32), trust_roots=[keys.root_cert], intermediates=[keys.tsa_cert])


def test_stamp_refuses_a_digest_that_is_not_sha256(tsa: EmbeddedTSA) -> None:
    with pytest.raises(MalformedInput):
        tsa.stamp(bytes(20))


def test_constructor_refuses_unfit_keys_and_certificates(keys: InstanceKeys) -> None:
    with pytest.raises(KeysUnusable, match="does not match"):
        EmbeddedTSA(pki.new_key(), keys.tsa_cert)
    root_key = pki.new_key()
    root = pki.make_root(root_key, organisation="Other", now=NOW)
    for options in ({"eku_critical": False}, {"eku": None}):
        key, cert = issue(root_key, root, **options)  # type: ignore[arg-type]
        with pytest.raises(KeysUnusable, match=r"timeStamping|extended key usage"):
            EmbeddedTSA(key, cert)  # type: ignore[arg-type]


def request(
    digest: bytes,
    *,
    algorithm: str = "sha256",
    nonce: int | None = None,
    policy: str | None = None,
    cert_req: bool = True,
    extensions: list[dict[str, object]] | None = None,
) -> bytes:
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    if extensions is not None:
        fields["extensions"] = extensions
    return bytes(tsp.TimeStampReq(fields).dump())


def test_respond_grants_sha256_requests(tsa: EmbeddedTSA, keys: InstanceKeys) -> None:
    digest = hashlib.sha256(b"x").digest()
    for req in (request(digest, nonce=-5), request(digest, nonce=1, policy=EMBEDDED_TSA_POLICY_OID)):
        response = tsa.respond(req)
        assert status(response) == ("granted", set())
        nonce = tsp.TimeStampReq.load(req)["nonce"].native
        verify_timestamp(response, digest=digest, nonce=nonce, trust_roots=[keys.root_cert])
    no_certs = tsa.respond(request(digest, cert_req=False))
    assert not tsp.TimeStampResp.load(no_certs)["time_stamp_token"]["content"]["certificates"]


@pytest.mark.parametrize(
    ("req", "fail_info"),
    [
        (request(bytes(20), algorithm="sha1"), "bad_alg"),
        (request(bytes(16), algorithm="md5"), "bad_alg"),
        (request(bytes(64), algorithm="sha512"), "bad_alg"),
        (request(bytes(20)), "bad_data_format"),
        (request(bytes(32), policy="1.2.3.4"), "unaccepted_policy"),
        (
            request(
                bytes(32), extensions=[{"extn_id": "1.2.3.4", "critical": False, "extn_value": b"\x05\x00"}]
            ),
            "unaccepted_extensions",
        ),
        (b"\x30\x03\x02\x01\x01", "bad_data_format"),
        (b"not DER at all", "bad_data_format"),
        (request(bytes(32)) + b"\x00", "bad_data_format"),
        (bytes(10_000), "bad_data_format"),
        (request(bytes(32)).replace(b"\x02\x01\x01", b"\x02\x01\x02", 1), "bad_data_format"),
    ],
    ids=[
        "sha1",
        "md5",
        "sha512",
        "short-imprint",
        "foreign-policy",
        "extension",
        "truncated",
        "garbage",
        "trailing-byte",
        "oversized",
        "version-2",
    ],
)
def test_respond_refuses_with_pki_status(tsa: EmbeddedTSA, req: bytes, fail_info: str) -> None:
    response = tsa.respond(req)
    assert status(response) == ("rejection", {fail_info})


def test_respond_rejects_third_party_sha512_requests(tsa: EmbeddedTSA) -> None:
    folder = VECTORS / "tsp" / "rfc3161-client" / "test_tsa"
    if not folder.is_dir():
        pytest.skip("published vectors (../shared/vectors) are not present")
    assert status(tsa.respond((folder / "request.der").read_bytes())) == ("rejection", {"bad_alg"})


def test_respond_echoes_null_hash_parameters(tsa: EmbeddedTSA, keys: InstanceKeys) -> None:
    # OpenSSL writes NULL parameters for SHA-256, RFC 5754 none; the imprint is echoed as sent.
    imprint = {
        "hash_algorithm": {"algorithm": "sha256", "parameters": core.Null()},
        "hashed_message": bytes(32),
    }
    req = bytes(tsp.TimeStampReq({"version": "v1", "message_imprint": imprint, "cert_req": True}).dump())
    assert bytes.fromhex("300d06096086480165030402010500") in req
    response = tsa.respond(req)
    echoed = tst_info(response)["message_imprint"]["hash_algorithm"]
    assert bytes(echoed.dump()) == bytes.fromhex("300d06096086480165030402010500")
    verify_timestamp(response, digest=bytes(32), trust_roots=[keys.root_cert])


@needs_openssl
def test_openssl_verifies_stamps_and_refuses_changes(tsa: EmbeddedTSA, files: Path) -> None:
    for index in range(4):
        message = f"record {index}".encode() * (index + 1)
        (files / "data").write_bytes(message)
        (files / "reply.tsr").write_bytes(tsa.stamp(hashlib.sha256(message).digest(), nonce=index))
        reply = (files / "reply.tsr").read_bytes()
        common = ["-in", files / "reply.tsr", "-CAfile", files / "root.pem", "-untrusted", files / "tsa.pem"]
        common += openssl_at_gen_time(reply)
        assert b"Verification: OK" in openssl("ts", "-verify", "-data", files / "data", *common).stdout
    (files / "data").write_bytes(message + b".")
    assert openssl("ts", "-verify", "-data", files / "data", *common, check=False).returncode != 0
    other_key = pki.new_key()
    other_root = pki.make_root(other_key, organisation="Stranger", now=NOW)
    (files / "other-root.pem").write_bytes(pem(other_root))
    (files / "data").write_bytes(message)
    wrong_root = [
        "-in",
        files / "reply.tsr",
        "-CAfile",
        files / "other-root.pem",
        "-untrusted",
        files / "tsa.pem",
        *openssl_at_gen_time(reply),
    ]
    assert openssl("ts", "-verify", "-data", files / "data", *wrong_root, check=False).returncode != 0


@needs_openssl
def test_openssl_query_is_answered_and_nonce_checked(tsa: EmbeddedTSA, files: Path) -> None:
    (files / "data").write_bytes(b"a checkpoint body\n")
    for name in ("query.tsq", "other.tsq"):
        openssl("ts", "-query", "-data", files / "data", "-sha256", "-cert", "-out", files / name)
    (files / "reply.tsr").write_bytes(tsa.respond((files / "query.tsq").read_bytes()))
    text = openssl("ts", "-reply", "-in", files / "reply.tsr", "-text").stdout.decode()
    assert "Status: Granted." in text
    assert EMBEDDED_TSA_POLICY_OID in text
    assert re.search(r"Time stamp: .* \d\d:\d\d:\d\d(\.\d{1,3})? \d{4} GMT", text)
    common = ["-in", files / "reply.tsr", "-CAfile", files / "root.pem"]
    common += openssl_at_gen_time((files / "reply.tsr").read_bytes())
    assert b"Verification: OK" in openssl("ts", "-verify", "-queryfile", files / "query.tsq", *common).stdout
    # Same data, another nonce: openssl compares the nonce of the query with the token's.
    refused = openssl("ts", "-verify", "-queryfile", files / "other.tsq", *common, check=False)
    assert refused.returncode != 0
    assert b"nonce mismatch" in refused.stderr


@needs_openssl
def test_openssl_reads_refusals(tsa: EmbeddedTSA, files: Path) -> None:
    (files / "data").write_bytes(b"x")
    openssl("ts", "-query", "-data", files / "data", "-sha1", "-out", files / "sha1.tsq")
    (files / "refused.tsr").write_bytes(tsa.respond((files / "sha1.tsq").read_bytes()))
    text = openssl("ts", "-reply", "-in", files / "refused.tsr", "-text").stdout.decode()
    assert "Status: Rejected." in text
    assert "unrecognized or unsupported algorithm identifier" in text
    (files / "garbage.tsr").write_bytes(tsa.respond(b"garbage"))
    text = openssl("ts", "-reply", "-in", files / "garbage.tsr", "-text").stdout.decode()
    assert "Status: Rejected." in text
    assert "the data submitted has the wrong format" in text
