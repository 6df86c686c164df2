"""Signing in to the diary through the portal, over real HTTP between the two apps.

The portal runs on its live server (``portal_server``); each test starts a fresh diary on
a live server of its own, registered at the portal as a client, so the diary's Authlib
client talks HTTP to the portal and the portal posts back-channel logouts to the diary.
The person's browser is ``urllib`` with one cookie jar for both (on 127.0.0.1 cookies do
not tell ports apart, as in a real browser); it follows redirects one hop at a time so a
test can stop at the diary's callback and tamper with it. Pages are read in Russian.
"""

from __future__ import annotations

import http.cookiejar
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import RSAKey

from diary_service import create_app as create_diary
from diary_service.auth import services as auth_services
from diary_service.extensions import db as diary_db
from diary_service.models import diary_session
from diary_service.models.auth import DiaryPerson, PortalChild, PortalSession
from portal.extensions import db as portal_db
from portal.family import services as family
from portal.oidc import backchannel
from portal.oidc import services as oidc
from portal.oidc.keys import active_key, public_key_set, rotate_keys
from portal.oidc.models import LogoutDelivery
from portal.oidc.server import issuer
from shared.config import ConfigError
from shared.sessions import utcnow
from tests.conftest import (
    ROOT,
    SECRETS,
    LiveServer,
    database_url,
    free_port,
    migrate_app,
    wipe,
)
from tests.helpers import forms_of, text_of
from tests.portal.test_family import ORIGIN, PETR, verified
from tests.portal.test_proofing import make_standard, wait_for

PASSWORD = "violet-harbour-lamp"  # make_citizen's
PHONE = "+79161112233"
CLIENT_ID = "diary-test-region"
SCOPES = ["openid", "profile", "email", "phone", "snils", "kids", "trusted"]
DIARY_BLIND_INDEX_KEY = "test-diary-blind-index-key-0001"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


# --- the browser --------------------------------------------------------------------


@dataclass
class Page:
    url: str
    status: int
    headers: object
    body: bytes

    def get_data(self, as_text: bool = False):  # what tests.helpers.text_of reads
        return self.body.decode() if as_text else self.body

    @property
    def text(self) -> str:
        return text_of(self)

    @property
    def location(self) -> str:
        return urljoin(self.url, self.headers["Location"])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the browser follows redirects itself, one hop at a time


