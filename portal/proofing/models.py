"""Documents and the registry checks that prove them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from shared.sessions import utcnow


class Document(db.Model):
    """One identity document of a citizen. The number is encrypted; ``details`` holds
    what is not secret (issue date, issuer)."""

    __tablename__ = "document"
    __table_args__ = (sa.UniqueConstraint("citizen_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))  # passport, inn, oms, driving_licence
    number_encrypted: Mapped[str] = mapped_column(sa.Text)
    number_index: Mapped[str] = mapped_column(sa.String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Document {self.id} {self.kind}>"


# A check in one of these statuses takes no answer any more.
FINAL = ("approved", "rejected", "superseded")


class VerificationCheck(db.Model):
    """A request to a registry and its answer.

    ``public_id`` is the request id the registry sees. A check is ``queued`` until the
    registry accepts it (a registry that is down leaves it queued, retried with backoff,
    never rejected), ``pending`` until it answers, then ``approved`` or ``rejected``. A
    newer check of the same thing makes an older one ``superseded``: its answer changes
    nothing.
    """

    __tablename__ = "verification_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    child_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("child.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(
        sa.String(16)
    )  # snils, passport, letter, child_relation, child_snils
    registry_code: Mapped[str] = mapped_column("registry", sa.String(8))  # sfr, mvd, zags, post
    status: Mapped[str] = mapped_column(sa.String(12), default="queued", index=True)
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    reason_text: Mapped[str | None] = mapped_column(sa.String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


class RegistryCallback(db.Model):
    """Every callback id taken once: a replayed answer changes nothing."""

    __tablename__ = "registry_callback"

    callback_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    check_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("verification_check.id", ondelete="CASCADE")
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class LetterCode(db.Model):
    """A code sent in a registered letter; entering it confirms the identity."""

    __tablename__ = "letter_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    check_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("verification_check.id", ondelete="SET NULL")
    )
    # Encrypted, not hashed: the job that hands the letter to the Post needs the code.
    code_encrypted: Mapped[str] = mapped_column(sa.Text)
    address: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
