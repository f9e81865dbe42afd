"""The test client's answer check (tests/support/answers.py) refuses what a route does not
declare: a body that breaks the declared schema, and a status the route never declared."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields

from tests.support.answers import UndeclaredAnswer, checked_client


class Greeting(Schema):
    class Meta:
        additional = ()

    text = fields.String(required=True)
    count = fields.Integer(allow_none=True)


def small_app() -> Flask:
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = Blueprint("hello", __name__, url_prefix="/api/v1")

    @blp.route("/hello/<int:size>")
    @blp.alt_response(200, schema=Greeting, description="a greeting")
    def hello(size: int):  # type: ignore[no-untyped-def]
        if size == 1:
            return jsonify({"text": "hi", "count": None})
        if size == 2:
            return jsonify({"count": 2})  # no text: the declaration requires it
        return jsonify({"text": "made"}), 201  # a status never declared

    api.register_blueprint(blp)
    return app


def test_a_declared_answer_passes_and_a_wrong_one_fails():
    client = checked_client(small_app())
    assert client.get("/api/v1/hello/1").status_code == 200  # nullable count is allowed
    with pytest.raises(UndeclaredAnswer, match="'text' is a required property"):
        client.get("/api/v1/hello/2")
    with pytest.raises(UndeclaredAnswer, match="answered 201"):
        client.get("/api/v1/hello/3")
