"""The page that asks for the second factor's code, and sending a code again: one for the
sign-in (views.py) and the cabinet's "confirm it is you" (cabinet.py)."""

from __future__ import annotations

from flask import flash, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from portal.identity import services
from portal.identity.forms import EmptyForm
from portal.identity.models import Citizen
from shared.errors import DomainError

INVALID = 422


def resend_code(challenge_id: str, purpose: str) -> None:
    """Send the challenge's code again and tell the person how it went."""
    try:
        services.resend_code(challenge_id, purpose)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_l("A new code has been sent."), "info")


def second_factor_page(form: FlaskForm, citizen: Citizen, heading: str, resend_endpoint: str):
    """The code form for the citizen's method (SMS, with a button to send it again, or the
    authenticator app); 422 when the code was refused."""
    return render_template(
        "identity/second_factor.html",
        form=form,
        method=citizen.mfa_method,
        heading=heading,
        resend_action=url_for(resend_endpoint),
        resend_form=EmptyForm(),
    ), INVALID if form.errors else 200
