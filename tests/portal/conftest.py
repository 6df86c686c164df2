"""Fixtures the portal's tests share: Maria (a simplified citizen with a phone and an
e-mail), a registered relying party, Maria's browser signed in to the portal, and a
portal with a scratch database to migrate up and down. A module that needs more of one
defines its own of the same name."""

from __future__ import annotations

import logging
import os
import uuid

import pytest
import sqlalchemy as sa

from portal import create_app as create_portal
from portal.extensions import db
from tests.conftest import ROOT, portal_config
from tests.portal.oidc_helpers import Browser, register

MIGRATIONS = str(ROOT / "portal" / "migrations")

PHONE = "+79161234567"
EMAIL = "maria@example.ru"


@pytest.fixture
def citizen(make_citizen):
    return make_citizen(phone=PHONE, email=EMAIL)


@pytest.fixture
def rp(app):
    return register()


@pytest.fixture
def browser(app, citizen):
    """The citizen's browser, signed in to the portal."""
    person = Browser(app, PHONE)
    person.sign_in()
    return person


@pytest.fixture
def scratch_portal(tmp_path, simulator):
    """A portal with a database of its own (a schema of its own on PostgreSQL), which the
    test may migrate up and down without touching the suite's database."""
    _sim, box = simulator
    # Alembic's logging setup (fileConfig) disables every logger that exists: give the
    # rest of the suite back the ones this test's migrations turn off.
    enabled = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.disabled
    ]
    base = os.environ.get("TEST_PORTAL_DATABASE_URL")
    schema = None
    if base:
        schema = f"pii_upgrade_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = (
            sa.engine.make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    else:
        url = f"sqlite:///{tmp_path / 'scratch.db'}"
    app = create_portal(portal_config(tmp_path, box, DATABASE_URL=url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    for logger in enabled:
        logger.disabled = False
