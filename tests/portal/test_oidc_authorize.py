"""The authorization request's rules that are easy to get silently wrong
(``portal/oidc/authorize.py``): what must be refused (and to whom), prompt=create through
registration and back, redirect_uri in OpenID requests, and an unmet acr_values."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity.models import Citizen
from portal.oidc import claims as scope_claims
from portal.oidc.models import AuthorizationCode
from portal.oidc.tokens import issuer
from tests.helpers import forms_of, submit, text_of
from tests.portal.oidc_helpers import (
    PASSWORD,
    Browser,
    authorization_params,
    fetch_jwks,
    register,
    tokens,
    verify,
)

PHONE = "+79161234567"


@pytest.fixture
def browser(app, citizen, rp):
    """Signed in, and the client has the citizen's consent: only the rule under test can
    stop a request."""
    person = Browser(app, PHONE)
    person.sign_in()
    tokens(person, rp)
    return person


def codes_issued() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(AuthorizationCode)).scalar()


def refused(browser, rp, query: dict, error: str) -> dict:
    """The request went back to the client with ``error``, ``state`` and ``iss``, and no
    code was made."""
    before = codes_issued()
    outcome = browser.follow(browser.open(query), rp.redirect_uri)
    assert outcome.params is not None, text_of(outcome.response)[:300]
    assert outcome.params["error"] == error, outcome.params
    assert outcome.params["state"] == query["state"]
    assert outcome.params["iss"] == issuer()
    assert "code" not in outcome.params and codes_issued() == before
    return outcome.params


# --- prompt (Core §3.1.2.1; Initiating User Registration §4) ---------------------------


@pytest.mark.parametrize(
    ("prompt", "error"),
    [
        ("select_account", "account_selection_required"),
        ("login select_account", "account_selection_required"),
        ("bogus", "invalid_request"),
        ("consent bogus", "invalid_request"),
        ("none login", "invalid_request"),
        ("none create", "invalid_request"),
        ("none consent", "invalid_request"),
    ],
)
def test_prompt_values_the_provider_cannot_honour_are_refused(browser, rp, prompt, error):
    """Silently ignored before; now refused to the client, as the specifications say."""
    query, _ = authorization_params(rp, prompt=prompt)
    refused(browser, rp, query, error)


def test_an_unknown_prompt_is_refused_before_any_sign_in(app, rp, citizen):
    stranger = Browser(app, PHONE)
    query, _ = authorization_params(rp, prompt="bogus")
    outcome = stranger.follow(stranger.open(query), rp.redirect_uri)
    assert outcome.pages == [] and outcome.params["error"] == "invalid_request"


def test_discovery_lists_the_prompt_values_and_response_modes_supported(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert config["prompt_values_supported"] == ["none", "login", "consent", "create"]
    assert config["response_modes_supported"] == ["query"]


def test_prompt_create_registers_the_visitor_and_comes_back(app, inbox, rp):
    """A visitor without an account: registration, then the authorization request goes
    on for the new account (consent, code, tokens)."""
    visitor = Browser(app, PHONE)
    query, verifier = authorization_params(rp, scope="openid profile", prompt="create", nonce="n1")
    response = visitor.open(query)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/register"
    back = dict(parse_qsl(target.query))["next"]
    assert back.startswith("/oauth/authorize?") and "create" not in back

    register_url = target.path + "?" + target.query
    started = submit(
        visitor.http,
        register_url,
        {"surname": "Соколов", "given_name": "Дмитрий", "contact": PHONE},
    )
    assert started.status_code == 302
    code = inbox.last_code(PHONE)
    assert submit(visitor.http, "/register/code", {"code": code}).status_code == 302
    done = submit(
        visitor.http,
        "/register/password",
        {"password": PASSWORD, "confirm": PASSWORD, "consent": "y"},
    )
    assert done.status_code == 302 and done.headers["Location"] == back

    outcome = visitor.follow(done, rp.redirect_uri)
    assert outcome.pages == ["consent"]
    assert outcome.params["state"] == query["state"] and outcome.params["iss"] == issuer()
    body = rp.exchange(visitor.http, outcome.code, verifier).get_json()
    claims = verify(body["id_token"], fetch_jwks(visitor.http))[1]
    created = db.session.execute(sa.select(Citizen)).scalar_one()
    assert claims["sub"] == created.public_id and claims["nonce"] == "n1"


def test_prompt_create_for_a_signed_in_citizen_goes_on(browser, rp, citizen):
    outcome, verifier = browser.authorize(rp, prompt="create")
    assert outcome.pages == [] and outcome.code
    body = rp.exchange(browser.http, outcome.code, verifier).get_json()
    assert verify(body["id_token"], fetch_jwks(browser.http))[1]["sub"] == citizen.public_id


def test_the_login_page_lets_a_visitor_register_and_come_back(app, rp):
    visitor = Browser(app, PHONE)
    query, _ = authorization_params(rp)
    login = visitor.http.get(visitor.open(query).headers["Location"])
    html = login.get_data(as_text=True)
    links = [part.split('"')[0] for part in html.split('href="')[1:]]
    assert any(link.startswith("/register?next=/oauth/authorize") for link in links)


# --- response_mode, repeated and unsupported parameters, max_age ----------------------


@pytest.mark.parametrize("mode", ["fragment", "form_post", "query.jwt", "jwt", ""])
def test_unsupported_response_modes_are_refused(browser, rp, mode):
    query, _ = authorization_params(rp, response_mode=mode)
    refused(browser, rp, query, "invalid_request")


def test_response_mode_query_is_accepted(browser, rp):
    outcome, verifier = browser.authorize(rp, response_mode="query")
    assert rp.exchange(browser.http, outcome.code, verifier).status_code == 200


@pytest.mark.parametrize("name", ["prompt", "nonce", "code_challenge", "max_age", "acr_values"])
def test_a_repeated_parameter_is_refused(browser, rp, name):
    query, _ = authorization_params(rp, prompt="login", nonce="a", max_age="60", acr_values="x")
    response = browser.http.get(
        "/oauth/authorize", query_string=[*query.items(), (name, query[name])]
    )
    outcome = browser.follow(response, rp.redirect_uri)
    assert outcome.params["error"] == "invalid_request" and "code" not in outcome.params


def test_the_registration_parameter_is_not_supported(browser, rp):
    query, _ = authorization_params(rp, registration='{"client_name": "x"}')
    refused(browser, rp, query, "registration_not_supported")


# Arabic-Indic digits ("١٠") are refused earlier, as any non-ASCII parameter is: on a
# page, without a redirect (test_oidc_rfc9700.py).
@pytest.mark.parametrize("max_age", ["abc", "-1", "1.5"])
def test_max_age_must_be_a_number_of_seconds(browser, rp, max_age):
    query, _ = authorization_params(rp, max_age=max_age)
    refused(browser, rp, query, "invalid_request")


# --- redirect_uri (Core §3.1.2.1, RFC 6749 §4.1.3) -------------------------------------


def test_an_openid_request_without_redirect_uri_is_refused_on_a_page(browser, rp):
    """The review's finding: with one registered URI the portal issued a code, and the
    token request then failed. An OpenID request MUST name its redirect_uri; without it
    nothing may be redirected, so the person sees the error."""
    before = codes_issued()
    query, _ = authorization_params(rp, redirect_uri=None)
    response = browser.open(query)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "redirect_uri" in text_of(response)
    assert codes_issued() == before


def test_a_plain_oauth_request_may_leave_redirect_uri_out_at_both_endpoints(browser, rp):
    """RFC 6749: without openid, a client with one registered URI may leave redirect_uri
    out, and then also at the token endpoint (§4.1.3: required there only if it was in the
    authorization request)."""
    outcome, verifier = browser.authorize(rp, scope="profile", redirect_uri=None)
    assert outcome.code
    response = rp.post(
        browser.http,
        "/oauth/token",
        {"grant_type": "authorization_code", "code": outcome.code, "code_verifier": verifier},
    )
    assert response.status_code == 200, response.get_json()
    assert "id_token" not in response.get_json()


# --- acr_values above the citizen's level (RFC 6749 §4.1.2.1) --------------------------


def test_an_unmet_acr_goes_back_to_the_client_as_access_denied(browser, rp):
    """The review's finding: the level page never returned to the relying party. It says
    what to do, and its button sends access_denied with state and iss to the client."""
    query, _ = authorization_params(rp, acr_values=scope_claims.acr_for("standard"))
    page = browser.open(query)
    assert page.status_code == 403
    assert 'href="/cabinet/level"' in page.get_data(as_text=True)
    form = next(
        f for f in forms_of(page.get_data(as_text=True)) if f.action.endswith("/oauth/authorize")
    )
    back = browser.http.post(form.action, data={**form.fields, "decision": "level"})
    params = dict(parse_qsl(urlsplit(back.headers["Location"]).query))
    assert back.headers["Location"].startswith(rp.redirect_uri)
    assert params["error"] == "access_denied" and params["state"] == query["state"]
    assert params["iss"] == issuer() and "level" in params["error_description"]
    assert "code" not in params


def test_the_level_page_cannot_be_talked_into_a_code(browser, rp):
    """Posting "allow" to the level page's request does not get past the level."""
    query, _ = authorization_params(rp, acr_values=scope_claims.acr_for("standard"))
    page = browser.open(query)
    form = next(
        f for f in forms_of(page.get_data(as_text=True)) if f.action.endswith("/oauth/authorize")
    )
    response = browser.http.post(form.action, data={**form.fields, "decision": "allow"})
    assert response.status_code == 403 and "Location" not in response.headers


