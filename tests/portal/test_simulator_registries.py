"""The simulated registries over real HTTP: the portal's signed requests, every automatic
outcome, testers' rules, holds, decisions and overrides, and the signed callbacks the
dispatcher delivers (with retries) to a real HTTP receiver.

The registries get their own simulator app and database here (the session's ``simulator``
fixture serves the dev inboxes to the other tests).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.simulator import create_app
from portal.simulator.models import db
from portal.simulator.registries import lookup, rules, services
from portal.simulator.registries.dispatcher import dispatch_due, start_dispatcher
from portal.simulator.registries.models import (
    BirthCertificate,
    CallbackDelivery,
    NumberOverride,
    Passport,
    Person,
    RegistryRequest,
    RegistryRule,
)
from portal.simulator.registries.names import MALE_NAMES
from portal.simulator.registries.population import (
    REFERENCE_DATE,
    birthday,
    build_population,
    generate_population,
)
from portal.simulator.registries.records import FIXED_PEOPLE
from shared.sessions import utcnow
from shared.signing import SignatureError, sign, verify
from shared.validators import is_valid_snils
from tests.conftest import ROOT, SECRETS, IsolatedClient, LiveServer, migrate_app
from tests.helpers import submit, text_of

KEY = "test-registry-key-0001"
MIGRATIONS = ROOT / "portal" / "simulator" / "migrations"

MARIA = {
    "snils": "11223344595",
    "surname": "Иванова",
    "given_name": "Мария",
    "patronymic": "Петровна",
    "birth_date": "1985-03-14",
}
SERGEY = {
    "surname": "Петров",
    "given_name": "Сергей",
    "patronymic": "Николаевич",
    "birth_date": "1982-11-30",
}
OLGA = {
    "surname": "Смирнова",
    "given_name": "Ольга",
    "patronymic": "Викторовна",
    "birth_date": "1979-07-08",
}
PETR = {
    "surname": "Иванов",
    "given_name": "Пётр",
    "patronymic": "Сергеевич",
    "birth_date": "2014-09-02",
}
MARIA_NAME = {k: v for k, v in MARIA.items() if k != "snils"}
MARIA_PASSPORT = {
    "series": "4510",
    "number": "123456",
    "issue_date": "2005-04-01",
    "issuer_code": "770-001",
    **MARIA_NAME,
}
ANNA_PASSPORT = {
    "series": "4501",
    "number": "999888",
    "issue_date": "2000-03-01",
    "issuer_code": "770-004",
    "surname": "Кузнецова",
    "given_name": "Анна",
    "patronymic": "Сергеевна",
    "birth_date": "1950-02-20",
}
PETR_CERTIFICATE = {"series": "IV-МЮ", "number": "512345", "issue_date": "2014-09-20"}
PETR_BY_MARIA = {"certificate": PETR_CERTIFICATE, "child": PETR, "parent": MARIA_NAME}
LETTER = {
    "code": "K7P2-9XQM",
    "recipient": "Иванова Мария Петровна",
    "address": "Москва, ул. Тверская, 1",
}
PATRONYMICS = {name: (son, daughter) for name, son, daughter in MALE_NAMES}
# Below 001-001-998 no checksum applies, and the generator never goes there.
UNKNOWN_SNILS = "00100100100"


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("registries")
    app = create_app(
        {
            "ENV": "test",
            "SECRET_KEY": SECRETS["SECRET_KEY"],
            "DATABASE_URL": f"sqlite:///{tmp / 'simulator.db'}",
            "REGISTRY_KEY": KEY,
            "REGISTRY_TIMEOUT_SLEEP": 1,
            "CALLBACK_TIMEOUT": 3,
            "CALLBACK_RETRY_BASE": 2.0,
            "CALLBACK_RETRY_CAP": 60,
            "CALLBACK_MAX_ATTEMPTS": 5,
        }
    )
    app.test_client_class = IsolatedClient
    migrate_app(app, MIGRATIONS)
    with app.app_context():
        generate_population(150)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def live(sim_app) -> Iterator[str]:
    with LiveServer(sim_app) as server:
        yield server.url


@pytest.fixture
def sim(sim_app):
    """An app context; afterwards the requests, answers, rules and overrides are gone
    (the population stays)."""
    with sim_app.app_context():
        yield sim_app
        db.session.remove()
        with db.engine.begin() as conn:
            for model in (CallbackDelivery, RegistryRequest, RegistryRule, NumberOverride):
                conn.execute(sa.delete(model))


@pytest.fixture
def client(sim):
    return sim.test_client()


class Receiver:
    """The portal's callback endpoint, played by a real HTTP server: it records every
    callback (verifying its signature) and answers the statuses queued in ``answers``."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any] | None] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/registry-callbacks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            payload = verify(KEY, request.get_data(), request.headers)
        except SignatureError:
            payload = None
        with self.lock:
            self.calls.append(payload)
            status = self.answers.pop(0) if self.answers else 200 if payload else 401
        return Response("{}", status=status, content_type="application/json")(
            environ, start_response
        )

    def delivered(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c is not None]

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.delivered()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver()
    box.thread.start()
    yield box
    box.server.shutdown()
    box.server.server_close()


