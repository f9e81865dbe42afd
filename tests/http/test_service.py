"""The service's own answers: health, the OpenAPI document, and the error envelope everywhere."""

from __future__ import annotations

import os

import pytest


def test_healthz(client):
    response = client.get("/api/v1/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["keys"] == "ok"
    assert body["sequencer_lag"] == 0


def test_a_web_process_with_an_unreadable_key_does_not_start(settings):
    from notary.app import create_app
    from notary.signing.keystore import KeysUnusable

    os.remove(settings.key_dir / "tsa.key")
    with pytest.raises(KeysUnusable):
        create_app({"instance_path": settings.instance_path, "database_url": settings.database_url})


def test_openapi_documents_the_contract(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    paths = spec["paths"]
    for path in (
        "/api/v1/parties",
        "/api/v1/contracts",
        "/api/v1/contracts/batch",
        "/api/v1/contracts/{contract_id}",
        "/api/v1/contracts/{contract_id}/signing-payload",
        "/api/v1/contracts/{contract_id}/document",
        "/api/v1/contracts/{contract_id}/signatures",
        "/api/v1/contracts/{contract_id}/decline",
        "/api/v1/healthz",
    ):
        assert path in paths, path
    filing = paths["/api/v1/contracts"]["post"]["requestBody"]["content"]
    assert set(filing) == {"multipart/form-data", "application/json"}
    assert "error" in spec["components"]["schemas"]["Error"]["properties"]


def test_unknown_route_and_method_use_the_envelope(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/v1/healthz")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
