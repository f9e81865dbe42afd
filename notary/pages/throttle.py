"""A small per-client limit on the signed reports: each one costs a signature and a timestamp.

Per process, in memory, keyed by the client's address: enough to stop one client from making
the notary sign in a loop. The service-wide limiter of issue 20 (shared across processes)
replaces it; until then a deployment with N processes allows N times the rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from notary.errors import NotaryError


class RateLimited(NotaryError):
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many signed reports from this address; wait and try again")
        self.retry_after = retry_after


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one event for ``key``; raises :class:`RateLimited` when over the limit."""
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                raise RateLimited(int(events[0] + self.window - now) + 1)
            events.append(now)
            if len(self._events) > 10_000:  # forget idle clients rather than grow without bound
                for idle in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
                    del self._events[idle]
