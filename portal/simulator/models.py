from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.simulator.extensions import db
from shared.sessions import utcnow


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
