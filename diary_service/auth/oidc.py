"""The diary as an OpenID Connect relying party of the portal.

Authlib's Flask client (``authlib.integrations.flask_client.OAuth``) does the protocol:
discovery, the authorization URL with ``state``, ``nonce`` and a PKCE S256 verifier (kept
in the server-side session, never in the browser), the code exchange with
``client_secret_basic``, ID-token validation and userinfo. What it leaves to us is here:

- RFC 9207: the ``iss`` of the authorization response must be the portal; the portal's
  metadata promises it, so a response without one is refused too (§2.4).
- OpenID Connect Discovery §4.3: the discovered ``issuer`` must be ``PORTAL_URL`` itself.
- ID-token claims: Authlib checks ``iss`` (from metadata) and ``nonce`` but not ``aud``
  against our client id unless told to, and nothing requires ``acr``; both are stated in
  ``_id_token_options``. Algorithms: those the portal's metadata lists (RS256, ES256;
  asymmetric only, so a token cannot be signed with a public key as an HMAC secret).
- userinfo's ``sub`` must equal the ID token's (OIDC Core §5.3.4).
- Back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.6): ``read_logout_token``.
- The portal being down: every network failure becomes ``PortalUnavailable`` (503 and a
  plain page); nothing of a signed-in person's diary needs the portal.

Caching: the metadata and the JWKS are fetched once per process and kept by the Authlib
client. A token signed with a key id we do not know refetches the JWKS (Authlib does so
for ID tokens; ``portal_keys`` for logout tokens, at most once per
``OIDC_JWKS_REFRESH_INTERVAL`` since anyone can post a logout token with a made-up kid).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.flask_client import OAuth, OAuthError
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from flask import Flask, current_app, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from werkzeug.wrappers import Response

from diary_service.auth.services import PortalIdentity
from shared.cache import TimedCache
from shared.config import ConfigError
from shared.errors import DomainError
from shared.security import safe_next
from shared.tracing import TracedOAuth2App

PORTAL = "portal"  # the client's name in the app's Authlib registry
OAUTH = "authlib.integrations.flask_client"  # where ``OAuth.init_app`` keeps the registry
STATE = "diary_oidc"
# The session key the callback leaves a step-up sign-in's ``SignIn.carry`` under.
STEP_UP_CARRY = "step_up"
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_ALGORITHMS = ["RS256", "ES256"]  # what the portal signs with (its discovery)
LOGOUT_TOKEN_TYPES = ("logout+jwt", "application/logout+jwt")  # §2.4, RFC 8725 §3.11


class PortalUnavailable(DomainError):
    status = 503
    code = "temporarily_unavailable"
    default_message = _l("Sign-in through the portal is unavailable right now; try later.")


class SignInFailed(DomainError):
    status = 400
    code = "access_denied"
    default_message = _l("Sign-in through the portal did not complete. Try again.")


class SignInDeclined(SignInFailed):
    status = 403
    default_message = _l(
        "You did not allow the diary to receive your data on the portal, so it cannot sign you in."
    )


class InvalidLogoutToken(DomainError):
    code = "invalid_request"
    default_message = _l("The logout token is not valid.")


@dataclass(frozen=True)
class SignIn:
    """A completed sign-in: who (verified), the ID token (the logout hint) and where to go."""

    identity: PortalIdentity
    id_token: str
    next_url: str
    # What a step-up sign-in carries across (``authorization_redirect(carry=...)``): the
    # signed-in session is started afresh at the callback, so it cannot wait there.
    carry: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<SignIn {self.identity.sub}>"


@dataclass(frozen=True)
class PortalLogout:
    """A verified back-channel logout: the portal session and/or the person it names."""

    sid: str | None
    sub: str | None


# --- wiring -------------------------------------------------------------------------


def init_oidc(app: Flask) -> None:
    """Register the portal as this app's OpenID Provider. No network here: the metadata
    is fetched on first use.

    Each app gets its own Authlib registry (not one in ``extensions.py``): the registry
    keeps one client per name with its discovered metadata and keys, and tests and the dev
    stack run several diaries, for different portals or clients, in one process.
    """
    for name in ("PORTAL_URL", "PUBLIC_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
        if not app.config.get(name):
            raise ConfigError(f"DIARY_{name} is not set: sign-in through the portal needs it")
    oauth = OAuth(app)
    oauth.register(
        PORTAL,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=issuer(app) + "/.well-known/openid-configuration",
        client_cls=TracedOAuth2App,  # the request id on every call to the portal
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",  # the portal refuses anything else
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": float(app.config["OIDC_TIMEOUT"]),
        },
    )
    app.extensions[STATE] = {"jwks_refreshed_at": 0.0}


def issuer(app: Flask | None = None) -> str:
    return (app or current_app).config["PORTAL_URL"].rstrip("/")


def portal_client() -> FlaskOAuth2App:
    return current_app.extensions[OAUTH].create_client(PORTAL)


def _callback_uri() -> str:
    # From configuration, never from the Host header: it must match the registration.
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("auth.callback")


def _home_uri() -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + "/"


def _unavailable(what: str, error: Exception) -> PortalUnavailable:
    current_app.logger.warning("portal unreachable (%s): %s", what, type(error).__name__)
    return PortalUnavailable()


def portal_metadata() -> dict[str, Any]:
    """The portal's discovery document (cached by the Authlib client once fetched)."""
    try:
        metadata = portal_client().load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        raise _unavailable("discovery", error) from error
    if metadata.get("issuer") != issuer():
        # OpenID Connect Discovery §4.3: otherwise anyone serving a discovery document at
        # that address could name another issuer. A misconfiguration, not an outage.
        current_app.logger.error(
            "the portal's discovery names issuer %r, DIARY_PORTAL_URL is %r",
            metadata.get("issuer"),
            issuer(),
        )
        raise PortalUnavailable()
    return metadata


