"""The end-session endpoint, ``/oauth/logout`` (OpenID Connect RP-Initiated Logout 1.0).

A relying party sends the person here to sign out of the portal too. With an
``id_token_hint`` of the current session the portal signs out at once; otherwise it asks
first (§2: the OP MUST ask when the hint is missing or belongs to another session or
person). Signing out ends the portal session through ``current.sign_out()``, whose
``SESSIONS_ENDING`` announcement revokes the session's tokens and sends back-channel
logout (``portal.oidc.backchannel``). The person is sent back only to a
``post_logout_redirect_uri`` registered for the client (§3); any request that fails
validation gets an error page and is never redirected (§4).
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.common.urls import add_params_to_uri
from flask import Blueprint, g, redirect, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, validate_csrf
from joserfc import jwt
from joserfc.errors import JoseError
from wtforms import ValidationError as CsrfValidationError

from portal.extensions import csrf
from portal.identity.current import current_citizen, sign_out
from portal.oidc.clients import query_client
from portal.oidc.keys import SUPPORTED_ALGS, public_key_set
from portal.oidc.models import OAuthClient
from portal.oidc.tokens import issuer
from shared.errors import ValidationError

bp = Blueprint("oidc_logout", __name__)

# The request's parameters (§2) carried through the confirmation form.
PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")
# Tokens the portal signs that are not ID tokens (RFC 8725 §3.11, explicit typing).
OTHER_TOKEN_TYPES = ("at+jwt", "logout+jwt")


class InvalidLogoutRequest(ValidationError):
    code = "invalid_request"
    default_message = _l("The service sent an incorrect sign-out request.")


@dataclass(frozen=True)
class IdTokenHint:
    sub: str
    sid: str | None
    audience: tuple[str, ...]
    authorized_party: str | None

    @property
    def client_id(self) -> str | None:
        """The client the ID token was issued to."""
        if len(self.audience) == 1:
            return self.audience[0]
        return self.authorized_party


@dataclass(frozen=True)
class LogoutRequest:
    client: OAuthClient | None
    redirect_uri: str | None  # registered for ``client``; None: show the logged-out page
    state: str | None
    hint: IdTokenHint | None

    def is_for_session(self, sub: str, sid: str | None) -> bool:
        """Whether the hint names this person and (when it carries a ``sid``) this very
        session: only then may the portal sign out without asking (§2)."""
        hint = self.hint
        return hint is not None and hint.sub == sub and hint.sid in (None, sid)


def read_id_token_hint(value: str) -> IdTokenHint:
    """The claims of an ID token the portal issued, or ``InvalidLogoutRequest``.

    Assumptions (§4: the OP MUST check it was the issuer): signed by a key in our JWKS
    with that key's algorithm (RS256 or ES256; joserfc refuses a token whose ``alg``
    differs from its key's); ``iss`` is ours; not one of our other token types; ``sub``
    present. ``exp`` is not checked: §2 says expired ID tokens SHOULD be accepted as hints.
    """
    try:
        token = jwt.decode(value, public_key_set(), algorithms=list(SUPPORTED_ALGS))
    except (JoseError, ValueError) as exc:
        raise InvalidLogoutRequest(_l("The ID token in the request is not valid.")) from exc
    claims = token.claims
    aud = claims.get("aud")
    audience = (aud,) if isinstance(aud, str) else tuple(aud) if isinstance(aud, list) else ()
    if (
        claims.get("iss") != issuer()
        or token.header.get("typ") in OTHER_TOKEN_TYPES
        or not isinstance(claims.get("sub"), str)
        or not audience
        or not all(isinstance(each, str) for each in audience)
    ):
        raise InvalidLogoutRequest(_l("The ID token in the request is not valid."))
    sid = claims.get("sid")
    return IdTokenHint(
        sub=claims["sub"],
        sid=sid if isinstance(sid, str) else None,
        audience=audience,
        authorized_party=claims.get("azp"),
    )


def read_logout_request(
    *,
    id_token_hint: str | None,
    client_id: str | None,
    post_logout_redirect_uri: str | None,
    state: str | None,
) -> LogoutRequest:
    """Validate an RP-initiated logout request (§2–§4); ``InvalidLogoutRequest`` if any
    part fails, so nothing of it is used."""
    hint = read_id_token_hint(id_token_hint) if id_token_hint else None
    if hint is not None and client_id and client_id not in hint.audience:
        # §2: with both, the client_id MUST be the one the ID token was issued to.
        raise InvalidLogoutRequest(_l("The ID token was issued to another service."))
    wanted = client_id or (hint.client_id if hint is not None else None)
    client = query_client(wanted) if wanted else None
    if client_id and client is None:
        raise InvalidLogoutRequest(_l("The service is not known to the portal."))
    if post_logout_redirect_uri and (
        client is None or post_logout_redirect_uri not in client.post_logout_redirect_uris
    ):
        # §3: only an exact match of a URI registered for this client.
        raise InvalidLogoutRequest(
            _l("The address to return to is not registered for this service.")
        )
    return LogoutRequest(
        client=client,
        redirect_uri=post_logout_redirect_uri or None,
        state=state or None,
        hint=hint,
    )


@bp.route("/oauth/logout", methods=["GET", "POST"])
@csrf.exempt  # the RP's request may be a POST (§2); the confirmation checks its own token
def end_session():
    params = {name: request.values[name] for name in PARAMETERS if request.values.get(name)}
    if params.get("ui_locales"):
        g.ui_locales = params["ui_locales"].split()
    citizen = current_citizen()
    try:
        logout = read_logout_request(
            id_token_hint=params.get("id_token_hint"),
            client_id=params.get("client_id"),
            post_logout_redirect_uri=params.get("post_logout_redirect_uri"),
            state=params.get("state"),
        )
    except InvalidLogoutRequest as error:
        return render_template(
            "oidc/logout_confirm.html", citizen=citizen, error=error.message, params={}
        ), 400
    if citizen is not None and not logout.is_for_session(citizen.public_id, session.get("sid")):
        if request.form.get("decision") != "sign_out":
            return _confirmation(citizen, logout, params)
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (CSRFError, CsrfValidationError):
            return _confirmation(citizen, logout, params, expired=True), 400
    if citizen is not None:
        sign_out()
    if logout.redirect_uri is None:
        return render_template("oidc/logged_out.html")
    if logout.state is None:
        return redirect(logout.redirect_uri)
    return redirect(add_params_to_uri(logout.redirect_uri, [("state", logout.state)]))


def _confirmation(citizen, logout: LogoutRequest, params: dict, expired: bool = False) -> str:
    """The "Sign out of the portal?" page; its form carries the request's parameters."""
    return render_template(
        "oidc/logout_confirm.html",
        citizen=citizen,
        client=logout.client,
        params=params,
        expired=expired,
    )
