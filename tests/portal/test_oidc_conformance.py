"""The OpenID conformance suite's OP modules, ported to pytest: one test per module of the
Basic and Config plans (and ``oidcc-server-rotate-keys`` of the Dynamic plan), named
after it and asserting what it asserts (identity-and-oidc.md §3.2). Logout modules live
with the logout tests.

A person's browser is the Flask test client going through the real login and consent
forms; the relying party is the test posting to the token and userinfo endpoints.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from datetime import date
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal.extensions import db
from portal.oidc import claims as scope_claims
from portal.oidc.keys import NEXT_KEY_LEAD, rotate_keys
from portal.oidc.tokens import issuer
from shared.errors import ValidationError
from tests.helpers import forms_of, text_of
from tests.portal.oidc_helpers import (
    REDIRECT,
    Browser,
    age_code,
    age_keys,
    authorization_params,
    bearer,
    check_id_token,
    fetch_jwks,
    register,
    tokens,
    verify,
)

PHONE = "+79161234567"
EMAIL = "maria@example.ru"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}


@pytest.fixture
def citizen(make_citizen):
    person = make_citizen(phone=PHONE, email=EMAIL, patronymic="Петровна")
    person.gender, person.birth_date = "F", date(1985, 3, 14)
    db.session.commit()
    return person


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def userinfo(browser, access_token: str):
    response = browser.http.get("/oauth/userinfo", headers=bearer(access_token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def assert_error_redirect(outcome, error: str, state: str) -> None:
    assert outcome.response.status_code == 302
    assert outcome.params is not None, "the error must go back to the client"
    assert outcome.params["error"] == error, outcome.params
    assert outcome.params["state"] == state
    assert outcome.params["iss"] == issuer()
    assert "code" not in outcome.params


# --- oidcc-basic-certification-test-plan ---------------------------------------------


def test_oidcc_server(browser, rp, citizen):
    """The happy flow: code and state back at the client, tokens for the code, and an ID
    token that validates."""
    query, verifier = authorization_params(rp, scope="openid", nonce="n-0S6_WzA2Mj")
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert set(outcome.params) == {"code", "state", "iss"}
    assert outcome.params["state"] == query["state"]
    assert outcome.params["iss"] == issuer()
    response = rp.exchange(browser.http, outcome.code, verifier)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] > 0
    assert {"access_token", "id_token"} <= set(body)
    claims = check_id_token(
        body["id_token"],
        rp,
        fetch_jwks(browser.http),
        nonce="n-0S6_WzA2Mj",
        access_token=body["access_token"],
    )
    assert claims["sub"] == citizen.public_id
    assert isinstance(claims["auth_time"], int)


def test_oidcc_response_type_missing(browser, rp):
    """No response_type: an error, to the client (its redirect URI is valid) or on a page;
    never a code."""
    query, _ = authorization_params(rp, response_type=None)
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert outcome.params is not None
    assert outcome.params["error"] in ("invalid_request", "unsupported_response_type")
    assert outcome.params["state"] == query["state"]
    assert outcome.params["iss"] == issuer()
    assert "code" not in outcome.params


def test_oidcc_idtoken_signature(browser, rp):
    """The ID token is RS256 and verifies with a key from the published JWKS, found by
    its kid."""
    body = tokens(browser, rp)
    published = browser.http.get("/.well-known/jwks.json").get_json()
    header = jwt.decode(body["id_token"], KeySet.import_key_set(published)).header
    assert header["alg"] == "RS256"
    key = next(k for k in published["keys"] if k["kid"] == header["kid"])
    assert key["kty"] == "RSA" and key.get("use", "sig") == "sig"
    jwt.decode(body["id_token"], KeySet.import_key_set({"keys": [key]}), algorithms=["RS256"])
    # A tampered signature does not verify.
    head, payload, signature = body["id_token"].split(".")
    forged = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(JoseError):
        jwt.decode(forged, KeySet.import_key_set(published))


def test_oidcc_idtoken_unsigned(browser, rp):
    """alg none is never used: not advertised, not registrable, never issued; and the
    provider refuses an unsigned copy of its own token."""
    config = browser.http.get("/.well-known/openid-configuration").get_json()
    assert "none" not in config["id_token_signing_alg_values_supported"]
    assert "none" not in config["token_endpoint_auth_signing_alg_values_supported"]
    with pytest.raises(ValidationError):
        register(id_token_alg="none")
    body = tokens(browser, rp)
    for token in (body["id_token"], body["access_token"]):
        header, _ = verify(token, fetch_jwks(browser.http))
        assert header["alg"] == "RS256"
    _, payload, _ = body["access_token"].split(".")
    none_header = b64(json.dumps({"typ": "at+jwt", "alg": "none"}).encode())
    unsigned = f"{none_header}.{payload}."
    refused = browser.http.get("/oauth/userinfo", headers=bearer(unsigned))
    assert refused.status_code == 401
    assert userinfo(browser, body["access_token"])["sub"]


def test_oidcc_userinfo_get(browser, rp, citizen):
    body = tokens(browser, rp, scope="openid profile")
    response = browser.http.get("/oauth/userinfo", headers=bearer(body["access_token"]))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    info = response.get_json()
    assert info["sub"] == citizen.public_id
    assert info["sub"] == check_id_token(body["id_token"], rp, fetch_jwks(browser.http))["sub"]
    assert info["family_name"] == "Иванова"


def test_oidcc_userinfo_post_header(browser, rp, citizen):
    body = tokens(browser, rp, scope="openid profile")
    response = browser.http.post("/oauth/userinfo", headers=bearer(body["access_token"]))
    assert response.status_code == 200
    assert response.get_json()["sub"] == citizen.public_id


def test_oidcc_userinfo_post_body(browser, rp, citizen):
    """RFC 6750 §2.2: the token as a form field (the default of some client libraries)."""
    body = tokens(browser, rp, scope="openid profile")
    response = browser.http.post("/oauth/userinfo", data={"access_token": body["access_token"]})
    assert response.status_code == 200
    assert response.get_json()["sub"] == citizen.public_id
    # No token at all: 401 with the RFC 6750 challenge.
    missing = browser.http.post("/oauth/userinfo", data={})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(browser, rp):
    outcome, verifier = browser.authorize(rp, nonce=None)
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    claims = check_id_token(body["id_token"], rp, fetch_jwks(browser.http))
    assert "nonce" not in claims


PROFILE = {"family_name", "given_name", "middle_name", "name", "gender", "birthdate", "locale"}


def test_oidcc_scope_profile(browser, rp):
    info = userinfo(browser, tokens(browser, rp, scope="openid profile")["access_token"])
    assert set(info) >= PROFILE
    assert info["middle_name"] == "Петровна"
    assert info["gender"] == "female" and info["birthdate"] == "1985-03-14"
    assert not {"email", "phone_number"} & set(info)


def test_oidcc_scope_email(browser, rp):
    info = userinfo(browser, tokens(browser, rp, scope="openid email")["access_token"])
    assert info["email"] == EMAIL and info["email_verified"] is True
    assert not (PROFILE | {"phone_number"}) & set(info)


def test_oidcc_scope_address(browser, rp):
    """address is not a scope of ours: the request succeeds, and no address leaves."""
    config = browser.http.get("/.well-known/openid-configuration").get_json()
    assert "address" not in config["scopes_supported"]
    body = tokens(browser, rp, scope="openid address")
    assert "address" not in body["scope"].split()
    info = userinfo(browser, body["access_token"])
    assert "address" not in info
    assert "address" not in verify(body["id_token"], fetch_jwks(browser.http))[1]


def test_oidcc_scope_phone(browser, rp):
    info = userinfo(browser, tokens(browser, rp, scope="openid phone")["access_token"])
    assert info["phone_number"] == PHONE and info["phone_number_verified"] is True
    assert not (PROFILE | {"email"}) & set(info)


def test_oidcc_scope_all(browser, rp):
    body = tokens(browser, rp, scope="openid profile email address phone")
    assert set(body["scope"].split()) == {"openid", "profile", "email", "phone"}
    info = userinfo(browser, body["access_token"])
    assert PROFILE | {"email", "email_verified", "phone_number", "phone_number_verified"} <= set(
        info
    )
    assert "address" not in info


def test_oidcc_alternate_happy_flow(browser, rp, citizen):
    """Scope values and parameters in another order give the same result."""
    query, verifier = authorization_params(rp, scope="phone email openid profile")
    reordered = dict(reversed(list(query.items())))
    outcome = browser.follow(browser.open(reordered), rp.redirect_uri)
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    assert set(body["scope"].split()) == {"openid", "profile", "email", "phone"}
    assert userinfo(browser, body["access_token"])["sub"] == citizen.public_id


def test_oidcc_display_page(browser, rp):
    outcome, verifier = browser.authorize(rp, display="page")
    assert outcome.pages == ["consent"]
    assert rp.exchange(browser.http, outcome.code, verifier).status_code == 200


def test_oidcc_display_popup(browser, rp):
    outcome, verifier = browser.authorize(rp, display="popup")
    assert outcome.pages == ["consent"]
    assert rp.exchange(browser.http, outcome.code, verifier).status_code == 200


def test_oidcc_prompt_login(browser, rp):
    """prompt=login: the person signs in again, and the new ID token says so."""
    browser.set_auth_time(5)  # the first sign-in was five seconds ago
    first = verify(tokens(browser, rp)["id_token"], fetch_jwks(browser.http))[1]
    outcome, verifier = browser.authorize(rp, prompt="login")
    assert outcome.pages == ["login"]
    second = rp.exchange(browser.http, outcome.code, verifier).get_json()
    claims = verify(second["id_token"], fetch_jwks(browser.http))[1]
    assert claims["sub"] == first["sub"]
    assert claims["auth_time"] > first["auth_time"]
    # Only that request forced a sign-in: the next one goes straight through.
    assert browser.authorize(rp)[0].pages == []


def test_oidcc_prompt_none_not_logged_in(app, rp, citizen):
    stranger = Browser(app)  # not signed in
    query, _ = authorization_params(rp, prompt="none")
    outcome = stranger.follow(stranger.open(query), rp.redirect_uri)
    assert outcome.pages == []  # no login page: prompt=none shows nothing
    assert_error_redirect(outcome, "login_required", query["state"])


def test_oidcc_prompt_none_logged_in(browser, rp, citizen):
    tokens(browser, rp)  # signed in, and consent given
    outcome, verifier = browser.authorize(rp, prompt="none", consent=None)
    assert outcome.pages == []
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    assert verify(body["id_token"], fetch_jwks(browser.http))[1]["sub"] == citizen.public_id


def test_oidcc_max_age_1(browser, rp):
    """max_age=1 after more than a second: the person signs in again; auth_time moves."""
    browser.set_auth_time(3)  # signed in three seconds ago
    first = verify(tokens(browser, rp)["id_token"], fetch_jwks(browser.http))[1]
    outcome, verifier = browser.authorize(rp, max_age="1")
    assert outcome.pages == ["login"]
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    claims = verify(body["id_token"], fetch_jwks(browser.http))[1]
    assert claims["auth_time"] > first["auth_time"]
    assert claims["auth_time"] >= time.time() - 5
    # prompt=none cannot sign anyone in: with a stale sign-in it is login_required.
    browser.set_auth_time(3)
    query, _ = authorization_params(rp, max_age="1", prompt="none")
    assert_error_redirect(
        browser.follow(browser.open(query), rp.redirect_uri), "login_required", query["state"]
    )


def test_oidcc_max_age_10000(browser, rp):
    browser.set_auth_time(60)
    outcome, verifier = browser.authorize(rp, max_age="10000")
    assert "login" not in outcome.pages
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    claims = verify(body["id_token"], fetch_jwks(browser.http))[1]
    assert abs(claims["auth_time"] - (time.time() - 60)) < 5


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(browser, rp):
    outcome, verifier = browser.authorize(rp, extra="foobar", **{"x-unknown": "1"})
    assert rp.exchange(browser.http, outcome.code, verifier).status_code == 200


def test_oidcc_id_token_hint(app, browser, rp, citizen, make_citizen):
    """A second request with the first ID token as id_token_hint and prompt=none signs
    the same person in without a page."""
    first = tokens(browser, rp)["id_token"]
    outcome, verifier = browser.authorize(rp, prompt="none", id_token_hint=first, consent=None)
    assert outcome.pages == []
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    claims = check_id_token(body["id_token"], rp, fetch_jwks(browser.http))
    assert claims["sub"] == verify(first, fetch_jwks(browser.http))[1]["sub"] == citizen.public_id
    # The hint names someone else: not signed in silently as the wrong person.
    make_citizen(phone="+79160000001", surname="Петров", given_name="Сергей")
    other_person = Browser(app, "+79160000001")
    other_person.sign_in()
    someone_else = tokens(other_person, rp)["id_token"]
    query, _ = authorization_params(rp, prompt="none", id_token_hint=someone_else)
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert_error_redirect(outcome, "login_required", query["state"])


def test_oidcc_login_hint(app, rp, citizen):
    """login_hint prefills the login form."""
    person = Browser(app, PHONE)
    query, verifier = authorization_params(rp, login_hint=PHONE)
    response = person.open(query)
    assert response.status_code == 302
    login_page = person.http.get(response.headers["Location"])
    assert login_page.status_code == 200
    form = next(f for f in forms_of(login_page.get_data(as_text=True)) if f.method == "post")
    assert form.fields["login"] == PHONE
    outcome = person.follow(response, rp.redirect_uri)
    assert outcome.pages == ["login", "consent"]
    assert rp.exchange(person.http, outcome.code, verifier).status_code == 200


def test_oidcc_ui_locales(browser, rp):
    """ui_locales=en: the consent page is in English, whatever the default."""
    default, _ = browser.authorize(rp, consent=None)
    assert '<html lang="ru">' in default.html
    outcome, verifier = browser.authorize(rp, ui_locales="en-US en", consent=None)
    assert outcome.pages == ["consent"]
    assert '<html lang="en">' in outcome.html
    assert "asks for access to your data" in text_of(outcome.response)
    finished = browser.follow(outcome.response, rp.redirect_uri)  # answering keeps the language
    assert rp.exchange(browser.http, finished.code, verifier).status_code == 200


def test_oidcc_claims_locales(browser, rp):
    outcome, verifier = browser.authorize(rp, scope="openid profile", claims_locales="de fr ru")
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    assert userinfo(browser, body["access_token"])["family_name"] == "Иванова"


def test_oidcc_ensure_request_with_acr_values_succeeds(browser, rp):
    """acr_values the provider does not know are a wish, not a condition; a known one the
    citizen meets is honoured; acr is in the ID token either way."""
    for acr_values in ("1 2", scope_claims.acr_for("simplified")):
        outcome, verifier = browser.authorize(rp, acr_values=acr_values)
        body = rp.exchange(browser.http, outcome.code, verifier).get_json()
        claims = verify(body["id_token"], fetch_jwks(browser.http))[1]
        assert claims["acr"] == scope_claims.acr_for("simplified")


def _replay(browser, rp, seconds_between: int):
    outcome, verifier = browser.authorize(rp)
    if seconds_between:
        age_code(outcome.code, seconds_between)  # the first use comes 30 s after issue
    first = rp.exchange(browser.http, outcome.code, verifier)
    assert first.status_code == 200  # 30 s is within the code's 60 s
    body = first.get_json()
    assert userinfo(browser, body["access_token"])
    again = rp.exchange(browser.http, outcome.code, verifier)
    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"
    # What the first use issued is revoked (RFC 6749 §4.1.2).
    assert (
        browser.http.get("/oauth/userinfo", headers=bearer(body["access_token"])).status_code == 401
    )
    refreshed = rp.refresh(browser.http, body["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"


def test_oidcc_codereuse(browser, rp):
    _replay(browser, rp, 0)


def test_oidcc_codereuse_30seconds(browser, rp):
    _replay(browser, rp, 30)


def test_oidcc_ensure_registered_redirect_uri(browser, rp):
    """An unregistered redirect URI: an error page, and nothing is sent there."""
    query, _ = authorization_params(rp, redirect_uri=rp.redirect_uri + "/not-registered")
    response = browser.open(query)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_request" in response.get_data(as_text=True)


def test_oidcc_ensure_post_request_succeeds(browser, rp, citizen):
    """The authorization request sent as a form POST (OpenID Connect Core §3.1.2.1)."""
    outcome, verifier = browser.authorize(rp, method="POST", scope="openid profile")
    assert outcome.pages == ["consent"]
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    assert userinfo(browser, body["access_token"])["sub"] == citizen.public_id


def test_oidcc_server_client_secret_post(browser):
    rp = register(auth_method="client_secret_post")
    outcome, verifier = browser.authorize(rp)
    response = rp.exchange(browser.http, outcome.code, verifier)
    assert response.status_code == 200
    check_id_token(response.get_json()["id_token"], rp, fetch_jwks(browser.http))


def test_oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(browser, rp):
    config = browser.http.get("/.well-known/openid-configuration").get_json()
    assert config["request_uri_parameter_supported"] is False
    query, _ = authorization_params(rp, request_uri="https://rp.example.ru/request.jwt")
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert_error_redirect(outcome, "request_uri_not_supported", query["state"])


def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(browser, rp):
    config = browser.http.get("/.well-known/openid-configuration").get_json()
    assert config["request_parameter_supported"] is False
    request_object = ".".join(
        [
            b64(b'{"alg":"none"}'),
            b64(json.dumps({"client_id": rp.client_id, "scope": "openid email"}).encode()),
            "",
        ]
    )
    query, _ = authorization_params(rp, request=request_object)
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert_error_redirect(outcome, "request_not_supported", query["state"])


def test_oidcc_ensure_request_object_with_redirect_uri(browser, rp):
    """A request object carrying the redirect URI: request objects are not supported, so
    the answer is request_not_supported, sent to the redirect URI of the query."""
    request_object = ".".join(
        [
            b64(b'{"alg":"none"}'),
            b64(json.dumps({"redirect_uri": rp.redirect_uri, "state": "inner"}).encode()),
            "",
        ]
    )
    query, _ = authorization_params(rp, request=request_object)
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert_error_redirect(outcome, "request_not_supported", query["state"])


def test_oidcc_claims_essential(browser, rp):
    """The claims parameter is not supported (discovery says so): it is ignored and the
    request succeeds with what the scopes release."""
    claims = json.dumps({"userinfo": {"name": {"essential": True}}})
    body = tokens(browser, rp, scope="openid profile", claims=claims)
    assert userinfo(browser, body["access_token"])["name"] == "Иванова Мария Петровна"


def test_oidcc_refresh_token(browser, rp, citizen):
    body = tokens(browser, rp, scope="openid profile")
    other = register(name="Другой сервис")
    stolen = other.refresh(browser.http, body["refresh_token"])
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"
    response = rp.refresh(browser.http, body["refresh_token"])
    assert response.status_code == 200
    fresh = response.get_json()
    assert fresh["refresh_token"] != body["refresh_token"]
    assert fresh["access_token"] != body["access_token"]
    assert set(fresh["scope"].split()) == {"openid", "profile"}
    if "id_token" in fresh:  # OpenID Connect Core §12.2
        claims = check_id_token(fresh["id_token"], rp, fetch_jwks(browser.http))
        assert claims["sub"] == citizen.public_id
    assert userinfo(browser, fresh["access_token"])["sub"] == citizen.public_id
    assert rp.refresh(browser.http, fresh["refresh_token"]).status_code == 200


def test_oidcc_ensure_request_with_valid_pkce_succeeds(browser, rp):
    outcome, verifier = browser.authorize(rp)
    assert rp.exchange(browser.http, outcome.code, verifier).status_code == 200


def test_oidcc_ensure_redirect_uri_in_authorization_request(browser):
    """(Dynamic plan.) A client with two redirect URIs must name one: without it, an
    error page and no redirect."""
    rp = register(redirect_uris=(REDIRECT, "https://rp.example.ru/other"))
    query, _ = authorization_params(rp, redirect_uri=None)
    response = browser.open(query)
    assert response.status_code == 400
    assert "Location" not in response.headers


# --- oidcc-config-certification-test-plan --------------------------------------------


def _get_json(url: str) -> tuple[dict, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response), response.headers.get_content_type()


def test_oidcc_discovery_endpoint_verification(app, portal_server):
    """Fetched over real HTTP, as a relying party pointed at the issuer would."""
    config, content_type = _get_json(portal_server + "/.well-known/openid-configuration")
    assert content_type == "application/json"
    assert config["issuer"] == portal_server == issuer()
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
    ):
        assert config[name].startswith(portal_server + "/"), name
        assert not urlsplit(config[name]).fragment
    key_set, _ = _get_json(config["jwks_uri"])
    rsa = [k for k in key_set["keys"] if k["kty"] == "RSA"]
    assert rsa and all(k["alg"] == "RS256" and k["use"] == "sig" and k["kid"] for k in rsa)
    assert any(k["kty"] == "EC" and k["alg"] == "ES256" for k in key_set["keys"])
    assert not any(PRIVATE_MEMBERS & set(k) for k in key_set["keys"])
    KeySet.import_key_set(key_set)  # a valid JWK Set
    assert "openid" in config["scopes_supported"]
    assert config["response_types_supported"] == ["code"]
    assert config["response_modes_supported"] == ["query"]
    assert set(config["subject_types_supported"]) <= {"public", "pairwise"}
    assert "RS256" in config["id_token_signing_alg_values_supported"]
    assert {"sub", "iss", "auth_time", "acr", "email", "family_name"} <= set(
        config["claims_supported"]
    )
    assert config["claims_parameter_supported"] is False
    assert config["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["authorization_response_iss_parameter_supported"] is True
    assert config["acr_values_supported"] == [
        scope_claims.acr_for(level) for level in ("simplified", "standard", "confirmed")
    ]


# --- oidcc-dynamic-certification-test-plan: key rotation ----------------------------


def test_oidcc_server_rotate_keys(browser, rp):
    before = tokens(browser, rp)
    old_kid = jwt.decode(before["id_token"], fetch_jwks(browser.http)).header["kid"]
    cached = {k["kid"] for k in browser.http.get("/.well-known/jwks.json").get_json()["keys"]}
    age_keys(NEXT_KEY_LEAD.total_seconds())  # the next keys have been published that long
    new_kids = rotate_keys().signing
    published = {k["kid"] for k in browser.http.get("/.well-known/jwks.json").get_json()["keys"]}
    assert set(new_kids) <= published  # the new keys are published
    assert set(new_kids) <= cached  # ...and were before they signed anything
    assert old_kid in published  # and the old one stays, for the tokens it signed
    after = tokens(browser, rp)
    header, _ = verify(after["id_token"], fetch_jwks(browser.http))
    assert header["kid"] in new_kids and header["kid"] != old_kid
    verify(before["id_token"], fetch_jwks(browser.http))  # still verifiable
    assert userinfo(browser, before["access_token"])  # and still accepted
    assert userinfo(browser, after["access_token"])
