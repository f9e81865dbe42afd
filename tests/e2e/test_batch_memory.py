"""A batch of filings costs its web worker a bounded multiple of its body (issue 25 item 5).

A 48 MB batch pushed its worker to 271 MB, 3-4 times the body: the body, its text, every
item's base64 string and every decoded document were alive at once. The batch is now read
item by item from the body's bytes (each item's base64 is decoded and dropped before the next
is parsed), so the peak is the body plus the decoded documents: 1.75 times the body in theory,
1.9 to 2.0 measured (allocator slack), against 3.0 before. Measured on a real gunicorn worker:
the rise of its peak resident set (``VmHWM``) over its resident set before the request.
"""

from __future__ import annotations

import base64
import json
import os
import random
import urllib.request
from pathlib import Path

import pytest

from tests.support.people import Person
from tests.support.server import Service

pytestmark = pytest.mark.slow

ITEMS = 1000
DOCUMENT_BYTES = 36 * 1024  # 1000 items of 48 KiB of base64: a 48 MB body, as in the issue
MIB = 1024 * 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _processes(group: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == group:
                    found.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return found


def _post(url: str, token: str, body: bytes) -> dict:
    request = urllib.request.Request(
        url, data=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def test_a_48_mb_batch_costs_its_worker_a_bounded_multiple_of_its_body(tmp_path):
    with Service(tmp_path / "instance", workers=1) as service:
        platform = service.add_platform()
        token, platform_id = platform["token"], platform["platform_id"]
        people = [Person("张三"), Person("李四", alg="p256")]
        for person in people:
            person.party_id = _post(
                service.base + "/parties", token, json.dumps(person.enrolment(platform_id)).encode()
            )["party_id"]
        rng = random.Random(25)
        items = [
            {
                "document_base64": base64.b64encode(rng.randbytes(DOCUMENT_BYTES)).decode(),
                "media_type": "application/pdf",
                "terms": {
                    "investor": people[0].party_id,
                    "borrower": people[1].party_id,
                    "amount": f"{index + 1}.00",
                    "currency": "CNY",
                    "annual_rate": "0.0800",
                    "term_months": 12,
                    "start_date": "2026-12-01",
                },
            }
            for index in range(ITEMS)
        ]
        body = json.dumps({"contracts": items}).encode()
        del items
        assert service.process is not None
        process_group = service.process.pid
        before = {pid: _status_kib(pid, "VmRSS") for pid in _processes(process_group)}
        answer = _post(service.base + "/contracts/batch", token, body)
        assert [result["status"] for result in answer["results"]] == [201] * ITEMS
        rises = {
            pid: _status_kib(pid, "VmHWM") - rss
            for pid, rss in before.items()
            if Path(f"/proc/{pid}").exists()
        }
    rise = max(rises.values()) * 1024
    ratio = rise / len(body)
    print(
        f"\nbatch body {len(body) / MIB:.1f} MiB; web worker peak rose {rise / MIB:.1f} MiB ({ratio:.2f}x the body)"
    )
    assert ratio < 2.3, f"the worker's peak rose {ratio:.2f} times the body"
