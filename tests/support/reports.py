"""瞒报 reports as a key holder lodges them in the tests: the signed body of ``POST /reports``."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from notary.runtime import Runtime
from notary.verify import payloads
from notary.verify.reports import report_payload
from tests.support.access import Caller, login
from tests.support.people import Person
from tests.support.platforms import DOCUMENT


def report_body(
    person: Person,
    platform_id: str,
    *,
    runtime: Runtime,
    document: bytes = DOCUMENT,
    claimed: dict[str, Any] | None = None,
    reported_at: str | None = None,
    attach: bool = False,
) -> dict[str, str]:
    """A report by ``person`` that ``platform_id`` holds ``document`` unfiled, dated by the
    service's clock unless ``reported_at`` says otherwise."""
    when = reported_at or payloads.format_time(runtime.clock())
    payload = report_payload(
        platform_id=platform_id,
        document_sha256=hashlib.sha256(document).hexdigest(),
        key_fingerprint=person.public.fingerprint,
        reported_at=when,
        claimed={"amount": "10000.00", "start_date": "2026-12-01"} if claimed is None else claimed,
    )
    body = {"payload_base64": base64.b64encode(payload).decode(), "signature": person.sign_b64(payload)}
    if attach:
        body["document_base64"] = base64.b64encode(document).decode()
    return body


def lodge(client: Any, person: Person, body: dict[str, str]) -> Any:
    """``POST /reports`` with ``person``'s party token; the response."""
    return Caller(client, login(client, person)).post("/reports", json=body)
