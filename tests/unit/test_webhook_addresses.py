"""Where a webhook may go: the address rules against server-side request forgery, with the
production defaults (https, public addresses) and the operator's exceptions."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from notary.services.webhooks.addresses import AddressPolicy, BadWebhookUrl, RefusedAddress, Unresolvable


def resolving_to(*addresses):
    calls = []

    def resolver(host, port, **_):
        calls.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    resolver.calls = calls
    return resolver


REFUSED = [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.8.8.8", "0.0.0.0", "169.254.10.10",
    "169.254.169.254", "169.254.170.2", "169.254.0.23", "100.100.100.200", "100.64.0.1",
    "192.0.2.10", "198.18.0.1", "240.0.0.1", "255.255.255.255", "224.0.0.1", "239.1.2.3",
    "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "2001:db8::1",
    "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "2002:a00:1::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]  # fmt: skip
ALLOWED = ["8.8.8.8", "1.1.1.1", "203.0.114.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused(address):
    policy = AddressPolicy()
    assert policy.refusal(ipaddress.ip_address(address)) is not None
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(RefusedAddress):
        policy.resolve(policy.check_url(f"https://{literal}/hook"))
    with pytest.raises(RefusedAddress):
        AddressPolicy(resolver=resolving_to(address)).resolve(policy.check_url("https://hooks.example.com/"))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    policy = AddressPolicy(resolver=resolving_to(address))
    target = policy.check_url("https://hooks.example.com:8443/notary?key=1")
    assert (target.host, target.port, target.path) == ("hooks.example.com", 8443, "/notary?key=1")
    assert policy.resolve(target) == [ipaddress.ip_address(address)]


def test_one_internal_address_refuses_the_whole_name():
    policy = AddressPolicy(resolver=resolving_to("8.8.8.8", "10.0.0.1"))
    with pytest.raises(RefusedAddress) as refused:
        policy.resolve(policy.check_url("https://hooks.example.com/"))
    # The reason only: registering names must not map the network the notary sits in.
    assert refused.value.message == (
        "hooks.example.com leads to a private or reserved address: webhooks go to public addresses only"
    )
    assert "10.0.0.1" not in str(refused.value.details)


def test_an_operator_may_allow_networks_but_never_metadata():
    policy = AddressPolicy(allowed_networks=["10.20.0.0/16", "169.254.0.0/16"])
    assert policy.refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("10.21.3.4")) is not None
    assert policy.refusal(ipaddress.ip_address("169.254.1.1")) is None
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"
    with pytest.raises(ValueError, match="unsafe_webhook_networks"):
        AddressPolicy(allowed_networks=["10.0.0.0/33"])


def test_plain_http_only_to_loopback_and_only_when_allowed():
    production = AddressPolicy()
    with pytest.raises(BadWebhookUrl, match="https://"):
        production.check_url("http://127.0.0.1:8000/hook")
    with pytest.raises(RefusedAddress):
        production.resolve(production.check_url("https://127.0.0.1/hook"))
    development = AddressPolicy(allow_loopback=True, resolver=resolving_to("8.8.8.8"))
    assert development.resolve(development.check_url("http://127.0.0.1:8000/hook")) == [
        ipaddress.ip_address("127.0.0.1")
    ]
    assert development.resolve(development.check_url("http://[::1]:8000/")) == [ipaddress.ip_address("::1")]
    with pytest.raises(BadWebhookUrl, match="loopback only"):
        development.resolve(development.check_url("http://hooks.example.com/"))
    with pytest.raises(RefusedAddress):
        development.resolve(development.check_url("https://10.0.0.1/"))


@pytest.mark.parametrize(
    "url",
    [
        "", "hooks.example.com/notary", "ftp://hooks.example.com/", "https://", "https:///path",
        "https://user@hooks.example.com/", "https://u:p@hooks.example.com/", "https://hooks.example.com/#x",
        "https://hooks.example.com:99999/", "https://hooks.example.com/ a", "https://hooks.例子.com/",
        "https://hooks.example.com/\n", "https://" + "a" * 2048 + ".com/",
    ],
)  # fmt: skip
def test_malformed_urls_are_refused(url):
    with pytest.raises(BadWebhookUrl):
        AddressPolicy().check_url(url)


def test_a_name_that_does_not_resolve():
    def failing(host, port, **_):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    policy = AddressPolicy(resolver=failing)
    with pytest.raises(Unresolvable, match="does not resolve"):
        policy.resolve(policy.check_url("https://nowhere.example/"))
