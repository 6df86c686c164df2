"""The logic behind issue 16's diary pages (their looks are tests/e2e/test_diary_design.py's):
where each role starts, whom a family writes to first, and the journal's grid that opens
on today and takes marks in its cells with a plain form."""

from __future__ import annotations

import re

import pytest

from diary_service.access import viewer_for
from diary_service.auth.views import start_page
from diary_service.extensions import db
from diary_service.models.journal import Attendance, Lesson, Mark
from tests.diary_service.test_journal import rows
from tests.helpers import diary_csrf as csrf_of
from tests.helpers import text_of


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("teacher", "/journal/"),  # a subject and class teacher: today's lessons
        ("teacher2", "/journal/"),
        ("admin", "/school/"),  # the school's page
        ("nurse", "/school/"),
        ("department", "/school/"),  # the region's page
        ("parent", "/students/"),  # the children's diary
        ("alisa", "/students/"),  # a student: her own week (one child: straight there)
        ("nobody", None),  # no role yet: the front page says what to do
    ],
)
def test_each_role_starts_on_its_own_page(world, diary, name, start):
    with diary.test_request_context():
        assert start_page(viewer_for(world.people[name])) == start


def test_the_front_page_offers_staff_their_work_not_children(world, login):
    text = text_of(login(world.people["teacher"]).get("/"))
    assert "Ваша работа" in text and "Классный журнал" in text
    assert "Ваши дети" not in text


def test_a_family_writes_to_the_class_teacher_first_and_may_choose_a_subject_teacher(world, login):
    client = login(world.people["parent"])
    petr = world.one.students["petr"]
    html = client.get(f"/messages/new?student={petr.id}").get_data(as_text=True)
    options = re.findall(r"<option([^>]*)>([^<]*)</option>", html)
    labels = [label for _attrs, label in options]
    assert labels[0] == "Смирнова Ольга Викторовна (Математика, классный руководитель)"
    assert "selected" in options[0][0]
    assert "Орлов Павел Игоревич (Русский язык)" in labels
    assert "Соколова Нина Андреевна (администрация школы)" in labels


def grid_of(world) -> str:
    return f"/journal/{world.one.classes['6А'].id}/{world.subjects['math'].id}"


def test_the_grid_opens_on_today_with_its_column_marked_and_taking_marks(world, login):
    if world.today.isoweekday() > 5:
        pytest.skip("no lesson today: the grid has no column of today")
    client = login(world.people["teacher"])
    page = client.get(grid_of(world)).get_data(as_text=True)
    assert 'id="today" aria-current="date"' in page
    assert "¶" not in page and "✎" not in page
    assert 'role="region" aria-label="Журнал: 6А, Математика" tabindex="0"' in page
    assert 'tabindex="1"' not in page
    # Today's lesson is not opened yet: the grid's button opens it (a GET writes nothing).
    assert "Выставить отметки за урок" in page
    school_class, math = world.one.classes["6А"], world.subjects["math"]
    opened = client.post(
        f"/journal/{school_class.id}/{math.id}/on/{world.today.isoformat()}/1",
        data={"csrf_token": csrf_of(client), "back": "grid"},
    )
    assert opened.status_code == 302
    (lesson,) = rows(Lesson, class_id=school_class.id, on_date=world.today)
    assert opened.location.endswith(f"lesson={lesson.id}#saved")

    # The column's inputs belong to one form: what the page would send, filled in.
    page = client.get(opened.location).get_data(as_text=True)
    petr, masha = world.one.students["petr"], world.one.students["masha"]
    assert f'aria-label="Отметка: Иванов Пётр, {world.today.day} ' in page
    sent = dict(re.findall(r'form="grid-entry" name="([^"]+)"(?: value="([^"]*)")?', page))
    sent.update(
        {
            "csrf_token": csrf_of(client),
            "back": "grid",
            "kind": "classwork",
            f"s{petr.id}_value": "5",
            f"s{masha.id}_attendance": "н",
        }
    )
    saved = client.post(f"/journal/lessons/{lesson.id}/marks", data=sent)
    assert saved.status_code == 302, re.findall(
        r"<ul class=\"errors\"[^>]*>(.*?)</ul>", saved.get_data(as_text=True), re.S
    )
    assert saved.location.endswith(f"lesson={lesson.id}#saved")
    assert [m.value for m in rows(Mark, lesson_id=lesson.id, student_id=petr.id)] == ["5"]
    assert [a.code for a in rows(Attendance, lesson_id=lesson.id, student_id=masha.id)] == ["н"]

    # Back in the grid: the confirmation above it, focused on arrival.
    page = client.get(saved.location).get_data(as_text=True)
    status = re.search(r'<div id="saved"[^>]*>(.*?)</div>', page, re.S)
    assert "autofocus" in status.group(0)
    assert "Отметки и посещаемость сохранены." in status.group(1)
    db.session.rollback()
