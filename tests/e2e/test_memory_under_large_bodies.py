"""Memory stays flat when large bodies arrive (issue 20, item 2): before, a 60 MiB JSON body to
``/parties`` without a token was parsed before the 401, and the web worker went from 110 to
692 MB and stayed there. Measured on a real gunicorn worker's resident memory."""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Service

pytestmark = pytest.mark.wallclock  # a real service, on the machine's clock

MIB = 1024 * 1024


def _rss_mib(process_group: int) -> float:
    """Resident memory of every process in the service's process group (server, workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == process_group:  # the pgrp field
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # rss in pages
        except (OSError, ValueError, IndexError):
            continue
    return total / MIB


def _chunks(size: int, chunk: int = MIB) -> Iterator[bytes]:
    yield b'{"name": "'
    for _ in range(size // chunk):
        yield b"a" * chunk
    yield b'"}'


def _send(service: Service, *, chunked: bool, token: str | None = None) -> int:
    """POST 60 MiB of JSON to /parties; the answer's status (the server may answer before the
    body is all sent, and close the connection: the rest is then not sent)."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.putrequest("POST", "/api/v1/parties")
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(60 * MIB + 12)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            for piece in _chunks(60 * MIB):
                connection.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the body was all sent: what we want
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def test_memory_stays_flat_after_60_mib_bodies(tmp_path: Path) -> None:
    with Service(tmp_path / "instance", workers=1) as service:
        group = service.process.pid if service.process else 0
        platform = service.add_platform()
        _send(service, chunked=False, token=platform["token"])  # warm up: first request's imports
        before = _rss_mib(group)
        statuses = [
            _send(service, chunked=False),
            _send(service, chunked=True),
            _send(service, chunked=False, token=platform["token"]),
            _send(service, chunked=True, token=platform["token"]),
        ]
        after = _rss_mib(group)
    assert after - before < 16, f"resident memory grew from {before:.0f} to {after:.0f} MiB"
    assert statuses == [413, 401, 413, 413]
