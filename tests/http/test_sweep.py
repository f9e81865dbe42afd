"""Every route swept with schemathesis, driven from the OpenAPI document the service serves
(issue 20, item 4): no answer is a 5xx, and every answer matches its documented schema. On SQLite
and PostgreSQL, with valid and with invalid requests, as a platform, a key holder, an
investigator and nobody.

``make test`` runs a short sweep (``NOTARY_SWEEP_EXAMPLES``, 4 per operation and mode);
``make sweep`` runs the same test with 200.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from notary.config import Settings
from tests.support.access import login, new_investigator
from tests.support.limits import limited_app
from tests.support.people import Person
from tests.support.platforms import new_platform

#: Generated requests per operation and mode.
EXAMPLES = int(os.environ.get("NOTARY_SWEEP_EXAMPLES", "4"))

#: Every rule off: the sweep is about answers, not about throttling (tests/http/test_rate_limits.py).
_NO_LIMITS = {
    field.name: "off"
    for field in dataclasses.fields(Settings)
    if field.name.startswith("rate_limit_") and field.name != "rate_limit_storage"
}

CHECKS = [not_a_server_error, response_schema_conformance]

# The RFC 3161 authority takes DER bytes: sent as they are, like any binary body.
schemathesis.serializer.alias("application/timestamp-query", "application/octet-stream")


def _operation_test(
    operation: Any, mode: GenerationMode, callers: list[dict[str, str]]
) -> Callable[[], None]:
    """One hypothesis test of one operation: each generated request, as one of the callers."""

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        print_blob=False,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), headers=st.sampled_from(callers))
    def sweep(case: Any, headers: dict[str, str]) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    return sweep


def _callers(app: Any, runtime: Any) -> list[dict[str, str]]:
    client = app.test_client()
    platform = new_platform(runtime, client)
    person = Person("张三", alg="ed25519")
    platform.enrol(person)
    investigator = new_investigator(runtime, client)
    tokens = [platform.token, login(client, person), investigator.token]
    return [{}] + [{"Authorization": f"Bearer {token}"} for token in tokens if token]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_route_answers_without_server_errors_and_as_documented(
    settings: Any, clock: Any, runtime: Any, mode: GenerationMode
) -> None:
    with limited_app(settings, clock, **_NO_LIMITS) as app:
        callers = _callers(app, runtime)
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            try:
                _operation_test(operation, mode, callers)()
            except hypothesis.errors.Unsatisfiable:
                continue  # nothing about it can be made invalid (no parameters, or free text only)
            except Exception as exc:  # every operation is swept; the failures are reported together
                failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    assert len(operations) >= 30, f"only {len(operations)} operations in the served OpenAPI document"
    assert not failures, "\n\n".join(failures)
