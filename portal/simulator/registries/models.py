"""Tables of the simulated registries: the reference population they check against,
the requests the portal sent, the answers (callbacks) going back, and the testers' rules.

The Post's registered letters are simply the ``post`` registry's requests: the subject
holds the code, the recipient and the address.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.simulator.models import db
from shared.sessions import utcnow

REGISTRIES = ("sfr", "mvd", "zags", "post")


class Person(db.Model):
    """Someone the registries know: the СФР by SNILS, the МВД by passport, the ЗАГС by certificate."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    surname: Mapped[str] = mapped_column(sa.String(100), index=True)
    given_name: Mapped[str] = mapped_column(sa.String(100))
    patronymic: Mapped[str | None] = mapped_column(sa.String(100))
    gender: Mapped[str] = mapped_column(sa.String(6))  # "male" or "female"
    birth_date: Mapped[date]
    snils: Mapped[str] = mapped_column(sa.String(11), unique=True)  # 11 digits

    passports: Mapped[list[Passport]] = relationship(
        back_populates="person", order_by="Passport.issue_date", cascade="all, delete-orphan"
    )
    certificate: Mapped[BirthCertificate | None] = relationship(
        back_populates="child", foreign_keys="BirthCertificate.child_id"
    )

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.given_name, self.patronymic) if p)

    def as_dict(self) -> dict[str, Any]:
        return {
            "surname": self.surname,
            "given_name": self.given_name,
            "patronymic": self.patronymic,
            "gender": self.gender,
            "birth_date": self.birth_date.isoformat(),
            "snils": self.snils,
            "passports": [p.as_dict() for p in self.passports],
            "birth_certificate": self.certificate.as_dict() if self.certificate else None,
        }

    def __repr__(self) -> str:
        return f"<Person {self.id}>"


class Passport(db.Model):
    __tablename__ = "passport"
    __table_args__ = (sa.UniqueConstraint("series", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    series: Mapped[str] = mapped_column(sa.String(4))
    number: Mapped[str] = mapped_column(sa.String(6))
    issue_date: Mapped[date]
    issuer_code: Mapped[str] = mapped_column(sa.String(7))  # "770-001"
    status: Mapped[str] = mapped_column(
        sa.String(8), default="valid"
    )  # valid|lost|expired|replaced

    person: Mapped[Person] = relationship(back_populates="passports")

    def as_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "number": self.number,
            "issue_date": self.issue_date.isoformat(),
            "issuer_code": self.issuer_code,
            "status": self.status,
        }

    def __repr__(self) -> str:
        return f"<Passport {self.id} {self.status}>"


class BirthCertificate(db.Model):
    __tablename__ = "birth_certificate"
    __table_args__ = (sa.UniqueConstraint("series", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(sa.String(10))  # "IV-МЮ"
    number: Mapped[str] = mapped_column(sa.String(6))
    issue_date: Mapped[date]
    registry_office: Mapped[str] = mapped_column(sa.String(200))
    child_id: Mapped[int] = mapped_column(
        sa.ForeignKey("person.id", ondelete="CASCADE"), unique=True
    )
    mother_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    father_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))

    child: Mapped[Person] = relationship(back_populates="certificate", foreign_keys=[child_id])
    mother: Mapped[Person] = relationship(foreign_keys=[mother_id])
    father: Mapped[Person | None] = relationship(foreign_keys=[father_id])

    def as_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "number": self.number,
            "issue_date": self.issue_date.isoformat(),
            "registry_office": self.registry_office,
            "child": _brief(self.child),
            "mother": _brief(self.mother),
            "father": _brief(self.father) if self.father else None,
        }

    def __repr__(self) -> str:
        return f"<BirthCertificate {self.id}>"


