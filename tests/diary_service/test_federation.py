"""One parent, one portal, two regions: the whole federation over real HTTP.

The simulator (SMS inbox and registries), the portal and two regional diaries run on
live servers; the parent's browser is ``urllib`` with one cookie jar (``Browser`` of
``test_auth``). Мария registers on the portal through its pages (the SMS code read from
the simulator's inbox), fills her personal data, SNILS and passport through the
cabinet's pages until the registries make her account standard, and adds Пётр and Алиса
through the children form until ЗАГС and СФР verify them. Each region's school is built
directly in its diary's database: Пётр studies in region 1, Алиса in region 2. Signing
in to each diary links the child that region knows (SNILS and birth date) and only that
one; the second diary reuses the portal session (no password typed again).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from diary_service import create_app as create_diary
from diary_service.auth.services import snils_index
from diary_service.extensions import db as diary_db
from diary_service.journal.lessons import lesson_for_slot
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Guardian
from diary_service.models.journal import Mark
from diary_service.school.policy import DEFAULT_WEIGHTS
from diary_service.school.timetable import period_on
from portal.extensions import db as portal_db
from portal.identity.models import Citizen
from portal.oidc import services as oidc
from tests.conftest import ROOT, LiveServer, database_url, migrate_app, wipe
from tests.diary_service.factories import build_world
from tests.diary_service.test_auth import SCOPES, Browser, LaterApp, diary_config
from tests.helpers import region_today
from tests.portal.test_family import verified
from tests.portal.test_proofing import MARIA, MARIA_PASSPORT, level, wait_for

PHONE = "+79165550142"  # nobody else's: a fresh registration
PASSWORD = "quiet-orchard-bridge-73"
MARIA_SNILS = "112-233-445 95"
PETR = {
    "surname": "Иванов",
    "given_name": "Пётр",
    "patronymic": "Сергеевич",
    "birth_date": "2014-09-02",
    "gender": "M",
    "certificate_series": "IV-МЮ",
    "certificate_number": "512345",
    "certificate_issue_date": "2014-09-20",
    "registry_office": "Отдел ЗАГС Пресненского района",
    "snils": "050-234-316 00",
}
ALISA = {
    "surname": "Иванова",
    "given_name": "Алиса",
    "patronymic": "Сергеевна",
    "birth_date": "2011-05-17",
    "gender": "F",
    "certificate_series": "III-МЮ",
    "certificate_number": "401234",
    "certificate_issue_date": "2011-06-01",
    "registry_office": "Отдел ЗАГС Пресненского района",
    "snils": "016-103-396 00",
}


# --- the portal, through its pages --------------------------------------------------


def register(person: Browser, portal: str, inbox) -> None:
    """Registration as a person goes through it: name and phone, the SMS code, a password."""
    page = person.go(portal + "/register")
    page = person.submit(
        page, {"surname": "Иванова", "given_name": "Мария", "contact": PHONE}, action=""
    )
    code_page = person.go(page.location)
    assert urlpath(code_page.url) == "/register/code", code_page.text[:500]
    page = person.submit(code_page, {"code": inbox.last_code(PHONE)}, action="")
    password_page = person.go(page.location)
    assert urlpath(password_page.url) == "/register/password", password_page.text[:500]
    page = person.submit(
        password_page, {"password": PASSWORD, "confirm": PASSWORD, "consent": "y"}, action=""
    )
    cabinet = person.go(page.location)
    assert urlpath(cabinet.url) == "/cabinet/" and "Учётная запись создана." in cabinet.text


def become_standard(person: Browser, portal: str) -> None:
    """Personal data, SNILS and passport through the cabinet's forms; the registries
    answer the portal's live server."""
    profile = {**MARIA, "birth_date": MARIA["birth_date"].isoformat(), "actual_address": ""}
    saved = person.submit(person.go(portal + "/cabinet/profile"), profile, action="")
    assert saved.status == 302, saved.text[:500]
    documents = person.go(portal + "/cabinet/documents")
    saved = person.submit(documents, {"snils": MARIA_SNILS}, action="/cabinet/documents/snils")
    assert saved.status == 302, saved.text[:500]
    passport = {**MARIA_PASSPORT, "issue_date": MARIA_PASSPORT["issue_date"].isoformat()}
    documents = person.go(portal + "/cabinet/documents")
    saved = person.submit(documents, passport, action="/cabinet/documents/passport")
    assert saved.status == 302, saved.text[:500]


