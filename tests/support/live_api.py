"""A platform (and an operator) driving a live service over HTTP, for the page tests: the
platform's side of a flow the browser test plays from the person's side."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from tests.support.people import Person
from tests.support.server import Service, notary

DOCUMENT = b"%PDF-1.4\n% a loan contract for the page tests\n"


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    data = None
    sent = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return Answer(reply.status, reply.read(), dict(reply.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), dict(error.headers))


@dataclass
class LivePlatform:
    service: Service
    platform_id: str
    token: str

    @classmethod
    def add(cls, service: Service, name: str = "示例借贷平台") -> LivePlatform:
        created = service.add_platform(name)
        return cls(service, created["platform_id"], created["token"])

    def post(self, path: str, body: Any) -> Answer:
        return call("POST", self.service.base + path, token=self.token, body=body)

    def get(self, path: str) -> Answer:
        return call("GET", self.service.base + path, token=self.token)

    def enrol_body(self, body: dict[str, Any]) -> str:
        answer = self.post("/parties", body)
        assert answer.status in (200, 201), answer.body
        return str(answer.json()["party_id"])

    def enrol(self, person: Person) -> str:
        person.party_id = self.enrol_body(person.enrolment(self.platform_id))
        return person.party_id

    def file(
        self, investor_id: str, borrower_id: str, document: bytes = DOCUMENT, **terms: Any
    ) -> dict[str, Any]:
        body = {
            "document_base64": base64.b64encode(document).decode(),
            "media_type": "application/pdf",
            "terms": {
                "investor": investor_id,
                "borrower": borrower_id,
                "amount": "123456.78",
                "currency": "CNY",
                "annual_rate": "0.0800",
                "term_months": 12,
                "start_date": "2026-12-01",
                "title": "个人借款合同",
                "external_ref": f"loan-{time.monotonic_ns()}",
                **terms,
            },
        }
        answer = self.post("/contracts", body)
        assert answer.status == 201, answer.body
        return dict(answer.json())

    def sign(self, person: Person, filed: dict[str, Any], role: str) -> None:
        payload = base64.b64decode(filed["signing_payloads"][role]["payload_base64"])
        answer = call(
            "POST",
            f"{self.service.base}/contracts/{filed['contract_id']}/signatures",
            body={"role": role, "signature": person.sign_b64(payload)},
        )
        assert answer.status == 200, answer.body

    def wait_ready(self, contract_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view = self.get(f"/contracts/{contract_id}").json()
            if (view.get("evidence") or {}).get("ready"):
                return dict(view)
            time.sleep(0.2)
        raise AssertionError(f"{contract_id} was not sealed in {timeout} s")

    def sealed_contract(self, investor: Person, borrower: Person) -> dict[str, Any]:
        """A contract both parties signed, sealed, timestamped and covered by a checkpoint."""
        filed = self.file(str(investor.party_id), str(borrower.party_id))
        self.sign(investor, filed, "investor")
        self.sign(borrower, filed, "borrower")
        return self.wait_ready(filed["contract_id"])


def operator(service: Service, *args: str) -> Any:
    """An operator's ``notary ... --json`` command on the service's instance."""
    return json.loads(notary([*args, "--json"], service.env))
