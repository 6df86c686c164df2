"""Seeing the apps run (issue 15): metrics, JSON logs with a request id, readiness.

Real parts throughout: the apps' own test clients and live servers, a real gunicorn with
the checked-in configuration for the multiprocess totals, the simulator's SMS gateway as
a real HTTP peer. A service that is "down" is an address nothing listens on (port 9) or a
socket that accepts and never answers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from diary_service import create_app as create_diary
from portal import create_app as create_portal
from portal.identity.tasks import DELIVER_MESSAGE
from portal.oidc.backchannel import post_logout_token
from portal.proofing import registry
from shared import federation, tracing
from shared.jobs import enqueue
from shared.logs import redact
from shared.notifications import send_sms
from tests.conftest import ROOT, SECRETS, LiveServer, free_port, portal_config
from tests.helpers import submit
from tests.observability_helpers import json_logs, parse_metrics, scrape

CLOSED = "127.0.0.1:9"  # nothing listens on the discard port here
REQUEST_ID = "diary-req-0123456789abcdef"


@pytest.fixture
def throwaway() -> Iterator:
    """``throwaway(app)``: an app made for one test, its database connections closed
    after it."""
    made = []
    yield lambda app: made.append(app) or app
    for app in made:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


# --- the request id -------------------------------------------------------------------


def test_every_answer_carries_a_request_id_and_a_well_formed_one_is_kept(client):
    fresh = client.get("/healthz").headers["X-Request-ID"]
    again = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh) and fresh != again
    kept = client.get("/healthz", headers={"X-Request-ID": REQUEST_ID})
    assert kept.headers["X-Request-ID"] == REQUEST_ID


@pytest.mark.parametrize(
    "given",
    ["short", "x" * 129, "has spaces in it", "quote\"and'more", "снилс-112-233-445-95", ""],
)
def test_a_malformed_request_id_is_replaced(client, given):
    with json_logs() as logs:
        answer = client.get("/", headers={"X-Request-ID": given})
    replaced = answer.headers["X-Request-ID"]
    assert replaced != given and re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert given not in logs.text or not given
    assert [line["request_id"] for line in logs.requests()] == [replaced]


# --- the JSON request line ----------------------------------------------------------------


def test_one_json_line_per_request_with_endpoint_status_time_and_the_signed_in_user(
    client, make_citizen
):
    citizen = make_citizen(phone="+79161230001", password="violet-harbour-lamp")
    with json_logs() as logs:
        signed_in = submit(
            client,
            "/login?login_hint=%2B79161230001",
            {"login": "+79161230001", "password": "violet-harbour-lamp"},
            headers={"X-Request-ID": REQUEST_ID},
        )
        client.get("/no/such/page/k7q9z")
    assert signed_in.status_code == 302
    get_login, post_login, missing = logs.requests()
    assert get_login["endpoint"] == "identity.login" and get_login["status"] == 200
    assert "user_id" not in get_login
    assert get_login["request_id"] == post_login["request_id"] == REQUEST_ID
    assert post_login["message"] == "POST identity.login 302"
    assert post_login["app"] == "portal" and post_login["level"] == "info"
    assert post_login["user_id"] == citizen.id
    assert isinstance(post_login["duration_ms"], float) and post_login["duration_ms"] > 0
    assert missing["endpoint"] == "unmatched" and missing["status"] == 404
    # Neither the phone, nor the password, nor paths and query strings reach the log.
    for secret in ("79161230001", "violet-harbour-lamp", "/no/such", "login_hint", "k7q9z"):
        assert secret not in logs.text


def test_app_records_are_json_with_the_request_id(app):
    with json_logs() as logs, app.test_request_context(), tracing.bound(REQUEST_ID, "portal"):
        app.logger.warning("registry %s unavailable; check %s retried later", "sfr", 42)
    (line,) = logs.all()
    assert line["message"] == "registry sfr unavailable; check 42 retried later"
    assert line["request_id"] == REQUEST_ID and line["app"] == "portal"
    assert line["logger"] == "portal" and line["level"] == "warning"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])


# --- redaction ------------------------------------------------------------------------------

LEAKS = [
    ("snils", "СНИЛС 112-233-445 95 уже занят", "112-233-445 95"),
    ("snils unformatted", "duplicate snils 11223344595 refused", "11223344595"),
    ("passport", "паспорт 4506 123456 не найден", "123456"),
    ("passport spaced", "passport 45 06 654321 rejected", "654321"),
    ("birth certificate", "свидетельство IV-МЮ 765432 не подтверждено", "765432"),
    ("code after the word", "Ваш код подтверждения: 482913", "482913"),
    ("code before the word", "382914 is your code, it confirms sign-in", "382914"),
    (
        "code in a query",
        "callback /auth/callback?code=SplxlOBeZQQYbYS6&state=abc",
        "SplxlOBeZQQYbYS6",
    ),
    ("password", "form data password=hunter2-secret! rejected", "hunter2-secret"),
    ("password in JSON", 'payload {"password": "s3cr3t-pw", "login": "x"}', "s3cr3t-pw"),
    ("bearer", "Authorization: Bearer sk_live_abcdef123456", "sk_live_abcdef123456"),
    (
        "jwt",
        "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ refused",
        "eyJzdWIiOiIxMjMifQ",
    ),
    ("refresh token", "refresh_token=Zm9vYmFyYmF6cXV4 reused", "Zm9vYmFyYmF6cXV4"),
    ("phone", "sms to +79161234567 failed", "9161234567"),
]


@pytest.mark.parametrize(("case", "message", "secret"), LEAKS, ids=[c[0] for c in LEAKS])
def test_personal_data_and_secrets_are_masked_in_any_log_line(case, message, secret):
    logger = logging.getLogger("portal.test")
    with json_logs() as logs:
        logger.warning(message)
        logger.warning("%s", message)  # through an argument as well
        try:
            raise ValueError(message)
        except ValueError:
            logger.exception("it failed")
        logger.warning("fields", extra={"fields": {"detail": message}})
    assert secret not in logs.text, logs.text
    lines = logs.all()
    assert len(lines) == 4 and lines[2]["error"].startswith("Traceback")


def test_ordinary_text_is_left_alone():
    for text in (
        "check 42 retried in 10 s",
        "back-channel logout 7 to diary-demo-region failed (answered 503); retried later",
        "GET identity.login 200",
        "sign-in through the portal refused: OAuth error invalid_request",
    ):
        assert redact(text) == text


# --- /metrics -------------------------------------------------------------------------------


def test_metrics_count_requests_per_endpoint_with_a_histogram(client):
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    after = scrape(client)

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    ok = {"app": "portal", "method": "GET", "endpoint": "health.healthz", "status": "200"}
    assert delta("http_requests_total", **ok) == 3
    assert (
        delta("http_request_duration_seconds_count", app="portal", endpoint="health.healthz") == 3
    )
    assert after.value(
        "http_request_duration_seconds_bucket", app="portal", endpoint="health.healthz", le="+Inf"
    ) == after.value("http_request_duration_seconds_count", app="portal", endpoint="health.healthz")
    missing = {"app": "portal", "method": "GET", "endpoint": "unmatched", "status": "404"}
    assert delta("http_requests_total", **missing) == 2
    # Ids in paths never become labels.
    assert not any("/" in value for value in after.label_values("http_requests_total", "endpoint"))


def test_metrics_answer_only_to_local_addresses(client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    away = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert away.status_code == 404 and b"http_requests" not in away.data
    # No proxy is trusted here: a forwarded request came through one the app cannot
    # see past, whatever its peer address.
    forwarded = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert forwarded.status_code == 404


@pytest.fixture
def proxied_portal(portal_app, inbox, tmp_path, throwaway):
    """The portal as production runs it: behind one proxy that sets X-Forwarded-For,
    with the Prometheus server's network allowed."""
    config = portal_config(
        tmp_path,
        inbox,
        DATABASE_URL=portal_app.config["DATABASE_URL"],
        TRUSTED_PROXIES=1,
        METRICS_ALLOWED_NETWORKS=["127.0.0.0/8", "10.20.0.0/24"],
    )
    return throwaway(create_portal(config))


