from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from shared.models import metadata


class Base(DeclarativeBase):
    """The simulator's own declarative base."""

    metadata = metadata()


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