# The portal's address → whether it answered, asked at most every
# READINESS_PORTAL_CACHE seconds per process.
_PORTAL_ANSWERS: TimedCache[bool] = TimedCache(max_entries=8)


def _portal_answers(url: str) -> bool:
    try:
        status = requests.get(url, timeout=float(current_app.config["READINESS_TIMEOUT"]))
    except requests.ConnectionError as exc:
        # Refused or reset: nothing listens there. A connection that timed out is a
        # portal too busy to accept at once, not one that is down.
        return isinstance(exc, requests.ConnectTimeout)
    except requests.RequestException:  # a slow answer
        return True
    return status.status_code < 500


def require_portal_answering() -> None:
    """Raise ``PortalUnavailable`` when the portal's address does not answer at all
    (the connection refused or reset, or a 5xx): the discovery document stays cached, so
    without this a new sign-in would be redirected to an address that does not answer
    (issue 15's drill, portal-down). Asked at most every ``READINESS_PORTAL_CACHE``
    seconds per process, with ``READINESS_TIMEOUT``. A slow portal (the connection or
    the answer timing out) counts as answering: a portal under a crowd is slow, not
    down, and the person is better sent there than told it is unavailable (the drill's
    storm saw exactly that)."""
    url = issuer() + "/healthz"
    ttl = float(current_app.config["READINESS_PORTAL_CACHE"])
    if not _PORTAL_ANSWERS.get(url, ttl, lambda: _portal_answers(url)):
        raise PortalUnavailable()


# --- signing in ---------------------------------------------------------------------


def authorization_redirect(
    next_url: str,
    *,
    acr_values: str | None = None,
    max_age: int | None = None,
    carry: dict[str, Any] | None = None,
) -> Response:
    """Send the person to the portal's authorization endpoint. ``state``, ``nonce`` and
    the PKCE verifier stay in the diary's server-side session, with where to go after.

    A step-up sign-in (signed answers) adds ``acr_values`` (the account level wanted;
    the portal refuses on its own page an account below it) and ``max_age`` (0: sign in
    again now, OIDC Core §3.1.2.1; ``prompt=login`` too, which says the same to a
    provider that reads only that). ``carry`` (JSON-able) comes back as ``SignIn.carry``.
    """
    client = portal_client()
    portal_metadata()
    redirect_uri = _callback_uri()
    extra: dict[str, Any] = {}
    if acr_values:
        extra["acr_values"] = acr_values
    if max_age is not None:
        extra["max_age"] = str(max_age)
        if max_age == 0:
            extra["prompt"] = "login"
    request_data = client.create_authorization_url(
        redirect_uri, ui_locales=str(get_locale()), **extra
    )
    client.save_authorize_data(
        redirect_uri=redirect_uri,
        next=safe_next(next_url),
        **({"carry": carry} if carry is not None else {}),
        **{key: value for key, value in request_data.items() if key != "url"},
    )
    return redirect(request_data["url"])


