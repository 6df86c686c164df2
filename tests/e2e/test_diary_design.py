"""The diary as its people see it on a 390 px phone and a 1366 px laptop (issue 16).

Each journey runs at both widths; every page it visits passes ``tests/e2e/ui.py``'s
``check_page`` (no sideways scroll, header controls of 44 px, no serious or critical
axe-core violation) and, under ``make screenshots``, is saved to ``docs/screenshots/``
(the diary's pictures are named ``diary-…``).

The diary runs on a live server with the factories' small world and a few weeks of
6А's lessons (``lessons``); each person is signed in as the portal's sign-in would
leave them (a session row and its cookie: the portal's own pages have their journeys in
``test_portal_design.py`` and ``test_diary_journey.py``).

- A parent (Мария: Пётр in 6А and Алиса in 9Б): the start page, Пётр's week day by day,
  his marks with the summary at the top, attendance, news, the printable week and a
  message to a subject teacher.
- A student (Алиса): her own week.
- A teacher (Ольга, mathematics in 6А): today's lessons, the journal's grid on today,
  a lesson's marks and absences entered along a row by keyboard alone.
- A school administrator: the school's start page and the CSV import.
- The department: the region's start page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from diary_service.extensions import db as diary_db
from diary_service.models.auth import DiaryPerson
from diary_service.models.journal import Attendance, Homework, Lesson, Mark
from diary_service.models.school import Subject
from tests.conftest import LiveServer, wipe
from tests.diary_service.factories import build_world
from tests.e2e.ui import (
    PHONE,
    WIDTHS,
    assert_visible_without_side_scroll,
    check_page,
    new_context,
)
from tests.helpers import region_today

pytestmark = [pytest.mark.e2e, pytest.mark.screens]

TODAY = region_today()


@dataclass(frozen=True)
class People:
    """Ids of the world's people and records, read while its session was open."""

    person: dict[str, int]
    petr: int
    alisa: int
    class_6a: int
    math: int
    school: int


def school_days(before: date, count: int) -> list[date]:
    """The ``count`` weekdays up to ``before`` (inclusive), oldest first."""
    days, day = [], before
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def add_lessons(world) -> None:
    """Three weeks of 6А's mathematics and Russian up to the latest school day (topics,
    homework, marks of both pupils, one absence of Маша's)."""
    one = world.one
    cls = one.classes["6А"]
    teacher, teacher2 = one.staff["teacher"], one.staff["teacher2"]
    petr, masha = one.students["petr"], one.students["masha"]
    periods = [p for p in one.periods if p.starts_on <= TODAY]
    start = periods[-1].starts_on if periods else TODAY
    values = ["5", "4", "3", "5", "4", "5", "2", "4", "5", "4", "5", "5", "3", "4", "5"]
    for n, day in enumerate(school_days(TODAY - timedelta(days=1), 15)):
        if day < start:
            continue
        for number, subject, who in ((1, "math", teacher), (2, "russian", teacher2)):
            lesson = Lesson(
                school_class=cls,
                subject=world.subjects[subject],
                teacher=who,
                on_date=day,
                lesson_number=number,
                topic=f"Тема урока {n + 1}" if subject == "math" else f"Орфограммы, урок {n + 1}",
            )
            lesson.homework = Homework(
                text=f"№ {100 + n} и {101 + n}, с. {20 + n}", due_on=day + timedelta(days=1)
            )
            diary_db.session.add(lesson)
            diary_db.session.flush()
            kind = "control" if n % 5 == 4 else "classwork"
            weight = 5 if kind == "control" else 1
            for student, value in ((petr, values[n]), (masha, values[-1 - n])):
                diary_db.session.add(
                    Mark(
                        lesson=lesson,
                        student=student,
                        value=value,
                        kind=kind,
                        weight=weight,
                        author=who,
                    )
                )
            if n % 4 == 1:
                diary_db.session.add(Attendance(lesson=lesson, student=masha, code="н", author=who))
            if n % 6 == 3:
                diary_db.session.add(Attendance(lesson=lesson, student=petr, code="б", author=who))
    # The week before today has a full day's timetable: six lessons a day, as a printed
    # week must hold on two A4 pages at most.
    extra = [Subject(name=name, short_name=name[:5]) for name in EXTRA_SUBJECTS]
    diary_db.session.add_all(extra)
    monday = previous_school_day() - timedelta(days=previous_school_day().weekday())
    for offset in range(5):
        day = monday + timedelta(days=offset)
        for number, subject in enumerate(extra, start=3):
            lesson = Lesson(
                school_class=cls,
                subject=subject,
                teacher=teacher2,
                on_date=day,
                lesson_number=number,
                topic=f"{subject.name}: тема урока {offset + 1}, повторение и новый материал",
            )
            lesson.homework = Homework(
                text="Параграф 12, вопросы 1–5 на с. 64, выучить определения",
                due_on=day + timedelta(days=2),
            )
            diary_db.session.add(lesson)
            diary_db.session.add(
                Mark(
                    lesson=lesson,
                    student=petr,
                    value="4",
                    kind="classwork",
                    weight=1,
                    author=teacher2,
                )
            )
    diary_db.session.commit()


