"""The cabinet's "applications with access to my data": what each received, and
withdrawing access so that the application's tokens stop working."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity.models import SecurityEvent
from portal.oidc import services as oidc
from portal.oidc.models import ClientConsent
from tests.helpers import forms_of, submit, text_of
from tests.portal.test_admin import authorize, browser_of, exchange

ANNA = "+79160000003"
BORIS = "+79160000004"


@pytest.fixture
def demo_rp(app):
    return oidc.create_client(
        name="Demo RP",
        redirect_uris=["http://127.0.0.1:9999/cb"],
        scopes=["openid", "profile", "email", "phone"],
        client_id="demo-rp",
    )


def signed_in_at_demo_rp(app, phone: str, secret: str) -> tuple[object, dict]:
    """The citizen with ``phone`` signs in at Demo RP (allowing access); returns their
    browser and the tokens the RP received."""
    browser = browser_of(app, phone)
    code, verifier = authorize(browser, "demo-rp", scope="openid profile email")
    tokens = exchange(app.test_client(), "demo-rp", secret, code, verifier)
    assert tokens.status_code == 200, tokens.json
    return browser, tokens.json


def userinfo(app, access_token: str):
    return app.test_client().get(
        "/oauth/userinfo", headers={"Authorization": "Bearer " + access_token}
    )


def refresh(app, refresh_token: str, secret: str):
    return app.test_client().post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=("demo-rp", secret),
    )


def test_the_page_lists_a_client_after_sign_in_and_revoking_stops_its_tokens(
    app, make_citizen, demo_rp
):
    anna = make_citizen(phone=ANNA)
    browser, tokens = signed_in_at_demo_rp(app, ANNA, demo_rp.secret)

    page = text_of(browser.get("/cabinet/applications"))
    assert "Demo RP" in page
    # What it received, in plain words: the consent's scopes, not the client's whole list.
    assert "Your surname, name, patronymic, gender and birth date" in page
    assert "Your e-mail address" in page
    assert "Your mobile phone number" not in page
    assert "Access allowed:" in page and "Last used:" in page

    response = submit(
        browser, "/cabinet/applications", action="/cabinet/applications/demo-rp/revoke"
    )
    assert response.status_code == 302
    after = text_of(browser.get(response.headers["Location"]))
    assert "Access withdrawn" in after and "Demo RP" not in after
    assert "No application has access to your data." in after

    assert userinfo(app, tokens["access_token"]).status_code == 401
    refused = refresh(app, tokens["refresh_token"], demo_rp.secret)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_grant"
    assert db.session.execute(sa.select(ClientConsent)).first() is None

    kinds = db.session.execute(
        sa.select(SecurityEvent.kind)
        .where(SecurityEvent.citizen_id == anna.id)
        .order_by(SecurityEvent.id)
    ).scalars()
    assert [k for k in kinds if k != "login"] == [
        "consent_given",
        "client_sign_in",
        "consent_revoked",
    ]
    log = text_of(browser.get("/cabinet/events"))
    assert "Signed in to a service: Demo RP" in log
    assert "Access to data allowed: Demo RP" in log and "Access to data withdrawn" in log


def test_signing_in_again_after_revoking_asks_for_consent_again(app, make_citizen, demo_rp):
    make_citizen(phone=ANNA)
    browser, _tokens = signed_in_at_demo_rp(app, ANNA, demo_rp.secret)
    submit(browser, "/cabinet/applications", action="/cabinet/applications/demo-rp/revoke")
    again = browser.get(
        "/oauth/authorize",
        query_string={
            "response_type": "code",
            "client_id": "demo-rp",
            "redirect_uri": "http://127.0.0.1:9999/cb",
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )
    assert again.status_code == 200 and "asks for access to your data" in text_of(again)


def test_a_stranger_cannot_revoke_another_citizens_consent(app, make_citizen, demo_rp):
    make_citizen(phone=ANNA)
    make_citizen(phone=BORIS)
    _anna_browser, tokens = signed_in_at_demo_rp(app, ANNA, demo_rp.secret)

    boris = browser_of(app, BORIS)
    assert "Demo RP" not in text_of(boris.get("/cabinet/applications"))
    token = forms_of(boris.get("/cabinet/applications").get_data(as_text=True))[0].fields[
        "csrf_token"
    ]
    response = boris.post("/cabinet/applications/demo-rp/revoke", data={"csrf_token": token})
    assert response.status_code == 404

    assert db.session.execute(sa.select(ClientConsent)).scalar_one().client_id == "demo-rp"
    assert userinfo(app, tokens["access_token"]).status_code == 200


def test_revoking_needs_the_forms_csrf_token(app, make_citizen, demo_rp):
    make_citizen(phone=ANNA)
    browser, tokens = signed_in_at_demo_rp(app, ANNA, demo_rp.secret)
    assert browser.post("/cabinet/applications/demo-rp/revoke").status_code == 400
    assert userinfo(app, tokens["access_token"]).status_code == 200


def test_nothing_to_show_and_signed_out_visitors_are_sent_to_sign_in(app, make_citizen):
    make_citizen(phone=ANNA)
    page = browser_of(app, ANNA).get("/cabinet/applications")
    assert "No application has access to your data." in text_of(page)

    stranger = browser_of(app)
    for response in (
        stranger.get("/cabinet/applications"),
        stranger.post(
            "/cabinet/applications/demo-rp/revoke",
            data={
                "csrf_token": forms_of(stranger.get("/login").get_data(as_text=True))[0].fields[
                    "csrf_token"
                ]
            },
        ),
    ):
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/login"
