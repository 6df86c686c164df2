"""What each server process keeps of the OpenID Provider's clients and keys, and for how
long: a change made by another process (here: straight in the database, as another
server would) is seen within OIDC_CACHE_SECONDS; a change made through the services is
seen at once."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.oidc import services
from portal.oidc.models import OAuthClient
from shared.sessions import utcnow
from tests.portal.oidc_helpers import Browser, register, tokens

CACHE_SECONDS = 0.5


@pytest.fixture
def short_cache(app):
    before = app.config["OIDC_CACHE_SECONDS"]
    app.config["OIDC_CACHE_SECONDS"] = CACHE_SECONDS
    yield
    app.config["OIDC_CACHE_SECONDS"] = before


def test_a_client_disabled_by_another_process_is_refused_within_the_cache_time(
    app, short_cache, make_citizen
):
    make_citizen(phone="+79161234567", password="violet-harbour-lamp")
    rp = register(scopes=("openid",))
    browser = Browser(app, "+79161234567", "violet-harbour-lamp")
    browser.sign_in()
    tokens(browser, rp)  # the client is now cached by this process
    db.session.execute(
        sa.update(OAuthClient)
        .where(OAuthClient.client_id == rp.client_id)
        .values(disabled_at=utcnow())
    )
    db.session.commit()
    # Within the cache time this process still knows the client...
    assert tokens(browser, rp)["access_token"]
    time.sleep(CACHE_SECONDS + 0.1)
    # ...after it, the client is unknown: a page, no redirect back to it.
    outcome, _verifier = browser.authorize(rp)
    assert outcome.params is None and outcome.response.status_code == 400


def test_a_client_disabled_here_is_refused_at_once(app, short_cache, make_citizen):
    app.config["OIDC_CACHE_SECONDS"] = 3600
    make_citizen(phone="+79161234567", password="violet-harbour-lamp")
    rp = register(scopes=("openid",))
    browser = Browser(app, "+79161234567", "violet-harbour-lamp")
    browser.sign_in()
    tokens(browser, rp)
    services.disable_client(rp.client_id)
    outcome, _verifier = browser.authorize(rp)
    assert outcome.params is None and outcome.response.status_code == 400