# --- HTTP helpers -----------------------------------------------------------------------


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
        exc.close()
    return status, json.loads(raw) if raw else None


def send(
    live: str,
    registry: str,
    subject: dict,
    *,
    request_id: str | None = None,
    callback_url: str = "http://127.0.0.1:9/registry-callbacks",
    key: str = KEY,
):
    """The portal's side: a signed request to a registry."""
    payload = {
        "request_id": request_id or str(uuid.uuid4()),
        "callback_url": callback_url,
        "subject": subject,
    }
    body, headers = sign(key, payload)
    status, data = http("POST", f"{live}/registries/{registry}/requests", body, headers)
    return status, data, payload["request_id"]


def api(live: str, method: str, path: str, body: Any = None):
    raw = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if raw is not None else {}
    return http(method, f"{live}{path}", raw, headers)


def stored(live: str, registry: str, request_id: str) -> dict:
    status, data = api(live, "GET", f"/api/registries/{registry}/requests/{request_id}")
    assert status == 200, data
    return data["request"]


# --- the population ---------------------------------------------------------------------


def test_population_is_deterministic_and_plausible():
    first, again = build_population(300), build_population(300)
    assert first == again
    assert build_population(300, seed=2) != first
    people = first.people
    assert len(people) >= 300
    snils = [p.snils for p in people]
    assert len(set(snils)) == len(snils)
    assert all(is_valid_snils(s) for s in snils)
    for person in people:
        patronymic = person.patronymic or ""
        if person.gender == "male":
            assert patronymic.endswith(("ич", "ьич")), person
        else:
            assert patronymic.endswith("на"), person
            assert not person.surname.endswith(("ов", "ев", "ин", "ский")), person
        for passport in person.passports:
            assert passport.issue_date >= birthday(person.birth_date, 14)
            assert passport.issue_date < REFERENCE_DATE
            if person.key[1:].isdigit():  # generated (the demo people's are as given)
                assert passport.series[2:] == f"{passport.issue_date.year % 100:02d}"
    statuses = {p.status for person in people for p in person.passports}
    assert statuses == {"valid", "lost", "expired", "replaced"}
    by_key = {p.key: p for p in people}
    generated = [c for c in first.certificates if c.child[1:].isdigit()]
    assert generated and any(c.father is None for c in generated)
    for certificate in generated:
        child, mother = by_key[certificate.child], by_key[certificate.mother]
        assert mother.gender == "female"
        assert certificate.issue_date >= child.birth_date
        assert age_gap(mother.birth_date, child.birth_date) >= 18
        if certificate.father:
            father = by_key[certificate.father]
            assert father.gender == "male"
            # The child's surname and patronymic come from the father.
            forms = PATRONYMICS[father.given_name]
            assert child.patronymic == forms[0 if child.gender == "male" else 1]
            assert child.surname.rstrip("а").replace("ая", "ий") == father.surname.rstrip(
                "а"
            ).replace("ая", "ий")


def age_gap(older: date, younger: date) -> int:
    return (younger - older).days // 365


