"""The trust file of GET /trust: parsed strictly, keys trusted only for their tree sizes."""

from __future__ import annotations

import json

import pytest

from notary.verify.trust import MalformedTrustFile, TrustFile
from tests.support.evidence import SampleNotary, pem_chain


@pytest.fixture(scope="module")
def notary(tmp_path_factory):
    return SampleNotary.create(tmp_path_factory.mktemp("notary") / "keys")


@pytest.fixture
def document(notary):
    # The shape the service's /trust answers (notary/api/log.py trust_file).
    root = pem_chain([notary.keys.root_cert]).decode()
    return {
        "logs": [{"origin": notary.origin, "verifier_key": notary.signer.verifier_key, "from_size": 0}],
        "notary_roots_pem": [root],
        "tsa_roots_pem": [root],
    }


def test_a_round_one_trust_file_parses(document, notary):
    trust = TrustFile.from_json(json.dumps(document))
    assert trust.logs[0].key == notary.signer.verifier
    assert trust.logs[0].until_size is None
    assert trust.tsa_roots == (notary.keys.root_cert,)
    assert trust.origin == notary.origin
    assert trust.witness_policies == ()
    assert trust.to_dict() == {
        **document,
        "format": "notary-trust/2",
        "origin": notary.origin,
        "witness_policies": [],
    }


def test_a_version_two_trust_file_round_trips_with_old_origins_and_witnesses(document, notary):
    rotated = SampleNotary(notary.keys, "notary.test/contracts/v2")
    witness_key = _cosigner_key("witness.example/w1")
    v2 = {
        **document,
        "format": "notary-trust/2",
        "origin": rotated.origin,
        "logs": [
            {**document["logs"][0], "until_size": 7},
            {"origin": rotated.origin, "verifier_key": rotated.signer.verifier_key, "from_size": 7},
        ],
        "witness_policies": [
            {
                "from_size": 5,
                "k": 1,
                "witnesses": [{"name": "witness.example/w1", "cosigner_key": witness_key}],
            }
        ],
    }
    trust = TrustFile.from_json(json.dumps(v2))
    assert trust.origin == rotated.origin
    assert [log.covers(7) for log in trust.logs] == [True, True]  # both origins may sign the rotation size
    assert trust.witness_policies[0].covers(5)
    assert not trust.witness_policies[0].covers(4)
    assert trust.to_dict() == v2


def _cosigner_key(name: str) -> str:
    import base64
    import hashlib

    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    typed = b"\x04" + raw
    key_hash = hashlib.sha256(name.encode() + b"\n" + typed).digest()[:4].hex()
    return f"{name}+{key_hash}+{base64.b64encode(typed).decode()}"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(origin="elsewhere.example/log"), "origin must be one of the logs"),
        (lambda d: d.update(format="notary-trust/3"), "is not"),
        (lambda d: d.pop("witness_policies"), "exactly"),
        (lambda d: d.update(witness_policies=[{"from_size": 0, "k": 2, "witnesses": []}]), "non-empty"),
        (
            lambda d: d.update(
                witness_policies=[
                    {"from_size": 0, "k": 2, "witnesses": [{"name": "w", "cosigner_key": _cosigner_key("w")}]}
                ]
            ),
            "k must be",
        ),
        (
            lambda d: d.update(
                witness_policies=[
                    {"from_size": 0, "k": 1, "witnesses": [{"name": "w", "cosigner_key": "w+00000000+AQ=="}]}
                ]
            ),
            "cosigner key",
        ),
    ],
)
def test_a_version_two_trust_file_is_parsed_strictly(document, notary, change, match):
    v2 = {**document, "format": "notary-trust/2", "origin": notary.origin, "witness_policies": []}
    change(v2)
    with pytest.raises(MalformedTrustFile, match=match):
        TrustFile.from_json(json.dumps(v2))


def test_a_key_covers_its_sizes_inclusively(document):
    document["logs"][0].update(from_size=5, until_size=9)
    log = TrustFile.from_json(json.dumps(document)).logs[0]
    assert [size for size in range(12) if log.covers(size)] == [5, 6, 7, 8, 9]


def mangle(document, change):
    change(document)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(witnesses=[]), "exactly"),
        (lambda d: d.pop("tsa_roots_pem"), "exactly"),
        (lambda d: d.update(logs=[]), "non-empty"),
        (lambda d: d.update(tsa_roots_pem=[]), "non-empty"),
        (lambda d: d["logs"][0].update(extra=1), "optionally until_size"),
        (lambda d: d["logs"][0].pop("from_size"), "optionally until_size"),
        (lambda d: d["logs"][0].update(origin="other.example/log"), "not the origin"),
        (lambda d: d["logs"][0].update(verifier_key="nonsense"), "verifier_key"),
        (lambda d: d["logs"][0].update(from_size="0"), "from_size"),
        (lambda d: d["logs"][0].update(from_size=-1), "from_size"),
        (lambda d: d["logs"][0].update(from_size=4, until_size=3), "below"),
        (lambda d: d.update(notary_roots_pem=["hello"]), "one PEM certificate"),
        (lambda d: d.update(notary_roots_pem=[d["tsa_roots_pem"][0] * 2]), "exactly one"),
        (lambda d: d.update(notary_roots_pem=[d["tsa_roots_pem"][0].replace("M", "N", 3)]), "PEM|damaged"),
    ],
)
def test_malformed_trust_files_are_refused(document, change, match):
    with pytest.raises(MalformedTrustFile, match=match) as caught:
        TrustFile.from_json(mangle(document, change))
    assert caught.value.code == "malformed_trust_file"


@pytest.mark.parametrize("text", ["", "[]", '{"logs": 1, "logs": 2}', "{nope"])
def test_trust_files_that_are_not_json_objects(text):
    with pytest.raises(MalformedTrustFile):
        TrustFile.from_json(text)
