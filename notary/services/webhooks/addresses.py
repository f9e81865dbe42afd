"""Where a webhook may go: public addresses over HTTPS, nothing inside the notary's network.

A platform chooses the URL, so without these rules it could make the notary's worker call its
own private network, a cloud metadata service or itself (server-side request forgery). The
rules are checked when an endpoint is registered or changed, and again at every delivery
attempt: the name is resolved once per attempt, every address it resolves to is checked, and
the connection goes to an address that was checked (never a second lookup, which a DNS
rebinding attack would answer differently).

Refused: every address that is not globally routable (private, loopback, link-local, shared
100.64/10, documentation, reserved, unspecified), multicast, and IPv6 forms that carry such an
IPv4 address (mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo).
Cloud metadata addresses are refused always. An operator may allow networks
(``NOTARY_UNSAFE_WEBHOOK_NETWORKS``) and, for development and tests, plain ``http://`` to
loopback (``NOTARY_UNSAFE_WEBHOOK_LOOPBACK``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from notary.errors import Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[Any]]
"""``socket.getaddrinfo``'s signature; tests pass their own to play a rebinding DNS server."""

MAX_URL_LENGTH = 2048

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class BadWebhookUrl(Unprocessable):
    """A URL that cannot be a webhook endpoint (scheme, form, credentials, length)."""

    code = "bad_webhook_url"


class RefusedAddress(Unprocessable):
    """The URL's host is, or resolves to, an address webhooks may not go to."""

    code = "refused_address"


class Unresolvable(Unprocessable):
    """The URL's host name does not resolve."""

    code = "unresolvable_host"


@dataclass(frozen=True)
class Target:
    """A checked URL, split as a connection needs it."""

    url: str
    scheme: str
    host: str
    port: int
    path: str


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, NAT64, 6to4), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class AddressPolicy:
    """The rules above, with the operator's exceptions. ``resolver`` is ``socket.getaddrinfo``."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        allowed_networks: Sequence[str] = (),
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self.allow_loopback = allow_loopback
        try:
            self.allowed_networks = [ipaddress.ip_network(text, strict=False) for text in allowed_networks]
        except ValueError as exc:
            raise ValueError(f"unsafe_webhook_networks: {exc}") from exc
        if allow_loopback:
            self.allowed_networks.extend(_LOOPBACK)
        self.resolver = resolver

    def check_url(self, url: str) -> Target:
        """The URL split into its parts; raises :class:`BadWebhookUrl` for anything but an
        ``https://`` URL with a host (``http://`` too with loopback allowed), no credentials
        and no fragment, of at most 2048 characters."""
        if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
            raise BadWebhookUrl(f"a webhook URL is 1 to {MAX_URL_LENGTH} characters")
        if not url.isascii() or any(char.isspace() or not char.isprintable() for char in url):
            raise BadWebhookUrl("a webhook URL is printable ASCII without spaces (encode the rest)")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise BadWebhookUrl(f"not a URL: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme != "https" and not (scheme == "http" and self.allow_loopback):
            raise BadWebhookUrl("webhook URLs must start with https://")
        if parts.username is not None or parts.password is not None:
            raise BadWebhookUrl("a webhook URL may not carry credentials (user:password@)")
        if parts.fragment:
            raise BadWebhookUrl("a webhook URL has no #fragment")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise BadWebhookUrl("a webhook URL needs a host")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return Target(url, scheme, host, port or (443 if scheme == "https" else 80), path)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused, or None when a webhook may go there."""
        if address in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if any(address in network for network in self.allowed_networks):
            return None
        embedded = _embedded_ipv4(address)
        if embedded is not None and embedded != address:
            reason = self.refusal(embedded)
            return f"an IPv6 form of {reason}" if reason else None
        if isinstance(address, ipaddress.IPv6Address) and address.teredo is not None:
            return "a Teredo address"
        if address.is_multicast:
            return "a multicast address"
        if address.is_loopback:
            return "a loopback address"
        if address.is_link_local:
            return "a link-local address"
        if not address.is_global:
            return "a private or reserved address"
        return None

    def resolve(self, target: Target) -> list[IPAddress]:
        """Every address ``target``'s host resolves to, each allowed, in the resolver's order.

        Raises :class:`Unresolvable` when the name does not resolve, and
        :class:`RefusedAddress` when any address is refused (a name that also points inside
        is not trusted with the others), or when plain ``http://`` would leave loopback.
        """
        try:
            literal: IPAddress | None = ipaddress.ip_address(target.host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = self.resolver(target.host, target.port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise Unresolvable(f"{target.host} does not resolve") from exc
            addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
            if not addresses:
                raise Unresolvable(f"{target.host} does not resolve")
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                # The reason, not the address: a platform may not map the notary's own
                # network by registering names that only resolve inside it.
                verb = "is" if literal is not None else "leads to"
                raise RefusedAddress(f"{target.host} {verb} {reason}: webhooks go to public addresses only")
            if target.scheme == "http" and not any(address in network for network in _LOOPBACK):
                raise BadWebhookUrl("plain http:// is allowed to loopback only; use https://")
        return addresses
