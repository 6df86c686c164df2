"""Testers' access on a stand: with ``TESTER_TOKEN`` set, the console, the inboxes (every
one-time code sent) and the JSON API (registry decisions, rules, the population) answer
only a request that carries the token, as ``Authorization: Bearer <token>`` (scripts) or
as the password of HTTP Basic with any user name (a browser asks for it).

The endpoints the portal and the diaries call keep their own protection: the registries'
protocol endpoint checks the signature of every request, the SMS gateway its own bearer
token (``SMS_GATEWAY_TOKEN``). Health checks and static files stay open.

Without a token (the embedded default on 127.0.0.1, the test suite) everything is open;
with ``ENV=production`` the simulator does not start without one (config/simulator.toml).
"""

from __future__ import annotations

import hmac

from flask import Flask, current_app, request
from flask_babel import gettext

from shared.errors import error_response

OPEN_ENDPOINTS = frozenset(
    {
        "registries_api.receive_request",  # signed by the portal (REGISTRY_KEY)
        "inbox.sms_gateway",  # SMS_GATEWAY_TOKEN
        "health.healthz",
        "health.readyz",
        "static",
        "shared.static",
    }
)


def init_tester_access(app: Flask) -> None:
    app.before_request(_require_tester)


def _given_token() -> str:
    auth = request.authorization
    if auth is None:
        return ""
    if auth.type == "bearer":
        return auth.token or ""
    if auth.type == "basic":
        return auth.password or ""
    return ""


def _require_tester():
    token = current_app.config.get("TESTER_TOKEN") or ""
    if not token or request.endpoint in OPEN_ENDPOINTS:
        return None
    if hmac.compare_digest(_given_token().encode(), token.encode()):
        return None
    response, status = error_response(
        401,
        gettext("This simulator is for the testers of this stand: give the tester token."),
        "invalid_token",
    )
    response = current_app.make_response((response, status))
    response.headers["WWW-Authenticate"] = 'Basic realm="simulator", charset="UTF-8"'
    return response