def test_metrics_behind_a_proxy_judge_the_forwarded_address(proxied_portal):
    client = proxied_portal.test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    outside = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base=proxy)
    assert outside.status_code == 404
    # A client cannot claim to be local: the proxy appends the address it saw.
    spoofed = client.get(
        "/metrics", headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.7"}, environ_base=proxy
    )
    assert spoofed.status_code == 404
    scraper = client.get("/metrics", headers={"X-Forwarded-For": "10.20.0.5"}, environ_base=proxy)
    assert scraper.status_code == 200 and b"http_requests_total" in scraper.data
    direct = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.0.9"})
    assert direct.status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.1.9"}).status_code == 404


# --- readiness ----------------------------------------------------------------------------


def test_readiness_is_degraded_when_redis_is_down(portal_app, inbox, tmp_path, throwaway):
    """Redis down leaves the instance in (every instance shares it, and the portal goes
    on serving: tests/portal/test_redis_outage.py) but says so, and logs it once."""
    app = throwaway(
        create_portal(
            portal_config(
                tmp_path,
                inbox,
                DATABASE_URL=portal_app.config["DATABASE_URL"],
                REDIS_URL=f"redis://{CLOSED}/0",
                RATELIMIT_STORAGE_URI="memory://",
            )
        )
    )
    with json_logs() as logs:
        first = app.test_client().get("/readyz")
        second = app.test_client().get("/readyz")
    assert first.status_code == 200
    assert first.json == {"status": "degraded", "checks": {"database": "ok", "redis": "down"}}
    assert second.status_code == 200
    # The change of state is logged once, not at every probe.
    warnings = [line for line in logs.all() if line["message"].startswith("readiness:")]
    assert len(warnings) == 1 and "redis is down" in warnings[0]["message"]