EXTRA_SUBJECTS = ("История", "Биология", "Английский язык", "Физическая культура")


@pytest.fixture
def diary(diary_app) -> Iterator[tuple[str, People]]:
    """The diary on a live server, with the world and its lessons; emptied afterwards."""
    with diary_app.app_context():
        world = build_world()
        add_lessons(world)
        one = world.one
        people = People(
            person={name: who.id for name, who in world.people.items()},
            petr=one.students["petr"].id,
            alisa=one.students["alisa"].id,
            class_6a=one.classes["6А"].id,
            math=world.subjects["math"].id,
            school=one.school.id,
        )
        diary_db.session.remove()
    with LiveServer(diary_app) as live:
        yield live.url, people
    with diary_app.app_context():
        diary_db.session.remove()
        wipe(diary_db)


def sign_in(context: BrowserContext, diary_app, url: str, person_id: int) -> None:
    """The session the portal's sign-in would leave (``tests/diary_service``'s ``login``)."""
    client = diary_app.test_client()
    with diary_app.app_context():
        person = diary_db.session.get(DiaryPerson, person_id)
        with client.session_transaction() as session:
            session["user_id"] = person.id
            session["sub"] = person.sub
            session["acr"] = "urn:gosdiary:acr:standard"
            session["portal_sid"] = f"sid-{person.id}"
        diary_db.session.remove()
    name = diary_app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    context.add_cookies([{"name": name, "value": cookie.value, "url": url}])


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def context(request, browser: Browser) -> Iterator[BrowserContext]:
    with new_context(browser, request.param) as made:
        yield made


def path_is(pattern: str) -> re.Pattern[str]:
    return re.compile(r"^https?://[^/]+" + pattern + r"(#.*)?$")


def previous_school_day() -> date:
    return school_days(TODAY - timedelta(days=1), 1)[0]


