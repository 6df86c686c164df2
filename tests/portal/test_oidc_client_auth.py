"""Client authentication at every endpoint that authenticates clients (token, revocation,
introspection, and the federation's events), and ``private_key_jwt`` assertions
(RFC 6749 §2.3 and §5.2, RFC 7523 §3, OpenID Connect Core §9, FAPI 2.0 §5.3.2.1)."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from joserfc.jwk import RSAKey

from portal.extensions import db
from portal.oidc import client_auth
from portal.oidc import services as oidc
from portal.oidc.models import UsedAssertion
from portal.oidc.tokens import issuer
from shared.sessions import utcnow
from tests.portal.oidc_helpers import (
    ASSERTION_TYPE,
    PASSWORD,
    RP,
    Browser,
    basic,
    register,
    simultaneously,
    tokens,
)

PHONE = "+79161234567"
ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


@pytest.fixture
def clients(app):
    """One client of each registered method."""
    return {
        "basic": register(name="Basic"),
        "post": register(name="Post", auth_method="client_secret_post"),
        "jwt": register(name="Keys", auth_method="private_key_jwt"),
        "public": register(name="Public", auth_method="none"),
    }


def body_for(path: str) -> dict:
    """A request that would succeed at ``path`` but for the client's authentication."""
    if path == "/oauth/token":
        return {"grant_type": "refresh_token", "refresh_token": "unknown"}
    return {"token": "unknown"}


def stranger_key() -> RSAKey:
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256"})
    key.ensure_kid()
    return key


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def as_assertion(client_id: str, **claims) -> dict:
    """An assertion signed by a key nobody registered, naming ``client_id``."""
    rp = RP(client_id, None, "private_key_jwt", key=stranger_key())
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": rp.assertion(**claims)}


# Each case: (data, headers) built from the registered clients; all must be refused as
# invalid_client, with 401 and a Basic challenge, and never reach the database oddly.
REFUSED = {
    # The finding: an assertion naming a client that has no keys (it registered a secret).
    "assertion for a secret client": lambda c: (as_assertion(c["basic"].client_id), {}),
    "assertion for a public client": lambda c: (as_assertion(c["public"].client_id), {}),
    "assertion for an unknown client": lambda c: (as_assertion("nobody-here"), {}),
    "assertion with a NUL in sub": lambda c: (as_assertion("di\x00ary"), {}),
    "assertion with a long sub": lambda c: (as_assertion("x" * 5000), {}),
    "assertion by another key": lambda c: (
        {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": c["jwt"].assertion(key=stranger_key()),
        },
        {},
    ),
    "assertion not a JWT": lambda c: (
        {"client_assertion_type": ASSERTION_TYPE, "client_assertion": "abc.def.ghi"},
        {},
    ),
    "assertion of five parts": lambda c: (
        {"client_assertion_type": ASSERTION_TYPE, "client_assertion": "a.b.c.d.e"},
        {},
    ),
    "assertion payload not an object": lambda c: (
        {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": ".".join(
                [
                    base64.urlsafe_b64encode(b'{"alg":"RS256"}').decode().rstrip("="),
                    base64.urlsafe_b64encode(b"[1,2]").decode().rstrip("="),
                    "c2ln",
                ]
            ),
        },
        {},
    ),
    "assertion without sub": lambda c: (as_assertion(c["jwt"].client_id, sub=None), {}),
    "assertion with a numeric sub": lambda c: (as_assertion(c["jwt"].client_id, sub=7), {}),
    "assertion without its type": lambda c: (
        {"client_assertion": c["jwt"].assertion()},
        {},
    ),
    "assertion of another type": lambda c: (
        {"client_assertion_type": "urn:example:other", "client_assertion": c["jwt"].assertion()},
        {},
    ),
    "basic, not base64": lambda c: ({}, {"Authorization": "Basic !!!not-base64!!!"}),
    "basic, not UTF-8": lambda c: ({}, {"Authorization": "Basic " + b64(b"\xff\xfe:\xfa")}),
    "basic without a colon": lambda c: ({}, {"Authorization": "Basic " + b64(b"diary")}),
    "basic for an unknown client": lambda c: ({}, basic("nobody-here", "secret")),
    "basic with a NUL in the id": lambda c: ({}, basic("di%00ary", "secret")),
    "basic with a wrong secret": lambda c: ({}, basic(c["basic"].client_id, "wrong")),
    "basic for a post client": lambda c: ({}, basic(c["post"].client_id, c["post"].secret)),
    "basic for a keys client": lambda c: ({}, basic(c["jwt"].client_id, "anything")),
    "basic for a public client": lambda c: ({}, basic(c["public"].client_id, "anything")),
    "bearer instead of basic": lambda c: ({}, {"Authorization": "Bearer abc"}),
    "post for a basic client": lambda c: (
        {"client_id": c["basic"].client_id, "client_secret": c["basic"].secret},
        {},
    ),
    "post for a keys client": lambda c: (
        {"client_id": c["jwt"].client_id, "client_secret": "anything"},
        {},
    ),
    "post with an empty secret": lambda c: (
        {"client_id": c["post"].client_id, "client_secret": ""},
        {},
    ),
    "post with a NUL in the id": lambda c: ({"client_id": "a\x00b", "client_secret": "s"}, {}),
    "only the id of a confidential client": lambda c: ({"client_id": c["basic"].client_id}, {}),
    "only the id of a keys client": lambda c: ({"client_id": c["jwt"].client_id}, {}),
    "only an unknown id": lambda c: ({"client_id": "nobody-here"}, {}),
    "an id of odd characters": lambda c: ({"client_id": "../../etc/passwd"}, {}),
    "nothing at all": lambda c: ({}, {}),
    "basic with the id of another client in the body": lambda c: (
        {"client_id": c["post"].client_id},
        basic(c["basic"].client_id, c["basic"].secret),
    ),
}


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_every_bad_client_authentication_is_invalid_client(client, clients, path, case):
    data, headers = REFUSED[case](clients)
    response = client.post(path, data={**body_for(path), **data}, headers=headers)
    assert response.status_code == 401, (case, response.get_data(as_text=True)[:300])
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert db.session.execute(sa.select(sa.func.count()).select_from(UsedAssertion)).scalar() == 0


