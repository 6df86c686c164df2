"""Prometheus metrics: the machinery both apps share and the HTTP metrics every app has.

Each app defines its own domain metrics in one module (``portal/metrics.py``,
``diary_service/metrics.py``) with prometheus-client's classes; the rooms call them in
one line where the thing happens.

Processes. Under gunicorn several worker processes serve one app: with
``PROMETHEUS_MULTIPROC_DIR`` set (``config/gunicorn.py`` sets it) every process writes its
values to files there and ``/metrics`` sums them, whichever worker answers; the master
marks a dead worker's files (``child_exit``). Without it (``make run``, tests) the
process's own registry is shown. The variable must be in the environment before
prometheus_client is first imported: it chooses how values are stored at import.

Scrape-time values (queue depths) are read when ``/metrics`` is asked, not kept in
processes: the app gives ``metrics_blueprint`` a function returning metric families.

Who may read it: ``/metrics`` answers only to addresses in ``METRICS_ALLOWED_NETWORKS``
(loopback by default), judged on the client address the app already trusts (behind
``TRUSTED_PROXIES`` proxies, ProxyFix's; otherwise the peer's). A request that carries
``X-Forwarded-For`` to an app that trusts no proxy came through a proxy the app cannot
see past, so it is refused too. Anyone else gets the app's plain 404.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from shared.jobs import queue_name, redis_client

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"  # the endpoint label of a request no route matched (404s)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by app, method, Flask endpoint and status code.",
    ["app", "method", "endpoint", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from receiving a request to its response's status line, by app and endpoint.",
    ["app", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe_request(app: str, method: str, endpoint: str, status: str, seconds: float) -> None:
    """Count one answered request (``method`` one of METHODS or "other")."""
    HTTP_REQUESTS.labels(app, method, endpoint, status).inc()
    HTTP_DURATION.labels(app, endpoint).observe(seconds)


def queue_depth_family(app: str, depths: dict[str, int]) -> GaugeMetricFamily:
    """``job_queue_depth{app, queue}``: jobs and messages waiting, read at scrape time."""
    family = GaugeMetricFamily(
        "job_queue_depth",
        "Jobs and outbox messages waiting to be done, by app and queue (read when scraped).",
        labels=["app", "queue"],
    )
    for queue, depth in sorted(depths.items()):
        family.add_metric([app, queue], depth)
    return family


def celery_queue_depth(app: Flask) -> dict[str, int]:
    """``{"jobs": n}``: the messages waiting in the app's Celery queue (a Redis list);
    nothing without Redis (jobs run in process) or when Redis does not answer."""
    client = redis_client(app)
    if client is None:
        return {}
    try:
        return {"jobs": int(client.llen(queue_name(app)))}
    except RedisError as error:
        app.logger.warning("metrics: the job queue's length is unknown (%s)", type(error).__name__)
        return {}


def outbox_depths(session, queries: dict[str, sa.Select]) -> dict[str, int]:
    """Each outbox's count (``queries``: name → a ``SELECT count(*)``); nothing when the
    database does not answer (the scrape still shows the rest)."""
    try:
        depths = {name: int(session.execute(query).scalar_one()) for name, query in queries.items()}
    except SQLAlchemyError as error:
        session.rollback()
        current_app.logger.warning("metrics: outbox depths unknown (%s)", type(error).__name__)
        return {}
    return depths


# --- exposition --------------------------------------------------------------------------


class _Scrape:
    """The process's (or all processes') metrics and the scrape-time families, as one
    collector for ``generate_latest``."""

    def __init__(self, base, extra: Iterable[Metric]):
        self.base = base
        self.extra = extra

    def collect(self):
        yield from self.base.collect()
        yield from self.extra


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


def exposition(extra: Iterable[Metric] = ()) -> bytes:
    """The text format of every metric: summed over gunicorn's workers in multiprocess
    mode, this process's registry otherwise, then ``extra``."""
    if is_multiprocess():
        base = CollectorRegistry()
        MultiProcessCollector(base)
    else:
        base = REGISTRY
    return generate_latest(_Scrape(base, extra))


def _networks(values: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(value, strict=False) for value in values]


def is_scraper_allowed(app: Flask) -> bool:
    """Whether this request's client may read the metrics (see the module's docstring)."""
    if not int(app.config.get("TRUSTED_PROXIES") or 0) and "X-Forwarded-For" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in app.extensions["metrics_networks"])


def metrics_blueprint(
    app: Flask, scrape: Callable[[], Iterable[Metric]] | None = None
) -> Blueprint:
    """``GET /metrics`` for ``app``; ``scrape`` gives the families read at scrape time."""
    app.extensions["metrics_networks"] = _networks(
        app.config.get("METRICS_ALLOWED_NETWORKS") or ["127.0.0.0/8", "::1/128"]
    )
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def export():
        """Prometheus' text format; 404 to anyone outside the allowed networks."""
        if not is_scraper_allowed(current_app):
            abort(404)
        body = exposition(scrape() if scrape is not None else ())
        return Response(
            body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
        )

    return bp
