"""Issue 5's "done when", in Debian's Chromium: a teacher signs in to the diary through
the portal and fills in a lesson (topic, homework, a mark, an absence); a parent signs in
and sees them in the week view, with the period average and the forecast; the teacher
corrects the mark and the parent sees the correction in its history; the class report
and its XLSX export follow.

Real parts: the portal and the simulator's registries on live servers (the two citizens
become standard through СФР and МВД), and a diary on a live server of its own,
registered at the portal as a client. The diary's school is the test world of
``tests/diary_service/factories.py``; the school made its records with the two citizens'
SNILS, so sign-in ties them: the teacher to her staff record, the parent to Пётр.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import openpyxl
import pytest
from playwright.sync_api import expect

from diary_service.auth.services import snils_index
from diary_service.extensions import db as diary_db
from diary_service.family.models import Guardian
from diary_service.journal import services as journal
from diary_service.journal.models import Mark
from diary_service.school.models import Holiday
from tests.diary_service.factories import build_world
from tests.diary_service.test_auth import DIARY_BLIND_INDEX_KEY, diary  # noqa: F401
from tests.portal.test_proofing import MARIA, make_standard

PASSWORD = "violet-harbour-lamp"  # make_citizen's
TEACHER_PHONE = "+79165550301"
PARENT_PHONE = "+79165550302"
OLGA = {
    **MARIA,
    "surname": "Смирнова",
    "given_name": "Ольга",
    "patronymic": "Викторовна",
    "birth_date": date(1979, 7, 8),
}
OLGA_SNILS = "820-981-233 00"
OLGA_PASSPORT = {
    "series": "45 03",
    "number": "111222",
    "issue_date": date(2004, 8, 10),
    "issuer": "ОВД района Хамовники",
    "issuer_code": "770003",
}
MARIA_SNILS = "112-233-445 95"


def earlier_school_day(world, day: date) -> date:
    """Another weekday of the same period: the one before ``day``, or after it when
    ``day`` is the period's first."""
    period = next(p for p in world.one.periods if p.starts_on <= day <= p.ends_on)
    step = -1 if day > period.starts_on else 1
    other = day + timedelta(days=step)
    while other.isoweekday() > 5:
        other += timedelta(days=step)
    return other


def school_day_on_or_before(world, day: date) -> date:
    """The latest weekday (maths is lesson 1 from Monday to Friday) in the current
    period, not later than ``day``."""
    year = world.one.year
    period = next(p for p in world.one.periods if p.starts_on <= day <= p.ends_on)
    while day.isoweekday() > 5 or any(h.starts_on <= day <= h.ends_on for h in year.holidays):
        day -= timedelta(days=1)
    assert day >= period.starts_on
    return day


@pytest.fixture
def school(diary):  # noqa: F811  (the diary fixture of tests/diary_service/test_auth.py)
    """The world, with the teacher's staff record and Пётр's guardian link made by SNILS
    (nobody holds them yet): what the school did before the two first sign in."""
    with diary.app.app_context():
        world = build_world()
        teacher = world.one.staff["teacher"]
        teacher.person_id = None
        teacher.snils_index = snils_index(OLGA_SNILS, DIARY_BLIND_INDEX_KEY)
        petr = world.one.students["petr"]
        diary_db.session.add(
            Guardian(
                student=petr,
                snils_index=snils_index(MARIA_SNILS, DIARY_BLIND_INDEX_KEY),
                family_name="Иванова",
                given_name="Мария",
                kind="parent",
                source="school",
                reason="заявление родителя",
            )
        )
        diary_db.session.add(
            Holiday(
                year=world.one.year, name="—", starts_on=date(1990, 1, 1), ends_on=date(1990, 1, 1)
            )
        )
        diary_db.session.commit()
        day = school_day_on_or_before(world, world.today)
        six_a, math = world.one.classes["6А"], world.subjects["math"].id
        lesson = journal.lesson_for_slot(six_a, math, day, 1)
        # Earlier in the period Пётр had a 4 for work in class and a 3 for homework.
        earlier = journal.lesson_for_slot(six_a, math, earlier_school_day(world, day), 1)
        for value, kind in (("4", "classwork"), ("3", "homework")):
            diary_db.session.add(
                Mark(
                    lesson_id=earlier.id,
                    student_id=petr.id,
                    value=value,
                    kind=kind,
                    weight=1,
                    author_id=world.one.staff["teacher"].id,
                )
            )
        ids = {
            "class": world.one.classes["6А"].id,
            "math": world.subjects["math"].id,
            "lesson": lesson.id,
            "petr": petr.id,
            "day": day,
        }
        diary_db.session.commit()
        return ids


def sign_in(page, diary_url: str, phone: str) -> None:
    """From the diary's home page through the portal's login and consent, and back."""
    page.goto(diary_url + "/")
    page.get_by_role("link", name="Войти через Госуслуги").click()
    page.get_by_label("Телефон, электронная почта или СНИЛС").fill(phone)
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Войти").click()
    page.get_by_role("button", name="Разрешить").click()
    expect(page).to_have_url(re.compile("^" + re.escape(diary_url)))