def test_the_demo_people_are_in_the_stored_population(sim):
    people = {p.snils: p for p in db.session.execute(sa.select(Person)).scalars()}
    for fixed in FIXED_PEOPLE:
        assert is_valid_snils(fixed.snils)
        person = people[fixed.snils]
        assert (person.surname, person.given_name, person.patronymic, person.gender) == (
            fixed.surname,
            fixed.given_name,
            fixed.patronymic,
            fixed.gender,
        )
        assert person.birth_date == fixed.birth_date
        assert [
            (p.series, p.number, p.issue_date, p.issuer_code, p.status) for p in person.passports
        ] == [(p.series, p.number, p.issue_date, p.issuer_code, p.status) for p in fixed.passports]
    maria = people["11223344595"]
    certificates = db.session.execute(
        sa.select(BirthCertificate).order_by(BirthCertificate.series)
    ).scalars()
    mine = [c for c in certificates if c.mother_id == maria.id]
    assert [(c.series, c.number, c.child.given_name) for c in mine] == [
        ("III-МЮ", "401234", "Алиса"),
        ("IV-МЮ", "512345", "Пётр"),
    ]
    assert all(c.father.snils == "98765432183" for c in mine)
    assert all(c.registry_office == "Отдел ЗАГС Пресненского района" for c in mine)
    assert people["91370285800"].passports[0].status == "lost"


def test_population_command_is_idempotent(tmp_path):
    app = create_app(
        {
            "ENV": "test",
            "SECRET_KEY": SECRETS["SECRET_KEY"],
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        }
    )
    migrate_app(app, MIGRATIONS)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["population", "generate", "--size", "20"])
    assert first.exit_code == 0 and "generated" in first.output
    with app.app_context():
        snils = set(db.session.execute(sa.select(Person.snils)).scalars())
    again = runner.invoke(args=["population", "generate", "--size", "50"])
    assert again.exit_code == 0 and "already there" in again.output
    with app.app_context():
        assert set(db.session.execute(sa.select(Person.snils)).scalars()) == snils
    reset = runner.invoke(args=["population", "generate", "--size", "50", "--reset"])
    assert reset.exit_code == 0 and "generated" in reset.output
    with app.app_context():
        assert lookup.count_people() >= 56
        assert lookup.find_people(snils="11223344595")[0].given_name == "Мария"
        db.engine.dispose()


# --- automatic outcomes -------------------------------------------------------------------

AUTO_CASES = [
    ("sfr", MARIA, "approved", None),
    ("sfr", {**MARIA, "surname": "  иванова ", "patronymic": "ПЕТРОВНА"}, "approved", None),
    ("sfr", {**MARIA, "snils": UNKNOWN_SNILS}, "rejected", "not_found"),
    ("sfr", {**MARIA, "given_name": "Марина"}, "rejected", "name_mismatch"),
    ("sfr", {**MARIA, "patronymic": None}, "rejected", "name_mismatch"),
    ("sfr", {**MARIA, "birth_date": "1985-03-15"}, "rejected", "birth_date_mismatch"),
    ("mvd", MARIA_PASSPORT, "approved", None),
    ("mvd", {**MARIA_PASSPORT, "number": "123457"}, "rejected", "not_found"),
    ("mvd", ANNA_PASSPORT, "rejected", "passport_lost"),
    ("mvd", {**MARIA_PASSPORT, "surname": "Петрова"}, "rejected", "name_mismatch"),
    ("mvd", {**MARIA_PASSPORT, "birth_date": "1985-04-14"}, "rejected", "birth_date_mismatch"),
    ("mvd", {**MARIA_PASSPORT, "issue_date": "2005-04-02"}, "rejected", "not_found"),
    ("zags", PETR_BY_MARIA, "approved", None),
    ("zags", {**PETR_BY_MARIA, "parent": SERGEY}, "approved", None),
    (
        "zags",
        {**PETR_BY_MARIA, "child": {**PETR, "given_name": "Петр"}},
        "approved",
        None,
    ),
    (
        "zags",
        {**PETR_BY_MARIA, "certificate": {**PETR_CERTIFICATE, "number": "512346"}},
        "rejected",
        "certificate_not_found",
    ),
    (
        "zags",
        {**PETR_BY_MARIA, "certificate": {**PETR_CERTIFICATE, "issue_date": "2014-09-21"}},
        "rejected",
        "certificate_not_found",
    ),
    (
        "zags",
        {**PETR_BY_MARIA, "child": {**PETR, "given_name": "Павел"}},
        "rejected",
        "name_mismatch",
    ),
    (
        "zags",
        {**PETR_BY_MARIA, "child": {**PETR, "birth_date": "2014-09-03"}},
        "rejected",
        "birth_date_mismatch",
    ),
    ("zags", {**PETR_BY_MARIA, "parent": OLGA}, "rejected", "relation_not_confirmed"),
    (
        "zags",
        {**PETR_BY_MARIA, "parent": {**SERGEY, "birth_date": "1982-12-01"}},
        "rejected",
        "relation_not_confirmed",
    ),
    ("post", LETTER, "delivered", None),
]


