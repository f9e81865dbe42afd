"""``GET /metrics``: what an operator's Prometheus sees after a contract's whole life, what it must
never see (names, ID numbers, ids, tokens, signatures, paths a client chose), who may ask, and
the counts of several processes added up through prometheus-client's multiprocess mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client.parser import text_string_to_metric_families

from notary.app import create_app
from notary.runtime import Runtime
from tests.support.platforms import sign_body


def scrape(client, address="127.0.0.1"):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    return response.get_data(as_text=True)


def samples(text):
    """{(name, frozenset(labels)): value} for every sample."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found, name, **labels):
    return found[(name, frozenset(labels.items()))]


@pytest.fixture
def sealed(platform, investor, borrower, runtime, client):
    """One contract filed, signed by both and sealed, timestamped and checkpointed."""
    filed = platform.file(investor, borrower, title="个人借款合同", external_ref="loan-7731")
    signatures = {}
    for role, person in (("investor", investor), ("borrower", borrower)):
        body = sign_body(person, filed, role)
        signatures[role] = body["signature"]
        answer = client.post(f"/api/v1/contracts/{filed['contract_id']}/signatures", json=body)
        assert answer.status_code == 200
    worker = runtime.worker()
    worker.run_once()
    yield filed, signatures
    worker.lease.release()


def test_a_lifecycle_shows_in_the_metrics(sealed, platform, client):
    filed, _ = sealed
    platform.get(f"/contracts/{filed['contract_id']}")
    found = samples(scrape(client))
    assert value(found, "notary_contracts", status="sealed") == 1
    assert value(found, "notary_contracts", status="awaiting_signatures") == 0
    assert value(found, "notary_log_size_leaves") >= 1
    assert value(found, "notary_checkpoint_tree_size") >= 1
    assert value(found, "notary_checkpoint_age_seconds") >= 0
    assert value(found, "notary_contracts_waiting_to_seal") == 0
    assert value(found, "notary_worker_leading") == 1
    assert value(found, "notary_certificate_days_left", certificate="notary signer") > 60
    assert value(found, "notary_certificate_days_left", certificate="embedded TSA") > 60
    assert value(found, "notary_database_up") == 1
    # Counted in this process (the suite's counters only grow, so: present and positive).
    route = "/api/v1/contracts/<contract_id>/signatures"
    assert value(found, "notary_http_requests_total", route=route, method="POST", status="200") >= 2
    assert value(found, "notary_http_request_duration_seconds_count", route=route, method="POST") >= 2
    assert value(found, "notary_tsa_requests_total", authority="embedded", outcome="ok") >= 1
    assert value(found, "notary_seal_latency_seconds_count") >= 1
    assert value(found, "notary_worker_rounds_total", outcome="ok") >= 1
    assert value(found, "notary_worker_last_round_timestamp_seconds") > 0


def test_the_metrics_hold_no_personal_data_ids_or_secrets(sealed, platform, investor, borrower, client):
    filed, signatures = sealed
    client.get("/api/v1/contracts/" + filed["contract_id"] + "/nothing-here")  # an unmatched path
    client.get("/api/v1/contracts/" + filed["contract_id"], headers={"Authorization": "Bearer not-a-token"})
    text = scrape(client)
    never = [
        investor.name, borrower.name, investor.id_number, borrower.id_number,
        investor.party_id, borrower.party_id, platform.platform_id, platform.token,
        filed["contract_id"], filed["document_sha256"], filed["terms_sha256"], "loan-7731", "个人借款合同",
        "not-a-token", *signatures.values(), "nothing-here",
    ]  # fmt: skip
    assert [secret for secret in never if secret in text] == []
    found = samples(text)
    assert value(found, "notary_http_requests_total", route="unmatched", method="GET", status="404") >= 1


def test_only_the_configured_networks_may_scrape(runtime, client, settings, clock):
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "metrics_forbidden"
    assert "notary_" not in refused.get_data(as_text=True)
    assert scrape(client, "::1")
    opened = Runtime(settings.__class__.load({}, instance_path=settings.instance_path,
                     database_url=settings.database_url, metrics_networks="10.0.0.0/8, 203.0.113.0/24"),
                     clock=clock, web=True)  # fmt: skip
    try:
        other = create_app(runtime=opened).test_client()
        assert scrape(other, "203.0.113.5")
        assert other.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
    finally:
        opened.close()
    off = Runtime(settings.__class__.load({}, instance_path=settings.instance_path,
                  database_url=settings.database_url, metrics_networks="off"), clock=clock, web=True)  # fmt: skip
    try:
        answer = create_app(runtime=off).test_client().get("/metrics")
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (404, "not_found")
    finally:
        off.close()


@pytest.mark.parametrize("networks", ["", "10.0.0.300/8", "localhost", "10.0.0.0/8,banana"])
def test_a_bad_network_setting_is_refused_at_start(settings, networks):
    from notary.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="metrics_networks"):
        Settings.load({}, instance_path=settings.instance_path, metrics_networks=networks)


@pytest.mark.wallclock  # the CLI / a second process builds its runtime on the machine's clock
def test_the_counts_of_several_processes_are_added_up(settings, tmp_path):
    """Two processes count timestamp requests into one PROMETHEUS_MULTIPROC_DIR; a third, the web
    app, serves their sum (as under gunicorn, where any worker may answer the scrape)."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    count = (
        "from notary.services.metrics import tsa_outcome; tsa_outcome('https://tsa.example/{0}', 0.2, {1})"
    )
    for n, failure in enumerate(("None", "'timestamp_unavailable'", "None")):
        subprocess.run([sys.executable, "-c", count.format("a", failure)], env=env, check=True, timeout=60)
        del n
    serve = textwrap.dedent(f"""
        import json
        from notary.app import create_app
        app = create_app({{"instance_path": {str(settings.instance_path)!r}, "database_url": {settings.database_url!r}}})
        answer = app.test_client().get("/metrics")
        print(json.dumps([answer.status_code, answer.get_data(as_text=True)]))
    """)
    done = subprocess.run(
        [sys.executable, "-c", serve], env=env, check=True, timeout=120, capture_output=True, text=True
    )
    status, text = json.loads(done.stdout.strip().splitlines()[-1])
    assert status == 200
    found = samples(text)
    authority = "https://tsa.example/a"
    assert value(found, "notary_tsa_requests_total", authority=authority, outcome="ok") == 2
    assert value(found, "notary_tsa_requests_total", authority=authority, outcome="failed") == 1
    assert value(found, "notary_tsa_request_duration_seconds_count", authority=authority) == 3
    assert value(found, "notary_contracts", status="sealed") == 0  # the state, read by the scraping process


def test_the_sample_alert_rules_and_dashboard_name_only_served_metrics(sealed, client):
    """docs/operations/: a rule or panel over a metric the service does not serve never fires."""
    import re
    from pathlib import Path

    served = {name for name, _ in samples(scrape(client))}
    folder = Path(__file__).resolve().parents[2] / "docs" / "operations"
    rules = (folder / "alerts.yml").read_text()
    dashboard = json.loads((folder / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    named = set(re.findall(r"\bnotary_[a-z_]+", rules + "\n".join(expressions)))
    assert len(named) >= 15
    assert sorted(named - served) == []
