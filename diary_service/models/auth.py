"""People as the portal knows them, the children it verified for them, and the portal
sessions their diary sessions belong to.

Everything here is a copy of what the portal released at the person's last sign-in;
the portal stays the source of truth and the next sign-in overwrites it. The SNILS is
kept only as a keyed hash (``snils_index``): the diary can match it against its student
register later without ever holding the number.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from diary_service.extensions import db
from shared.sessions import utcnow


def full_name(*parts: str | None) -> str:
    """«Иванова Мария Петровна»: the parts there are, in order."""
    return " ".join(part for part in parts if part)


class DiaryPerson(db.Model):
    """Someone who has signed in to the diary through the portal."""

    __tablename__ = "diary_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The portal's subject identifier: stable, never reassigned (OIDC Core §2).
    sub: Mapped[str] = mapped_column(sa.String(64), unique=True)
    family_name: Mapped[str] = mapped_column(sa.String(100), default="")
    given_name: Mapped[str] = mapped_column(sa.String(100), default="")
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    # HMAC-SHA256 of the verified SNILS under the diary's BLIND_INDEX_KEY; None while the
    # portal does not release one (an account below the standard level).
    snils_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # Contacts the portal released (scopes ``email`` and ``phone``): where the diary's
    # notifications go. None when not released or not confirmed there.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    acr: Mapped[str] = mapped_column(sa.String(100), default="")  # at the last sign-in
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_in_at: Mapped[datetime] = mapped_column(default=utcnow)

    children: Mapped[list[PortalChild]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PortalChild.position"
    )

    def __repr__(self) -> str:  # no names or numbers: they are personal data
        return f"<DiaryPerson {self.id}>"

    @property
    def full_name(self) -> str:
        return full_name(self.family_name, self.given_name, self.middle_name)


class PortalChild(db.Model):
    """A child the portal verified for a person (the ``kids`` claim), as of their last
    sign-in. The child's SNILS is kept only as its keyed hash, like the person's: with
    the birth date it finds the child in the student register
    (``diary_service.family.portal_links``)."""

    __tablename__ = "portal_child"
    __table_args__ = (sa.UniqueConstraint("person_id", "portal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Found through the unique (person_id, portal_id).
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("diary_person.id", ondelete="CASCADE"))
    # The portal's id of the child record: the same for both parents.
    portal_id: Mapped[str] = mapped_column(sa.String(64))
    family_name: Mapped[str] = mapped_column(sa.String(100), default="")
    given_name: Mapped[str] = mapped_column(sa.String(100), default="")
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(default=0)  # the portal's order (eldest first)
    # HMAC-SHA256 of the child's SNILS under BLIND_INDEX_KEY, and the birth date: None
    # when the portal released none (or a malformed one).
    snils_index: Mapped[str | None] = mapped_column(sa.String(64))
    birth_date: Mapped[date | None]
    # The student both match, as of the last sign-in; None when nobody matches.
    student_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("student.id", ondelete="SET NULL"), index=True
    )

    person: Mapped[DiaryPerson] = relationship(back_populates="children")

    def __repr__(self) -> str:
        return f"<PortalChild {self.id}>"

    @property
    def full_name(self) -> str:
        return full_name(self.family_name, self.given_name, self.middle_name)


class PortalSession(db.Model):
    """A portal session (``sid``) a person signed in to the diary from: back-channel
    logout names the portal session, and this finds whose diary sessions to end."""

    __tablename__ = "portal_session"
    __table_args__ = (sa.UniqueConstraint("sid", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(sa.String(64))  # found through the unique (sid, person_id)
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<PortalSession {self.id}>"