@pytest.mark.parametrize(
    ("registry", "subject", "outcome", "reason"),
    AUTO_CASES,
    ids=[f"{c[0]}-{c[3] or c[2]}-{i}" for i, c in enumerate(AUTO_CASES)],
)
def test_auto_outcomes(sim, live, registry, subject, outcome, reason):
    status, data, request_id = send(live, registry, subject)
    assert (status, data) == (202, {"request_id": request_id, "status": "accepted"})
    record = stored(live, registry, request_id)
    assert (record["status"], record["outcome"], record["reason"]) == ("pending", outcome, reason)
    if reason:
        assert record["reason_text"] == services.REASON_TEXTS[reason]
    else:
        assert record["reason_text"] is None


@pytest.mark.parametrize("status", ["expired", "replaced"])
def test_auto_outcome_for_passports_no_longer_valid(sim, live, status):
    passport = db.session.execute(
        sa.select(Passport).where(Passport.status == status).limit(1)
    ).scalar_one()
    person = passport.person
    subject = {
        "series": passport.series,
        "number": passport.number,
        "issue_date": passport.issue_date.isoformat(),
        "issuer_code": passport.issuer_code,
        "surname": person.surname,
        "given_name": person.given_name,
        "patronymic": person.patronymic,
        "birth_date": person.birth_date.isoformat(),
    }
    _status, _data, request_id = send(live, "mvd", subject)
    assert stored(live, "mvd", request_id)["reason"] == f"passport_{status}"


# --- the request itself -------------------------------------------------------------------


