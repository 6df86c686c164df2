"""Userinfo's refusals as RFC 6750 §3 shapes them: the status, the ``WWW-Authenticate:
Bearer`` challenge (with an error code only when a token was sent) and the JSON body."""

from __future__ import annotations

import pytest

from tests.portal.oidc_helpers import Browser, basic, bearer, tokens

PHONE = "+79161234567"


@pytest.fixture
def browser(app, make_citizen):
    make_citizen(phone=PHONE)
    person = Browser(app, PHONE)
    person.sign_in()
    return person


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {}),
        ("POST", {}),
        ("GET", basic("some-client", "secret")),  # credentials, but no bearer token
    ],
    ids=["get", "post", "basic"],
)
def test_a_request_without_a_token_gets_a_challenge_without_an_error_code(client, method, headers):
    """The review's finding: it answered error="invalid_token". RFC 6750 §3.1: a request
    that had no authentication information gets no error code."""
    response = client.open("/oauth/userinfo", method=method, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "error" not in response.get_json()


def test_a_token_without_openid_is_insufficient_scope(browser, rp):
    """The review's finding: a valid token issued without openid is 403 insufficient_scope,
    naming the scope it needs (RFC 6750 §3.1)."""
    body = tokens(browser, rp, scope="profile")
    response = browser.http.get("/oauth/userinfo", headers=bearer(body["access_token"]))
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert 'scope="openid"' in challenge
    assert response.get_json()["error"] == "insufficient_scope"


def test_an_invalid_token_is_invalid_token(client):
    response = client.get("/oauth/userinfo", headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.get_json()["error"] == "invalid_token"


def test_a_token_sent_two_ways_or_malformed_is_invalid_request(browser, rp):
    """RFC 6750 §2: one method per request; §2.3 (the URI) is not supported, since URIs
    end up in logs; an empty Bearer is malformed. Each: 400 invalid_request."""
    token = tokens(browser, rp)["access_token"]
    for response in (
        browser.http.post("/oauth/userinfo", headers=bearer(token), data={"access_token": token}),
        browser.http.post("/oauth/userinfo", data={"access_token": [token, token]}),
        browser.http.get("/oauth/userinfo", query_string={"access_token": token}),
        browser.http.get("/oauth/userinfo", headers={"Authorization": "Bearer "}),
    ):
        assert response.status_code == 400
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
        assert response.get_json()["error"] == "invalid_request"
    assert browser.http.get("/oauth/userinfo", headers=bearer(token)).status_code == 200
