"""Tables of the diary's frame, and every room's tables imported so the metadata (and
Alembic) sees them all."""

from diary_service.answers import models as answers_models  # noqa: F401
from diary_service.auth import models as auth_models  # noqa: F401
from diary_service.extensions import db
from diary_service.family import models as family_models  # noqa: F401
from diary_service.journal import models as journal_models  # noqa: F401
from diary_service.messages import models as messages_models  # noqa: F401
from diary_service.reports import models as reports_models  # noqa: F401
from diary_service.school import models as school_models  # noqa: F401
from shared.sessions import make_session_table

diary_session = make_session_table(db.metadata, "diary_session")
