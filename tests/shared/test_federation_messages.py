"""Messages between the portal and a regional diary (shared/federation.py, the portal's
and the diary's ``federation`` rooms): signed one way, client-authenticated the other,
written to an outbox and retried until the other side takes them."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from diary_service.extensions import db as diary_db
from diary_service.federation import services as diary_federation
from diary_service.models.federation import PortalMessage
from portal.extensions import db as portal_db
from portal.federation import services as portal_federation
from portal.federation.models import FederationMessage
from portal.oidc.keys import active_key
from portal.oidc.tokens import issuer
from shared import federation
from shared.sessions import utcnow
from tests.conftest import database_url
from tests.diary_service.factories import build_world
from tests.diary_service.test_federation import running_diary

# --- signing and reading ----------------------------------------------------------------

RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})  # same kid, another key
KEYS = KeySet([RSA, EC])


def keys(_kid):
    return KeySet.import_key_set(KEYS.as_dict(private=False))


def signed(key=RSA, **changes) -> str:
    return federation.sign_event(
        key,
        issuer="https://portal.example",
        audience="diary-a",
        event=changes.pop("event", "thing.happened"),
        data=changes.pop("data", {"id": "42"}),
        now=changes.pop("now", None),
    )


def read(token: str, audience: str = "diary-a") -> federation.Event:
    return federation.read_event(token, keys, issuer="https://portal.example", audience=audience)


@pytest.mark.parametrize("key", [RSA, EC], ids=["RS256", "ES256"])
def test_a_signed_message_reads_back_with_its_event_and_data(key):
    # The data's value has a character no jti can hold (base64url), so a random jti can
    # never contain it (with "a1", one run in about 200 failed).
    event = read(signed(key, data={"id": "ид-1", "nested": {"n": 1}}))
    assert (event.name, event.data) == ("thing.happened", {"id": "ид-1", "nested": {"n": 1}})
    assert event.jti and "ид-1" not in repr(event)


def forged(how: str) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://portal.example",
        "aud": "diary-a",
        "iat": now,
        "exp": now + 300,
        "jti": "j-1",
        "event": "thing.happened",
        "data": {},
    }
    header = {"alg": "RS256", "kid": "rsa-1", "typ": "federation+jwt"}
    key = RSA
    if how == "another key":
        key = OTHER
    elif how == "a logout token":
        header["typ"] = "logout+jwt"
    elif how == "no typ":
        del header["typ"]
    elif how == "HMAC":
        header["alg"], key = "HS256", OctKey.import_key("a-shared-secret-of-some-length-0123")
    elif how == "no data":
        del claims["data"]
    elif how == "data not an object":
        claims["data"] = ["x"]
    elif how == "no jti":
        del claims["jti"]
    elif how == "expired":
        claims.update(iat=now - 900, exp=now - 600)
    elif how == "from the future":
        claims.update(iat=now + 900, exp=now + 1200)
    return jwt.encode(header, claims, key, algorithms=["RS256", "HS256"], default_type=None)


@pytest.mark.parametrize(
    "how",
    [
        "another key",
        "a logout token",
        "no typ",
        "HMAC",
        "no data",
        "data not an object",
        "no jti",
        "expired",
        "from the future",
    ],
)
def test_a_forged_or_stale_message_is_refused(how):
    with pytest.raises(federation.InvalidFederationMessage):
        read(forged(how))


def test_a_message_for_another_region_or_from_another_issuer_is_refused():
    token = signed()
    with pytest.raises(federation.InvalidFederationMessage):
        read(token, audience="diary-b")
    with pytest.raises(federation.InvalidFederationMessage):
        federation.read_event(token, keys, issuer="https://evil.example", audience="diary-a")
    for garbage in (None, "", "not.a.token", "x" * 70000):
        with pytest.raises(federation.InvalidFederationMessage):
            read(garbage)


def test_basic_auth_encodes_the_client_as_rfc_6749_says():
    header = federation.basic_auth("diary:one", "s3cr/t%")
    assert header.startswith("Basic ")
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "diary%3Aone:s3cr%2Ft%25"


# --- the outbox -----------------------------------------------------------------------


@dataclass
class Row:
    """An outbox row as ``record_attempt`` sees one."""

    created_at: object
    attempts: int = 0
    next_attempt_at: object = None
    delivered_at: object = None
    gave_up_at: object = None
    last_error: str | None = None
    answer: dict | None = None


def failing(status: int | None):
    def send(_row):
        raise federation.DeliveryFailed(f"answered {status}", status)

    return send


def test_an_attempt_is_delivered_retried_later_or_given_up():
    now = utcnow()
    week = timedelta(days=7)
    row = Row(created_at=now, next_attempt_at=now)
    outcome = federation.record_attempt(row, failing(None), give_up_after=week, now=now)
    assert outcome.outcome == "retry" and row.next_attempt_at == now + timedelta(seconds=10)
    outcome = federation.record_attempt(row, failing(503), give_up_after=week, now=now)
    assert outcome.outcome == "retry" and row.next_attempt_at == now + timedelta(seconds=20)
    assert row.last_error == "answered 503" and row.attempts == 2
    outcome = federation.record_attempt(row, lambda _r: {"ok": True}, give_up_after=week, now=now)
    assert (outcome.outcome, outcome.answer) == ("delivered", {"ok": True})
    assert row.delivered_at == now and row.next_attempt_at is None and row.last_error is None
    # Delivered once: never again.
    assert federation.record_attempt(row, failing(None), give_up_after=week).outcome == "skipped"

    refused = Row(created_at=now, next_attempt_at=now)
    assert federation.record_attempt(refused, failing(401), give_up_after=week).outcome == "gave_up"
    assert refused.gave_up_at is not None and refused.next_attempt_at is None
    busy = Row(created_at=now, next_attempt_at=now)
    assert federation.record_attempt(busy, failing(429), give_up_after=week).outcome == "retry"
    old = Row(created_at=now - week, next_attempt_at=now)
    assert federation.record_attempt(old, failing(None), give_up_after=week).outcome == "gave_up"


def test_the_delay_doubles_up_to_ten_minutes():
    delays = [federation.retry_delay(n).total_seconds() for n in range(1, 9)]
    assert delays == [10, 20, 40, 80, 160, 320, 600, 600]


# --- portal and diary over real HTTP -----------------------------------------------------

CLIENT_ID = "diary-messages-region"


@pytest.fixture
def region(app, portal_server, tmp_path, monkeypatch) -> Iterator:
    database = database_url("TEST_DIARY_DATABASE_URL", tmp_path, "diary")
    with running_diary(
        portal_server,
        client_id=CLIENT_ID,
        cookie="diary_session",
        index_key="test-messages-blind-index-key-01",
        database=database,
    ) as diary:
        portal_db.session.commit()
        monkeypatch.setitem(
            app.config,
            "DIARY_REGIONS",
            [
                {
                    "code": "test",
                    "name": "Тестовая область",
                    "url": diary.url,
                    "client_id": CLIENT_ID,
                }
            ],
        )
        yield diary


@pytest.fixture
def echo_handlers() -> Iterator[dict]:
    """A test event each way; what each side received."""
    seen: dict[str, list] = {"diary": [], "portal": []}

    @diary_federation.handles("test.echo")
    def diary_echo(data):
        seen["diary"].append(data)
        return {"echo": data.get("say"), "count": len(seen["diary"])}

    @portal_federation.handles("test.echo")
    def portal_echo(client_id, data):
        seen["portal"].append((client_id, data))
        return {"ok": True}

    @portal_federation.on_answer("test.echo")
    def answered(message, answer):
        seen.setdefault("answers", []).append((message.key, answer))

    yield seen
    for registry in (diary_federation.handles, portal_federation.handles):
        registry._functions.pop("test.echo", None)
    portal_federation.on_answer._functions.pop("test.echo", None)


def test_the_portal_sends_a_signed_message_and_reads_the_answer(region, echo_handlers):
    message = portal_federation.send_to_diary("test.echo", CLIENT_ID, "k-1", {"say": "привет"})
    portal_db.session.expire_all()
    stored = portal_db.session.get(FederationMessage, message.id)
    assert stored.delivered_at is not None and stored.attempts == 1
    assert stored.answer == {"echo": "привет", "count": 1}
    assert stored.sealed is None and stored.payload == {}  # delivered: erased
    assert echo_handlers["diary"] == [{"say": "привет"}]
    assert echo_handlers["answers"] == [("k-1", {"echo": "привет", "count": 1})]
    # The same message again is the same message: nothing is sent twice.
    again = portal_federation.send_to_diary("test.echo", CLIENT_ID, "k-1", {"say": "привет"})
    assert again.id == message.id and len(echo_handlers["diary"]) == 1


def test_a_diary_that_is_down_gets_the_message_when_it_is_back(
    app, region, echo_handlers, monkeypatch
):
    up = app.config["DIARY_REGIONS"]
    monkeypatch.setitem(
        app.config,
        "DIARY_REGIONS",
        [{**up[0], "url": "http://127.0.0.1:9/"}],  # nothing listens there
    )
    message = portal_federation.send_to_diary("test.echo", CLIENT_ID, "k-2", {"say": "ещё раз"})
    portal_db.session.expire_all()  # the attempt ran as a job, in a session of its own
    stored = portal_db.session.get(FederationMessage, message.id)
    assert stored.delivered_at is None and stored.attempts == 1
    assert stored.last_error.startswith("unreachable")
    assert echo_handlers["diary"] == []
    # What waits in the outbox is encrypted like any personal data at the portal.
    assert stored.data == {} and "ещё" not in stored.sealed
    assert stored.payload == {"say": "ещё раз"}
    monkeypatch.setitem(app.config, "DIARY_REGIONS", up)
    stored.next_attempt_at = utcnow()  # the retry is due (10 s later in real time)
    portal_db.session.commit()
    assert portal_federation.deliver_due() == 1
    portal_db.session.expire_all()
    assert portal_db.session.get(FederationMessage, message.id).attempts == 2
    assert echo_handlers["diary"] == [{"say": "ещё раз"}]


def post_to_diary(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/federation/events",
        data=token.encode(),
        headers={"Content-Type": "application/jwt"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_diary_refuses_a_message_not_signed_by_the_portal_for_it(region, echo_handlers):
    token = federation.sign_event(
        active_key("RS256"), issuer=issuer(), audience="another-region", event="test.echo", data={}
    )
    portal_db.session.commit()
    status, body = post_to_diary(region.url, token)
    assert status == 400 and body["error"] == "invalid_request"
    stranger = RSAKey.generate_key(2048, parameters={"kid": active_key("RS256").kid})
    portal_db.session.commit()
    forged_token = federation.sign_event(
        stranger, issuer=issuer(), audience=CLIENT_ID, event="test.echo", data={}
    )
    assert post_to_diary(region.url, forged_token)[0] == 400
    unknown = federation.sign_event(
        active_key("RS256"), issuer=issuer(), audience=CLIENT_ID, event="no.such", data={}
    )
    portal_db.session.commit()
    assert post_to_diary(region.url, unknown)[0] == 400
    assert echo_handlers["diary"] == []


def test_the_diary_sends_the_portal_a_message_as_its_client(region, echo_handlers):
    with region.app.app_context():
        message = diary_federation.send_to_portal("test.echo", "k-3", {"say": "готово"})
        diary_db.session.expire_all()
        stored = diary_db.session.get(PortalMessage, message.id)
        assert stored.delivered_at is not None and stored.answer == {"ok": True}
        diary_db.session.remove()
    assert echo_handlers["portal"] == [(CLIENT_ID, {"say": "готово"})]


def test_the_portal_refuses_a_diary_with_a_wrong_secret(region, echo_handlers, client):
    wrong = federation.basic_auth(CLIENT_ID, "not-the-secret")
    body = {"event": "test.echo", "data": {}}
    response = client.post("/federation/events", json=body, headers={"Authorization": wrong})
    assert response.status_code == 401 and response.json["error"] == "invalid_client"
    assert client.post("/federation/events", json=body).status_code == 401
    assert echo_handlers["portal"] == []


def test_the_diary_lists_its_schools_for_the_portals_form(app, region):
    with region.app.app_context():
        world = build_world()
        names = sorted(school.name for school in (world.one.school, world.two.school))
        diary_db.session.remove()
    schools = portal_federation.fetch_schools("test")
    assert sorted(school["name"] for school in schools) == names
    assert all(isinstance(school["id"], int) for school in schools)


def test_a_region_whose_diary_is_down_says_so(app, monkeypatch):
    monkeypatch.setitem(
        app.config,
        "DIARY_REGIONS",
        [{"code": "x", "name": "X", "url": "http://127.0.0.1:9/", "client_id": "x"}],
    )
    with pytest.raises(portal_federation.RegionUnavailable):
        portal_federation.fetch_schools("x")
    assert portal_db.session.execute(sa.select(sa.func.count(FederationMessage.id))).scalar() == 0


def test_the_send_commands_deliver_what_is_due(app, region, echo_handlers):
    """`flask … federation send` (the dev stack's loop, Celery beat's job in production)."""
    message = FederationMessage(
        event="test.echo", target=CLIENT_ID, key="k-cli", next_attempt_at=utcnow()
    )
    portal_db.session.add(message)
    message.payload = {"say": "из очереди"}
    portal_db.session.commit()
    result = app.test_cli_runner().invoke(args=["federation", "send"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "delivered 1 message(s) to the diaries"
    assert echo_handlers["diary"] == [{"say": "из очереди"}]
    with region.app.app_context():
        diary_db.session.add(
            PortalMessage(
                event="test.echo", target="portal", key="k-cli", data={}, next_attempt_at=utcnow()
            )
        )
        diary_db.session.commit()
        diary_db.session.remove()
    with region.app.app_context():  # the portal's context is the test's current one
        result = region.app.test_cli_runner().invoke(args=["federation", "send"])
        diary_db.session.remove()
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.output.strip() == "delivered 1 message(s) to the portal"
    assert echo_handlers["portal"] == [(CLIENT_ID, {})]


def test_moments_and_days_read_from_messages_as_stored():
    moment = datetime(2026, 12, 4, 12, 0, 5, 123456)
    assert federation.utc_text(moment) == "2026-12-04T12:00:05Z"
    assert federation.parse_utc("2026-12-04T12:00:05Z") == moment.replace(microsecond=0)
    assert federation.parse_utc("2026-12-04T15:00:05+03:00") == moment.replace(microsecond=0)
    assert federation.parse_utc("2026-12-04T12:00:05") == moment.replace(microsecond=0)
    for bad in (None, 7, "", "04.12.2026", "x" * 50):
        assert federation.parse_utc(bad) is None
    assert federation.parse_day("2014-09-02") == date(2014, 9, 2)
    assert federation.parse_day("2014-02-30") is None and federation.parse_day(None) is None
