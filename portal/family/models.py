"""A child record and the parents linked to it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.identity.models import Citizen
from shared.sessions import utcnow


class Child(db.Model):
    """One child, whoever added it: two parents adding the same SNILS share the record."""

    __tablename__ = "child"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stable identifier other services see (the ``kids`` claim); never the row id.
    public_id: Mapped[str] = mapped_column(
        sa.String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    surname: Mapped[str] = mapped_column(sa.String(100))
    given_name: Mapped[str] = mapped_column(sa.String(100))
    patronymic: Mapped[str | None] = mapped_column(sa.String(100))
    birth_date: Mapped[date]
    gender: Mapped[str] = mapped_column(sa.String(1))
    snils_encrypted: Mapped[str] = mapped_column(sa.Text)
    snils_index: Mapped[str] = mapped_column(sa.String(64), unique=True)
    certificate_encrypted: Mapped[str] = mapped_column(sa.Text)  # "IV-МЮ 512345"
    certificate_details: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, default=dict
    )  # issue date, office
    snils_verified_at: Mapped[datetime | None]
    # When ЗАГС first confirmed the certificate, names and birth date (for any parent).
    # Until then the record is a draft that refuses no one; from then on it is the
    # child's data, and data that differ are refused.
    confirmed_at: Mapped[datetime | None]
    # The child's own portal account (14 and older), matched by SNILS.
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("citizen.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parents: Mapped[list[ParentLink]] = relationship(
        back_populates="child", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.given_name, self.patronymic) if p)

    def __repr__(self) -> str:
        return f"<Child {self.id}>"


class ParentLink(db.Model):
    """A citizen's claim to be a child's parent; verified when ЗАГС names them on the
    birth certificate and СФР confirms the child's SNILS."""

    __tablename__ = "parent_link"
    __table_args__ = (sa.UniqueConstraint("parent_id", "child_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    relation_verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    child: Mapped[Child] = relationship(back_populates="parents")


class TrustedGrant(db.Model):
    """A parent's grant of one verified child's diary to another citizen (a relative, a
    nanny): it waits for the invitee to accept, opens ``TRUSTED_ACCESS_DELAY`` seconds
    after acceptance and lasts until ``until`` (inclusive) or until a parent revokes it.

    ``public_id`` is the ``grant`` of the ``trusted`` claim and of the ``trusted.revoked``
    message: the diaries know the grant by it, never by the row id.
    """

    __tablename__ = "trusted_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    granter_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    grantee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    # The diary's words: schedule, homework, marks, attendance, remarks, messages.
    sections: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    opens_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # "parent" (a parent pressed Revoke) or "link_removed" (the granter is no longer
    # linked to the child).
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(16))
    revoked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="SET NULL")
    )

    child: Mapped[Child] = relationship()
    granter: Mapped[Citizen] = relationship(foreign_keys=[granter_id])
    grantee: Mapped[Citizen] = relationship(foreign_keys=[grantee_id])

    def __repr__(self) -> str:
        return f"<TrustedGrant {self.id}>"
