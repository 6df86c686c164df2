"""Sensitive changes of an account, the re-authentication they need and their undo.

A change of a contact, of the password, of the second factor (on or off) or of the
recovery codes needs a fresh re-authentication in the same session: the password, and
the second factor if it is on, within ``REAUTH_WINDOW`` seconds (the cabinet's views ask
for it, ``current.reauth_required``; GitHub's and Keycloak's "sudo mode"). So a stolen
session alone changes nothing that would let its thief keep the account.

Each change is written to the security log, and the contacts the account had before it
get a notice with an undo link (single use, valid ``UNDO_LINK_LIFETIME`` seconds). The
link restores the old contact, or the second factor as it was, withdraws recovery codes
issued by the change, ends every session and asks the owner to change the password.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.identity import codes, lockout, notifications
from portal.identity.factors import (
    SecondFactorFailed,
    check_totp,
    regenerate_recovery_codes,
    start_sms_factor,
    verify_second_factor,
)
from portal.identity.models import Citizen, CodeChallenge, RecoveryCode, UndoLink
from portal.identity.passwords import check_password_policy, hash_password, verify_password
from portal.identity.security_log import Origin, record_event
from portal.identity.services import (
    EMAIL,
    PHONE,
    InvalidCredentials,
    check_account_code,
    find_by_contact,
    parse_contact,
)
from portal.identity.sessions import end_all_sessions
from shared.crypto import seal
from shared.errors import DomainError, NotFound, ValidationError
from shared.sessions import utcnow


class WrongPassword(InvalidCredentials):
    default_message = _l("The password is wrong.")


class UndoLinkInvalid(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("This link has expired or has already been used.")


# --- re-authentication --------------------------------------------------------------


def check_password(citizen: Citizen, password: str, origin: Origin, *, completes: bool) -> None:
    """The password of a signed-in citizen, under the same lockout as sign-in."""
    right = lockout.guess(
        citizen,
        origin,
        lambda: verify_password(citizen.password_hash, password),
        failure="login_failed",
        completes=completes,
    )
    if not right:
        raise WrongPassword()


def reauthenticate(citizen: Citizen, password: str, origin: Origin) -> None:
    """The first step of re-authentication; complete unless a second factor is on."""
    check_password(citizen, password, origin, completes=citizen.mfa_method is None)
    if citizen.mfa_method is None:
        record_event(citizen, "reauthenticated", origin, amr=["pwd"])
    db.session.commit()


def start_reauth_sms(citizen: Citizen) -> CodeChallenge:
    return start_sms_factor(citizen, purpose="reauth")


def reauthenticate_second_factor(
    citizen: Citizen, code: str, challenge_id: str | None, origin: Origin
) -> None:
    """The second step: the code, under the lockout, as at sign-in."""
    try:
        method = verify_second_factor(citizen, code, challenge_id, origin, purpose="reauth")
    except SecondFactorFailed:
        if lockout.locked_until(citizen.id) is not None:
            raise lockout.AccountLocked(minutes=_minutes_locked(citizen)) from None
        raise
    record_event(citizen, "reauthenticated", origin, amr=["pwd", method])
    db.session.commit()


def _minutes_locked(citizen: Citizen) -> int:
    until = lockout.locked_until(citizen.id)
    return max(1, int((until - utcnow()).total_seconds() + 59) // 60) if until else 1


# --- undo links ---------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _offer_undo(citizen: Citizen, action: str, payload: dict[str, Any]) -> str:
    """Add an undo link for a change (committed with it) and return its address."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UndoLink(
            token_hash=_token_hash(token),
            citizen_id=citizen.id,
            action=action,
            payload=payload,
            expires_at=utcnow() + timedelta(seconds=int(current_app.config["UNDO_LINK_LIFETIME"])),
        )
    )
    return current_app.config["PUBLIC_URL"].rstrip("/") + "/account/undo/" + token


def _contacts_of(citizen: Citizen) -> list[tuple[str, str]]:
    """The confirmed contacts as they are now: where the notice of a change goes."""
    found = []
    if citizen.email and citizen.email_verified_at:
        found.append((EMAIL, citizen.email))
    if citizen.phone and citizen.phone_verified_at:
        found.append((PHONE, citizen.phone))
    return found


def find_undo(token: str) -> UndoLink:
    """The unused, unexpired undo link with this token (for the confirmation page)."""
    link = db.session.execute(
        sa.select(UndoLink).where(
            UndoLink.token_hash == _token_hash(token or ""),
            UndoLink.used_at.is_(None),
            UndoLink.expires_at > utcnow(),
        )
    ).scalar_one_or_none()
    if link is None:
        raise UndoLinkInvalid()
    return link


