"""The rate limits' counters: the SQLite file of their own (the embedded default) and Redis
(the production option, a real redis-server), counted by several processes at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from notary.errors import RateLimited
from notary.services.rate_limits import RateLimits, address_key, token_key
from notary.storage.rate_counters import SQLiteCounters, counter_storage
from tests.support.redis import redis_server


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_counts_then_starts_again_when_it_ends(tmp_path: Path) -> None:
    clock = Clock()
    counters = SQLiteCounters(f"sqlite:///{tmp_path / 'c.sqlite'}", now=clock)
    assert [counters.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert counters.incr("k", 60, amount=5) == 8
    assert counters.get("k") == 8
    assert counters.get_expiry("k") == clock.now + 60
    clock.now += 59.9
    assert counters.get("k") == 8
    clock.now += 0.1
    assert counters.get("k") == 0
    assert counters.incr("k", 60) == 1
    assert counters.get_expiry("k") == clock.now + 60
    counters.clear("k")
    assert counters.get("k") == 0
    counters.incr("a", 60)
    counters.incr("b", 60)
    assert counters.reset() == 2
    assert counters.check()


def test_a_refusal_names_its_limit_and_when_to_come_back(tmp_path: Path) -> None:
    clock = Clock()
    limits = RateLimits(
        SQLiteCounters(f"sqlite:///{tmp_path / 'c.sqlite'}", now=clock), {"login": "2/minute"}, now=clock
    )
    client = address_key("192.0.2.1")
    limits.hit("login", client)
    clock.now += 20
    limits.hit("login", client)
    with pytest.raises(RateLimited) as refused:
        limits.hit("login", client)
    assert refused.value.retry_after == 40
    assert refused.value.details == {
        "rule": "login",
        "limit": "2 per 1 minute",
        "per": "address",
        "retry_after": 40,
    }
    limits.hit("login", address_key("192.0.2.2"))  # another client
    limits.hit("verify", client)  # a rule without limits
    clock.now += 40
    limits.hit("login", client)


def test_clients_are_addresses_ipv6_networks_or_token_hashes() -> None:
    assert address_key("192.0.2.1") == "address:192.0.2.1"
    assert address_key("::ffff:192.0.2.1") == "address:192.0.2.1"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key(None) == "address:unknown"
    key = token_key("ntp_secret")
    assert "secret" not in key
    assert key == token_key("ntp_secret") != token_key("ntp_other")


def _count(uri: str, key: str, times: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    storage = counter_storage(uri)
    results.put([storage.incr(key, 600) for _ in range(times)])


def _count_from_processes(uri: str, processes: int = 4, times: int = 150) -> list[int]:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_count, args=(uri, "shared", times, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    counted = [value for _ in workers for value in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=60)
    return counted


def test_processes_share_the_sqlite_counters(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'ratelimits.sqlite'}"
    counted = _count_from_processes(uri)
    # Every increment was seen once by one process: no count lost, none given twice.
    assert sorted(counted) == list(range(1, 601))
    assert counter_storage(uri).get("shared") == 600


def test_processes_share_the_redis_counters() -> None:
    with redis_server() as uri:
        counted = _count_from_processes(uri)
        assert sorted(counted) == list(range(1, 601))
        assert counter_storage(uri).get("shared") == 600


def test_only_shared_storages_are_built() -> None:
    for uri in ("memory://", "memcached://localhost:11211", "sqlite:relative.sqlite"):
        with pytest.raises(ValueError):
            counter_storage(uri)
