"""The Alembic environment every app's migrations run in (each ``migrations/env.py``
calls ``run``): the engine and metadata come from the Flask app that Flask-Migrate runs
under, so the portal, the simulator and the diary migrate their own databases only."""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from shared.logs import json_handler

logger = logging.getLogger("alembic.env")


def _metadata(target_db):
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run() -> None:
    config = context.config
    # The app's JSON logging (shared/logs.py) stays when it is set up; the ini file's
    # plain logging is for Alembic run on its own. Either way no logger that exists is
    # turned off (fileConfig's default would silence the apps' loggers).
    if json_handler() is not None:
        logging.getLogger("alembic").setLevel(logging.INFO)
    elif config.config_file_name:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    target_db = current_app.extensions["migrate"].db
    engine = target_db.engine
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )

    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=_metadata(target_db),
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def skip_empty_revisions(_context, _revision, directives):
        # `flask db migrate` with no schema change writes no empty revision file.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = skip_empty_revisions
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(target_db), **conf_args)
        with context.begin_transaction():
            context.run_migrations()
