"""Extensions, unbound; ``create_app`` binds them. The database (``db``) is the
simulator's tables' own, in ``portal/simulator/models.py``, so that its tables import
nothing above them."""

from flask_migrate import Migrate
from flask_wtf import CSRFProtect

migrate = Migrate()
# The tester console's forms carry CSRF tokens; the machine endpoints (registry requests,
# SMS gateway, JSON API) are exempted where their blueprints are registered.
csrf = CSRFProtect()