def test_forged_or_unsigned_requests_are_refused_and_not_stored(sim, live):
    status, data, _id = send(live, "sfr", MARIA, key="not-the-registry-key")
    assert status == 401 and data["error"] == "invalid_signature"
    status, data = http(
        "POST",
        f"{live}/registries/sfr/requests",
        json.dumps({"request_id": "x", "callback_url": "http://a/", "subject": MARIA}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 401 and data["error"] == "invalid_signature"
    assert api(live, "GET", "/api/registries/sfr/requests")[1] == {"requests": []}


@pytest.mark.parametrize(
    "payload",
    [
        {"request_id": "r1", "callback_url": "http://127.0.0.1:9/cb"},
        {"request_id": "r1", "callback_url": "ftp://127.0.0.1/cb", "subject": MARIA},
        {"request_id": "", "callback_url": "http://127.0.0.1:9/cb", "subject": MARIA},
        {
            "request_id": "r1",
            "callback_url": "http://127.0.0.1:9/cb",
            "subject": {**MARIA, "snils": "1122"},
        },
        {
            "request_id": "r1",
            "callback_url": "http://127.0.0.1:9/cb",
            "subject": {**MARIA, "birth_date": "14.03.1985"},
        },
        {
            "request_id": "r1",
            "callback_url": "http://127.0.0.1:9/cb",
            "subject": {**MARIA, "surname": ""},
        },
    ],
)
def test_bad_bodies_are_refused_and_not_stored(sim, live, payload):
    body, headers = sign(KEY, payload)
    status, data = http("POST", f"{live}/registries/sfr/requests", body, headers)
    assert status == 400
    assert data["error"] == "invalid_request" and data["error_description"]
    assert api(live, "GET", "/api/registries/sfr/requests")[1] == {"requests": []}


def test_unknown_registry(sim, live):
    status, data, _id = send(live, "fns", MARIA)
    assert status == 404 and data["error"] == "not_found"
    assert api(live, "GET", "/api/registries/fns/requests")[0] == 404


def test_the_same_request_twice_changes_nothing(sim, live):
    status, first, request_id = send(live, "sfr", MARIA)
    assert status == 202
    again, second, _ = send(live, "sfr", {**MARIA, "given_name": "Марина"}, request_id=request_id)
    assert (again, second) == (200, first)
    records = api(live, "GET", "/api/registries/sfr/requests")[1]["requests"]
    assert len(records) == 1 and records[0]["outcome"] == "approved"
    # Request ids are per registry.
    assert send(live, "mvd", MARIA_PASSPORT, request_id=request_id)[0] == 202


def test_registry_down(sim, live):
    api(live, "PUT", "/api/registries/sfr/rule", {"down": "error"})
    status, data, _id = send(live, "sfr", MARIA)
    assert (status, data["error"]) == (503, "registry_unavailable")

    api(live, "PUT", "/api/registries/sfr/rule", {"down": "timeout"})
    started = time.monotonic()
    status, data, _id = send(live, "sfr", MARIA)
    assert (status, data["error"]) == (503, "registry_unavailable")
    assert time.monotonic() - started >= 1  # REGISTRY_TIMEOUT_SLEEP
    assert api(live, "GET", "/api/registries/sfr/requests")[1] == {"requests": []}
    # Other registries are not affected; back up, it works again.
    assert send(live, "mvd", MARIA_PASSPORT)[0] == 202
    api(live, "PUT", "/api/registries/sfr/rule", {"down": "none"})
    assert send(live, "sfr", MARIA)[0] == 202


# --- answers: dispatch, retries, holds, decisions, delays, overrides ----------------------


def test_dispatcher_delivers_a_signed_callback_and_retries(sim, live, receiver):
    receiver.answers = [500]
    _s, _d, request_id = send(live, "sfr", MARIA, callback_url=receiver.url)
    start = utcnow()
    assert dispatch_due(start) == 0  # the portal answered 500
    assert receiver.calls and receiver.calls[0]["request_id"] == request_id
    record = stored(live, "sfr", request_id)
    assert record["status"] == "answered"
    assert record["deliveries"][0]["attempts"] == 1
    assert record["deliveries"][0]["last_error"] == "HTTP 500"

    assert dispatch_due(start + timedelta(seconds=1)) == 0  # backoff: not yet
    assert len(receiver.calls) == 1
    assert dispatch_due(start + timedelta(seconds=2)) == 1
    first, second = receiver.calls
    assert second["callback_id"] != first["callback_id"]  # every attempt is a new message
    assert {k: v for k, v in second.items() if k != "callback_id"} == {
        "request_id": request_id,
        "registry": "sfr",
        "outcome": "approved",
        "reason": None,
        "reason_text": None,
        "answered_at": start.isoformat(timespec="seconds") + "Z",
    }
    # Delivered once: never sent again.
    assert dispatch_due(start + timedelta(hours=1)) == 0
    assert len(receiver.calls) == 2
    delivery = stored(live, "sfr", request_id)["deliveries"][0]
    assert delivery["delivered_at"] and delivery["next_attempt_at"] is None
    assert delivery["callback_id"] == second["callback_id"]


def test_dispatcher_backs_off_and_gives_up_on_refusals(sim, live, receiver):
    receiver.answers = [503, 503, 503]
    _s, _d, _id = send(live, "sfr", MARIA, callback_url=receiver.url)
    start = utcnow()
    dispatch_due(start)
    dispatch_due(start + timedelta(seconds=2))  # retry 1 after 2 s
    dispatch_due(start + timedelta(seconds=5))  # retry 2 after 4 s: not yet
    assert len(receiver.calls) == 2
    dispatch_due(start + timedelta(seconds=6))
    assert len(receiver.calls) == 3

    receiver.answers = [400]
    _s, _d, refused_id = send(live, "mvd", MARIA_PASSPORT, callback_url=receiver.url)
    later = start + timedelta(seconds=6)
    dispatch_due(later)
    delivery = stored(live, "mvd", refused_id)["deliveries"][0]
    assert delivery["next_attempt_at"] is None and delivery["last_error"] == "refused: HTTP 400"
    dispatch_due(later + timedelta(hours=1))
    assert len([c for c in receiver.calls if c["request_id"] == refused_id]) == 1


def test_unreachable_portal_is_retried(sim, live):
    _s, _d, request_id = send(live, "sfr", MARIA, callback_url="http://127.0.0.1:9/cb")
    dispatch_due()
    delivery = stored(live, "sfr", request_id)["deliveries"][0]
    assert delivery["attempts"] == 1 and delivery["next_attempt_at"]
    assert delivery["last_error"].startswith("unreachable")


def test_hold_then_decide_through_the_json_api(sim, live, receiver):
    status, rule = api(live, "PUT", "/api/registries/sfr/rule", {"default_outcome": "hold"})
    assert status == 200 and rule["rule"]["default_outcome"] == "hold"
    _s, _d, request_id = send(live, "sfr", MARIA, callback_url=receiver.url)
    assert stored(live, "sfr", request_id)["status"] == "held"
    assert dispatch_due(utcnow() + timedelta(days=1)) == 0 and receiver.calls == []

    status, data = api(
        live,
        "POST",
        f"/api/registries/sfr/requests/{request_id}/decision",
        {"outcome": "rejected", "reason": "other", "reason_text": "Проверка не пройдена"},
    )
    assert status == 200 and data["request"]["status"] == "pending"
    assert api(live, "POST", "/api/dispatch")[1] == {"delivered": 1}
    (callback,) = receiver.delivered()
    assert (callback["outcome"], callback["reason"], callback["reason_text"]) == (
        "rejected",
        "other",
        "Проверка не пройдена",
    )

    # A new decision on the answered request goes out as a new callback.
    status, data = api(
        live, "POST", f"/api/registries/sfr/requests/{request_id}/decision", {"outcome": "approved"}
    )
    assert status == 200
    assert dispatch_due() == 1
    assert [c["outcome"] for c in receiver.delivered()] == ["rejected", "approved"]
    assert len({c["callback_id"] for c in receiver.calls}) == 2
    # An answered request cannot go back to waiting.
    status, data = api(
        live, "POST", f"/api/registries/sfr/requests/{request_id}/decision", {"outcome": "held"}
    )
    assert status == 400 and data["error"] == "invalid_request"


def test_a_newer_decision_supersedes_an_undelivered_answer(sim, live, receiver):
    receiver.answers = [500]
    _s, _d, request_id = send(live, "sfr", MARIA, callback_url=receiver.url)
    start = utcnow()
    dispatch_due(start)  # approved, refused with 500, waiting for a retry
    services.decide("sfr", request_id, "rejected", "name_mismatch")
    dispatch_due(start + timedelta(minutes=5))
    assert [c["outcome"] for c in receiver.calls] == ["approved", "rejected"]
    deliveries = stored(live, "sfr", request_id)["deliveries"]
    assert deliveries[0]["last_error"] == "superseded by a newer answer"
    assert deliveries[1]["delivered_at"]


def test_decision_api_validation(sim, live):
    _s, _d, request_id = send(live, "sfr", MARIA)
    path = f"/api/registries/sfr/requests/{request_id}/decision"
    for body in ({"outcome": "maybe"}, {"outcome": "rejected", "reason": "because"}, ["x"]):
        status, data = api(live, "POST", path, body)
        assert status == 400 and data["error"] == "invalid_request" and data["error_description"]
    status, data = api(
        live, "POST", "/api/registries/sfr/requests/nope/decision", {"outcome": "held"}
    )
    assert status == 404 and data["error"] == "not_found"
    status, data = api(live, "POST", path, {"outcome": "rejected"})
    assert (data["request"]["reason"], data["request"]["reason_text"]) == (
        "other",
        services.REASON_TEXTS["other"],
    )


def test_rule_api(sim, live):
    status, data = api(live, "GET", "/api/registries/zags/rule")
    assert (status, data["rule"]) == (
        200,
        {
            "registry": "zags",
            "default_outcome": "auto",
            "reason": None,
            "reason_text": None,
            "delay_seconds": 0,
            "down": "none",
        },
    )
    status, data = api(
        live,
        "PUT",
        "/api/registries/zags/rule",
        {"default_outcome": "reject", "reason": "relation_not_confirmed", "delay_seconds": 5},
    )
    assert status == 200
    assert data["rule"]["reason_text"] == services.REASON_TEXTS["relation_not_confirmed"]
    assert api(live, "GET", "/api/registries/zags/rule")[1] == data
    for bad in (
        {"default_outcome": "sometimes"},
        {"delay_seconds": -1},
        {"delay_seconds": "5"},
        {"down": "yes"},
        {"colour": "red"},
    ):
        status, error = api(live, "PUT", "/api/registries/zags/rule", bad)
        assert status == 400 and error["error"] == "invalid_request", bad
    status, _error = api(live, "PUT", "/api/registries/nope/rule", {"down": "none"})
    assert status == 404
    # The rule applies to the next request.
    _s, _d, request_id = send(live, "zags", PETR_BY_MARIA)
    assert stored(live, "zags", request_id)["reason"] == "relation_not_confirmed"


def test_delay(sim, live, receiver):
    api(live, "PUT", "/api/registries/mvd/rule", {"delay_seconds": 30})
    before = utcnow()
    _s, _d, request_id = send(live, "mvd", MARIA_PASSPORT, callback_url=receiver.url)
    record = stored(live, "mvd", request_id)
    assert record["status"] == "pending" and record["due_at"]
    assert dispatch_due(before + timedelta(seconds=20)) == 0
    assert receiver.calls == []
    assert dispatch_due(before + timedelta(seconds=32)) == 1
    assert receiver.delivered()[0]["outcome"] == "approved"


def test_overrides(sim, live):
    path = "/api/registries/sfr/overrides"
    status, data = api(
        live,
        "POST",
        path,
        {"key": "112-233-445 95", "outcome": "reject", "reason": "other", "reason_text": "Тест"},
    )
    assert status == 201 and data["override"]["key"] == "11223344595"
    _s, _d, request_id = send(live, "sfr", MARIA)
    record = stored(live, "sfr", request_id)
    assert (record["outcome"], record["reason"], record["reason_text"]) == (
        "rejected",
        "other",
        "Тест",
    )

    # Replacing it, then an override ahead of a rule.
    api(
        live,
        "PUT",
        "/api/registries/sfr/rule",
        {"default_outcome": "reject", "reason": "not_found"},
    )
    assert api(live, "POST", path, {"key": "11223344595", "outcome": "hold"})[0] == 200
    _s, _d, held_id = send(live, "sfr", MARIA)
    assert stored(live, "sfr", held_id)["status"] == "held"
    assert api(live, "GET", path)[1]["overrides"][0]["outcome"] == "hold"

    assert api(live, "DELETE", f"{path}/112-233-445%2095")[0] == 204
    assert api(live, "DELETE", f"{path}/11223344595")[0] == 404
    _s, _d, ruled_id = send(live, "sfr", MARIA)
    assert stored(live, "sfr", ruled_id)["reason"] == "not_found"

    # ЗАГС keys are certificate series and number; МВД keys series and number.
    status, data = api(
        live, "POST", "/api/registries/zags/overrides", {"key": "iv-мю512345", "outcome": "approve"}
    )
    assert data["override"]["key"] == "IV-МЮ 512345"
    _s, _d, zags_id = send(live, "zags", {**PETR_BY_MARIA, "parent": OLGA})
    assert stored(live, "zags", zags_id)["outcome"] == "approved"
    api(live, "POST", "/api/registries/mvd/overrides", {"key": "4501 999888", "outcome": "approve"})
    _s, _d, mvd_id = send(live, "mvd", ANNA_PASSPORT)
    assert stored(live, "mvd", mvd_id)["outcome"] == "approved"

    assert api(live, "DELETE", "/api/registries/zags/overrides")[0] == 204
    assert api(live, "GET", "/api/registries/zags/overrides")[1] == {"overrides": []}
    for bad in (
        {"key": "123", "outcome": "approve"},
        {"key": "11223344595", "outcome": "auto"},
        {"outcome": "approve"},
    ):
        status, error = api(live, "POST", path, bad)
        assert status == 400 and error["error"] == "invalid_request", bad


def test_population_and_letters_api(sim, live):
    status, data = api(live, "GET", "/api/population?snils=112-233-445%2095")
    assert status == 200
    (maria,) = data["people"]
    assert maria["passports"][0]["number"] == "123456"
    assert sorted(c["child"]["given_name"] for c in maria["children"]) == ["Алиса", "Пётр"]
    surname = urllib.request.quote("иванов")
    found = api(live, "GET", f"/api/population?surname={surname}")[1]["people"]
    assert {"Мария", "Пётр", "Алиса"} <= {p["given_name"] for p in found}
    petr = next(p for p in found if p["given_name"] == "Пётр")
    assert petr["birth_certificate"]["father"]["surname"] == "Петров"
    by_passport = api(live, "GET", "/api/population?passport=4501999888")[1]["people"]
    assert [p["surname"] for p in by_passport] == ["Кузнецова"]
    assert api(live, "GET", "/api/population?limit=many")[0] == 400

    # Generating again over HTTP does nothing while a population exists.
    assert api(live, "POST", "/api/population", {"size": 5}) == (
        200,
        {"created": 0, "people": lookup.count_people()},
    )
    assert api(live, "POST", "/api/population", {"size": "many"})[0] == 400

    send(live, "post", LETTER)
    send(live, "post", {**LETTER, "code": "AAAA-BBBB", "recipient": "Петров Сергей Николаевич"})
    letters = api(live, "GET", "/api/post/letters")[1]["letters"]
    assert [letter["code"] for letter in letters] == ["AAAA-BBBB", "K7P2-9XQM"]
    name = urllib.request.quote("иванова мария")
    (letter,) = api(live, "GET", f"/api/post/letters?recipient={name}")[1]["letters"]
    assert (letter["address"], letter["status"]) == (LETTER["address"], "pending")


def test_background_dispatcher(sim, live, receiver):
    stop = start_dispatcher(sim, interval=0.05)
    try:
        _s, _d, request_id = send(live, "post", LETTER, callback_url=receiver.url)
        (callback,) = receiver.wait_for(1)
    finally:
        stop()
    assert (callback["request_id"], callback["outcome"]) == (request_id, "delivered")


# --- the tester console -----------------------------------------------------------------


def test_console_hold_and_decide(sim, live, client, receiver):
    submit(
        client,
        "/registries/zags",
        {"default_outcome": "hold", "reason": "", "delay_seconds": "0", "down": "none"},
        action="/registries/zags/rule",
    )
    assert services.get_rule("zags").default_outcome == "hold"
    _s, _d, request_id = send(live, "zags", PETR_BY_MARIA, callback_url=receiver.url)

    page = client.get("/registries/zags")
    assert page.status_code == 200
    text = text_of(page)
    assert request_id in text and "IV-МЮ 512345" in text and "Иванов Пётр Сергеевич" in text

    response = submit(
        client,
        "/registries/zags",
        {"outcome": "rejected", "reason": "relation_not_confirmed", "reason_text": ""},
        action=f"/registries/zags/requests/{request_id}/decision",
    )
    assert response.status_code == 302
    assert dispatch_due() == 1
    (callback,) = receiver.delivered()
    assert (callback["outcome"], callback["reason"]) == ("rejected", "relation_not_confirmed")
    assert callback["reason_text"] == services.REASON_TEXTS["relation_not_confirmed"]


def test_console_overrides_and_csrf(sim, client):
    submit(
        client,
        "/registries/sfr",
        {
            "override-key": "112-233-445 95",
            "override-outcome": "reject",
            "override-reason": "birth_date_mismatch",
        },
        action="/registries/sfr/overrides",
    )
    assert [o.key for o in rules.list_overrides("sfr")] == ["11223344595"]
    assert "11223344595" in text_of(client.get("/registries/sfr"))
    page = submit(
        client,
        "/registries/sfr",
        action="/registries/sfr/overrides/11223344595/delete",
        follow=True,
    )
    assert page.status_code == 200 and rules.list_overrides("sfr") == []
    # A bad number is refused with a message, nothing stored.
    page = submit(
        client,
        "/registries/sfr",
        {"override-key": "12", "override-outcome": "approve", "override-reason": ""},
        action="/registries/sfr/overrides",
        follow=True,
    )
    assert "flash-error" in page.get_data(as_text=True)
    assert rules.list_overrides("sfr") == []
    # Forms without the CSRF token are refused.
    response = client.post("/registries/sfr/rule", data={"default_outcome": "approve"})
    assert response.status_code == 400
    assert services.get_rule("sfr").default_outcome == "auto"


def test_console_pages(sim, live, client):
    send(live, "post", LETTER)
    post = text_of(client.get("/registries/post"))
    assert "K7P2-9XQM" in post and LETTER["address"] in post and LETTER["recipient"] in post
    population = client.get("/population?q=" + urllib.request.quote("кузнецова"))
    assert population.status_code == 200
    assert "Кузнецова Анна Сергеевна" in text_of(population) and "4501 999888" in text_of(
        population
    )
    assert "Иванова Мария Петровна" in text_of(client.get("/population?q=112-233-445 95"))
    assert client.get("/registries/fns").status_code == 404
    assert client.get("/registries/").status_code == 302
    assert "Content-Security-Policy" in client.get("/registries/sfr").headers


@pytest.mark.parametrize("limit", ["many", "-1", str(2**31), "9" * 40])
@pytest.mark.parametrize(
    "path", ["/api/inbox", "/api/registries/sfr/requests", "/api/population", "/api/post/letters"]
)
def test_a_limit_that_is_not_a_row_count_is_a_400(client, path, limit):
    """Issue 11: the inbox's ``int()`` answered 500 to ``many``; a negative limit is an
    error on PostgreSQL and 2^31 overflows its integer."""
    response = client.get(path, query_string={"limit": limit})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
