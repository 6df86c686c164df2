"""The administrator's room: the role and its command, the client pages, and what the
secrets those pages show actually do at the token endpoint."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import RSAKey

from portal.admin import services
from portal.extensions import db
from portal.identity.models import Administrator, Citizen, SecurityEvent
from portal.identity.services import Origin
from portal.oidc import services as oidc
from portal.oidc.keys import public_key_set
from portal.oidc.models import OAuthClient
from tests.helpers import forms_of, submit, text_of
from tests.portal.oidc_helpers import basic, pkce

PASSWORD = "violet-harbour-lamp"
ADMIN_PHONE = "+79160000001"
CITIZEN_PHONE = "+79160000002"
REDIRECT_URI = "http://127.0.0.1:9999/cb"


@pytest.fixture
def admin(make_citizen):
    citizen = make_citizen(surname="Админова", given_name="Анна", phone=ADMIN_PHONE)
    services.make_administrator(citizen)
    return citizen


def browser_of(app, phone: str | None = None):
    """A browser in English (the assertions read the English texts), signed in if asked."""
    browser = app.test_client()
    browser.set_cookie("lang", "en")
    if phone:
        signed_in = submit(browser, "/login", {"login": phone, "password": PASSWORD})
        assert signed_in.status_code == 302
    return browser


@pytest.fixture
def admin_browser(app, admin):
    return browser_of(app, ADMIN_PHONE)


# --- the OpenID Connect code flow, as a relying party would run it ------------------


def authorize(browser, client_id: str, scope: str = "openid profile email") -> tuple[str, str]:
    """Sign-in at the client ``client_id`` by the browser's citizen, allowing access when
    asked. Returns the authorization code and its PKCE verifier."""
    verifier, challenge = pkce()
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "st1",
        "nonce": "n1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = browser.get("/oauth/authorize", query_string=query)
    if response.status_code == 200:  # the consent page
        form = next(
            f for f in forms_of(response.get_data(as_text=True)) if f.action == "/oauth/authorize"
        )
        response = browser.post("/oauth/authorize", data={**form.fields, "decision": "allow"})
    assert response.status_code == 302, text_of(response)
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return parse_qs(location.query)["code"][0], verifier


def exchange(rp, client_id: str, secret: str, code: str, verifier: str):
    return rp.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        headers=basic(client_id, secret),
    )


def shown_secret(page) -> tuple[str, str]:
    html = page.get_data(as_text=True)
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', html).group(1)
    return client_id, secret


def csrf_token_of(browser, url: str) -> str:
    page = browser.get(url)
    return next(f.fields["csrf_token"] for f in forms_of(page.get_data(as_text=True)))


def events_of(citizen: Citizen) -> list[SecurityEvent]:
    return list(
        db.session.execute(
            sa.select(SecurityEvent)
            .where(SecurityEvent.citizen_id == citizen.id)
            .order_by(SecurityEvent.id)
        ).scalars()
    )


def client_count() -> int:
    return db.session.execute(sa.select(sa.func.count(OAuthClient.id))).scalar_one()


CLIENT_FORM = {
    "name": "Электронный дневник",
    "redirect_uris": f"{REDIRECT_URI}\n\n  {REDIRECT_URI}  \n",  # blanks and repeats folded
    "post_logout_redirect_uris": "http://127.0.0.1:9999/bye",
    "backchannel_logout_uri": "http://127.0.0.1:9999/backchannel",
    "scopes": ["openid", "profile", "email"],
    "auth_method": "client_secret_basic",
    "id_token_alg": "ES256",
}


# --- the role -----------------------------------------------------------------------


def test_command_creates_an_administrator_and_is_idempotent(app, make_citizen):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["admin", "create", "--phone", "8 916 000-00-09", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    citizen = db.session.execute(
        sa.select(Citizen).where(Citizen.public_id == printed["id"])
    ).scalar_one()
    assert printed == {"id": citizen.public_id, "phone": "+79160000009", "administrator": True}
    assert services.is_administrator(citizen)

    again = runner.invoke(args=["admin", "create", "--phone", "+79160000009"])
    assert again.exit_code == 0, again.output
    assert db.session.execute(sa.select(sa.func.count(Administrator.id))).scalar_one() == 1

    existing = make_citizen(phone="+79160000010")
    assert not services.is_administrator(existing)
    assert runner.invoke(args=["admin", "create", "--phone", "+79160000010"]).exit_code == 0
    assert services.is_administrator(existing)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phone", "+79160000011"], "give --password"),
        (["--phone", "not-a-phone"], "not a mobile number"),
        (["--phone", "+79160000011", "--password", "123"], ""),  # the password policy
    ],
)
def test_command_refuses_bad_input(app, args, message):
    result = app.test_cli_runner().invoke(args=["admin", "create", *args])
    assert result.exit_code != 0 and message in result.output
    assert db.session.execute(sa.select(sa.func.count(Administrator.id))).scalar_one() == 0


def test_menu_shows_administration_only_to_administrators(app, admin, make_citizen):
    make_citizen(phone=CITIZEN_PHONE)
    admin_page = text_of(browser_of(app, ADMIN_PHONE).get("/cabinet/"))
    citizen_page = text_of(browser_of(app, CITIZEN_PHONE).get("/cabinet/"))
    assert "Administration" in admin_page and "Applications" in admin_page
    assert "Administration" not in citizen_page and "Applications" in citizen_page


# --- registering a client -----------------------------------------------------------


def test_admin_registers_a_client_and_the_secret_shown_works(
    app, admin, admin_browser, make_citizen
):
    page = submit(admin_browser, "/admin/clients/new", CLIENT_FORM)
    assert page.status_code == 200, text_of(page)
    assert page.headers["Cache-Control"] == "no-store"
    assert "it is shown only once" in text_of(page)
    client_id, secret = shown_secret(page)

    client = oidc.get_client(client_id)
    assert client.name == "Электронный дневник"
    assert client.redirect_uris == [REDIRECT_URI]
    assert client.post_logout_redirect_uris == ["http://127.0.0.1:9999/bye"]
    assert client.backchannel_logout_uri == "http://127.0.0.1:9999/backchannel"
    assert client.scope == "openid profile email"
    assert client.id_token_signed_response_alg == "ES256"
    assert secret not in (client.client_secret_hash or "")  # stored hashed

    listing = text_of(admin_browser.get("/admin/clients"))
    assert client_id in listing and "Электронный дневник" in listing and REDIRECT_URI in listing
    assert secret not in admin_browser.get("/admin/clients").get_data(as_text=True)

    # A citizen signs in at the new client, which redeems the code with the secret shown.
    make_citizen(phone=CITIZEN_PHONE)
    code, verifier = authorize(browser_of(app, CITIZEN_PHONE), client_id)
    tokens = exchange(app.test_client(), client_id, secret, code, verifier)
    assert tokens.status_code == 200, tokens.json
    id_token = jwt.decode(tokens.json["id_token"], public_key_set())
    assert id_token.header["alg"] == "ES256"
    assert id_token.claims["aud"] in (client_id, [client_id])
    assert id_token.claims["nonce"] == "n1"

    [event] = [e for e in events_of(admin) if e.kind == "client_registered"]
    assert event.detail == {"client": "Электронный дневник", "client_id": client_id}
    log = text_of(admin_browser.get("/cabinet/events"))
    assert "Registered a service as an administrator: Электронный дневник" in log


def test_a_public_client_and_a_key_client_get_no_secret(app, admin_browser):
    public = submit(admin_browser, "/admin/clients/new", {**CLIENT_FORM, "public": "y"})
    assert public.status_code == 200 and "This client has no secret." in text_of(public)
    assert 'id="client-secret"' not in public.get_data(as_text=True)

    key = RSAKey.generate_key(2048)
    jwks = json.dumps({"keys": [key.as_dict(private=False)]})
    keyed = submit(
        admin_browser,
        "/admin/clients/new",
        {**CLIENT_FORM, "auth_method": "private_key_jwt", "jwks": jwks},
    )
    assert keyed.status_code == 200 and "This client has no secret." in text_of(keyed)
    methods = db.session.execute(
        sa.select(OAuthClient.token_endpoint_auth_method, OAuthClient.client_secret_hash)
    ).all()
    assert sorted(methods) == [("none", None), ("private_key_jwt", None)]


PRIVATE_JWK = {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"name": "   "}, "Fill in this field."),
        ({"redirect_uris": ""}, "Fill in this field."),
        ({"redirect_uris": "http://rp.example/cb"}, "Redirect URIs must be absolute https://"),
        ({"redirect_uris": "https://rp.example/cb#top"}, "without a fragment"),
        ({"redirect_uris": "/relative/cb"}, "Redirect URIs must be absolute https://"),
        (
            {"redirect_uris": "\n".join(f"https://rp.example/{n}" for n in range(11))},
            "At most 10 addresses.",
        ),
        ({"redirect_uris": "https://rp.example/" + "x" * 500}, "at most 500 characters"),
        ({"post_logout_redirect_uris": "javascript:alert(1)"}, "javascript:alert(1)"),
        ({"backchannel_logout_uri": "ftp://rp.example/bc"}, "ftp://rp.example/bc"),
        ({"scopes": ["profile", "email"]}, "The openid scope is required."),
        ({"scopes": ["openid", "everything"]}, "'everything' is not a valid choice"),
        ({"auth_method": "none-at-all"}, "Not a valid choice."),
        ({"id_token_alg": "HS256"}, "Not a valid choice."),
        ({"auth_method": "private_key_jwt"}, "private_key_jwt needs the client's public keys."),
        ({"auth_method": "private_key_jwt", "jwks": "{not json"}, "Paste a JSON Web Key Set"),
        ({"auth_method": "private_key_jwt", "jwks": '{"keys": []}'}, "Paste a JSON Web Key Set"),
        (
            {"auth_method": "private_key_jwt", "jwks": json.dumps({"keys": [PRIVATE_JWK]})},
            "Paste only public keys",
        ),
        (
            {"auth_method": "private_key_jwt", "jwks": '{"keys": [{"kty": "RSA", "n": "x"}]}'},
            "One of the keys cannot be read.",
        ),
    ],
)
def test_bad_input_shows_the_error_and_changes_nothing(app, admin, admin_browser, changes, error):
    events_before = len(events_of(admin))
    page = submit(admin_browser, "/admin/clients/new", {**CLIENT_FORM, **changes})
    assert page.status_code == 422
    assert error in text_of(page)
    assert client_count() == 0
    assert len(events_of(admin)) == events_before


def test_errors_are_in_the_administrators_language(app, admin):
    browser = app.test_client()  # no language chosen: Russian, the portal's default
    submit(browser, "/login", {"login": ADMIN_PHONE, "password": PASSWORD})
    page = submit(
        browser, "/admin/clients/new", {**CLIENT_FORM, "name": "", "auth_method": "magic"}
    )
    assert page.status_code == 422
    assert "Заполните поле." in text_of(page) and "Неверный вариант." in text_of(page)
    assert client_count() == 0


def test_the_form_needs_its_csrf_token(app, admin_browser):
    response = admin_browser.post("/admin/clients/new", data=CLIENT_FORM)
    assert response.status_code == 400
    assert client_count() == 0


# --- rotating the secret and disabling ----------------------------------------------


@pytest.fixture
def registered(app, admin):
    return services.register_client(
        admin,
        Origin(),
        name="Demo RP",
        redirect_uris=[REDIRECT_URI],
        scopes=["openid", "profile", "email"],
        client_id="demo-rp",
    )


def test_rotating_the_secret_refuses_the_old_one(
    app, admin, admin_browser, registered, make_citizen
):
    page = submit(admin_browser, "/admin/clients", action="/admin/clients/demo-rp/rotate-secret")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "The old secret no longer works." in text_of(page)
    client_id, new_secret = shown_secret(page)
    assert client_id == "demo-rp" and new_secret != registered.secret

    make_citizen(phone=CITIZEN_PHONE)
    code, verifier = authorize(browser_of(app, CITIZEN_PHONE), "demo-rp")
    rp = app.test_client()
    refused = exchange(rp, "demo-rp", registered.secret, code, verifier)
    assert refused.status_code == 401 and refused.json["error"] == "invalid_client"
    accepted = exchange(rp, "demo-rp", new_secret, code, verifier)
    assert accepted.status_code == 200, accepted.json

    assert [e.detail for e in events_of(admin) if e.kind == "client_secret_rotated"] == [
        {"client": "Demo RP", "client_id": "demo-rp"}
    ]


def test_a_client_without_a_secret_cannot_have_one_rotated(app, admin, admin_browser):
    services.register_client(
        admin,
        Origin(),
        name="Mobile app",
        redirect_uris=[REDIRECT_URI],
        auth_method="none",
        client_id="mobile-app",
    )
    token = csrf_token_of(admin_browser, "/admin/clients")
    response = admin_browser.post(
        "/admin/clients/mobile-app/rotate-secret", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert "This client has no secret." in text_of(admin_browser.get(response.headers["Location"]))
    assert oidc.get_client("mobile-app").client_secret_hash is None
    assert not [e for e in events_of(admin) if e.kind == "client_secret_rotated"]


def test_disabling_refuses_authorization_and_revokes_tokens(
    app, admin, admin_browser, registered, make_citizen
):
    make_citizen(phone=CITIZEN_PHONE)
    citizen_browser = browser_of(app, CITIZEN_PHONE)
    code, verifier = authorize(citizen_browser, "demo-rp")
    rp = app.test_client()
    tokens = exchange(rp, "demo-rp", registered.secret, code, verifier).json
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert rp.get("/oauth/userinfo", headers=bearer).status_code == 200

    response = submit(admin_browser, "/admin/clients", action="/admin/clients/demo-rp/disable")
    assert response.status_code == 302
    listing = text_of(admin_browser.get(response.headers["Location"]))
    assert "Demo RP is disabled: it can no longer sign anyone in." in listing
    assert oidc.get_client("demo-rp").disabled_at is not None

    refused = citizen_browser.get(
        "/oauth/authorize",
        query_string={
            "response_type": "code",
            "client_id": "demo-rp",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": pkce()[1],
            "code_challenge_method": "S256",
        },
    )
    assert refused.status_code == 400 and "Location" not in refused.headers
    assert rp.get("/oauth/userinfo", headers=bearer).status_code == 401
    assert [e.kind for e in events_of(admin) if e.kind.startswith("client_")] == [
        "client_registered",
        "client_disabled",
    ]


def test_an_unknown_client_is_not_found(app, admin_browser):
    token = csrf_token_of(admin_browser, "/admin/clients")
    for action in ("disable", "rotate-secret"):
        response = admin_browser.post(f"/admin/clients/nobody/{action}", data={"csrf_token": token})
        assert response.status_code == 404


# --- nobody else gets in ------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/admin/clients"),
    ("GET", "/admin/clients/new"),
    ("POST", "/admin/clients/new"),
    ("POST", "/admin/clients/demo-rp/disable"),
    ("POST", "/admin/clients/demo-rp/rotate-secret"),
]


def test_the_table_covers_every_admin_route(app):
    rules = {
        (method, rule.rule.replace("<client_id>", "demo-rp"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert rules == set(ADMIN_ROUTES)


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize("visitor", ["stranger", "citizen"])
def test_only_administrators_get_in(app, registered, make_citizen, method, path, visitor):
    if visitor == "citizen":
        make_citizen(phone=CITIZEN_PHONE)
        browser = browser_of(app, CITIZEN_PHONE)
        token = csrf_token_of(browser, "/cabinet/")  # the header's sign-out form
    else:
        browser = browser_of(app)
        token = csrf_token_of(browser, "/login")
    hash_before = oidc.get_client("demo-rp").client_secret_hash

    response = browser.open(
        path, method=method, data={**CLIENT_FORM, "csrf_token": token} if method == "POST" else None
    )

    if visitor == "citizen":
        assert response.status_code == 403
    else:
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/login"
    client = oidc.get_client("demo-rp")
    assert client.disabled_at is None and client.client_secret_hash == hash_before
    assert client_count() == 1