def test_a_parent_reads_the_week_marks_attendance_news_and_prints_a_week(
    context: BrowserContext, diary, diary_app
):
    url, people = diary
    sign_in(context, diary_app, url, people.person["parent"])
    page = context.new_page()
    main, h1 = page.locator("main"), page.locator("main h1")

    # Her start page: her two children, each a card with their diary's sections.
    page.goto(url + "/students/")
    petr = main.locator("li.child-card", has_text="Иванов Пётр Сергеевич")
    expect(petr).to_contain_text("Класс 6А")
    assert_visible_without_side_scroll(petr.get_by_role("link", name="Неделя"))
    check_page(page, "diary-01-parent-children")

    # Пётр's week before this one: a card per day, marks as badges beside the lesson.
    petr.get_by_role("link", name="Неделя").click()
    expect(h1).to_have_text("Иванов Пётр Сергеевич")
    page.get_by_role("link", name="Предыдущая неделя").click()
    day = previous_school_day()
    if day >= TODAY - timedelta(days=TODAY.weekday()):  # the latest school day is this week
        page.get_by_role("link", name="Следующая неделя").click()
    card = page.locator(f"#day-{day.isoformat()}")
    lesson = card.locator("li.lesson", has_text="Математика")
    expect(lesson).to_contain_text("Тема:")
    expect(lesson).to_contain_text("Домашнее задание:")
    assert_visible_without_side_scroll(lesson.locator(".mark-badge"))
    assert_visible_without_side_scroll(lesson.locator(".subject"))
    check_page(page, "diary-02-parent-week")

    # Marks: the summary by subject comes first, averages with a decimal comma.
    page.get_by_role("navigation", name="Разделы дневника").get_by_role(
        "link", name="Оценки"
    ).click()
    summary = main.locator("table.marks-summary")
    math = summary.locator("tr", has=page.get_by_role("rowheader", name=re.compile("Математика")))
    expect(math.locator(".average-value")).to_have_text(re.compile(r"^\d(,\d{1,2})?$"))
    assert_visible_without_side_scroll(math.locator(".average-value"))
    expect(main.locator("p.formula").first).to_contain_text("Средний балл: (")
    expect(main.locator("figcaption.chart-legend").first).to_contain_text(
        "«5» от 4,6, «4» от 3,6, «3» от 2,6"
    )
    if page.viewport_size["width"] == PHONE:  # the chart's text is drawn larger there
        size = main.locator(".progress-chart text").first.evaluate(
            "e => e.getBoundingClientRect().height"
        )
        assert size >= 9, f"the chart's labels are {size:.1f} px high on a phone"
    check_page(page, "diary-03-parent-marks")

    page.get_by_role("navigation", name="Разделы дневника").get_by_role(
        "link", name="Посещаемость"
    ).click()
    expect(h1).to_have_text("Иванов Пётр Сергеевич")
    check_page(page, "diary-04-parent-attendance")
    page.get_by_role("navigation", name="Разделы дневника").get_by_role(
        "link", name="Новости и собрания"
    ).click()
    check_page(page, "diary-05-parent-news")

    # The printable week: one or two A4 pages, ending with the signature line.
    page.goto(url + f"/students/{people.petr}/week/print?date={day.isoformat()}")
    expect(main.locator(".signature")).to_contain_text("Подпись родителя")
    check_page(page, "diary-06-parent-print")
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=False)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2, f"the printed week takes {pages} A4 pages"
    page.emulate_media(media="screen")

    # A message about Пётр: the class teacher is chosen, the subject teachers offered.
    page.goto(url + f"/messages/new?student={people.petr}")
    recipient = page.get_by_label("Получатель")
    expect(recipient.locator("option:checked")).to_contain_text("Смирнова Ольга Викторовна")
    expect(recipient.locator("option:checked")).to_contain_text("классный руководитель")
    expect(recipient.locator("option", has_text="Русский язык")).to_contain_text("Орлов Павел")
    check_page(page, "diary-07-parent-message")


def test_a_student_opens_her_own_week(context: BrowserContext, diary, diary_app):
    url, people = diary
    sign_in(context, diary_app, url, people.person["alisa"])
    page = context.new_page()
    page.goto(url + "/students/")  # her start page: her own week
    expect(page).to_have_url(path_is(rf"/students/{people.alisa}/week"))
    expect(page.locator("main h1")).to_have_text("Иванова Алиса Сергеевна")
    today = page.locator(f"#day-{TODAY.isoformat()}")
    if TODAY.weekday() < 6:
        expect(today.locator(".badge", has_text="сегодня")).to_be_visible()
    check_page(page, "diary-08-student-week")


