"""Every route of every app, fed hostile values: no answer may be a 5xx, and a POST
refused with a 4xx leaves the database as it was.

The routes come from each app's ``url_map`` (the portal, the diary, the simulator), so a
route added later is fuzzed without touching this file; one that cannot be exercised
is in ``NOT_FUZZED`` with the reason. For each route, as the anonymous visitor and as
each role (the portal: a simplified and a standard citizen, an operator, an
administrator; the diary: parent, student, teacher, class teacher, school
administrator, health worker, department, trusted person), Hypothesis builds requests
from real values of a small world (the ids of ``tests/diary_service/factories.py``'s
schools, the portal's citizens, child, grant and client) and swaps a few of them for
hostile ones: huge and negative numbers, 2^31, 2^63, other scripts' digits, non-ASCII and
control characters, very long text, ``../``, SQL- and HTML-ish text, extreme dates.

What is fuzzed of a route:
- each part of its path;
- its query parameters: a fixed set of common names, the OAuth parameters for the
  OpenID Provider's endpoints, and every name the view's module reads
  (``request.args.get("…")``, ``int_arg("…")``, the fields of a form built from
  ``request.args``), found by reading the source, so a new parameter is never missed;
- for a POST, each field of its form: the fields of the forms the pages show that post
  to it (with their options and values as the real values) and of the form classes its
  view builds, sent with a valid CSRF token so that the values reach validation.

Before the first route, every role opens every page with the real values (none may
fail), which is where the forms and their options are found, and which roles each
route lets in. Then each route gets ``FUZZ_EXAMPLES`` requests (default 5;
derandomized, so CI is reproducible), mostly by a role it lets in (a refusal would come
before the values), with up to three values swapped, mostly for hostile values of their
kind (an id for numbers no database holds, a date for days no calendar shows). A long
local run: ``FUZZ_EXAMPLES=50 pytest tests/shared/test_fuzz_routes.py``.
"""

from __future__ import annotations

import html.parser
import inspect
import io
import json
import os
import re
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException
from wtforms.fields.core import UnboundField

from diary_service import create_app as create_diary
from diary_service.extensions import db as diary_db
from diary_service.school.roster import KINDS as ROSTER_KINDS
from diary_service.school.roster import template_csv
from portal import create_app as create_portal
from portal.admin.services import make_administrator
from portal.catalog.catalog import CATALOG
from portal.extensions import db as portal_db
from portal.extensions import limiter
from portal.family import services as family
from portal.family import trusted
from portal.identity import services as identity
from portal.identity.models import Operator
from portal.oidc.keys import ensure_keys
from portal.simulator import create_app as create_simulator
from portal.simulator.models import db as simulator_db
from portal.simulator.registries.population import generate_population
from shared.errors import JSON_PREFIXES
from tests.conftest import REGISTRY_NAMES, ROOT, SECRETS, IsolatedClient, migrate_app, wipe
from tests.diary_service.factories import build_world
from tests.diary_service.test_access_table import answer_request_of, application_of, build_objects
from tests.diary_service.test_api import KeysServer, make_diary, mint
from tests.diary_service.test_api import keys_server as keys_server  # the fixture
from tests.helpers import region_today
from tests.portal.factories import make_standard, verified, wait_for
from tests.portal.oidc_helpers import register
from tests.portal.test_family import ORIGIN, PETR
from tests.portal.test_trusted import OLGA, OLGA_PASSPORT, OLGA_SNILS

# Requests per route (each by a role Hypothesis picks); the sweep adds one request per
# page and role with the real values. About 60 s per database on 2 cores.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
HOSTILE_SLOTS = 3  # at most this many values of a request are hostile at once

# --- hostile values -----------------------------------------------------------------------

NUMBERS = [
    "0",
    "-1",
    str(2**31 - 1),
    str(2**31),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "-" + str(2**63 + 1),
    "9" * 40,
    "00000000000000000000001",
    "1e9",
    "0x1F",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() says yes
    "１２",  # full-width digits
    "NaN",
    "Infinity",
    "-0",
]
DATES = [
    "9999-12-31",
    "0001-01-01",
    "1899-12-31",
    "2101-01-01",
    "2026-02-30",
    "2026-13-01",
    "31.12.9999",
    "01.01.0001",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "23:61",
]
TEXTS = [
    "",
    " ",
    "é",
    "Ёлка",
    "\x00",
    "\x01\x1f\x7f",
    "line\r\nX-Injected: 1",
    "A" * 5000,
    "Ж" * 300,
    "../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "%2e%2e%2f",
    "' OR '1'='1' --",
    "1; DROP TABLE student; --",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "%(name)s %s %n",
    "🙂👩‍👧",
    "\u202egnp.exe",
    "true",
    "null",
    "[]",
    "http://evil.example/",
    "//evil.example",
    "javascript:alert(1)",
]
HOSTILE = NUMBERS + DATES + TEXTS


