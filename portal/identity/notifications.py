"""What the portal tells citizens, in their language, and how it reaches them."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import force_locale, gettext

from portal.identity.models import Citizen
from portal.identity.tasks import DELIVER_MESSAGE
from shared.jobs import enqueue
from shared.notifications import DeliveryError
from shared.sessions import utcnow


def _send(channel: str, to: str, subject: str, body: str) -> None:
    try:
        enqueue(DELIVER_MESSAGE, channel, to, subject, body)
    except DeliveryError:
        # Only in the in-process mode: the relay is down. The person can ask to resend;
        # the message body (it may hold a code) is deliberately not logged.
        current_app.logger.warning("could not deliver a %s message", channel)


def send_code(channel: str, to: str, code: str, purpose: str) -> None:
    site = current_app.config["SITE_NAME"]
    what = {
        "register": gettext("confirms registration"),
        "recover": gettext("restores access to your account"),
        "login": gettext("confirms sign-in"),
        "contact": gettext("confirms the new contact"),
        "mfa_setup": gettext("turns on sign-in confirmation by SMS"),
        "reauth": gettext("confirms a change of your account's security settings"),
    }[purpose]
    body = gettext(
        "%(code)s is your code, it %(what)s at %(site)s. Do not tell it to anyone.",
        code=code,
        what=what,
        site=site,
    )
    _send(channel, to, gettext("Your code: %(code)s", code=code), body)


def tell_contact_taken(channel: str, to: str, locale: str) -> None:
    with force_locale(locale):
        body = gettext(
            "Someone tried to register a new account at %(site)s with this contact. It already belongs "
            "to your account. If it was you, sign in or restore your password; if not, you need not do anything.",
            site=current_app.config["SITE_NAME"],
        )
        _send(channel, to, gettext("Registration attempt with your contact"), body)


def tell_owner(citizen: Citizen, subject: str, body: str) -> None:
    """Reach the citizen by every confirmed channel."""
    if citizen.email and citizen.email_verified_at:
        _send("email", citizen.email, subject, body)
    if citizen.phone and citizen.phone_verified_at:
        _send("sms", citizen.phone, subject, body)


def tell_locked(citizen: Citizen, minutes: int) -> None:
    with force_locale(citizen.locale):
        tell_owner(
            citizen,
            gettext("Sign-in locked"),
            gettext(
                "After several wrong passwords or codes, sign-in to your account is locked for %(minutes)d min. "
                "If it was not you, change your password.",
                minutes=minutes,
            ),
        )


def tell_recovery_paused(channel: str, to: str, until: datetime) -> None:
    """Someone asked to restore access while the account is locked: no code is sent."""
    minutes = max(1, int((until - utcnow()).total_seconds() + 59) // 60)
    body = gettext(
        "Someone asked to restore access to your account at %(site)s. After several wrong passwords "
        "or codes the account is locked, so no code was sent. If it was you, try again in %(minutes)d min.",
        site=current_app.config["SITE_NAME"],
        minutes=minutes,
    )
    _send(channel, to, gettext("Access recovery"), body)


def tell_security_change(
    citizen: Citizen,
    what: str,
    undo_url: str | None = None,
    contacts: list[tuple[str, str]] | None = None,
) -> None:
    """Tell the owner of a change; with ``contacts``, at the contacts the account had
    before it (which a changed contact no longer is), and with an undo link."""
    with force_locale(citizen.locale):
        texts = {
            "password": gettext("The password of your account has been changed."),
            "recovered": gettext(
                "Access to your account has been restored and a new password set. All sessions have ended."
            ),
            "contact": gettext("The contacts of your account have been changed."),
            "mfa_on": gettext("Sign-in confirmation has been turned on for your account."),
            "mfa_off": gettext("Sign-in confirmation has been turned off for your account."),
            "recovery_codes": gettext("New recovery codes have been issued for your account."),
        }
        if undo_url:
            days = max(1, int(current_app.config["UNDO_LINK_LIFETIME"]) // 86400)
            advice = gettext(
                "If it was not you, undo the change within %(days)d days: %(url)s — all sessions "
                "will end, then change your password.",
                days=days,
                url=undo_url,
            )
        else:
            advice = gettext("If it was not you, restore access and contact support.")
        subject, body = gettext("Security of your account"), texts[what] + " " + advice
        if contacts is None:
            tell_owner(citizen, subject, body)
        else:
            for channel, to in contacts:
                _send(channel, to, subject, body)