def add_child(person: Browser, portal: str, child: dict) -> None:
    added = person.submit(person.go(portal + "/cabinet/children/add"), child, action="")
    assert added.status == 302, added.text[:500]


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0]


# --- the diaries --------------------------------------------------------------------


@dataclass
class Region:
    app: object
    url: str
    index_key: str
    cookie: str


@contextmanager
def running_diary(
    portal: str, *, client_id: str, cookie: str, index_key: str, database: str
) -> Iterator[Region]:
    """A diary on a live server, registered at the portal as its own client."""
    front = LaterApp()
    with LiveServer(front) as live:
        client = oidc.create_client(
            name=f"Электронный дневник ({client_id})",
            client_id=client_id,
            redirect_uris=[live.url + "/auth/callback"],
            post_logout_redirect_uris=[live.url + "/"],
            backchannel_logout_uri=live.url + "/auth/backchannel-logout",
            scopes=SCOPES,
        )
        config = diary_config(
            portal_url=portal, public_url=live.url, secret=client.secret, database=database
        )
        front.app = create_diary(
            {
                **config,
                "OIDC_CLIENT_ID": client_id,
                # Two regions' SNILS indexes are not comparable: a key each.
                "BLIND_INDEX_KEY": index_key,
                # Cookies on 127.0.0.1 do not tell ports apart: a name each.
                "SESSION_COOKIE_NAME": cookie,
            }
        )
        migrate_app(front.app, ROOT / "diary_service" / "migrations")
        try:
            yield Region(front.app, live.url, index_key, cookie)
        finally:
            with front.app.app_context():
                diary_db.session.remove()
                wipe(diary_db)
                diary_db.engine.dispose()


@dataclass
class School:
    student_id: int  # the child the region knows
    other_id: int  # the other child's namesake there: no SNILS on record
    period_id: int
    comments: list[str]


def build_school(region: Region, key: str, snils: str, marks: list[tuple]) -> School:
    """The factories' world in the region's database; the student ``key`` gets the
    SNILS index (under this region's key) and the marks ``(subject, value, comment)``,
    given by the subject's teacher on the first weekdays of the current period."""
    with region.app.app_context():
        world = build_world()
        one = world.one
        student = one.students[key]
        student.snils_index = snils_index(snils, region.index_key)
        school_class = one.classes["6А" if key == "petr" else "9Б"]
        period = period_on(one.year, region_today()) or one.periods[0]
        day = period.starts_on
        while day.weekday() > 4:
            day += timedelta(days=1)
        for subject, value, comment in marks:
            number, teacher = (1, "teacher") if subject == "math" else (2, "teacher2")
            lesson = lesson_for_slot(school_class, world.subjects[subject].id, day, number)
            diary_db.session.add(
                Mark(
                    lesson_id=lesson.id,
                    student_id=student.id,
                    value=value,
                    kind="control",
                    weight=DEFAULT_WEIGHTS["control"],
                    comment=comment,
                    author_id=one.staff[teacher].id,
                )
            )
        diary_db.session.commit()
        other = one.students["alisa" if key == "petr" else "petr"]
        return School(student.id, other.id, period.id, [c for _s, _v, c in marks])


def guardians(region: Region, sub: str) -> list[tuple[int, str, str]]:
    """The person's live guardian links in the region: (student id, source, kind)."""
    with region.app.app_context():
        rows = diary_db.session.execute(
            sa.select(Guardian.student_id, Guardian.source, Guardian.kind)
            .join(DiaryPerson, DiaryPerson.id == Guardian.person_id)
            .where(DiaryPerson.sub == sub, Guardian.revoked_at.is_(None))
        ).all()
        diary_db.session.remove()
        return [tuple(row) for row in rows]


def linked_part(html: str) -> str:
    """The diary's children page without its list of portal children not yet linked."""
    return html.split("unlinked-children")[0]


@pytest.fixture
def regions(app, portal_server, tmp_path: Path) -> Iterator[tuple[Region, Region]]:
    # Region 1 takes the suite's diary database (PostgreSQL in CI when
    # TEST_DIARY_DATABASE_URL is set); region 2 always a SQLite file of its own, since the
    # CI gives the suite one diary database only.
    first = database_url("TEST_DIARY_DATABASE_URL", tmp_path, "region1")
    second = f"sqlite:///{tmp_path / 'region2.db'}"
    with (
        running_diary(
            portal_server,
            client_id="diary-federation-region-1",
            cookie="diary_session",
            index_key="test-region-1-blind-index-key-0001",
            database=first,
        ) as one,
        running_diary(
            portal_server,
            client_id="diary-federation-region-2",
            cookie="diary2_session",
            index_key="test-region-2-blind-index-key-0002",
            database=second,
        ) as two,
    ):
        portal_db.session.commit()  # the clients are visible to the portal's server
        yield one, two


