"""Extensions, unbound; ``create_app`` binds them."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from shared.models import metadata


class Base(DeclarativeBase):
    """The simulator's own declarative base."""

    metadata = metadata()


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
# The tester console's forms carry CSRF tokens; the machine endpoints (registry requests,
# SMS gateway, JSON API) are exempted where their blueprints are registered.
csrf = CSRFProtect()