def hostile() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.dates().map(date.isoformat),
        st.text(max_size=30),
    )


# A file field: its real value is a small CSV file; a hostile one is a header the roster
# import knows with hostile rows, or any bytes.
FILE = "\x00file"
CSV_HEADERS = [template_csv(kind).decode("utf-8-sig").splitlines()[0] for kind in ROSTER_KINDS]


def hostile_file() -> st.SearchStrategy[bytes]:
    rows = st.lists(st.lists(hostile(), min_size=1, max_size=7).map(";".join), max_size=3)
    text = st.tuples(st.sampled_from(CSV_HEADERS), rows).map(
        lambda parts: "\n".join([parts[0], *parts[1]]).encode("utf-8", "surrogatepass")
    )
    return st.one_of(text, st.binary(max_size=200))


ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def hostile_like(real: str | None) -> st.SearchStrategy[str]:
    """Hostile values, most of them of the real value's kind: an id gets numbers no
    database holds, a date gets days no calendar page shows."""
    if real is not None and real.isascii() and real.isdigit():
        kind = st.one_of(
            st.sampled_from(NUMBERS),
            st.sampled_from([2**31, 2**32, 2**63, 10**30, -(2**31) - 1]).map(str),
        )
    elif real is not None and ISO_DAY.match(real):
        kind = st.one_of(st.sampled_from(DATES), st.dates().map(date.isoformat))
    else:
        return hostile()
    return st.one_of(kind, hostile())


def hostile_json() -> st.SearchStrategy[Any]:
    return st.one_of(
        hostile(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([None, True, False, [], {}, 1e308, -0.5, [2**63], {"a": "\x00"}]),
    )


# --- what a route reads ---------------------------------------------------------------------

# Query parameters tried on every route, beside those its view's module reads.
COMMON_QUERY = [
    "next",
    "page",
    "period",
    "year",
    "student",
    "date",
    "week",
    "from",
    "to",
    "on",
    "q",
    "limit",
    "id",
    "kind",
    "status",
    "lang",
]
# The OpenID Provider's endpoints read every parameter of the protocol (Authlib reads
# the request itself, and the views pass ``request.values`` on).
OAUTH = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "acr_values",
    "ui_locales",
    "claims",
    "request",
    "request_uri",
    "post_logout_redirect_uri",
    "logout_hint",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "token_type_hint",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "access_token",
    "_reauth",
    "decision",
]
QUERY_READS = [
    re.compile(r'request\.(?:args|values)\.get\(\s*"([^"]+)"'),
    re.compile(r'request\.(?:args|values)\[\s*"([^"]+)"\s*\]'),
    re.compile(r'\b(?:int_arg|date_arg)\(\s*"([^"]+)"'),
    re.compile(r'"([^"]+)" in request\.(?:args|values)\b'),
]
FORM_READS = [
    re.compile(r'request\.(?:form|values)\.get\(\s*"([^"]+)"'),
    re.compile(r'request\.(?:form|values)\[\s*"([^"]+)"\s*\]'),
]
JSON_READS = re.compile(r'\b(?:data|body|payload)(?:\.get\(\s*|\[\s*)"([^"]+)"')
FORM_FROM_ARGS = re.compile(r"\b(\w+Form)\(\s*request\.args")
FORM_CLASS = re.compile(r"\b(?:forms\.)?([A-Z]\w*Form)\(")


def view_of(app: Flask, endpoint: str) -> Any:
    return inspect.unwrap(app.view_functions[endpoint])


def module_of(app: Flask, endpoint: str) -> ModuleType:
    return sys.modules[view_of(app, endpoint).__module__]


def form_fields(form_class: type) -> dict[str, type]:
    """Field name → field class of a WTForms form class (fields added later included)."""
    found = {}
    for name in dir(form_class):
        value = getattr(form_class, name, None)
        if isinstance(value, UnboundField):
            found[name] = value.field_class
    return found


