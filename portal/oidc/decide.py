"""What the authorization endpoint does next, decided from the request and the person,
apart from HTTP (the view in views.py turns each answer into a redirect, a page or an
error for the client).

1. ``sign_in_step``: must the person sign in (again) first? A visitor with
   ``prompt=create`` registers; nobody signed in, ``prompt=login``, a sign-in older
   than ``max_age`` or an ``id_token_hint`` naming someone else each ask for a fresh
   sign-in, unless the person has just signed in for this very request (the signed
   ``_reauth`` marker); with ``prompt=none`` that is ``login_required`` instead.
2. ``consent_step``: once signed in, the person's answer on our pages, the account level
   the request asks for (``acr_values``) and the consent to the scopes allowed at that
   level decide: deny, ask for a higher level, ask for consent, or issue the code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import current_app

from portal.identity.models import Citizen
from portal.identity.security_log import Origin
from portal.oidc import claims as scope_claims
from portal.oidc import services
from portal.oidc.models import ClientConsent, OAuthClient

# sign_in_step
REGISTER = "register"  # a visitor asked to register first (prompt=create)
SIGN_IN = "sign_in"  # to the sign-in page, and back to this request
LOGIN_REQUIRED = "login_required"  # a sign-in is needed but prompt=none forbids a page

# consent_step
DENIED = "denied"  # the person declined on one of our pages: access_denied
LEVEL_UNMET = "level_unmet"  # the level is too low and prompt=none forbids a page
LEVEL_PAGE = "level_page"  # the page that says how to reach the level
CONSENT_REQUIRED = "consent_required"  # consent is needed and prompt=none forbids a page
CONSENT_PAGE = "consent_page"  # the consent page
ISSUE = "issue"  # everything is in place: the authorization response

# error_description of an access_denied, by the person's answer (for the client's logs).
DECISIONS = {
    "deny": "The person declined.",
    "level": "The person's account level is below the one the request asked for.",
}


def reauthentication_reasons(
    citizen: Citizen | None,
    prompts: set[str],
    params: dict[str, str],
    auth_time: int | None,
) -> list[str]:
    """Why the person must sign in (again) before this request: ``login`` (nobody is
    signed in), ``prompt``, ``max_age``, ``id_token_hint``; [] when the sign-in will do.
    ``auth_time``: when the session signed in (Unix seconds)."""
    if citizen is None:
        return ["login"]
    fresh = services.reauth_satisfied(
        current_app.config["SECRET_KEY"], params.get("_reauth"), auth_time
    )
    if fresh:
        return []
    reasons = []
    if "login" in prompts:
        reasons.append("prompt")
    max_age = params.get("max_age")
    if max_age is not None and time.time() - (auth_time or 0) > int(max_age):
        reasons.append("max_age")
    hinted = services.subject_of_id_token_hint(params.get("id_token_hint"))
    if hinted is not None and hinted != citizen.public_id:
        reasons.append("id_token_hint")
    return reasons


def sign_in_step(
    citizen: Citizen | None, prompts: set[str], params: dict[str, str], auth_time: int | None
) -> str | None:
    """``REGISTER``, ``SIGN_IN`` or ``LOGIN_REQUIRED``; None when the person may go on."""
    # Initiating User Registration §4: a visitor without an account registers first and
    # comes back to this request. A signed-in citizen has an account already.
    if "create" in prompts and citizen is None:
        return REGISTER
    if reauthentication_reasons(citizen, prompts, params, auth_time):
        return LOGIN_REQUIRED if "none" in prompts else SIGN_IN
    return None


@dataclass(frozen=True)
class ConsentStep:
    action: str  # DENIED, LEVEL_UNMET, LEVEL_PAGE, CONSENT_REQUIRED, CONSENT_PAGE, ISSUE
    denial: str | None = None  # DENIED: the error_description for the client
    level: str | None = None  # LEVEL_*: the level the request asks for
    granted: list[str] = field(default_factory=list)  # the scopes allowed at this level
    refused: list[str] = field(default_factory=list)  # the scopes this level cannot have
    consent: ClientConsent | None = None  # ISSUE: the consent that covers ``granted``


def consent_step(
    citizen: Citizen,
    client: OAuthClient,
    requested: list[str],
    prompts: set[str],
    answer: str | None,
    acr_values: str | None,
    origin: Origin,
) -> ConsentStep:
    """The step after sign-in. ``answer``: the person's answer on one of our pages
    (``allow``, ``deny``, ``level``), its CSRF token already checked; an ``allow`` saves
    the consent (committed)."""
    if answer and answer != "allow":
        return ConsentStep(DENIED, denial=DECISIONS.get(answer))
    level = services.required_level(acr_values)
    if not services.meets_level(citizen, level):
        # The page says what to do, and its button takes the person back to the client
        # with access_denied (RFC 6749 §4.1.2.1), as a refused consent does.
        return ConsentStep(LEVEL_UNMET if "none" in prompts else LEVEL_PAGE, level=level)
    granted, refused = scope_claims.allowed_scopes(citizen, requested)
    if answer == "allow":
        consent = services.save_consent(citizen, client, granted, origin)
    else:
        consent = services.consent_covering(citizen, client, granted)
    if consent is None or ("consent" in prompts and answer != "allow"):
        return ConsentStep(
            CONSENT_REQUIRED if "none" in prompts else CONSENT_PAGE,
            granted=granted,
            refused=refused,
        )
    return ConsentStep(ISSUE, granted=granted, consent=consent)