def test_readiness_without_redis_configured(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ok", "checks": {"database": "ok", "redis": "not configured"}}


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL")
def test_readiness_with_redis_up(portal_app, inbox, tmp_path, throwaway):
    app = throwaway(
        create_portal(
            portal_config(
                tmp_path,
                inbox,
                DATABASE_URL=portal_app.config["DATABASE_URL"],
                REDIS_URL=os.environ["TEST_REDIS_URL"],
            )
        )
    )
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["redis"] == "ok"


class FakePortal:
    """Stands in for the portal's /readyz: counts the probes, answers ``status``."""

    def __init__(self):
        self.hits = 0
        self.status = "200 OK"
        self.request_ids: list[str | None] = []

    def __call__(self, environ, start_response):
        self.hits += 1
        self.request_ids.append(environ.get("HTTP_X_REQUEST_ID"))
        start_response(self.status, [("Content-Type", "application/json")])
        return [b'{"status": "ok"}']


@pytest.fixture
def make_diary(diary_app, throwaway):
    """A diary on the session's database with other settings."""

    def make(**config):
        return throwaway(
            create_diary(
                {
                    "ENV": "test",
                    "SECRET_KEY": SECRETS["SECRET_KEY"],
                    "DATABASE_URL": diary_app.config["DATABASE_URL"],
                    **config,
                }
            )
        )

    return make


def test_the_diary_stays_in_when_the_portal_is_down(make_diary):
    diary = make_diary(PORTAL_URL=f"http://{CLOSED}")
    ready = diary.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "not configured", "portal": "down"},
    }


def test_the_diary_asks_the_portal_at_most_every_few_seconds(make_diary):
    portal = FakePortal()
    with LiveServer(portal) as live:
        diary = make_diary(PORTAL_URL=live.url, READINESS_PORTAL_CACHE=60)
        client = diary.test_client()
        first = client.get("/readyz", headers={"X-Request-ID": REQUEST_ID})
        second = client.get("/readyz")
        assert first.json["checks"]["portal"] == "ok" and first.json["status"] == "ok"
        assert second.json == first.json
        assert portal.hits == 1 and portal.request_ids == [REQUEST_ID]

        # A portal that took itself out (503) is "down" for the diary once the cache ends.
        portal.status = "503 Service Unavailable"
        uncached = make_diary(PORTAL_URL=live.url, READINESS_PORTAL_CACHE=0)
        answer = uncached.test_client().get("/readyz")
        assert answer.status_code == 200 and answer.json["status"] == "degraded"
        assert answer.json["checks"]["portal"] == "down"


def _trickle(server: socket.socket, stop: threading.Event) -> None:
    """Answer one request a byte every 0.1 s: never silent long enough for a socket
    timeout, yet seconds from a whole answer."""
    connection, _ = server.accept()
    with connection:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
            if stop.wait(0.1):
                return
            connection.sendall(bytes([byte]))


def test_a_check_that_hangs_is_down_within_the_time_bound(make_diary):
    stop = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        threading.Thread(target=_trickle, args=(server, stop), daemon=True).start()
        diary = make_diary(PORTAL_URL=f"http://127.0.0.1:{port}", READINESS_TIMEOUT=0.5)
        started = time.monotonic()
        answer = diary.test_client().get("/readyz")
        elapsed = time.monotonic() - started
        stop.set()
    assert answer.json["checks"]["portal"] == "down" and answer.status_code == 200
    assert elapsed < 1.5


# --- the request id on outgoing calls and in jobs ------------------------------------------


class Recorder:
    """An HTTP peer that keeps the request ids it was sent."""

    def __init__(self, body: bytes = b"{}"):
        self.request_ids: list[str | None] = []
        self.body = body

    def __call__(self, environ, start_response):
        self.request_ids.append(environ.get("HTTP_X_REQUEST_ID"))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [self.body]


