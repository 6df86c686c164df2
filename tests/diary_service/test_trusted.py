"""Trusted persons in the diary (issue 6, way 4): the portal's ``trusted`` claim links a
grandmother or a nanny to one child at sign-in, the diary opens and ends their access on
time by itself, the portal's ``trusted.revoked`` message ends it at once, and what they
see is exactly the sections the parent granted, on the pages and in the API alike.

Most tests run on this module's diary (``test_api``'s: it trusts a stand-in portal's
keys, so the API's bearer tokens can be minted) with the small world of
``factories``; Пётр's trusted persons come from ``add_trusted_people``. The revocation
message travels over real HTTP from the real portal's signing key to a live diary
(``test_auth``'s). Pages are read in Russian.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from diary_service.access import viewer as access_viewer
from diary_service.access import viewer_for
from diary_service.auth.services import PortalIdentity, record_sign_in, snils_index
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Guardian, StudentAccess
from portal.oidc.keys import active_key
from portal.oidc.server import issuer
from shared.federation import sign_event
from shared.sessions import utcnow
from tests.diary_service import test_api, test_auth
from tests.diary_service.factories import (
    EVERYTHING,
    EVERYTHING_BUT_MESSAGES,
    SCHEDULE_AND_HOMEWORK,
    add_trusted_people,
    build_world,
)
from tests.diary_service.test_api import Api, Journal
from tests.helpers import forms_of, region_today, submit, text_of

# Fixtures of other modules: this module's diary trusts test_api's stand-in portal (its
# ``diary_app`` replaces the session's here), and test_auth's live diary is registered
# at the real portal.
diary_app = test_api.diary_app
keys_server = test_api.keys_server
api = test_api.api
journal = test_api.journal
live_diary = test_auth.diary

PETR_SNILS = "050-234-316 00"
MASHA_SNILS = "016-103-396 00"
GRANDMA_SNILS = "913-702-858 00"
G1 = "7f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a41"
G2 = "0b9e8d7c-6f5a-4b3c-9d2e-1f0a9b8c7d62"


@pytest.fixture
def trusted(world) -> dict[str, Guardian]:
    return add_trusted_people(world)


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def grant(
    grant_id: str = G1,
    *,
    snils: str = PETR_SNILS,
    birthdate: str = "2014-09-02",
    sections: list[Any] | None = None,
    opens_at: datetime | None = None,
    until: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """An entry of the portal's ``trusted`` claim (Пётр's by default, open an hour ago)."""
    entry = {
        "grant": grant_id,
        "id": "portal-child-petr",
        "family_name": "Иванов",
        "given_name": "Пётр",
        "middle_name": "Сергеевич",
        "birthdate": birthdate,
        "gender": "male",
        "snils": snils,
        "sections": SCHEDULE_AND_HOMEWORK if sections is None else sections,
        "opens_at": iso(opens_at or utcnow() - timedelta(hours=1)),
        "until": until,
    }
    entry.update(changes)
    return {name: value for name, value in entry.items() if value is not ...}


def sign_in_grandma(diary, *grants: dict | None, claim: Any = ...) -> DiaryPerson:
    """Анна signs in; the portal releases ``grants`` as her ``trusted`` claim (``claim``
    replaces it whole; ``...`` leaves the claim out)."""
    claims: dict[str, Any] = {
        "family_name": "Кузнецова",
        "given_name": "Анна",
        "middle_name": "Сергеевна",
        "snils": GRANDMA_SNILS,
        "kids": [],
    }
    if claim is not ...:
        claims["trusted"] = claim
    elif grants:
        claims["trusted"] = list(grants)
    identity = PortalIdentity(sub="sub-grandma", acr="urn:gosdiary:acr:standard", claims=claims)
    return record_sign_in(
        identity,
        index_key=diary.config["BLIND_INDEX_KEY"],
        forget_sessions_before=utcnow() - timedelta(hours=12),
    )


@pytest.fixture
def register(diary, world):
    """The school's register knows Пётр's and Маша's SNILS (as their blind index)."""
    key = diary.config["BLIND_INDEX_KEY"]
    world.one.students["petr"].snils_index = snils_index(PETR_SNILS, key)
    world.one.students["masha"].snils_index = snils_index(MASHA_SNILS, key)
    db.session.commit()
    return world


def links_of(person: DiaryPerson) -> list[Guardian]:
    return list(
        db.session.execute(
            sa.select(Guardian).where(Guardian.person_id == person.id).order_by(Guardian.id)
        ).scalars()
    )


