"""Liveness and readiness, the same on every app."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError


def health_blueprint(engine_getter) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz():
        """The process answers."""
        return jsonify(status="ok")

    @bp.get("/readyz")
    def readyz():
        """The process can reach its database."""
        try:
            with engine_getter().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except SQLAlchemyError:
            current_app.logger.warning("readiness check: database unreachable")
            return jsonify(status="unavailable", database="unreachable"), 503
        return jsonify(status="ok", database="ok")

    return bp
