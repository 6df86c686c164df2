"""The regional diary's "Done when" (issue 5), in a real browser: a teacher signs in
through the portal and fills in a lesson (topic, homework, a mark, an absence); a parent
signs in and finds it in the week view, with the period average and the forecast on the
marks page; the teacher corrects the mark with a reason, and the parent's history of the
mark shows both versions; the class report and its XLSX export show the new average.

Three real HTTP servers: the portal (``portal_server``, its citizens made *standard* by
the simulator's registries), and a diary of its own registered at the portal as a client
(as ``tests/diary_service/test_auth.py`` starts one), whose school is the factories'
small world. The two citizens are people of the registries' population: Ольга Смирнова
(the teacher of 6А's mathematics) and Мария Иванова (Пётр's mother). The school knows
them only by their SNILS's keyed hash, so it is their sign-in that ties them to their
staff record and to Пётр (``diary_service.auth.services.link_records``).

The mark is a 4 for a control work (weight 5) so that the marks page has a forecast to
show (a lone 5 is already the top mark); the correction makes it a 5, which moves the
average from 4.00 to 5.00 everywhere. The absence is Маша's: the teacher's grid and the
class report show it (her parent is not in this story). The lesson is the latest school
day on or before today, whatever weekday today is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect

from diary_service import create_app as create_diary
from diary_service.auth.services import snils_index
from diary_service.extensions import db as diary_db
from diary_service.models.family import Guardian
from diary_service.models.school import Period
from portal.extensions import db as portal_db
from portal.oidc import services as oidc
from tests.conftest import ROOT, LiveServer, database_url, migrate_app, wipe
from tests.diary_service.factories import build_world
from tests.diary_service.test_auth import CLIENT_ID, SCOPES, LaterApp, diary_config
from tests.e2e.conftest import TIMEOUT_MS
from tests.helpers import region_today
from tests.portal.test_proofing import MARIA, make_standard

pytestmark = pytest.mark.e2e

# The teacher: Ольга Смирнова of the registries' population (portal/demo.py's demo
# teacher), with the documents the registries hold for her.
OLGA = {
    **MARIA,
    "surname": "Смирнова",
    "given_name": "Ольга",
    "patronymic": "Викторовна",
    "birth_date": date(1979, 7, 8),
}
OLGA_PASSPORT = {
    "series": "4503",
    "number": "111222",
    "issue_date": date(2004, 8, 10),
    "issuer": "ОВД района Хамовники г. Москвы",
    "issuer_code": "770-003",
}
OLGA_SNILS = "820-981-233 00"
OLGA_PHONE = "+79160000003"
OLGA_PASSWORD = "Demo-Teacher-2026"
# The parent: Мария Иванова, Пётр's mother.
MARIA_SNILS = "112-233-445 95"
MARIA_PHONE = "+79160000001"
MARIA_PASSWORD = "violet-harbour-lamp"  # make_citizen's

TOPIC = "Сложение дробей с разными знаменателями"
HOMEWORK = "№ 245 и 247 на с. 58, повторить правило"
REASON = "Ошибка при вводе: работа оценена на «5»"
TEACHER_SHORT = "Смирнова О. В."


@dataclass(frozen=True)
class School:
    """What the test needs of the diary's world, read while its session was open."""

    class_id: int
    lesson_day: date | None  # a school day of a period, on or before today
    period_id: int | None


@dataclass
class Diary:
    url: str
    school: School


def last_school_day(periods: list[Period], today: date) -> tuple[date, Period] | None:
    """The latest weekday on or before today inside one of the periods (6А has
    mathematics at lesson 1 every weekday; the factories' school has no holidays)."""
    day = today
    while periods and day >= periods[0].starts_on:
        if day.weekday() < 5:
            for period in periods:
                if period.starts_on <= day <= period.ends_on:
                    return day, period
        day -= timedelta(days=1)
    return None


