"""The timestamp client: configuration, the requests it sends, and the answers it refuses."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from asn1crypto import tsp
from cryptography.hazmat.primitives import serialization

from notary.errors import TimestampUnavailable
from notary.signing.tsa import EmbeddedTSA
from notary.signing.tsa_client import (
    EMBEDDED,
    Authority,
    StampFailure,
    StampResult,
    TimestampClient,
    build_authorities,
    parse_tsa_urls,
    self_check,
)
from notary.verify.errors import MalformedInput
from notary.verify.timestamp.verifier import (
    MalformedTimestamp,
    NonceMismatch,
    TimestampRejected,
    UntrustedTimestampChain,
    verify_timestamp,
)
from tests.support.clock import suite_now
from tests.timestamp_pki import TsaPki, make_tsa_pki

DIGEST = hashlib.sha256(b"record bytes").digest()


@pytest.fixture(scope="module")
def own() -> TsaPki:
    return make_tsa_pki()


@pytest.fixture(scope="module")
def embedded(own: TsaPki) -> EmbeddedTSA:
    return EmbeddedTSA(own.tsa_key, own.tsa, [own.root], clock=suite_now)  # type: ignore[arg-type]


Answer = Callable[[bytes], tuple[int, bytes]]


class FakeAuthority:
    """An HTTP authority in a thread whose answer to each request the test decides."""

    def __init__(self, answer: Answer) -> None:
        self.requests: list[bytes] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append(body)
                fake.content_types.append(self.headers["Content-Type"])
                status, reply = answer(body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.content_types: list[str] = []
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def fake_authority() -> Iterator[Callable[[Answer], FakeAuthority]]:
    started: list[FakeAuthority] = []

    def start(answer: Answer) -> FakeAuthority:
        started.append(FakeAuthority(answer))
        return started[-1]

    yield start
    for fake in started:
        fake.close()


def test_parse_tsa_urls_keeps_order_and_refuses_nonsense() -> None:
    assert parse_tsa_urls("embedded") == [EMBEDDED]
    assert parse_tsa_urls(" https://a.example/tsa , embedded,http://b.example ") == [
        "https://a.example/tsa",
        EMBEDDED,
        "http://b.example",
    ]
    for spec in (
        "",
        " , ",
        "embedded,embedded",
        "ftp://tsa.example/",
        "file:///etc/passwd",
        "tsa.example",
        "https://",
    ):
        with pytest.raises(MalformedInput):
            parse_tsa_urls(spec)


def test_build_authorities(embedded: EmbeddedTSA, own: TsaPki) -> None:
    authorities = build_authorities(
        "https://tsa.example/,embedded", embedded=embedded, external_roots=[own.root]
    )
    assert [authority.name for authority in authorities] == ["https://tsa.example/", EMBEDDED]
    assert authorities[0].url == "https://tsa.example/"
    assert authorities[1].embedded is embedded
    assert authorities[1].trust_roots == (own.root,)
    with pytest.raises(MalformedInput, match="no key"):
        build_authorities("embedded", embedded=None)
    with pytest.raises(MalformedInput, match="no trust roots"):
        build_authorities("embedded,https://tsa.example/", embedded=embedded)


def test_embedded_only(embedded: EmbeddedTSA, own: TsaPki) -> None:
    nonces = iter([11, 12, 13])
    client = TimestampClient([Authority.local(embedded)], nonces=lambda: next(nonces))
    result = client.stamp_first(DIGEST)
    assert (result.authority, result.nonce, result.info.nonce) == (EMBEDDED, 11, 11)
    assert result.token == result.info.token
    verify_timestamp(result.response, digest=DIGEST, nonce=11, trust_roots=[own.root])
    assert [type(outcome) for outcome in client.stamp_all(DIGEST)] == [StampResult]
    assert client.stamp_with(EMBEDDED, DIGEST).nonce == 13
    with pytest.raises(KeyError):
        client.stamp_with("https://unknown.example/", DIGEST)
    with pytest.raises(MalformedInput):
        client.stamp_first(hashlib.sha1(b"x").digest())  # a wrong-length digest on purpose
    with pytest.raises(ValueError, match="at least one"):
        TimestampClient([])


def test_requests_are_sha256_with_nonce_and_cert_req(
    fake_authority: Callable[[Answer], FakeAuthority], embedded: EmbeddedTSA, own: TsaPki
) -> None:
    fake = fake_authority(lambda body: (200, embedded.respond(body)))
    client = TimestampClient([Authority.remote(fake.url, trust_roots=[own.root])])
    result = client.stamp_first(DIGEST)
    request = tsp.TimeStampReq.load(fake.requests[0]).native
    assert request["message_imprint"]["hash_algorithm"]["algorithm"] == "sha256"
    assert request["message_imprint"]["hashed_message"] == DIGEST
    assert request["nonce"] == result.nonce
    assert 0 <= result.nonce < 2**64
    assert request["cert_req"] is True
    assert fake.content_types == ["application/timestamp-query"]


def test_bad_answers_fail_over_to_the_next_authority(
    fake_authority: Callable[[Answer], FakeAuthority], embedded: EmbeddedTSA, own: TsaPki
) -> None:
    replayed = embedded.stamp(DIGEST, nonce=1)
    refused = embedded.respond(b"not a request")
    fakes = [
        fake_authority(lambda _: (200, replayed)),
        fake_authority(lambda _: (200, refused)),
        fake_authority(lambda _: (200, b"<html>gateway</html>")),
        fake_authority(lambda _: (503, b"")),
    ]
    authorities = [Authority.remote(fake.url, trust_roots=[own.root]) for fake in fakes]
    client = TimestampClient([*authorities, Authority.local(embedded)], nonces=lambda: 2)
    assert client.stamp_first(DIGEST).authority == EMBEDDED
    outcomes = client.stamp_all(DIGEST)
    errors = [outcome.error.code for outcome in outcomes if isinstance(outcome, StampFailure)]
    assert errors == [
        NonceMismatch.code,
        TimestampRejected.code,
        MalformedTimestamp.code,
        TimestampUnavailable.code,
    ]
    only_bad = TimestampClient(authorities, nonces=lambda: 2)
    with pytest.raises(TimestampUnavailable) as raised:
        only_bad.stamp_first(DIGEST)
    assert raised.value.details is not None
    assert [failure["code"] for failure in raised.value.details["failures"]] == errors


def test_the_embedded_authoritys_unchecked_tokens_say_what_a_verifier_reads(embedded, own):
    client = TimestampClient([Authority.local(embedded, check_own_tokens=False)])
    result = client.stamp_first(DIGEST)
    assert result.info is None  # taken as made, not verified again
    info = verify_timestamp(result.response, digest=DIGEST, nonce=result.nonce, trust_roots=[own.root])
    assert (result.gen_time, result.serial_number, result.token) == (
        info.gen_time,
        info.serial_number,
        info.token,
    )
    assert result.chain_pem.startswith(own.tsa.public_bytes(serialization.Encoding.PEM))


def test_self_check_passes_a_sound_authority():
    pki = make_tsa_pki()
    self_check(EmbeddedTSA(pki.tsa_key, pki.tsa, [pki.root], clock=suite_now))  # type: ignore[arg-type]


def test_self_check_refuses_an_authority_chained_to_another_root():
    pki, stranger = make_tsa_pki(), make_tsa_pki(common_name="Stranger Root")
    with pytest.raises(UntrustedTimestampChain):
        self_check(EmbeddedTSA(pki.tsa_key, pki.tsa, [stranger.root], clock=suite_now))  # type: ignore[arg-type]


def test_every_exchange_is_told_to_the_observer_with_its_authority_and_outcome(
    fake_authority: Callable[[Answer], FakeAuthority], embedded: EmbeddedTSA, own: TsaPki
) -> None:
    told: list[tuple[str, float, str | None]] = []
    down = fake_authority(lambda _: (503, b""))
    client = TimestampClient(
        [Authority.remote(down.url, trust_roots=[own.root]), Authority.local(embedded)],
        observe=lambda name, seconds, failure: told.append((name, seconds, failure)),
    )
    assert client.stamp_first(DIGEST).authority == EMBEDDED
    assert [(name, failure) for name, _, failure in told] == [
        (down.url, TimestampUnavailable.code),
        (EMBEDDED, None),
    ]
    assert all(seconds >= 0 for _, seconds, _ in told)
