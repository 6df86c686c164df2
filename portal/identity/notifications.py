"""What the portal tells citizens, in their language, and how it reaches them."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext

from portal.identity.models import Citizen
from portal.identity.tasks import DELIVER_MESSAGE
from shared.jobs import enqueue
from shared.notifications import DeliveryError


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
                "After several wrong passwords, sign-in to your account is locked for %(minutes)d min. "
                "If it was not you, change your password.",
                minutes=minutes,
            ),
        )


def tell_security_change(citizen: Citizen, what: str) -> None:
    with force_locale(citizen.locale):
        texts = {
            "password": gettext("The password of your account has been changed."),
            "recovered": gettext(
                "Access to your account has been restored and a new password set. All sessions have ended."
            ),
            "contact": gettext("The contacts of your account have been changed."),
            "mfa_on": gettext("Sign-in confirmation has been turned on for your account."),
            "mfa_off": gettext("Sign-in confirmation has been turned off for your account."),
        }
        body = texts[what] + " " + gettext("If it was not you, restore access and contact support.")
        tell_owner(citizen, gettext("Security of your account"), body)
