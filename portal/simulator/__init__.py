"""The simulator: stands in for outside systems the portal talks to.

The government registries (СФР, МВД, ЗАГС, Почта России) with a tester console and a JSON
API, the SMS gateway and the mail relay with their dev inboxes. It is its own app with
its own storage and migrations; it shares no tables with the portal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from portal.simulator.access import init_tester_access
from portal.simulator.cli import serve_command
from portal.simulator.extensions import csrf, migrate
from portal.simulator.inbox import bp as inbox_bp
from portal.simulator.models import db
from portal.simulator.registries.api import bp as registries_api_bp
from portal.simulator.registries.cli import population_cli
from portal.simulator.registries.views import bp as registries_bp
from shared.config import load_config
from shared.database import init_database
from shared.errors import register_error_handlers
from shared.health import database_check, health_blueprint
from shared.i18n import init_i18n
from shared.observability import init_observability
from shared.security import init_security
from shared.web import init_web

HERE = Path(__file__).resolve().parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__, instance_relative_config=True, instance_path=str(HERE.parents[1] / "instance")
    )
    load_config(app, name="simulator", prefix="SIMULATOR_", overrides=config)
    init_observability(app, "simulator")
    init_database(app, db)
    migrate.init_app(
        app, db, directory=str(HERE / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    init_i18n(app, HERE.parent / "translations")
    init_security(app)
    init_web(app)
    init_tester_access(app)
    # Machine endpoints (the SMS gateway, registry requests, JSON APIs) carry no cookies
    # and so no CSRF tokens; the console's forms do.
    csrf.exempt(inbox_bp)
    csrf.exempt(registries_api_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(registries_bp)
    app.register_blueprint(registries_api_bp)
    app.register_blueprint(health_blueprint([database_check(lambda: db.engine)]))
    register_error_handlers(app)
    app.cli.add_command(serve_command)
    app.cli.add_command(population_cli)
    return app
