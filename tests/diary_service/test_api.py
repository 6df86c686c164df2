"""The JSON API for mobile clients, ``/api/v1``: the portal's access tokens checked
locally (issuer, audience, expiry, ``typ``, signature by a published key), the family
pages' access rules, and answers that match the OpenAPI document.

One test takes a real access token from the portal's token endpoint. The others mint
tokens with keys of a stand-in portal on a live server (its discovery document and
JWKS, keys the test controls), to which this module's diary is pointed: the diary
fetches and caches those keys over HTTP exactly as it does the portal's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from diary_service import create_app as create_diary
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Mark,
    MarkPolicy,
    Remark,
)
from diary_service.models.messages import Message, Thread, ThreadParticipant
from diary_service.models.school import TimetableChange
from portal.extensions import db as portal_db
from shared.sessions import utcnow
from tests.conftest import (
    ROOT,
    SECRETS,
    IsolatedClient,
    LiveServer,
    database_url,
    free_port,
    migrate_app,
    wipe,
)
from tests.diary_service.factories import World, build_world, lesson, mark, monday_of
from tests.portal.oidc_helpers import Browser, register, tokens

CLIENT_ID = "diary-api-test"


# --- a stand-in portal: discovery and keys ---------------------------------------------


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, {"kid": kid, "alg": "RS256", "use": "sig"}, private=True)


class KeysServer:
    """Serves an OpenID Provider's discovery document and JWKS (``published``), and
    counts how often the JWKS was fetched."""

    def __init__(self) -> None:
        self.published: list[Any] = [
            rsa_key("k1"),
            ECKey.generate_key("P-256", {"kid": "e1", "alg": "ES256", "use": "sig"}, private=True),
        ]
        self.fetches = 0
        self.url = ""
        self.app = Flask("keys")

        @self.app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(issuer=self.url, jwks_uri=self.url + "/jwks")

        @self.app.get("/jwks")
        def jwks():
            self.fetches += 1
            return jsonify(KeySet(self.published).as_dict(private=False))

    def key(self, kid: str) -> Any:
        return next(key for key in self.published if key.kid == kid)


@pytest.fixture(scope="module")
def keys_server() -> Iterator[KeysServer]:
    server = KeysServer()
    with LiveServer(server.app) as live:
        server.url = live.url
        yield server


def make_diary(tmp, portal_url: str, client_id: str = CLIENT_ID) -> Flask:
    app = create_diary(
        {
            "ENV": "test",
            "SECRET_KEY": SECRETS["SECRET_KEY"],
            "DATABASE_URL": database_url("TEST_DIARY_DATABASE_URL", tmp, "diary"),
            "PORTAL_URL": portal_url,
            "OIDC_CLIENT_ID": client_id,
        }
    )
    app.test_client_class = IsolatedClient
    migrate_app(app, ROOT / "diary_service" / "migrations")
    app.logger.disabled = False  # Alembic's logging setup turns it off; the tests read it
    return app


@pytest.fixture(scope="module")
def diary_app(tmp_path_factory, keys_server) -> Iterator[Flask]:
    """This module's diary (the ``diary`` and ``world`` fixtures use it): trusting the
    stand-in portal's keys, as client ``CLIENT_ID``."""
    app = make_diary(tmp_path_factory.mktemp("diary-api"), keys_server.url)
    yield app
    with app.app_context():
        db.engine.dispose()


