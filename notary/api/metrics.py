"""``GET /metrics`` in the Prometheus text format, and the per-request counting behind it.

Served only to the networks in ``NOTARY_METRICS_NETWORKS`` (loopback by default): the figures
say how busy the notary is and which authorities fail, which is an operator's business. The
address judged is the one the rate limits judge (the peer, or the client the trusted proxies
name), so a reverse proxy in front must not pass ``/metrics`` on (docs/operations.md).

Under ``notary serve`` the processes share their counts through ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode): each scrape builds a registry over those files, as
the library asks, and adds the instance's state read at that moment.
"""

from __future__ import annotations

import ipaddress
import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from notary.api.common import runtime
from notary.errors import Forbidden, NotFound
from notary.services.metrics import REQUEST_SECONDS, REQUESTS

UNMATCHED = "unmatched"
"""The route label of a request no route matched: never its path, which a client chooses."""


class MetricsForbidden(Forbidden):
    """``/metrics`` asked from outside the configured networks."""

    code = "metrics_forbidden"


def allowed(address: str | None, networks: str) -> bool:
    """Whether ``address`` is inside one of ``networks`` (comma-separated; ``off``: none)."""
    if not address or networks == "off":
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    if client.version == 6 and client.ipv4_mapped is not None:  # type: ignore[union-attr]
        client = client.ipv4_mapped  # type: ignore[union-attr]
    return any(client in ipaddress.ip_network(item, strict=False) for item in networks.split(","))


def metrics() -> Response:
    """Every metric of the instance, for a scraper on an allowed network; 403 otherwise, 404
    when metrics are turned off."""
    networks = runtime().settings.metrics_networks
    if networks == "off":
        raise NotFound("metrics are turned off on this instance (NOTARY_METRICS_NETWORKS=off)")
    if not allowed(request.remote_addr, networks):
        raise MetricsForbidden("metrics are served only to the networks in NOTARY_METRICS_NETWORKS")
    scrape = CollectorRegistry()
    scrape.register(runtime().instance_metrics)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(scrape)
        body = generate_latest(scrape)
    else:  # one process: its own counters, and the state read now
        body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)


def _started() -> None:
    g.notary_started = time.perf_counter()


def _answered(response: Response) -> Response:
    started = g.get("notary_started")
    if started is None:
        return response
    rule = request.url_rule
    route = rule.rule if rule is not None else UNMATCHED
    method = request.method if request.method in _METHODS else "other"
    REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
    REQUEST_SECONDS.labels(route=route, method=method).observe(time.perf_counter() - started)
    return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init(app: Flask) -> None:
    """Count every request of the app (API and pages) and serve ``/metrics``."""
    app.before_request(_started)
    app.after_request(_answered)
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