# --- the walk -----------------------------------------------------------------------


def test_a_parent_registers_and_sees_each_childs_marks_in_its_own_region(
    proofing, portal_server, inbox, regions
):
    region1, region2 = regions
    school1 = build_school(
        region1,
        "petr",
        PETR["snils"],
        [("math", "5", "Дроби: Пётр в регионе 1"), ("russian", "3", "Диктант: Пётр в регионе 1")],
    )
    school2 = build_school(region2, "alisa", ALISA["snils"], [("math", "4", "Алиса в регионе 2")])

    # 1. The portal: registration, a standard account, two verified children.
    person = Browser(portal_server, login=PHONE, password=PASSWORD)
    register(person, portal_server, inbox)
    become_standard(person, portal_server)
    maria = portal_db.session.execute(sa.select(Citizen)).scalar_one()
    assert wait_for(lambda: level(maria) == "standard")
    add_child(person, portal_server, PETR)
    add_child(person, portal_server, ALISA)
    assert wait_for(
        lambda: sorted(verified(maria)) == ["Иванов Пётр Сергеевич", "Иванова Алиса Сергеевна"]
    )
    portal_db.session.commit()  # hold no transaction while the portal's server writes
    assert person.pages == []  # signed in by the registration itself

    # 2. Region 1: the sign-in links Пётр (no code, no school), and his marks show; she
    # lands on her children's diary.
    home = person.go(region1.url + "/auth/login")
    assert home.url == region1.url + "/students/" and "Иванов Пётр Сергеевич" in home.text
    assert person.pages == ["consent"]
    assert guardians(region1, maria.public_id) == [(school1.student_id, "portal", "parent")]
    marks = person.go(
        f"{region1.url}/students/{school1.student_id}/marks?period={school1.period_id}"
    )
    assert marks.status == 200 and "Иванов Пётр" in marks.text
    for comment in school1.comments:
        assert comment in marks.text
    assert "Математика" in marks.text and "Русский язык" in marks.text
    children = person.go(region1.url + "/students/")
    assert "Иванов Пётр Сергеевич" in linked_part(children.get_data(as_text=True))
    assert "Иванова Алиса" not in linked_part(children.get_data(as_text=True))
    # Алиса is listed as a portal child this region has not found.
    assert "Иванова Алиса" in children.get_data(as_text=True).split("unlinked-children")[1]
    assert person.go(f"{region1.url}/students/{school1.other_id}/marks").status == 403

    # 3. Region 2, same browser: the portal session is reused (only a consent, no
    # password), Алиса is linked and her marks show; region 2 does not know Пётр.
    home = person.go(region2.url + "/auth/login")
    assert home.url == region2.url + "/students/" and "Иванова Алиса Сергеевна" in home.text
    assert person.pages == ["consent", "consent"]  # the login page never again
    assert person.cookie("diary_session") and person.cookie("diary2_session")
    assert guardians(region2, maria.public_id) == [(school2.student_id, "portal", "parent")]
    marks = person.go(
        f"{region2.url}/students/{school2.student_id}/marks?period={school2.period_id}"
    )
    assert marks.status == 200 and "Иванова Алиса" in marks.text
    assert school2.comments[0] in marks.text
    assert not any(comment in marks.text for comment in school1.comments)
    children = person.go(region2.url + "/students/")
    assert "Иванова Алиса Сергеевна" in linked_part(children.get_data(as_text=True))
    assert "Иванов Пётр" not in linked_part(children.get_data(as_text=True))
    assert person.go(f"{region2.url}/students/{school2.other_id}/marks").status == 403

    # Region 1's session lives on beside region 2's, and its links are unchanged.
    again = person.go(
        f"{region1.url}/students/{school1.student_id}/marks?period={school1.period_id}"
    )
    assert again.status == 200 and school1.comments[0] in again.text
    assert school2.comments[0] not in again.text
    assert guardians(region1, maria.public_id) == [(school1.student_id, "portal", "parent")]
