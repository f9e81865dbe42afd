"""Reading another party's public routes over HTTP, bounded in size and time."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from notary.verify.errors import NotaryError

MAX_BYTES = 1 << 20


class Unreachable(NotaryError):
    """A source did not answer, or answered with an error status."""

    code = "source_unreachable"


def get(
    url: str, *, timeout: float = 10.0, limit: int = MAX_BYTES, headers: dict[str, str] | None = None
) -> bytes:
    """The body of ``GET url``; raises :class:`Unreachable` for anything but a 200."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - http(s) URLs from the operator
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            body: bytes = answer.read(limit + 1)
    except urllib.error.HTTPError as exc:
        with exc:
            raise Unreachable(
                f"{url} answered HTTP {exc.code}", details={"url": url, "status": exc.code}
            ) from exc
    except OSError as exc:
        raise Unreachable(f"{url} did not answer: {exc}", details={"url": url}) from exc
    if len(body) > limit:
        raise Unreachable(f"{url} sent more than {limit} bytes", details={"url": url})
    return body


def get_json(url: str, **kwargs: Any) -> Any:
    """``GET url`` as JSON; raises :class:`Unreachable` when it is not JSON."""
    body = get(url, **kwargs)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Unreachable(f"{url} did not answer JSON", details={"url": url}) from exc


def with_query(url: str, **params: Any) -> str:
    """``url`` with a query string."""
    return f"{url}?{urllib.parse.urlencode(params)}"