@pytest.fixture
def diary(app, portal_server, tmp_path) -> Iterator[Diary]:
    """A diary on a live server, registered at the portal, with the factories' world in
    which the school knows the teacher and Пётр's mother by their SNILS only."""
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
        portal_db.session.commit()
        database = database_url("TEST_DIARY_DATABASE_URL", tmp_path, "diary")
        front.app = create_diary(
            diary_config(
                portal_url=portal_server, public_url=live.url, secret=new.secret, database=database
            )
        )
        migrate_app(front.app, ROOT / "diary_service" / "migrations")
        front.app.logger.disabled = False  # Alembic's logging setup turns it off
        with front.app.app_context():
            key = front.app.config["BLIND_INDEX_KEY"]
            world = build_world()
            one = world.one
            # The factories tie the teacher's record to a made-up person; here nobody
            # holds it until Ольга signs in with her SNILS.
            teacher = one.staff["teacher"]
            teacher.person_id = None
            teacher.snils_index = snils_index(OLGA_SNILS, key)
            diary_db.session.add(
                Guardian(
                    student=one.students["petr"],
                    person_id=None,
                    snils_index=snils_index(MARIA_SNILS, key),
                    family_name="Иванова",
                    given_name="Мария",
                    middle_name="Петровна",
                    kind="parent",
                    source="school",
                    reason="заявление матери",
                )
            )
            diary_db.session.commit()
            found = last_school_day(one.periods, region_today())
            school = School(
                class_id=one.classes["6А"].id,
                lesson_day=found[0] if found else None,
                period_id=found[1].id if found else None,
            )
            diary_db.session.remove()
        yield Diary(live.url, school)
    with front.app.app_context():
        diary_db.session.remove()
        wipe(diary_db)
        diary_db.engine.dispose()


