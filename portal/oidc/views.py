"""OpenID Provider endpoints: discovery, keys, authorization (with consent), token,
userinfo, revocation, introspection. Every page works without JavaScript."""

from __future__ import annotations

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
from portal.oidc import services
from portal.oidc.keys import jwks
from portal.oidc.server import Subject, authorization, issuer
from shared.validators import is_visible_ascii

bp = Blueprint("oidc", __name__)

AUTH_METHODS_SUPPORTED = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


class UnmetAuthenticationRequirements(OAuth2Error):
    """OpenID Connect Core errata: the requested ``acr`` cannot be met silently."""

    error = "unmet_authentication_requirements"


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
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS_SUPPORTED,
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS_SUPPORTED,
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS_SUPPORTED[:3],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": scope_claims.ACR_VALUES_SUPPORTED,
            "prompt_values_supported": ["none", "login", "consent"],
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
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _session_sid() -> str:
    if not session.get("sid"):
        session["sid"] = secrets.token_urlsafe(16)
    return session["sid"]


def _login_redirect(params: dict, login_hint: str | None):
    params = {k: v for k, v in params.items() if k != "_reauth"}
    params["_reauth"] = services.reauth_marker(current_app.config["SECRET_KEY"])
    target = url_for("oidc.authorize") + "?" + urlencode(params)
    query = {"next": target}
    if login_hint:
        query["login_hint"] = login_hint
    return redirect(url_for("identity.login") + "?" + urlencode(query))


@bp.route("/oauth/authorize", methods=["GET", "POST"])
@csrf.exempt  # RPs may POST the request itself; the consent decision checks its own token
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
    except OAuth2Error as error:
        return _authorization_error(error)
    client = grant.client
    redirect_uri = grant.redirect_uri
    # OpenID Connect Core §6: an OP that does not support request objects (discovery says
    # so) MUST answer request_not_supported / request_uri_not_supported, not ignore them.
    for name, unsupported in (
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ):
        if name in params:
            return _authorization_error(
                OAuth2Error(error=unsupported, redirect_uri=redirect_uri, state=params.get("state"))
            )
    prompts = set(params.get("prompt", "").split())
    fresh = services.reauth_satisfied(
        current_app.config["SECRET_KEY"], params.get("_reauth"), session.get("auth_time")
    )

    # Who is signing in, and is their sign-in recent and strong enough?
    reasons = []
    if citizen is None:
        reasons.append("login")
    elif not fresh:
        if "login" in prompts:
            reasons.append("prompt")
        max_age = params.get("max_age")
        if (
            max_age is not None
            and max_age.isdigit()
            and time.time() - session.get("auth_time", 0) > int(max_age)
        ):
            reasons.append("max_age")
        hinted = services.subject_of_id_token_hint(params.get("id_token_hint"))
        if hinted is not None and hinted != citizen.public_id:
            reasons.append("id_token_hint")
    if reasons:
        if "none" in prompts:
            return _authorization_error(
                LoginRequiredError(redirect_uri=redirect_uri, state=params.get("state"))
            )
        return _login_redirect(params, params.get("login_hint"))

    level = services.required_level(params.get("acr_values"))
    if not services.meets_level(citizen, level):
        if "none" in prompts:
            return _authorization_error(
                UnmetAuthenticationRequirements(
                    redirect_uri=redirect_uri, state=params.get("state")
                )
            )
        return render_template(
            "oidc/level_needed.html", client=client, citizen=citizen, level=level
        ), 403

    requested = (grant.request.payload.scope or "").split()
    granted, refused = scope_claims.allowed_scopes(citizen, requested)
    decision = request.form.get("decision") if request.method == "POST" else None
    if decision:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (CSRFError, CsrfValidationError):
            return render_template("oidc/error.html", error="csrf"), 400
        if decision != "allow":
            return _authorization_error(
                OAuth2Error(
                    error="access_denied", redirect_uri=redirect_uri, state=params.get("state")
                )
            )
        services.save_consent(citizen, client, granted, origin())
    elif "consent" in prompts or not services.has_consent(citizen, client, granted):
        if "none" in prompts:
            return _authorization_error(
                ConsentRequiredError(redirect_uri=redirect_uri, state=params.get("state"))
            )
        return render_template(
            "oidc/consent.html",
            client=client,
            citizen=citizen,
            params=params,
            granted=scope_claims.describe(granted),
            refused=scope_claims.describe(refused),
        )

    subject = Subject(
        scope=" ".join(granted),
        citizen=citizen,
        sid=_session_sid(),
        auth_time=int(session.get("auth_time") or time.time()),
        acr=scope_claims.acr_for(citizen.level),
        amr=list(session.get("amr") or ["pwd"]),
    )
    services.record_client_sign_in(citizen, client, origin())
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
    return render_template(
        "oidc/error.html", error=error.error, description=error.get_error_description()
    ), 400


@bp.post("/oauth/token")
@csrf.exempt
def token():
    return authorization.create_token_response()


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo_endpoint():
    """Bearer token in the Authorization header or, RFC 6750 §2.2, the form body."""
    header = request.headers.get("Authorization", "")
    token_value = header[7:].strip() if header[:7].lower() == "bearer " else None
    if token_value is None and request.method == "POST":
        token_value = request.form.get("access_token")
    try:
        return jsonify(services.userinfo(token_value))
    except services.InvalidToken as exc:
        response = jsonify(error="invalid_token", error_description=str(exc))
        response.status_code = 401
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{exc}"'
        )
        return response


@bp.post("/oauth/revoke")
@csrf.exempt
def revoke():
    return authorization.create_endpoint_response("revocation")


@bp.post("/oauth/introspect")
@csrf.exempt
def introspect():
    return authorization.create_endpoint_response("introspection")
