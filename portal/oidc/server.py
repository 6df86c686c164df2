"""The Authlib authorization server, configured for this portal.

What Authlib leaves to us, and where it is done here (see the reference notes):
- PKCE S256 for every client, ``plain`` and missing challenges refused: ``S256Only``.
- codes single use for 60 s, spent by one atomic statement (``tokens.claim``); a replayed code
  revokes what its first use issued: ``CodeGrant``.
- refresh tokens rotated on every use, also by ``claim``; reuse of a rotated one revokes
  the family: ``RefreshGrant``.
- client authentication, the same at every endpoint: ``portal.oidc.client_auth``.
- access tokens are RFC 9068 JWTs (``typ: at+jwt``), signed by our rotating keys:
  ``tokens.generate_token``.
- the enabled clients, cached per process: ``portal.oidc.clients``.
- ``iss`` in every authorization response (RFC 9207): ``IssuerParameter``.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.identity.models import Citizen, web_session
from portal.identity.sessions import is_session_alive
from portal.oidc import client_auth
from portal.oidc.clients import query_client
from portal.oidc.keys import public_key_set
from portal.oidc.models import (
    AuthorizationCode,
    IssuedToken,
    OAuthClient,
    digest,
)
from portal.oidc.tokens import (
    Subject,
    client_alg,
    generate_token,
    issuer,
    lifetime,
    revoke_code_tokens,
    revoke_family,
    save_token,
    signing_key,
    spend_code,
)
from shared.sessions import utcnow

# --- grants -------------------------------------------------------------------------

# What a token response needs of the citizen: each column of a result costs the driver
# work on every execution, and the citizen's row is wide.
TOKEN_CITIZEN_COLUMNS = (Citizen.id, Citizen.public_id, Citizen.is_active)


# Built once: building a statement (coercing every clause) costs about as much as
# running it.
CODE_READ = (
    sa.select(AuthorizationCode)
    .options(joinedload(AuthorizationCode.citizen).load_only(*TOKEN_CITIZEN_COLUMNS))
    .where(AuthorizationCode.code_hash == sa.bindparam("code_hash"))
)

INSERT_CODE = sa.insert(AuthorizationCode.__table__)

_TOKEN = IssuedToken.__table__
_CITIZEN = Citizen.__table__
# A refresh grant's read, in ``RefreshRecord``'s order: Core, not the ORM (no identity
# map, no instance to build; the grant never writes through the row).
REFRESH_COLUMNS = (
    _TOKEN.c.id,
    _TOKEN.c.family,
    _TOKEN.c.client_id,
    _TOKEN.c.citizen_id,
    _TOKEN.c.scope,
    _TOKEN.c.sid,
    _TOKEN.c.auth_time,
    _TOKEN.c.acr,
    _TOKEN.c.amr,
    _TOKEN.c.code_id,
    _TOKEN.c.expires_at,
    _TOKEN.c.used_at,
    _TOKEN.c.revoked_at,
    _CITIZEN.c.public_id,
    _CITIZEN.c.is_active,
)
REFRESH_READ = (
    sa.select(*REFRESH_COLUMNS)
    .join_from(_TOKEN, _CITIZEN, _TOKEN.c.citizen_id == _CITIZEN.c.id)
    .where(_TOKEN.c.kind == "refresh", _TOKEN.c.lookup == sa.bindparam("lookup"))
)


def _citizen_column(column: sa.Column) -> sa.ScalarSelect:
    # A subquery, not UPDATE … FROM: SQLite's RETURNING names only the updated table.
    return sa.select(column).where(_CITIZEN.c.id == _TOKEN.c.citizen_id).scalar_subquery()


# The refresh grant's one statement on its way to success: it spends the token (one
# atomic UPDATE: of concurrent uses one matches, the others wait for its commit and
# match nothing) only while the token is unused, unrevoked and unexpired and the portal
# session it was issued in is alive, and returns what the grant needs, in
# ``RefreshRecord``'s order. When it matches nothing, ``REFRESH_READ`` tells why.
REFRESH_CLAIM = (
    sa.update(_TOKEN)
    .where(
        _TOKEN.c.kind == "refresh",
        _TOKEN.c.lookup == sa.bindparam("token_lookup"),
        _TOKEN.c.used_at.is_(None),
        _TOKEN.c.revoked_at.is_(None),
        _TOKEN.c.expires_at >= sa.bindparam("now"),
        sa.exists().where(
            web_session.c.sid == _TOKEN.c.sid,
            web_session.c.user_id == _TOKEN.c.citizen_id,
            web_session.c.last_seen_at >= sa.bindparam("idle_cutoff"),
            sa.func.coalesce(web_session.c.authenticated_at, web_session.c.created_at)
            >= sa.bindparam("absolute_cutoff"),
        ),
    )
    .values(used_at=sa.bindparam("now"))
    .returning(
        *REFRESH_COLUMNS[:-2],
        _citizen_column(_CITIZEN.c.public_id),
        _citizen_column(_CITIZEN.c.is_active),
    )
)


class TokenCitizen(NamedTuple):
    """What a token response needs of the citizen (``Subject.citizen``)."""

    id: int
    public_id: str


class RefreshRecord(NamedTuple):
    """A refresh token's row and its citizen's, as the refresh grant reads them; Authlib's
    ``TokenMixin`` where the grant calls it."""

    id: int
    family: str
    client_id: str
    citizen_id: int
    scope: str
    sid: str
    auth_time: int
    acr: str
    amr: list[str]
    code_id: int | None
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    citizen_public_id: str
    citizen_is_active: bool

    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope


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

    def save_authorization_code(self, code: str, request) -> None:
        context = request.user  # a Subject, set by the authorization view
        data = request.payload.data
        # Core, not the unit of work: nothing reads the row back in this request.
        db.session.execute(
            INSERT_CODE,
            {
                "code_hash": digest(code),
                "client_id": request.client.client_id,
                "citizen_id": context.citizen.id,
                # As sent, or "" when left out: the token request then need not repeat
                # it (RFC 6749 §4.1.3: required there only if it was in this request).
                "redirect_uri": request.payload.redirect_uri or "",
                "scope": context.scope
                if context.scope is not None
                else (request.payload.scope or ""),
                "nonce": data.get("nonce"),
                "code_challenge": data["code_challenge"],
                "code_challenge_method": data["code_challenge_method"],
                "auth_time": context.auth_time,
                "acr": context.acr,
                "amr": context.amr,
                "sid": context.sid,
                "expires_at": utcnow() + timedelta(seconds=lifetime("AUTHORIZATION_CODE_LIFETIME")),
            },
        )
        db.session.commit()

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        # The citizen comes in the same statement (``authenticate_user`` reads it).
        record = db.session.execute(CODE_READ, {"code_hash": digest(code)}).scalar_one_or_none()
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
        return signing_key(client_alg(client))

    def get_client_algorithm(self, client: OAuthClient) -> str:
        return client_alg(client)

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

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord | None:
        """Spend the token, or say why not (None). Spent here, before the scope and the
        citizen are checked: a refusal after this point rolls the request back, and the
        token with it. Nothing commits between this and the new tokens."""
        # A signing key made on first use commits on its own: before the claim.
        signing_key(client_alg(self.request.client))
        now = utcnow()
        params = {
            "token_lookup": digest(refresh_token),
            "now": now,
            **current_app.session_interface.live_cutoffs(current_app, now),
        }
        row = db.session.execute(REFRESH_CLAIM, params).first()
        if row is not None:
            return RefreshRecord(*row)
        self.refuse(params["token_lookup"], now)
        return None

    @staticmethod
    def refuse(lookup: str, now: datetime) -> None:
        """Why ``REFRESH_CLAIM`` matched nothing, and what follows from it."""
        row = db.session.execute(REFRESH_READ, {"lookup": lookup}).first()
        if row is None:
            return
        record = RefreshRecord(*row)
        if record.used_at is not None or record.revoked_at is not None:
            # Reuse of a rotated (or revoked) token: someone has a copy. Revoke the family.
            revoke_family(record.family)
        elif record.expires_at >= now and not is_session_alive(record.citizen_id, record.sid):
            # The portal session ended (timed out, or its end was missed): so does its grant.
            revoke_family(record.family)

    def authenticate_user(self, refresh_token: RefreshRecord) -> Subject | None:
        if not refresh_token.citizen_is_active:
            return None
        citizen = TokenCitizen(refresh_token.citizen_id, refresh_token.citizen_public_id)
        return Subject(
            citizen=citizen,  # the token is spent already (``authenticate_refresh_token``)
            sid=refresh_token.sid,
            auth_time=refresh_token.auth_time,
            acr=refresh_token.acr,
            amr=list(refresh_token.amr),
            family=refresh_token.family,
            code_id=refresh_token.code_id,
            family_expires_at=refresh_token.expires_at,
        )

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
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
