"""Tokens as the portal issues them: who a grant is for (``Subject``), the issuer and the
signing keys, the access token (an RFC 9068 JWT) and its records, and the one atomic
statement (``claim``) that spends a code or a refresh token once."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import InvalidGrantError
from flask import current_app, g
from joserfc import jwt

from portal.extensions import db
from portal.identity.models import Citizen
from portal.metrics import TOKENS_ISSUED
from portal.oidc.keys import active_key
from portal.oidc.models import (
    AuthorizationCode,
    IssuedToken,
    SessionClient,
    digest,
    insert_once,
    new_family,
)
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


def client_alg(client) -> str:
    """The algorithm that signs what the portal issues to ``client``: its ID, access and
    logout tokens (RS256, the OpenID Connect default, unless it registered ES256)."""
    return client.id_token_signed_response_alg or "RS256"


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


# --- tokens -------------------------------------------------------------------------

INSERT_TOKENS = sa.insert(IssuedToken.__table__)  # built once, as the claims below


def generate_token(
    grant_type,
    client,
    user: Subject = None,
    scope=None,
    expires_in=None,
    include_refresh_token=True,
):
    """RFC 9068 access token (a JWT for the client's audience) and an opaque refresh token.

    The access token is signed with the client's algorithm (``client_alg``), as its ID
    and logout tokens are: RS256 unless the client registered ES256. RFC 9068 §2.1 asks
    every party to support RS256, not to use it for every token; an ES256 signature
    costs about 0.04 ms of CPU where an RSA-2048 one costs about 0.9 ms."""
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
    alg = client_alg(client)
    key = signing_key(alg)
    access_token = jwt.encode({"typ": "at+jwt", "alg": alg, "kid": key.kid}, access_claims, key)
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
    db.session.execute(INSERT_TOKENS, records)
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


# Built once (Core: nothing in the session to synchronise): building a statement costs
# about as much as running it.
_CODE_TABLE = AuthorizationCode.__table__
CLAIM_CODE = (
    sa.update(_CODE_TABLE)
    .where(_CODE_TABLE.c.id == sa.bindparam("row_id"), _CODE_TABLE.c.used_at.is_(None))
    .values(used_at=sa.bindparam("now"))
    .returning(_CODE_TABLE.c.id)
)


def claim(statement: sa.Update, row_id: int) -> bool:
    """Mark the code ``row_id`` used by ``statement`` (``CLAIM_CODE``), which matches only
    while it is unused; False if it was used. (A refresh token is spent by the refresh
    grant's own statement, ``server.REFRESH_CLAIM``.)

    Not committed: the tokens issued for it commit with it (``generate_token``), and
    until then the row stays locked, so a concurrent use waits, finds it used, and its
    revocation of what was issued sees the winner's tokens. Nothing may commit between
    this and the tokens."""
    claimed = db.session.execute(statement, {"row_id": row_id, "now": utcnow()}).first()
    return claimed is not None


def spend_code(code: AuthorizationCode) -> None:
    """Single use, once the request has passed every check (a wrong code_verifier does
    not spend the code): of concurrent redemptions one wins, the others are replays and
    revoke what it issued (RFC 6749 §4.1.2)."""
    if not claim(CLAIM_CODE, code.id):
        db.session.rollback()
        revoke_code_tokens(code.id)
        raise InvalidGrantError("The code has been used.")


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