@pytest.fixture
def parent_page(browser: Browser) -> Iterator[Page]:
    """A second person's browser (a fresh profile, as the ``page`` fixture's)."""
    context = browser.new_context(
        locale="ru-RU",
        timezone_id="Europe/Moscow",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in_through_portal(
    page: Page, diary_url: str, phone: str, password: str, lands_on: str = r"/.*"
) -> None:
    """From the diary's home page through the portal's sign-in and consent, to the
    person's start page (``lands_on``, a pattern of its path)."""
    page.goto(diary_url + "/")
    expect(page.locator("main h1")).to_have_text("Электронный дневник")
    page.get_by_role("link", name="Войти через Госуслуги").click()
    expect(page.get_by_label("Телефон, электронная почта или СНИЛС")).to_be_visible()
    page.get_by_label("Телефон, электронная почта или СНИЛС").fill(phone)
    page.get_by_label("Пароль", exact=True).fill(password)
    page.locator("main").get_by_role("button", name="Войти").click()
    # The first sign-in to this diary: the portal asks the person to release their data.
    page.get_by_role("button", name="Разрешить").click()
    expect(page).to_have_url(re.compile(re.escape(diary_url) + lands_on + "$"))


def sections(page: Page):
    """The diary's main navigation in the header."""
    return page.locator("header").get_by_role("navigation", name="Разделы", exact=True)


def row_of(page: Page, table: str, name: str):
    return page.locator(f"{table} tr").filter(has=page.get_by_role("rowheader", name=name))


def test_a_lesson_filled_in_by_the_teacher_reaches_the_parent_and_the_reports(
    proofing, diary, make_citizen, page: Page, parent_page: Page, tmp_path
):
    school = diary.school
    if school.lesson_day is None:
        pytest.skip("the school year has not begun: no lesson has taken place yet")
    day = school.lesson_day
    short_day = day.strftime("%d.%m")

    make_standard(
        make_citizen,
        profile=OLGA,
        snils=OLGA_SNILS,
        passport=OLGA_PASSPORT,
        phone=OLGA_PHONE,
        password=OLGA_PASSWORD,
    )
    make_standard(make_citizen, snils=MARIA_SNILS, phone=MARIA_PHONE, password=MARIA_PASSWORD)
    portal_db.session.commit()  # the live servers see the citizens; no transaction held

    # 1. The teacher signs in through the portal and opens 6А's mathematics.
    teacher = page
    # She lands on her start page: the journal's lessons of today.
    sign_in_through_portal(teacher, diary.url, OLGA_PHONE, OLGA_PASSWORD, "/journal/")
    expect(teacher.locator("main h1")).to_have_text("Классный журнал")
    teaching = teacher.locator("section", has_text="Ваши классы и предметы")
    teaching.locator("tr", has_text="6А").get_by_role("link", name="Математика", exact=True).click()
    expect(teacher.locator("main h1")).to_have_text("Журнал: 6А, Математика")
    grid_url = teacher.url

    # A lesson that has taken place: the teacher opens it from its column (showing the
    # grid created nothing), then its topic and homework, then the marks sheet.
    teacher.get_by_role("link", name=short_day, exact=True).click()
    teacher.get_by_role("button", name="Открыть урок").click()
    expect(teacher.get_by_label("Тема урока")).to_be_visible()
    expect(teacher.locator("main h1")).to_contain_text("6А, Математика: урок 1")
    teacher.get_by_label("Тема урока").fill(TOPIC)
    teacher.get_by_label("Домашнее задание", exact=True).fill(HOMEWORK)
    teacher.get_by_role("button", name="Сохранить тему и задание").click()
    expect(teacher.locator(".flash")).to_contain_text("Тема и домашнее задание сохранены.")
    expect(teacher.get_by_label("Тема урока")).to_have_value(TOPIC)
    expect(teacher.get_by_label("Домашнее задание", exact=True)).to_have_value(HOMEWORK)

    teacher.get_by_label("Вид работы для новых отметок").select_option("control")
    teacher.get_by_label("Новая отметка: Иванов Пётр").fill("4")
    teacher.get_by_label("Посещаемость: Кузнецова Мария").select_option("н")
    teacher.get_by_role("button", name="Сохранить отметки и посещаемость").click()
    expect(teacher.locator(".flash")).to_contain_text("Отметки и посещаемость сохранены.")
    expect(teacher.get_by_label("Выставленная отметка: Иванов Пётр")).to_have_value("4")
    expect(teacher.get_by_label("Вид работы выставленной отметки: Иванов Пётр")).to_have_value(
        "control"
    )
    expect(teacher.get_by_label("Посещаемость: Кузнецова Мария")).to_have_value("н")
    lesson_url = teacher.url.split("#")[0]

    # The journal's grid shows them: the mark, the absence, Пётр's average.
    teacher.get_by_role("link", name="Вернуться в журнал").click()
    expect(teacher.locator("main h1")).to_have_text("Журнал: 6А, Математика")
    petr_row = row_of(teacher, "table.journal-grid", "Иванов Пётр")
    expect(petr_row.get_by_role("link", name="4", exact=True)).to_be_visible()
    expect(petr_row).to_contain_text("4,00")
    masha_row = row_of(teacher, "table.journal-grid", "Кузнецова Мария")
    expect(masha_row.get_by_role("link", name="н", exact=True)).to_be_visible()

    # 2. The parent signs in and finds the lesson in Пётр's week.
    parent = parent_page
    # Her start page is her only child's week.
    sign_in_through_portal(parent, diary.url, MARIA_PHONE, MARIA_PASSWORD, r"/students/\d+/week")
    expect(parent.locator("main h1")).to_have_text("Иванов Пётр Сергеевич")
    parent.get_by_label("Перейти к неделе с датой").fill(day.isoformat())
    parent.get_by_role("button", name="Показать").click()
    lesson_row = parent.locator(f"#day-{day.isoformat()} li.lesson", has_text="Математика")
    expect(lesson_row).to_contain_text(f"Тема: {TOPIC}")
    expect(lesson_row).to_contain_text(f"Домашнее задание: {HOMEWORK}")
    expect(lesson_row.locator(".mark-badge")).to_have_text("4")
    expect(lesson_row.locator(".mark-details .mark")).to_have_text("4")
    expect(lesson_row.locator(".mark-kind")).to_have_text("контрольная работа, вес 5")
    expect(lesson_row.locator(".badge", has_text="исправлена")).to_have_count(0)

    # The marks page: the period average and the forecast (4 with weight 5 is 4.00;
    # two more fives for a control work make (20 + 50) / 15 = 4.67, which is a «5»).
    parent.get_by_role("navigation", name="Разделы дневника").get_by_role(
        "link", name="Оценки"
    ).click()
    math = parent.locator("section.subject-marks", has_text="Математика")
    expect(math.locator("h2")).to_contain_text("средний балл 4")
    expect(math).to_contain_text("Предлагаемая отметка за период")
    expect(math).to_contain_text("Прогноз")
    expect(math.locator("ul.forecast")).to_contain_text(
        "ещё 2 пятёрки за контрольную работу дадут 4,67 → 5"
    )

    # 3. The teacher corrects Пётр's mark, giving the reason.
    teacher.goto(lesson_url)
    teacher.get_by_label("Выставленная отметка: Иванов Пётр").fill("5")
    teacher.get_by_label("Причина исправления записей: Иванов Пётр").fill(REASON)
    teacher.get_by_role("button", name="Сохранить отметки и посещаемость").click()
    expect(teacher.locator(".flash")).to_contain_text("Отметки и посещаемость сохранены.")
    expect(teacher.get_by_label("Выставленная отметка: Иванов Пётр")).to_have_value("5")

    # The parent sees the corrected mark, and its history: both versions, who, why.
    parent.reload()
    expect(math.locator("h2")).to_contain_text("средний балл 5")
    expect(math.locator(".mark-item")).to_contain_text("исправлена")
    math.get_by_role("link", name="история").click()
    expect(parent.locator("main h1")).to_have_text("История отметки")
    expect(parent.locator("main")).to_contain_text("Ученик: Иванов Пётр Сергеевич")
    versions = parent.locator("table.journal-history tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0).locator("strong")).to_have_text("4")
    expect(versions.nth(0)).to_contain_text("выставлена")
    expect(versions.nth(0)).to_contain_text(TEACHER_SHORT)
    expect(versions.nth(0)).to_contain_text("контрольная работа")
    expect(versions.nth(1).locator("strong")).to_have_text("5")
    expect(versions.nth(1)).to_contain_text("исправлена")
    expect(versions.nth(1)).to_contain_text("действует")
    expect(versions.nth(1)).to_contain_text(TEACHER_SHORT)
    expect(versions.nth(1)).to_contain_text(REASON)

    # 4. The class report shows the new average, and so does its XLSX export.
    teacher.goto(grid_url)
    sections(teacher).get_by_role("link", name="Отчёты", exact=True).click()
    expect(teacher.locator("main h1")).to_have_text("Отчёты")
    teacher.get_by_role("link", name="Класс 6А", exact=True).click()
    expect(teacher.locator("main h1")).to_have_text("Отчёт по классу 6А")
    # The period of the lesson (the current one, chosen again as a user would check it).
    teacher.get_by_label("Период").select_option(str(school.period_id))
    teacher.get_by_role("button", name="Показать").click()
    expect(teacher).to_have_url(
        re.compile(rf"/reports/classes/{school.class_id}\?period={school.period_id}$")
    )
    expect(teacher.locator("main h1")).to_have_text("Отчёт по классу 6А")
    by_subject = teacher.locator("section", has_text="По предметам")
    math_figures = by_subject.locator("tbody tr").filter(
        has=teacher.get_by_role("rowheader", name="Математика", exact=True)
    )
    expect(math_figures.locator("td").first).to_have_text("5,00")
    expect(by_subject.locator("tfoot td").first).to_have_text("5,00")
    matrix_row = row_of(teacher, "table.report-matrix", "Иванов Пётр Сергеевич")
    expect(matrix_row).to_contain_text("5,00")
    absent = teacher.locator("tr", has_text="н — отсутствие без уважительной причины")
    expect(absent.locator("td")).to_have_text("1")

    with teacher.expect_download() as download_info:
        teacher.get_by_role("link", name="книга Excel (XLSX)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    workbook = openpyxl.load_workbook(saved, read_only=True)
    try:
        subjects = [list(row) for row in workbook["Предметы"].iter_rows(values_only=True)]
        students = [list(row) for row in workbook["Ученики"].iter_rows(values_only=True)]
    finally:
        workbook.close()
    assert subjects[0][:2] == ["Предмет", "Средний балл"]
    (math_row,) = [row for row in subjects if row[0] == "Математика"]
    assert math_row[1] == 5
    column = students[0].index("Математика: средний балл")
    (petr,) = [row for row in students if row[0] == "Иванов Пётр Сергеевич"]
    assert petr[column] == 5
