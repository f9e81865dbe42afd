"""Every JSON answer the tests receive from ``/api/v1`` is checked against the schema the route
declares for that status in the served OpenAPI document.

The declarations are then a contract, not documentation: a route that answers a field it does
not declare, omits a required one, or answers a status it never declared fails the test that
called it, with the route, the status and the first difference.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft4Validator
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

API_PREFIX = "/api/v1"


class UndeclaredAnswer(AssertionError):
    """An answer the route's OpenAPI declaration does not allow."""


def _openapi_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's dialect to JSON Schema draft 4: ``nullable: true`` becomes a union with
    null; ``$ref`` into components is kept for the resolver."""
    if isinstance(node, list):
        return [_openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _openapi_to_json_schema(value)
        for key, value in node.items()
        if key not in {"nullable", "example", "readOnly", "writeOnly", "discriminator"}
    }
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class AnswerSchemas:
    """The OpenAPI document of one app, read once, answering "what may this route return"."""

    def __init__(self, app: Flask) -> None:
        with app.test_request_context():
            document = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
        self.document = _openapi_to_json_schema(copy.deepcopy(document))
        self.adapter = app.url_map.bind("localhost")

    def declared(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        """The JSON schema for this answer; None when the route is not an API route with a
        JSON body declared. Raises :class:`UndeclaredAnswer` for a status the route never
        declared."""
        try:
            rule, _ = self.adapter.match(path, method=method, return_rule=True)
        except HTTPException:
            return None
        template = str(rule).replace("<", "{").replace(">", "}")
        template = _strip_converters(template)
        operation = self.document["paths"].get(template, {}).get(method.lower())
        if operation is None:
            return None
        responses = operation.get("responses", {})
        declared = responses.get(str(status)) or responses.get("default")
        if declared is None:
            raise UndeclaredAnswer(f"{method} {template} answered {status}, which it does not declare")
        while "$ref" in declared:  # "#/components/responses/DEFAULT_ERROR"
            *_, kind, name = declared["$ref"].split("/")
            declared = self.document["components"][kind][name]
        content = declared.get("content", {}).get("application/json")
        return content.get("schema") if content else None

    def check(self, method: str, path: str, response: TestResponse) -> None:
        """Raise :class:`UndeclaredAnswer` when a JSON answer is not what its route declares."""
        if not path.startswith(API_PREFIX) or response.mimetype != "application/json":
            return
        if response.status_code == 429 or response.status_code >= 500:
            return  # the rate limiter and the last-resort handler answer for every route alike
        schema = self.declared(method, path, response.status_code)
        if schema is None:
            return
        body = json.loads(response.get_data(as_text=True))
        validator = Draft4Validator({**schema, "components": self.document.get("components", {})})
        error = next(iter(sorted(validator.iter_errors(body), key=lambda e: list(e.path))), None)
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(top)"
            raise UndeclaredAnswer(
                f"{method} {path} answered {response.status_code} with a body its declaration "
                f"refuses at {where}: {error.message}"
            )


def _strip_converters(template: str) -> str:
    """``{int:size}`` → ``{size}``, as the OpenAPI document names path parameters."""
    out, i = [], 0
    while i < len(template):
        if template[i] == "{":
            end = template.index("}", i)
            out.append("{" + template[i + 1 : end].rsplit(":", maxsplit=1)[-1] + "}")
            i = end + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


class CheckedClient(FlaskClient):
    """Flask's test client, checking every API answer against its declaration."""

    schemas: AnswerSchemas

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        self.schemas.check(request.method, request.path, response)
        return response


def checked_client(app: Flask) -> FlaskClient:
    """A test client of ``app`` whose API answers are checked (see the module's docstring)."""
    client_class = type("AppCheckedClient", (CheckedClient,), {"schemas": AnswerSchemas(app)})
    app.test_client_class = client_class
    return app.test_client()
