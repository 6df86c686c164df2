"""OpenID Provider endpoints: discovery, keys, authorization (with consent), token,
userinfo, revocation, introspection. Every page works without JavaScript."""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError as CsrfValidationError

from portal.extensions import csrf
from portal.identity.current import current_citizen, origin
from portal.oidc import claims as scope_claims
from portal.oidc import decide, services
from portal.oidc.authorize import (
    PARAMETERS,
    PROMPT_VALUES_SUPPORTED,
    RESPONSE_MODES_SUPPORTED,
    check_request,
    without_prompt,
)
from portal.oidc.keys import JWKS_MAX_AGE, jwks
from portal.oidc.server import authorization
from portal.oidc.tokens import Subject, issuer
from shared.validators import is_visible_ascii

bp = Blueprint("oidc", __name__)

AUTH_METHODS_SUPPORTED = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


class UnmetAuthenticationRequirements(OAuth2Error):
    """OpenID Connect Core errata: the requested ``acr`` cannot be met silently."""

    error = "unmet_authentication_requirements"


# The errors that answer the client when a page is needed but prompt=none forbids one.
NO_PAGE = {
    decide.LOGIN_REQUIRED: LoginRequiredError,
    decide.LEVEL_UNMET: UnmetAuthenticationRequirements,
    decide.CONSENT_REQUIRED: ConsentRequiredError,
}


