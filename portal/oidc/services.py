"""Rules of the OpenID Provider: clients, consent, authentication requirements, userinfo."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.identity.models import Citizen
from portal.identity.services import Origin, record_event
from portal.oidc import claims as scope_claims
from portal.oidc.clients import forget_clients
from portal.oidc.keys import public_key_set
from portal.oidc.models import CLIENT_ID, ClientConsent, IssuedToken, OAuthClient, digest
from portal.oidc.tokens import issuer, revoke_family
from portal.proofing.services import LEVELS
from shared.errors import NotFound, ValidationError
from shared.sessions import utcnow

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")


# --- clients ------------------------------------------------------------------------


def _check_uri(uri: str) -> str:
    parts = urlsplit(uri)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or parts.fragment
        or (parts.scheme == "http" and not loopback)
    ):
        raise ValidationError(
            _l(
                "Redirect URIs must be absolute https:// addresses without a fragment (http:// only on loopback): %(uri)s"
            ),
            uri=uri,
        )
    return uri


@dataclass(frozen=True)
class NewClient:
    client: OAuthClient
    secret: str | None


def create_client(
    *,
    name: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] = (),
    backchannel_logout_uri: str | None = None,
    scopes: list[str] | None = None,
    auth_method: str = "client_secret_basic",
    client_id: str | None = None,
    id_token_alg: str = "RS256",  # noqa: S107 (an algorithm name)
    jwks: dict | None = None,
) -> NewClient:
    """Register a relying party; the secret is returned once and stored hashed."""
    if not name.strip():
        raise ValidationError(_l("A client needs a name."))
    if auth_method not in AUTH_METHODS:
        raise ValidationError(_l("Unknown authentication method."))
    if not redirect_uris:
        raise ValidationError(_l("A client needs at least one redirect URI."))
    scopes = scopes or ["openid", "profile"]
    unknown = [s for s in scopes if s not in scope_claims.SCOPES]
    if unknown or "openid" not in scopes:
        raise ValidationError(
            _l("Scopes must include openid and be among: %(known)s"),
            known=" ".join(scope_claims.SCOPES_SUPPORTED),
        )
    if id_token_alg not in ("RS256", "ES256"):
        raise ValidationError(_l("ID tokens are signed with RS256 or ES256."))
    if auth_method == "private_key_jwt" and not (jwks and jwks.get("keys")):
        raise ValidationError(_l("private_key_jwt needs the client's public keys (JWKS)."))
    if client_id is None:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "client"
        client_id = f"{slug}-{secrets.token_hex(4)}"
    if not CLIENT_ID.fullmatch(client_id):
        raise ValidationError(_l("A client id uses letters, digits and - _ . ~ only."))
    if db.session.execute(
        sa.select(OAuthClient.id).where(OAuthClient.client_id == client_id)
    ).first():
        raise ValidationError(_l("A client with this id already exists."))
    secret = None if auth_method in ("none", "private_key_jwt") else secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=client_id,
        client_secret_hash=digest(secret) if secret else None,
        name=name.strip()[:200],
        redirect_uris=[_check_uri(u) for u in redirect_uris],
        post_logout_redirect_uris=[_check_uri(u) for u in post_logout_redirect_uris],
        backchannel_logout_uri=_check_uri(backchannel_logout_uri)
        if backchannel_logout_uri
        else None,
        scope=" ".join(scopes),
        token_endpoint_auth_method=auth_method,
        id_token_signed_response_alg=id_token_alg,
        jwks=jwks,
    )
    db.session.add(client)
    db.session.commit()
    return NewClient(client, secret)


def get_client(client_id: str) -> OAuthClient:
    client = db.session.execute(
        sa.select(OAuthClient).where(OAuthClient.client_id == client_id)
    ).scalar_one_or_none()
    if client is None:
        raise NotFound(_l("No such client."))
    return client


def list_clients() -> list[OAuthClient]:
    return list(
        db.session.execute(sa.select(OAuthClient).order_by(OAuthClient.created_at)).scalars()
    )


def disable_client(client_id: str) -> OAuthClient:
    """A disabled client can no longer sign anyone in; its tokens are revoked."""
    client = get_client(client_id)
    client.disabled_at = utcnow()
    db.session.execute(
        sa.update(IssuedToken)
        .where(IssuedToken.client_id == client_id, IssuedToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()
    forget_clients()
    return client


def rotate_secret(client_id: str) -> str:
    client = get_client(client_id)
    if client.token_endpoint_auth_method not in ("client_secret_basic", "client_secret_post"):
        raise ValidationError(_l("This client has no secret."))
    secret = secrets.token_urlsafe(32)
    client.client_secret_hash = digest(secret)
    db.session.commit()
    forget_clients()
    return secret


# --- consent ------------------------------------------------------------------------


def consent_covering(
    citizen: Citizen, client: OAuthClient, scopes: list[str]
) -> ClientConsent | None:
    """The citizen's consent to this client if it covers ``scopes``, else None."""
    consent = _consent(citizen, client.client_id)
    return consent if consent is not None and set(scopes) <= set(consent.scope.split()) else None