# --- the claim at sign-in -----------------------------------------------------------------


def test_a_sign_in_with_a_trusted_claim_links_the_child(diary, register):
    petr = register.one.students["petr"]
    opens = utcnow() - timedelta(hours=1)
    until = region_today() + timedelta(days=30)
    person = sign_in_grandma(
        diary,
        grant(sections=[*EVERYTHING_BUT_MESSAGES, "passport", 7], opens_at=opens, until=str(until)),
        grant(G2, snils=MASHA_SNILS, birthdate="2014-04-12"),  # Маша, born on the 11th
        grant("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", snils="112-233-445 95"),  # nobody here
    )

    (link,) = links_of(person)
    assert (link.student_id, link.kind, link.source) == (petr.id, "trusted", "trusted")
    assert link.grant_id == G1
    assert link.sections == EVERYTHING_BUT_MESSAGES  # the unknown words are not kept
    assert link.opens_at == opens.replace(microsecond=0) and link.valid_until == until
    assert link.reason == f"доверенное лицо: доступ предоставлен на портале (разрешение {G1})"
    assert (link.family_name, link.given_name) == ("Кузнецова", "Анна")

    viewer = viewer_for(person)
    assert viewer.guardian_of == set()  # not a parent: no legal representative's rights
    assert viewer.trusted_sections == {petr.id: frozenset(EVERYTHING_BUT_MESSAGES)}
    assert viewer.trusted_until == {petr.id: until}
    # The child's SNILS is kept only as the register's blind index, never in a link.
    raw = " ".join(
        str(value) for row in db.session.execute(sa.text("SELECT * FROM guardian")) for value in row
    )
    assert "05023431600" not in raw and PETR_SNILS not in raw


MALFORMED = {
    "no grant id": {"grant": None},
    "a grant id that is not a UUID": {"grant": "grant-1"},
    "no SNILS": {"snils": None},
    "a malformed SNILS": {"snils": "050-234-316"},
    "no birth date": {"birthdate": None},
    "a malformed birth date": {"birthdate": "02.09.2014"},
    "no opening moment": {"opens_at": None},
    "a malformed opening moment": {"opens_at": "tomorrow"},
    "no section the diary knows": {"sections": ["passport", "everything"]},
    "sections that are not a list": {"sections": "schedule"},
    "an unreadable last day (never read as no end)": {"until": "31.12.2099"},
}


@pytest.mark.parametrize("what", list(MALFORMED))
def test_a_malformed_grant_links_nothing(what, diary, register):
    entry = grant()
    entry.update(MALFORMED[what])
    person = sign_in_grandma(diary, entry)
    assert links_of(person) == []
    assert viewer_for(person).trusted_sections == {}


@pytest.mark.parametrize("claim", ["not a list", {"grant": G1}, [None, "x", 3]])
def test_a_malformed_claim_links_nothing(claim, diary, register):
    assert links_of(sign_in_grandma(diary, claim=claim)) == []


def test_without_a_snils_on_record_the_granting_parents_own_link_finds_the_child(diary, world):
    """The register has no SNILS for Пётр (his parents were linked by the school or a
    code): the grant is matched through the granting parent's link to a student with
    the child's birth date and given name, and only so."""
    parent, parent2 = world.people["parent"], world.people["parent2"]
    petr = world.one.students["petr"]
    grandma = sign_in_grandma(diary, grant(granted_by="someone-unknown"))
    assert links_of(grandma) == []
    # Маша's parent is nobody of Пётр's: a grant naming them finds nothing.
    grandma = sign_in_grandma(diary, grant(granted_by=parent2.sub))
    assert links_of(grandma) == []
    # Пётр's parent, but the registry's name is not the student's: nothing either.
    grandma = sign_in_grandma(diary, grant(granted_by=parent.sub, given_name="Павел"))
    assert links_of(grandma) == []
    grandma = sign_in_grandma(diary, grant(granted_by=parent.sub))
    assert [(link.student_id, link.kind) for link in links_of(grandma)] == [(petr.id, "trusted")]


