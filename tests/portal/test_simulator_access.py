"""The simulator on a stand (ENV=production, SIMULATOR_ALLOW_STAND): its inbox, console
and JSON API answer only testers who give the tester token; what the portal calls keeps
its own protection."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
import sqlalchemy as sa

from portal.simulator import create_app as create_simulator
from portal.simulator.inbox import store
from portal.simulator.models import InboxMessage, db
from shared.signing import sign
from tests.conftest import ROOT, migrate_app

TOKEN = secrets.token_urlsafe(32)
REGISTRY_KEY = secrets.token_urlsafe(32)


@pytest.fixture
def stand(tmp_path):
    app = create_simulator(
        {
            "ENV": "production",
            "ALLOW_STAND": True,
            "TESTER_TOKEN": TOKEN,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "REGISTRY_KEY": REGISTRY_KEY,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'stand.db'}",
        }
    )
    migrate_app(app, ROOT / "portal" / "simulator" / "migrations")
    with app.app_context():
        store("sms", "+79161234567", "Код подтверждения: 123456")
    yield app
    with app.app_context():
        db.engine.dispose()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(password: str = TOKEN) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"tester:{password}".encode()).decode()}


TESTERS_ONLY = [
    ("GET", "/api/inbox"),
    ("DELETE", "/api/inbox"),
    ("GET", "/"),
    ("GET", "/inbox"),
    ("GET", "/registries/"),
    ("GET", "/registries/sfr"),
    ("GET", "/population"),
    ("GET", "/api/registries/sfr/requests"),
    ("POST", "/api/registries/sfr/requests/any-id/decision"),
    ("PUT", "/api/registries/sfr/rule"),
    ("POST", "/api/registries/sfr/overrides"),
    ("GET", "/api/population"),
    ("POST", "/api/population"),
    ("GET", "/api/post/letters"),
    ("POST", "/api/dispatch"),
    ("GET", "/no-such-page"),
]


@pytest.mark.parametrize(("method", "path"), TESTERS_ONLY)
def test_without_the_tester_token_nothing_is_shown_or_done(stand, method, path):
    client = stand.test_client()
    for headers in ({}, bearer("wrong-token"), basic("wrong-token")):
        response = client.open(path, method=method, headers=headers, json={"outcome": "approved"})
        assert response.status_code == 401, (path, headers)
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="simulator"')
        assert "123456" not in response.get_data(as_text=True)
    with stand.app_context():  # nothing was cleared either
        bodies = db.session.execute(sa.select(InboxMessage.body)).scalars().all()
        assert bodies == ["Код подтверждения: 123456"]


def test_the_refusal_says_why_in_russian_and_json(stand):
    client = stand.test_client()
    page = client.get("/inbox")
    assert (
        "Этот симулятор — для тестировщиков стенда: укажите токен тестировщика."
        in page.get_data(as_text=True)
    )
    api = client.get("/api/inbox")
    assert api.get_json()["error"] == "invalid_token"


@pytest.mark.parametrize("headers", [bearer(), basic()])
def test_a_tester_with_the_token_reads_the_inbox(stand, headers):
    client = stand.test_client()
    messages = client.get("/api/inbox", headers=headers).get_json()["messages"]
    assert [m["body"] for m in messages] == ["Код подтверждения: 123456"]
    assert "Код подтверждения: 123456" in client.get("/inbox", headers=headers).get_data(
        as_text=True
    )


def test_what_the_portal_calls_keeps_its_own_protection(stand):
    client = stand.test_client()
    sms = client.post("/sms-gateway/messages", json={"to": "+79160000000", "text": "Код: 1"})
    assert sms.status_code == 202
    assert client.get("/healthz").status_code == 200
    # The registries' protocol endpoint answers the portal's signature, not the tester token.
    unsigned = client.post("/registries/sfr/requests", data=b"{}")
    assert unsigned.status_code == 401 and unsigned.get_json()["error"] == "invalid_signature"
    body, headers = sign(
        REGISTRY_KEY,
        {
            "request_id": "req-1",
            "callback_url": "http://127.0.0.1:9/registry-callbacks",
            "subject": {
                "snils": "11223344595",
                "surname": "Иванова",
                "given_name": "Мария",
                "patronymic": "Петровна",
                "birth_date": "1985-03-14",
            },
        },
    )
    signed = client.post("/registries/sfr/requests", data=body, headers=headers)
    assert signed.status_code == 202, signed.get_json()


def test_without_a_token_configured_the_simulator_stays_open(simulator, inbox):
    app, _box = simulator
    assert not app.config.get("TESTER_TOKEN")
    assert json.loads(app.test_client().get("/api/inbox").get_data())["messages"] == []