@bp.get("/.well-known/openid-configuration")
def discovery():
    base = issuer()
    return jsonify(
        {
            "issuer": base,
            "authorization_endpoint": base + url_for("oidc.authorize"),
            "token_endpoint": base + url_for("oidc.token"),
            "userinfo_endpoint": base + url_for("oidc.userinfo_endpoint"),
            "jwks_uri": base + url_for("oidc.jwks_endpoint"),
            "end_session_endpoint": base + "/oauth/logout",
            "revocation_endpoint": base + url_for("oidc.revoke"),
            "introspection_endpoint": base + url_for("oidc.introspect"),
            "scopes_supported": scope_claims.SCOPES_SUPPORTED,
            "claims_supported": scope_claims.CLAIMS_SUPPORTED,
            "response_types_supported": ["code"],
            "response_modes_supported": RESPONSE_MODES_SUPPORTED,
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS_SUPPORTED,
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS_SUPPORTED,
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS_SUPPORTED[:3],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": scope_claims.ACR_VALUES_SUPPORTED,
            "prompt_values_supported": PROMPT_VALUES_SUPPORTED,
            "display_values_supported": ["page", "popup"],
            "ui_locales_supported": ["ru", "en"],
            "claims_locales_supported": ["ru"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "frontchannel_logout_supported": False,
        }
    )


@bp.get("/.well-known/jwks.json")
def jwks_endpoint():
    response = jsonify(jwks())
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


def _session_sid() -> str:
    if not session.get("sid"):
        session["sid"] = secrets.token_urlsafe(16)
    return session["sid"]


def _back_to_authorization(params: dict) -> str:
    """The authorization request to come back to after a sign-in or a registration, marked
    as asked now (``reauth_marker``), so that a sign-in after this moment satisfies
    ``prompt=login`` and ``max_age``."""
    params = {k: v for k, v in params.items() if k != "_reauth"}
    params["_reauth"] = services.reauth_marker(current_app.config["SECRET_KEY"])
    return url_for("oidc.authorize") + "?" + urlencode(params)


def _login_redirect(params: dict, login_hint: str | None):
    query = {"next": _back_to_authorization(params)}
    if login_hint:
        query["login_hint"] = login_hint
    return redirect(url_for("identity.login") + "?" + urlencode(query))


@bp.route("/oauth/authorize", methods=["GET", "POST"])
@csrf.exempt  # RPs may POST the request itself; the person's answers check their own token
def authorize():
    # RFC 6749 Appendix A: every parameter here is printable ASCII. Anything else is
    # refused on a page before the client or its redirect URI is looked at (Authlib
    # cannot even describe such a value in an error), and nothing is redirected.
    if not all(is_visible_ascii(k + v) for k, v in request.values.items(multi=True)):
        return render_template(
            "oidc/error.html",
            error="invalid_request",
            description=_("The request contains characters that are not allowed."),
        ), 400
    params = {k: v for k, v in request.values.items() if k not in ("csrf_token", "decision")}
    if request.values.get("ui_locales"):
        g.ui_locales = request.values["ui_locales"].split()
    citizen = current_citizen()
    try:
        grant = authorization.get_consent_grant(end_user=citizen)
        prompts = check_request(request.values, grant.redirect_uri, params.get("state"))
    except OAuth2Error as error:
        return _authorization_error(error)
    client = grant.client
    redirect_uri, state = grant.redirect_uri, params.get("state")

    step = decide.sign_in_step(citizen, prompts, params, session.get("auth_time"))
    if step == decide.REGISTER:
        target = _back_to_authorization(without_prompt(params, "create"))
        return redirect(url_for("identity.register", next=target))
    if step == decide.SIGN_IN:
        return _login_redirect(params, params.get("login_hint"))
    if step in NO_PAGE:  # prompt=none
        return _authorization_error(NO_PAGE[step](redirect_uri=redirect_uri, state=state))

    # The person's answer on one of our pages (consent, or "go back" from the level page).
    answer = request.form.get("decision") if request.method == "POST" else None
    if answer:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (CSRFError, CsrfValidationError):
            return render_template("oidc/error.html", error="csrf"), 400
    requested = (grant.request.payload.scope or "").split()
    step = decide.consent_step(
        citizen, client, requested, prompts, answer, params.get("acr_values"), origin()
    )
    if step.action == decide.DENIED:
        denied = OAuth2Error(
            error="access_denied", description=step.denial, redirect_uri=redirect_uri, state=state
        )
        return _authorization_error(denied)
    if step.action in NO_PAGE:  # prompt=none
        return _authorization_error(NO_PAGE[step.action](redirect_uri=redirect_uri, state=state))
    if step.action == decide.LEVEL_PAGE:
        return render_template(
            "oidc/level_needed.html",
            client=client,
            citizen=citizen,
            level=step.level,
            params=params,
        ), 403
    if step.action == decide.CONSENT_PAGE:
        return render_template(
            "oidc/consent.html",
            client=client,
            citizen=citizen,
            params=params,
            granted=scope_claims.describe(step.granted),
            refused=scope_claims.describe(step.refused),
        )

    subject = Subject(
        scope=" ".join(step.granted),
        citizen=citizen,
        sid=_session_sid(),
        auth_time=int(session.get("auth_time") or time.time()),
        acr=scope_claims.acr_for(citizen.level),
        amr=list(session.get("amr") or ["pwd"]),
    )
    services.record_client_sign_in(citizen, client, step.consent, origin())
    return authorization.create_authorization_response(grant=grant, grant_user=subject)


def _authorization_error(error: OAuth2Error):
    """Errors go back to the client when its redirect URI is known and valid; otherwise
    (unknown client, wrong redirect URI) the person sees a page and nothing is redirected."""
    if getattr(error, "redirect_uri", None):
        response = authorization.handle_error_response(request, error)
        # RFC 9207 §2: ``iss`` in error responses too (the Issuer extension adds it to
        # the responses of ``create_authorization_response``).
        authorization.execute_hook("after_create_authorization_response", response)
        return response
    # The page explains the code in the person's language; Authlib's English description
    # goes to the log, and only the parameter it names (never a value) to the page.
    description = error.get_error_description() or ""
    current_app.logger.info("authorization refused on a page: %s %s", error.error, description)
    named = next((name for name in PARAMETERS if re.search(rf"\b{name}\b", description)), None)
    return render_template("oidc/error.html", error=error.error, parameter=named), 400


@bp.post("/oauth/token")
@csrf.exempt
def token():
    return authorization.create_token_response()


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo_endpoint():
    """The bearer token in the Authorization header or, RFC 6750 §2.2, the form body;
    errors answered as RFC 6750 §3 says (``bearer_error``)."""
    try:
        return jsonify(services.userinfo(_bearer_token()))
    except services.BearerError as exc:
        return bearer_error(exc)


def _bearer_token() -> str | None:
    """The access token of the request, or None; ``InvalidBearerRequest`` when it comes
    more than one way (RFC 6750 §2: a client MUST NOT), in the URI (§2.3, not supported:
    URIs end up in logs), or as an empty Bearer header."""
    header = request.headers.get("Authorization")
    in_body = request.form.getlist("access_token") if request.method == "POST" else []
    if "access_token" in request.args:
        raise services.InvalidBearerRequest("send the token in the Authorization header")
    found = []
    if header is not None and header[:7].lower() == "bearer ":
        found.append(header[7:].strip())
    elif header is not None and header.strip().lower() == "bearer":
        found.append("")
    found.extend(in_body)
    if len(found) > 1:
        raise services.InvalidBearerRequest("the token was sent more than one way")
    if found and not found[0]:
        raise services.InvalidBearerRequest("empty token")
    return found[0] if found else None


def bearer_error(exc: services.BearerError):
    """RFC 6750 §3: the ``WWW-Authenticate: Bearer`` challenge, with ``error`` (and
    ``scope`` for insufficient_scope) unless the request carried no token at all."""
    challenge = "Bearer"
    body = {"error_description": str(exc)}
    if exc.code is not None:
        parts = [f'error="{exc.code}"', f'error_description="{exc}"']
        if exc.scope:
            parts.append(f'scope="{exc.scope}"')
        challenge += " " + ", ".join(parts)
        body = {"error": exc.code, **body}
    response = jsonify(body)
    response.status_code = exc.status
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.post("/oauth/revoke")
@csrf.exempt
def revoke():
    return authorization.create_endpoint_response("revocation")


@bp.post("/oauth/introspect")
@csrf.exempt
def introspect():
    return authorization.create_endpoint_response("introspection")