def mint(
    server: KeysServer,
    sub: str | None,
    *,
    kid: str = "k1",
    key: Any = None,
    header: dict | None = None,
    **claims: Any,
) -> str:
    """An access token as the portal makes them (``portal.oidc.server.generate_token``),
    with ``claims`` changed (None drops one) and ``header`` changed likewise."""
    now = int(time.time())
    body = {
        "iss": server.url,
        "sub": sub,
        "aud": CLIENT_ID,
        "client_id": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "jti": secrets.token_urlsafe(12),
        "scope": "openid profile email phone snils kids",
        "acr": "urn:gosdiary:acr:standard",
        **claims,
    }
    signer = key or server.key(kid)
    head = {"alg": "ES256" if isinstance(signer, ECKey) else "RS256", "kid": kid, "typ": "at+jwt"}
    head.update(header or {})
    return jwt.encode(
        {k: v for k, v in head.items() if v is not None},
        {k: v for k, v in body.items() if v is not None},
        signer,
        default_type=None,
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def handmade(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A token joserfc would refuse to make (``alg: none``, HMAC with a public key)."""
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


# --- the OpenAPI document as a checker ---------------------------------------------------

TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def departures(value: Any, schema: dict, doc: dict, where: str = "$") -> list[str]:
    """Where ``value`` departs from ``schema`` (the part of JSON Schema the document
    uses: $ref, oneOf, type, enum, pattern, date formats, properties, required,
    additionalProperties, propertyNames, items)."""
    if "$ref" in schema:
        return departures(value, resolve(doc, schema["$ref"]), doc, where)
    if "oneOf" in schema:
        fits = [not departures(value, option, doc, where) for option in schema["oneOf"]]
        return [] if fits.count(True) == 1 else [f"{where}: {fits.count(True)} oneOf fit"]
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(TYPES[kind](value) for kind in kinds):
            return [f"{where}: {value!r} is not {kinds}"]
    found = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date":
            date.fromisoformat(value)
        if schema.get("format") == "date-time":
            assert value.endswith("Z"), value
            datetime.fromisoformat(value[:-1])
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        found += [f"{where}: no {name}" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if "propertyNames" in schema:
                found += departures(name, schema["propertyNames"], doc, f"{where} key")
            extra = schema.get("additionalProperties")
            if name in properties:
                found += departures(item, properties[name], doc, f"{where}.{name}")
            elif extra is False:
                found.append(f"{where}: undocumented {name}")
            elif isinstance(extra, dict):
                found += departures(item, extra, doc, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += departures(item, schema["items"], doc, f"{where}[{i}]")
    return found


def resolve(doc: dict, pointer: str) -> dict:
    node: Any = doc
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part]
    return node


def template_of(doc: dict, path: str) -> str:
    """The documented path (``/children/{student_id}/week``) a request path matches."""
    for template in doc["paths"]:
        pattern = "^/api/v1" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in the OpenAPI document")


# --- calling the API ---------------------------------------------------------------------


@dataclass
class Api:
    """The diary's API as a mobile client calls it. Every answer is checked against
    the OpenAPI document (its schema for that path and status)."""

    http: FlaskClient
    keys: KeysServer
    doc: dict = field(default_factory=dict)

    def token(self, person: DiaryPerson, **claims: Any) -> str:
        return mint(self.keys, person.sub, **claims)

    def get(self, path: str, who: DiaryPerson | str | None = None, **kw: Any):
        return self.call("get", path, who, **kw)

    def post(self, path: str, who: DiaryPerson | str | None = None, **kw: Any):
        return self.call("post", path, who, **kw)

    def call(self, method: str, path: str, who: DiaryPerson | str | None = None, **kw: Any):
        headers = dict(kw.pop("headers", {}))
        if who is not None:
            token = who if isinstance(who, str) else self.token(who)
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.open(path, method=method.upper(), headers=headers, **kw)
        self.check(path.split("?")[0], response, method)
        return response

    def check(self, path: str, response, method: str = "get") -> None:
        assert response.content_type == "application/json", response.data[:300]
        operation = self.doc["paths"][template_of(self.doc, path)][method]
        documented = operation["responses"].get(str(response.status_code))
        assert documented, f"{response.status_code} is not documented for {path}"
        if "$ref" in documented:
            documented = resolve(self.doc, documented["$ref"])
        schema = documented["content"]["application/json"]["schema"]
        assert departures(response.get_json(), schema, self.doc) == []
        if response.status_code == 401 or "insufficient_scope" in response.data.decode():
            assert response.headers["WWW-Authenticate"].startswith('Bearer realm="diary"')
        assert "Set-Cookie" not in response.headers  # no session, ever


@pytest.fixture
def api(diary, keys_server) -> Api:
    http = diary.test_client()
    doc = http.get("/api/v1/openapi.json").get_json()
    return Api(http, keys_server, doc)


# --- what the journal holds ----------------------------------------------------------


@dataclass
class Journal:
    """Пётр's (6А) and Алиса's (9Б) week in the second quarter, a final mark of the
    first quarter, and messages."""

    monday: date
    homework: Homework
    corrected: Mark
    direct: Thread
    class_parents: Thread


@pytest.fixture
def journal(world: World) -> Journal:
    one = world.one
    teacher, teacher2 = one.staff["teacher"], one.staff["teacher2"]
    petr, alisa = one.students["petr"], one.students["alisa"]
    monday = monday_of(one.periods[1].starts_on) + timedelta(days=7)
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)

    math = lesson(world, "6А", monday, 1, "Сложение десятичных дробей")
    russian = lesson(world, "6А", monday, 2, "Правописание приставок")
    math_tuesday = lesson(world, "6А", tuesday, 1, "Вычитание десятичных дробей")
    homework = Homework(
        lesson_id=math.id, text="Учебник, № 245 и 247", due_on=tuesday, updated_by_id=teacher.id
    )
    homework.attachments = [
        HomeworkAttachment(
            filename="задачи.pdf", content_type="application/pdf", size=4, data=b"%PDF"
        )
    ]
    db.session.add(homework)
    mark(world, "petr", math, "4", "control", 5, comment="Ошибка в задаче 3")
    mark(world, "petr", math_tuesday, "5", "test", 3)
    first = mark(world, "petr", russian, "3", "dictation", 3, is_current=False)
    corrected = mark(world, "petr", russian, "4", "dictation", 3, previous_id=first.id)
    algebra = lesson(world, "9Б", monday, 1, "Квадратные уравнения")
    mark(world, "alisa", algebra, "5", "control", 5)
    policy = db.session.execute(
        sa.select(MarkPolicy).where(MarkPolicy.school_id == one.school.id)
    ).scalar_one()
    db.session.add_all(
        [
            Attendance(lesson_id=russian.id, student_id=petr.id, code="н", author_id=teacher2.id),
            Remark(
                student_id=petr.id,
                lesson_id=math.id,
                subject_id=world.subjects["math"].id,
                kind="behaviour",
                text="Разговаривал на контрольной работе",
                author_id=teacher.id,
            ),
            Remark(
                student_id=alisa.id,
                lesson_id=algebra.id,
                subject_id=world.subjects["math"].id,
                kind="praise",
                text="Отличный ответ у доски",
                author_id=teacher.id,
            ),
            TimetableChange(
                class_id=one.classes["6А"].id,
                on_date=wednesday,
                lesson_number=2,
                kind="substitution",
                substitute_id=teacher.id,
                note="Вместо русского языка — математика",
            ),
            FinalMark(
                student_id=petr.id,
                subject_id=world.subjects["math"].id,
                year_id=one.year.id,
                period_id=one.periods[0].id,
                kind="period",
                value="5",
                average=Decimal("4.71"),
                suggested="5",
                policy_id=policy.id,
                author_id=teacher.id,
            ),
        ]
    )
    now = utcnow()
    parent, parent2 = world.people["parent"], world.people["parent2"]
    direct = Thread(
        kind="direct",
        student_id=petr.id,
        subject="Контрольная работа",
        created_by_id=world.people["teacher"].id,
        last_message_at=now,
    )
    direct.participants = [
        ThreadParticipant(person_id=world.people["teacher"].id, last_read_at=now),
        ThreadParticipant(person_id=parent.id),
    ]
    class_parents = Thread(
        kind="class_parents",
        class_id=one.classes["6А"].id,
        subject="",
        created_by_id=parent2.id,
        last_message_at=now,
    )
    db.session.add_all([direct, class_parents])
    db.session.flush()
    db.session.add_all(
        [
            Message(
                thread_id=direct.id,
                author_id=world.people["teacher"].id,
                body="Пётр написал контрольную на четыре.",
                created_at=now,
            ),
            Message(
                thread_id=class_parents.id,
                author_id=parent2.id,
                body="Реклама репетитора",
                created_at=now,
                hidden_at=now,
                hidden_by_id=world.people["teacher"].id,
                hidden_reason="Не по теме класса",
            ),
        ]
    )
    db.session.commit()
    return Journal(monday, homework, corrected, direct, class_parents)


# --- a real token from the portal ---------------------------------------------------------


def test_an_access_token_from_the_portals_token_endpoint_opens_the_childs_week(
    app, portal_server, make_citizen, tmp_path
):
    citizen = make_citizen(phone="+79161112233")
    rp = register(client_id="diary-api-real", scopes=("openid", "profile", "snils", "kids"))
    browser = Browser(app, "+79161112233")
    access_token = tokens(browser, rp, scope="openid profile")["access_token"]
    sub = citizen.public_id
    portal_db.session.commit()

    diary = make_diary(tmp_path, portal_server, client_id="diary-api-real")
    with diary.app_context():
        world = build_world()
        world.people["parent"].sub = sub  # as their first sign-in left it
        db.session.commit()
        http = diary.test_client()
        auth = {"Authorization": f"Bearer {access_token}"}
        listed = http.get("/api/v1/children", headers=auth)
        assert listed.status_code == 200, listed.get_json()
        assert [c["given_name"] for c in listed.get_json()["children"]] == ["Пётр", "Алиса"]
        petr = world.one.students["petr"]
        week = http.get(f"/api/v1/children/{petr.id}/week", headers=auth)
        assert week.status_code == 200 and week.get_json()["student_id"] == petr.id
        # Another family's child, with the same good token: the pages' rules apply.
        stranger = world.two.students["petr"]
        assert http.get(f"/api/v1/children/{stranger.id}/week", headers=auth).status_code == 403
        wipe(db)
        db.engine.dispose()


# --- what a parent, a student and others see -------------------------------------------


def test_children_are_the_viewers_children_and_own_record(api, world):
    parent = api.get("/api/v1/children", world.people["parent"]).get_json()["children"]
    assert [(c["given_name"], c["class"]["name"], c["is_self"]) for c in parent] == [
        ("Пётр", "6А", False),
        ("Алиса", "9Б", False),
    ]
    assert parent[0]["school"]["short_name"] == "СОШ № 1"
    assert parent[0]["sections"] == sorted(
        ["schedule", "homework", "marks", "attendance", "remarks", "messages"]
    )
    (own,) = api.get("/api/v1/children", world.people["alisa"]).get_json()["children"]
    assert own["given_name"] == "Алиса" and own["is_self"] is True
    assert "remarks" not in own["sections"]
    for name in ("nobody", "teacher", "department"):
        assert api.get("/api/v1/children", world.people[name]).get_json() == {"children": []}


def test_a_parent_reads_the_week_as_the_page_shows_it(api, world, journal):
    petr = world.one.students["petr"]
    path = (
        f"/api/v1/children/{petr.id}/week?date={(journal.monday + timedelta(days=3)).isoformat()}"
    )
    week = api.get(path, world.people["parent"]).get_json()
    assert week["monday"] == journal.monday.isoformat()
    assert week["next"] == (journal.monday + timedelta(days=7)).isoformat()
    assert len(week["days"]) == 6 and week["days"][0]["date"] == journal.monday.isoformat()
    monday, tuesday, wednesday = week["days"][:3]
    math, russian = monday["lessons"]
    assert (math["number"], math["starts_at"], math["ends_at"]) == (1, "08:30", "09:15")
    assert math["subject"]["name"] == "Математика" and math["teacher"] == "Смирнова О. В."
    assert math["room"] == "21" and math["topic"] == "Сложение десятичных дробей"
    assert math["homework"]["text"] == "Учебник, № 245 и 247"
    assert math["homework"]["due_on"] == tuesday["date"]
    assert [a["filename"] for a in math["homework"]["attachments"]] == ["задачи.pdf"]
    assert math["marks"] == [
        {
            "id": math["marks"][0]["id"],
            "date": monday["date"],
            "value": "4",
            "kind": "control",
            "weight": 5,
            "comment": "Ошибка в задаче 3",
            "corrected": False,
        }
    ]
    assert russian["attendance"] == "н"
    assert [(m["value"], m["corrected"], m["id"]) for m in russian["marks"]] == [
        ("4", True, journal.corrected.id)
    ]
    assert [h["id"] for h in tuesday["due"]] == [journal.homework.id]
    substituted = wednesday["lessons"][1]
    assert substituted["change"] == "substitution" and substituted["teacher"] == "Смирнова О. В."
    assert substituted["regular_teacher"] == "Орлов П. И." and not substituted["cancelled"]
    assert [(r["kind"], r["text"]) for r in week["remarks"]] == [
        ("behaviour", "Разговаривал на контрольной работе")
    ]
    for bad in ("2026-02-30", "next"):
        refused = api.get(f"/api/v1/children/{petr.id}/week?date={bad}", world.people["parent"])
        assert refused.status_code == 400
        assert "ГГГГ-ММ-ДД" in refused.get_json()["error_description"]


def test_a_student_sees_their_week_without_the_remarks_to_parents(api, world, journal):
    alisa = world.one.students["alisa"]
    path = f"/api/v1/children/{alisa.id}/week?date={journal.monday.isoformat()}"
    own = api.get(path, world.people["alisa"]).get_json()
    assert "remarks" not in own and "remarks" not in own["sections"]
    assert [m["value"] for m in own["days"][0]["lessons"][0]["marks"]] == ["5"]
    assert "Отличный ответ у доски" not in json.dumps(own, ensure_ascii=False)
    parents = api.get(path, world.people["parent"]).get_json()
    assert [r["text"] for r in parents["remarks"]] == ["Отличный ответ у доски"]


def test_marks_of_a_period_with_averages_forecast_and_final_marks(api, world, journal):
    one, petr = world.one, world.one.students["petr"]
    marks = api.get(f"/api/v1/children/{petr.id}/marks", world.people["parent"]).get_json()
    assert marks["period"]["id"] == one.periods[1].id  # the current one by default
    assert [p["number"] for p in marks["periods"]] == [1, 2, 3, 4]
    assert marks["policy"]["version"] == 1 and marks["policy"]["weights"]["control"] == 5
    assert marks["policy"]["thresholds"] == {"5": "4.60", "4": "3.60", "3": "2.60"}
    by_subject = {s["subject"]["name"]: s for s in marks["subjects"]}
    math = by_subject["Математика"]
    assert [m["value"] for m in math["marks"]] == ["4", "5"]
    assert math["average"] == "4.38" and math["suggested"] == "4"  # (4×5 + 5×3) / 8
    assert math["forecast"][0]["target"] == "5" and math["forecast"][0]["kind"] == "control"
    assert by_subject["Русский язык"]["average"] == "4.00"
    (final,) = marks["finals"]
    assert final["subject"]["name"] == "Математика"
    assert final["periods"] == [
        {
            "value": "5",
            "average": "4.71",
            "suggested": "5",
            "policy_version": 1,
            "period_id": one.periods[0].id,
        }
    ]
    first = api.get(
        f"/api/v1/children/{petr.id}/marks?period={one.periods[0].id}", world.people["parent"]
    ).get_json()
    assert first["subjects"][0]["final"]["value"] == "5" and first["subjects"][0]["marks"] == []
    # Another school's period is no period of this student's.
    other = world.two.periods[1].id
    answer = api.get(f"/api/v1/children/{petr.id}/marks?period={other}", world.people["parent"])
    assert answer.status_code == 404


def test_homework_over_a_range_of_days(api, world, journal):
    petr = world.one.students["petr"]
    start = journal.monday.isoformat()
    end = (journal.monday + timedelta(days=6)).isoformat()
    path = f"/api/v1/children/{petr.id}/homework"
    found = api.get(f"{path}?from={start}&to={end}", world.people["parent"]).get_json()
    assert (found["from"], found["to"]) == (start, end)
    assert [(h["subject"]["name"], h["set_on"], h["text"]) for h in found["homework"]] == [
        ("Математика", start, "Учебник, № 245 и 247")
    ]
    later = (journal.monday + timedelta(days=14)).isoformat()
    assert api.get(f"{path}?from={later}", world.people["parent"]).get_json()["homework"] == []
    # Алиса's class (9Б) has none of 6А's homework.
    alisa = world.one.students["alisa"]
    assert (
        api.get(
            f"/api/v1/children/{alisa.id}/homework?from={start}&to={end}", world.people["alisa"]
        ).get_json()["homework"]
        == []
    )
    for query in (f"from={end}&to={start}", "from=2026-13-01", "from=23.11.2026", "to=x"):
        refused = api.get(f"{path}?{query}", world.people["parent"])
        assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_request"
    too_long = api.get(f"{path}?from={start}&to=2030-01-01", world.people["parent"])
    assert too_long.status_code == 400
    assert "62" in too_long.get_json()["error_description"]


def test_attendance_of_a_period(api, world, journal):
    petr = world.one.students["petr"]
    q2 = world.one.periods[1]
    found = api.get(
        f"/api/v1/children/{petr.id}/attendance?period={q2.id}", world.people["parent"]
    ).get_json()
    assert found["period"]["id"] == q2.id and found["total"] == {"н": 1}
    assert found["by_subject"][0]["subject"]["name"] == "Русский язык"
    assert [(e["date"], e["lesson_number"], e["code"]) for e in found["entries"]] == [
        (journal.monday.isoformat(), 2, "н")
    ]
    q1 = world.one.periods[0]
    empty = api.get(
        f"/api/v1/children/{petr.id}/attendance?period={q1.id}", world.people["parent"]
    ).get_json()
    assert empty["total"] == {} and empty["entries"] == []
    refused = api.get(f"/api/v1/children/{petr.id}/attendance?period=abc", world.people["parent"])
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("week?date=9999-12-31", "между 1900 и 2100"),
        ("week?date=0001-01-01", "между 1900 и 2100"),
        ("homework?from=9999-12-31", "между 1900 и 2100"),
        ("homework?from=0001-01-01", "между 1900 и 2100"),
        ("homework?to=9999-12-31", "между 1900 и 2100"),
        (f"marks?period={2**31}", "целым числом"),
        (f"attendance?period={2**64}", "целым числом"),
    ],
)
def test_extreme_dates_and_ids_are_a_400_not_a_crash(api, world, query, words):
    """Issue 11: ``week?date=9999-12-31`` and ``homework?from=0001-01-01`` overflowed
    the date arithmetic (500)."""
    petr = world.one.students["petr"]
    refused = api.get(f"/api/v1/children/{petr.id}/{query}", world.people["parent"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_request"
    assert words in refused.get_json()["error_description"]


def test_an_id_beyond_64_bits_in_the_path_is_not_found(api, world):
    missing = api.get(f"/api/v1/children/{2**31}/week", world.people["parent"])
    assert missing.status_code == 404


# Who asks about whom → the status of each endpoint: the family pages' access rules.
ENDPOINTS = ("week", "marks", "homework", "attendance")
ACCESS = [
    # (person, school, student, week, marks, homework, attendance)
    ("parent", "one", "petr", 200, 200, 200, 200),
    ("parent2", "one", "petr", 403, 403, 403, 403),  # another family's child
    ("alisa", "one", "petr", 403, 403, 403, 403),  # a student: only herself
    ("nobody", "one", "petr", 403, 403, 403, 403),
    ("parent", "two", "petr", 403, 403, 403, 403),  # world.two's Пётр is someone else
    ("two_parent", "one", "petr", 403, 403, 403, 403),  # world.two's parent
    ("two_parent", "two", "petr", 200, 200, 200, 200),
    ("teacher", "one", "petr", 200, 200, 200, 200),  # class teacher of 6А
    ("teacher2", "one", "petr", 200, 200, 200, 200),  # subject teacher in 6А
    ("two_teacher", "one", "petr", 403, 403, 403, 403),
    ("nurse", "one", "petr", 403, 403, 403, 200),  # health worker: attendance only
    ("admin", "one", "petr", 200, 200, 200, 200),
    ("department", "one", "petr", 403, 403, 403, 403),  # aggregates only
]


def test_each_endpoint_follows_the_pages_access_rules(api, world, journal):
    seen = []
    expected = []
    for person, school, student, *statuses in ACCESS:
        target = getattr(world, school).students[student]
        token = api.token(world.people[person])
        for endpoint, status in zip(ENDPOINTS, statuses, strict=True):
            answer = api.get(f"/api/v1/children/{target.id}/{endpoint}", token)
            seen.append((person, school, endpoint, answer.status_code))
            expected.append((person, school, endpoint, status))
            if answer.status_code == 403:
                assert answer.get_json()["error"] == "access_denied"
    assert seen == expected
    missing = api.get("/api/v1/children/999999/week", world.people["parent"])
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_threads_with_unread_flags_and_a_threads_messages(api, world, journal):
    parent = world.people["parent"]
    listed = api.get("/api/v1/messages", parent).get_json()["threads"]
    rows = {row["id"]: row for row in listed}
    assert set(rows) == {journal.direct.id, journal.class_parents.id}
    assert rows[journal.direct.id]["unread"] is True
    assert rows[journal.direct.id]["student_id"] == world.one.students["petr"].id
    assert rows[journal.class_parents.id]["class"]["name"] == "6А"

    opened = api.get(f"/api/v1/messages/{journal.direct.id}", parent).get_json()
    assert opened["thread"]["subject"] == "Контрольная работа"
    assert [(m["author"], m["body"], m["mine"]) for m in opened["messages"]] == [
        ("Смирнова Ольга Викторовна", "Пётр написал контрольную на четыре.", False)
    ]
    assert opened["can_post"] is True
    assert opened["read_until"] is None
    # Reading changes nothing; the client marks the thread read up to what it showed.
    after = api.get("/api/v1/messages", parent).get_json()["threads"]
    assert {row["id"]: row["unread"] for row in after}[journal.direct.id] is True
    (shown,) = opened["messages"]
    marked = api.post(f"/api/v1/messages/{journal.direct.id}/read?seen={shown['id']}", parent)
    assert marked.status_code == 200
    assert marked.get_json() == {
        "thread_id": journal.direct.id,
        "read_until": shown["created_at"],
    }
    after = api.get("/api/v1/messages", parent).get_json()["threads"]
    assert {row["id"]: row["unread"] for row in after}[journal.direct.id] is False
    again = api.get(f"/api/v1/messages/{journal.direct.id}", parent).get_json()
    assert again["read_until"] == shown["created_at"]
    # A message of another thread, or none at all, is a bad request; nothing is marked.
    for wrong in ("999999", "abc"):
        bad = api.post(f"/api/v1/messages/{journal.class_parents.id}/read?seen={wrong}", parent)
        assert bad.status_code == 400, wrong
    listed = api.get("/api/v1/messages", parent).get_json()["threads"]
    assert {row["id"]: row["unread"] for row in listed}[journal.class_parents.id] is True

    # A hidden message keeps its place and reason, not its text; the class teacher,
    # who moderates, still reads it.
    path = f"/api/v1/messages/{journal.class_parents.id}"
    (hidden,) = api.get(path, parent).get_json()["messages"]
    assert hidden["hidden"] is True and hidden["body"] is None
    assert hidden["hidden_reason"] == "Не по теме класса"
    (moderated,) = api.get(path, world.people["teacher"]).get_json()["messages"]
    assert moderated["body"] == "Реклама репетитора"

    # A student's own account: no class-wide threads, not her parents' correspondence.
    assert api.get("/api/v1/messages", world.people["alisa"]).get_json() == {"threads": []}
    for stranger in ("alisa", "two_parent", "nobody", "parent2"):
        refused = api.get(f"/api/v1/messages/{journal.direct.id}", world.people[stranger])
        assert refused.status_code == 403, stranger
        refused = api.post(f"/api/v1/messages/{journal.direct.id}/read", world.people[stranger])
        assert refused.status_code == 403, stranger
    assert api.get("/api/v1/messages/999999", parent).status_code == 404
    assert api.post("/api/v1/messages/999999/read", parent).status_code == 404


# --- tokens ----------------------------------------------------------------------------


def pem_of(key: RSAKey) -> bytes:
    return key.as_pem(private=False)


# What is wrong with the token → the challenge's error_description, and why the
# diary's log says it refused it (never with the token or its claims).
INVALID = "The access token is not valid"
FORGERIES = {
    "an ID token (typ JWT)": ({"header": {"typ": "JWT"}}, INVALID, "header: typ is not at+jwt"),
    "no typ": ({"header": {"typ": None}}, INVALID, "header: typ is not at+jwt"),
    "a logout token": ({"header": {"typ": "logout+jwt"}}, INVALID, "header: typ is not at+jwt"),
    "from another issuer": ({"iss": "https://evil.example"}, INVALID, "claims: invalid_claim iss"),
    "for another client": (
        {"aud": "another-client", "client_id": "another-client"},
        "The access token was issued for another service",
        "claims: invalid_claim aud",
    ),
    "for several clients, not this one": (
        {"aud": ["another-client", "a-third-client"]},
        "The access token was issued for another service",
        "claims: invalid_claim aud",
    ),
    "expired": ({"exp": -600}, "The access token expired", "claims: expired"),
    "not valid yet": ({"nbf": +600}, INVALID, "claims: invalid_claim nbf"),
    "issued in the future": ({"iat": +600}, INVALID, "claims: invalid_claim iat"),
    "without sub": ("no sub", INVALID, "claims: missing_claim sub"),
    "without client_id": ({"client_id": None}, INVALID, "claims: missing_claim client_id"),
    "without jti": ({"jti": None}, INVALID, "claims: missing_claim jti"),
    "without exp": ({"exp": None}, INVALID, "claims: missing_claim exp"),
    "signed by another key with a known kid": (
        "stranger key",
        INVALID,
        "signature: BadSignatureError",
    ),
    "without kid": ({"header": {"kid": None}}, INVALID, "header: no kid"),
    "alg none": ("none", INVALID, "signature: UnsupportedAlgorithmError"),
    "HS256 with the public key as secret": (
        "hmac",
        INVALID,
        "signature: UnsupportedAlgorithmError",
    ),
    "not a JWT": ("junk", INVALID, "signature: DecodeError"),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_bad_token_is_refused_with_a_bearer_challenge(forgery, api, world, keys_server, caplog):
    parent = world.people["parent"]
    change, description, reason = FORGERIES[forgery]
    now = int(time.time())
    claims = {
        "iss": keys_server.url,
        "sub": parent.sub,
        "aud": CLIENT_ID,
        "client_id": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "jti": "j",
        "scope": "openid",
    }
    if change == "none":
        token = handmade({"alg": "none", "typ": "at+jwt", "kid": "k1"}, claims)
    elif change == "hmac":
        header = {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}
        unsigned = handmade(header, claims).rsplit(".", 1)[0]
        secret = pem_of(keys_server.key("k1"))
        signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        token = unsigned + "." + b64(signature)
    elif change == "no sub":
        token = mint(keys_server, None)
    elif change == "junk":
        token = "not-a-jwt"
    elif change == "stranger key":
        token = mint(keys_server, parent.sub, key=rsa_key("k1"))
    else:
        # Times are given as seconds from now, read when the test runs (a slow run
        # reaches this test long after the module was collected).
        moments = {
            name: now + value
            for name, value in change.items()
            if name in ("exp", "nbf", "iat") and isinstance(value, int)
        }
        token = mint(keys_server, parent.sub, **{**change, **moments})
    caplog.set_level(logging.INFO, logger=api.http.application.logger.name)
    answer = api.get("/api/v1/children", token)
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_token"
    assert answer.headers["WWW-Authenticate"] == (
        f'Bearer realm="diary", error="invalid_token", error_description="{description}"'
    )
    logged = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert logged == [f"API access token refused: {reason}"]


def test_a_request_without_a_token_gets_a_challenge_without_an_error(api, world):
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        answer = api.get("/api/v1/children", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="diary"'
        assert "error" not in answer.get_json()
        assert answer.headers["Cache-Control"] == "no-store"


def test_a_signed_in_browser_session_does_not_open_the_api(login, world):
    """The API reads no cookie: a browser signed in to the diary gets no data from it."""
    browser = login(world.people["parent"])
    answer = browser.get("/api/v1/children")
    assert (
        answer.status_code == 401 and answer.headers["WWW-Authenticate"] == 'Bearer realm="diary"'
    )
    assert "Set-Cookie" not in answer.headers


def test_a_token_in_the_address_is_refused(api, world):
    token = api.token(world.people["parent"])
    answer = api.get(f"/api/v1/children?access_token={token}")
    assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_request"


def test_a_token_without_the_openid_scope_is_refused(api, world):
    token = api.token(world.people["parent"], scope="profile")
    answer = api.get("/api/v1/children", token)
    assert answer.status_code == 403 and answer.get_json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    assert 'scope="openid"' in answer.headers["WWW-Authenticate"]


def test_someone_who_never_signed_in_to_the_diary_is_told_to(api, world):
    answer = api.get("/api/v1/children", mint(api.keys, "sub-of-a-stranger"))
    assert answer.status_code == 403 and answer.get_json()["error"] == "access_denied"
    # Russian by default, like the pages.
    assert "Вы ещё не входили в дневник" in answer.get_json()["error_description"]
    assert (
        db.session.execute(
            sa.select(DiaryPerson).where(DiaryPerson.sub == "sub-of-a-stranger")
        ).first()
        is None
    )


def test_an_es256_token_is_accepted(api, world):
    answer = api.get("/api/v1/children", mint(api.keys, world.people["parent"].sub, kid="e1"))
    assert answer.status_code == 200


def test_a_new_key_of_the_portal_is_fetched_once_and_made_up_kids_are_not(
    api, world, keys_server, diary
):
    parent = world.people["parent"]
    assert api.get("/api/v1/children", parent).status_code == 200  # the keys are cached now
    diary.extensions["diary_oidc"]["jwks_refreshed_at"] = time.monotonic() - 3600  # long ago
    fetched = keys_server.fetches

    keys_server.published.append(rsa_key("k2"))  # the portal rotated a key in
    try:
        token = mint(keys_server, parent.sub, kid="k2")
        assert api.get("/api/v1/children", token).status_code == 200
        assert keys_server.fetches == fetched + 1
        assert api.get("/api/v1/children", token).status_code == 200
        assert keys_server.fetches == fetched + 1  # cached

        # A made-up kid right after: refused without asking the portal again.
        made_up = mint(keys_server, parent.sub, kid="k3", key=rsa_key("k3"))
        assert api.get("/api/v1/children", made_up).status_code == 401
        assert keys_server.fetches == fetched + 1
    finally:
        keys_server.published.pop()


def test_when_the_portals_keys_cannot_be_fetched_the_api_says_so(tmp_path, keys_server):
    """A diary that has not cached the portal's keys yet, with the portal down."""
    down = make_diary(tmp_path, f"http://127.0.0.1:{free_port()}")
    http = down.test_client()
    api = Api(http, keys_server, http.get("/api/v1/openapi.json").get_json())
    answer = api.get("/api/v1/children", mint(keys_server, "sub-parent"))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
    assert answer.get_json()["error"] == "temporarily_unavailable"
    with down.app_context():
        db.engine.dispose()


# --- the document ------------------------------------------------------------------------


def test_the_openapi_document_describes_every_route(diary):
    doc = diary.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["portalAccessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": doc["components"]["securitySchemes"]["portalAccessToken"]["description"],
    }
    assert doc["security"] == [{"portalAccessToken": []}]
    routes = {}
    for rule in diary.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes[path] = {m.lower() for m in rule.methods} - {"head", "options"}
    assert routes == {path: set(item) for path, item in doc["paths"].items()}
    for path, item in doc["paths"].items():
        ((_method, operation),) = item.items()
        if path == "/openapi.json":
            assert operation["security"] == []
            continue
        assert {"200", "401", "403", "503"} <= set(operation["responses"]), path
        parameters = [
            resolve(doc, p["$ref"]) if "$ref" in p else p for p in operation["parameters"]
        ]
        in_path = {p["name"] for p in parameters if p["in"] == "path"}
        assert in_path == set(re.findall(r"\{([^}]+)\}", path)), path
    for name, schema in doc["components"]["schemas"].items():
        refs = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema))
        assert set(refs) <= set(doc["components"]["schemas"]), name
