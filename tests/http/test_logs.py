"""Structured logs: one JSON object per line, a request id on every line of a request and in its
answer, the closing line of each request with its route, status, latency and caller, and never
a name, an ID number, a token, a signature or a document, whatever a contract's life carried."""

from __future__ import annotations

import base64
import io
import json
import logging
import re

import pytest

from notary.logs import RequestContext, configure_logging, json_formatter
from tests.support.platforms import DOCUMENT, sign_body


@pytest.fixture
def log_lines():
    """What the process logs while the test runs, formatted as the service formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [line for line in stream.getvalue().splitlines() if line]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def requests_logged(lines):
    return [entry for entry in map(json.loads, lines) if entry["event"] == "request"]


def test_a_contracts_life_logs_one_json_line_per_request_and_nothing_personal(
    log_lines, platform, investor, borrower, runtime, client
):
    filed = platform.file(investor, borrower, title="个人借款合同", external_ref="loan-5521")
    signatures = []
    for role, person in (("investor", investor), ("borrower", borrower)):
        body = sign_body(person, filed, role)
        signatures.append(body["signature"])
        assert (
            client.post(f"/api/v1/contracts/{filed['contract_id']}/signatures", json=body).status_code == 200
        )
    forged = sign_body(investor, filed, "borrower")  # the wrong key: refused
    client.post(f"/api/v1/contracts/{filed['contract_id']}/signatures", json=forged)
    client.get("/api/v1/contracts/x", headers={"Authorization": "Bearer ntp_guessed-token-value"})
    worker = runtime.worker()
    worker.run_once()
    worker.lease.release()
    assert platform.get(f"/contracts/{filed['contract_id']}/evidence").status_code == 200

    lines = log_lines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "event"} <= set(entry)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", entry["time"])
    answered = requests_logged(lines)
    # enrolments (2), the filing, three signatures, the guess, the evidence.
    assert len(answered) == 8
    for entry in answered:
        assert re.fullmatch(r"[0-9a-f]{32}", entry["request_id"])
        assert entry["route"].startswith("/api/v1/")
        assert isinstance(entry["status"], int)
        assert entry["latency_ms"] >= 0
    by_route = {(entry["method"], entry["route"], entry["status"]) for entry in answered}
    assert ("POST", "/api/v1/contracts", 201) in by_route
    assert ("POST", "/api/v1/contracts/<contract_id>/signatures", 200) in by_route
    filing = next(entry for entry in answered if entry["route"] == "/api/v1/contracts")
    assert filing["platform_id"] == platform.platform_id
    assert any(entry["status"] == 401 for entry in answered)

    text = "\n".join(lines)
    never = [
        investor.name, borrower.name, investor.id_number, borrower.id_number, platform.token,
        "ntp_guessed-token-value", "Bearer", *signatures, forged["signature"],
        base64.b64encode(DOCUMENT).decode(), DOCUMENT.decode("latin-1"), "个人借款合同", "10000.00",
    ]  # fmt: skip
    assert [secret for secret in never if secret in text] == []


def test_the_request_id_is_the_clients_when_plain_and_returned_in_the_answer(log_lines, client):
    answer = client.get("/api/v1/healthz", headers={"X-Request-ID": "platform-trace:42.a_b"})
    assert answer.headers["X-Request-ID"] == "platform-trace:42.a_b"
    (entry,) = requests_logged(log_lines())
    assert entry["request_id"] == "platform-trace:42.a_b"
    assert (entry["route"], entry["status"]) == ("/api/v1/healthz", 200)


@pytest.mark.parametrize(
    "offered", ["", "a b", "x" * 129, 'id"} {"level": "ERROR"', "标识".encode().decode("latin-1")]
)
def test_an_unfit_request_id_is_replaced(log_lines, client, offered):
    answer = client.get("/api/v1/nothing/here", headers={"X-Request-ID": offered})
    made = answer.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    (entry,) = requests_logged(log_lines())
    assert (entry["request_id"], entry["route"], entry["status"]) == (made, "unmatched", 404)
    assert "nothing/here" not in "\n".join(log_lines())


def test_lines_logged_inside_a_request_carry_its_id(log_lines, app, client):
    @app.get("/test-only/logs")
    def inside():
        logging.getLogger("notary.test").warning("inside the request")
        return "ok"

    answer = client.get("/test-only/logs")
    entries = [json.loads(line) for line in log_lines()]
    inner = next(entry for entry in entries if entry["event"] == "inside the request")
    assert inner["request_id"] == answer.headers["X-Request-ID"]
    assert inner["level"] == "WARNING"


def test_dev_mode_writes_readable_text():
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        configure_logging("text", "INFO", stream=stream)
        logging.getLogger("notary.request").info("request", extra={"route": "/api/v1/healthz", "status": 200})
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    line = stream.getvalue().strip()
    assert "INFO" in line
    assert "notary.request: request" in line
    assert line.endswith("[route=/api/v1/healthz status=200]")
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