# The cabinet shows when each application was last used; an hour's precision is enough,
# so a sign-in writes it only when it is older than this.
CONSENT_USE_PRECISION = timedelta(hours=1)


def _consent(citizen: Citizen, client_id: str) -> ClientConsent | None:
    return db.session.execute(
        sa.select(ClientConsent).where(
            ClientConsent.citizen_id == citizen.id, ClientConsent.client_id == client_id
        )
    ).scalar_one_or_none()


def save_consent(
    citizen: Citizen, client: OAuthClient, scopes: list[str], origin: Origin
) -> ClientConsent:
    """Remember the citizen's consent to the client (one row per citizen and client)."""
    citizen_id, client_id, name = citizen.id, client.client_id, client.name
    scope = " ".join(sorted(set(scopes)))
    try:
        consent = _store_consent(citizen_id, client_id, scope)
    except IntegrityError:
        # "Allow" pressed twice at once (two tabs, a double click): the other request
        # inserted the row and logged the consent; this one updates that row.
        db.session.rollback()
        consent = _store_consent(citizen_id, client_id, scope)
        db.session.commit()
        return consent
    record_event(citizen, "consent_given", origin, client=name, scopes=scope.split())
    db.session.commit()
    return consent


def _store_consent(citizen_id: int, client_id: str, scope: str) -> ClientConsent:
    consent = db.session.execute(
        sa.select(ClientConsent).where(
            ClientConsent.citizen_id == citizen_id, ClientConsent.client_id == client_id
        )
    ).scalar_one_or_none() or ClientConsent(citizen_id=citizen_id, client_id=client_id)
    consent.scope = scope
    consent.granted_at = utcnow()
    db.session.add(consent)
    db.session.flush()
    return consent


def record_client_sign_in(
    citizen: Citizen, client: OAuthClient, consent: ClientConsent, origin: Origin
) -> None:
    """The sign-in under ``consent`` goes to the security log, and the consent's last
    use is brought up to date. Not committed here: the authorization code's commit
    (``save_authorization_code``) writes them, in one transaction with the code."""
    now = utcnow()
    if consent.last_used_at is None or consent.last_used_at < now - CONSENT_USE_PRECISION:
        consent.last_used_at = now
    record_event(citizen, "client_sign_in", origin, client=client.name)


def applications_of(citizen: Citizen) -> list[dict[str, Any]]:
    """The cabinet's "applications with access to my data"."""
    rows = db.session.execute(
        sa.select(ClientConsent, OAuthClient)
        .join(OAuthClient, OAuthClient.client_id == ClientConsent.client_id)
        .where(ClientConsent.citizen_id == citizen.id)
        .order_by(ClientConsent.granted_at.desc())
    ).all()
    return [
        {
            "client": client,
            "consent": consent,
            "scopes": scope_claims.describe(consent.scope.split()),
        }
        for consent, client in rows
    ]


def revoke_application(citizen: Citizen, client_id: str, origin: Origin) -> None:
    """Withdraw consent and revoke every token the client holds for this citizen."""
    consent = _consent(citizen, client_id)
    if consent is None:
        raise NotFound()
    db.session.delete(consent)
    families = db.session.execute(
        sa.select(IssuedToken.family)
        .where(IssuedToken.citizen_id == citizen.id, IssuedToken.client_id == client_id)
        .distinct()
    ).scalars()
    for family in list(families):
        revoke_family(family)
    client = db.session.execute(
        sa.select(OAuthClient).where(OAuthClient.client_id == client_id)
    ).scalar_one_or_none()
    record_event(citizen, "consent_revoked", origin, client=client.name if client else client_id)
    db.session.commit()