@pytest.mark.parametrize("path", ENDPOINTS)
def test_two_methods_at_once_are_an_invalid_request(client, clients, path):
    """RFC 6749 §2.3: a client MUST NOT use more than one method; §5.2 names the error.
    Nothing is spent: the assertion still works afterwards."""
    rp = clients["jwt"]
    assertion = rp.assertion()
    both = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    for data, headers in (
        (both, basic(clients["basic"].client_id, clients["basic"].secret)),
        ({**both, "client_secret": "x"}, {}),
        ({"client_id": clients["post"].client_id, "client_secret": "x"}, basic("a-b-c", "d")),
    ):
        response = client.post(path, data={**body_for(path), **data}, headers=headers)
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    accepted = client.post(path, data={**body_for(path), **both})
    assert accepted.status_code in (200, 400)
    assert accepted.get_json().get("error") != "invalid_client"


def test_a_repeated_credential_is_an_invalid_request(client, clients):
    rp = clients["post"]
    response = client.post(
        "/oauth/revoke",
        data={"token": "unknown", "client_id": [rp.client_id] * 2, "client_secret": rp.secret},
    )
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_each_registered_method_works_where_it_is_accepted(client, clients, path):
    for name, rp in clients.items():
        response = rp.post(client, path, body_for(path))
        if name == "public" and path == "/oauth/introspect":
            assert response.status_code == 401, "introspection is for confidential clients"
        elif path == "/oauth/token":
            assert response.get_json()["error"] == "invalid_grant", name  # authenticated
        else:
            assert response.status_code == 200, (name, response.get_json())