def form_class_named(module: ModuleType, name: str) -> type | None:
    for namespace in (vars(module), vars(getattr(module, "forms", module))):
        found = namespace.get(name)
        if isinstance(found, type):
            return found
    return None


# Modules that read query parameters in a way the patterns above cannot follow, and the
# names they read.
READ_ELSEWHERE = {
    # authenticate() takes the bearer token from ?access_token= too (RFC 6750 §2.3).
    "diary_service.api.views": {"access_token"},
    # int_arg/date_arg read the name they are given: found where they are called.
    "shared.web": set(),
}
QUERY_LINE = re.compile(r"request\.(?:args|values)\b")


def web_modules(module: ModuleType) -> list[ModuleType]:
    """The view's module and the modules of its app it uses that read the request (the
    diary's sign-in callback reads ``?iss=`` and ``?state=`` in ``auth/oidc.py``)."""
    package = module.__name__.split(".")[0]
    found = {module.__name__: module}
    for value in vars(module).values():
        other = value if isinstance(value, ModuleType) else inspect.getmodule(value)
        if other is None or not other.__name__.startswith(package + "."):
            continue
        if "request." in inspect.getsource(other):
            found.setdefault(other.__name__, other)
    return list(found.values())


def query_names(app: Flask, endpoint: str) -> set[str]:
    """Every query parameter the view's module (and the web modules it uses) reads, by
    reading their source."""
    names: set[str] = set()
    view_module = module_of(app, endpoint)
    for module in web_modules(view_module):
        source = inspect.getsource(module)
        names |= {m for pattern in QUERY_READS for m in pattern.findall(source)}
        names |= READ_ELSEWHERE.get(module.__name__, set())
        for form_name in FORM_FROM_ARGS.findall(source):
            form_class = form_class_named(module, form_name)
            assert form_class is not None, f"{module.__name__}: cannot find {form_name}"
            names |= set(form_fields(form_class))
        if module is view_module and ("request.values" in source or "authorization." in source):
            names |= set(OAUTH)
    return names


def test_every_query_read_is_one_the_scan_follows():
    """A view that reads a query parameter in a new way would leave it unfuzzed: each
    line that touches ``request.args``/``request.values`` in the apps matches one of the
    patterns, reads OAuth parameters, or is in ``READ_ELSEWHERE``."""
    followed = [
        *QUERY_READS,
        FORM_FROM_ARGS,
        re.compile(r"request\.values\.items\("),
        # The authorization request's own checks: the OAuth parameters, fuzzed as OAUTH.
        re.compile(r"check_request\(request\.values\b"),
    ]
    unfollowed = []
    for name, module in sorted(sys.modules.items()):
        if not name.startswith(("portal", "diary_service", "shared")) or name in READ_ELSEWHERE:
            continue
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            continue
        oauth = "request.values" in source
        for line in source.splitlines():
            if (
                QUERY_LINE.search(line)
                and not any(p.search(line) for p in followed)
                and not (oauth and "request.values[" in line)
            ):
                unfollowed.append(f"{name}: {line.strip()}")
    assert unfollowed == []


def static_form_fields(app: Flask, endpoint: str) -> dict[str, type | None]:
    """The fields the view function reads from a POST: its form classes' and
    ``request.form``'s."""
    view = view_of(app, endpoint)
    module = module_of(app, endpoint)
    source = inspect.getsource(view)
    fields: dict[str, type | None] = {}
    for name in FORM_CLASS.findall(source):
        form_class = form_class_named(module, name)
        if form_class is not None and hasattr(form_class, "validate"):
            fields.update(form_fields(form_class))
    for pattern in FORM_READS:
        fields.update(dict.fromkeys(pattern.findall(source)))
    if "request.values" in inspect.getsource(module) or "authorization." in source:
        fields.update(dict.fromkeys(OAUTH))
    return fields


