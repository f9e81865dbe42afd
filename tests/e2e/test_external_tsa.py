"""Failover between timestamp authorities, with a real second authority in another process.

The external authority is ``openssl ts -reply`` behind a small HTTP server
(``openssl_tsa_server.py``), with its own throwaway RSA root and TSA certificate: independent
of the embedded authority's code, keys and algorithms.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from notary.errors import TimestampUnavailable
from notary.signing.tsa import EmbeddedTSA
from notary.signing.tsa_client import EMBEDDED, Authority, StampFailure, StampResult, TimestampClient
from notary.verify.timestamp.verifier import UntrustedTimestampChain, verify_timestamp
from tests.support.clock import suite_now
from tests.support.external_tsa import ExternalTsa
from tests.support.server import free_port
from tests.timestamp_pki import OPENSSL, make_root, make_tsa_pki, openssl, pem

pytestmark = [
    pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed"),
    pytest.mark.wallclock,  # openssl's authority stamps with the machine clock
]

SERVER = Path(__file__).with_name("openssl_tsa_server.py")
EXTERNAL_POLICY = "1.3.6.1.4.1.99999.3161.1"
DIGEST = hashlib.sha256(b"checkpoint body\n").digest()


@pytest.fixture(scope="module")
def embedded() -> EmbeddedTSA:
    own = make_tsa_pki(common_name="Notary Root")
    return EmbeddedTSA(own.tsa_key, own.tsa, [own.root], clock=suite_now)  # type: ignore[arg-type]


def test_failover_across_a_dead_url_an_external_authority_and_the_embedded_one(
    external: ExternalTsa, embedded: EmbeddedTSA, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/tsa"
    remote = Authority.remote(external.url, trust_roots=[external.pki.root])
    client = TimestampClient(
        [Authority.remote(dead, trust_roots=[external.pki.root]), remote, Authority.local(embedded)],
        timeout=3,
    )

    first = client.stamp_first(DIGEST)
    assert first.authority == external.url
    info = verify_timestamp(first.response, digest=DIGEST, nonce=first.nonce, trust_roots=[external.pki.root])
    assert info.policy == EXTERNAL_POLICY
    assert info.signer_subject == external.pki.tsa.subject.rfc4514_string()
    assert first.chain_pem == pem(external.pki.tsa, external.pki.root)
    # The external token is not trusted under the notary's own root, and the other way round.
    with pytest.raises(UntrustedTimestampChain):
        verify_timestamp(first.response, digest=DIGEST, trust_roots=embedded.roots)
    (tmp_path / "reply.tsr").write_bytes(first.response)
    (tmp_path / "data").write_bytes(b"checkpoint body\n")
    assert (
        b"Verification: OK"
        in openssl(
            "ts",
            "-verify",
            "-data",
            tmp_path / "data",
            "-in",
            tmp_path / "reply.tsr",
            "-CAfile",
            external.root_pem,
        ).stdout
    )

    outcomes = client.stamp_all(DIGEST)
    assert [outcome.authority for outcome in outcomes] == [dead, external.url, EMBEDDED]
    assert isinstance(outcomes[0], StampFailure)
    assert outcomes[0].error.code == TimestampUnavailable.code
    assert all(isinstance(outcome, StampResult) for outcome in outcomes[1:])
    assert client.stamp_with(external.url, DIGEST).authority == external.url

    external.stop()
    assert client.stamp_first(DIGEST).authority == EMBEDDED
    outcomes = client.stamp_all(DIGEST)
    assert [type(outcome) for outcome in outcomes] == [StampFailure, StampFailure, StampResult]
    with pytest.raises(TimestampUnavailable):
        client.stamp_with(external.url, DIGEST)


def test_unavailable_when_the_only_authority_stops_and_back_when_it_returns(external: ExternalTsa) -> None:
    client = TimestampClient([Authority.remote(external.url, trust_roots=[external.pki.root])], timeout=3)
    assert client.stamp_first(DIGEST).authority == external.url
    external.stop()
    with pytest.raises(TimestampUnavailable) as raised:
        client.stamp_first(DIGEST)
    assert raised.value.details is not None
    assert [failure["authority"] for failure in raised.value.details["failures"]] == [external.url]
    external.start()  # the same port: the configured URL works again
    result = client.stamp_first(DIGEST)
    verify_timestamp(result.response, digest=DIGEST, nonce=result.nonce, trust_roots=[external.pki.root])


def test_an_authority_trusted_under_the_wrong_root_is_skipped(
    external: ExternalTsa, embedded: EmbeddedTSA
) -> None:
    stranger = make_root("Stranger")[1]
    client = TimestampClient(
        [Authority.remote(external.url, trust_roots=[stranger]), Authority.local(embedded)], timeout=3
    )
    outcomes = client.stamp_all(DIGEST)
    assert isinstance(outcomes[0], StampFailure)
    assert outcomes[0].error.code == UntrustedTimestampChain.code
    assert client.stamp_first(DIGEST).authority == EMBEDDED