class RegistryRequest(db.Model):
    """A request the portal sent to one registry, and the answer it gets.

    ``pending``: the answer (``outcome``) is decided and goes out at ``due_at``;
    ``held``: a tester decides; ``answered``: the answer was issued at ``answered_at``
    and is being (or was) delivered, see ``deliveries``.
    """

    __tablename__ = "registry_request"
    __table_args__ = (sa.UniqueConstraint("registry", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "registry" is reserved on declarative classes: the attribute has another name.
    registry_name: Mapped[str] = mapped_column("registry", sa.String(8))
    request_id: Mapped[str] = mapped_column(sa.String(100))
    callback_url: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(8), index=True)  # pending|held|answered
    outcome: Mapped[str | None] = mapped_column(sa.String(10))  # approved|rejected|delivered
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    reason_text: Mapped[str | None] = mapped_column(sa.String(500))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]

    deliveries: Mapped[list[CallbackDelivery]] = relationship(
        back_populates="request", order_by="CallbackDelivery.id", cascade="all, delete-orphan"
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry_name,
            "request_id": self.request_id,
            "callback_url": self.callback_url,
            "subject": self.subject,
            "status": self.status,
            "outcome": self.outcome,
            "reason": self.reason,
            "reason_text": self.reason_text,
            "received_at": _iso(self.received_at),
            "due_at": _iso(self.due_at),
            "answered_at": _iso(self.answered_at),
            "deliveries": [d.as_dict() for d in self.deliveries],
        }

    def __repr__(self) -> str:
        return f"<RegistryRequest {self.registry_name} {self.request_id} {self.status}>"


class CallbackDelivery(db.Model):
    """One answer on its way to the portal. Retried with backoff until the portal takes it.

    ``next_attempt_at`` is None once there is nothing more to try: delivered, given up,
    or superseded by a newer answer to the same request.
    """

    __tablename__ = "callback_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_pk: Mapped[int] = mapped_column(
        sa.ForeignKey("registry_request.id", ondelete="CASCADE"), index=True
    )
    # The id of the latest attempt: every attempt is a new message with its own id.
    callback_id: Mapped[str | None] = mapped_column(sa.String(36))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[RegistryRequest] = relationship(back_populates="deliveries")

    def as_dict(self) -> dict[str, Any]:
        return {
            "callback_id": self.callback_id,
            "outcome": self.payload.get("outcome"),
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "delivered_at": _iso(self.delivered_at),
            "last_error": self.last_error,
        }

    def __repr__(self) -> str:
        return f"<CallbackDelivery {self.id} attempts={self.attempts}>"


class RegistryRule(db.Model):
    """How one registry answers: ``default_outcome`` auto|approve|reject|hold, a delay, down mode."""

    __tablename__ = "registry_rule"

    registry_name: Mapped[str] = mapped_column("registry", sa.String(8), primary_key=True)
    default_outcome: Mapped[str] = mapped_column(sa.String(8), default="auto")
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    reason_text: Mapped[str | None] = mapped_column(sa.String(500))
    delay_seconds: Mapped[int] = mapped_column(default=0)
    down: Mapped[str] = mapped_column(sa.String(8), default="none")  # none|error|timeout

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry_name,
            "default_outcome": self.default_outcome,
            "reason": self.reason,
            "reason_text": self.reason_text,
            "delay_seconds": self.delay_seconds,
            "down": self.down,
        }


class NumberOverride(db.Model):
    """A fixed answer for one document number, ahead of the registry's rule."""

    __tablename__ = "number_override"
    __table_args__ = (sa.UniqueConstraint("registry", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "registry" is reserved on declarative classes: the attribute has another name.
    registry_name: Mapped[str] = mapped_column("registry", sa.String(8))
    key: Mapped[str] = mapped_column(sa.String(40))
    outcome: Mapped[str] = mapped_column(sa.String(8))  # approve|reject|hold
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    reason_text: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry_name,
            "key": self.key,
            "outcome": self.outcome,
            "reason": self.reason,
            "reason_text": self.reason_text,
        }


def _iso(moment: datetime | None) -> str | None:
    """Times are stored as naive UTC; they leave as ISO 8601 with Z."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _brief(person: Person) -> dict[str, Any]:
    return {
        "surname": person.surname,
        "given_name": person.given_name,
        "patronymic": person.patronymic,
        "birth_date": person.birth_date.isoformat(),
        "snils": person.snils,
    }