def _id_token_options() -> dict[str, dict[str, Any]]:
    """What an ID token must say (OIDC Core §3.1.3.7), checked with a leeway of
    ``OIDC_CLOCK_SKEW`` seconds on ``exp`` and ``iat``. A new dict each time: Authlib
    consumes the options."""
    return {
        "iss": {"essential": True, "value": issuer()},
        "aud": {"essential": True, "value": current_app.config["OIDC_CLIENT_ID"]},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        # The account level: the diary shows it and later gates signed answers on it.
        "acr": {"essential": True},
    }


def finish_sign_in() -> SignIn:
    """Complete the authorization response at the callback: ``iss``, ``state``, the code
    exchange (with the PKCE verifier), the ID token and userinfo. ``SignInFailed`` when
    any of it is wrong, ``PortalUnavailable`` when the portal cannot be reached."""
    client = portal_client()
    metadata = portal_metadata()
    returned_issuer = request.args.get("iss")
    if returned_issuer is None and metadata.get("authorization_response_iss_parameter_supported"):
        raise _failed("no iss in the authorization response")
    if returned_issuer is not None and returned_issuer != issuer():
        raise _failed("iss of the authorization response is not the portal")
    state = request.args.get("state")
    pending = client.framework.get_state_data(session, state) if state else None
    try:
        token = client.authorize_access_token(
            claims_options=_id_token_options(),
            leeway=int(current_app.config["OIDC_CLOCK_SKEW"]),
        )
    except OAuthError as error:  # an error response, a state mismatch, a refused code
        if error.error == "access_denied":
            raise SignInDeclined() from error
        raise _failed(f"OAuth error {error.error}") from error
    except requests.RequestException as error:
        raise _unavailable("token endpoint", error) from error
    except (JoseError, ValueError) as error:  # the ID token does not verify
        raise _failed(f"ID token refused: {type(error).__name__}") from error
    claims = token.get("userinfo")  # the verified ID token's claims
    if not claims or not isinstance(claims.get("acr"), str):
        raise _failed("no valid ID token in the token response")
    info = _userinfo(client, token)
    if info.get("sub") != claims["sub"]:
        raise _failed("userinfo is about someone else")
    sid = claims.get("sid")
    auth_time = claims.get("auth_time")
    identity = PortalIdentity(
        sub=claims["sub"],
        acr=claims["acr"],
        sid=sid if isinstance(sid, str) and sid else None,
        auth_time=auth_time if isinstance(auth_time, int) else None,
        claims=dict(info),
    )
    next_url = safe_next(pending.get("next")) if pending else "/"
    carry = pending.get("carry") if pending else None
    return SignIn(
        identity=identity,
        id_token=token["id_token"],
        next_url=next_url,
        carry=carry if isinstance(carry, dict) else None,
    )


def _userinfo(client: FlaskOAuth2App, token: dict) -> dict[str, Any]:
    try:
        return dict(client.userinfo(token=token))
    except requests.HTTPError as error:
        if error.response is not None and error.response.status_code < 500:
            raise _failed(f"userinfo answered {error.response.status_code}") from error
        raise _unavailable("userinfo", error) from error
    except requests.RequestException as error:
        raise _unavailable("userinfo", error) from error
    except ValueError as error:
        raise _failed("userinfo is not JSON") from error


def _failed(reason: str) -> SignInFailed:
    # The reason is for the log only (no tokens or claims in it); the person sees a
    # plain "try again".
    current_app.logger.warning("sign-in through the portal refused: %s", reason)
    return SignInFailed()


# --- signing out --------------------------------------------------------------------


