"""A key holder's client of the notary's API, for the commands a person runs on its own machine
(``notary login``, ``notary check``, ``notary report lodge``): the standard library only.

The key never leaves its folder: logging in signs the notary's challenge inside the login
payload (``docs/payloads.md``) and sends the signature.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from notary.cli.party_tools import PartyKey
from notary.verify import payloads
from notary.verify.encoding import b64encode
from notary.verify.errors import NotaryError

API_PREFIX = "/api/v1"
TIMEOUT = 30.0


class ApiUnreachable(NotaryError):
    """The notary could not be reached, or did not answer like the notary's API."""

    code = "api_unreachable"


class ApiRefused(NotaryError):
    """The notary answered with an error; ``code`` and ``message`` are the notary's own."""

    code = "api_refused"

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.status = status
        self.code = code


def api_base(url: str) -> str:
    """``http://host:port`` or ``http://host:port/api/v1`` as the API's base (no trailing slash).

    Raises :class:`ApiUnreachable` for anything but an http(s) URL.
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiUnreachable(f"--api takes the notary's address, e.g. http://127.0.0.1:8000 (not {url!r})")
    path = parts.path.rstrip("/")
    if not path.endswith(API_PREFIX):
        path += API_PREFIX
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True)
class NotaryApi:
    """The API at ``base``, as the holder of a party token (or as nobody)."""

    base: str
    token: str | None = None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        raw: bytes | None = None,
    ) -> Any:
        """The JSON answer of ``method path``; raises :class:`ApiRefused` with the notary's error,
        or :class:`ApiUnreachable`."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode("utf-8"))
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310 - api_base checked the scheme
        if data is not None:
            request.add_header("Content-Type", content_type)
        request.add_header("Accept", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:  # noqa: S310
                return _json(reply.read())
        except urllib.error.HTTPError as exc:
            answer = _json(exc.read(), strict=False)
            error = answer.get("error") if isinstance(answer, dict) else None
            if isinstance(error, dict) and isinstance(error.get("code"), str):
                raise ApiRefused(
                    exc.code, error["code"], str(error.get("message", "")), error.get("details")
                ) from exc
            raise ApiUnreachable(
                f"{self.base}{path} answered HTTP {exc.code} without a notary error"
            ) from exc
        except (OSError, ValueError) as exc:
            raise ApiUnreachable(f"cannot reach the notary at {self.base}: {exc}") from exc


def _json(data: bytes, *, strict: bool = True) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        if not strict:
            return None
        raise ApiUnreachable("the answer is not JSON: is --api the notary's address?") from exc


@dataclass(frozen=True)
class LoggedIn:
    token: str
    expires_at: str


def login(base: str, key: PartyKey) -> LoggedIn:
    """Log in with ``key``: a challenge, the key's signature over the login payload, a party token.

    Raises :class:`ApiRefused` (e.g. ``unauthenticated`` for a key no platform enrolled) or
    :class:`ApiUnreachable`.
    """
    api = NotaryApi(base)
    fingerprint = key.public.fingerprint
    challenge = api.call("POST", "/auth/challenge", {"key_fingerprint": fingerprint})["challenge_base64"]
    payload = payloads.login_payload(challenge_base64=challenge, key_fingerprint=fingerprint)
    answer = api.call(
        "POST",
        "/auth/token",
        {
            "key_fingerprint": fingerprint,
            "challenge_base64": challenge,
            "signature": b64encode(key.sign(payload)),
        },
    )
    return LoggedIn(answer["token"], answer["expires_at"])
