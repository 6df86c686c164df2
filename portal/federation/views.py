"""``POST /federation/events``: messages the regional diaries send the portal."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from portal.extensions import csrf
from portal.federation import services
from shared.errors import error_response

bp = Blueprint("federation", __name__, url_prefix="/federation")


@bp.post("/events")
@csrf.exempt  # server to server: the diary authenticates as its OAuth client instead
def events():
    auth = request.authorization
    client_id = services.authenticate_diary(
        auth.username if auth else None, auth.password if auth else None
    )
    if client_id is None:
        response = error_response(401, code="invalid_client")[0]
        response.headers["WWW-Authenticate"] = 'Basic realm="federation"'
        return response, 401
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400)
    return jsonify(services.receive(client_id, body.get("event"), body.get("data")))
