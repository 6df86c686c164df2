"""RP-Initiated Logout 1.0 (``/oauth/logout``) and Back-Channel Logout 1.0 (logout
tokens posted to the clients), through the pages and a real receiving endpoint.

Tests named ``test_oidcc_…`` assert what the OpenID conformance module of that name
asserts. Pages are read in English (the language cookie), as a person who chose it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from joserfc import jwt
from werkzeug.wrappers import Request, Response

from portal.extensions import db
from portal.identity import expiry
from portal.identity import sessions as web_sessions
from portal.identity.models import web_session
from portal.oidc import backchannel
from portal.oidc.keys import active_key, public_key_set, rotate_keys
from portal.oidc.models import LogoutDelivery, OAuthClient
from portal.oidc.tokens import issuer
from shared.sessions import hash_sid, utcnow
from tests.conftest import LiveServer, free_port
from tests.helpers import forms_of, submit, text_of
from tests.portal.oidc_helpers import (
    RP,
    Browser,
    age_keys,
    bearer,
    fetch_jwks,
    register,
    tokens,
    verify,
)

AFTER_LOGOUT = "https://rp.example.ru/logged-out"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


class LogoutReceiver:
    """A relying party's back-channel logout endpoint (§2.5, §2.8) on a real HTTP server:
    records every POST and answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.posts: list[tuple[int, str, dict]] = []
        self.url = ""

    @Request.application
    def __call__(self, request: Request) -> Response:
        self.posts.append((self.status, request.mimetype, request.form.to_dict()))
        redirect_to_itself = {"Location": self.url} if 300 <= self.status < 400 else {}
        return Response(status=self.status, headers=redirect_to_itself)

    @property
    def delivered(self) -> list[str]:
        """The logout tokens the endpoint accepted."""
        return [form["logout_token"] for status, _, form in self.posts if status in (200, 204)]


@pytest.fixture
def receiver():
    endpoint = LogoutReceiver()
    with LiveServer(endpoint) as live:
        endpoint.url = live.url + "/backchannel-logout"
        yield endpoint


@pytest.fixture
def rp(app, receiver) -> RP:
    return register(
        scopes=("openid", "profile"),
        client_id="diary",
        post_logout_redirect_uris=[AFTER_LOGOUT],
        backchannel_logout_uri=receiver.url,
    )


@pytest.fixture
def person(make_citizen):
    return make_citizen(phone="+79161234567")


def browser_of(app, login: str = "+79161234567") -> Browser:
    browser = Browser(app, login)
    browser.http.set_cookie("lang", "en")
    browser.sign_in()
    return browser


def signed_in(browser: Browser) -> bool:
    return browser.http.get("/cabinet/").status_code == 200


def sid_of(id_token: str) -> str:
    return jwt.decode(id_token, public_key_set()).claims["sid"]


def sessions_of(citizen) -> int:
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(web_session)
        .where(web_session.c.user_id == citizen.id)
    ).scalar_one()


def deliveries() -> list[LogoutDelivery]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(LogoutDelivery).order_by(LogoutDelivery.id)).scalars())


def logout(browser: Browser, **params):
    return browser.http.get("/oauth/logout", query_string=params)


def confirm(browser: Browser, page):
    """Answer the confirmation page with its own form: "Sign out"."""
    forms = [f for f in forms_of(page.get_data(as_text=True)) if f.action == "/oauth/logout"]
    assert forms, text_of(page)
    return browser.http.post("/oauth/logout", data={**forms[0].fields, "decision": "sign_out"})


