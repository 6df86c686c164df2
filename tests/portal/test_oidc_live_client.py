"""An off-the-shelf relying party against the portal on a real HTTP server.

The relying party is Authlib's OAuth 2.0 client (``authlib.oauth2.client.OAuth2Client``:
authorization URL with state, nonce and PKCE S256, token request with
client_secret_basic, refresh, revocation), configured from the discovery document only.
Neither ``requests`` nor ``httpx`` is installed, so its transport is a small adapter
over ``urllib`` with the interface Authlib's integrations give it. The person's browser
is ``urllib`` with a cookie jar, reading and posting the portal's real HTML forms.
"""

from __future__ import annotations

import http.cookiejar
import json
import secrets
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from authlib.common.security import generate_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.helpers import forms_of
from tests.portal.oidc_helpers import PASSWORD, register

PHONE = "+79161234567"
REDIRECT = "https://diary.example.ru/oidc/callback"


class Response:
    """What Authlib's client reads from a response (the ``requests`` interface)."""

    def __init__(self, status: int, body: bytes, headers):
        self.status_code = status
        self.content = body
        self.headers = headers

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self):
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:200]}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # redirects are the caller's to follow


def _open(opener, request: urllib.request.Request) -> Response:
    try:
        with opener.open(request, timeout=10) as response:
            return Response(response.status, response.read(), response.headers)
    except urllib.error.HTTPError as error:  # 3xx (not followed) and 4xx/5xx
        with error:
            return Response(error.code, error.read(), error.headers)


class UrllibTransport:
    """The session object Authlib's ``OAuth2Client`` sends its requests through."""

    def __init__(self):
        self.opener = urllib.request.build_opener(_NoRedirects)

    def request(self, method, url, data=None, headers=None, auth=None, **_):
        headers = dict(headers or {})
        body = urlencode(data) if isinstance(data, dict) else (data or "")
        if auth is not None:  # Authlib's ClientAuth: client_secret_basic and the like
            url, headers, body = auth.prepare(method, url, headers, body)
        request = urllib.request.Request(
            url, data=body.encode() if body else None, method=method, headers=headers
        )
        return _open(self.opener, request)

    def post(self, url, data=None, headers=None, auth=None, **kwargs):
        return self.request("POST", url, data=data, headers=headers, auth=auth, **kwargs)


class PersonsBrowser:
    """A browser: cookies kept, redirects followed on the portal but not to the client."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            _NoRedirects, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.pages: list[str] = []

    def get(self, url: str) -> Response:
        return _open(self.opener, urllib.request.Request(urljoin(self.base, url)))

    def post_form(self, page_url: str, page: Response, values: dict) -> Response:
        form = next(
            f
            for f in forms_of(page.text)
            if f.method == "post" and (not f.action or f.action.startswith("/oauth/authorize"))
        )
        data = urlencode({**form.fields, **values}).encode()
        request = urllib.request.Request(
            urljoin(page_url, form.action or page_url), data=data, method="POST"
        )
        return _open(self.opener, request)

    def sign_in_and_allow(self, url: str, redirect_uri: str) -> str:
        """Open the authorization URL, sign in and allow on the way; the URL the portal
        finally sends the browser to, at the client."""
        response = self.get(url)
        for _ in range(10):
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["Location"])
                if url.startswith(redirect_uri):
                    return url
                response = self.get(url)
                continue
            assert response.status_code == 200, response.text[:300]
            if urlsplit(url).path == "/login":
                self.pages.append("login")
                response = self.post_form(url, response, {"login": PHONE, "password": PASSWORD})
            else:
                self.pages.append("consent")
                response = self.post_form(url, response, {"decision": "allow"})
        raise AssertionError("the sign-in never came back to the client")


def test_authlib_client_signs_in_refreshes_and_revokes(app, portal_server, make_citizen):
    citizen = make_citizen(phone=PHONE, email="maria@example.ru")
    rp = register(scopes=("openid", "profile", "email"), redirect_uris=(REDIRECT,), name="Дневник")
    transport = UrllibTransport()

    # The relying party knows only the issuer; everything else comes from discovery.
    config = transport.request("GET", portal_server + "/.well-known/openid-configuration")
    config = config.json()
    assert config["issuer"] == portal_server
    key_set = KeySet.import_key_set(transport.request("GET", config["jwks_uri"]).json())

    oauth = OAuth2Client(
        transport,
        client_id=rp.client_id,
        client_secret=rp.secret,
        token_endpoint_auth_method="client_secret_basic",
        scope="openid profile email",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint=config["token_endpoint"],
    )
    verifier, nonce = generate_token(48), secrets.token_urlsafe(12)
    url, state = oauth.create_authorization_url(
        config["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )

    browser = PersonsBrowser(portal_server)
    callback = browser.sign_in_and_allow(url, REDIRECT)
    assert browser.pages == ["login", "consent"]
    answer = dict(parse_qsl(urlsplit(callback).query))
    assert answer["state"] == state
    assert answer["iss"] == config["issuer"]  # RFC 9207: the client checks who answered

    token = oauth.fetch_token(authorization_response=callback, code_verifier=verifier)
    assert {"access_token", "id_token", "refresh_token"} <= set(token)
    id_token = jwt.decode(token["id_token"], key_set, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": config["issuer"]},
        aud={"essential": True, "value": rp.client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True, "value": citizen.public_id},
    ).validate(id_token.claims)

    def userinfo(access_token_holder) -> Response:
        uri, headers, _ = access_token_holder.token_auth.prepare(
            config["userinfo_endpoint"], {}, ""
        )
        return transport.request("GET", uri, headers=headers)

    info = userinfo(oauth)
    assert info.status_code == 200
    assert info.json()["sub"] == citizen.public_id
    assert info.json()["email"] == "maria@example.ru"
    assert info.json()["given_name"] == "Мария"

    first_refresh = token["refresh_token"]
    refreshed = oauth.refresh_token(config["token_endpoint"])
    assert refreshed["refresh_token"] != first_refresh
    assert refreshed["access_token"] != token["access_token"]
    assert userinfo(oauth).status_code == 200

    revoked = oauth.revoke_token(
        config["revocation_endpoint"],
        token=refreshed["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200
    # Revoking the refresh token ends the grant: it and its access token are dead.
    assert userinfo(oauth).status_code == 401
    try:
        oauth.refresh_token(config["token_endpoint"])
    except OAuth2Error as error:
        assert error.error == "invalid_grant"
    else:
        raise AssertionError("a revoked refresh token was accepted")
