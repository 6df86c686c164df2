"""Tables of the diary's frame; the rooms add their own."""

from diary_service.extensions import db
from shared.sessions import make_session_table

diary_session = make_session_table(db.metadata, "diary_session")