def test_a_lesson_filled_in_by_the_teacher_reaches_the_parent_and_the_report(
    proofing,
    make_citizen,
    diary,  # noqa: F811
    school,
    browser,
):
    make_standard(
        make_citizen, profile=OLGA, snils=OLGA_SNILS, passport=OLGA_PASSPORT, phone=TEACHER_PHONE
    )
    make_standard(make_citizen, phone=PARENT_PHONE)
    teacher = browser.new_context(locale="ru-RU", timezone_id="Europe/Moscow")
    parent = browser.new_context(locale="ru-RU", timezone_id="Europe/Moscow")
    try:
        t = teacher.new_page()
        sign_in(t, diary.url, TEACHER_PHONE)

        # The teacher: the journal, 6А maths, the lesson.
        t.locator("header").get_by_role("link", name="Журнал").click()
        expect(t.locator("main")).to_contain_text("6А")
        t.goto(f"{diary.url}/journal/{school['class']}/{school['math']}")
        expect(t.locator("main")).to_contain_text("Иванов")
        t.goto(f"{diary.url}/journal/lessons/{school['lesson']}")
        t.get_by_label("Тема урока").fill("Сложение обыкновенных дробей")
        t.get_by_label("Домашнее задание").fill("№ 245, 247 (стр. 61)")
        t.get_by_role("button", name="Сохранить тему и задание").click()
        expect(t.get_by_label("Тема урока")).to_have_value("Сложение обыкновенных дробей")

        t.get_by_label("Новая отметка: Иванов Пётр").fill("5")
        t.get_by_label("Вид работы новой отметки: Иванов Пётр").select_option("control")
        t.get_by_label("Посещаемость: Кузнецова Мария").select_option("н")
        t.get_by_role("button", name="Сохранить отметки и посещаемость").click()
        expect(t.get_by_label("Выставленная отметка: Иванов Пётр")).to_have_value("5")

        # The parent: Пётр's week, then his marks with the average and the forecast.
        p = parent.new_page()
        sign_in(p, diary.url, PARENT_PHONE)
        p.goto(f"{diary.url}/students/{school['petr']}/week?date={school['day'].isoformat()}")
        week = p.locator("main")
        expect(week).to_contain_text("Сложение обыкновенных дробей")
        expect(week).to_contain_text("№ 245, 247 (стр. 61)")
        expect(week).to_contain_text("контрольная работа")
        expect(week.locator("a.mark, .mark").first).to_contain_text("5")
        p.goto(f"{diary.url}/students/{school['petr']}/marks")
        marks = p.locator("main")
        expect(marks).to_contain_text("Математика")
        # (4×1 + 3×1 + 5×5) / (1 + 1 + 5) = 4.57: a 4, and what would make it a 5
        expect(marks).to_contain_text("4.57")
        expect(marks).to_contain_text("Прогноз")
        expect(marks).to_contain_text("→ 5")

        # The teacher corrects the mark, with a reason.
        t.get_by_label("Выставленная отметка: Иванов Пётр").fill("4")
        t.get_by_label("Причина исправления записей: Иванов Пётр").fill(
            "ошибка при вводе: в работе две ошибки"
        )
        t.get_by_role("button", name="Сохранить отметки и посещаемость").click()
        expect(t.get_by_label("Выставленная отметка: Иванов Пётр")).to_have_value("4")

        # The parent sees the new mark, and its history: both versions, who and why.
        p.goto(f"{diary.url}/students/{school['petr']}/marks")
        expect(p.locator("main")).to_contain_text("3.86")  # (4 + 3 + 4×5) / 7
        p.goto(f"{diary.url}/students/{school['petr']}/week?date={school['day'].isoformat()}")
        p.locator("main a[href*='/journal/marks/']").first.click()
        history = p.locator("main")
        expect(history).to_contain_text("История отметки")
        expect(history).to_contain_text("ошибка при вводе: в работе две ошибки")
        expect(history).to_contain_text("Смирнова О. В.")
        expect(history.locator("tbody tr")).to_have_count(2)

        # The class report and its XLSX export reflect the correction.
        t.goto(f"{diary.url}/reports/classes/{school['class']}")
        report = t.locator("main")
        expect(report).to_contain_text("Математика")
        expect(report).to_contain_text("3,86")  # the report writes decimals the Russian way
        with t.expect_download() as download:
            t.locator("main a[href$='.xlsx'], main a[href*='.xlsx?']").first.click()
        with open(download.value.path(), "rb") as file:
            data = file.read()
        sheet_values = [
            cell
            for sheet in openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
        ]
        assert "Математика" in sheet_values
        assert any(value in (3.86, "3.86", "3,86") for value in sheet_values), sheet_values
    finally:
        teacher.close()
        parent.close()