def test_a_teacher_enters_a_lessons_marks_and_absences_by_keyboard(
    context: BrowserContext, diary, diary_app
):
    url, people = diary
    if TODAY.weekday() >= 5:
        pytest.skip("no lessons at the weekend: the grid has no column of today")
    sign_in(context, diary_app, url, people.person["teacher"])
    page = context.new_page()
    main = page.locator("main")

    # Her start page: today's lessons, each with its way into the journal.
    page.goto(url + "/journal/")
    expect(page.locator("main h1")).to_have_text("Классный журнал")
    lesson = main.locator("li.today-lesson", has_text="6А, Математика")
    assert_visible_without_side_scroll(
        lesson.get_by_role("link", name=re.compile("Отметки в журнале"))
    )
    check_page(page, "diary-09-teacher-today")
    lesson.get_by_role("link", name=re.compile("Отметки в журнале")).click()

    # The grid opens on today: its column marked, in view, and the averages beside it.
    expect(page.locator("main h1")).to_have_text("Журнал: 6А, Математика")
    region = page.get_by_role("region", name="Журнал: 6А, Математика")
    expect(region).to_have_attribute("tabindex", "0")
    today = region.locator("th#today")
    expect(today).to_have_attribute("aria-current", "date")
    expect(today).to_contain_text("сегодня")
    assert_visible_without_side_scroll(today)
    assert_visible_without_side_scroll(region.locator("td.avg"))
    expect(region.locator("thead")).not_to_contain_text("¶")
    expect(region.locator("thead")).to_contain_text("д/з")
    check_page(page, "diary-10-teacher-grid")

    # By keyboard alone: the button that opens today's lesson for marks…
    opener = page.get_by_role("button", name=re.compile("^Выставить отметки за урок"))
    tab_to(page, opener)
    page.keyboard.press("Enter")
    petr = page.get_by_label(re.compile("^Отметка: Иванов Пётр"))
    expect(petr).to_be_visible()
    assert_between_sticky_columns(petr)
    assert_between_sticky_columns(page.get_by_label(re.compile("^Посещаемость: Иванов Пётр")))
    # …then along the rows: Пётр's mark, his attendance, Маша's mark, her attendance.
    tab_to(page, petr)
    page.keyboard.type("5")
    page.keyboard.press("Tab")
    expect(page.get_by_label(re.compile("^Посещаемость: Иванов Пётр"))).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label(re.compile("^Отметка: Кузнецова Мария"))).to_be_focused()
    page.keyboard.press("Tab")
    masha_attendance = page.get_by_label(re.compile("^Посещаемость: Кузнецова Мария"))
    expect(masha_attendance).to_be_focused()
    page.keyboard.press("ArrowDown")  # «—» → «н»
    expect(masha_attendance).to_have_value("н")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=re.compile("^Сохранить отметки за"))).to_be_focused()
    page.keyboard.press("Enter")

    # Back in the same place: the confirmation above the grid has the focus.
    expect(page).to_have_url(re.compile(r"#saved$"))
    status = main.locator("#saved")
    expect(status.get_by_role("status")).to_have_text("Отметки и посещаемость сохранены.")
    expect(status).to_be_focused()
    assert_visible_without_side_scroll(status.get_by_role("status"))
    row = region.locator("tr", has=page.get_by_role("rowheader", name="Иванов Пётр"))
    expect(row.locator("td.today .mark")).to_have_text("5")
    row = region.locator("tr", has=page.get_by_role("rowheader", name="Кузнецова Мария"))
    expect(row.locator("td.today .att")).to_have_text("н")
    assert_visible_without_side_scroll(region.locator("th#today"))
    check_page(page, "diary-11-teacher-saved")


def assert_between_sticky_columns(locator) -> None:
    """The control is in full view inside the grid: right of the names, left of the
    averages (both stay put while the grid scrolls)."""
    page = locator.page
    box = locator.bounding_box()
    names = page.locator(".journal-region thead th.student").bounding_box()
    averages = page.locator(".journal-region thead th.avg").bounding_box()
    assert box["x"] >= names["x"] + names["width"] - 0.5, (box, names)
    assert box["x"] + box["width"] <= averages["x"] + 0.5, (box, averages)


def tab_to(page, locator, limit: int = 80) -> None:
    """Press Tab until ``locator`` has the focus (the keyboard's way there)."""
    for _ in range(limit):
        if locator.evaluate("e => e === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{limit} presses of Tab never reached {locator}", pytrace=False)


def test_a_school_administrator_starts_at_the_school_and_imports_a_roster(
    context: BrowserContext, diary, diary_app
):
    url, people = diary
    sign_in(context, diary_app, url, people.person["admin"])
    page = context.new_page()
    page.goto(url + "/school/")  # her start page
    expect(page).to_have_url(path_is(rf"/school/{people.school}/"))
    check_page(page, "diary-12-admin-school")
    page.goto(url + f"/school/{people.school}/import")
    columns = page.locator("main dl.school-columns-help")
    expect(columns).to_contain_text("фамилия;имя;отчество;дата рождения;снилс;класс")
    expect(columns).not_to_contain_text("family_name")
    check_page(page, "diary-13-admin-import")


def test_the_department_starts_at_the_region(context: BrowserContext, diary, diary_app):
    url, people = diary
    sign_in(context, diary_app, url, people.person["department"])
    page = context.new_page()
    page.goto(url + "/school/")  # its start page
    expect(page.locator("main h1")).to_be_visible()
    check_page(page, "diary-14-department-region")
    page.goto(url + "/reports/")
    check_page(page, "diary-15-department-reports")