def end_session_redirect(id_token_hint: str | None) -> Response:
    """Send the person to the portal's end-session endpoint (RP-Initiated Logout 1.0 §2)
    with the ID token as hint, the diary's home to come back to and a ``state`` the home
    page recognises (``is_sign_out_return``)."""
    portal_metadata()
    return portal_client().logout_redirect(
        post_logout_redirect_uri=_home_uri(),
        id_token_hint=id_token_hint,
        client_id=current_app.config["OIDC_CLIENT_ID"],
        ui_locales=str(get_locale()),
    )


def is_sign_out_return() -> bool:
    """Whether this request is the portal sending the person back after a sign-out the
    diary started (its ``state`` is one we issued, and is used up now)."""
    try:
        portal_client().validate_logout_response()
    except OAuthError:
        return False
    return True


# --- back-channel logout ------------------------------------------------------------


def portal_keys(kid: str | None) -> KeySet:
    """The portal's public keys; refetched when ``kid`` is not among them, at most once
    per ``OIDC_JWKS_REFRESH_INTERVAL`` seconds."""
    client = portal_client()
    state = current_app.extensions[STATE]
    try:
        keys = KeySet.import_key_set(client.fetch_jwk_set())
        interval = float(current_app.config["OIDC_JWKS_REFRESH_INTERVAL"])
        known = {key.kid for key in keys}
        if kid not in known and time.monotonic() - state["jwks_refreshed_at"] >= interval:
            state["jwks_refreshed_at"] = time.monotonic()
            keys = KeySet.import_key_set(client.fetch_jwk_set(force=True))
    except (requests.RequestException, ValueError) as error:
        raise _unavailable("keys", error) from error
    return keys


def read_logout_token(token: str | None) -> PortalLogout:
    """Validate a logout token as OpenID Connect Back-Channel Logout 1.0 §2.6 says:

    1. signed by a key of the portal's JWKS with RS256 or ES256 (never ``none`` or HMAC);
    2. ``typ``, when present, ``logout+jwt`` (§2.4; an ID or access token is no logout);
    3. ``iss`` the portal, ``aud`` our client id, ``iat`` present and not older than
       ``OIDC_LOGOUT_TOKEN_MAX_AGE`` nor in the future, ``exp`` not passed, ``jti``
       present; leeway ``OIDC_CLOCK_SKEW`` seconds;
    4. ``events`` holds the back-channel logout event as a JSON object;
    5. ``sub``, ``sid`` or both; 6. no ``nonce``.

    ``jti`` replays are not tracked: ending sessions twice changes nothing. Raises
    ``InvalidLogoutToken``, or ``PortalUnavailable`` when the keys cannot be fetched.
    """
    if not token or len(token) > 8192:
        raise _invalid("no logout token")
    try:
        decoded = jwt.decode(
            token,
            lambda obj: portal_keys(obj.headers().get("kid")),
            algorithms=LOGOUT_TOKEN_ALGORITHMS,
        )
    except (JoseError, ValueError) as error:
        raise _invalid(f"signature: {type(error).__name__}") from error
    typ = decoded.header.get("typ")
    if typ is not None and str(typ).lower() not in LOGOUT_TOKEN_TYPES:
        raise _invalid("typ is not logout+jwt")
    claims = decoded.claims
    skew = int(current_app.config["OIDC_CLOCK_SKEW"])
    try:
        jwt.JWTClaimsRegistry(
            leeway=skew,
            iss={"essential": True, "value": issuer()},
            aud={"essential": True, "value": current_app.config["OIDC_CLIENT_ID"]},
            iat={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(claims)
    except JoseError as error:
        raise _invalid(f"claims: {error.error}") from error
    if claims["iat"] < time.time() - int(current_app.config["OIDC_LOGOUT_TOKEN_MAX_AGE"]) - skew:
        raise _invalid("iat too old")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise _invalid("no back-channel logout event")
    if "nonce" in claims:
        raise _invalid("nonce present")
    sid, sub = claims.get("sid"), claims.get("sub")
    sid = sid if isinstance(sid, str) and sid else None
    sub = sub if isinstance(sub, str) and sub else None
    if sid is None and sub is None:
        raise _invalid("neither sid nor sub")
    return PortalLogout(sid=sid, sub=sub)


def _invalid(reason: str) -> InvalidLogoutToken:
    current_app.logger.warning("back-channel logout token refused: %s", reason)
    return InvalidLogoutToken()
