"""Redis down (issue 15's drill, redis-stop): signing in goes on, and so does a request
that saved work for a job. The rate limits' storage is unreachable, so they fall back to
the process's memory (config/portal.toml: RATELIMIT_IN_MEMORY_FALLBACK_ENABLED,
RATELIMIT_SWALLOW_ERRORS) instead of turning every sign-in into a 500; a job that cannot
be queued leaves its outbox row to the periodic retry. Run in a fresh interpreter: the
limiter is one object per process, and pointing it at a dead Redis must not touch the
other tests' portal."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, SECRETS, free_port

SCRIPT = """
import json, sys
from portal import create_app
from portal.extensions import db
from portal.identity import services as identity
from tests.helpers import forms_of

config = json.loads(sys.argv[1])
app = create_app(config)
with app.app_context():
    db.create_all()
    identity.create_citizen(password="violet-harbour-lamp", surname="Иванова",
                            given_name="Мария", phone="+79160000001")

def sign_in(password):
    client = app.test_client()
    page = client.get("/login")
    form = next(f for f in forms_of(page.get_data(as_text=True)) if "password" in f.fields)
    data = {**form.fields, "login": "+79160000001", "password": password}
    return client.post("/login", data=data).status_code

print(json.dumps({"wrong": sign_in("wrong-password-1"), "right": sign_in("violet-harbour-lamp")}))
"""


def test_sign_in_goes_on_while_the_rate_limits_redis_is_down(tmp_path):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    config = {
        "ENV": "test",
        **SECRETS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "REDIS_URL": "",
        "RATELIMIT_STORAGE_URI": dead,
        "SMTP_PORT": free_port(),
        "SMS_GATEWAY_URL": f"http://127.0.0.1:{free_port()}/",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    # The usual answers: the generic error for a wrong password, into the cabinet for
    # the right one; never a 500.
    assert answers == {"wrong": 422, "right": 302}


OUTBOX_SCRIPT = """
import json, sys
import sqlalchemy as sa
from portal import create_app
from portal.extensions import db
from portal.federation.models import FederationMessage
from portal.federation.services import send_to_diary
from shared.sessions import utcnow

app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    db.create_all()
    try:
        send_to_diary("application.submitted", "diary-region", "application-1", {"id": "1"})
        outcome = "saved"
    except Exception as error:
        outcome = f"raised {type(error).__name__}"
    db.session.rollback()
    rows = db.session.execute(sa.select(FederationMessage)).scalars().all()
    due = [m.key for m in rows if m.delivered_at is None and m.next_attempt_at <= utcnow()]
print(json.dumps({"outcome": outcome, "due": due}))
"""


def test_a_message_to_the_diary_is_kept_for_the_retry_while_the_brokers_redis_is_down(tmp_path):
    """A service application (or any message to a diary) saved while Redis, the jobs'
    broker, is down: its first attempt cannot be queued, and the request goes on (the
    drill's parents got a 500 after their application was saved); the outbox row is due
    for the periodic retry that sends it once Redis is back."""
    config = {
        "ENV": "test",
        **SECRETS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "RATELIMIT_STORAGE_URI": "memory://",
        "SMTP_PORT": free_port(),
        "SMS_GATEWAY_URL": f"http://127.0.0.1:{free_port()}/",
    }
    done = subprocess.run(
        [sys.executable, "-c", OUTBOX_SCRIPT, json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "outcome": "saved",
        "due": ["application-1"],
    }
    assert "not queued (OperationalError)" in done.stdout + done.stderr


CHECK_SCRIPT = """
import json, sys
from portal import create_app
from portal.extensions import db
from portal.identity import services as identity
from portal.proofing import services  # registers the SNILS check
from portal.proofing.checks import start_check
from portal.proofing.models import VerificationCheck
from shared.sessions import utcnow

app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    db.create_all()
    citizen = identity.create_citizen(password="violet-harbour-lamp", surname="Иванова",
                                      given_name="Мария", phone="+79160000001")
    try:
        start_check(citizen.id, "snils")
        outcome = "saved"
    except Exception as error:
        outcome = f"raised {type(error).__name__}"
    db.session.rollback()
    due = [c.kind for c in db.session.query(VerificationCheck)
           if c.status == "queued" and c.next_attempt_at <= utcnow()]
print(json.dumps({"outcome": outcome, "due": due}))
"""


def test_a_registry_check_is_kept_for_the_resend_while_the_brokers_redis_is_down(tmp_path):
    """A citizen's data sent for checking while Redis is down: the check is saved and due
    for the periodic resend (which sends it once Redis is back), and the request that
    asked goes on instead of a 500 after the check was saved."""
    config = {
        "ENV": "test",
        **SECRETS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "RATELIMIT_STORAGE_URI": "memory://",
        "SMTP_PORT": free_port(),
        "SMS_GATEWAY_URL": f"http://127.0.0.1:{free_port()}/",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT, json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "outcome": "saved",
        "due": ["snils"],
    }
    assert "not queued (OperationalError)" in done.stdout + done.stderr
