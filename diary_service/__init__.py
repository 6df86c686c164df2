"""A regional electronic school diary: the app's frame (config, database, migrations,
sessions, languages, error pages, health), sign-in through the portal (``auth``) and the
rooms: ``school`` (structure, timetable, roster), ``journal`` (lessons, marks,
attendance, homework), ``family`` (the students' diary pages), ``messages`` (threads and
notifications) and ``reports``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from diary_service.answers.views import bp as answers_bp
from diary_service.api.views import bp as api_bp
from diary_service.applications.views import bp as applications_bp
from diary_service.auth.oidc import init_oidc, issuer
from diary_service.auth.views import bp as auth_bp
from diary_service.demo.seed import seed_command
from diary_service.extensions import csrf, db, limiter, migrate
from diary_service.family.signin import init_sign_in
from diary_service.family.views import bp as family_bp
from diary_service.federation.services import federation_cli
from diary_service.federation.services import register_tasks as register_federation_tasks
from diary_service.federation.views import bp as federation_bp
from diary_service.housekeeping import prune_command
from diary_service.journal.lessons import init_lessons
from diary_service.journal.views import bp as journal_bp
from diary_service.messages.cli import notifications_cli
from diary_service.messages.notify import init_notifications
from diary_service.messages.views import bp as messages_bp
from diary_service.metrics import queue_depths
from diary_service.models import diary_session, partitions
from diary_service.reports.aggregates import init_aggregates
from diary_service.reports.cli import reports_cli
from diary_service.reports.views import bp as reports_bp
from diary_service.school import views_classes, views_notices  # noqa: F401  (their pages join school_bp)
from diary_service.school.cli import roster_cli
from diary_service.school.views import bp as school_bp
from diary_service.school.years_cli import years_cli
from diary_service.views import bp as home_bp
from shared.config import load_config
from shared.database import init_database
from shared.errors import register_error_handlers
from shared.health import database_check, health_blueprint, redis_check, url_check
from shared.i18n import init_i18n
from shared.jobs import init_celery
from shared.observability import init_observability
from shared.security import init_security
from shared.sessions import init_sessions
from shared.web import init_web

HERE = Path(__file__).resolve().parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, name="diary", prefix="DIARY_", overrides=config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    init_observability(app, "diary", queue_depths)

    init_database(app, db)
    migrate.init_app(
        app,
        db,
        directory=str(HERE / "migrations"),
        render_as_batch=True,
        compare_type=True,
        include_name=partitions.include_name,
        include_object=partitions.include_object,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    init_i18n(app, HERE / "translations")
    init_security(app)
    register_federation_tasks(init_celery(app))
    init_notifications(app)
    init_lessons(app)
    init_aggregates(app)
    init_sign_in(app)
    init_web(app)
    init_sessions(app, diary_session, lambda: db.engine)
    init_oidc(app)

    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(federation_bp)
    for room in (school_bp, journal_bp, family_bp, messages_bp, reports_bp, answers_bp, api_bp):
        app.register_blueprint(room)
    app.register_blueprint(applications_bp)
    # The portal being down leaves the diary "degraded", not out (shared/health.py).
    portal = url_check(
        "portal",
        lambda app: issuer(app) + "/readyz",
        cache_seconds=float(app.config["READINESS_PORTAL_CACHE"]),
    )
    readiness = [database_check(lambda: db.engine), redis_check(), portal]
    app.register_blueprint(health_blueprint(readiness))
    register_error_handlers(app)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(federation_cli)
    app.cli.add_command(roster_cli)
    app.cli.add_command(years_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(prune_command)
    app.cli.add_command(seed_command)
    return app
