"""Each app's migrations build exactly the schema its models describe: a model changed
without its migration fails here, not on a production upgrade."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from diary_service.extensions import db as diary_db
from portal.extensions import db as portal_db


@pytest.mark.parametrize("which", ["portal", "diary"])
def test_migrations_match_the_models(which, portal_app, diary_app):
    app, db = (portal_app, portal_db) if which == "portal" else (diary_app, diary_db)
    with app.app_context(), db.engine.connect() as conn:
        # The app's own comparison options: the diary leaves out what only PostgreSQL's
        # partitioning has (diary_service/models/partitions.py).
        options = app.extensions["migrate"].configure_args
        context = MigrationContext.configure(conn, opts={"compare_type": True, **options})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
