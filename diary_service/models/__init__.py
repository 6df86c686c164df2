"""The diary's tables, one module a room (``models.school``, ``models.journal``…), kept
in one low package so that any room may read another's tables without importing the
room itself; this module imports them all so the metadata (and Alembic) sees them."""

from diary_service.extensions import db
from diary_service.models import (  # noqa: F401  (registered on the metadata)
    answers,
    auth,
    family,
    federation,
    journal,
    messages,
    reports,
    school,
)
from shared.sessions import make_session_table

diary_session = make_session_table(db.metadata, "diary_session")
