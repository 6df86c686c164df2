"""Extensions, unbound; ``create_app`` binds them."""

from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from shared.models import metadata
from shared.security import client_address


class Base(DeclarativeBase):
    """The diary's own declarative base: its tables never mix with the portal's."""

    metadata = metadata()


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_address, default_limits=[])