@pytest.mark.parametrize("client_id", ["a\x00b", "x" * 500, "../etc", "диари"])
def test_a_malformed_client_id_is_an_unknown_client(client, client_id):
    """Every lookup of a client checks the id's shape first (a NUL byte alone made
    PostgreSQL fail the query: a 500): the authorization and logout endpoints answer with
    their error pages."""
    query, _ = authorization_params(register(), client_id=client_id)
    response = client.get("/oauth/authorize", query_string=query)
    assert response.status_code == 400 and "Location" not in response.headers
    response = client.get("/oauth/logout", query_string={"client_id": client_id})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("lang", "explained", "english_of_authlib"),
    [
        ("ru", "не зарегистрирован на портале или отключён", "does not exist"),
        ("en", "is not registered at the portal or is switched off", "does not exist"),
    ],
)
def test_an_error_page_explains_the_code_in_the_persons_language(
    client, rp, lang, explained, english_of_authlib
):
    """Issue 16: an unknown client used to show Authlib's English «invalid_client: The
    client does not exist on this server.» on a Russian page. The page explains the
    code in the person's language and keeps the code itself for the service's support."""
    client.set_cookie("lang", lang)
    query, _ = authorization_params(rp, client_id="no-such-client")
    page = client.get("/oauth/authorize", query_string=query)
    assert page.status_code == 400 and "Location" not in page.headers
    assert explained in text_of(page) and "invalid_client" in text_of(page)
    assert english_of_authlib not in text_of(page)

    # A request without its redirect URI names the parameter, never Authlib's sentence.
    query, _ = authorization_params(rp, redirect_uri=None)
    page = text_of(client.get("/oauth/authorize", query_string=query))
    assert "invalid_request" in page and "redirect_uri" in page
    assert "is required in an OpenID Connect request" not in page
    if lang == "ru":
        assert "Сервис передал неполный или неверный запрос" in page
        assert "Параметр запроса redirect_uri" in page
