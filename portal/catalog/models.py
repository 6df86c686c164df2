"""A citizen's service application and its status history."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.family.models import Child
from shared.sessions import utcnow

# sent → received → in_progress → done | refused; undelivered when delivery was given up.
SENT, RECEIVED, IN_PROGRESS, DONE, REFUSED, UNDELIVERED = (
    "sent",
    "received",
    "in_progress",
    "done",
    "refused",
    "undelivered",
)
OPEN = frozenset({SENT, RECEIVED, IN_PROGRESS})
_IS_OPEN = sa.text("status IN ('sent', 'received', 'in_progress')")


class ServiceApplication(db.Model):
    """What the parent applied for, as they chose it (the school's name as the diary
    listed it then), and where it stands."""

    __tablename__ = "service_application"
    __table_args__ = (
        # One open application per parent, child and school, even when "Send" is pressed
        # twice at once (the service checks first, to say so plainly).
        sa.Index(
            "ix_service_application_open",
            "citizen_id",
            "child_id",
            "region_code",
            "school_id",
            unique=True,
            sqlite_where=_IS_OPEN,
            postgresql_where=_IS_OPEN,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id the diary and the citizen see (the message's idempotency key); never the row id.
    public_id: Mapped[str] = mapped_column(
        sa.String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    service: Mapped[str] = mapped_column(sa.String(40))
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(40))
    region_name: Mapped[str] = mapped_column(sa.String(200))
    # The region's diary as an OAuth client: only it may report on this application.
    client_id: Mapped[str] = mapped_column(sa.String(100))
    school_id: Mapped[int]
    school_name: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(16), default=SENT, index=True)
    reason: Mapped[str | None] = mapped_column(sa.String(1000))
    received_at: Mapped[datetime | None]
    deadline: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    child: Mapped[Child] = relationship()
    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="ApplicationEvent.id",
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def number(self) -> str:
        """The short number the citizen quotes (the start of the public id)."""
        return self.public_id[:8].upper()

    def __repr__(self) -> str:
        return f"<ServiceApplication {self.id} {self.status}>"


class ApplicationEvent(db.Model):
    """One status the application reached: when it happened and why."""

    __tablename__ = "application_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_application.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.String(1000))
    at: Mapped[datetime]  # when it happened (the diary's time for its statuses)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[ServiceApplication] = relationship(back_populates="events")