def test_the_next_sign_in_follows_the_portal(diary, register):
    """A grant still listed is updated in place; one no longer listed is revoked, and
    the child is gone at the next request; no claim at all revokes them all."""
    petr, masha = register.one.students["petr"], register.one.students["masha"]
    person = sign_in_grandma(
        diary, grant(), grant(G2, snils=MASHA_SNILS, birthdate="2014-04-11", sections=EVERYTHING)
    )
    first, second = links_of(person)
    assert viewer_for(person).trusted_sections == {
        petr.id: frozenset(SCHEDULE_AND_HOMEWORK),
        masha.id: frozenset(EVERYTHING),
    }

    until = region_today() + timedelta(days=7)
    person = sign_in_grandma(diary, grant(sections=EVERYTHING_BUT_MESSAGES, until=str(until)))
    updated, revoked = links_of(person)
    assert (updated.id, updated.revoked_at) == (first.id, None)
    assert updated.sections == EVERYTHING_BUT_MESSAGES and updated.valid_until == until
    assert revoked.id == second.id and revoked.revoked_at is not None
    assert viewer_for(person).trusted_sections == {petr.id: frozenset(EVERYTHING_BUT_MESSAGES)}

    person = sign_in_grandma(diary)  # the portal released no ``trusted`` claim
    assert all(link.revoked_at is not None for link in links_of(person))
    assert viewer_for(person).trusted_sections == {}


def test_a_parent_gets_no_trusted_link_to_their_own_child(diary, register):
    parent = register.people["parent"]
    identity = PortalIdentity(
        sub=parent.sub,
        acr="urn:gosdiary:acr:standard",
        claims={"family_name": "Иванова", "given_name": "Мария", "trusted": [grant()]},
    )
    record_sign_in(
        identity,
        index_key=diary.config["BLIND_INDEX_KEY"],
        forget_sessions_before=utcnow() - timedelta(hours=12),
    )
    assert [link.kind for link in links_of(parent)] == ["parent", "parent"]
    assert viewer_for(parent).trusted_sections == {}


# --- opening and ending on time -------------------------------------------------------------


def test_access_opens_at_its_moment_and_ends_after_its_last_day(diary, register):
    petr = register.one.students["petr"]
    opens = datetime(2026, 12, 4, 12, 0)
    person = sign_in_grandma(diary, grant(opens_at=opens, until="2027-05-31"))
    before = viewer_for(person, now=opens - timedelta(seconds=1), today=date(2026, 12, 4))
    assert before.trusted_sections == {} and not before.is_family
    at = viewer_for(person, now=opens, today=date(2026, 12, 4))
    assert at.trusted_sections == {petr.id: frozenset(SCHEDULE_AND_HOMEWORK)} and at.is_family
    last_day = viewer_for(person, now=datetime(2027, 5, 31, 20, 59), today=date(2027, 5, 31))
    assert petr.id in last_day.trusted_sections
    after = viewer_for(person, now=datetime(2027, 6, 1, 0, 1), today=date(2027, 6, 1))
    assert after.trusted_sections == {}


def test_not_yet_open_shows_nothing_until_the_clock_passes(world, trusted, login, monkeypatch):
    petr = world.one.students["petr"]
    client = login(world.people["trusted_pending"])
    index = client.get("/students/")
    assert index.status_code == 200
    assert "Пётр" not in text_of(index)
    assert client.get(f"/students/{petr.id}/week").status_code == 403

    # Two days later (the portal's delay has passed): the same link opens by itself.
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(access_viewer, "utcnow", lambda: later)
    opened = client.get("/students/")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(
        f"/students/{petr.id}/week"
    )
    assert client.get(f"/students/{petr.id}/week").status_code == 200


@pytest.mark.parametrize("who", ["trusted_expired", "trusted_revoked", "nobody"])
def test_an_expired_or_revoked_grant_and_a_stranger_see_nothing(who, world, trusted, login, api):
    petr = world.one.students["petr"]
    person = world.people[who]
    client = login(person)
    assert "Иванов Пётр" not in text_of(client.get("/students/"))
    for page in ("week", "marks", "attendance", "news", "week/print", "access-log"):
        assert client.get(f"/students/{petr.id}/{page}").status_code == 403
    assert api.get("/api/v1/children", person).get_json() == {"children": []}
    assert api.get(f"/api/v1/children/{petr.id}/week", person).status_code == 403
    assert db.session.execute(sa.select(StudentAccess)).first() is None


# --- what they see ----------------------------------------------------------------------------