# --- authentication requirements ----------------------------------------------------


def required_level(acr_values: str | None) -> str | None:
    """The level an ``acr_values`` request asks for: the lowest known value it lists."""
    levels = [scope_claims.level_for_acr(value) for value in (acr_values or "").split()]
    known = [level for level in levels if level]
    return min(known, key=LEVELS.index) if known else None


def meets_level(citizen: Citizen, level: str | None) -> bool:
    return level is None or LEVELS.index(citizen.level) >= LEVELS.index(level)


def _reauth_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="oidc-reauth")


def reauth_marker(secret_key: str) -> str:
    """Signed "a fresh sign-in was asked for at this time", carried through the login page."""
    return _reauth_serializer(secret_key).dumps(int(time.time()))


def reauth_satisfied(secret_key: str, marker: str | None, auth_time: int | None) -> bool:
    if not marker or auth_time is None:
        return False
    try:
        asked_at = _reauth_serializer(secret_key).loads(marker, max_age=3600)
    except BadSignature:
        return False
    return auth_time >= int(asked_at)


def subject_of_id_token_hint(hint: str | None) -> str | None:
    """The ``sub`` of an ID token this portal issued (expired ones are fine as hints)."""
    if not hint:
        return None
    try:
        token = jwt.decode(hint, public_key_set())
    except (JoseError, ValueError):
        return None
    if token.claims.get("iss") != issuer():
        return None
    return token.claims.get("sub")


# --- userinfo -----------------------------------------------------------------------


class BearerError(Exception):
    """A refused protected-resource request (RFC 6750 §3): the status, the error code of
    the ``WWW-Authenticate: Bearer`` challenge (None when the request carried no token at
    all, §3.1), and the scope it needed."""

    status = 401
    code: str | None = "invalid_token"
    scope: str | None = None


class NoToken(BearerError):
    """The request had no access token: no error code (RFC 6750 §3.1)."""

    code = None


class InvalidBearerRequest(BearerError):
    """The token was sent more than one way, or malformed (RFC 6750 §2, §3.1)."""

    status = 400
    code = "invalid_request"


class InvalidToken(BearerError):
    """The bearer token is forged, expired or revoked (RFC 6750 §3.1)."""


class InsufficientScope(BearerError):
    """A valid token without the scope userinfo needs: ``openid`` (RFC 6750 §3.1)."""

    status = 403
    code = "insufficient_scope"
    scope = "openid"


# Built once: building a statement costs about as much as running it.
USERINFO_READ = (
    sa.select(IssuedToken)
    .options(joinedload(IssuedToken.citizen))
    .where(IssuedToken.kind == "access", IssuedToken.lookup == sa.bindparam("jti"))
)


def userinfo(access_token: str | None) -> dict[str, Any]:
    if not access_token:
        raise NoToken("no access token")
    try:
        token = jwt.decode(access_token, public_key_set())
    except (JoseError, ValueError) as exc:
        raise InvalidToken("malformed") from exc
    # RFC 9068 §4: typ at+jwt, our issuer, not expired; and not revoked here.
    if token.header.get("typ") != "at+jwt" or token.claims.get("iss") != issuer():
        raise InvalidToken("not an access token of this provider")
    if int(token.claims.get("exp", 0)) < time.time():
        raise InvalidToken("expired")
    record = db.session.execute(
        USERINFO_READ, {"jti": str(token.claims.get("jti"))}
    ).scalar_one_or_none()
    if record is None or record.revoked_at is not None:
        raise InvalidToken("revoked")
    citizen = record.citizen
    if not citizen.is_active:
        raise InvalidToken("no such citizen")
    scopes = record.scope.split()
    if "openid" not in scopes:
        raise InsufficientScope("the token was not issued for openid")
    return {"sub": citizen.public_id, **scope_claims.claims_for(citizen, scopes)}
