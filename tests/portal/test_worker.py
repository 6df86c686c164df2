"""Jobs through Redis and a real Celery worker process (the CI's second pass)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from portal import create_app
from portal.identity import notifications
from shared import tracing
from tests.conftest import ROOT, portal_config

pytestmark = pytest.mark.worker


@pytest.fixture
def worker_app(tmp_path, simulator, inbox):
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        if os.environ.get("CI_REQUIRE_SERVICES"):
            pytest.fail("TEST_REDIS_URL is required in this run")
        pytest.skip("set TEST_REDIS_URL to run a real Celery worker (the CI's second pass does)")
    queue = f"test-{uuid.uuid4().hex}"
    config = portal_config(tmp_path, inbox, REDIS_URL=redis_url, JOB_QUEUE=queue)
    app = create_app(config)
    env = dict(os.environ)
    for key, value in config.items():
        env[f"PORTAL_{key}"] = value if isinstance(value, str) else json.dumps(value)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal.worker",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield app
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def test_messages_are_delivered_by_a_worker_through_redis(worker_app, inbox):
    assert not worker_app.extensions["celery"].conf.task_always_eager
    with worker_app.app_context():
        notifications.send_code("email", "worker@example.ru", "654321", "register")
        notifications.send_code("sms", "+79165550000", "123987", "login")
    email = inbox.wait_for("worker@example.ru", timeout=60)
    sms = inbox.wait_for("+79165550000", timeout=60)
    assert email and "654321" in email[0]["body"]
    assert sms and "123987" in sms[0]["body"]


def test_a_job_logs_in_json_under_the_request_id_that_queued_it(worker_app, inbox, tmp_path):
    request_id = "worker-test-0123456789abcdef"
    with worker_app.app_context(), tracing.bound(request_id, "portal"):
        notifications.send_code("sms", "+79165550001", "271828", "login")
    assert inbox.wait_for("+79165550001", timeout=60)
    lines, deadline = [], time.monotonic() + 10
    while not any(line.get("logger") == "portal.job" for line in lines):
        assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
        time.sleep(0.2)
        text = (tmp_path / "worker.log").read_text()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    (job,) = [line for line in lines if line.get("logger") == "portal.job"]
    assert job["request_id"] == request_id and job["job"] == "portal.deliver_message"
    assert job["outcome"] == "done" and job["app"] == "portal"
    # The code itself went to the gateway, not into the worker's log.
    assert "271828" not in text
