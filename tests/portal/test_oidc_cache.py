"""What each server process keeps of the OpenID Provider's clients and keys, and for how
long: a change made by another process (here: straight in the database, as another
server would) is seen within OIDC_CACHE_SECONDS; a change made through the services is
seen at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.oidc import services
from portal.oidc.models import OAuthClient
from shared import cache
from shared.sessions import utcnow
from tests.portal.oidc_helpers import Browser, register, tokens

CACHE_SECONDS = 5


@pytest.fixture
def clock(app, monkeypatch):
    """The caches' clock, moved by hand (the test does not depend on how fast it runs)."""
    now = [1000.0]
    monkeypatch.setattr(cache, "_now", lambda: now[0])
    before = app.config["OIDC_CACHE_SECONDS"]
    app.config["OIDC_CACHE_SECONDS"] = CACHE_SECONDS
    yield now
    app.config["OIDC_CACHE_SECONDS"] = before


def test_a_client_disabled_by_another_process_is_refused_within_the_cache_time(
    app, clock, make_citizen
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
    clock[0] += CACHE_SECONDS - 1
    assert tokens(browser, rp)["access_token"]
    clock[0] += 2
    # ...after it, the client is unknown: a page, no redirect back to it.
    outcome, _verifier = browser.authorize(rp)
    assert outcome.params is None and outcome.response.status_code == 400


def test_a_client_disabled_here_is_refused_at_once(app, clock, make_citizen):
    make_citizen(phone="+79161234567", password="violet-harbour-lamp")
    rp = register(scopes=("openid",))
    browser = Browser(app, "+79161234567", "violet-harbour-lamp")
    browser.sign_in()
    tokens(browser, rp)
    services.disable_client(rp.client_id)
    outcome, _verifier = browser.authorize(rp)
    assert outcome.params is None and outcome.response.status_code == 400
