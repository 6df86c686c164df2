"""A GET never writes (issue 11): every GET route of the diary, with real ids from the
test world, as every role of the access table (and the JSON API with every role's
bearer token), leaves every table exactly as it was. A cross-site ``<img>`` or a
prefetching browser must not be able to change anything: every change of state is a
POST with a CSRF token.

One table is left out, on purpose: ``student_access``, the access log ("who looked at
my child's data", ``family.audit``). Looking is what it records, so a page that shows a
student's record writes it on GET by design; a forged GET can only add a true line
(that this very person looked). Of the sessions table only the row's idle clock
(``last_seen_at`` and the address it was seen from) may move: it is how the session
times out, not data of the diary.

The sign-in is the one GET that writes by protocol (OpenID Connect's authorization
request and response are redirects, RFC 6749 §4.1): ``auth.login`` keeps the pending
sign-in in the visitor's own new session and nothing else, which the test checks too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify

from diary_service.extensions import db
from diary_service.models.messages import Message
from tests.conftest import LiveServer, wipe
from tests.diary_service.factories import build_world, signed_in
from tests.diary_service.test_access_table import (
    ROLES,
    TABLE,
    answer_request_of,
    application_of,
    build_objects,
)
from tests.diary_service.test_api import KeysServer, make_diary, mint

# The access log is written on GET by design (see the module's docstring).
LOG_TABLE = "student_access"
SESSION_TABLE = "diary_session"
# The session's idle clock, moved by any request at most once a minute.
SESSION_CLOCK = {"last_seen_at", "ip"}
# GET routes that only the sign-in may write on, and the only table they may write.
SIGN_IN = {"auth.login": {SESSION_TABLE}}


@pytest.fixture(scope="module")
def keys_server() -> Iterator[KeysServer]:
    """The stand-in portal of the API's tests, whose discovery document also names an
    authorization endpoint (where the sign-in sends the visitor)."""
    server = KeysServer()

    def discovery():
        return jsonify(
            issuer=server.url,
            jwks_uri=server.url + "/jwks",
            authorization_endpoint=server.url + "/authorize",
        )

    server.app.view_functions["discovery"] = discovery
    with LiveServer(server.app) as live:
        server.url = live.url
        yield server


@pytest.fixture(scope="module")
def diary_app(tmp_path_factory, keys_server) -> Iterator[Flask]:
    """This module's diary, trusting the stand-in portal's keys (the API's tokens)."""
    app = make_diary(tmp_path_factory.mktemp("diary-get"), keys_server.url)
    yield app
    with app.app_context():
        db.engine.dispose()


def _watched(table: sa.Table) -> list[sa.Column]:
    return [
        c for c in table.columns if not (table.name == SESSION_TABLE and c.name in SESSION_CLOCK)
    ]


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table but the access log, in primary-key order."""
    db.session.rollback()  # see what the requests committed, not an older snapshot
    with db.engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(
                    sa.select(*_watched(table)).order_by(*table.primary_key.columns)
                )
            ]
            for table in db.metadata.sorted_tables
            if table.name != LOG_TABLE
        }


def changed(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def unopened_slot(world) -> date:
    """A weekday of the year with a timetable slot (maths at lesson 1) and no lesson
    row: the year's last weekday before its last day (which the objects make a
    holiday)."""
    day = world.one.year.ends_on - timedelta(days=1)
    while day.isoweekday() > 5:
        day -= timedelta(days=1)
    return day


Url = Callable[[Any, SimpleNamespace], str]

# Endpoint → the addresses walked: every GET row of the access table, a lesson slot
# nobody has opened yet, a grid nobody has opened, and the frame's own GET routes.
WEB: dict[str, list[Url]] = {}
for _route in TABLE:
    if _route.method == "GET":
        WEB.setdefault(_route.endpoint, []).append(
            # Фёдор's rows need his transfer in the past (a young year has none).
            (
                lambda route: (
                    lambda world, o: None if route.moved and o.moved is None else route.url(o)
                )
            )(_route)
        )
WEB["journal.plan_lesson"].append(
    lambda world, o: f"/journal/{o.cls}/{o.math}/on/{unopened_slot(world).isoformat()}/1"
)
WEB["journal.grid"].append(lambda world, o: f"/journal/{o.class_9b}/{o.math}")
WEB.update(
    {
        "home.index": [lambda world, o: "/"],
        "auth.login": [lambda world, o: "/auth/login"],
        "auth.callback": [
            lambda world, o: "/auth/callback",
            lambda world, o: "/auth/callback?code=x&state=y",
        ],
        "federation.schools": [lambda world, o: "/federation/schools"],
        "health.healthz": [lambda world, o: "/healthz"],
        "health.readyz": [lambda world, o: "/readyz"],
        "metrics.export": [lambda world, o: "/metrics"],
        "i18n.switch_language": [lambda world, o: "/lang/en?next=/"],
        "static": [lambda world, o: "/static/diary.css"],
        "shared.static": [lambda world, o: "/shared-static/style.css"],
    }
)
API: dict[str, list[Url]] = {
    "api.openapi": [lambda world, o: "/api/v1/openapi.json"],
    "api.children": [lambda world, o: "/api/v1/children"],
    "api.week": [lambda world, o: f"/api/v1/children/{o.petr}/week"],
    "api.marks": [lambda world, o: f"/api/v1/children/{o.petr}/marks"],
    "api.homework": [lambda world, o: f"/api/v1/children/{o.petr}/homework"],
    "api.attendance": [lambda world, o: f"/api/v1/children/{o.petr}/attendance"],
    "api.threads": [lambda world, o: "/api/v1/messages"],
    # The direct thread Пётр's parent and teacher write in; the class parents' one.
    "api.thread": [
        lambda world, o: f"/api/v1/messages/{o.direct}",
        lambda world, o: f"/api/v1/messages/{o.conversation}",
    ],
}


def test_every_get_route_is_walked(diary):
    get_routes = {rule.endpoint for rule in diary.url_map.iter_rules() if "GET" in rule.methods}
    assert get_routes == set(WEB) | set(API)


@pytest.fixture(scope="module")
def walk(diary_app) -> Iterator[SimpleNamespace]:
    """One world for the whole walk, with a test client per role whose session already
    holds its CSRF token (as after the first page a person opens): the walk is about
    the pages, not the first visit. Built once for the module: a GET may change nothing,
    and if one does, its own test fails on what it wrote."""
    with diary_app.app_context():
        world = build_world()
        objects = build_objects(world)
        # Made on first use by the access table's rows: made now, before any snapshot.
        answer_request_of(objects)
        application_of(objects)
        objects.conversation = db.session.execute(
            sa.select(Message.thread_id).where(Message.id == objects.chat)
        ).scalar_one()
        db.session.commit()
        browsers = {}
        for role in ROLES:
            client = signed_in(diary_app, None if role == "anonymous" else world.people[role])
            if role != "anonymous":
                html = client.get("/").get_data(as_text=True)
                assert re.search(r'name="csrf_token" value="([^"]+)"', html)
            browsers[role] = client
        yield SimpleNamespace(world=world, objects=objects, browsers=browsers)
        db.session.remove()
        wipe(db)


@pytest.mark.parametrize("endpoint", sorted(WEB))
def test_a_get_page_changes_no_table(endpoint, walk):
    urls = [u for url in WEB[endpoint] if (u := url(walk.world, walk.objects)) is not None]
    clients = walk.browsers
    wrote = {}
    before = snapshot()
    for role in ROLES:
        for url in urls:
            response = clients[role].get(url)
            response.close()  # a static file's
            assert response.status_code < 500, (role, url, response.status_code)
            after = snapshot()
            tables = changed(before, after)
            if tables - SIGN_IN.get(endpoint, set()):
                wrote[(role, url)] = sorted(tables)
            before = after
    assert wrote == {}, "a GET wrote to these tables"


def test_the_sign_in_request_writes_only_the_visitors_session(walk, diary_app):
    before = snapshot()
    response = signed_in(diary_app, None).get("/auth/login")
    assert response.status_code == 302
    assert changed(before, snapshot()) == {SESSION_TABLE}


@pytest.mark.parametrize("endpoint", sorted(API))
def test_a_get_of_the_api_changes_no_table(endpoint, walk, diary_app, keys_server):
    urls = [url(walk.world, walk.objects) for url in API[endpoint]]
    http = diary_app.test_client()
    wrote = {}
    before = snapshot()
    for role in ROLES:
        headers = {}
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {mint(keys_server, walk.world.people[role].sub)}"
        for url in urls:
            response = http.get(url, headers=headers)
            assert response.status_code < 500, (role, url, response.status_code)
            after = snapshot()
            tables = changed(before, after)
            if tables:
                wrote[(role, url)] = sorted(tables)
            before = after
    assert wrote == {}, "a GET of the API wrote to these tables"