def test_pages_show_only_the_granted_sections(world, trusted, journal: Journal, login):
    petr = world.one.students["petr"]
    week_url = f"/students/{petr.id}/week?date={journal.monday.isoformat()}"

    light = login(world.people["trusted_light"])
    week = light.get(week_url)
    assert week.status_code == 200
    text = text_of(week)
    assert "Вы видите этот дневник как доверенное лицо" in text
    assert "Вам доступны: расписание и новости, домашние задания." in text
    assert "Сложение десятичных дробей" in text and "Учебник, № 245 и 247" in text
    assert "Ошибка в задаче 3" not in text  # a mark's comment
    assert "Разговаривал на контрольной работе" not in text  # a remark to parents
    assert f"/students/{petr.id}/marks" not in week.get_data(as_text=True)  # no tab
    assert f"/students/{petr.id}/access-log" not in week.get_data(as_text=True)
    assert not [f for f in forms_of(week.get_data(as_text=True)) if "acknowledge" in f.action]
    assert light.get(f"/students/{petr.id}/marks").status_code == 403
    assert light.get(f"/students/{petr.id}/attendance").status_code == 403
    assert light.get(f"/students/{petr.id}/news").status_code == 200
    english = text_of(light.get(week_url, headers={"Accept-Language": "en"}))
    assert "You see this diary as a trusted person, until" in english
    assert "What you see: schedule and news, homework." in english

    full = login(world.people["trusted"])
    text = text_of(full.get(week_url))
    assert "Ошибка в задаче 3" in text and "Разговаривал на контрольной работе" in text
    assert full.get(f"/students/{petr.id}/marks").status_code == 200
    assert full.get(f"/students/{petr.id}/attendance").status_code == 200


