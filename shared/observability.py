"""Seeing a running app: one JSON log line and two metrics per request, the request id,
and ``/metrics``. ``init_observability`` wires them in an app factory, first thing after
the configuration is loaded.

The request's work is measured by a WSGI middleware around the whole Flask app, so the
time covers opening and saving the session and every hook, and a request that no route
matched is counted too. The request line (``<app>.request`` logger, INFO; DEBUG for the
probes and scrapes, which come every few seconds):
``{"message": "GET identity.login 200", "method", "endpoint", "status", "duration_ms",
"user_id"?, "request_id", "app", ...}`` — the Flask endpoint, never the path or the
query string (they can carry codes and tokens); ``user_id`` is the internal id of the
signed-in person (the session's ``user_id``), never a name or a document number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from time import perf_counter

from flask import Flask, request, session
from flask.logging import default_handler
from prometheus_client.core import Metric

from shared import tracing
from shared.logs import configure_logging
from shared.metrics import METHODS, UNMATCHED, metrics_blueprint, observe_request

ENDPOINT_KEY = "observability.endpoint"
USER_KEY = "observability.user_id"
# Probes and scrapes: counted, but their log lines are DEBUG (a line every few seconds
# per instance would drown the rest).
QUIET_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "metrics.export"})


class RequestObserver:
    """WSGI middleware: the request id in and out, the request's metrics and log line."""

    def __init__(self, wsgi_app, app_label: str, logger: logging.Logger):
        self.wsgi_app = wsgi_app
        self.app_label = app_label
        self.logger = logger

    def __call__(self, environ, start_response):
        started = perf_counter()
        request_id = tracing.accept(environ.get("HTTP_X_REQUEST_ID"))
        token = tracing.set_current(tracing.Context(request_id, self.app_label))
        status = "500"  # unless the app answers

        def respond(status_line: str, headers: list, exc_info=None):
            nonlocal status
            status = status_line[:3]
            headers.append((tracing.HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, respond)
        finally:
            seconds = perf_counter() - started
            method = environ.get("REQUEST_METHOD", "")
            method = method if method in METHODS else "other"
            endpoint = environ.get(ENDPOINT_KEY) or UNMATCHED
            observe_request(self.app_label, method, endpoint, status, seconds)
            self._log(method, endpoint, status, seconds, environ.get(USER_KEY))
            tracing.reset(token)

    def _log(self, method: str, endpoint: str, status: str, seconds: float, user_id) -> None:
        if status >= "500":
            level = logging.WARNING
        elif endpoint in QUIET_ENDPOINTS:
            level = logging.DEBUG
        else:
            level = logging.INFO
        if not self.logger.isEnabledFor(level):
            return
        fields = {
            "method": method,
            "endpoint": endpoint,
            "status": int(status),
            "duration_ms": round(seconds * 1000, 2),
        }
        if user_id is not None:
            fields["user_id"] = user_id
        # Made directly: no caller lookup (the place is always here), and ``trusted``
        # skips the redaction rules: every value is the app's own (the method is one of
        # METHODS or "other", the endpoint a route's name, the rest numbers).
        record = self.logger.makeRecord(
            self.logger.name,
            level,
            __file__,
            0,
            "%s %s %s",
            (method, endpoint, status),
            None,
            extra={"fields": fields, "trusted": True},
        )
        self.logger.handle(record)


def _note_endpoint() -> None:
    request.environ[ENDPOINT_KEY] = request.endpoint


def _note_user(_error: BaseException | None) -> None:
    user_id = session.get("user_id")
    if isinstance(user_id, int):
        request.environ[USER_KEY] = user_id


def init_observability(
    app: Flask, label: str, scrape: Callable[[], Iterable[Metric]] | None = None
) -> None:
    """JSON logs for the process, the request middleware and ``GET /metrics`` for
    ``app``, whose metrics and log lines say ``app=label``; ``scrape`` gives the metric
    families read at scrape time (queue depths)."""
    app.extensions["observability"] = label
    configure_logging(label, [app.name], str(app.config.get("LOG_LEVEL") or "INFO"))
    app.logger.removeHandler(default_handler)
    # First of all hooks, so an earlier hook that answers by itself is still attributed.
    app.before_request_funcs.setdefault(None, []).insert(0, _note_endpoint)
    app.teardown_request(_note_user)
    app.wsgi_app = RequestObserver(app.wsgi_app, label, app.logger.getChild("request"))  # type: ignore[method-assign]
    app.register_blueprint(metrics_blueprint(app, scrape))