def undo_change(token: str, origin: Origin) -> Citizen:
    """Take a change back: the link is consumed by one UPDATE (single use), the change
    undone as far as the account still shows it, and every session ended."""
    now = utcnow()
    link_id = db.session.execute(
        sa.update(UndoLink)
        .where(
            UndoLink.token_hash == _token_hash(token or ""),
            UndoLink.used_at.is_(None),
            UndoLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(UndoLink.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if link_id is None:
        db.session.rollback()
        raise UndoLinkInvalid()
    link = db.session.get(UndoLink, link_id)
    citizen = db.session.execute(
        sa.select(Citizen).where(Citizen.id == link.citizen_id).with_for_update()
    ).scalar_one()
    UNDO[link.action](citizen, link.payload, now)
    record_event(citizen, "change_undone", origin, action=link.action)
    db.session.commit()
    end_all_sessions(citizen.id)
    return citizen


def _undo_contact(citizen: Citizen, payload: dict[str, Any], now) -> None:
    channel, old, new = payload["channel"], payload.get("old"), payload["new"]
    field = "email" if channel == EMAIL else "phone"
    if getattr(citizen, field) != new:
        return  # changed again since: the owner's newer choice stays
    if old is not None:
        holder = find_by_contact(channel, old)
        if holder is not None and holder.id != citizen.id:
            old = None  # someone else has it by now
    other = citizen.phone if field == "email" else citizen.email
    if old is None and other is None:
        return  # the account would be left without a contact
    setattr(citizen, field, old)
    setattr(citizen, f"{field}_verified_at", now if old is not None else None)


def _undo_mfa_on(citizen: Citizen, payload: dict[str, Any], now) -> None:
    if citizen.mfa_method != payload["method"]:
        return
    _turn_off_second_factor(citizen)


def _undo_mfa_off(citizen: Citizen, payload: dict[str, Any], now) -> None:
    if citizen.mfa_method is not None:
        return
    if payload["method"] == "totp" and payload.get("totp_secret_encrypted"):
        citizen.mfa_method = "totp"
        citizen.totp_secret_encrypted = payload["totp_secret_encrypted"]
    elif payload["method"] == "sms" and citizen.phone:
        citizen.mfa_method = "sms"


def _undo_recovery_codes(citizen: Citizen, payload: dict[str, Any], now) -> None:
    # Whoever renewed them holds the new codes: none of them may work any more.
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.citizen_id == citizen.id))


UNDO = {
    "contact": _undo_contact,
    "password": lambda citizen, payload, now: None,  # the owner sets a new one (recovery)
    "mfa_on": _undo_mfa_on,
    "mfa_off": _undo_mfa_off,
    "recovery_codes": _undo_recovery_codes,
}


# --- password -----------------------------------------------------------------------


def change_password(
    citizen: Citizen, current: str, new: str, origin: Origin, keep_session: str | None
) -> None:
    try:
        check_password(citizen, current, origin, completes=False)
    except WrongPassword:
        raise WrongPassword(_l("The current password is wrong.")) from None
    check_password_policy(new, [citizen.phone, citizen.email, citizen.surname, citizen.given_name])
    told = _contacts_of(citizen)
    citizen.password_hash = hash_password(new)
    citizen.password_changed_at = utcnow()
    record_event(citizen, "password_changed", origin)
    undo = _offer_undo(citizen, "password", {})
    db.session.commit()
    end_all_sessions(citizen.id, except_public_id=keep_session)
    notifications.tell_security_change(citizen, "password", undo_url=undo, contacts=told)


# --- contacts -----------------------------------------------------------------------


def start_contact_change(citizen: Citizen, contact: str) -> CodeChallenge:
    channel, value = parse_contact(contact)
    if value in (citizen.phone, citizen.email):
        raise ValidationError(_l("This is already your contact."))
    owner = find_by_contact(channel, value)
    challenge, code = codes.issue(
        purpose="contact",
        channel=channel,
        destination=value,
        citizen_id=citizen.id,
        deliverable=owner is None,
    )
    db.session.commit()
    if owner is None:
        notifications.send_code(channel, value, code, "contact")
    else:
        notifications.tell_contact_taken(channel, value, owner.locale)
    return challenge


def confirm_contact_change(citizen: Citizen, public_id: str, code: str, origin: Origin) -> None:
    """The code sent to the new contact (a guess under the lockout); the contacts the
    account had before are told, with the undo link."""
    challenge = codes.get(public_id, "contact")
    if challenge.citizen_id != citizen.id:
        raise NotFound()
    check_account_code(challenge, code, origin)
    told = _contacts_of(citizen)
    now = utcnow()
    if challenge.channel == EMAIL:
        old, citizen.email, citizen.email_verified_at = citizen.email, challenge.destination, now
    else:
        old, citizen.phone, citizen.phone_verified_at = citizen.phone, challenge.destination, now
    challenge.completed_at = now
    record_event(
        citizen, "contact_changed", origin, channel=challenge.channel, had_previous=old is not None
    )
    undo = _offer_undo(
        citizen, "contact", {"channel": challenge.channel, "old": old, "new": challenge.destination}
    )
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise codes.CodeExpired() from exc
    notifications.tell_security_change(citizen, "contact", undo_url=undo, contacts=told)


# --- second factor ------------------------------------------------------------------


def enable_totp(citizen: Citizen, secret: str, code: str, origin: Origin) -> list[str]:
    # The secret was shown to this session a moment ago: a wrong code here is a typo,
    # not a guess at the account's secret, and is not counted toward the lockout.
    if not check_totp(citizen, secret, code):
        raise SecondFactorFailed()
    told = _contacts_of(citizen)
    seal(citizen, totp_secret_encrypted=secret)
    citizen.mfa_method = "totp"
    return _finish_enabling(citizen, "totp", origin, told)


def start_sms_setup(citizen: Citizen) -> CodeChallenge:
    if not citizen.phone or not citizen.phone_verified_at:
        raise ValidationError(_l("Add and confirm a mobile phone number first."))
    challenge, code = codes.issue(
        purpose="mfa_setup", channel=PHONE, destination=citizen.phone, citizen_id=citizen.id
    )
    db.session.commit()
    notifications.send_code(PHONE, citizen.phone, code, "mfa_setup")
    return challenge


def enable_sms_factor(citizen: Citizen, challenge_id: str, code: str, origin: Origin) -> list[str]:
    challenge = codes.get(challenge_id, "mfa_setup")
    if challenge.citizen_id != citizen.id or challenge.destination != citizen.phone:
        raise NotFound()
    check_account_code(challenge, code, origin)
    told = _contacts_of(citizen)
    citizen.mfa_method = "sms"
    citizen.totp_secret_encrypted = None
    return _finish_enabling(citizen, "sms", origin, told)


def _finish_enabling(
    citizen: Citizen, method: str, origin: Origin, told: list[tuple[str, str]]
) -> list[str]:
    recovery = regenerate_recovery_codes(citizen, commit=False)
    record_event(citizen, "mfa_enabled", origin, method=method)
    undo = _offer_undo(citizen, "mfa_on", {"method": method})
    db.session.commit()
    notifications.tell_security_change(citizen, "mfa_on", undo_url=undo, contacts=told)
    return recovery


def renew_recovery_codes(citizen: Citizen, origin: Origin) -> list[str]:
    if not citizen.mfa_method:
        raise ValidationError(_l("Turn on sign-in confirmation first."))
    plain = regenerate_recovery_codes(citizen, commit=False)
    record_event(citizen, "recovery_codes_renewed", origin)
    undo = _offer_undo(citizen, "recovery_codes", {})
    db.session.commit()
    notifications.tell_security_change(
        citizen, "recovery_codes", undo_url=undo, contacts=_contacts_of(citizen)
    )
    return plain


def _turn_off_second_factor(citizen: Citizen) -> None:
    citizen.mfa_method = None
    citizen.totp_secret_encrypted = None
    citizen.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.citizen_id == citizen.id))


def disable_second_factor(citizen: Citizen, origin: Origin) -> None:
    if not citizen.mfa_method:
        raise ValidationError(_l("Sign-in confirmation is already off."))
    # Undoing turns the same factor back on: the app's secret stays encrypted as it was.
    was = {"method": citizen.mfa_method, "totp_secret_encrypted": citizen.totp_secret_encrypted}
    _turn_off_second_factor(citizen)
    record_event(citizen, "mfa_disabled", origin)
    undo = _offer_undo(citizen, "mfa_off", was)
    db.session.commit()
    notifications.tell_security_change(
        citizen, "mfa_off", undo_url=undo, contacts=_contacts_of(citizen)
    )
