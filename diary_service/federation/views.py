"""Endpoints the portal calls: its signed messages, and the school directory its
application form shows."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from diary_service.extensions import csrf
from diary_service.federation import services

bp = Blueprint("federation", __name__, url_prefix="/federation")


@bp.post("/events")
@csrf.exempt  # server to server from the portal; the signed message is the proof
def events():
    answer = services.receive(request.get_data(as_text=True))
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/schools")
def schools():
    """The region's schools: public information, as on the department's own site."""
    response = jsonify(schools=services.school_directory())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
