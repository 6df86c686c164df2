"""The relying party's and the person's side of an OpenID Connect sign-in, for the tests.

``Browser`` is a person's browser: it signs in with the real login form, follows the
portal's redirects and answers the consent page with its real form. ``RP`` is a
registered client: it authenticates at the token endpoint the way it registered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from portal.extensions import db
from portal.oidc import services as oidc
from portal.oidc.key_models import SigningKey
from portal.oidc.keys import ensure_keys
from portal.oidc.models import AuthorizationCode, digest
from portal.oidc.tokens import issuer
from tests.helpers import forms_of, submit

PASSWORD = "violet-harbour-lamp"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REDIRECT = "https://rp.example.ru/callback"


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)
    hashed = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(hashed).decode().rstrip("=")


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


@dataclass
class RP:
    """A registered client, as its operator configured it."""

    client_id: str
    secret: str | None
    auth_method: str
    redirect_uri: str = REDIRECT
    key: object = None  # the private key of a private_key_jwt client

    def authenticate(self, data: dict, headers: dict | None = None) -> tuple[dict, dict]:
        data, headers = dict(data), dict(headers or {})
        if self.auth_method == "client_secret_basic":
            headers.update(basic(self.client_id, self.secret))
        elif self.auth_method == "client_secret_post":
            data.update(client_id=self.client_id, client_secret=self.secret)
        elif self.auth_method == "private_key_jwt":
            data.update(client_assertion_type=ASSERTION_TYPE, client_assertion=self.assertion())
        else:
            data["client_id"] = self.client_id
        return data, headers

    def assertion(self, key=None, **claims) -> str:
        """A client assertion (RFC 7523 §3) as the FAPI 2.0 profile wants it: ``aud`` the
        issuer as a string, a minute's lifetime, a fresh ``jti``; ``claims`` override
        (``None`` leaves one out)."""
        key = key or self.key
        now = int(time.time())
        body = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": issuer(),
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
            **claims,
        }
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode({"alg": key.alg or "RS256", "kid": key.kid}, body, key)

    def post(self, http, path: str, data: dict, headers: dict | None = None):
        data, headers = self.authenticate(data, headers)
        return http.post(path, data=data, headers=headers)

    def exchange(self, http, code: str, verifier: str | None, **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier is not None:
            data["code_verifier"] = verifier
        data.update(extra)
        return self.post(http, "/oauth/token", data)

    def refresh(self, http, refresh_token: str):
        return self.post(
            http, "/oauth/token", {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )


def register(
    *,
    scopes=("openid", "profile", "email", "phone", "snils", "id_doc", "kids"),
    auth_method: str = "client_secret_basic",
    redirect_uris=(REDIRECT,),
    name: str = "Электронный дневник",
    **kw,
) -> RP:
    key = None
    if auth_method == "private_key_jwt" and "jwks" not in kw:
        key = RSAKey.generate_key(2048, parameters={"alg": "RS256"})
        key.ensure_kid()
        kw["jwks"] = {"keys": [key.as_dict(private=False)]}
    new = oidc.create_client(
        name=name,
        redirect_uris=list(redirect_uris),
        scopes=list(scopes),
        auth_method=auth_method,
        **kw,
    )
    return RP(new.client.client_id, new.secret, auth_method, redirect_uris[0], key)


def authorization_params(
    rp: RP, *, scope: str = "openid", challenge: str | None = None, **extra
) -> tuple[dict, str]:
    """The query of an authorization request (``None`` leaves a parameter out) and the
    PKCE code verifier that goes with it."""
    verifier, derived = pkce()
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge or derived,
        "code_challenge_method": "S256",
        **extra,
    }
    return {k: v for k, v in params.items() if v is not None}, verifier


@dataclass
class Outcome:
    """Where an authorization request ended: back at the client (``params``) or on a
    portal page (``response``), and which pages the person went through."""

    response: object
    params: dict[str, str] | None = None
    pages: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        assert self.params and "code" in self.params, (self.params, self.pages)
        return self.params["code"]

    @property
    def html(self) -> str:
        return self.response.get_data(as_text=True)


def consent_form(html: str):
    forms = [
        f for f in forms_of(html) if f.method == "post" and f.action.endswith("/oauth/authorize")
    ]
    return forms[0] if forms else None


class Browser:
    """One person's browser (its own cookie jar) on the portal."""

    def __init__(self, app, login: str | None = None, password: str = PASSWORD):
        self.http = app.test_client()
        self.login = login
        self.password = password

    def sign_in(self, login: str | None = None) -> None:
        self.login = login or self.login
        response = submit(self.http, "/login", {"login": self.login, "password": self.password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]

    def set_auth_time(self, delta_seconds: int) -> None:
        """Pretend the sign-in happened ``delta_seconds`` earlier (no sleeping)."""
        with self.http.session_transaction() as session:
            session["auth_time"] = int(session["auth_time"]) - delta_seconds

    def authorize(
        self, rp: RP, *, consent: str | None = "allow", method: str = "GET", **params
    ) -> tuple[Outcome, str]:
        """An authorization request with a fresh PKCE pair: where it ended, and the code
        verifier."""
        query, verifier = authorization_params(rp, **params)
        return self.follow(self.open(query, method), rp.redirect_uri, consent), verifier

    def open(self, params: dict, method: str = "GET"):
        """Send the authorization request, as a link (GET) or a form (POST)."""
        if method == "GET":
            return self.http.get("/oauth/authorize?" + urlencode(params))
        return self.http.post("/oauth/authorize", data=params)

    def follow(self, response, redirect_uri: str, consent: str | None = "allow") -> Outcome:
        pages: list[str] = []
        for _ in range(10):
            if response.status_code in (302, 303):
                location = response.headers["Location"]
                if location.startswith(redirect_uri):
                    query = dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))
                    return Outcome(response, query, pages)
                parts = urlsplit(location)
                assert parts.netloc in ("", "localhost"), f"redirected away to {location}"
                local = parts.path + ("?" + parts.query if parts.query else "")
                if parts.path == "/login":
                    pages.append("login")
                    response = submit(
                        self.http, local, {"login": self.login, "password": self.password}
                    )
                    continue
                response = self.http.get(local)
                continue
            form = consent_form(response.get_data(as_text=True))
            if response.status_code == 200 and form is not None:
                pages.append("consent")
                if consent is None:
                    return Outcome(response, None, pages)
                response = self.http.post(form.action, data={**form.fields, "decision": consent})
                continue
            return Outcome(response, None, pages)
        raise AssertionError("too many redirects")


