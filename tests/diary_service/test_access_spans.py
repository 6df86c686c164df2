"""A moved student is not open to the old school (issue 11): staff see a student only
through the enrolments that tie the student to them, and of the record only the lessons
and records of those enrolments' classes and dates.

Фёдор (``add_moved_student``) was in school 1's 5А last year, in school 1's 6А this
year until a Wednesday, and in school 2's 6А since. Every kind of page and answer about
him is read as his parent, as school 1's class teacher, subject teacher, administrator
and health worker (after the transfer), as last year's history teacher and as school
2's class teacher and administrator, looking for the words of each school's rows
(``WORDS``): each sees their own time and nothing else; the family sees everything.
The new school sees from the admission on, not the old journal; the old school's
record card stops at the day he left.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from diary_service.extensions import db
from diary_service.models.family import Guardian, StudentAccess
from shared.sessions import utcnow
from tests.conftest import LiveServer
from tests.diary_service.factories import WORDS, Moved, add_moved_student
from tests.diary_service.test_api import KeysServer, make_diary, mint
from tests.helpers import text_of

# Who sees which of Фёдор's times: "pre" (school 1, before the transfer), "post"
# (school 2, after it), "old" (last year's 5А).
SEES = {
    "moved_parent": {"pre", "post", "old"},
    "teacher": {"pre"},  # school 1: class teacher of 6А, maths
    "teacher2": {"pre"},  # school 1: Russian in 6А
    "admin": {"pre", "old"},  # school 1's administrator: all his time at school 1
    "history_teacher": {"old"},  # 5А's history, last year
    "two_teacher": {"post"},  # school 2: class teacher of 6А, maths
    "two_admin": {"post"},
}
# Which of a time's words each one reads on the week (a subject teacher reads no
# remarks to parents; the week shows no meetings).
WEEK_WORDS = ("topic", "homework", "mark", "remark", "note", "notice")
SUBJECT_TEACHER_WORDS = ("topic", "homework", "mark", "notice")


@pytest.fixture(scope="module")
def keys_server() -> Iterator[KeysServer]:
    server = KeysServer()
    with LiveServer(server.app) as live:
        server.url = live.url
        yield server


@pytest.fixture(scope="module")
def diary_app(tmp_path_factory, keys_server) -> Iterator[Flask]:
    """This module's diary, trusting the stand-in portal's keys (the API's tokens)."""
    app = make_diary(tmp_path_factory.mktemp("diary-spans"), keys_server.url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def moved(world) -> Moved:
    found = add_moved_student(world)
    if found is None:
        pytest.skip("the academic year has only begun: no transfer lies in the past yet")
    return found


def shown(text: str, kind: str, words=WEEK_WORDS) -> set[str]:
    """Which of a time's words the text contains."""
    return {word for word in words if word in WORDS[kind] and WORDS[kind][word] in text}


def expect(role: str, kind: str, words=WEEK_WORDS) -> set[str]:
    if kind not in SEES[role]:
        return set()
    if role == "teacher2":
        words = tuple(w for w in words if w in SUBJECT_TEACHER_WORDS)
    return {word for word in words if word in WORDS[kind]}


@pytest.mark.parametrize("page", ["week", "week/print"])
@pytest.mark.parametrize("role", sorted(SEES))
def test_the_week_shows_each_their_own_days(page, role, world, login, moved):
    client = login(world.people[role])
    response = client.get(f"/students/{moved.student.id}/{page}?date={moved.monday}")
    assert response.status_code == 200
    text = text_of(response)
    for kind in ("pre", "post"):
        words = WEEK_WORDS if page == "week" else ("topic", "homework", "mark")
        assert shown(text, kind, words) == expect(role, kind, words), kind
    # The old school is not told where he went.
    if "post" not in SEES[role] and role != "admin":
        assert "СОШ № 2" not in text


def test_the_old_schools_week_opens_on_his_last_days_there(world, login, moved):
    """Without a date, school 1's staff land on their last week with him, not on an
    empty week of school 2's; school 2's staff on this week."""
    text = text_of(login(world.people["teacher"]).get(f"/students/{moved.student.id}/week"))
    assert WORDS["pre"]["topic"] in text and WORDS["post"]["topic"] not in text
    text = text_of(login(world.people["two_teacher"]).get(f"/students/{moved.student.id}/week"))
    assert WORDS["pre"]["topic"] not in text


# The period each one opens (of the transfer's; last year's for its teacher) and whose
# marks they read there.
MARKS = {
    "moved_parent": ("period_two", {"pre", "post"}),  # his year now: both schools' dates
    "teacher": ("period_one", {"pre"}),
    "teacher2": ("period_one", {"pre"}),
    "admin": ("period_one", {"pre"}),
    "history_teacher": ("last_year_period", {"old"}),
    "two_teacher": ("period_two", {"post"}),
    "two_admin": ("period_two", {"post"}),
}


@pytest.mark.parametrize("role", sorted(MARKS))
def test_the_marks_page_counts_each_their_own_marks(role, world, login, moved):
    period, kinds = MARKS[role]
    url = f"/students/{moved.student.id}/marks?period={getattr(moved, period).id}"
    response = login(world.people[role]).get(url)
    assert response.status_code == 200
    text = text_of(response)
    assert {kind for kind in ("pre", "post", "old") if WORDS[kind]["mark"] in text} == kinds


def test_a_period_of_the_other_school_is_not_found(world, login, moved):
    student = moved.student.id
    for role, period in (
        ("teacher", moved.period_two),
        ("admin", moved.period_two),
        ("two_teacher", moved.period_one),
        ("two_admin", moved.last_year_period),
        ("history_teacher", moved.period_one),
    ):
        client = login(world.people[role])
        response = client.get(f"/students/{student}/marks?period={period.id}")
        assert response.status_code == 404, role


def test_the_old_schools_marks_page_opens_on_their_period(world, login, moved):
    text = text_of(login(world.people["teacher"]).get(f"/students/{moved.student.id}/marks"))
    assert WORDS["pre"]["mark"] in text
    assert WORDS["post"]["mark"] not in text


def attendance_dates(text: str) -> int:
    return len(re.findall(r"урок \d · Русский язык", text))


@pytest.mark.parametrize(
    ("role", "count"),
    [("moved_parent", 2), ("nurse", 1), ("teacher", 1), ("two_teacher", 1), ("two_admin", 1)],
)
def test_attendance_is_each_schools_own(role, count, world, login, moved):
    """School 1's health worker and teacher count the absence of his time with them;
    school 2's the one since; his parent both (the dates are the page's own rows)."""
    year = moved.period_one.year if role in ("nurse", "teacher") else moved.period_two.year
    client = login(world.people[role])
    response = client.get(f"/students/{moved.student.id}/attendance?year={year.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert attendance_dates(text_of(response)) == count
    pre_day, post_day = moved.monday.isoformat(), (moved.monday + timedelta(days=3)).isoformat()
    assert (f"date={pre_day}" in html) == (role in ("moved_parent", "nurse", "teacher"))
    assert (f"date={post_day}" in html) == (role in ("moved_parent", "two_teacher", "two_admin"))


# Whose notices and meetings each one reads: the family's news is of his school now.
NEWS = {**{role: SEES[role] - {"old"} for role in SEES}, "moved_parent": {"post"}}


@pytest.mark.parametrize("role", sorted(NEWS))
def test_news_and_meetings_are_of_each_ones_time(role, world, login, moved):
    text = text_of(login(world.people[role]).get(f"/students/{moved.student.id}/news"))
    for kind in ("pre", "post"):
        words = ("notice", "meeting")
        seen = {w for w in words if WORDS[kind][w] in text}
        assert seen == (set(words) if kind in NEWS[role] else set()), kind


def test_the_rating_is_each_schools_own(world, login, moved):
    """School 2 ranks him on its own marks (a five: level with Маша's five, place 1 of
    2; the old journal's four would make him second); school 1 does not rank him in
    school 2's class."""
    url = f"/reports/students/{moved.student.id}/rating"
    new = text_of(login(world.people["two_teacher"]).get(url))
    assert "1 из 2" in new
    old = text_of(login(world.people["teacher"]).get(url))
    assert "из 2" not in old


def test_histories_and_files_are_each_schools_own(world, login, moved):
    pre, post = moved.pre["mark"].id, moved.post["mark"].id
    teacher, two_teacher = login(world.people["teacher"]), login(world.people["two_teacher"])
    assert WORDS["pre"]["mark"] in text_of(teacher.get(f"/journal/marks/{pre}/history"))
    assert teacher.get(f"/journal/marks/{post}/history").status_code == 403
    assert two_teacher.get(f"/journal/marks/{pre}/history").status_code == 403
    assert WORDS["post"]["mark"] in text_of(two_teacher.get(f"/journal/marks/{post}/history"))
    final = moved.post["final"].id
    assert teacher.get(f"/journal/final-marks/{final}/history").status_code == 403
    assert two_teacher.get(f"/journal/final-marks/{final}/history").status_code == 200
    attachment = moved.post["attachment"].id
    assert teacher.get(f"/journal/attachments/{attachment}").status_code == 403


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def api_get(diary, world, keys_server):
    http = diary.test_client()

    def get(role: str, path: str):
        token = mint(keys_server, world.people[role].sub)
        return http.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})

    return get


@pytest.mark.parametrize("role", ["moved_parent", "teacher", "teacher2", "admin", "two_teacher"])
def test_the_api_answers_each_their_own_time(role, api_get, moved):
    child = f"/children/{moved.student.id}"
    week_end = moved.monday + timedelta(days=5)
    period = moved.period_one if role in ("teacher", "teacher2", "admin") else moved.period_two
    answers = {
        "week": api_get(role, f"{child}/week?date={moved.monday}"),
        "marks": api_get(role, f"{child}/marks?period={period.id}"),
        "homework": api_get(role, f"{child}/homework?from={moved.monday}&to={week_end}"),
        "attendance": api_get(role, f"{child}/attendance?period={period.id}"),
    }
    for name, answer in answers.items():
        assert answer.status_code == 200, name
    everything = json.dumps({k: v.get_json() for k, v in answers.items()}, ensure_ascii=False)
    for kind in ("pre", "post"):
        words = ("topic", "homework", "mark") + (() if role == "teacher2" else ("remark",))
        seen = {w for w in words if WORDS[kind][w] in everything}
        assert seen == (set(words) if kind in SEES[role] else set()), kind
    absences = answers["attendance"].get_json()["entries"]
    assert len(absences) == (2 if role == "moved_parent" else 1)


# --- class pages: a class counts its own lessons ------------------------------------------


def test_the_new_schools_class_report_and_export_count_only_its_lessons(world, login, moved):
    """School 2's report of the period: his maths average is his five there (5,00), not
    with the old school's four (4,50)."""
    client = login(world.people["two_teacher"])
    cls, period = world.two.classes["6А"].id, moved.period_two.id
    report = text_of(client.get(f"/reports/classes/{cls}?period={period}"))
    row = report[report.index("Сидоров Фёдор") :][:80]
    assert "5,00" in row and "4,50" not in row
    export = client.get(f"/reports/classes/{cls}.csv?period={period}").get_data(as_text=True)
    line = next(line for line in export.splitlines() if "Сидоров Фёдор" in line)
    assert "4,5" not in line and "4.5" not in line
    assert re.search(r"5[,.]00?\b", line)


def test_the_old_schools_journal_counts_only_its_lessons(world, login, moved):
    """School 1's maths grid, period marks and printed journal of the period: Фёдор
    (greyed: no longer in the class) with his four there, average 4,00, and nothing of
    school 2."""
    client = login(world.people["teacher"])
    cls, math = world.one.classes["6А"].id, world.subjects["math"].id
    period = moved.period_one.id
    pages = {
        "grid": client.get(f"/journal/{cls}/{math}?period={period}"),
        "final": client.get(f"/journal/{cls}/{math}/final?period={period}"),
        "print": client.get(f"/reports/classes/{cls}/{math}/print?period={period}"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        text = text_of(response)
        row = text[text.index("Сидоров") :][:200]
        assert "4,00" in row or "4.00" in row, name
        assert "4,50" not in row and "4.50" not in row, name
        html = response.get_data(as_text=True)
        assert f"/journal/marks/{moved.post['mark'].id}/" not in html, name


def test_the_new_schools_journal_counts_only_its_lessons(world, login, moved):
    client = login(world.people["two_teacher"])
    cls, math = world.two.classes["6А"].id, world.subjects["math"].id
    text = text_of(client.get(f"/journal/{cls}/{math}?period={moved.period_two.id}"))
    row = text[text.index("Сидоров") :][:200]
    assert "5,00" in row or "5.00" in row
    assert "4,50" not in row and "4.50" not in row


# --- the record card ---------------------------------------------------------------------


def test_the_old_schools_record_card_stops_the_day_he_left(world, login, moved):
    client = login(world.people["admin"])
    text = text_of(client.get(f"/school/{world.one.school.id}/students/{moved.student.id}"))
    assert f"Выбыл из школы {moved.transfer_on.strftime('%d.%m.%Y')}." in text
    assert "Сейчас в" not in text
    assert "Сидорова Ирина" in text  # the parent linked while he was theirs
    assert "Сидоров Андрей" not in text  # linked by school 2 afterwards
    new = text_of(
        login(world.people["two_admin"]).get(
            f"/school/{world.two.school.id}/students/{moved.student.id}"
        )
    )
    assert "Сидорова Ирина" in new and "Сидоров Андрей" in new
    assert "5А" in new  # the record card travels: the enrolment history


def test_the_access_log_names_the_old_class_teacher_as_such(world, login, moved):
    login(world.people["teacher"]).get(f"/students/{moved.student.id}/week?date={moved.monday}")
    row = db.session.execute(
        db.select(StudentAccess).filter_by(
            student_id=moved.student.id, viewer_id=world.people["teacher"].id
        )
    ).scalar_one()
    assert row.role == "class_teacher"


def test_the_class_teachers_list_of_readers_names_the_parents_of_that_week(world, login, moved):
    """Who read the week of the transfer, for school 1's class teacher: Фёдор's parent
    of then, not the one school 2 linked afterwards."""
    cls = world.one.classes["6А"].id
    text = text_of(
        login(world.people["teacher"]).get(f"/classes/{cls}/acknowledgements?week={moved.monday}")
    )
    assert "Сидоров Фёдор" in text
    assert "Сидорова Ирина" in text and "Сидоров Андрей" not in text


# --- the family: follows the child; a link the school ended opens nothing -----------------


def test_a_parent_the_school_unlinked_is_refused_on_pages_and_in_the_api(world, login, api_get):
    petr, alisa = world.one.students["petr"], world.one.students["alisa"]
    link = db.session.execute(
        db.select(Guardian).filter_by(student_id=petr.id, person_id=world.people["parent"].id)
    ).scalar_one()
    link.revoked_at = utcnow()
    db.session.commit()
    client = login(world.people["parent"])
    for page in ("week", "week/print", "marks", "attendance", "news", "access-log"):
        assert client.get(f"/students/{petr.id}/{page}").status_code == 403, page
        assert client.get(f"/students/{alisa.id}/{page}").status_code == 200, page
    assert client.get(f"/reports/students/{petr.id}/rating").status_code == 403
    for endpoint in ("week", "marks", "homework", "attendance"):
        assert api_get("parent", f"/children/{petr.id}/{endpoint}").status_code == 403
        assert api_get("parent", f"/children/{alisa.id}/{endpoint}").status_code == 200
    children = api_get("parent", "/children").get_json()["children"]
    assert [child["id"] for child in children] == [alisa.id]


def test_the_family_follows_the_child_to_the_new_school(world, login, moved):
    """His parent reads both schools' days of the transfer week and last year's marks."""
    client = login(world.people["moved_parent"])
    week = text_of(client.get(f"/students/{moved.student.id}/week?date={moved.monday}"))
    assert WORDS["pre"]["topic"] in week and WORDS["post"]["topic"] in week
    last = f"/students/{moved.student.id}/marks?period={moved.last_year_period.id}"
    assert WORDS["old"]["mark"] in text_of(client.get(last))