class Browser:
    """One person's browser: cookies kept; on the portal it signs in with the real login
    form and allows on the real consent page."""

    def __init__(self, portal_url: str, login: str = PHONE, password: str = PASSWORD):
        self.portal_url = portal_url
        self.login = login
        self.password = password
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            _NoRedirects, urllib.request.HTTPCookieProcessor(self.cookies)
        )
        self.pages: list[str] = []
        self.decision = "allow"  # what the person answers on the consent page

    def open(self, url: str, data: dict | None = None) -> Page:
        request = urllib.request.Request(
            url,
            data=urlencode(data).encode() if data is not None else None,
            method="POST" if data is not None else "GET",
        )
        try:
            with self.opener.open(request, timeout=20) as response:
                return Page(url, response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Page(url, error.code, error.headers, error.read())

    def submit(self, page: Page, values: dict, action: str | None = None) -> Page:
        """Send the page's POST form (the one posting to ``action``) with its hidden
        fields, the CSRF token among them."""
        forms = [f for f in forms_of(page.get_data(as_text=True)) if f.method == "post"]
        if action is not None:
            forms = [f for f in forms if f.action == action]
        assert forms, f"no POST form{' to ' + action if action else ''} on {page.url}"
        return self.open(
            urljoin(page.url, forms[0].action or page.url), {**forms[0].fields, **values}
        )

    def go(self, url: str, data: dict | None = None, *, until: str | None = None) -> Page:
        """Open ``url`` and follow where it leads, signing in and allowing at the portal;
        with ``until``, stop at the redirect to an address starting with it (the page
        returned is that redirect: its ``location`` is where the browser would go)."""
        page = self.open(url, data)
        for _ in range(20):
            if page.status in (301, 302, 303, 307, 308):
                if until is not None and page.location.startswith(until):
                    return page
                page = self.open(page.location)
                continue
            on_portal = page.url.startswith(self.portal_url)
            if on_portal and page.status == 200 and urlsplit(page.url).path == "/login":
                self.pages.append("login")
                page = self.submit(page, {"login": self.login, "password": self.password})
                continue
            consent = [
                f
                for f in forms_of(page.get_data(as_text=True))
                if f.method == "post" and f.action.endswith("/oauth/authorize")
            ]
            if on_portal and page.status == 200 and consent:
                self.pages.append("consent")
                page = self.submit(page, {"decision": self.decision}, action=consent[0].action)
                continue
            return page
        raise AssertionError(f"too many redirects from {url}")

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (``None`` removes one)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# --- the diary ----------------------------------------------------------------------


def diary_config(*, portal_url: str, public_url: str, secret: str, database: str) -> dict:
    return {
        "ENV": "test",
        "SECRET_KEY": SECRETS["SECRET_KEY"],
        "BLIND_INDEX_KEY": DIARY_BLIND_INDEX_KEY,
        "DATABASE_URL": database,
        "PORTAL_URL": portal_url,
        "PUBLIC_URL": public_url,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": secret,
        # Generous: a loaded test machine (parallel workers, argon2) answers slowly, and
        # a stopped portal refuses the connection at once anyway.
        "OIDC_TIMEOUT": 15,
    }


@dataclass
class Diary:
    app: object
    url: str
    secret: str
    database: str

    def people(self) -> list[DiaryPerson]:
        with self.app.app_context():
            people = list(diary_db.session.execute(sa.select(DiaryPerson)).scalars())
            for person in people:
                _ = [child.full_name for child in person.children]  # loaded while open
            diary_db.session.expunge_all()
            return people

    def person(self, sub: str) -> DiaryPerson:
        found = [p for p in self.people() if p.sub == sub]
        assert found, f"nobody with sub {sub} signed in to the diary"
        return found[0]

    def sessions_of(self, person_id: int) -> list[dict]:
        with self.app.app_context():
            rows = diary_db.session.execute(
                sa.select(diary_session.c.data).where(diary_session.c.user_id == person_id)
            ).scalars()
            return [json.loads(data) for data in rows]

    def post_logout_token(self, token: str) -> Page:
        return Browser("").open(self.url + "/auth/backchannel-logout", {"logout_token": token})


class LaterApp:
    """A WSGI app given to the server before the app exists: the diary's address is
    needed to register it at the portal, and its client secret to create it."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@contextmanager
def registered_diary(portal_server: str, tmp_path: Path) -> Iterator[Diary]:
    """A diary of its own on a live server, registered at the live portal as
    ``CLIENT_ID`` (inside the portal's app context), on a migrated database of its own;
    emptied and closed afterwards. The fixtures of the diary's live tests start it."""
    front = LaterApp()
    with LiveServer(front) as live:
        new = oidc.create_client(
            name="Электронный дневник: тестовая область",
            client_id=CLIENT_ID,
            redirect_uris=[live.url + "/auth/callback"],
            post_logout_redirect_uris=[live.url + "/"],
            backchannel_logout_uri=live.url + "/auth/backchannel-logout",
            scopes=SCOPES,
        )
        database = database_url("TEST_DIARY_DATABASE_URL", tmp_path, "diary")
        front.app = create_diary(
            diary_config(
                portal_url=portal_server, public_url=live.url, secret=new.secret, database=database
            )
        )
        migrate_app(front.app, ROOT / "diary_service" / "migrations")
        # Alembic's logging setup disables the loggers that exist when migrations run;
        # the diary's says why it refused something, which the tests read.
        front.app.logger.disabled = False
        yield Diary(front.app, live.url, new.secret, database)
    with front.app.app_context():
        diary_db.session.remove()
        wipe(diary_db)
        diary_db.engine.dispose()


@pytest.fixture
def diary(app, portal_server, tmp_path) -> Iterator[Diary]:
    """A diary of its own for this test, on a live server, registered at the portal."""
    with registered_diary(portal_server, tmp_path) as live:
        yield live


def sign_in(diary: Diary, portal_server: str, **browser) -> tuple[Browser, Page]:
    """A whole sign-in from the diary's home page: the browser and the page it ends on."""
    person = Browser(portal_server, **browser)
    home = person.go(diary.url + "/")
    assert "Войти через Госуслуги" in home.text
    page = person.go(diary.url + "/auth/login")
    assert page.status == 200, page.text[:500]
    return person, page


def to_callback(person: Browser, diary: Diary, authorize_url: str) -> str:
    """Walk an authorization request through the portal; the callback URL the portal
    sends the browser to (not opened)."""
    hop = person.go(authorize_url, until=diary.url + "/auth/callback")
    assert hop.status in (302, 303), hop.text[:500]
    return hop.location


def start_sign_in(person: Browser, diary: Diary) -> str:
    """The diary's redirect to the portal: the authorization request's URL."""
    response = person.open(diary.url + "/auth/login")
    assert response.status == 302
    return response.location


def commit_portal() -> None:
    # The test's portal session sees what the live servers committed, and holds no
    # transaction while they write.
    portal_db.session.commit()


# --- signing in ---------------------------------------------------------------------


def test_a_citizen_signs_in_through_the_portal_and_sees_their_name(
    diary, portal_server, make_citizen
):
    citizen = make_citizen(surname="Иванова", given_name="Мария", patronymic=None, phone=PHONE)
    person = Browser(portal_server)
    authorize = start_sign_in(person, diary)
    request = query_of(authorize)
    assert authorize.startswith(portal_server + "/oauth/authorize?")
    assert request["response_type"] == "code"
    assert request["client_id"] == CLIENT_ID
    assert request["redirect_uri"] == diary.url + "/auth/callback"
    assert request["scope"] == "openid profile email phone snils kids trusted"
    assert request["code_challenge_method"] == "S256" and len(request["code_challenge"]) == 43
    assert len(request["state"]) >= 20 and len(request["nonce"]) >= 20
    anonymous = person.cookie("diary_session")
    assert anonymous  # the state, nonce and verifier wait in the diary's session

    home = person.go(authorize)
    assert person.pages == ["login", "consent"]
    assert home.url == diary.url + "/" and home.status == 200
    assert "Иванова Мария" in home.text
    assert "Учётная запись на портале: упрощённая" in home.text
    assert "Войти через Госуслуги" not in home.text
    # A new session id at sign-in (no fixation); the anonymous one is gone.
    assert person.cookie("diary_session") not in (None, anonymous)

    commit_portal()
    signed_in = diary.person(citizen.public_id)
    assert (signed_in.family_name, signed_in.given_name) == ("Иванова", "Мария")
    assert signed_in.acr == "urn:gosdiary:acr:simplified"
    assert signed_in.snils_index is None and signed_in.children == []  # simplified: not released
    (stored,) = diary.sessions_of(signed_in.id)
    assert stored["sub"] == citizen.public_id and stored["portal_sid"]
    assert stored["acr"] == "urn:gosdiary:acr:simplified" and stored["auth_time"] > 0
    assert not any(key.startswith("_state_") for key in stored)  # the sign-in's state is used up

    # Signing in again later needs no consent, and lands where it was asked to, on this site.
    again = Browser(portal_server)
    page = again.go(diary.url + "/auth/login?next=https://evil.example/steal")
    assert again.pages == ["login"] and page.url == diary.url + "/"
    assert "Иванова Мария" in page.text


def refusals(caplog) -> list[str]:
    """Why the diary refused, as it logged it (never with tokens or claims)."""
    return [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]


TAMPERING = {
    "state": "OAuth error mismatching_state",
    "missing state": "OAuth error mismatching_state",
    "iss": "iss of the authorization response is not the portal",
    "missing iss": "no iss in the authorization response",
    "code of another sign-in": "OAuth error invalid_grant",
    "error": "OAuth error server_error",
}


@pytest.mark.parametrize("tamper", list(TAMPERING))
def test_a_tampered_authorization_response_is_refused(
    tamper, diary, portal_server, make_citizen, caplog
):
    make_citizen(phone=PHONE)
    person = Browser(portal_server)
    callback = to_callback(person, diary, start_sign_in(person, diary))
    if tamper == "state":
        callback = with_query(callback, state="forged-state-value-0123456789")
    elif tamper == "missing state":
        callback = with_query(callback, state=None)
    elif tamper == "iss":
        callback = with_query(callback, iss="https://evil.example")
    elif tamper == "missing iss":  # RFC 9207 §2.4: the portal promised it
        callback = with_query(callback, iss=None)
    elif tamper == "code of another sign-in":
        # An attacker's own code, injected into this person's callback: the diary sends
        # this person's PKCE verifier with it, and the portal refuses (RFC 7636).
        make_citizen(phone="+79169998877", surname="Злоумышленников")
        attacker = Browser(portal_server, login="+79169998877")
        stolen = to_callback(attacker, diary, start_sign_in(attacker, diary))
        callback = with_query(callback, code=query_of(stolen)["code"])
    elif tamper == "error":
        callback = with_query(callback, code=None, error="server_error")
    page = person.go(callback)
    assert page.status == 400
    assert "Вход через портал не завершился" in page.text
    assert refusals(caplog) == [f"sign-in through the portal refused: {TAMPERING[tamper]}"]
    assert diary.people() == []


def test_an_id_token_with_another_nonce_is_refused(diary, portal_server, make_citizen, caplog):
    """The nonce the diary keeps must come back in the ID token (OIDC Core §3.1.3.7)."""
    make_citizen(phone=PHONE)
    person = Browser(portal_server)
    authorize = with_query(start_sign_in(person, diary), nonce="a-nonce-the-diary-never-issued")
    page = person.go(authorize)
    assert person.pages == ["login", "consent"]
    assert page.status == 400 and "Вход через портал не завершился" in page.text
    assert refusals(caplog) == [
        "sign-in through the portal refused: ID token refused: InvalidClaimError"
    ]
    assert diary.people() == []


def test_a_request_without_pkce_is_refused(diary, portal_server, make_citizen, caplog):
    """Stripping the PKCE challenge on the way makes the portal refuse the request, and
    the diary then refuses the answer."""
    make_citizen(phone=PHONE)
    person = Browser(portal_server)
    authorize = with_query(
        start_sign_in(person, diary), code_challenge=None, code_challenge_method=None
    )
    callback = to_callback(person, diary, authorize)
    assert query_of(callback)["error"] == "invalid_request" and "code" not in query_of(callback)
    page = person.go(callback)
    assert page.status == 400 and "Вход через портал не завершился" in page.text
    assert refusals(caplog) == ["sign-in through the portal refused: OAuth error invalid_request"]
    assert diary.people() == []


def test_declining_on_the_consent_page_says_so(diary, portal_server, make_citizen):
    make_citizen(phone=PHONE)
    person = Browser(portal_server)
    person.decision = "deny"
    page = person.go(start_sign_in(person, diary))
    assert person.pages == ["login", "consent"]
    assert page.status == 403
    assert "Вы не разрешили дневнику получить ваши данные" in page.text
    assert diary.people() == []


# --- a standard parent --------------------------------------------------------------


def test_a_standard_parent_sees_their_verified_child(proofing, diary, portal_server, make_citizen):
    maria = make_standard(make_citizen, phone=PHONE)
    family.add_child(maria, PETR, ORIGIN)
    assert wait_for(lambda: verified(maria) == ["Иванов Пётр Сергеевич"])
    commit_portal()

    _person, home = sign_in(diary, portal_server)
    assert "Иванова Мария Петровна" in home.text
    assert "Учётная запись на портале: стандартная" in home.text
    assert "Ваши дети" in home.text and "Иванов Пётр Сергеевич" in home.text

    signed_in = diary.person(maria.public_id)
    assert [child.full_name for child in signed_in.children] == ["Иванов Пётр Сергеевич"]
    # The SNILS only as the diary's blind index: never the number itself.
    assert signed_in.snils_index == auth_services.snils_index(
        "112-233-445 95", DIARY_BLIND_INDEX_KEY
    )
    with diary.app.app_context():
        raw = " ".join(
            str(value)
            for row in diary_db.session.execute(sa.text("SELECT * FROM diary_person")).all()
            for value in row
        )
    assert "11223344595" not in raw and "112-233-445 95" not in raw


def test_the_next_sign_in_follows_the_portal(diary):
    """Names, the SNILS index and the children are replaced by what the portal says now:
    a child removed there disappears here."""
    identity = auth_services.PortalIdentity(
        sub="sub-1",
        acr="urn:gosdiary:acr:standard",
        sid="sid-1",
        claims={
            "family_name": "Иванова",
            "given_name": "Мария",
            "snils": "112-233-445 95",
            "kids": [
                {"id": "kid-1", "family_name": "Иванов", "given_name": "Пётр"},
                {"id": "kid-2", "family_name": "Иванова", "given_name": "Алиса"},
                {"family_name": "без id"},
            ],
        },
    )
    forget = utcnow() - timedelta(hours=12)
    with diary.app.app_context():
        person = auth_services.record_sign_in(
            identity, index_key=DIARY_BLIND_INDEX_KEY, forget_sessions_before=forget
        )
        assert [c.portal_id for c in person.children] == ["kid-1", "kid-2"]
        later = auth_services.PortalIdentity(
            sub="sub-1",
            acr="urn:gosdiary:acr:simplified",
            sid="sid-2",
            claims={"family_name": "Иванова", "given_name": "Мария", "kids": [{"id": "kid-2"}]},
        )
        same = auth_services.record_sign_in(
            later, index_key=DIARY_BLIND_INDEX_KEY, forget_sessions_before=forget
        )
        assert same.id == person.id and same.snils_index is None
        assert [c.portal_id for c in same.children] == ["kid-2"]
        assert (
            diary_db.session.execute(
                sa.select(sa.func.count()).select_from(PortalChild)
            ).scalar_one()
            == 1
        )
        sids = diary_db.session.execute(
            sa.select(PortalSession.sid).order_by(PortalSession.id)
        ).scalars()
        assert list(sids) == ["sid-1", "sid-2"]


# --- signing out --------------------------------------------------------------------


def test_signing_out_of_the_diary_signs_out_at_the_portal(diary, portal_server, make_citizen):
    citizen = make_citizen(phone=PHONE)
    person, home = sign_in(diary, portal_server)
    commit_portal()
    signed_in = diary.person(citizen.public_id)
    assert diary.sessions_of(signed_in.id)

    leaving = person.submit(home, {}, action="/auth/logout")
    assert leaving.status == 302
    end_session = leaving.location
    assert end_session.startswith(portal_server + "/oauth/logout?")
    params = query_of(end_session)
    assert params["post_logout_redirect_uri"] == diary.url + "/"
    assert params["client_id"] == CLIENT_ID and params["state"]
    hint = jwt.decode(params["id_token_hint"], public_key_set(), algorithms=["RS256"]).claims
    commit_portal()
    assert hint["sub"] == citizen.public_id and hint["aud"] in (CLIENT_ID, [CLIENT_ID])
    assert diary.sessions_of(signed_in.id) == []  # the diary's session ends first

    back = person.go(end_session)
    assert back.url == diary.url + "/"
    assert "Вы вышли из дневника и с портала." in back.text
    assert "Войти через Госуслуги" in back.text
    # The portal session ended too: its cabinet asks to sign in again.
    assert urlsplit(person.open(portal_server + "/cabinet/").location).path == "/login"


def test_signing_out_on_the_portal_ends_the_diary_session(diary, portal_server, make_citizen):
    citizen = make_citizen(phone=PHONE)
    person, _home = sign_in(diary, portal_server)
    commit_portal()
    signed_in = diary.person(citizen.public_id)
    assert diary.sessions_of(signed_in.id)

    cabinet = person.go(portal_server + "/cabinet")
    assert cabinet.status == 200
    person.submit(cabinet, {}, action="/logout")  # the portal's own sign-out button

    # The portal posted a logout token to the diary (Back-Channel Logout 1.0).
    commit_portal()
    delivery = portal_db.session.execute(sa.select(LogoutDelivery)).scalar_one()
    commit_portal()
    assert delivery.client_id == CLIENT_ID and delivery.delivered_at is not None
    assert diary.sessions_of(signed_in.id) == []
    page = person.go(diary.url + "/")
    assert "Войти через Госуслуги" in page.text and "Иванова" not in page.text


def logout_claims(sub: str | None, sid: str | None, **changes) -> dict:
    """The claims of a logout token (§2.4) for ``sub`` and ``sid``; ``changes`` replace
    claims (``None`` leaves one out)."""
    now = int(time.time())
    claims = {
        "iss": issuer(),
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": f"jti-{time.monotonic_ns()}",
        "sub": sub,
        "sid": sid,
        "events": {EVENT: {}},
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def signed_by_portal(claims: dict, typ: str | None = "logout+jwt") -> str:
    key = active_key("RS256")
    header = {"alg": "RS256", "kid": key.kid}
    if typ is not None:
        header["typ"] = typ
    token = jwt.encode(header, claims, key, default_type=None)
    commit_portal()
    return token


# What is wrong with the token → why the diary's log says it refused it.
FORGERIES = {
    "signed by another key with the portal's kid": ("wrong key", "signature: BadSignatureError"),
    "signed by an unknown key": ("unknown key", "signature: InvalidKeyIdError"),
    "for another client": ({"aud": "another-client"}, "claims: invalid_claim"),
    "from another issuer": ({"iss": "https://evil.example"}, "claims: invalid_claim"),
    "expired": ({"exp": int(time.time()) - 600}, "claims: expired_token"),
    "without jti": ({"jti": None}, "claims: missing_claim"),
    "without the logout event": ({"events": None}, "no back-channel logout event"),
    "with a nonce": ({"nonce": "n-0123"}, "nonce present"),
    "issued an hour ago": ("stale", "iat too old"),
    "issued in the future": ("future", "claims: invalid_claim"),
    "without sub and sid": ("anonymous", "neither sid nor sub"),
    "an ID token": ("id token", "typ is not logout+jwt"),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_logout_token_is_refused_and_the_session_stays(
    forgery, diary, portal_server, make_citizen, caplog
):
    citizen = make_citizen(phone=PHONE)
    person, _home = sign_in(diary, portal_server)
    commit_portal()
    signed_in = diary.person(citizen.public_id)
    (stored,) = diary.sessions_of(signed_in.id)
    sub, sid = citizen.public_id, stored["portal_sid"]

    kind, reason = FORGERIES[forgery]
    if kind in ("wrong key", "unknown key"):
        stranger = RSAKey.generate_key(2048, {"alg": "RS256"})
        kid = active_key("RS256").kid if kind == "wrong key" else "unknown-key-id"
        token = jwt.encode(
            {"alg": "RS256", "kid": kid, "typ": "logout+jwt"},
            logout_claims(sub, sid),
            stranger,
            default_type=None,
        )
        commit_portal()
    elif kind == "stale":
        then = int(time.time()) - 3600
        token = signed_by_portal(logout_claims(sub, sid, iat=then, exp=then + 7200))
    elif kind == "future":
        soon = int(time.time()) + 3600
        token = signed_by_portal(logout_claims(sub, sid, iat=soon, exp=soon + 120))
    elif kind == "id token":
        token = signed_by_portal(logout_claims(sub, sid, events=None), typ="JWT")
    elif kind == "anonymous":
        token = signed_by_portal(logout_claims(None, None))
    else:
        token = signed_by_portal(logout_claims(sub, sid, **kind))

    answer = diary.post_logout_token(token)
    assert answer.status == 400
    assert json.loads(answer.body)["error"] == "invalid_request"
    assert refusals(caplog) == [f"back-channel logout token refused: {reason}"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert len(diary.sessions_of(signed_in.id)) == 1
    assert "Иванова" in person.go(diary.url + "/").text


@pytest.mark.parametrize("names", ["sid and sub", "sid", "sub"])
def test_a_valid_logout_token_ends_the_sessions_it_names(names, diary, portal_server, make_citizen):
    citizen = make_citizen(phone=PHONE)
    sign_in(diary, portal_server)
    sign_in(diary, portal_server)  # another device: another portal session
    commit_portal()
    signed_in = diary.person(citizen.public_id)
    sids = [stored["portal_sid"] for stored in diary.sessions_of(signed_in.id)]
    assert len(set(sids)) == 2
    sid = sids[0]
    claims = logout_claims(
        citizen.public_id if names != "sid" else None, sid if names != "sub" else None
    )
    answer = diary.post_logout_token(signed_by_portal(claims, typ=None))
    assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
    left = [stored["portal_sid"] for stored in diary.sessions_of(signed_in.id)]
    assert left == ([] if names == "sub" else [sids[1]])


def test_the_portals_own_logout_token_is_accepted(diary, portal_server, make_citizen):
    citizen = make_citizen(phone=PHONE)
    sign_in(diary, portal_server)
    commit_portal()
    signed_in = diary.person(citizen.public_id)
    (stored,) = diary.sessions_of(signed_in.id)
    client = oidc.get_client(CLIENT_ID)
    token = backchannel.logout_token(client, citizen.public_id, stored["portal_sid"])
    commit_portal()
    assert diary.post_logout_token(token).status == 200
    assert diary.sessions_of(signed_in.id) == []


def test_keys_the_portal_rotated_in_are_fetched_when_a_token_names_one(
    diary, portal_server, make_citizen
):
    """The diary keeps the portal's JWKS; a token signed by a key it has not seen makes
    it fetch them again (OIDC Core §10.1.1): for logout tokens (ours) and for ID tokens
    (Authlib's ``parse_id_token``)."""
    citizen = make_citizen(surname="Иванова", given_name="Мария", phone=PHONE)
    sign_in(diary, portal_server)  # the keys are cached now
    commit_portal()
    signed_in = diary.person(citizen.public_id)
    (stored,) = diary.sessions_of(signed_in.id)

    rotate_keys(force=True)  # signing at once: the diary has never seen the key
    token = signed_by_portal(logout_claims(citizen.public_id, stored["portal_sid"]))
    assert diary.post_logout_token(token).status == 200
    assert diary.sessions_of(signed_in.id) == []

    rotate_keys(force=True)  # signing at once: the diary has never seen the key
    commit_portal()
    _person, home = sign_in(diary, portal_server)
    assert "Иванова Мария" in home.text


# --- the portal is down -------------------------------------------------------------


def test_when_the_portal_is_down_sign_in_says_so_and_signed_in_people_carry_on(
    diary, portal_server, make_citizen
):
    make_citizen(surname="Иванова", given_name="Мария", phone=PHONE)
    person, _home = sign_in(diary, portal_server)
    commit_portal()

    # The same diary (its database and sessions) once the portal stopped answering.
    down = f"http://127.0.0.1:{free_port()}"
    front = LaterApp()
    with LiveServer(front) as live:
        front.app = create_diary(
            diary_config(
                portal_url=down, public_url=live.url, secret=diary.secret, database=diary.database
            )
        )
        page = person.go(live.url + "/")
        assert page.status == 200 and "Иванова Мария" in page.text

        newcomer = Browser(portal_server)
        refused = newcomer.go(live.url + "/auth/login")
        assert refused.status == 503 and refused.headers["Retry-After"] == "60"
        assert "Вход через портал сейчас недоступен; попробуйте позже." in refused.text
        callback = newcomer.go(live.url + "/auth/callback?code=abc&state=def&iss=" + down)
        assert callback.status == 503

        # Signing out still ends the diary session, and says the portal was unreachable.
        home = person.go(live.url + "/")
        left = person.submit(home, {}, action="/auth/logout")
        assert left.status == 302 and left.location == live.url + "/"
        after = person.go(left.location)
        assert "Портал сейчас недоступен" in after.text and "Войти через Госуслуги" in after.text
        with front.app.app_context():
            diary_db.engine.dispose()


# --- configuration ------------------------------------------------------------------


def test_production_needs_the_client_and_its_secret(monkeypatch, tmp_path):
    for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "PORTAL_URL", "PUBLIC_URL"):
        monkeypatch.delenv(f"DIARY_{name}", raising=False)
    base = {
        "ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "LINK_CODE_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
        "SMTP_HOST": "smtp.example.ru",
        "SMS_GATEWAY_URL": "https://sms.example.ru/messages",
    }
    client_secret = secrets.token_urlsafe(32)
    with pytest.raises(ConfigError, match="DIARY_OIDC_CLIENT_SECRET is not set"):
        create_diary(base)
    with pytest.raises(ConfigError, match="DIARY_PORTAL_URL is not set"):
        create_diary({**base, "OIDC_CLIENT_SECRET": client_secret})
    with pytest.raises(ConfigError, match="DIARY_OIDC_CLIENT_ID is not set"):
        create_diary(
            {
                **base,
                "OIDC_CLIENT_SECRET": client_secret,
                "PORTAL_URL": "https://esia.example.ru",
                "PUBLIC_URL": "https://diary.example.ru",
            }
        )