def test_outgoing_calls_carry_the_request_id(app):
    peer = Recorder()
    registry_url = app.config["REGISTRY_URL"]
    with LiveServer(peer) as live, tracing.bound(REQUEST_ID, "portal"):
        federation.post(live.url + "/federation/events", b"{}", {}, timeout=5)
        federation.get_json(live.url + "/federation/schools", timeout=5)
        post_logout_token(live.url + "/auth/backchannel-logout", "token", timeout=5)
        app.config["REGISTRY_URL"] = live.url
        try:
            registry.submit("sfr", "check-1", {"snils": "112-233-445 95"})
        finally:
            app.config["REGISTRY_URL"] = registry_url
    assert peer.request_ids == [REQUEST_ID] * 4
    # Outside any request or job nothing is added.
    quiet = Recorder()
    with LiveServer(quiet) as live:
        federation.get_json(live.url + "/", timeout=5)
    assert quiet.request_ids == [None]


def test_a_job_runs_under_the_request_id_of_the_request_that_queued_it(app, inbox):
    with json_logs() as logs, tracing.bound(REQUEST_ID, "portal"):
        enqueue(DELIVER_MESSAGE, "sms", "+79165550101", "", "hello from a job")
    assert inbox.wait_for("+79165550101")
    (job,) = [line for line in logs.all() if line["logger"] == "portal.job"]
    assert job["request_id"] == REQUEST_ID and job["job"] == DELIVER_MESSAGE
    assert job["outcome"] == "done" and job["app"] == "portal"
    # ... and the SMS gateway (the simulator, over HTTP) was called with it.
    (gateway,) = logs.requests(app="simulator", method="POST")
    assert gateway["request_id"] == REQUEST_ID


def test_the_sms_gateway_call_carries_the_request_id(app, inbox):
    with json_logs() as logs, tracing.bound(REQUEST_ID, "portal"):
        send_sms("+79165550102", "hello")
    (line,) = logs.requests(app="simulator")
    assert line["request_id"] == REQUEST_ID and line["endpoint"] == "inbox.sms_gateway"


# --- gunicorn: totals across worker processes -----------------------------------------------


def _get(url: str, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


@pytest.fixture
def gunicorn_portal(tmp_path, inbox) -> Iterator[tuple[str, Path, Path]]:
    """The portal under gunicorn with config/gunicorn.py: two workers, each replaced
    after a few requests, so the count spans several (dead and live) processes."""
    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "PROMETHEUS_"))
    }
    for key, value in portal_config(tmp_path, inbox).items():
        env[f"PORTAL_{key}"] = value if isinstance(value, str) else json.dumps(value)
    env.update(
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        WEB_CONCURRENCY="2",
        GUNICORN_CMD_ARGS="--max-requests 4 --max-requests-jitter 0",
    )
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(ROOT / "config" / "gunicorn.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "portal:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start:\n" + log_path.read_text())
                time.sleep(0.2)
        yield url, metrics_dir, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_gunicorn_workers_sum_to_the_true_totals(gunicorn_portal):
    url, metrics_dir, log_path = gunicorn_portal
    answered = 0
    for n in range(20):
        for _attempt in range(20):  # a worker being replaced refuses for a moment
            try:
                status = _get(url + "/no-such-page", {"X-Request-ID": f"gunicorn-test-{n:04d}"})
                break
            except OSError:
                time.sleep(0.1)
        assert status == 404
        answered += 1
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        samples = parse_metrics(response.read().decode())
    missing = {"app": "portal", "method": "GET", "endpoint": "unmatched", "status": "404"}
    assert samples.value("http_requests_total", **missing) == answered == 20
    assert (
        samples.value("http_request_duration_seconds_count", app="portal", endpoint="unmatched")
        == 20
    )
    # Several processes wrote values (workers are replaced every 4 requests), and what an
    # earlier run left was cleared at start.
    writers = {path.name.rsplit("_", 1)[1] for path in metrics_dir.glob("*.db")}
    assert len(writers) >= 3 and "1.db" not in writers

    # A non-local client gets nothing, here as in the app's tests.
    assert _get(url + "/metrics", {"X-Forwarded-For": "203.0.113.7"}) == 404
    # The workers' request lines are JSON with the request ids.
    time.sleep(0.2)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    ids = {line.get("request_id") for line in lines if line.get("endpoint") == "unmatched"}
    assert ids == {f"gunicorn-test-{n:04d}" for n in range(20)}
    assert any(line["logger"] == "gunicorn.error" for line in lines)