def code_record(code: str) -> AuthorizationCode:
    return db.session.execute(
        sa.select(AuthorizationCode).where(AuthorizationCode.code_hash == digest(code))
    ).scalar_one()


def age_code(code: str, seconds: int) -> None:
    """Move a code's issue and expiry back in time, as if ``seconds`` had passed."""
    record = code_record(code)
    record.created_at -= timedelta(seconds=seconds)
    record.expires_at -= timedelta(seconds=seconds)
    db.session.commit()


def simultaneously(count: int, url: str, data: dict, headers: dict | None = None) -> list:
    """POST the same form ``count`` times at the same moment (threads released by a
    barrier) to a real server; the answers as ``(status, json)``, in no order."""
    body = urlencode(data).encode()
    start = threading.Barrier(count)
    answers: list = []

    def post() -> None:
        request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            with error:
                answers.append((error.code, json.loads(error.read() or b"{}")))

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def age_keys(seconds: float) -> None:
    """Move every signing key's history back, as if ``seconds`` had passed since (the
    keys of every algorithm made first)."""
    ensure_keys()
    delta = timedelta(seconds=seconds)
    for row in db.session.execute(sa.select(SigningKey)).scalars():
        row.created_at -= delta
        if row.activated_at:
            row.activated_at -= delta
    db.session.commit()


def fetch_jwks(http) -> KeySet:
    response = http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return KeySet.import_key_set(response.get_json())


def verify(token: str, key_set: KeySet, algorithms=("RS256", "ES256")):
    """A JWT verified against the published keys: ``(header, claims)``."""
    decoded = jwt.decode(token, key_set, algorithms=list(algorithms))
    return decoded.header, decoded.claims


def tokens(browser: Browser, rp: RP, **params) -> dict:
    """A whole sign-in of ``browser``'s person to ``rp``: the token response."""
    outcome, verifier = browser.authorize(rp, **params)
    response = rp.exchange(browser.http, outcome.code, verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def half_hash(value: str) -> str:
    """``at_hash`` of an RS256/ES256 token (OpenID Connect Core §3.1.3.6)."""
    hashed = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed[:16]).decode().rstrip("=")


def check_id_token(
    id_token: str, rp: RP, key_set: KeySet, *, nonce: str | None = None, access_token=None
) -> dict:
    """Validate an ID token the way a relying party must (OpenID Connect Core
    §3.1.3.7): signature by a published key, iss, aud, exp, iat, sub, nonce, at_hash."""
    header, claims = verify(id_token, key_set)
    assert header["alg"] in ("RS256", "ES256") and header.get("kid")
    jwt.JWTClaimsRegistry(
        leeway=0,
        iss={"essential": True, "value": issuer()},
        aud={"essential": True, "value": rp.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(claims)
    assert claims["iat"] <= time.time() + 5 and claims["exp"] > time.time()
    if nonce is not None:
        assert claims.get("nonce") == nonce
    else:
        assert "nonce" not in claims
    if access_token is not None and "at_hash" in claims:
        assert claims["at_hash"] == half_hash(access_token)
    return claims
