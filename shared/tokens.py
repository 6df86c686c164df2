"""Verifying JSON Web Tokens another party signed.

``verify_access_token`` checks an OAuth 2.0 access token in the JWT profile of RFC 9068
the way its §4 asks a resource server to, with every assumption spelled out (STYLE §8):

- the header first, before any key is looked up (so garbage never makes the caller
  fetch keys): ``typ`` is ``at+jwt`` (or its media type ``application/at+jwt``), compared
  without case as media types are (RFC 7515 §4.1.9): an ID token or a logout token,
  signed by the same keys, is not an access token (RFC 8725 §3.11); ``alg`` is one of
  ``algorithms`` — asymmetric only, never ``none`` and never an HMAC, which would let
  a public key serve as the secret (RFC 8725 §3.1); ``kid`` names the key, since the
  keys are found (and refetched) by it;
- the signature, by the key ``keys`` gives for that header (a key set, or a callable
  that may fetch one);
- the claims RFC 9068 §2.2 makes required: ``iss`` exactly the issuer, ``aud`` the
  audience (a string, or a list holding it), ``exp`` not passed and ``iat`` not in the
  future, ``nbf`` (when present) reached — each with ``leeway`` seconds for clocks
  that differ — and ``sub``, ``client_id`` and ``jti`` present as strings; ``scope``,
  when present, a space-separated string (RFC 9068 §2.2.3).

What it does not do: revocation (a JWT is checked without asking its issuer; the
issuer keeps such tokens short-lived), replay detection (a bearer token is meant to be
used many times until it expires), or any rule about what the token allows — the
caller decides which scopes it needs. No Flask here: the caller passes the issuer, the
audience and the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 §4
SIGNING_ALGORITHMS = ("RS256", "ES256")
# Far above any token the portal signs (about 1 KB); bounds the work on junk.
MAX_TOKEN_LENGTH = 8192

# Why a token was refused, as far as its sender may be told (RFC 6750 §3.1 lets the
# resource server say more than "invalid"): the rest of the reason goes to the log.
INVALID = "invalid"
EXPIRED = "expired"
WRONG_AUDIENCE = "audience"


class InvalidToken(Exception):
    """The token is not acceptable. ``reason`` is for the log (never the token or its
    claims); ``kind`` is ``INVALID``, ``EXPIRED`` or ``WRONG_AUDIENCE``."""

    def __init__(self, reason: str, kind: str = INVALID) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class AccessToken:
    """A verified access token: whose (``subject``), issued to which client, allowing
    which scopes, until when (``expires_at``, seconds since the epoch)."""

    subject: str
    client_id: str
    scopes: frozenset[str]
    expires_at: int
    claims: Mapping[str, Any] = field(repr=False)

    def __repr__(self) -> str:  # the subject is a person's identifier: not in reprs
        return f"<AccessToken of {self.client_id}>"


KeySource = KeySet | Callable[[Any], KeySet]


def verify_access_token(
    token: str | None,
    keys: KeySource,
    *,
    issuer: str,
    audience: str,
    leeway: int,
    algorithms: Sequence[str] = SIGNING_ALGORITHMS,
    now: int | None = None,
) -> AccessToken:
    """The access token's verified contents, or ``InvalidToken`` saying why not."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("no token, or too long")

    def key_for(obj: Any) -> KeySet:
        _check_header(obj.headers(), algorithms)
        return keys(obj) if callable(keys) else keys

    try:
        decoded = jwt.decode(token, key_for, algorithms=list(algorithms))
    except (JoseError, ValueError) as error:
        raise InvalidToken(f"signature: {type(error).__name__}") from error
    claims = decoded.claims
    try:
        jwt.JWTClaimsRegistry(
            now=now,
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
            jti={"essential": True},
        ).validate(claims)
    except ExpiredTokenError as error:
        raise InvalidToken("claims: expired", EXPIRED) from error
    except ClaimError as error:
        kind = WRONG_AUDIENCE if error.claim == "aud" else INVALID
        raise InvalidToken(f"claims: {error.error} {error.claim}", kind) from error
    client_id, scope = claims["client_id"], claims.get("scope", "")
    if not isinstance(client_id, str):
        raise InvalidToken("claims: client_id is not a string")
    if not isinstance(scope, str):
        raise InvalidToken("claims: scope is not a string")
    return AccessToken(
        subject=claims["sub"],
        client_id=client_id,
        scopes=frozenset(scope.split()),
        expires_at=int(claims["exp"]),
        claims=claims,
    )


def _check_header(header: Mapping[str, Any], algorithms: Sequence[str]) -> None:
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidToken("header: typ is not at+jwt")
    if header.get("alg") not in algorithms:
        raise InvalidToken("header: alg not allowed")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise InvalidToken("header: no kid")
