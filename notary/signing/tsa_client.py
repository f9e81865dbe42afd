"""Getting tokens from timestamp authorities: the embedded one in process, others over HTTP.

Requests are built with ``rfc3161ng`` (SHA-256 imprint passed as ``digest=``: its ``data=``
path would put a SHA-1 digest under the SHA-256 OID), always with a fresh 64-bit nonce and
certReq true. Answers are never trusted as they come: each must verify with
:func:`notary.verify.timestamp.verifier.verify_timestamp` against the authority's trust roots, for
our digest and our nonce, before it counts. ``rfc3161ng.check_timestamp`` is not used: it
knows RSA only and ignores certificate chains.

A record needs one token, from the first authority that answers (:meth:`stamp_first`); a
checkpoint wants one from each (:meth:`stamp_all`), and a missing one is retried later with
:meth:`stamp_with`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import http.client
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import rfc3161ng
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from notary.errors import TimestampUnavailable
from notary.signing.tsa import EmbeddedTSA
from notary.verify.errors import MalformedInput, NotaryError
from notary.verify.timestamp.verifier import TimestampInfo, verify_timestamp

__all__ = [
    "EMBEDDED",
    "Authority",
    "StampFailure",
    "StampResult",
    "TimestampClient",
    "build_authorities",
    "parse_tsa_urls",
    "self_check",
]

EMBEDDED = "embedded"
MAX_RESPONSE_BYTES = 1 << 20
_SHA256_SIZE = 32


@dataclass(frozen=True)
class Authority:
    """One timestamp authority and what it takes to trust its tokens."""

    name: str
    trust_roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    url: str | None = None
    embedded: EmbeddedTSA | None = None
    check_own_tokens: bool = True

    @classmethod
    def local(cls, tsa: EmbeddedTSA, *, check_own_tokens: bool = True) -> Authority:
        """The embedded authority, trusted through the root at the end of its chain.

        With ``check_own_tokens=False`` the tokens it makes in this process are taken without
        verifying them again: they were just signed here, with a key and certificate that the
        authority checked when it was built and that :func:`self_check` proves once. Verifying
        each one would cost several times what making it does. Tokens from every other
        authority are always verified.

        Raises ``ValueError`` when ``tsa.chain`` holds no root: its tokens could not be checked.
        """
        if not tsa.roots:
            raise ValueError("the embedded authority's chain must end with its root certificate")
        intermediates = tuple(cert for cert in tsa.chain if cert not in tsa.roots)
        return cls(
            name=EMBEDDED,
            trust_roots=tsa.roots,
            intermediates=intermediates,
            embedded=tsa,
            check_own_tokens=check_own_tokens,
        )

    @classmethod
    def remote(
        cls,
        url: str,
        *,
        trust_roots: Sequence[x509.Certificate],
        intermediates: Sequence[x509.Certificate] = (),
    ) -> Authority:
        """An authority reached by HTTP POST; raises :class:`MalformedInput` for a bad URL."""
        return cls(
            name=_check_url(url), trust_roots=tuple(trust_roots), intermediates=tuple(intermediates), url=url
        )


@dataclass(frozen=True)
class StampResult:
    """A token to keep: ``response`` is the TimeStampResp DER as the authority sent it.

    ``chain_pem`` is the signer's certificate and its issuers up to the trusted root. ``info``
    is the verifier's reading of the token (``None`` for the embedded authority's own tokens
    when they are not checked again; see :meth:`Authority.local`).
    """

    authority: str
    response: bytes
    token: bytes
    gen_time: dt.datetime
    serial_number: int
    chain_pem: bytes
    nonce: int
    seconds: float
    info: TimestampInfo | None = None


@dataclass(frozen=True)
class StampFailure:
    """An authority that gave no usable token; ``error.code`` says why."""

    authority: str
    error: NotaryError
    seconds: float = 0.0


def _check_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise MalformedInput(f"a timestamp authority URL must be http(s)://host/...: {url!r}")
    return url


def parse_tsa_urls(spec: str) -> list[str]:
    """Split a ``NOTARY_TSA_URLS`` value (``"embedded,https://tsa.example/"``) into names.

    Order is kept (it is the failover order). Raises :class:`MalformedInput` for an empty
    list, a duplicate, or an entry that is neither ``embedded`` nor an http(s) URL.
    """
    names = [item.strip() for item in spec.split(",") if item.strip()]
    if not names:
        raise MalformedInput("no timestamp authority configured")
    checked = [name if name == EMBEDDED else _check_url(name) for name in names]
    if len(set(checked)) != len(checked):
        raise MalformedInput("a timestamp authority is listed twice")
    return checked


def build_authorities(
    spec: str,
    *,
    embedded: EmbeddedTSA | None,
    external_roots: Sequence[x509.Certificate] = (),
    external_intermediates: Sequence[x509.Certificate] = (),
    check_own_tokens: bool = True,
) -> list[Authority]:
    """The authorities named by ``spec``, in order; external ones trust ``external_roots``.

    Raises :class:`MalformedInput` when ``spec`` is bad, names ``embedded`` without one, or
    names a URL while no external trust root is given (its tokens could never be checked).
    """
    authorities = []
    for name in parse_tsa_urls(spec):
        if name == EMBEDDED:
            if embedded is None:
                raise MalformedInput("the embedded timestamp authority is configured but has no key")
            authorities.append(Authority.local(embedded, check_own_tokens=check_own_tokens))
        elif not external_roots:
            raise MalformedInput(f"no trust roots for the timestamp authority {name}")
        else:
            authorities.append(
                Authority.remote(name, trust_roots=external_roots, intermediates=external_intermediates)
            )
    return authorities


def _random_nonce() -> int:
    return secrets.randbits(64)


class TimestampClient:
    """Stamps SHA-256 digests with an ordered list of authorities.

    ``timeout`` bounds each HTTP exchange (seconds, per socket operation). ``nonces`` gives
    the nonce of each request (64 random bits by default). ``observe`` is told of every
    exchange: the authority's name, the seconds it took and the failure's code (``None`` when
    a token came back); the service counts them for its metrics.
    """

    def __init__(
        self,
        authorities: Sequence[Authority],
        *,
        timeout: float = 5.0,
        nonces: Callable[[], int] = _random_nonce,
        observe: Callable[[str, float, str | None], None] | None = None,
    ) -> None:
        if not authorities:
            raise ValueError("a timestamp client needs at least one authority")
        names = [authority.name for authority in authorities]
        if len(set(names)) != len(names):
            raise ValueError("authority names must be unique")
        self.authorities = tuple(authorities)
        self.timeout = timeout
        self._nonces = nonces
        self._observe = observe

    def stamp_first(self, digest: bytes) -> StampResult:
        """A verified token from the first authority, in order, that gives one.

        Raises :class:`MalformedInput` when ``digest`` is not 32 bytes and
        :class:`~notary.errors.TimestampUnavailable` (details: each failure) when none does.
        """
        _check_digest(digest)
        failures: list[StampFailure] = []
        for authority in self.authorities:
            outcome = self._attempt(authority, digest)
            if isinstance(outcome, StampResult):
                return outcome
            failures.append(outcome)
        raise _unavailable(failures)

    def stamp_all(self, digest: bytes) -> list[StampResult | StampFailure]:
        """One outcome per authority, in configured order; asks them concurrently.

        Never raises for an authority's failure: it is a :class:`StampFailure` in the list.
        Raises :class:`MalformedInput` when ``digest`` is not 32 bytes.
        """
        _check_digest(digest)
        if len(self.authorities) == 1:
            return [self._attempt(self.authorities[0], digest)]
        with ThreadPoolExecutor(max_workers=len(self.authorities)) as pool:
            return list(pool.map(lambda authority: self._attempt(authority, digest), self.authorities))

    def stamp_with(self, name: str, digest: bytes) -> StampResult:
        """A verified token from the authority called ``name`` (a retry for a checkpoint).

        Raises :class:`KeyError` for an unknown name, :class:`MalformedInput` for a bad
        digest and :class:`~notary.errors.TimestampUnavailable` when it gives none.
        """
        _check_digest(digest)
        authority = next((each for each in self.authorities if each.name == name), None)
        if authority is None:
            raise KeyError(name)
        outcome = self._attempt(authority, digest)
        if isinstance(outcome, StampFailure):
            raise _unavailable([outcome])
        return outcome

    def _attempt(self, authority: Authority, digest: bytes) -> StampResult | StampFailure:
        outcome = self._exchange(authority, digest)
        if self._observe is not None:
            failed = outcome.error.code if isinstance(outcome, StampFailure) else None
            self._observe(authority.name, outcome.seconds, failed)
        return outcome

    def _exchange(self, authority: Authority, digest: bytes) -> StampResult | StampFailure:
        nonce = self._nonces()
        started = time.perf_counter()
        try:
            if authority.embedded is not None and not authority.check_own_tokens:
                issued = authority.embedded.issue(digest, nonce=nonce, cert_req=True)
                return StampResult(
                    authority.name,
                    issued.response,
                    issued.token,
                    issued.gen_time,
                    issued.serial_number,
                    _chain_pem(authority),
                    nonce,
                    time.perf_counter() - started,
                )
            if authority.embedded is not None:
                response = authority.embedded.stamp(digest, nonce=nonce, cert_req=True)
            else:
                response = self._post(authority, digest, nonce)
            info = verify_timestamp(
                response,
                digest=digest,
                nonce=nonce,
                trust_roots=authority.trust_roots,
                intermediates=authority.intermediates,
            )
        except NotaryError as exc:
            return StampFailure(authority.name, exc, time.perf_counter() - started)
        return StampResult(
            authority.name,
            response,
            info.token,
            info.gen_time,
            info.serial_number,
            info.chain_pem,
            nonce,
            time.perf_counter() - started,
            info,
        )

    def _post(self, authority: Authority, digest: bytes, nonce: int) -> bytes:
        assert authority.url is not None
        request = rfc3161ng.make_timestamp_request(
            digest=digest, hashname="sha256", include_tsa_certificate=True, nonce=nonce
        )
        http_request = urllib.request.Request(  # noqa: S310 - the scheme was checked in Authority.remote
            authority.url,
            data=bytes(rfc3161ng.encode_timestamp_request(request)),
            headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as reply:  # noqa: S310
                body: bytes = reply.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the connection open
            raise TimestampUnavailable(
                f"{authority.name} answered HTTP {exc.code}", details={"authority": authority.name}
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            # URLError, timeouts and refused connections are all OSErrors.
            raise TimestampUnavailable(
                f"{authority.name} did not answer: {exc}", details={"authority": authority.name}
            ) from exc
        if len(body) > MAX_RESPONSE_BYTES:
            raise TimestampUnavailable(f"{authority.name} sent an oversized answer")
        return body


@functools.lru_cache(maxsize=16)
def _chain_pem(authority: Authority) -> bytes:
    assert authority.embedded is not None
    return b"".join(
        cert.public_bytes(serialization.Encoding.PEM)
        for cert in (authority.embedded.certificate, *authority.embedded.chain)
    )


def self_check(tsa: EmbeddedTSA) -> None:
    """Make one token and verify it fully, as any verifier would; raises if it does not verify.

    Run once before trusting the embedded authority's own tokens unchecked.
    """
    digest = hashlib.sha256(b"notary embedded authority self-check").digest()
    nonce = _random_nonce()
    verify_timestamp(
        tsa.stamp(digest, nonce=nonce),
        digest=digest,
        nonce=nonce,
        trust_roots=tsa.roots,
        intermediates=[cert for cert in tsa.chain if cert not in tsa.roots],
    )


def _check_digest(digest: bytes) -> None:
    if not isinstance(digest, bytes) or len(digest) != _SHA256_SIZE:
        raise MalformedInput("a timestamp imprint must be a 32-byte SHA-256 digest")


def _unavailable(failures: list[StampFailure]) -> TimestampUnavailable:
    summary: list[dict[str, Any]] = [
        {"authority": failure.authority, "code": failure.error.code, "message": failure.error.message}
        for failure in failures
    ]
    reasons = "; ".join(f"{item['authority']}: {item['code']}" for item in summary)
    return TimestampUnavailable(
        f"no timestamp authority gave a valid token ({reasons})", details={"failures": summary}
    )
