"""Client authentication at every endpoint that authenticates clients: token, revocation
and introspection (``Server.authenticate_client`` routes Authlib's calls here).

One decision, in this order, for every request (RFC 6749 §2.3, §3.2.1, §5.2; RFC 7521
§4.2; RFC 7523 §3; OpenID Connect Core §9):

1. *Which method* the request uses, from what it carries: an ``Authorization`` header
   (``client_secret_basic``), ``client_secret`` in the body (``client_secret_post``),
   ``client_assertion`` (``private_key_jwt``), or only ``client_id`` (``none``). Two of
   them, or a credential repeated, is ``invalid_request`` (§2.3: a client MUST NOT use
   more than one method; §3.2: no parameter twice). Credentials are read from the body
   only (§2.3.1: never from the URI).
2. *Which client* it names: a well-formed client id (the ``CLIENT_ID`` pattern, so that
   no odd byte ever reaches the database) of a registered, enabled client.
3. That this is *the method the client registered*, and one *this endpoint accepts*;
   only then is the credential itself looked at. A client that registered a secret is
   never tried with an assertion, and a key set is read only for ``private_key_jwt``
   clients (a client without keys once crashed the token endpoint here).
4. *The credential*: the secret, or the assertion (``verify_assertion``).

Every failure of 2–4 is ``invalid_client``, 401, with a ``WWW-Authenticate: Basic``
challenge (§5.2: MUST when the client used the header; MAY otherwise). The description
names what was wrong (client ids and their methods are not secrets; the credentials are).

``private_key_jwt`` assertions (RFC 7523 §3, RFC 7521 §5.2, FAPI 2.0 Security Profile
§5.3.2.1, draft-ietf-oauth-rfc7523bis):

- signed RS256 or ES256 by a key of the client's registered JWKS (no ``none``, no HMAC);
- ``iss`` and ``sub`` are the client id; ``aud`` is the portal's issuer identifier and
  nothing else, as a single string (the token endpoint's URL or an array are refused:
  the audience-injection attack of 2025 is why FAPI 2.0 and RFC 7523bis ask this);
- ``exp`` required, at most ``MAX_ASSERTION_LIFETIME`` ahead; ``iat``, when present,
  not in the future and at most that long before ``exp``; ``nbf`` honoured; each with
  ``ASSERTION_LEEWAY`` seconds for clocks;
- ``jti`` required and single use: one ``INSERT … ON CONFLICT DO NOTHING`` claims it,
  so of eight simultaneous uses exactly one wins. A used ``jti`` is kept until the
  assertion could no longer pass the ``exp`` check anyway, then ``prune_used_assertions``
  deletes it.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal.extensions import db
from portal.oidc.models import OAuthClient, UsedAssertion, insert_once
from shared.sessions import utcnow

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ["RS256", "ES256"]  # = token_endpoint_auth_signing_alg_values_supported
# "A few minutes" (RFC 7523 §3): an assertion is made for one request, seconds before it.
MAX_ASSERTION_LIFETIME = 300
# Allowed clock difference between the client and the portal (RFC 7523 §3: "no more than
# a few minutes").
ASSERTION_LEEWAY = 60
MAX_JTI_LENGTH = 255  # the column's size

# Request parts that carry client credentials, and the method each one means.
_BODY_CREDENTIALS = (
    ("client_secret", "client_secret_post"),
    ("client_assertion", "private_key_jwt"),
    ("client_assertion_type", "private_key_jwt"),
)


def _refuse(description: str) -> InvalidClientError:
    return InvalidClientError(status_code=401, description=description)


def authenticate_client(
    request, methods: list[str], endpoint: str, find_client, issuer: str
) -> OAuthClient:
    """The client that authenticated this request with one of ``methods``; raises
    ``InvalidRequestError`` or ``InvalidClientError`` (module docstring)."""
    form = request.form
    for name in ("client_id", "client_secret", "client_assertion", "client_assertion_type"):
        if len(form.getlist(name)) > 1:
            raise InvalidRequestError(f"'{name}' is given more than once.")
    presented = {method for name, method in _BODY_CREDENTIALS if form.get(name) is not None}
    header = request.headers.get("Authorization")
    if header is not None:
        presented.add("client_secret_basic")
    if len(presented) > 1:
        raise InvalidRequestError("Use one method of client authentication, not several.")
    method = presented.pop() if presented else "none"

    if method == "client_secret_basic":
        client_id, secret = _basic_credentials(header)
    elif method == "private_key_jwt":
        client_id, secret = _assertion_subject(form), None
    else:
        client_id, secret = form.get("client_id"), form.get("client_secret")
    if not client_id:
        raise _refuse("The client is not authenticated.")
    # RFC 7521 §4.2, RFC 6749 §3.2.1: a client_id beside the credentials names the same client.
    if form.get("client_id") not in (None, client_id):
        raise _refuse("client_id names another client than the credentials.")

    client = find_client(client_id)
    if client is None:
        raise _refuse("Unknown client.")
    if client.token_endpoint_auth_method != method:
        raise _refuse(f"This client authenticates with {client.token_endpoint_auth_method}.")
    if method not in methods:
        raise _refuse(f"The {endpoint} endpoint does not accept {method} clients.")

    if method in ("client_secret_basic", "client_secret_post"):
        if not secret or not client.check_client_secret(secret):
            raise _refuse("Wrong client credentials.")
    elif method == "private_key_jwt":
        verify_assertion(client, form, issuer)
    request.client = client
    request.auth_method = method
    return client


def _basic_credentials(header: str) -> tuple[str, str]:
    """Client id and secret of an ``Authorization: Basic`` header, each form-urlencoded
    before encoding (RFC 6749 §2.3.1); anything else there is ``invalid_client``."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _refuse("Only HTTP Basic is accepted in the Authorization header.")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _refuse("Malformed HTTP Basic credentials.") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _refuse("Malformed HTTP Basic credentials.")
    return unquote(client_id), unquote(secret)


