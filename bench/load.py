"""The load generator: HTTP clients on threads, and a meter of where the CPU went.

Each client thread keeps its own ``http.client`` connection (HTTP/1.1 keep-alive where the
server allows it; gunicorn's sync workers close after each answer, and the connection then
reopens on the next request). Threads share one process, so the clients' whole CPU cost is
this process's CPU time, which :class:`Meter` reports beside the service's and the machine's:
on a 2-core machine a load generator that takes a core away from the server would measure
itself, not the server.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import procs


class RequestFailed(RuntimeError):
    """An answer with an unexpected status (the message holds the start of its body)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One client's connection to the service; reopens when the server closed it, and before
    reusing one idle for longer than ``IDLE_REOPEN_S`` (gunicorn closes idle keep-alive
    connections after 2 s, and a POST is not retried)."""

    IDLE_REOPEN_S = 1.0

    def __init__(self, host: str, port: int, *, timeout: float = 120.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._conn: http.client.HTTPConnection | None = None
        self._used_at = 0.0

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        """Send one request; a GET is retried once on a connection the server had closed."""
        attempts = 2 if method == "GET" else 1
        if self._conn is not None and time.monotonic() - self._used_at > self.IDLE_REOPEN_S:
            self.close()  # the server may be closing it right now (keep-alive timeout)
        for attempt in range(attempts):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt + 1 == attempts:
                    raise
                continue
            except (OSError, http.client.HTTPException):
                self.close()  # a half-used connection cannot send again
                raise
            if response.will_close:
                self.close()
            self._used_at = time.monotonic()
            return Answer(response.status, data, {k.lower(): v for k, v in response.getheaders()})
        raise AssertionError("unreachable")

    def json(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        expect: Iterable[int] = (200, 201),
        raw: bytes | None = None,
    ) -> Any:
        """A JSON request whose answer must have one of the ``expect`` statuses; returns its JSON."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        answer = self.request(method, path, payload, headers)
        if answer.status not in set(expect):
            raise RequestFailed(f"{method} {path}: {answer.status} {answer.body[:300]!r}")
        return answer.json()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def run_threads(count: int, target: Callable[[int], None]) -> None:
    """Run ``target(i)`` on ``count`` threads and wait; re-raises the first failure."""
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # collected and re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@dataclass
class Usage:
    """Wall time and CPU seconds over a window: this process (the clients), the service, the machine."""

    wall: float
    client_cpu: float
    service_cpu: float
    machine_busy: float
    cpus: int

    def shares(self) -> dict[str, float]:
        """Each one's share of the machine's capacity (wall × cores) over the window."""
        capacity = max(self.wall * self.cpus, 1e-9)
        return {
            "client_cpu_share": round(self.client_cpu / capacity, 3),
            "service_cpu_share": round(self.service_cpu / capacity, 3),
            "machine_busy_share": round(self.machine_busy / capacity, 3),
        }


@dataclass
class Meter:
    """Measures a window; ``service_pids`` names the server's processes (asked at start and stop).

    A process that appears during the window counts from zero; one that ends during it
    counts what it had used when last seen.
    """

    service_pids: Callable[[], Sequence[int]]
    _start: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))
    _service_start: dict[int, float] = field(default_factory=dict)

    def start(self) -> Meter:
        self._service_start = {pid: procs.cpu_seconds(pid) for pid in self.service_pids()}
        self._start = (time.perf_counter(), time.process_time(), procs.machine_busy_seconds())
        return self

    def stop(self) -> Usage:
        wall0, client0, busy0 = self._start
        wall, client, busy = time.perf_counter(), time.process_time(), procs.machine_busy_seconds()
        service = 0.0
        for pid in set(self.service_pids()) | set(self._service_start):
            before = self._service_start.get(pid, 0.0)
            service += max(procs.cpu_seconds(pid), before) - before
        return Usage(wall - wall0, client - client0, service, busy - busy0, procs.cpu_count())


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None
