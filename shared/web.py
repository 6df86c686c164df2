"""What every app's web layer shares: the common templates (error pages, macros) and
static files, served under ``/shared-static``."""

from __future__ import annotations

from flask import Blueprint, Flask

from shared.validators import format_phone

bp = Blueprint(
    "shared",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/shared-static",
)


def init_web(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["phone"] = format_phone
