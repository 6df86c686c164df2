"""The simulator's database and its inboxes' table."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.models import metadata
from shared.sessions import utcnow


class Base(DeclarativeBase):
    """The simulator's own declarative base."""

    metadata = metadata()


# The simulator's database, unbound (``create_app`` binds it): its tables (here and in
# ``registries/models.py``) are the lowest layer of the simulator and import nothing above.
db = SQLAlchemy(model_class=Base)


class InboxMessage(db.Model):
    """An SMS or e-mail that reached the simulated gateway or relay."""

    __tablename__ = "inbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(8), index=True)  # "sms" or "email"
    recipient: Mapped[str] = mapped_column(sa.String(254), index=True)
    sender: Mapped[str] = mapped_column(sa.String(254), default="")
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "channel": self.channel,
            "to": self.recipient,
            "from": self.sender,
            "subject": self.subject,
            "body": self.body,
            "received_at": self.received_at.isoformat() + "Z",
        }
