"""The portal's own metrics (portal/metrics.py) move where the things happen: sign-ins by
outcome, tokens by grant, registry requests and answers, back-channel logouts, and the
queue depths read at scrape time. Each test reads ``/metrics`` before and after, as
Prometheus would, and compares."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pyotp
import pytest
import redis

from portal import create_app as create_portal
from portal.extensions import db
from portal.federation.models import FederationMessage
from portal.identity import changes, factors, services
from portal.oidc import backchannel
from portal.oidc.models import LogoutDelivery
from portal.proofing import registry
from portal.proofing.models import VerificationCheck
from shared.sessions import utcnow
from tests.conftest import LiveServer, portal_config
from tests.helpers import submit
from tests.observability_helpers import scrape
from tests.portal.factories import make_standard
from tests.portal.oidc_helpers import Browser, register, tokens

ORIGIN = services.Origin(ip="127.0.0.1", user_agent="pytest")
PHONE = "+79161239901"
PASSWORD = "violet-harbour-lamp"


class Delta:
    """``/metrics`` now, and later the change of any sample."""

    def __init__(self, client):
        self.client = client
        self.before = scrape(client)

    def __call__(self, name: str, **labels: str) -> float:
        return scrape(self.client).value(name, **labels) - self.before.value(name, **labels)


def test_sign_ins_are_counted_by_outcome(client, make_citizen):
    citizen = make_citizen(phone=PHONE, password=PASSWORD)
    delta = Delta(client)
    assert submit(client, "/login", {"login": PHONE, "password": PASSWORD}).status_code == 302
    wrong = submit(client.application.test_client(), "/login", {"login": PHONE, "password": "x"})
    assert wrong.status_code == 422
    with pytest.raises(services.InvalidCredentials):
        services.authenticate("+79160000000", PASSWORD, ORIGIN)
    citizen.locked_until = utcnow() + timedelta(minutes=5)
    db.session.commit()
    with pytest.raises(services.InvalidCredentials):
        services.authenticate(PHONE, PASSWORD, ORIGIN)

    assert delta("portal_sign_ins_total", outcome="success") == 1
    assert delta("portal_sign_ins_total", outcome="bad_password") == 1
    assert delta("portal_sign_ins_total", outcome="unknown_account") == 1
    assert delta("portal_sign_ins_total", outcome="locked") == 1
    assert delta("http_requests_total", app="portal", method="POST", endpoint="identity.login",
                 status="302") == 1  # fmt: skip


def test_a_failed_second_factor_is_counted(app, make_citizen):
    citizen = make_citizen()
    secret = factors.new_totp_secret()
    changes.enable_totp(citizen, secret, pyotp.TOTP(secret).now(), ORIGIN)
    delta = Delta(app.test_client())
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(citizen, "000000", None, ORIGIN)
    assert delta("portal_sign_ins_total", outcome="second_factor_failed") == 1


def test_tokens_are_counted_by_grant_type(app, make_citizen):
    make_citizen(phone=PHONE, password=PASSWORD)
    rp = register()
    browser = Browser(app, PHONE)
    browser.sign_in()
    delta = Delta(app.test_client())
    body = tokens(browser, rp)
    assert rp.refresh(browser.http, body["refresh_token"]).status_code == 200
    assert delta("portal_tokens_issued_total", grant_type="authorization_code") == 1
    assert delta("portal_tokens_issued_total", grant_type="refresh_token") == 1


def test_registry_requests_and_answers_are_counted(app, proofing, make_citizen):
    delta = Delta(app.test_client())
    make_standard(make_citizen)  # SNILS to СФР, the passport to МВД; both approve
    for name in ("sfr", "mvd"):
        assert delta("portal_registry_requests_total", registry=name, outcome="accepted") == 1
        assert delta("portal_registry_answers_total", registry=name, result="approved") == 1
    registry_url, key = app.config["REGISTRY_URL"], app.config["REGISTRY_KEY"]
    try:
        app.config["REGISTRY_KEY"] = "not-the-registry-key"  # the simulator refuses (4xx)
        with pytest.raises(registry.RegistryRefused):
            registry.submit("zags", str(uuid.uuid4()), {})
        app.config["REGISTRY_URL"] = "http://127.0.0.1:9"
        with pytest.raises(registry.RegistryUnavailable):
            registry.submit("zags", str(uuid.uuid4()), {})
    finally:
        app.config["REGISTRY_URL"], app.config["REGISTRY_KEY"] = registry_url, key
    assert delta("portal_registry_requests_total", registry="zags", outcome="refused") == 1
    assert delta("portal_registry_requests_total", registry="zags", outcome="unavailable") == 1


def _answer_ok(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b""]


def test_back_channel_logouts_are_counted_by_outcome(app):
    with LiveServer(_answer_ok) as live:
        up = register(backchannel_logout_uri=live.url + "/logout", name="Дневник А")
        down = register(backchannel_logout_uri="http://127.0.0.1:9/logout", name="Дневник Б")
        now = utcnow()
        rows = [
            LogoutDelivery(client_id=up.client_id, sid="s1", sub="sub-1", next_attempt_at=now),
            LogoutDelivery(client_id=down.client_id, sid="s2", sub="sub-1", next_attempt_at=now),
            LogoutDelivery(
                client_id=down.client_id,
                sid="s3",
                sub="sub-1",
                next_attempt_at=now,
                created_at=now - timedelta(hours=25),
            ),
        ]
        db.session.add_all(rows)
        db.session.commit()
        delta = Delta(app.test_client())
        outcomes = [backchannel.deliver_logout(row.id) for row in rows]
    assert outcomes == ["delivered", "retry", "gave_up"]
    assert delta("portal_backchannel_logout_deliveries_total", outcome="delivered") == 1
    assert delta("portal_backchannel_logout_deliveries_total", outcome="failed") == 2
    assert delta("portal_backchannel_logout_deliveries_total", outcome="gave_up") == 1


def test_queue_depths_are_read_when_scraped(app, make_citizen):
    citizen = make_citizen()
    now = utcnow()
    pending = FederationMessage(event="x", target="diary", key="1", data={}, next_attempt_at=now)
    done = FederationMessage(event="x", target="diary", key="2", data={}, delivered_at=now)
    db.session.add_all(
        [
            pending,
            done,
            LogoutDelivery(client_id="c", sid="s1", sub="p", next_attempt_at=now),
            LogoutDelivery(client_id="c", sid="s2", sub="p", next_attempt_at=now),
            LogoutDelivery(client_id="c", sid="s3", sub="p", delivered_at=now),
            VerificationCheck(citizen_id=citizen.id, kind="snils", registry_code="sfr"),
            VerificationCheck(
                citizen_id=citizen.id, kind="passport", registry_code="mvd", status="pending"
            ),
        ]
    )
    db.session.commit()
    samples = scrape(app.test_client())
    depth = {
        queue: samples.value("job_queue_depth", app="portal", queue=queue)
        for queue in ("federation_message", "logout_delivery", "verification_check")
    }
    assert depth == {"federation_message": 1, "logout_delivery": 2, "verification_check": 1}
    # Jobs run in process here: no Celery queue to measure.
    assert "jobs" not in samples.label_values("job_queue_depth", "queue")


@pytest.mark.worker
def test_the_celery_queue_length_in_redis(portal_app, inbox, tmp_path):
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("set TEST_REDIS_URL to measure a Celery queue in Redis")
    queue = f"test-depth-{uuid.uuid4().hex}"
    app = create_portal(
        portal_config(
            tmp_path,
            inbox,
            DATABASE_URL=portal_app.config["DATABASE_URL"],
            REDIS_URL=redis_url,
            JOB_QUEUE=queue,
        )
    )
    try:
        with app.app_context():  # no worker listens on this queue: the jobs wait
            for n in range(3):
                app.extensions["celery"].tasks["portal.deliver_message"].delay(
                    "sms", f"+7916555000{n}", "", "waits"
                )
        samples = scrape(app.test_client())
        assert samples.value("job_queue_depth", app="portal", queue="jobs") == 3
    finally:
        redis.Redis.from_url(redis_url).delete(queue)
        with app.app_context():
            db.engine.dispose()
