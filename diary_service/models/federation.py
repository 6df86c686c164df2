"""The diary's outbox of messages to the portal."""

from __future__ import annotations

import sqlalchemy as sa

from diary_service.extensions import db
from shared.federation import OutboxMixin


class PortalMessage(OutboxMixin, db.Model):
    """A message owed to the portal (``target`` is always ``"portal"``)."""

    __tablename__ = "portal_message"
    __table_args__ = (sa.UniqueConstraint("event", "target", "key"),)
