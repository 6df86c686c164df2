"""Tables of the identity room."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from shared.sessions import make_session_table, utcnow

web_session = make_session_table(db.metadata, "web_session", with_sid=True)


class Citizen(db.Model):
    __tablename__ = "citizen"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stable public identifier (the OpenID ``sub`` later); never the row id.
    public_id: Mapped[str] = mapped_column(
        sa.String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    surname: Mapped[str] = mapped_column(sa.String(100))
    given_name: Mapped[str] = mapped_column(sa.String(100))
    patronymic: Mapped[str | None] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    phone_verified_at: Mapped[datetime | None]
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    email_verified_at: Mapped[datetime | None]
    # SNILS: encrypted value plus blind index for sign-in and duplicate search.
    snils_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    snils_index: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    locale: Mapped[str] = mapped_column(sa.String(5), default="ru")
    level: Mapped[str] = mapped_column(sa.String(16), default="simplified")
    failed_logins: Mapped[int] = mapped_column(default=0)
    lockout_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Second factor: None, "sms" or "totp".
    mfa_method: Mapped[str | None] = mapped_column(sa.String(8))
    totp_secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Personal data (the profile); document numbers live encrypted in ``Document``.
    gender: Mapped[str | None] = mapped_column(sa.String(1))  # "M" or "F"
    birth_date: Mapped[date | None]
    birth_place: Mapped[str | None] = mapped_column(sa.String(200))
    citizenship: Mapped[str | None] = mapped_column(sa.String(3))  # ISO 3166 alpha-3, "RUS"
    registration_address: Mapped[str | None] = mapped_column(sa.String(300))
    actual_address: Mapped[str | None] = mapped_column(sa.String(300))
    # Identity confirmed in person or by a registered letter: how, when, by whom.
    confirmed_at: Mapped[datetime | None]
    confirmed_method: Mapped[str | None] = mapped_column(sa.String(16))  # "operator" or "letter"
    confirmed_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="SET NULL")
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consents: Mapped[list[Consent]] = relationship(
        back_populates="citizen", cascade="all, delete-orphan"
    )
    operator: Mapped[Operator | None] = relationship(
        back_populates="citizen", foreign_keys="Operator.citizen_id"
    )

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.given_name, self.patronymic) if p)

    def __repr__(self) -> str:  # no personal data in logs or tracebacks
        return f"<Citizen {self.id}>"


class Consent(db.Model):
    """Consent to personal-data processing (152-FZ), with the policy version accepted."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    policy_version: Mapped[str] = mapped_column(sa.String(32))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")

    citizen: Mapped[Citizen] = relationship(back_populates="consents")


class RecoveryCode(db.Model):
    """Single-use codes that stand in for the second factor when the phone is lost."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None]


class CodeChallenge(db.Model):
    """A one-time code sent to a phone or an e-mail address for one purpose.

    ``deliverable`` is false when the code was never sent (registering a contact that
    already has an account): the flow looks the same to the person, no code can match.
    """

    __tablename__ = "code_challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    purpose: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(8))  # "sms" or "email"
    destination: Mapped[str] = mapped_column(sa.String(254))
    citizen_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    deliverable: Mapped[bool] = mapped_column(default=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    send_count: Mapped[int] = mapped_column(default=1)
    last_sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CodeChallenge {self.id} {self.purpose}>"


class SecurityEvent(db.Model):
    """The cabinet's "recent actions": sign-ins, failures, lockouts, changes."""

    __tablename__ = "security_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class Operator(db.Model):
    """A service-centre operator: confirms citizens' identity in person."""

    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), unique=True
    )
    service_centre: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    citizen: Mapped[Citizen] = relationship(back_populates="operator", foreign_keys=[citizen_id])


class Administrator(db.Model):
    """A portal administrator: registers, disables and re-keys OpenID Connect clients."""

    __tablename__ = "administrator"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UndoLink(db.Model):
    """The link in the notice of a sensitive change that lets the owner take it back.

    Sent to the contacts the account had before the change; single use, valid
    ``UNDO_LINK_LIFETIME`` seconds. Only the SHA-256 of its random token is stored.
    ``action`` is ``contact``, ``password``, ``mfa_on``, ``mfa_off`` or
    ``recovery_codes``; ``payload`` holds what undoing needs (the old contact, the
    method turned on or off), never a secret in plain text.
    """

    __tablename__ = "undo_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<UndoLink {self.id} {self.action}>"