def test_the_list_of_children_offers_only_the_granted_pages(world, trusted, login):
    petr = world.one.students["petr"]
    # The grandmother of two: the light grant for Пётр, and a parent of Алиса too.
    db.session.add(
        Guardian(
            student_id=world.one.students["alisa"].id,
            person_id=world.people["trusted_light"].id,
            kind="parent",
            source="school",
        )
    )
    db.session.commit()
    page = login(world.people["trusted_light"]).get("/students/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/students/{petr.id}/week" in html and f"/students/{petr.id}/news" in html
    assert f"/students/{petr.id}/marks" not in html
    assert f"/students/{world.one.students['alisa'].id}/marks" in html
    assert "доверенное лицо" in text_of(page)
    # From Алиса's marks the switcher leads to Пётр's first page, not to a refusal.
    marks = login(world.people["trusted_light"]).get(
        f"/students/{world.one.students['alisa'].id}/marks"
    )
    assert f"/students/{petr.id}/week" in marks.get_data(as_text=True)


def test_the_api_applies_the_same_sections(api: Api, world, trusted, journal: Journal):
    petr = world.one.students["petr"]
    light = world.people["trusted_light"]
    (child,) = api.get("/api/v1/children", light).get_json()["children"]
    assert child["id"] == petr.id and child["is_trusted"] is True
    assert child["sections"] == ["homework", "schedule"]
    assert child["trusted_until"] == (region_today() + timedelta(days=30)).isoformat()

    week = api.get(f"/api/v1/children/{petr.id}/week?date={journal.monday}", light).get_json()
    lessons = [lesson for day in week["days"] for lesson in day["lessons"]]
    assert any(lesson["homework"] for lesson in lessons)
    assert all(lesson["marks"] == [] and lesson["attendance"] is None for lesson in lessons)
    assert "remarks" not in week
    assert api.get(f"/api/v1/children/{petr.id}/homework", light).status_code == 200
    assert api.get(f"/api/v1/children/{petr.id}/marks", light).status_code == 403
    assert api.get(f"/api/v1/children/{petr.id}/attendance", light).status_code == 403

    full = world.people["trusted"]
    (child,) = api.get("/api/v1/children", full).get_json()["children"]
    assert child["sections"] == sorted(EVERYTHING_BUT_MESSAGES)
    assert child["trusted_until"] is None
    assert api.get(f"/api/v1/children/{petr.id}/marks", full).status_code == 200
    # The parent's own listing says they are not a trusted person.
    mine = api.get("/api/v1/children", world.people["parent"]).get_json()["children"]
    assert {(c["is_trusted"], c["trusted_until"]) for c in mine} == {(False, None)}


def test_messages_only_when_granted(world, trusted, journal: Journal, login, api: Api):
    petr = world.one.students["petr"]
    teacher = world.people["teacher"]
    no_messages = login(world.people["trusted"])
    assert no_messages.get(f"/messages/new?student={petr.id}").status_code == 403
    assert "Пётр" not in text_of(no_messages.get("/messages/new"))
    assert no_messages.get(f"/messages/{journal.direct.id}").status_code == 403
    assert "Контрольная работа" not in text_of(no_messages.get("/messages/"))
    assert api.get("/api/v1/messages", world.people["trusted"]).get_json() == {"threads": []}

    # Staff write to a trusted person only if the grant includes messages.
    choices = text_of(login(teacher).get(f"/messages/new?student={petr.id}"))
    assert "Смирнов Аркадий (доверенное лицо)" in choices
    assert "Кузнецова Анна" not in choices

    granted = login(world.people["trusted_full"])
    url = f"/messages/new?student={petr.id}"
    sent = submit(
        granted,
        url,
        {"recipient": str(teacher.id), "subject": "Бабушка", "body": "Заберу Петю в 14:00"},
        action=url,
    )
    assert sent.status_code == 302
    thread_url = sent.headers["Location"]
    assert "Заберу Петю в 14:00" in text_of(login(teacher).get(thread_url))
    # The class parents' conversation stays the parents'.
    cls = world.one.classes["6А"]
    assert granted.get(f"/messages/classes/{cls.id}/parents").status_code == 403
    assert granted.get(f"/messages/{journal.class_parents.id}").status_code == 403


def test_a_trusted_person_does_not_act_as_a_parent(world, trusted, login):
    petr = world.one.students["petr"]
    client = login(world.people["trusted_full"])
    week = client.get(f"/students/{petr.id}/week")
    token = next(f for f in forms_of(week.get_data(as_text=True)) if f.method == "post")
    data = {"csrf_token": token.fields["csrf_token"], "week": region_today().isoformat()}
    assert client.post(f"/students/{petr.id}/acknowledge", data=data).status_code == 403
    assert client.get(f"/students/{petr.id}/access-log").status_code == 403
    assert client.get("/codes/").status_code == 403


def test_the_parents_log_shows_the_trusted_persons_views(world, trusted, login, api: Api):
    petr = world.one.students["petr"]
    grandma = world.people["trusted"]
    assert login(grandma).get(f"/students/{petr.id}/marks").status_code == 200
    assert api.get(f"/api/v1/children/{petr.id}/week", grandma).status_code == 200
    rows = db.session.execute(
        sa.select(StudentAccess.role, StudentAccess.what).where(
            StudentAccess.viewer_id == grandma.id
        )
    ).all()
    assert sorted(rows) == [("trusted", "api:week"), ("trusted", "marks")]

    log = text_of(login(world.people["parent"]).get(f"/students/{petr.id}/access-log"))
    assert "Кузнецова Анна" in log and "доверенное лицо" in log
    assert "оценки" in log and "неделя дневника (мобильное приложение)" in log


# --- the portal's revocation ---------------------------------------------------------------


def post_event(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/federation/events",
        data=token.encode(),
        method="POST",
        headers={"Content-Type": "application/jwt"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {}


def signed_revocation(grant_id: Any, audience: str = test_auth.CLIENT_ID) -> str:
    token = sign_event(
        active_key("RS256"),
        issuer=issuer(),
        audience=audience,
        event="trusted.revoked",
        data={"grant": grant_id},
    )
    test_auth.commit_portal()
    return token


def test_the_portals_revocation_ends_access_at_the_next_request(live_diary, portal_server):
    with live_diary.app.app_context():
        from_world = add_trusted_people(build_world())
        petr_id = from_world["trusted"].student_id
        grant_id = from_world["trusted"].grant_id
        grandma, other = from_world["trusted"].person_id, from_world["trusted_light"].person_id
    browser, neighbour = signed_in(live_diary.app, grandma), signed_in(live_diary.app, other)
    week = f"/students/{petr_id}/week"
    assert browser.get(week).status_code == 200

    # A message for another region, or with a grant id that is not one, changes nothing.
    assert post_event(live_diary.url, signed_revocation(grant_id, "another-client"))[0] == 400
    assert post_event(live_diary.url, signed_revocation("not-a-grant"))[0] == 400
    assert browser.get(week).status_code == 200

    assert post_event(live_diary.url, signed_revocation(grant_id)) == (200, {"revoked": 1})
    assert browser.get(week).status_code == 403  # the very next request
    assert "Иванов Пётр" not in text_of(browser.get("/students/"))
    # The portal may send it again: nothing more to revoke. Other grants stand.
    assert post_event(live_diary.url, signed_revocation(grant_id)) == (200, {"revoked": 0})
    assert neighbour.get(week).status_code == 200


def signed_in(app, person_id: int):
    client = app.test_client()
    with app.app_context():
        person = db.session.get(DiaryPerson, person_id)
        sub = person.sub
    with client.session_transaction() as session:
        session["user_id"] = person_id
        session["sub"] = sub
        session["acr"] = "urn:gosdiary:acr:standard"
        session["portal_sid"] = f"sid-{person_id}"
    return client