def test_a_disabled_client_cannot_authenticate(client, clients):
    for rp in clients.values():
        oidc.disable_client(rp.client_id)
        response = rp.post(client, "/oauth/revoke", {"token": "unknown"})
        assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!",
        "Basic " + b64(b"\xff:\xff"),
        "Basic " + b64(b"nobody-here:secret"),
        "Basic " + b64(b"di\x00ary:secret"),
        "Bearer abc",
    ],
)
def test_the_federation_endpoint_refuses_bad_client_credentials(client, clients, authorization):
    """The diaries' messages authenticate as their OAuth client too (HTTP Basic)."""
    response = client.post(
        "/federation/events",
        json={"event": "application.status", "data": {}},
        headers={"Authorization": authorization},
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


# --- private_key_jwt (RFC 7523 §3, FAPI 2.0 §5.3.2.1) ------------------------------------


def revoke_with(client, rp: RP, assertion: str):
    return client.post(
        "/oauth/revoke",
        data={
            "token": "unknown",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def test_private_key_jwt_signs_in_end_to_end(app, make_citizen):
    make_citizen(phone=PHONE)
    rp = register(auth_method="private_key_jwt")
    browser = Browser(app, PHONE, PASSWORD)
    browser.sign_in()
    body = tokens(browser, rp)
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    assert rp.refresh(browser.http, body["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": int(time.time()) + 3600}, "lives an hour"),
        ({"iat": int(time.time()) - 600, "exp": int(time.time()) + 60}, "made ten minutes ago"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": None}, "no exp"),
        ({"nbf": int(time.time()) + 600}, "not yet valid"),
        ({"iat": int(time.time()) + 600, "exp": int(time.time()) + 660}, "made in the future"),
        ({"jti": None}, "no jti"),
        ({"jti": ""}, "empty jti"),
        ({"jti": "j" * 256}, "jti too long"),
        ({"aud": "TOKEN_ENDPOINT"}, "aud the token endpoint"),
        ({"aud": ["ISSUER"]}, "aud an array"),
        ({"aud": ["ISSUER", "https://other.example"]}, "aud with another audience"),
        ({"aud": "https://other.example"}, "aud another server"),
        ({"aud": None}, "no aud"),
        ({"iss": "someone-else"}, "iss not the client"),
    ],
)
def test_assertions_outside_the_profile_are_refused(client, app, claims, why):
    rp = register(auth_method="private_key_jwt")
    replace = {"TOKEN_ENDPOINT": issuer() + "/oauth/token", "ISSUER": issuer()}
    for name, value in claims.items():
        if isinstance(value, list):
            claims[name] = [replace.get(each, each) for each in value]
        else:
            claims[name] = replace.get(value, value)
    response = revoke_with(client, rp, rp.assertion(**claims))
    assert response.status_code == 401, why
    assert response.get_json()["error"] == "invalid_client"
    # A good assertion of the same client passes.
    assert revoke_with(client, rp, rp.assertion()).status_code == 200


def test_an_assertion_of_four_minutes_passes(client, app):
    rp = register(auth_method="private_key_jwt")
    now = int(time.time())
    assert revoke_with(client, rp, rp.assertion(iat=now, exp=now + 240)).status_code == 200


def test_an_assertion_is_single_use(client, app):
    rp = register(auth_method="private_key_jwt")
    assertion = rp.assertion()
    assert revoke_with(client, rp, assertion).status_code == 200
    again = revoke_with(client, rp, assertion)
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_client"


def test_jti_is_per_client(client, app):
    one = register(auth_method="private_key_jwt", name="One")
    two = register(auth_method="private_key_jwt", name="Two")
    assert revoke_with(client, one, one.assertion(jti="shared-jti")).status_code == 200
    assert revoke_with(client, two, two.assertion(jti="shared-jti")).status_code == 200


def test_used_jtis_are_pruned_once_they_expire(client, app):
    rp = register(auth_method="private_key_jwt")
    now = int(time.time())
    assert revoke_with(client, rp, rp.assertion(jti="short", exp=now + 30)).status_code == 200
    assert revoke_with(client, rp, rp.assertion(jti="long", exp=now + 240)).status_code == 200
    rows = {row.jti: row for row in db.session.execute(sa.select(UsedAssertion)).scalars()}
    assert set(rows) == {"short", "long"}
    # Kept while the assertion could pass its exp check (with the clock leeway)...
    assert client_auth.prune_used_assertions(utcnow() + timedelta(seconds=60)) == 0
    # ...and forgotten after.
    assert client_auth.prune_used_assertions(utcnow() + timedelta(seconds=95)) == 1
    assert [row.jti for row in db.session.execute(sa.select(UsedAssertion)).scalars()] == ["long"]
    result = app.test_cli_runner().invoke(args=["oidc", "sweep"])
    assert result.exit_code == 0, result.output


def test_eight_simultaneous_uses_of_one_assertion_one_wins(app, portal_server):
    """Against a real server (PostgreSQL in CI's second pass): eight requests carry the
    same assertion at the same moment; the jti is claimed by one atomic insert, so exactly
    one is authenticated and seven get invalid_client. No 500."""
    rp = register(auth_method="private_key_jwt")
    data = {
        "token": "unknown",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": rp.assertion(),
    }
    answers = simultaneously(8, portal_server + "/oauth/introspect", data)
    statuses = [status for status, _ in answers]
    assert sorted(statuses) == [200] + [401] * 7, answers
    assert all(body["error"] == "invalid_client" for status, body in answers if status == 401)
    stored = db.session.execute(sa.select(UsedAssertion)).scalars().all()
    assert [row.client_id for row in stored] == [rp.client_id]
