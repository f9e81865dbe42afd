"""A platform as the HTTP tests drive it: its client, the contracts it files, the signatures.

Plain helpers; the conftest makes fixtures of them (``platform``, the ``make_platform`` factory).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from notary.runtime import Runtime
from tests.support.people import Person

DOCUMENT = b"%PDF-1.4\n% test loan contract\n"


@dataclass
class PlatformClient:
    """A platform calling the API with its token."""

    client: Any
    platform_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get("/api/v1" + path, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(
            "/api/v1" + path, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs
        )

    def enrol(self, person: Person) -> str:
        response = self.post("/parties", json=person.enrolment(self.platform_id))
        assert response.status_code == 201, response.get_json()
        person.party_id = response.get_json()["party_id"]
        return person.party_id

    def file(
        self, investor: Person, borrower: Person, document: bytes = DOCUMENT, **terms: Any
    ) -> dict[str, Any]:
        body = {
            "document_base64": base64.b64encode(document).decode(),
            "media_type": "application/pdf",
            "terms": contract_terms(investor, borrower, **terms),
        }
        response = self.post("/contracts", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


def contract_terms(first: Person, second: Person, **overrides: Any) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "investor": first.party_id,
        "borrower": second.party_id,
        "amount": "10000.00",
        "currency": "CNY",
        "annual_rate": "0.0800",
        "term_months": 12,
        "start_date": "2026-12-01",
    }
    terms.update(overrides)
    return {k: v for k, v in terms.items() if v is not None}


def new_platform(runtime: Runtime, client: Any, name: str = "Example Lending") -> PlatformClient:
    """A platform added by an operator, calling the API through ``client`` with its token."""
    new = runtime.platforms.add(name)
    return PlatformClient(client, new.platform_id, new.token)


def sign_body(person: Person, filed: dict[str, Any], role: str) -> dict[str, str]:
    payload = base64.b64decode(filed["signing_payloads"][role]["payload_base64"])
    return {"role": role, "signature": person.sign_b64(payload)}