class PageForms(html.parser.HTMLParser):
    """The POST forms of a page: action, and per field the values a person could send
    (a select's options, an input's value, a type-appropriate value where it is empty)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]]]] = []
        self._fields: dict[str, list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._fields = {}
                self.forms.append((a.get("action", ""), self._fields))
            return
        if self._fields is None:
            return
        if tag == "option" and self._select is not None:
            self._fields[self._select].append(a.get("value", ""))
            return
        name = a.get("name")
        if not name:
            return
        values = self._fields.setdefault(name, [])
        if tag == "select":
            self._select = name
        elif tag == "textarea":
            values.append("Текст")
        elif tag == "input" and a.get("type") == "file":
            values.append(FILE)
        elif tag == "input" and a.get("type") not in ("submit", "button"):
            typed = {
                "date": region_today().isoformat(),
                "time": "09:00",
                "datetime-local": region_today().isoformat() + "T18:00",
                "number": "1",
                "email": "fuzz@example.ru",
                "tel": "+79160000099",
                "checkbox": "y",
            }.get(a.get("type", "text"), "Тест")
            values.append(a.get("value") or typed)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


def page_forms(body: str) -> list[tuple[str, dict[str, list[str]]]]:
    parser = PageForms()
    parser.feed(body)
    return parser.forms


def baseline_for_field(field_class: type | None) -> str:
    name = field_class.__name__ if field_class else ""
    if "File" in name:
        return FILE
    if "Date" in name and "Time" in name:
        return region_today().isoformat() + "T18:00"
    if "Date" in name:
        return region_today().isoformat()
    if "Time" in name:
        return "09:00"
    if "Integer" in name or "Decimal" in name:
        return "1"
    if "Boolean" in name:
        return "y"
    return "Тест"


# --- the apps, their worlds and their roles ---------------------------------------------------

CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
SNAPSHOT_SKIP = {
    # Sessions are touched by every request (last activity, the CSRF token).
    "diary_session",
    "web_session",
    # A wrong password or code is refused AND recorded (the account's lockout counts it,
    # the owner reads it in «Недавние действия»): issue 11 asks exactly that.
    "security_event",
}


@dataclass
class Env:
    """One app under fuzz: its real values, its roles' clients and its route data."""

    name: str
    app: Flask
    db: Any
    roles: list[str]
    path_values: dict[str, str]
    query_values: dict[str, dict[str, str]] = field(default_factory=dict)
    sign_in: Any = None  # role → a signed-in test client
    headers: Any = None  # role → extra headers (the API's bearer token)
    clients: dict[str, tuple[FlaskClient, str, str | None]] = field(default_factory=dict)
    fields: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    swept: set[str] = field(default_factory=set)
    # endpoint → the roles the sweep saw let in (a page, or a form that posts there)
    allowed: dict[str, set[str]] = field(default_factory=dict)

    def client(self, role: str) -> tuple[FlaskClient, str]:
        """The role's client and a valid CSRF token of its session."""
        if role not in self.clients:
            client = self.sign_in(role)
            token = csrf_token(self.app, client)
            cookie = client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
            self.clients[role] = (client, token, cookie.value if cookie else None)
        client, token, _cookie = self.clients[role]
        return client, token

    def check_session(self, role: str) -> None:
        """A request that ended or replaced the role's session (a sign-out) makes the
        next request sign in again."""
        client, _token, known = self.clients[role]
        cookie = client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        if (cookie.value if cookie else None) != known:
            del self.clients[role]

    def snapshot(self) -> dict[str, int]:
        tables = [t for t in self.db.metadata.sorted_tables if t.name not in SNAPSHOT_SKIP]
        query = sa.select(
            *(
                sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name)
                for t in tables
            )
        )
        with self.db.engine.connect() as conn:
            return dict(conn.execute(query).one()._mapping)


