"""Key holders, investigators and operators as the tests drive them."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from notary.runtime import Runtime
from notary.storage.access_models import AuditEntry
from notary.verify import payloads
from tests.support.people import Person


def login(client: Any, person: Person) -> str:
    """Log in with the person's key (challenge, signature over the login payload); the token."""
    fingerprint = person.public.fingerprint
    answer = client.post("/api/v1/auth/challenge", json={"key_fingerprint": fingerprint})
    assert answer.status_code == 200, answer.get_json()
    challenge = answer.get_json()["challenge_base64"]
    signature = person.sign_b64(
        payloads.login_payload(challenge_base64=challenge, key_fingerprint=fingerprint)
    )
    answer = client.post(
        "/api/v1/auth/token",
        json={"key_fingerprint": fingerprint, "challenge_base64": challenge, "signature": signature},
    )
    assert answer.status_code == 200, answer.get_json()
    return str(answer.get_json()["token"])


@dataclass
class Caller:
    """Anyone calling the API with a bearer token (or none)."""

    client: Any
    token: str | None = None
    name: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.get("/api/v1" + path, headers={**self.headers, **(headers or {})}, **kwargs)

    def post(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.post("/api/v1" + path, headers={**self.headers, **(headers or {})}, **kwargs)


def new_investigator(runtime: Runtime, client: Any, name: str = "Officer Wang") -> Caller:
    new = runtime.investigators.add(name, agency="Example City Police", operator="op")
    return Caller(client, new.token, name)


def open_case(investigator: Caller, scope: dict[str, Any], number: str = "2026-0001") -> str:
    answer = investigator.post(
        "/cases",
        json={"case_number": number, "legal_basis": "Criminal Procedure Law art. 54", "scope": scope},
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["status"] == "pending"
    return str(answer.get_json()["case_id"])


def approve(runtime: Runtime, case_id: str) -> None:
    """Approve as an operator does: read the case, then approve the scope just read."""
    shown = runtime.cases.for_approval(case_id)
    runtime.cases.approve(case_id, operator="op", shown_scope=shown.summary["scope"])


def document_of(filed: dict[str, Any]) -> bytes:
    return base64.b64decode(filed["signing_payloads"]["investor"]["payload_base64"])


def audit_actions(runtime: Runtime, object_id: str) -> list[str]:
    """The audit trail's actions on one object, in order."""
    with runtime.db.read() as session:
        rows = session.execute(
            select(AuditEntry.action).where(AuditEntry.object_id == object_id).order_by(AuditEntry.sequence)
        )
        return list(rows.scalars())
