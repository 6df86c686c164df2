"""Clients, authorization codes, tokens, consents and the sessions clients take part in."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from shared.sessions import utcnow

if TYPE_CHECKING:
    from portal.identity.models import Citizen

# A client id: RFC 3986 unreserved characters. Anything else is no client of ours, and is
# refused before a query (a NUL byte alone makes PostgreSQL fail the statement).
CLIENT_ID = re.compile(r"^[A-Za-z0-9._~-]{3,100}$")


def digest(secret: str) -> str:
    """Client secrets, codes and refresh tokens are stored as SHA-256: they are long
    random values (at least 128 bits), so a slow password hash adds nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()


class OAuthClient(db.Model, ClientMixin):
    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    client_secret_hash: Mapped[str | None] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(sa.String(500))
    scope: Mapped[str] = mapped_column(sa.String(500))
    token_endpoint_auth_method: Mapped[str] = mapped_column(sa.String(32))
    id_token_signed_response_alg: Mapped[str] = mapped_column(sa.String(8), default="RS256")
    jwks: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)  # for private_key_jwt
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<OAuthClient {self.client_id}>"

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"  # noqa: S105 (a method name, not a secret)

    # --- authlib.oauth2.rfc6749.ClientMixin ---
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only with exactly one registered URI may a request leave redirect_uri out.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match (RFC 9700 §2.1)

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash:
            return False
        return hmac.compare_digest(digest(client_secret), self.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class AuthorizationCode(db.Model, AuthorizationCodeMixin):
    __tablename__ = "authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    citizen_id: Mapped[int] = mapped_column(sa.ForeignKey("citizen.id", ondelete="CASCADE"))
    # Loaded with the code in one statement when the code is redeemed (server.py).
    citizen: Mapped[Citizen] = relationship()
    redirect_uri: Mapped[str] = mapped_column(sa.String(500))
    scope: Mapped[str] = mapped_column(sa.String(500))
    nonce: Mapped[str | None] = mapped_column(sa.String(255))
    code_challenge: Mapped[str] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[str] = mapped_column(sa.String(8))
    auth_time: Mapped[int]
    acr: Mapped[str] = mapped_column(sa.String(64))
    amr: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    sid: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    # --- authlib.oauth2.rfc6749.AuthorizationCodeMixin ---
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str:
        return self.acr

    def get_amr(self) -> list[str]:
        return self.amr


class IssuedToken(db.Model, TokenMixin):
    """An access or refresh token as issued: what revocation, introspection, replay and
    logout act on. Access tokens are JWTs found by ``jti``; refresh tokens are opaque and
    found by their hash. All tokens of one sign-in to one client share a ``family``."""

    __tablename__ = "issued_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))  # "access" or "refresh"
    lookup: Mapped[str] = mapped_column(
        sa.String(64), unique=True
    )  # jti, or SHA-256 of the refresh token
    family: Mapped[str] = mapped_column(sa.String(36), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    # Loaded with the token in one statement where it is used (server.py, userinfo).
    citizen: Mapped[Citizen] = relationship()
    scope: Mapped[str] = mapped_column(sa.String(500))
    sid: Mapped[str] = mapped_column(sa.String(64), index=True)
    auth_time: Mapped[int]
    acr: Mapped[str] = mapped_column(sa.String(64))
    amr: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    code_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("authorization_code.id", ondelete="SET NULL")
    )
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]  # a refresh token, once rotated
    revoked_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.used_at is None and self.expires_at > utcnow()

    # --- authlib.oauth2.rfc6749.TokenMixin ---
    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - utcnow()).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.used_at is not None


class ClientConsent(db.Model):
    """What a citizen allowed a client to receive; remembered per client and scope set."""

    __tablename__ = "client_consent"
    __table_args__ = (sa.UniqueConstraint("citizen_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(sa.String(100))
    scope: Mapped[str] = mapped_column(sa.String(500))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class SessionClient(db.Model):
    """A client that received tokens in a portal session (``sid``): back-channel logout
    tells each of them when the session ends."""

    __tablename__ = "session_client"
    __table_args__ = (sa.UniqueConstraint("sid", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(sa.String(64), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(100))
    citizen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("citizen.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def new_family() -> str:
    return str(uuid.uuid4())


class UsedAssertion(db.Model):
    """``jti`` of a client's assertions (private_key_jwt) already seen: each is single use
    (``client_auth.claim_jti``). Kept until ``expires_at``, when the assertion's own
    ``exp`` refuses it, then pruned."""

    __tablename__ = "used_assertion"

    client_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    jti: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LogoutDelivery(db.Model):
    """A back-channel logout owed to a client for one ended session (OpenID Connect
    Back-Channel Logout 1.0 §2.5): the outbox that the first attempt (a job) and the
    retries (the sweeper) work from. One per session and client."""

    __tablename__ = "logout_delivery"
    __table_args__ = (sa.UniqueConstraint("sid", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    sid: Mapped[str] = mapped_column(sa.String(64))
    sub: Mapped[str] = mapped_column(sa.String(36))  # the citizen's public id
    attempts: Mapped[int] = mapped_column(default=0)
    # When the sweeper tries next; None once delivered or given up.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<LogoutDelivery {self.id} to {self.client_id}>"


def insert_once(model, values: dict[str, Any], keys: list[str], returning=None) -> Any:
    """``INSERT … ON CONFLICT (keys) DO NOTHING``: one statement that either adds the row
    or, when a row with the same ``keys`` exists (or is being added by a concurrent
    transaction, which it waits for), adds nothing. Returns ``returning`` of the row
    added (True when not given), or None when nothing was added. Not committed: the
    caller's transaction decides."""
    dialect = db.session.get_bind().dialect.name
    statement = _insert_once_statement(dialect, model, tuple(keys), returning)
    # RETURNING rather than the row count, which drivers report differently here.
    return db.session.execute(statement, values).scalar_one_or_none()


@functools.cache
def _insert_once_statement(dialect: str, model, keys: tuple[str, ...], returning) -> sa.Insert:
    """Built once per kind (it is on the token endpoint's path): a Core insert of the
    table, its values bound at execution (Python-side column defaults still apply)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(model.__table__)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(returning if returning is not None else sa.literal(True))
    )
