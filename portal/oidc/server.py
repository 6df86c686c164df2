"""The Authlib authorization server, configured for this portal.

What Authlib leaves to us, and where it is done here (see the reference notes):
- PKCE S256 for every client, ``plain`` and missing challenges refused: ``S256Only``.
- codes single use for 60 s, spent by one atomic statement (``claim``); a replayed code
  revokes what its first use issued: ``CodeGrant``.
- refresh tokens rotated on every use, also by ``claim``; reuse of a rotated one revokes
  the family: ``RefreshGrant``.
- client authentication, the same at every endpoint: ``portal.oidc.client_auth``.
- access tokens are RFC 9068 JWTs (``typ: at+jwt``), signed by our rotating keys:
  ``generate_token``.
- ``iss`` in every authorization response (RFC 9207): ``IssuerParameter``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope
from flask import current_app, g
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.identity.models import Citizen
from portal.identity.sessions import is_session_alive
from portal.metrics import TOKENS_ISSUED
from portal.oidc import client_auth
from portal.oidc.keys import active_key, public_key_set
from portal.oidc.models import (
    CLIENT_ID,
    AuthorizationCode,
    IssuedToken,
    OAuthClient,
    SessionClient,
    digest,
    insert_once,
    new_family,
)
from shared.cache import TimedCache
from shared.database import commit_keeping_state
from shared.sessions import utcnow


def issuer() -> str:
    cfg = current_app.config
    return (cfg.get("ISSUER") or cfg["PUBLIC_URL"]).rstrip("/")


def lifetime(name: str) -> int:
    return int(current_app.config[name])


def signing_key(alg: str):
    """The active private key of ``alg``, loaded once per request: a token response signs
    the access token and the ID token and names the kid, and each load decrypts the key
    and has ``cryptography`` check an RSA key (tens of milliseconds)."""
    keys = g.setdefault("oidc_signing_keys", {})
    if alg not in keys:
        keys[alg] = active_key(alg)
    return keys[alg]


@dataclass
class Subject:
    """Who a grant is for, and how they signed in: carried from the code (or the refresh
    token) into every token issued from it."""

    citizen: Citizen
    sid: str
    auth_time: int
    acr: str
    amr: list[str]
    family: str = field(default_factory=new_family)
    code_id: int | None = None
    family_expires_at: datetime | None = None
    scope: str | None = None  # at authorization: the scopes granted (consented, level allowed)
    # Spends the code or refresh token the grant came from; raises InvalidGrantError if
    # it was spent already. Called by ``generate_token`` just before it commits.
    spend: Callable[[], None] | None = None


# --- clients ------------------------------------------------------------------------


# Enabled clients, read on every authorization and token request: kept per process for
# OIDC_CACHE_SECONDS (a client disabled or given a new secret elsewhere is refused
# everywhere within that time; here at once, see ``forget_clients``).
_CLIENTS: TimedCache[OAuthClient] = TimedCache()


def cache_seconds() -> float:
    return float(current_app.config["OIDC_CACHE_SECONDS"])


def query_client(client_id: str) -> OAuthClient | None:
    """The enabled client ``client_id``; None for anything else, a malformed id included."""
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        return None
    return _CLIENTS.get(
        (current_app.config["SQLALCHEMY_DATABASE_URI"], client_id),
        cache_seconds(),
        lambda: _load_client(client_id),
    )


def load_client(client_id: str) -> OAuthClient | None:
    """The enabled client as the database has it now, for work off the hot path (a
    back-channel logout must not go to an address the client no longer has)."""
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        return None
    return _load_client(client_id)


def _load_client(client_id: str) -> OAuthClient | None:
    client = db.session.execute(
        sa.select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.disabled_at.is_(None)
        )
    ).scalar_one_or_none()
    if client is not None:
        # Detached, fully loaded: requests share it, and no commit may expire it.
        db.session.expunge(client)
    return client


def forget_clients() -> None:
    """A client changed: this process reads it again at its next use."""
    _CLIENTS.clear()


# --- tokens -------------------------------------------------------------------------


def generate_token(
    grant_type,
    client,
    user: Subject = None,
    scope=None,
    expires_in=None,
    include_refresh_token=True,
):
    """RFC 9068 access token (a JWT for the client's audience) and an opaque refresh token."""
    now = int(time.time())
    expires_in = lifetime("ACCESS_TOKEN_LIFETIME")
    jti = secrets.token_urlsafe(16)
    access_claims = {
        "iss": issuer(),
        "sub": user.citizen.public_id,
        "aud": client.client_id,
        "client_id": client.client_id,
        "exp": now + expires_in,
        "iat": now,
        "jti": jti,
        "scope": scope,
        "auth_time": user.auth_time,
        "acr": user.acr,
        "amr": user.amr,
        "sid": user.sid,
    }
    key = signing_key("RS256")
    access_token = jwt.encode({"typ": "at+jwt", "alg": "RS256", "kid": key.kid}, access_claims, key)
    token = {
        "token_type": "Bearer",
        "access_token": access_token,
        "expires_in": expires_in,
        "scope": scope,
    }
    now_utc = utcnow()
    records = [_record("access", jti, client, user, scope, now_utc + timedelta(seconds=expires_in))]
    if include_refresh_token:
        refresh = secrets.token_urlsafe(32)
        family_end = user.family_expires_at or (
            now_utc + timedelta(seconds=lifetime("REFRESH_TOKEN_LIFETIME"))
        )
        user.family_expires_at = family_end
        token["refresh_token"] = refresh
        records.append(_record("refresh", digest(refresh), client, user, scope, family_end))
    if user.spend is not None:
        # The last statement before the commit: everything that might commit on its own
        # (a signing key made on first use) is done, so the spending and the tokens
        # commit together.
        user.spend()
    # Core, not the unit of work: nothing reads these rows back in this request.
    db.session.execute(sa.insert(IssuedToken.__table__), records)
    if grant_type != "refresh_token":  # a refresh continues a grant the session knows
        insert_once(
            SessionClient,
            {"sid": user.sid, "client_id": client.client_id, "citizen_id": user.citizen.id},
            ["sid", "client_id"],
        )
    commit_keeping_state(db)  # the ID token is made from these objects next
    TOKENS_ISSUED.labels(grant_type).inc()
    return token


def _record(kind, lookup, client, user: Subject, scope, expires: datetime) -> dict:
    """The values of one ``issued_token`` row."""
    return {
        "kind": kind,
        "lookup": lookup,
        "family": user.family,
        "client_id": client.client_id,
        "citizen_id": user.citizen.id,
        "scope": scope or "",
        "sid": user.sid,
        "auth_time": user.auth_time,
        "acr": user.acr,
        "amr": user.amr,
        "code_id": user.code_id,
        "expires_at": expires,
    }


def claim(model, row_id: int, *conditions) -> bool:
    """Mark the code or token ``row_id`` used, in one statement that matches only while
    it is unused; False if it was used (or ``conditions`` no longer hold).

    Not committed: the tokens issued for it commit with it (``generate_token``), and
    until then the row stays locked, so a concurrent use waits, finds it used, and its
    revocation of what was issued sees the winner's tokens. Nothing may commit between
    this and the tokens."""
    table = model.__table__  # Core: nothing in the session to synchronise
    claimed = db.session.execute(
        sa.update(table)
        .where(table.c.id == row_id, table.c.used_at.is_(None), *conditions)
        .values(used_at=utcnow())
        .returning(table.c.id)
    ).first()
    return claimed is not None


def spend_code(code: AuthorizationCode) -> None:
    """Single use, once the request has passed every check (a wrong code_verifier does
    not spend the code): of concurrent redemptions one wins, the others are replays and
    revoke what it issued (RFC 6749 §4.1.2)."""
    if not claim(AuthorizationCode, code.id):
        db.session.rollback()
        revoke_code_tokens(code.id)
        raise InvalidGrantError("The code has been used.")


def spend_refresh_token(token: IssuedToken) -> None:
    """Rotation: of concurrent uses one wins; the others are reuse and revoke the family
    (RFC 9700 §4.14.2)."""
    if not claim(IssuedToken, token.id, IssuedToken.revoked_at.is_(None)):
        db.session.rollback()
        revoke_family(token.family)
        raise InvalidGrantError("The refresh token has been used.")


def revoke_family(family: str) -> int:
    result = db.session.execute(
        sa.update(IssuedToken)
        .where(IssuedToken.family == family, IssuedToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()
    return result.rowcount


def revoke_code_tokens(code_id: int) -> int:
    families = db.session.execute(
        sa.select(IssuedToken.family).where(IssuedToken.code_id == code_id).distinct()
    ).scalars()
    return sum(revoke_family(family) for family in list(families))


def save_token(token: dict, request) -> None:
    """Tokens are recorded as they are generated (``generate_token``)."""


# --- grants -------------------------------------------------------------------------

# What a token response needs of the citizen: each column of a result costs the driver
# work on every execution, and the citizen's row is wide.
TOKEN_CITIZEN_COLUMNS = (Citizen.id, Citizen.public_id, Citizen.is_active)


class S256Only(CodeChallenge):
    """PKCE is required for every client, and only with S256 (RFC 9700 §2.1.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send code_challenge with code_challenge_method=S256."
            )
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]

    @staticmethod
    def validate_authorization_redirect_uri(request, client) -> str:
        """OpenID Connect Core §3.1.2.1: an OpenID request MUST name its ``redirect_uri``
        (plain OAuth 2.0 may leave it out when the client registered one, RFC 6749
        §3.1.2.3). Refused on a page: without it, nothing may be redirected (§4.1.2.1)."""
        if is_openid_scope(request.payload.scope) and not request.payload.redirect_uri:
            raise InvalidRequestError(
                "redirect_uri is required in an OpenID Connect request.",
                state=request.payload.state,
            )
        return grants.AuthorizationCodeGrant.validate_authorization_redirect_uri(request, client)

    def save_authorization_code(self, code: str, request) -> AuthorizationCode:
        context = request.user  # a Subject, set by the authorization view
        data = request.payload.data
        record = AuthorizationCode(
            code_hash=digest(code),
            client_id=request.client.client_id,
            citizen_id=context.citizen.id,
            # As sent, or "" when left out: the token request then need not repeat it
            # (RFC 6749 §4.1.3: required there only if it was in this request).
            redirect_uri=request.payload.redirect_uri or "",
            scope=context.scope if context.scope is not None else (request.payload.scope or ""),
            nonce=data.get("nonce"),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            auth_time=context.auth_time,
            acr=context.acr,
            amr=context.amr,
            sid=context.sid,
            expires_at=utcnow() + timedelta(seconds=lifetime("AUTHORIZATION_CODE_LIFETIME")),
        )
        db.session.add(record)
        db.session.commit()
        return record

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        # The citizen comes in the same statement (``authenticate_user`` reads it).
        record = db.session.execute(
            sa.select(AuthorizationCode)
            .options(joinedload(AuthorizationCode.citizen).load_only(*TOKEN_CITIZEN_COLUMNS))
            .where(AuthorizationCode.code_hash == digest(code))
        ).scalar_one_or_none()
        if record is None or record.client_id != client.client_id:
            return None
        if record.used_at is not None:
            # A replayed code: revoke everything its first use issued (RFC 6749 §4.1.2).
            revoke_code_tokens(record.id)
            return None
        if record.expires_at < utcnow():
            return None
        return record

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing left to do: ``authenticate_user`` spent the code (and it is kept, to
        recognise a replay)."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Subject | None:
        citizen = authorization_code.citizen
        if citizen is None or not citizen.is_active:
            return None
        return Subject(
            spend=lambda: spend_code(authorization_code),
            citizen=citizen,
            sid=authorization_code.sid,
            auth_time=authorization_code.auth_time,
            acr=authorization_code.acr,
            amr=list(authorization_code.amr),
            code_id=authorization_code.id,
        )


class OpenIDConnect(OpenIDCode):
    def exists_nonce(self, nonce, request) -> bool:
        # Nonces are the client's replay protection; the code flow does not require
        # them unique at the OP, so any nonce is accepted.
        return False

    def resolve_client_private_key(self, client: OAuthClient):
        return signing_key(client.id_token_signed_response_alg or "RS256")

    def get_client_algorithm(self, client: OAuthClient) -> str:
        return client.id_token_signed_response_alg or "RS256"

    def get_encode_header(self, client: OAuthClient) -> dict:
        alg = self.get_client_algorithm(client)
        return {"alg": alg, "kid": signing_key(alg).kid, "typ": "JWT"}

    def get_client_claims(self, client: OAuthClient) -> dict:
        now = int(time.time())
        return {
            "iss": issuer(),
            "aud": [client.client_id],
            "iat": now,
            "exp": now + lifetime("ID_TOKEN_LIFETIME"),
        }

    def generate_user_info(self, user: Subject, scope: str) -> UserInfo:
        # Personal data is released by userinfo only (OIDC Core §5.4 for the code flow):
        # ID tokens come back as id_token_hint in logout URLs and must not carry SNILS,
        # passports or children into access logs.
        return UserInfo(sub=user.citizen.public_id, sid=user.sid)


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotated on every use

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        record = db.session.execute(
            sa.select(IssuedToken)
            .options(joinedload(IssuedToken.citizen).load_only(*TOKEN_CITIZEN_COLUMNS))
            .where(IssuedToken.kind == "refresh", IssuedToken.lookup == digest(refresh_token))
        ).scalar_one_or_none()
        if record is None:
            return None
        if record.used_at is not None or record.revoked_at is not None:
            # Reuse of a rotated (or revoked) token: someone has a copy. Revoke the family.
            revoke_family(record.family)
            return None
        if record.expires_at < utcnow():
            return None
        if not is_session_alive(record.citizen_id, record.sid):
            # The portal session ended (timed out, or its end was missed): so does its grant.
            revoke_family(record.family)
            return None
        return record

    def authenticate_user(self, refresh_token: IssuedToken) -> Subject | None:
        citizen = refresh_token.citizen
        if citizen is None or not citizen.is_active:
            return None
        return Subject(
            spend=lambda: spend_refresh_token(refresh_token),
            citizen=citizen,
            sid=refresh_token.sid,
            auth_time=refresh_token.auth_time,
            acr=refresh_token.acr,
            amr=list(refresh_token.amr),
            family=refresh_token.family,
            code_id=refresh_token.code_id,
            family_expires_at=refresh_token.expires_at,
        )

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        """Nothing left to do: ``authenticate_user`` spent the token."""


# --- revocation and introspection ---------------------------------------------------


def find_token(token: str, hint: str | None) -> IssuedToken | None:
    """An access token (a JWT of ours, by ``jti``) or a refresh token (by hash)."""
    record = db.session.execute(
        sa.select(IssuedToken).where(
            IssuedToken.kind == "refresh", IssuedToken.lookup == digest(token)
        )
    ).scalar_one_or_none()
    if record is not None:
        return record
    try:
        decoded = jwt.decode(token, public_key_set())
    except (JoseError, ValueError):  # not a token of ours: simply unknown (RFC 7009 §2.2)
        return None
    return db.session.execute(
        sa.select(IssuedToken).where(
            IssuedToken.kind == "access", IssuedToken.lookup == str(decoded.claims.get("jti"))
        )
    ).scalar_one_or_none()


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token: IssuedToken, request) -> None:
        if token.client_id != request.client.client_id:
            return  # RFC 7009 §2.1: not this client's token; answer 200 all the same
        if token.kind == "refresh":
            revoke_family(token.family)
        else:
            token.revoked_at = utcnow()
            db.session.commit()


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def check_permission(self, token: IssuedToken, client: OAuthClient, request) -> bool:
        return not client.is_public and token.client_id == client.client_id

    def introspect_token(self, token: IssuedToken) -> dict:
        if not token.is_active:
            return {"active": False}
        citizen = db.session.get(Citizen, token.citizen_id)
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer" if token.kind == "access" else "refresh_token",
            "scope": token.scope,
            "sub": citizen.public_id,
            "aud": token.client_id,
            "iss": issuer(),
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.issued_at.timestamp()),
            "acr": token.acr,
        }


class Issuer(IssuerParameter):
    def get_issuer(self) -> str:
        return issuer()


class Server(AuthorizationServer):
    def authenticate_client(self, request, methods, endpoint="token"):
        """Every endpoint's client authentication, by one set of rules
        (``portal.oidc.client_auth``) instead of Authlib's try-each-method loop."""
        return client_auth.authenticate_client(request, methods, endpoint, query_client, issuer())


authorization = Server()


def init_oidc_server(app) -> None:
    authorization.init_app(app, query_client=query_client, save_token=save_token)
    authorization.register_token_generator("default", generate_token)
    authorization.register_grant(
        CodeGrant, [S256Only(required=True), OpenIDConnect(require_nonce=False)]
    )
    authorization.register_grant(RefreshGrant)
    authorization.register_endpoint(Revocation)
    authorization.register_endpoint(Introspection)
    authorization.register_extension(Issuer())
