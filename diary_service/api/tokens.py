"""Who is calling the JSON API: the portal's access token, checked here without asking
the portal (DESIGN: access tokens are RFC 9068 JWTs so the diary checks them locally).

What is assumed and checked (STYLE §8), in order:

1. The token travels in the ``Authorization: Bearer`` header only (RFC 6750 §2.1).
   One in the query string (§2.3) is refused: URLs end up in access logs and browser
   histories. No cookie and no session ever authenticate the API.
2. ``shared.tokens.verify_access_token``: header ``typ`` ``at+jwt`` (RFC 9068 §4: an ID
   token or a logout token signed by the same keys is no access token), ``alg`` RS256 or
   ES256 (what the portal signs with; never ``none`` or an HMAC), a ``kid``; the
   signature by that key of the portal's JWKS — the very key set ``auth.oidc`` fetched
   and caches for sign-in, whose discovery document must name ``PORTAL_URL`` as its
   issuer (OpenID Connect Discovery §4.3); a ``kid`` the set lacks refetches it, at most
   once per ``OIDC_JWKS_REFRESH_INTERVAL`` (anyone can send a made-up ``kid``).
3. Claims: ``iss`` is ``PORTAL_URL``; ``aud`` holds ``OIDC_CLIENT_ID`` — the portal
   puts the id of the client it issued the token to in ``aud`` (and in ``client_id``), so
   a token issued to another client of the portal is refused even though the same portal
   signed it: it was not meant for this diary; ``exp``, ``iat`` and ``nbf`` with
   ``OIDC_CLOCK_SKEW`` seconds of leeway; ``sub``, ``client_id`` and ``jti`` present.
4. ``scope`` includes ``openid``: the API shows what the diary's pages show, and the
   pages need nothing beyond signing in (the diary reads names, SNILS and children from
   userinfo at the web sign-in, not from the API's tokens).
5. The person is the ``DiaryPerson`` with the token's ``sub``: someone who signed in to
   the diary on the web at least once. The API creates nobody, because the diary learns
   a person's name, SNILS match and children only from the portal's userinfo at that
   sign-in.

Not checked: revocation. A token the portal revoked, or whose portal session ended,
stays usable here until it expires; the portal keeps access tokens short
(``ACCESS_TOKEN_LIFETIME``, five minutes) and revokes the refresh token that would renew
them. That is the price of checking locally, chosen so the diary's API does not depend
on the portal being up.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from joserfc.jwk import KeySet

from diary_service.auth.oidc import issuer, portal_keys, portal_metadata
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from shared.errors import DomainError, Forbidden
from shared.tokens import (
    EXPIRED,
    SIGNING_ALGORITHMS,
    WRONG_AUDIENCE,
    AccessToken,
    InvalidToken,
    verify_access_token,
)

REALM = "diary"
REQUIRED_SCOPE = "openid"
# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token (the scheme is case-insensitive).
BEARER = re.compile(r"^Bearer +([A-Za-z0-9\-._~+/]+=*) *$", re.IGNORECASE)


class BearerError(DomainError):
    """A refusal RFC 6750 §3 shapes: a status, an ``error`` code (none when the request
    carried no token at all, §3.1) and the ``WWW-Authenticate`` challenge saying the
    same. ``challenge_text`` must be plain ASCII without quotes (§3)."""

    status = 401
    code: str | None = None
    challenge_text: str | None = None
    challenge_scope: str | None = None

    def challenge(self) -> str:
        parts = [f'realm="{REALM}"']
        if self.code is not None:
            parts.append(f'error="{self.code}"')
        if self.challenge_text is not None:
            parts.append(f'error_description="{self.challenge_text}"')
        if self.challenge_scope is not None:
            parts.append(f'scope="{self.challenge_scope}"')
        return "Bearer " + ", ".join(parts)


class TokenMissing(BearerError):
    default_message = _l(
        "The diary's API needs the portal's access token: Authorization: Bearer <token>."
    )


class TokenInQuery(BearerError):
    status = 400
    code = "invalid_request"
    challenge_text = "Send the access token in the Authorization header"
    default_message = _l("Send the access token in the Authorization header, not in the address.")


class TokenRefused(BearerError):
    code = "invalid_token"
    challenge_text = "The access token is not valid"
    default_message = _l("The access token is not valid. Sign in again.")


class TokenExpired(TokenRefused):
    challenge_text = "The access token expired"
    default_message = _l("The access token has expired. Sign in again.")


class TokenForAnotherService(TokenRefused):
    challenge_text = "The access token was issued for another service"
    default_message = _l("The access token was issued for another service, not for this diary.")


class ScopeMissing(BearerError):
    status = 403
    code = "insufficient_scope"
    challenge_text = "The openid scope is required"
    challenge_scope = REQUIRED_SCOPE
    default_message = _l("The access token does not allow reading the diary: sign in again.")


class NotSignedUp(Forbidden):
    """A valid token of someone the diary has never seen: not a token problem, so no
    challenge; what to do is in the message."""

    default_message = _l(
        "You have not signed in to the diary yet. Sign in on the diary's website through "
        "the portal once, then try again."
    )


REFUSALS = {EXPIRED: TokenExpired, WRONG_AUDIENCE: TokenForAnotherService}


def bearer_token(authorization: str | None, query: Any) -> str:
    """The token of the request (RFC 6750 §2.1), or the refusal that fits: none sent
    (401 without an error code), one in the query string (400), a header that is not a
    well-formed bearer credential (401 ``invalid_token``)."""
    if "access_token" in query:
        raise TokenInQuery()
    if not authorization:
        raise TokenMissing()
    scheme = authorization.split(" ", 1)[0]
    if scheme.lower() != "bearer":
        raise TokenMissing()  # another scheme (Basic, DPoP): no bearer token was sent
    found = BEARER.match(authorization)
    if found is None:
        raise _refused("malformed Authorization header", TokenRefused)
    return found.group(1)


def read_access_token(token: str) -> AccessToken:
    """The verified token (points 2–4 above) or the ``BearerError`` to answer."""
    config = current_app.config
    try:
        verified = verify_access_token(
            token,
            _portal_keys,
            issuer=issuer(),
            audience=config["OIDC_CLIENT_ID"],
            leeway=int(config["OIDC_CLOCK_SKEW"]),
            algorithms=SIGNING_ALGORITHMS,
        )
    except InvalidToken as error:
        raise _refused(error.reason, REFUSALS.get(error.kind, TokenRefused)) from error
    if REQUIRED_SCOPE not in verified.scopes:
        raise _refused("no openid scope", ScopeMissing)
    return verified


def person_of(token: AccessToken) -> DiaryPerson:
    """The diary's record of the token's subject (point 5 above)."""
    person = db.session.execute(
        sa.select(DiaryPerson).where(DiaryPerson.sub == token.subject)
    ).scalar_one_or_none()
    if person is None:
        raise NotSignedUp()
    return person


def authenticate(authorization: str | None, query: Any) -> DiaryPerson:
    """Everything above, for one request."""
    return person_of(read_access_token(bearer_token(authorization, query)))


def _portal_keys(obj: Any) -> KeySet:
    # Discovery first: it checks the portal's metadata names PORTAL_URL as issuer (and
    # is cached after the first call). Both raise PortalUnavailable (503) when the
    # portal cannot be reached and its keys are not cached yet.
    portal_metadata()
    return portal_keys(obj.headers().get("kid"))


def _refused(reason: str, refusal: type[BearerError]) -> BearerError:
    # The reason is for the log (never the token or its claims).
    current_app.logger.info("API access token refused: %s", reason)
    return refusal()