def check_logout_token(token: str, rp: RP, key_set, *, sub: str, sid: str) -> dict:
    """Validate a logout token the way a relying party must (Back-Channel Logout §2.6)."""
    header, claims = verify(token, key_set)
    assert header["typ"] == "logout+jwt" and header.get("kid")
    jwt.JWTClaimsRegistry(
        leeway=0,
        iss={"essential": True, "value": issuer()},
        aud={"essential": True, "value": rp.client_id},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(claims)
    assert claims["sub"] == sub and claims["sid"] == sid
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims  # §2.4: prohibited
    assert 0 < claims["exp"] - claims["iat"] <= 120
    return claims


def refresh_works(rp: RP, browser: Browser, refresh_token: str) -> bool:
    return rp.refresh(browser.http, refresh_token).status_code == 200


# --- RP-Initiated Logout 1.0 --------------------------------------------------------


def test_oidcc_rp_initiated_logout_discovery_endpoint_verification(app, client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    endpoint = metadata["end_session_endpoint"]
    assert endpoint == issuer() + "/oauth/logout"
    assert client.get(urlsplit(endpoint).path).status_code == 200


def test_oidcc_rp_initiated_logout(app, rp, person, receiver):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = logout(
        browser,
        id_token_hint=issued["id_token"],
        post_logout_redirect_uri=AFTER_LOGOUT,
        state="xyz 1",
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location._replace(query="").geturl() == AFTER_LOGOUT
    assert dict(parse_qsl(location.query)) == {"state": "xyz 1"}
    assert sessions_of(person) == 0 and not signed_in(browser)
    # The session's tokens are revoked.
    assert not refresh_works(rp, browser, issued["refresh_token"])
    userinfo = browser.http.get("/oauth/userinfo", headers=bearer(issued["access_token"]))
    assert userinfo.status_code == 401


def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(app, rp, person):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = logout(
        browser,
        id_token_hint=issued["id_token"],
        post_logout_redirect_uri="https://rp.example.ru/elsewhere",
        state="xyz",
    )
    assert response.status_code == 400 and "Location" not in response.headers
    assert "The address to return to is not registered for this service." in text_of(response)
    assert signed_in(browser)  # nothing of a failed request is acted on (§4)


def test_oidcc_rp_initiated_logout_modified_id_token_hint(app, rp, person):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    head, body, signature = issued["id_token"].split(".")
    forged = ".".join(
        (head, body, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB"))
    )
    response = logout(
        browser, id_token_hint=forged, post_logout_redirect_uri=AFTER_LOGOUT, state="xyz"
    )
    assert response.status_code == 400 and "Location" not in response.headers
    assert "The ID token in the request is not valid." in text_of(response)
    assert signed_in(browser) and refresh_works(rp, browser, issued["refresh_token"])


def test_oidcc_rp_initiated_logout_no_id_token_hint(app, rp, person, receiver):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    page = logout(
        browser, client_id=rp.client_id, post_logout_redirect_uri=AFTER_LOGOUT, state="s1"
    )
    assert page.status_code == 200
    assert "Sign out of the portal?" in text_of(page)
    assert "Электронный дневник asks to sign you out of the portal." in text_of(page)
    assert signed_in(browser) and receiver.posts == []
    response = confirm(browser, page)
    assert response.status_code == 302
    assert response.headers["Location"] == AFTER_LOGOUT + "?state=s1"
    assert not signed_in(browser)
    assert len(receiver.delivered) == 1
    assert not refresh_works(rp, browser, issued["refresh_token"])


def test_oidcc_rp_initiated_logout_no_params(app, person):
    browser = browser_of(app)
    page = logout(browser)
    assert page.status_code == 200 and "Sign out of the portal?" in text_of(page)
    response = confirm(browser, page)
    assert response.status_code == 200 and "Location" not in response.headers
    assert "You are signed out" in text_of(response)
    assert sessions_of(person) == 0


def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(app, rp, person):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = logout(browser, id_token_hint=issued["id_token"])
    assert response.status_code == 200 and "Location" not in response.headers
    assert "You are signed out of the portal." in text_of(response)
    assert not signed_in(browser)


def test_oidcc_rp_initiated_logout_no_state(app, rp, person):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = logout(
        browser, id_token_hint=issued["id_token"], post_logout_redirect_uri=AFTER_LOGOUT
    )
    assert response.status_code == 302 and response.headers["Location"] == AFTER_LOGOUT
    assert not signed_in(browser)


def test_oidcc_rp_initiated_logout_only_state(app, person):
    browser = browser_of(app)
    page = logout(browser, state="only")
    assert page.status_code == 200 and "Sign out of the portal?" in text_of(page)
    response = confirm(browser, page)
    assert response.status_code == 200 and "Location" not in response.headers
    assert "You are signed out" in text_of(response) and "only" not in text_of(response)
    assert not signed_in(browser)


def test_the_rp_may_send_the_request_as_a_form_post(app, rp, person):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = browser.http.post(
        "/oauth/logout",
        data={
            "id_token_hint": issued["id_token"],
            "post_logout_redirect_uri": AFTER_LOGOUT,
            "state": "posted",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == AFTER_LOGOUT + "?state=posted"
    assert not signed_in(browser)


def test_a_redirect_uri_with_a_query_keeps_it(app, person):
    rp = register(
        scopes=("openid",),
        post_logout_redirect_uris=["https://rp.example.ru/bye?from=portal"],
    )
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = logout(
        browser,
        id_token_hint=issued["id_token"],
        post_logout_redirect_uri="https://rp.example.ru/bye?from=portal",
        state="s",
    )
    query = dict(parse_qsl(urlsplit(response.headers["Location"]).query))
    assert query == {"from": "portal", "state": "s"}


def test_an_expired_hint_of_this_session_still_signs_out_at_once(app, rp, person):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    header, claims = verify(issued["id_token"], fetch_jwks(browser.http))
    claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    expired = jwt.encode(header, claims, active_key(header["alg"]))
    response = logout(browser, id_token_hint=expired, post_logout_redirect_uri=AFTER_LOGOUT)
    assert response.status_code == 302 and response.headers["Location"] == AFTER_LOGOUT
    assert not signed_in(browser)


@pytest.mark.parametrize("expired", [False, True], ids=["fresh", "expired"])
def test_a_hint_signed_by_a_retired_key_signs_out_for_the_whole_session(
    app, rp, person, receiver, expired
):
    """The review's finding: after rotate-keys the old key left the JWKS after 360 s, and
    a live session's id_token_hint then got a 400 page. Keys were rotated eleven hours
    ago (a session lasts twelve): the hint still signs out at once, expired or not."""
    browser = browser_of(app)
    issued = tokens(browser, rp)
    header, claims = verify(issued["id_token"], fetch_jwks(browser.http))
    if expired:
        claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    hint = jwt.encode(header, claims, active_key(header["alg"]))
    age_keys(86400)
    rotate_keys(now=utcnow() - timedelta(hours=11))
    assert active_key(header["alg"]).kid != header["kid"]

    response = logout(browser, id_token_hint=hint, post_logout_redirect_uri=AFTER_LOGOUT)

    assert response.status_code == 302 and response.headers["Location"] == AFTER_LOGOUT
    assert not signed_in(browser) and len(receiver.delivered) == 1


def _other_client_id(rp, other, issued):
    return {"id_token_hint": issued["id_token"], "client_id": other.client_id}


def _unknown_client(rp, other, issued):
    return {"client_id": "nobody-knows", "post_logout_redirect_uri": AFTER_LOGOUT}


def _uri_without_client(rp, other, issued):
    return {"post_logout_redirect_uri": AFTER_LOGOUT, "state": "s"}


def _uri_of_another_client(rp, other, issued):
    return {
        "id_token_hint": issued["id_token"],
        "post_logout_redirect_uri": "https://other.example.ru/bye",
    }


def _access_token_as_hint(rp, other, issued):
    return {"id_token_hint": issued["access_token"], "post_logout_redirect_uri": AFTER_LOGOUT}


def _foreign_issuer(rp, other, issued):
    header, claims = verify(issued["id_token"], public_key_set())
    claims["iss"] = "https://idp.example.com"
    return {"id_token_hint": jwt.encode(header, claims, active_key(header["alg"]))}


def _not_a_jwt(rp, other, issued):
    return {"id_token_hint": "not-a-token", "post_logout_redirect_uri": AFTER_LOGOUT}


@pytest.mark.parametrize(
    "build",
    [
        _other_client_id,
        _unknown_client,
        _uri_without_client,
        _uri_of_another_client,
        _access_token_as_hint,
        _foreign_issuer,
        _not_a_jwt,
    ],
)
def test_invalid_logout_requests_get_an_error_page_and_no_redirect(
    app, rp, person, receiver, build
):
    other = register(
        scopes=("openid",),
        client_id="other-rp",
        redirect_uris=("https://other.example.ru/cb",),
        post_logout_redirect_uris=["https://other.example.ru/bye"],
    )
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = logout(browser, **build(rp, other, issued))
    assert response.status_code == 400 and "Location" not in response.headers
    assert "The sign-out request is not valid" in text_of(response)
    assert signed_in(browser) and receiver.posts == []
    assert refresh_works(rp, browser, issued["refresh_token"])


def test_the_error_page_still_lets_the_person_sign_out(app, person):
    browser = browser_of(app)
    page = logout(browser, post_logout_redirect_uri=AFTER_LOGOUT)
    assert page.status_code == 400
    response = confirm(browser, page)
    assert response.status_code == 200 and "You are signed out" in text_of(response)
    assert not signed_in(browser)


def test_a_hint_for_another_person_needs_confirmation(app, rp, receiver, make_citizen):
    victim = make_citizen(phone="+79161234567")
    make_citizen(phone="+79161234568")
    victims_browser = browser_of(app, "+79161234567")
    strangers_browser = browser_of(app, "+79161234568")
    victims_tokens = tokens(victims_browser, rp)
    strangers_tokens = tokens(strangers_browser, rp)
    # The stranger's own ID token, as the hint of a link the victim is lured to.
    page = logout(
        victims_browser,
        id_token_hint=strangers_tokens["id_token"],
        post_logout_redirect_uri=AFTER_LOGOUT,
        state="s",
    )
    assert page.status_code == 200 and "Sign out of the portal?" in text_of(page)
    assert victim.full_name in text_of(page)
    assert signed_in(victims_browser) and signed_in(strangers_browser)
    assert receiver.posts == [] and deliveries() == []
    assert refresh_works(rp, victims_browser, victims_tokens["refresh_token"])
    assert refresh_works(rp, strangers_browser, strangers_tokens["refresh_token"])


def test_a_hint_of_an_earlier_session_needs_confirmation(app, rp, person):
    browser = browser_of(app)
    earlier = tokens(browser, rp)
    submit(browser.http, "/cabinet/", action="/logout")
    browser.sign_in()  # a new sign-in: a new session, a new sid
    page = logout(browser, id_token_hint=earlier["id_token"])
    assert page.status_code == 200 and "Sign out of the portal?" in text_of(page)
    assert signed_in(browser)


def test_the_rp_cannot_skip_the_confirmation(app, person):
    browser = browser_of(app)
    response = browser.http.post("/oauth/logout", data={"decision": "sign_out"})
    assert response.status_code == 400
    assert "The form has expired. Confirm once more." in text_of(response)
    assert signed_in(browser)


def test_without_a_portal_session_the_person_is_only_sent_back(app, rp, person, receiver):
    signed_in_elsewhere = browser_of(app)
    issued = tokens(signed_in_elsewhere, rp)
    anonymous = Browser(app)
    response = logout(
        anonymous,
        id_token_hint=issued["id_token"],
        post_logout_redirect_uri=AFTER_LOGOUT,
        state="s",
    )
    assert response.status_code == 302 and response.headers["Location"] == AFTER_LOGOUT + "?state=s"
    # A hint alone ends no session: the browser that sends it has none.
    assert signed_in(signed_in_elsewhere) and receiver.posts == []
    assert logout(anonymous).status_code == 200


def test_ui_locales_choose_the_language_of_the_pages(app, person):
    browser = browser_of(app)
    page = logout(browser, ui_locales="ru-RU en")
    assert page.status_code == 200 and '<html lang="ru">' in page.get_data(as_text=True)
    assert 'name="ui_locales" value="ru-RU en"' in page.get_data(as_text=True)


# --- Back-Channel Logout 1.0 --------------------------------------------------------


def test_oidcc_backchannel_logout_discovery_endpoint_verification(app, client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True


def test_oidcc_backchannel_rp_initiated_logout(app, rp, person, receiver):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    sid = sid_of(issued["id_token"])
    response = logout(
        browser, id_token_hint=issued["id_token"], post_logout_redirect_uri=AFTER_LOGOUT
    )
    assert response.status_code == 302
    [(status, mimetype, form)] = receiver.posts
    assert status == 200
    assert mimetype == "application/x-www-form-urlencoded" and list(form) == ["logout_token"]
    header, _ = verify(form["logout_token"], fetch_jwks(browser.http))
    assert header["alg"] == "RS256"
    check_logout_token(
        form["logout_token"], rp, fetch_jwks(browser.http), sub=person.public_id, sid=sid
    )
    assert not refresh_works(rp, browser, issued["refresh_token"])
    [delivery] = deliveries()
    assert delivery.delivered_at is not None and delivery.attempts == 1
    assert delivery.next_attempt_at is None and delivery.last_error is None


def test_logout_tokens_are_signed_like_the_clients_id_tokens(app, receiver, person):
    rp = register(scopes=("openid",), id_token_alg="ES256", backchannel_logout_uri=receiver.url)
    browser = browser_of(app)
    issued = tokens(browser, rp)
    logout(browser, id_token_hint=issued["id_token"])
    [token] = receiver.delivered
    header, _ = verify(token, fetch_jwks(browser.http))
    assert header["alg"] == "ES256" and header["typ"] == "logout+jwt"
    check_logout_token(
        token, rp, fetch_jwks(browser.http), sub=person.public_id, sid=sid_of(issued["id_token"])
    )


def test_a_client_that_is_down_is_retried_by_the_sweeper(app, rp, person, receiver):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    receiver.status = 500
    response = logout(browser, id_token_hint=issued["id_token"])
    assert response.status_code == 200 and not signed_in(browser)
    [delivery] = deliveries()
    assert delivery.attempts == 1 and delivery.delivered_at is None
    assert delivery.last_error == "answered 500"
    wait = delivery.next_attempt_at - utcnow()
    assert timedelta(seconds=8) < wait <= timedelta(seconds=10)
    receiver.status = 200
    runner = app.test_cli_runner()
    assert "delivered 0" in runner.invoke(args=["logout-deliveries", "resend"]).output
    delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    result = runner.invoke(args=["logout-deliveries", "resend"])
    assert result.exit_code == 0 and "delivered 1 back-channel logout(s)" in result.output
    [token] = receiver.delivered
    check_logout_token(
        token, rp, fetch_jwks(browser.http), sub=person.public_id, sid=sid_of(issued["id_token"])
    )
    [delivery] = deliveries()
    assert delivery.attempts == 2 and delivery.delivered_at is not None
    assert backchannel.deliver_logout(delivery.id) == "skipped"  # never twice


@pytest.mark.parametrize(
    ("answer", "error"),
    [(500, "answered 500"), (400, "answered 400"), (302, "answered 302"), (None, "unreachable")],
)
def test_a_failed_attempt_is_scheduled_again_with_backoff(app, person, receiver, answer, error):
    uri = receiver.url if answer else f"http://127.0.0.1:{free_port()}/backchannel-logout"
    rp = register(scopes=("openid",), backchannel_logout_uri=uri)
    receiver.status = answer or 200
    browser = browser_of(app)
    tokens(browser, rp)
    confirm(browser, logout(browser))  # no hint: confirmed on the page
    [delivery] = deliveries()
    assert delivery.last_error.startswith(error) and delivery.delivered_at is None
    assert len(receiver.posts) == (1 if answer else 0)  # a redirect is not followed
    assert delivery.next_attempt_at - utcnow() <= timedelta(seconds=10)
    delays = []
    for _ in range(8):
        delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        before = utcnow()
        assert backchannel.deliver_due_logouts() == 0
        [delivery] = deliveries()
        delays.append(round((delivery.next_attempt_at - before).total_seconds() / 10) * 10)
    assert delays == [20, 40, 80, 160, 320, 600, 600, 600]


def test_delivery_is_given_up_after_a_day(app, rp, person, receiver, caplog):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    receiver.status = 503
    logout(browser, id_token_hint=issued["id_token"])
    [delivery] = deliveries()
    delivery.created_at -= timedelta(hours=24)
    delivery.next_attempt_at = utcnow()
    db.session.commit()
    with caplog.at_level(logging.WARNING):
        assert backchannel.deliver_due_logouts() == 0
    [delivery] = deliveries()
    assert delivery.next_attempt_at is None and delivery.delivered_at is None
    assert delivery.attempts == 2 and delivery.last_error == "answered 503"
    assert any("given up" in record.getMessage() for record in caplog.records)
    assert backchannel.deliver_due_logouts(now=utcnow() + timedelta(days=1)) == 0


def test_a_client_that_stopped_taking_logouts_is_not_retried(app, rp, person, receiver):
    browser = browser_of(app)
    tokens(browser, rp)
    receiver.status = 500
    confirm(browser, logout(browser))
    client = db.session.execute(sa.select(OAuthClient).filter_by(client_id="diary")).scalar_one()
    client.backchannel_logout_uri = None
    db.session.commit()
    [delivery] = deliveries()
    delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert backchannel.deliver_due_logouts() == 0
    [delivery] = deliveries()
    assert delivery.next_attempt_at is None and delivery.attempts == 1
    assert delivery.last_error == "the client no longer takes back-channel logout"
    assert len(receiver.posts) == 1


def test_only_clients_with_a_backchannel_logout_uri_are_told(app, rp, person, receiver):
    silent = register(scopes=("openid",), client_id="no-backchannel")
    browser = browser_of(app)
    tokens(browser, rp)
    silent_tokens = tokens(browser, silent)
    confirm(browser, logout(browser))
    assert [d.client_id for d in deliveries()] == ["diary"] and len(receiver.delivered) == 1
    # Its tokens of the session are revoked all the same.
    assert not refresh_works(silent, browser, silent_tokens["refresh_token"])


def test_tokens_of_other_sessions_stay_valid(app, rp, person, receiver):
    laptop, phone = browser_of(app), browser_of(app)
    on_laptop, on_phone = tokens(laptop, rp), tokens(phone, rp)
    logout(laptop, id_token_hint=on_laptop["id_token"])
    assert not signed_in(laptop) and signed_in(phone)
    assert not refresh_works(rp, laptop, on_laptop["refresh_token"])
    assert refresh_works(rp, phone, on_phone["refresh_token"])
    [token] = receiver.delivered
    assert verify(token, fetch_jwks(phone.http))[1]["sid"] == sid_of(on_laptop["id_token"])


# --- every end of a portal session --------------------------------------------------


def test_the_portal_sign_out_button_sends_backchannel_logout(app, rp, person, receiver):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = submit(browser.http, "/cabinet/", action="/logout")
    assert response.status_code == 302 and not signed_in(browser)
    [token] = receiver.delivered
    check_logout_token(
        token, rp, fetch_jwks(browser.http), sub=person.public_id, sid=sid_of(issued["id_token"])
    )
    assert not refresh_works(rp, browser, issued["refresh_token"])


def test_sign_out_everywhere_in_the_cabinet_sends_backchannel_logout(app, rp, person, receiver):
    laptop, phone = browser_of(app), browser_of(app)
    on_laptop, on_phone = tokens(laptop, rp), tokens(phone, rp)
    response = submit(laptop.http, "/cabinet/sessions", action="/cabinet/sessions/end-all")
    assert response.status_code == 302 and not signed_in(laptop) and not signed_in(phone)
    key_set = fetch_jwks(laptop.http)
    sids = sorted(verify(token, key_set)[1]["sid"] for token in receiver.delivered)
    # One logout per session, though this browser's session is announced twice.
    assert sids == sorted([sid_of(on_laptop["id_token"]), sid_of(on_phone["id_token"])])
    assert not refresh_works(rp, laptop, on_laptop["refresh_token"])
    assert not refresh_works(rp, phone, on_phone["refresh_token"])


def _row_of(sid: str):
    for row in db.session.execute(sa.select(web_session)):
        if json.loads(row.data).get("sid") == sid:
            return row
    raise AssertionError(f"no session with sid {sid}")


def test_ending_one_session_in_the_cabinet_sends_backchannel_logout(app, rp, person, receiver):
    laptop, phone = browser_of(app), browser_of(app)
    on_laptop, on_phone = tokens(laptop, rp), tokens(phone, rp)
    phone_row = _row_of(sid_of(on_phone["id_token"]))
    action = f"/cabinet/sessions/{phone_row.public_id}/end"
    submit(laptop.http, "/cabinet/sessions", action=action)
    assert signed_in(laptop) and not signed_in(phone)
    [token] = receiver.delivered
    assert verify(token, fetch_jwks(laptop.http))[1]["sid"] == sid_of(on_phone["id_token"])
    assert not refresh_works(rp, phone, on_phone["refresh_token"])
    assert refresh_works(rp, laptop, on_laptop["refresh_token"])


def test_a_password_change_sends_backchannel_logout_for_the_other_sessions(
    app, rp, person, receiver
):
    laptop, phone = browser_of(app), browser_of(app)
    on_laptop, on_phone = tokens(laptop, rp), tokens(phone, rp)
    new = "another-long-phrase"
    submit(
        laptop.http,
        "/cabinet/password",
        {"current": laptop.password, "password": new, "confirm": new},
    )
    assert signed_in(laptop) and not signed_in(phone)
    [token] = receiver.delivered
    assert verify(token, fetch_jwks(laptop.http))[1]["sid"] == sid_of(on_phone["id_token"])
    assert refresh_works(rp, laptop, on_laptop["refresh_token"])


def test_signing_in_again_keeps_the_openid_session(app, rp, person, receiver):
    """prompt=login (or max_age, a step-up) signs the same person in again: the relying
    parties of the session stay bound to it, and its end still reaches them."""
    browser = browser_of(app)
    first = tokens(browser, rp)
    outcome, verifier = browser.authorize(rp, prompt="login")
    assert outcome.pages == ["login"]
    second = rp.exchange(browser.http, outcome.code, verifier).get_json()
    assert sid_of(second["id_token"]) == sid_of(first["id_token"])
    assert refresh_works(rp, browser, first["refresh_token"])
    submit(browser.http, "/cabinet/", action="/logout")
    [token] = receiver.delivered
    assert verify(token, fetch_jwks(browser.http))[1]["sid"] == sid_of(first["id_token"])
    assert not refresh_works(rp, browser, second["refresh_token"])


def test_signing_in_as_someone_else_ends_the_first_persons_session(
    app, rp, person, receiver, make_citizen
):
    make_citizen(phone="+79161234568")
    browser = browser_of(app)
    issued = tokens(browser, rp)
    response = submit(
        browser.http, "/login", {"login": "+79161234568", "password": browser.password}
    )
    assert response.status_code == 302
    [token] = receiver.delivered
    check_logout_token(
        token, rp, fetch_jwks(browser.http), sub=person.public_id, sid=sid_of(issued["id_token"])
    )
    assert not refresh_works(rp, browser, issued["refresh_token"])


def test_a_failing_listener_does_not_keep_a_session_alive(app, person, monkeypatch, caplog):
    def broken(citizen_id, sids):
        raise RuntimeError("listener down")

    monkeypatch.setattr(web_sessions, "SESSIONS_ENDING", [broken])
    browser = browser_of(app)
    with caplog.at_level(logging.ERROR):
        response = submit(browser.http, "/cabinet/", action="/logout")
    assert response.status_code == 302 and sessions_of(person) == 0
    assert any("listener failed" in record.getMessage() for record in caplog.records)


# --- sessions that time out ----------------------------------------------------------


def age_sessions(citizen, *, idle: timedelta = timedelta(0), signed_in: timedelta = timedelta(0)):
    """Move the citizen's sessions back: last activity ``idle`` ago, sign-in earlier."""
    now = utcnow()
    for row in db.session.execute(
        sa.select(web_session).where(web_session.c.user_id == citizen.id)
    ):
        db.session.execute(
            sa.update(web_session)
            .where(web_session.c.id_hash == row.id_hash)
            .values(last_seen_at=now - idle, authenticated_at=row.authenticated_at - signed_in)
        )
    db.session.commit()


def sweep(app) -> str:
    result = app.test_cli_runner().invoke(args=["oidc", "sweep"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    "age",
    [
        {"idle": timedelta(minutes=31)},  # idle past 30 minutes
        {"signed_in": timedelta(hours=12, minutes=1)},  # active, but signed in 12 h ago
    ],
    ids=["idle", "absolute"],
)
def test_a_timed_out_session_is_swept_with_backchannel_logout(app, rp, person, receiver, age):
    """The review's finding: sessions that ended by timeout told no client, so the
    diaries' sessions outlived the portal's. The sweep ends them like a sign-out, even
    when the citizen never comes back."""
    browser = browser_of(app)
    issued = tokens(browser, rp)
    other = browser_of(app)  # a second session, still fresh
    tokens(other, rp)
    fresh_sid = json.loads(_row_of_browser(other).data)["sid"]
    age_sessions(person, **age)
    db.session.execute(  # only the first session is old
        sa.update(web_session)
        .where(web_session.c.data.contains(fresh_sid))
        .values(last_seen_at=utcnow(), authenticated_at=utcnow())
    )
    db.session.commit()

    assert "sessions_ended=1" in sweep(app)

    assert sessions_of(person) == 1
    [token] = receiver.delivered
    check_logout_token(
        token, rp, fetch_jwks(browser.http), sub=person.public_id, sid=sid_of(issued["id_token"])
    )
    assert not refresh_works(rp, browser, issued["refresh_token"])
    assert "sessions_ended=0" in sweep(app)  # once
    assert len(receiver.posts) == 1 and len(deliveries()) == 1
    assert signed_in(other)


def _row_of_browser(browser: Browser):
    cookie = browser.http.get_cookie("portal_session")
    return db.session.execute(
        sa.select(web_session).where(web_session.c.id_hash == hash_sid(cookie.value))
    ).one()


def test_the_request_that_finds_its_session_expired_sends_backchannel_logout(
    app, rp, person, receiver
):
    browser = browser_of(app)
    issued = tokens(browser, rp)
    age_sessions(person, idle=timedelta(minutes=31))

    response = browser.http.get("/cabinet/")

    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert sessions_of(person) == 0
    [token] = receiver.delivered
    assert verify(token, fetch_jwks(browser.http))[1]["sid"] == sid_of(issued["id_token"])
    assert "sessions_ended=0" in sweep(app)
    assert len(receiver.posts) == 1


def test_anonymous_sessions_past_their_timeout_are_deleted_quietly(app, receiver):
    visitor = Browser(app)
    visitor.http.get("/login")  # the CSRF token lives in a session
    db.session.execute(sa.update(web_session).values(last_seen_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    assert "sessions_ended=0" in sweep(app)
    assert db.session.execute(sa.select(sa.func.count()).select_from(web_session)).scalar() == 0
    assert receiver.posts == []


def test_two_sweepers_at_once_end_each_session_and_queue_each_logout_once(
    app, rp, receiver, make_citizen
):
    """Run on PostgreSQL in CI's second pass: both sweepers see the same expired sessions;
    each session is claimed by one of them, and every client gets one logout per session."""
    second = register(scopes=("openid",), client_id="diary-2", backchannel_logout_uri=receiver.url)
    people = [make_citizen(phone=f"+7916123450{n}") for n in range(3)]
    for person in people:
        for _ in range(2):
            browser = browser_of(app, person.phone)
            tokens(browser, rp)
            tokens(browser, second)
        age_sessions(person, idle=timedelta(hours=1))
    start = threading.Barrier(2)
    ended: list[int] = []

    def sweeper() -> None:
        with app.app_context():
            start.wait()
            ended.append(expiry.end_expired_sessions())
            db.session.remove()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(ended) == 6, ended
    assert db.session.execute(sa.select(sa.func.count()).select_from(web_session)).scalar() == 0
    rows = deliveries()
    assert len(rows) == 12 and len({(d.sid, d.client_id) for d in rows}) == 12
    assert len(receiver.delivered) == 12