def csrf_token(app: Flask, client: FlaskClient) -> str:
    """A valid CSRF token for the client's session, as Flask-WTF makes them."""
    raw = os.urandom(20).hex()
    with client.session_transaction() as session:
        session["csrf_token"] = raw
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def app_routes(app: Flask) -> list[tuple[str, str, str]]:
    return sorted(
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


# Routes walked with their real values only: what a hostile value would do there is
# not this test's to find out.
NOT_FUZZED: dict[tuple[str, str], str] = {
    ("simulator", "registries_api.generate"): (
        "regenerates the reference population (up to 100 000 people a request): a load "
        "test, not a fuzz; its refusals are tested in test_population_and_letters_api"
    ),
}
# A 5xx that is what the route is for.
EXPECTED_5XX: dict[tuple[str, str], tuple[int, str]] = {
    ("simulator", "registries_api.receive_request"): (
        503,
        "a registry the tester set «down» (the console's rule form) answers 503 on purpose",
    ),
}


def _throwaway_apps() -> dict[str, Flask]:
    """The apps as configured for tests, only to list their routes at collection."""
    sqlite = {"DATABASE_URL": "sqlite://", "ENV": "test"}
    return {
        "portal": create_portal({**SECRETS, **sqlite}),
        "diary": create_diary({"SECRET_KEY": SECRETS["SECRET_KEY"], **sqlite}),
        "simulator": create_simulator({"SECRET_KEY": SECRETS["SECRET_KEY"], **sqlite}),
    }


ROUTES = [(name, *route) for name, app in _throwaway_apps().items() for route in app_routes(app)]


def test_routes_not_fuzzed_exist():
    known = {(name, endpoint) for name, endpoint, _method, _rule in ROUTES}
    assert set(NOT_FUZZED) | set(EXPECTED_5XX) <= known, "a route no app has"


# --- the worlds ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stand_in_portal(keys_server: KeysServer) -> KeysServer:
    """``test_api``'s stand-in portal (its keys sign the API's tokens), whose discovery
    document also names the endpoints sign-in and sign-out send people to."""

    def discovery():
        base = keys_server.url
        return jsonify(
            issuer=base,
            jwks_uri=base + "/jwks",
            authorization_endpoint=base + "/oauth/authorize",
            token_endpoint=base + "/oauth/token",
            end_session_endpoint=base + "/oauth/logout",
        )

    keys_server.app.view_functions["discovery"] = discovery
    return keys_server


@pytest.fixture(scope="module")
def diary_env(tmp_path_factory, stand_in_portal: KeysServer) -> Iterator[Env]:
    keys_server = stand_in_portal
    app = make_diary(tmp_path_factory.mktemp("diary-fuzz"), keys_server.url)
    with app.app_context():
        wipe(diary_db)
        world = build_world()
        o = build_objects(world)
        answer_request_of(o)
        application_of(o)
        people = world.people
        # Role → person: the class teacher leads 6А and teaches maths; ``teacher2``
        # teaches Russian only; ``alisa`` is the 9Б student.
        persons = {
            "parent": people["parent"],
            "student": people["alisa"],
            "teacher": people["teacher2"],
            "class_teacher": people["teacher"],
            "school_admin": people["admin"],
            "health_worker": people["nurse"],
            "department": people["department"],
            "trusted": people["trusted_full"],
        }
        subs = {role: person.sub for role, person in persons.items()}
        ids = {role: person.id for role, person in persons.items()}

        def sign_in(role: str) -> FlaskClient:
            client = app.test_client()
            if role != "anonymous":
                with client.session_transaction() as session:
                    session["user_id"] = ids[role]
                    session["sub"] = subs[role]
                    session["acr"] = "urn:gosdiary:acr:standard"
                    session["portal_sid"] = f"sid-{ids[role]}"
            return client

        def headers(role: str) -> dict[str, str]:
            if role == "anonymous":
                return {}
            token = mint(keys_server, subs[role], exp=int(time.time()) + 3600)
            return {"Authorization": f"Bearer {token}"}

        env = Env(
            name="diary",
            app=app,
            db=diary_db,
            roles=["anonymous", *persons],
            path_values={
                "student_id": str(o.petr),
                "class_id": str(o.cls),
                "subject_id": str(o.math),
                "school_id": str(o.school),
                "lesson_id": str(o.lesson),
                "attachment_id": str(o.attachment),
                "attendance_id": str(o.absence),
                "final_id": str(o.final),
                "mark_id": str(o.mark),
                "thread_id": str(o.direct),
                "message_id": str(o.chat),
                "request_id": str(o.answer_request),
                "application_id": str(o.application),
                "staff_id": str(o.teacher2),
                "guardian_id": str(o.guardian),
                "assignment_id": str(o.assignment),
                "bell_id": str(o.bell),
                "holiday_id": str(o.holiday),
                "change_id": str(o.change),
                "notice_id": str(o.notice),
                "meeting_id": str(o.meeting),
                "period_id": str(o.period),
                "year_id": str(o.year),
                "slot": "1",
                "number": "1",
                "day": o.day,
                "kind": "csv",
                "code": "en",
                "filename": "diary.css",
            },
            query_values={
                "*": {
                    "period": str(o.period),
                    "student": str(o.petr),
                    "date": o.day,
                    "week": o.day,
                    "from": o.day,
                    "to": o.day,
                }
            },
            sign_in=sign_in,
            headers=headers,
        )
        yield env
        diary_db.session.remove()
        wipe(diary_db)
        diary_db.engine.dispose()


def registry_rules(registries: str, outcome: str) -> None:
    for name in REGISTRY_NAMES:
        body = json.dumps({"default_outcome": outcome, "delay_seconds": 0, "down": "none"})
        request = urllib.request.Request(
            f"{registries}/api/registries/{name}/rule",
            data=body.encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def portal_env(portal_app, portal_server, registries) -> Iterator[Env]:
    app = portal_app
    with app.app_context():
        limiter.reset()
        wipe(portal_db)
        counter = iter(range(100, 200))

        def make_citizen(password: str = "violet-harbour-lamp", **fields: Any):
            n = next(counter)
            defaults = {
                "surname": "Иванова",
                "given_name": "Мария",
                "phone": f"+7916555{n:04d}",
                "email": f"fuzz{n}@example.ru",
            }
            return identity.create_citizen(password=password, **{**defaults, **fields})

        maria = make_standard(make_citizen)
        link = family.add_child(maria, PETR, ORIGIN)
        make_standard(make_citizen, profile=OLGA, snils=OLGA_SNILS, passport=OLGA_PASSPORT)
        assert wait_for(lambda: verified(maria))
        grant = trusted.grant(
            maria, link.child_id, sections=["schedule"], origin=ORIGIN, snils=OLGA_SNILS
        )
        simplified = make_citizen(surname="Петров", given_name="Пётр")
        operator = make_citizen(surname="Операторова", given_name="Ирина")
        portal_db.session.add(Operator(citizen_id=operator.id, service_centre="МФЦ"))
        admin = make_citizen(surname="Админова", given_name="Анна")
        make_administrator(admin)
        rp = register()
        # The signing keys are made on first use, whatever the request (even a refused
        # one): make them now, so the walk compares rows its requests change.
        ensure_keys()
        portal_db.session.commit()
        # From here on the registries hold what they are sent: an answer arriving from
        # the simulator's thread would write while a refused request is being checked.
        registry_rules(registries, "hold")
        citizens = {
            "simplified": simplified,
            "standard": maria,
            "operator": operator,
            "admin": admin,
        }
        ids = {role: citizen.id for role, citizen in citizens.items()}

        def sign_in(role: str) -> FlaskClient:
            client = app.test_client()
            if role != "anonymous":
                with client.session_transaction() as session:
                    session["user_id"] = ids[role]
                    session["auth_time"] = int(time.time())
                    session["amr"] = ["pwd"]
                    session["sid"] = f"fuzz-{role}"
            return client

        env = Env(
            name="portal",
            app=app,
            db=portal_db,
            roles=["anonymous", *citizens],
            path_values={
                "child_id": str(link.child_id),
                "client_id": rp.client_id,
                "public_id": maria.public_id,
                "grant_id": str(grant.public_id),
                # An undo link nobody was sent: the page says it is not valid.
                "token": "fuzz-undo-token-that-was-never-issued-000000",
                "slug": next(s for s in CATALOG if s.online).slug,
                "code": "en",
                "filename": "style.css",
            },
            query_values={
                "oidc.authorize": {
                    "response_type": "code",
                    "client_id": rp.client_id,
                    "redirect_uri": rp.redirect_uri,
                    "scope": "openid profile",
                    "state": "fuzz-state",
                    "nonce": "fuzz-nonce",
                    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                    "code_challenge_method": "S256",
                },
                "oidc_logout.end_session": {"client_id": rp.client_id, "state": "fuzz-state"},
                "catalog.apply": {"child": str(link.child_id)},
            },
            sign_in=sign_in,
            headers=lambda role: {},
        )
        yield env
        registry_rules(registries, "auto")
        portal_db.session.remove()
        wipe(portal_db)
        limiter.reset()


@pytest.fixture(scope="module")
def simulator_env(tmp_path_factory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("simulator-fuzz")
    app = create_simulator(
        {
            "ENV": "test",
            "SECRET_KEY": SECRETS["SECRET_KEY"],
            "DATABASE_URL": f"sqlite:///{tmp / 'simulator.db'}",
            "REGISTRY_TIMEOUT_SLEEP": 0,
        }
    )
    app.test_client_class = IsolatedClient
    migrate_app(app, ROOT / "portal" / "simulator" / "migrations")
    with app.app_context():
        generate_population(20)
        env = Env(
            name="simulator",
            app=app,
            db=simulator_db,
            # Testers' console and APIs: no sign-in on test stands.
            roles=["anonymous"],
            path_values={
                "registry": "sfr",
                "key": "11223344595",
                "request_id": "1",
                "code": "en",
                "filename": "simulator.css",
            },
            sign_in=lambda role: app.test_client(),
            headers=lambda role: {},
        )
        yield env
        simulator_db.session.remove()
        simulator_db.engine.dispose()


# --- requests ----------------------------------------------------------------------------------


def path_of(rule: str, values: dict[str, str]) -> str:
    def part(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        return quote(values[name], safe="/" if converter == "path" else "")

    return CONVERTER.sub(part, rule)


def sweep(env: Env, role: str) -> None:
    """Open every page the role may open with the real values (none may fail) and
    remember the POST forms on them: the fields and values of the routes they post to."""
    if role in env.swept:
        return
    env.swept.add(role)
    adapter = env.app.url_map.bind("localhost")
    client, _token = env.client(role)
    for endpoint, method, rule in app_routes(env.app):
        if (
            method != "GET"
            or endpoint.endswith("static")
            or "logout" in endpoint
            or rule.startswith(JSON_PREFIXES)  # no forms there
        ):
            continue
        url = path_of(rule, env.path_values)
        response = client.get(url, headers=env.headers(role))
        response.close()  # files are streamed
        assert response.status_code < 500, f"{env.name} GET {url} as {role}: {response.status}"
        if response.status_code == 200:
            env.allowed.setdefault(endpoint, set()).add(role)
        if "html" not in response.content_type:
            continue
        for action, fields in page_forms(response.get_data(as_text=True)):
            target = urlsplit(action or url).path
            try:
                endpoint_posted, _args = adapter.match(target, method="POST")
            except HTTPException:  # a form to another site or to a GET-only page
                continue
            env.allowed.setdefault(endpoint_posted, set()).add(role)
            known = env.fields.setdefault((endpoint_posted, role), {})
            for name, values in fields.items():
                known.setdefault(name, [])
                known[name] += [v for v in values if v not in known[name]]
        env.check_session(role)


def fuzz(env: Env, endpoint: str, method: str, rule: str) -> None:
    """Requests to the route by every role, with real values and a few hostile ones."""
    app = env.app
    for role in env.roles:
        sweep(env, role)
    arguments = [name for _converter, name in CONVERTER.findall(rule)]
    missing = [name for name in arguments if name not in env.path_values]
    assert not missing, f"{env.name} {rule}: give {missing} a real value in the fixture"
    read = query_names(app, endpoint)
    query_real = {
        **{name: value for name, value in env.query_values.get("*", {}).items() if name in read},
        **env.query_values.get(endpoint, {}),
    }
    read |= set(query_real)
    query_pool = sorted(set(COMMON_QUERY) | read)
    # What the view reads is fuzzed most; a common name it ignores, now and then.
    query_read = [("query", name) for name in sorted(read)]
    query_common = [("query", name) for name in sorted(set(COMMON_QUERY) - read)]
    # Most requests by a role the sweep saw let in: a refusal comes before the values.
    allowed = sorted(env.allowed.get(endpoint, set()), key=env.roles.index)
    roles = (
        st.one_of(st.sampled_from(allowed), st.sampled_from(env.roles))
        if allowed
        else st.sampled_from(env.roles)
    )
    fields_of: dict[str, dict[str, list[str]]] = {}
    for role in env.roles:
        fields: dict[str, list[str]] = {}
        if method != "GET":
            for name, field_class in static_form_fields(app, endpoint).items():
                fields[name] = [baseline_for_field(field_class)]
            for name, values in env.fields.get((endpoint, role), {}).items():
                fields[name] = values or fields.get(name, [""])
            fields.pop("csrf_token", None)
        fields_of[role] = fields
    module_source = inspect.getsource(module_of(app, endpoint))
    json_keys = sorted(set(JSON_READS.findall(module_source)))
    reads_json = method != "GET" and "get_json" in module_source
    fuzzed = (env.name, endpoint) not in NOT_FUZZED
    expected = EXPECTED_5XX.get((env.name, endpoint), (None, ""))[0]

    @settings(
        max_examples=EXAMPLES if fuzzed else len(env.roles),
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )
    @given(data=st.data())
    def one_request(data: st.DataObject) -> None:
        role = data.draw(roles, label="role")
        fields = fields_of[role]
        slots = (
            [("path", name) for name in arguments]
            + query_read
            + [("form", name) for name in sorted(fields)]
            + [("json", name) for name in json_keys if reads_json and not fields]
        )
        # A GET with the real values only was the sweep's: here one value at least is
        # hostile. A POST's real values are sent too (once).
        least = 1 if method == "GET" and fuzzed and slots else 0
        chosen = data.draw(
            st.lists(
                st.sampled_from(slots or query_common),
                min_size=least,
                max_size=HOSTILE_SLOTS if fuzzed else 0,
                unique=True,
            ),
            label="hostile",
        )
        if fuzzed and query_common:
            chosen += data.draw(
                st.lists(st.sampled_from(query_common), max_size=1), label="common name"
            )
        real = {
            **{("path", name): env.path_values[name] for name in arguments},
            **{("query", name): value for name, value in query_real.items()},
            **{("form", name): values[0] for name, values in fields.items() if values},
        }
        bad = {
            slot: data.draw(
                hostile_json() if slot[0] == "json" else hostile_like(real.get(slot)),
                label=" ".join(slot),
            )
            for slot in chosen
        }
        path_values = {name: bad.get(("path", name), env.path_values[name]) for name in arguments}
        query = {
            name: bad.get(("query", name), query_real.get(name))
            for name in query_pool
            if ("query", name) in bad or name in query_real
        }
        form: dict[str, Any] = {
            name: bad[("form", name)]
            if ("form", name) in bad
            else data.draw(st.sampled_from(values), label=name)
            if values
            else ""
            for name, values in fields.items()
        }
        for name, values in fields.items():  # files: (content, name)
            if FILE in values:
                hostile_content = ("form", name) in bad and data.draw(hostile_file(), label=name)
                form[name] = (hostile_content or "grade;letter\n7;А\n".encode(), "fuzz.csv")
        client, token = env.client(role)
        url = path_of(rule, path_values) + ("?" + urlencode(query) if query else "")
        before = env.snapshot() if method != "GET" else None
        kwargs: dict[str, Any] = {"headers": env.headers(role)}
        body = {name: value for (kind, name), value in bad.items() if kind == "json"}
        if reads_json and not fields:
            kwargs["json"] = body
        elif method != "GET":
            kwargs["data"] = {"csrf_token": token, **form}
        sent = {**kwargs}
        if "data" in kwargs:
            sent["data"] = {
                k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v
                for k, v in kwargs["data"].items()
            }
        response = client.open(url, method=method, **sent)
        response.close()  # files are streamed
        env.check_session(role)
        where = (
            f"{env.name} {method} {endpoint} as {role}: {response.status}\n"
            f"  reproduce: client.open({url!r}, method={method!r}"
            + "".join(f", {k}={kwargs[k]!r}" for k in ("data", "json") if k in kwargs)
            + ")"
        )
        assert response.status_code < 500 or response.status_code == expected, where
        if before is not None and 400 <= response.status_code < 500:
            after = env.snapshot()
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            assert changed == {}, f"rows changed by a refused request: {changed}\n{where}"

    one_request()


@pytest.mark.parametrize(
    ("endpoint", "method", "rule"),
    [route[1:] for route in ROUTES if route[0] == "simulator"],
    ids=lambda value: value,
)
def test_simulator_route(simulator_env, endpoint, method, rule):
    fuzz(simulator_env, endpoint, method, rule)


@pytest.mark.parametrize(
    ("endpoint", "method", "rule"),
    [route[1:] for route in ROUTES if route[0] == "portal"],
    ids=lambda value: value,
)
def test_portal_route(portal_env, endpoint, method, rule):
    limiter.reset()
    fuzz(portal_env, endpoint, method, rule)


@pytest.mark.parametrize(
    ("endpoint", "method", "rule"),
    [route[1:] for route in ROUTES if route[0] == "diary"],
    ids=lambda value: value,
)
def test_diary_route(diary_env, endpoint, method, rule):
    fuzz(diary_env, endpoint, method, rule)
