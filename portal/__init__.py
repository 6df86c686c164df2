"""The citizen identity portal (an OpenID Provider, in later issues)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from portal.admin.cli import admin_cli
from portal.admin.views import bp as admin_bp
from portal.catalog.views import bp as catalog_bp
from portal.demo import seed_command
from portal.extensions import csrf, db, limiter, migrate
from portal.family.trusted_views import bp as trusted_bp
from portal.family.views import bp as family_bp
from portal.federation.services import federation_cli, init_federation
from portal.federation.views import bp as federation_bp
from portal.identity.cabinet import bp as cabinet_bp
from portal.identity.cli import citizen_cli
from portal.identity.expiry import end_expired_session
from portal.identity.models import web_session
from portal.identity.tasks import register_tasks
from portal.identity.views import bp as identity_bp
from portal.keys import pii_cli
from portal.metrics import queue_depths
from portal.oidc import key_models  # noqa: F401  (tables known to Alembic)
from portal.oidc.backchannel import logout_deliveries_cli
from portal.oidc.backchannel import register_tasks as register_logout_tasks
from portal.oidc.cabinet import bp as applications_bp
from portal.oidc.cli import client_cli, rotate_keys_command
from portal.oidc.logout import bp as oidc_logout_bp
from portal.oidc.server import init_oidc_server
from portal.oidc.sweep import oidc_cli
from portal.oidc.sweep import register_tasks as register_sweep_tasks
from portal.oidc.views import bp as oidc_bp
from portal.operator.cli import operator_cli
from portal.operator.views import bp as operator_bp
from portal.proofing.cli import checks_cli
from portal.proofing.tasks import register_tasks as register_proofing_tasks
from portal.proofing.views import bp as proofing_bp
from shared.config import load_config
from shared.crypto import init_crypto
from shared.database import init_database
from shared.errors import register_error_handlers
from shared.health import database_check, health_blueprint, redis_check
from shared.i18n import init_i18n
from shared.jobs import init_celery
from shared.observability import init_observability
from shared.security import init_security
from shared.sessions import init_sessions
from shared.web import init_web

HERE = Path(__file__).resolve().parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, name="portal", prefix="PORTAL_", overrides=config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    init_observability(app, "portal", queue_depths)

    init_database(app, db)
    migrate.init_app(
        app, db, directory=str(HERE / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    limiter.init_app(app)
    init_crypto(app)
    init_i18n(app, HERE / "translations")
    init_security(app)
    celery = init_celery(app)
    register_tasks(celery)
    register_proofing_tasks(celery)
    init_web(app)

    init_sessions(app, web_session, lambda: db.engine, on_expired=end_expired_session)
    app.register_blueprint(identity_bp)
    app.register_blueprint(cabinet_bp)
    app.register_blueprint(proofing_bp)
    app.register_blueprint(family_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(trusted_bp)
    app.register_blueprint(operator_bp)
    app.register_blueprint(oidc_bp)
    app.register_blueprint(oidc_logout_bp)
    register_logout_tasks(celery)
    register_sweep_tasks(celery)
    app.cli.add_command(logout_deliveries_cli)
    app.cli.add_command(oidc_cli)
    app.register_blueprint(applications_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(federation_bp)
    app.cli.add_command(federation_cli)
    init_federation(app, celery)
    init_oidc_server(app)
    app.register_blueprint(health_blueprint([database_check(lambda: db.engine), redis_check()]))
    register_error_handlers(app)
    app.cli.add_command(citizen_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(pii_cli)
    app.cli.add_command(operator_cli)
    app.cli.add_command(admin_cli)
    app.cli.add_command(checks_cli)
    app.cli.add_command(client_cli)
    app.cli.add_command(rotate_keys_command)
    return app