def _assertion_subject(form) -> str:
    """The client an assertion says it comes from: its ``sub``, read before the signature
    is checked, since the client (and so its keys) is known only from it."""
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise _refuse(f"client_assertion_type must be {ASSERTION_TYPE}.")
    try:
        claims = json.loads(jws.extract_compact(form.get("client_assertion", "").encode()).payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise _refuse("The client assertion is not a signed JWT.") from exc
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str):
        raise _refuse("The client assertion has no 'sub'.")
    return sub


def client_keys(client: OAuthClient) -> KeySet:
    """The client's registered public keys; ``invalid_client`` if there are none usable."""
    try:
        return KeySet.import_key_set(client.jwks)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _refuse("The client has no usable keys registered.") from exc


def verify_assertion(client: OAuthClient, form, issuer: str, now: float | None = None) -> dict:
    """Check a ``private_key_jwt`` assertion of ``client`` and spend its ``jti``; return
    its claims (module docstring lists the checks)."""
    now = time.time() if now is None else now
    try:
        token = jwt.decode(form["client_assertion"], client_keys(client), algorithms=ASSERTION_ALGS)
    except (JoseError, ValueError, TypeError) as exc:
        raise _refuse("The client assertion's signature does not verify.") from exc
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(now),
        leeway=ASSERTION_LEEWAY,
        iss={"essential": True, "value": client.client_id},
        sub={"essential": True, "value": client.client_id},
        exp={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise _refuse(f"The client assertion is not valid: {exc.error}.") from exc
    if claims.get("aud") != issuer:
        raise _refuse(f"The client assertion's aud must be the issuer, {issuer}, as a string.")
    exp = claims["exp"]
    if exp > now + MAX_ASSERTION_LIFETIME + ASSERTION_LEEWAY:
        raise _refuse(f"A client assertion lives at most {MAX_ASSERTION_LIFETIME} s.")
    iat = claims.get("iat")
    if iat is not None and exp - iat > MAX_ASSERTION_LIFETIME:
        raise _refuse(f"A client assertion lives at most {MAX_ASSERTION_LIFETIME} s.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH or "\x00" in jti:
        raise _refuse("The client assertion's jti is not valid.")
    if not claim_jti(client.client_id, jti, datetime.fromtimestamp(exp, UTC).replace(tzinfo=None)):
        raise _refuse("The client assertion was used before.")
    return claims


def claim_jti(client_id: str, jti: str, expires: datetime) -> bool:
    """Record ``jti`` as used by ``client_id`` in one atomic statement; False if it was
    already (RFC 7523 §3: single use). Committed at once, so that a request that fails
    later does not give the ``jti`` back."""
    kept_until = expires + timedelta(seconds=ASSERTION_LEEWAY)
    claimed = insert_once(
        UsedAssertion,
        {"client_id": client_id, "jti": jti, "seen_at": utcnow(), "expires_at": kept_until},
        ["client_id", "jti"],
    )
    db.session.commit()
    return claimed is not None


def prune_used_assertions(now: datetime | None = None) -> int:
    """Forget the ``jti`` of assertions that have expired (their ``exp`` refuses them
    now); return how many."""
    deleted = db.session.execute(
        sa.delete(UsedAssertion).where(UsedAssertion.expires_at <= (now or utcnow()))
    ).rowcount
    db.session.commit()
    return deleted
