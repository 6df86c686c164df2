"""The teachers' class journal over HTTP, as a teacher, a substitute, a family and a
stranger see it: the grid from the timetable, a lesson's topic, homework and files, the
bulk form of marks and attendance with versioned corrections, histories, period and
year marks under the school's policy, remarks, and the signals each write sends."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from diary_service import signals
from diary_service.extensions import db
from diary_service.journal import services
from diary_service.journal.queries import current_policy
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
    Remark,
)
from diary_service.models.school import Holiday, TimetableChange
from diary_service.school.timetable import period_on
from tests.helpers import diary_csrf, forms_of, submit, text_of


def weekday_on_or_before(day: date) -> date:
    while day.isoweekday() > 5:
        day -= timedelta(days=1)
    return day


def weekday_after(day: date) -> date:
    day += timedelta(days=1)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def weekday_before(day: date) -> date:
    return weekday_on_or_before(day - timedelta(days=1))


def math_lesson(world, on: date, class_name: str = "6А") -> Lesson:
    school_class = world.one.classes[class_name]
    return services.lesson_for_slot(school_class, world.subjects["math"].id, on, 1)


@pytest.fixture
def day(world) -> date:
    """A math day of 6А on or before today (lessons are Monday to Friday)."""
    return weekday_on_or_before(world.today)


@pytest.fixture
def lesson(world, day) -> Lesson:
    return math_lesson(world, day)


def staff(world, name: str):
    return world.one.staff[name]


def rows(model, **where) -> list:
    query = sa.select(model).filter_by(**where).order_by(model.id)
    return list(db.session.execute(query).scalars())


@contextmanager
def caught(*sigs) -> Iterator[list[tuple[str, object]]]:
    got: list[tuple[str, object]] = []
    receivers = []
    for sig in sigs:

        def receive(sender, _name=sig.name, **fields):
            got.append((_name, next(iter(fields.values()))))

        sig.connect(receive)
        receivers.append((sig, receive))
    try:
        yield got
    finally:
        for sig, receive in receivers:
            sig.disconnect(receive)


def marks_url(lesson: Lesson) -> str:
    return f"/journal/lessons/{lesson.id}/marks"


def post_marks(client, lesson: Lesson, data: dict):
    return submit(client, f"/journal/lessons/{lesson.id}", data, action=marks_url(lesson))


# --- the grid -------------------------------------------------------------------------


def plan_url(school_class, subject, on: date, number: int = 1) -> str:
    return f"/journal/{school_class.id}/{subject.id}/on/{on.isoformat()}/{number}"


def test_grid_shows_the_timetable_lessons_and_none_on_weekends_or_holidays(world, login, day):
    school_class = world.one.classes["6А"]
    math = world.subjects["math"]
    period = period_on(world.one.year, world.today)
    holiday = weekday_before(day)
    assert holiday >= period.starts_on  # the world's today is deep enough in a quarter
    db.session.add(
        Holiday(year_id=world.one.year.id, name="День здоровья", starts_on=holiday, ends_on=holiday)
    )
    db.session.commit()
    client = login(world.people["teacher"])

    page = client.get(f"/journal/{school_class.id}/{math.id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Журнал: 6А, Математика" in text
    assert "Иванов Пётр" in text and "Кузнецова Мария" in text
    # Every maths slot of the period is a column, to be opened from there: showing the
    # grid creates no lesson (a GET writes nothing).
    html = page.get_data(as_text=True)
    shown = {
        date.fromisoformat(found)
        for found in re.findall(rf"/journal/{school_class.id}/{math.id}/on/([\d-]+)/1", html)
    }
    weekdays = [
        period.starts_on + timedelta(days=n)
        for n in range((period.ends_on - period.starts_on).days + 1)
    ]
    assert shown == {d for d in weekdays if d.isoweekday() <= 5 and d != holiday}
    assert rows(Lesson, class_id=school_class.id) == []
    assert day.strftime("%d.%m") in text

    # The teacher opens today's lesson from its column: a POST creates it.
    opened = submit(client, plan_url(school_class, math, day))
    (lesson,) = rows(Lesson, class_id=school_class.id)
    assert (lesson.on_date, lesson.lesson_number, lesson.subject_id) == (day, 1, math.id)
    assert opened.headers["Location"].endswith(f"/journal/lessons/{lesson.id}")
    again = client.get(f"/journal/{school_class.id}/{math.id}").get_data(as_text=True)
    assert f"/journal/lessons/{lesson.id}" in again
    assert plan_url(school_class, math, day) not in again
    assert len(rows(Lesson, class_id=school_class.id)) == 1


def test_grid_of_another_period_and_future_slots(world, login):
    school_class = world.one.classes["9Б"]
    math = world.subjects["math"]
    last = world.one.periods[-1]  # the last quarter lies ahead
    client = login(world.people["teacher"])
    page = client.get(f"/journal/{school_class.id}/{math.id}?period={last.id}")
    assert page.status_code == 200
    assert "4-я четверть" in text_of(page)
    assert rows(Lesson, class_id=school_class.id) == []  # nothing is created ahead
    future = weekday_on_or_before(last.ends_on)
    plan = plan_url(school_class, math, future)
    assert plan in page.get_data(as_text=True)
    # The slot's page says it is not opened and offers the button; it creates nothing.
    shown = client.get(plan)
    assert shown.status_code == 200
    assert "Этот урок в журнале ещё никто не открывал." in text_of(shown)
    assert rows(Lesson, class_id=school_class.id) == []
    opened = submit(client, plan)
    assert opened.status_code == 302
    (lesson,) = rows(Lesson, class_id=school_class.id)
    assert opened.headers["Location"].endswith(f"/journal/lessons/{lesson.id}")
    # Once opened, the slot's address leads to the lesson.
    assert client.get(plan).headers["Location"].endswith(f"/journal/lessons/{lesson.id}")
    assert client.get(plan_url(school_class, math, future, 3)).status_code == 404
    assert client.get(f"/journal/{school_class.id}/{math.id}/on/someday/1").status_code == 404
    assert client.get(f"/journal/{school_class.id}/{math.id}?period=999999").status_code == 404


def test_only_the_lessons_teacher_opens_it(world, login):
    school_class = world.one.classes["6А"]
    math = world.subjects["math"]
    plan = plan_url(school_class, math, weekday_on_or_before(world.one.periods[-1].ends_on))
    for name in ("admin", "teacher2"):  # the administrator reads the journal, writes nothing
        client = login(world.people[name])
        page = client.get(plan)
        if name == "admin":
            assert page.status_code == 200
            assert "Открыть урок" not in text_of(page)
        token = re.search(
            r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)
        )
        refused = client.post(plan, data={"csrf_token": token.group(1)})
        assert refused.status_code == 403, name
    assert rows(Lesson, class_id=school_class.id) == []


def test_front_page_lists_classes_and_todays_lessons(world, login):
    client = login(world.people["teacher"])
    page = client.get("/journal/")
    assert page.status_code == 200
    text = text_of(page)
    assert "6А" in text and "9Б" in text and "Математика" in text
    assert "Русский язык" in text  # 6А's subjects, for its class teacher to read
    assert rows(Lesson) == []  # the page creates nothing
    if world.today.isoweekday() <= 5:
        # Today's lesson is opened with the page's button.
        school_class = world.one.classes["6А"]
        plan = plan_url(school_class, world.subjects["math"], world.today)
        opened = submit(client, "/journal/", action=plan)
        lesson = rows(Lesson, on_date=world.today, class_id=school_class.id)[0]
        assert opened.headers["Location"].endswith(f"/journal/lessons/{lesson.id}")
        assert f"/journal/lessons/{lesson.id}" in client.get("/journal/").get_data(as_text=True)
    for name in ("parent", "nobody"):
        assert login(world.people[name]).get("/journal/").status_code == 403
    assert login(None).get("/journal/").status_code == 302


# --- writing a lesson -----------------------------------------------------------------


def test_teacher_records_topic_homework_marks_and_absence(world, login, day, lesson):
    petr, masha = world.one.students["petr"], world.one.students["masha"]
    client = login(world.people["teacher"])
    with caught(signals.mark_recorded, signals.absence_recorded, signals.homework_set) as got:
        saved = submit(
            client,
            f"/journal/lessons/{lesson.id}",
            {"topic": "Сложение дробей", "homework": "№ 112, 114", "due_on": ""},
            follow=True,
        )
        assert saved.status_code == 200
        assert "Тема и домашнее задание сохранены" in text_of(saved)
        saved = post_marks(
            client,
            lesson,
            {
                "kind": "oral",
                f"s{petr.id}_value": "5",
                f"s{petr.id}_kind": "control",
                f"s{petr.id}_comment": "Без ошибок",
                f"s{masha.id}_value": "зач",
                f"s{masha.id}_attendance": "оп",
            },
        )
        assert saved.status_code == 302
    db.session.expire_all()
    lesson = db.session.get(Lesson, lesson.id)
    assert lesson.topic == "Сложение дробей"
    assert lesson.homework.text == "№ 112, 114"
    assert lesson.homework.due_on == weekday_after(day)  # the next math lesson
    (five,) = rows(Mark, student_id=petr.id)
    assert (five.value, five.kind, five.weight, five.comment) == ("5", "control", 5, "Без ошибок")
    assert five.author_id == staff(world, "teacher").id and five.is_current
    (passed,) = rows(Mark, student_id=masha.id)
    assert (passed.value, passed.kind, passed.weight) == ("pass", "oral", 2)
    (late,) = rows(Attendance, student_id=masha.id)
    assert late.code == "оп" and not late.deleted
    assert [name for name, _ in got] == [
        "homework-set",
        "mark-recorded",
        "mark-recorded",
        "absence-recorded",
    ]
    assert got[1][1].id == five.id and got[3][1].id == late.id

    grid = text_of(client.get(f"/journal/{lesson.class_id}/{lesson.subject_id}"))
    assert "5" in grid and "зач" in grid and "оп" in grid
    page = client.get(f"/journal/lessons/{lesson.id}").get_data(as_text=True)
    assert 'value="Сложение дробей"' in page

    # Saving the same form again changes nothing and needs no reason.
    with caught(signals.mark_recorded) as again:
        unchanged = post_marks(client, lesson, {})
    assert unchanged.status_code == 302
    assert again == []
    assert len(rows(Mark, lesson_id=lesson.id)) == 2


def test_remark_to_parents(world, login, lesson):
    petr = world.one.students["petr"]
    client = login(world.people["teacher"])
    done = submit(
        client,
        f"/journal/lessons/{lesson.id}",
        {
            "remark-student": str(petr.id),
            "remark-kind": "praise",
            "remark-text": "Отлично работал у доски",
        },
        action=f"/journal/lessons/{lesson.id}/remarks",
        follow=True,
    )
    assert done.status_code == 200
    (remark,) = rows(Remark, student_id=petr.id)
    assert (remark.kind, remark.lesson_id, remark.subject_id) == (
        "praise",
        lesson.id,
        lesson.subject_id,
    )
    assert "Отлично работал у доски" in text_of(done)
    empty = submit(
        client,
        f"/journal/lessons/{lesson.id}",
        {"remark-student": str(petr.id), "remark-kind": "praise", "remark-text": ""},
        action=f"/journal/lessons/{lesson.id}/remarks",
    )
    assert empty.status_code == 400
    assert len(rows(Remark)) == 1


def test_bad_mark_value_is_refused_in_russian_and_nothing_is_saved(world, login, lesson):
    petr, masha = world.one.students["petr"], world.one.students["masha"]
    client = login(world.people["teacher"])
    page = post_marks(
        client,
        lesson,
        {f"s{petr.id}_value": "7", f"s{masha.id}_value": "4", f"s{masha.id}_attendance": "н"},
    )
    assert page.status_code == 400
    assert "«7» — не отметка" in text_of(page)
    assert rows(Mark) == [] and rows(Attendance) == []


def test_teacher_of_another_subject_cannot_write_math(world, login, lesson):
    petr = world.one.students["petr"]
    client = login(world.people["teacher2"])
    assert client.get(f"/journal/lessons/{lesson.id}").status_code == 403
    token = diary_csrf(client)
    refused = client.post(marks_url(lesson), data={"csrf_token": token, f"s{petr.id}_value": "2"})
    assert refused.status_code == 403
    refused = client.post(
        f"/journal/lessons/{lesson.id}", data={"csrf_token": token, "topic": "Чужая тема"}
    )
    assert refused.status_code == 403
    assert rows(Mark) == []
    assert db.session.get(Lesson, lesson.id).topic == ""


def test_substitute_writes_only_the_lesson_they_give(world, login, day, lesson):
    petr = world.one.students["petr"]
    school_class = world.one.classes["6А"]
    other = math_lesson(world, weekday_before(day))
    # The administrator records the substitution after the lesson was opened: the
    # lesson follows it (who gives it).
    changes = f"/school/{world.one.school.id}/changes?on={day.isoformat()}"
    recorded = submit(
        login(world.people["admin"]),
        changes,
        {
            "on_date": day.isoformat(),
            "lesson_number": "1",
            "class_id": str(school_class.id),
            "kind": "substitution",
            "substitute_id": str(staff(world, "teacher2").id),
        },
    )
    assert recorded.status_code == 302
    db.session.expire_all()
    assert db.session.get(Lesson, lesson.id).teacher_id == staff(world, "teacher2").id
    client = login(world.people["teacher2"])
    grid = client.get(f"/journal/{school_class.id}/{world.subjects['math'].id}")
    assert grid.status_code == 200

    saved = post_marks(client, lesson, {f"s{petr.id}_value": "4"})
    assert saved.status_code == 302
    (mark,) = rows(Mark)
    assert mark.author_id == staff(world, "teacher2").id

    # The day before is the regular teacher's lesson: readable, not writable.
    page = client.get(f"/journal/lessons/{other.id}")
    assert page.status_code == 200
    assert not any(f.action == marks_url(other) for f in forms_of(page.get_data(as_text=True)))
    refused = client.post(
        marks_url(other), data={"csrf_token": diary_csrf(client), f"s{petr.id}_value": "3"}
    )
    assert refused.status_code == 403
    assert len(rows(Mark)) == 1


def test_an_opened_lesson_follows_a_cancellation_recorded_later(world, login, day, lesson):
    admin = login(world.people["admin"])
    changes = f"/school/{world.one.school.id}/changes?on={day.isoformat()}"
    cancel = {
        "on_date": day.isoformat(),
        "lesson_number": "1",
        "class_id": str(lesson.class_id),
        "kind": "cancellation",
    }
    assert submit(admin, changes, cancel).status_code == 302
    db.session.expire_all()
    assert db.session.get(Lesson, lesson.id).cancelled is True
    (change,) = rows(TimetableChange)
    removed = submit(
        admin, changes, action=f"/school/{world.one.school.id}/changes/{change.id}/remove"
    )
    assert removed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Lesson, lesson.id).cancelled is False


@pytest.mark.parametrize("name", ["parent", "nobody", "two_teacher", "nurse", "alisa"])
def test_strangers_are_refused(world, login, lesson, name):
    petr = world.one.students["petr"]
    client = login(world.people[name])
    school_class = world.one.classes["6А"]
    math = world.subjects["math"]
    assert client.get(f"/journal/{school_class.id}/{math.id}").status_code == 403
    assert client.get(f"/journal/{school_class.id}/{math.id}/final").status_code == 403
    assert client.get(f"/journal/lessons/{lesson.id}").status_code == 403
    refused = client.post(
        marks_url(lesson), data={"csrf_token": diary_csrf(client), f"s{petr.id}_value": "5"}
    )
    assert refused.status_code == 403
    assert rows(Mark) == []


def test_signed_out_visitor_is_sent_to_sign_in_and_missing_things_are_404(world, login, lesson):
    assert login(None).get(f"/journal/lessons/{lesson.id}").status_code == 302
    client = login(world.people["teacher"])
    assert client.get("/journal/lessons/999999").status_code == 404
    assert client.get("/journal/marks/999999/history").status_code == 404
    assert client.get("/journal/attachments/999999").status_code == 404
    assert client.get(f"/journal/999999/{world.subjects['math'].id}").status_code == 404


def test_class_teacher_and_admin_read_but_do_not_write_russian(world, login, day):
    school_class = world.one.classes["6А"]
    russian = world.subjects["russian"]
    lesson = services.lesson_for_slot(school_class, russian.id, day, 2)
    petr = world.one.students["petr"]
    for name in ("teacher", "admin"):  # class teacher of 6А; school administrator
        client = login(world.people[name])
        assert client.get(f"/journal/{school_class.id}/{russian.id}").status_code == 200
        assert client.get(f"/journal/lessons/{lesson.id}").status_code == 200
        refused = client.post(
            marks_url(lesson), data={"csrf_token": diary_csrf(client), f"s{petr.id}_value": "5"}
        )
        assert refused.status_code == 403


# --- corrections and history ----------------------------------------------------------


def give_mark(world, lesson: Lesson, student, value: str = "4", kind: str = "oral") -> Mark:
    recorded = services.record_lesson_entries(
        staff(world, "teacher"),
        lesson.id,
        [
            services.StudentEntry(
                key="x",
                student_id=student.id,
                marks=(services.MarkInput(key="x", value=value, kind=kind),),
            )
        ],
    )
    return recorded.marks[0]


def test_correction_without_reason_is_refused_and_changes_nothing(world, login, lesson):
    petr = world.one.students["petr"]
    mark = give_mark(world, lesson, petr)
    client = login(world.people["teacher"])
    page = post_marks(client, lesson, {f"m{mark.id}_value": "5"})
    assert page.status_code == 400
    assert "Укажите, почему вы исправляете или удаляете записи: Иванов Пётр Сергеевич" in text_of(
        page
    )
    (only,) = rows(Mark)
    assert (only.id, only.value, only.is_current) == (mark.id, "4", True)


def test_correction_with_reason_keeps_both_versions_and_the_family_sees_them(world, login, lesson):
    petr = world.one.students["petr"]
    mark = give_mark(world, lesson, petr)
    client = login(world.people["teacher"])
    with caught(signals.mark_recorded) as got:
        saved = post_marks(
            client,
            lesson,
            {f"m{mark.id}_value": "5", f"s{petr.id}_reason": "Ошибка при вводе"},
        )
    assert saved.status_code == 302
    old, new = rows(Mark, student_id=petr.id)
    assert (old.value, old.is_current) == ("4", False)
    assert (new.value, new.is_current, new.previous_id) == ("5", True, old.id)
    assert new.reason == "Ошибка при вводе" and new.weight == old.weight
    assert [m.id for _, m in got] == [new.id]

    for name in ("parent", "teacher", "admin", "two_teacher", "nobody", "parent2", "nurse"):
        page = login(world.people[name]).get(f"/journal/marks/{old.id}/history")
        if name in ("parent", "teacher", "admin"):
            assert page.status_code == 200, name
            text = text_of(page)
            assert "История отметки" in text
            assert "Смирнова О. В." in text and "Ошибка при вводе" in text
            assert re.search(r"4 .*5", text)
        else:
            assert page.status_code == 403, name
    # Either version leads to the same history.
    assert "Ошибка при вводе" in text_of(
        login(world.people["parent"]).get(f"/journal/marks/{new.id}/history")
    )


def test_deleting_a_mark_and_correcting_attendance_are_versions(world, login, lesson):
    petr = world.one.students["petr"]
    mark = give_mark(world, lesson, petr, "2")
    client = login(world.people["teacher"])
    assert post_marks(client, lesson, {f"s{petr.id}_attendance": "н"}).status_code == 302
    (absent,) = rows(Attendance)

    refused = post_marks(client, lesson, {f"m{mark.id}_value": ""})
    assert refused.status_code == 400
    assert rows(Mark)[0].is_current

    with caught(signals.mark_recorded, signals.absence_recorded) as got:
        saved = post_marks(
            client,
            lesson,
            {
                f"m{mark.id}_value": "",
                f"s{petr.id}_attendance": "у",
                f"s{petr.id}_reason": "Справка от врача",
            },
        )
    assert saved.status_code == 302
    old, deletion = rows(Mark)
    assert deletion.deleted and deletion.is_current and deletion.previous_id == old.id
    assert deletion.value == "2" and deletion.reason == "Справка от врача"
    assert not old.is_current
    first, second = rows(Attendance)
    assert (first.code, first.is_current) == ("н", False)
    assert (second.code, second.previous_id, second.reason) == ("у", absent.id, "Справка от врача")
    assert [name for name, _ in got] == ["absence-recorded"]  # a deletion is no new mark
    grid = client.get(f"/journal/{lesson.class_id}/{lesson.subject_id}")
    assert f"/journal/marks/{old.id}/history" not in grid.get_data(as_text=True)

    history = text_of(login(world.people["parent"]).get(f"/journal/marks/{old.id}/history"))
    assert "удалена" in history and "Справка от врача" in history
    history = text_of(login(world.people["nurse"]).get(f"/journal/attendance/{first.id}/history"))
    assert "н — отсутствовал(а)" in history and "у — " in history
    assert (
        login(world.people["two_parent"]).get(f"/journal/attendance/{first.id}/history").status_code
        == 403
    )

    # Present after all: clearing the attendance is a deletion version too.
    post_marks(client, lesson, {f"s{petr.id}_attendance": "", f"s{petr.id}_reason": "Был на уроке"})
    last = rows(Attendance)[-1]
    assert last.deleted and last.is_current and last.previous_id == second.id


def test_a_form_shown_before_someone_elses_change_is_refused(world, login, lesson):
    petr = world.one.students["petr"]
    client = login(world.people["teacher"])
    page = client.get(f"/journal/lessons/{lesson.id}")
    (form,) = [f for f in forms_of(page.get_data(as_text=True)) if f.action == marks_url(lesson)]
    give_mark(world, lesson, petr, "3")  # meanwhile, in another tab
    stale = client.post(marks_url(lesson), data={**form.fields, f"s{petr.id}_value": "5"})
    assert stale.status_code == 400
    assert "изменены" in text_of(stale)
    assert [m.value for m in rows(Mark)] == ["3"]


def test_future_lessons_are_planned_but_get_no_marks(world, login):
    future = weekday_after(world.today)
    lesson = math_lesson(world, future)
    petr = world.one.students["petr"]
    client = login(world.people["teacher"])
    page = client.get(f"/journal/lessons/{lesson.id}")
    assert "Отметки и посещаемость выставляются после урока" in text_of(page)
    planned = submit(client, f"/journal/lessons/{lesson.id}", {"topic": "Контрольная работа"})
    assert planned.status_code == 302
    refused = client.post(
        marks_url(lesson), data={"csrf_token": diary_csrf(client), f"s{petr.id}_value": "5"}
    )
    assert refused.status_code == 400
    assert rows(Mark) == []
    assert db.session.get(Lesson, lesson.id).topic == "Контрольная работа"


# --- homework files -------------------------------------------------------------------


def test_attachments_upload_download_and_refusal(world, login, lesson):
    client = login(world.people["teacher"])
    pdf = b"%PDF-1.4 homework sheet"
    saved = submit(
        client,
        f"/journal/lessons/{lesson.id}",
        {"homework": "Решить задачи из листка", "attachments": (io.BytesIO(pdf), "Листок 5.pdf")},
    )
    assert saved.status_code == 302
    (attachment,) = rows(HomeworkAttachment)
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "Листок 5.pdf",
        "application/pdf",
        len(pdf),
    )
    url = f"/journal/attachments/{attachment.id}"
    assert url in client.get(f"/journal/lessons/{lesson.id}").get_data(as_text=True)
    for name in ("teacher", "parent", "parent2", "admin"):  # Пётр's and Маша's parents
        got = login(world.people[name]).get(url)
        assert got.status_code == 200, name
        assert got.data == pdf
        assert got.headers["Content-Disposition"].startswith("attachment")
        assert got.headers["Content-Type"] == "application/pdf"
    for name in ("two_parent", "two_teacher", "nobody", "alisa", "teacher2", "nurse"):
        assert login(world.people[name]).get(url).status_code == 403, name

    refused = submit(
        client,
        f"/journal/lessons/{lesson.id}",
        {"homework": "Другое", "attachments": (io.BytesIO(b"MZ..."), "game.exe")},
    )
    assert refused.status_code == 400
    assert "нельзя прикрепить" in text_of(refused)
    assert len(rows(HomeworkAttachment)) == 1
    assert rows(Homework)[0].text == "Решить задачи из листка"

    removed = client.post(f"{url}/delete", data={"csrf_token": diary_csrf(client)})
    assert removed.status_code == 302
    assert rows(HomeworkAttachment) == []


# --- period and year marks ------------------------------------------------------------


def test_final_marks_store_policy_average_and_suggestion(world, login, day, lesson):
    petr = world.one.students["petr"]
    school_class = world.one.classes["6А"]
    math = world.subjects["math"]
    give_mark(world, lesson, petr, "5", "control")
    give_mark(world, math_lesson(world, weekday_before(day)), petr, "4", "oral")
    period = period_on(world.one.year, world.today)
    url = f"/journal/{school_class.id}/{math.id}/final?period={period.id}"
    client = login(world.people["teacher"])
    page = client.get(url)
    assert page.status_code == 200
    text = text_of(page)
    assert "4,71" in text  # (5×5 + 4×2) / 7

    saved = submit(client, url, {f"p{petr.id}_value": "5", f"y{petr.id}_value": "5"})
    assert saved.status_code == 302
    year_mark, period_mark = sorted(rows(FinalMark), key=lambda f: f.kind == "period")
    assert (period_mark.kind, period_mark.period_id, period_mark.value) == (
        "period",
        period.id,
        "5",
    )
    assert period_mark.policy_id == current_policy(world.one.school.id).id
    assert period_mark.average == Decimal("4.71") and period_mark.suggested == "5"
    assert (year_mark.kind, year_mark.period_id, year_mark.value) == ("year", None, "5")
    assert year_mark.average == Decimal("5.00") and year_mark.suggested == "5"
    assert year_mark.author_id == staff(world, "teacher").id

    refused = submit(client, url, {f"p{petr.id}_value": "4"})
    assert refused.status_code == 400
    assert "Укажите, почему вы меняете итоговую отметку" in text_of(refused)
    assert len(rows(FinalMark)) == 2

    changed = submit(
        client, url, {f"p{petr.id}_value": "4", f"s{petr.id}_reason": "Решение педсовета"}
    )
    assert changed.status_code == 302
    current = [f for f in rows(FinalMark) if f.kind == "period" and f.is_current]
    assert [(f.value, f.previous_id, f.reason) for f in current] == [
        ("4", period_mark.id, "Решение педсовета")
    ]
    history = text_of(
        login(world.people["parent"]).get(f"/journal/final-marks/{period_mark.id}/history")
    )
    assert "Решение педсовета" in history and "Смирнова О. В." in history

    # The Russian teacher reads 6А's math as nobody; the class teacher of 6А reads it but
    # only the subject's teachers and the administration set marks.
    assert login(world.people["teacher2"]).get(url).status_code == 403
    admin = login(world.people["admin"])
    assert (
        submit(
            admin, url, {f"y{petr.id}_value": "4", f"s{petr.id}_reason": "Апелляция"}
        ).status_code
        == 302
    )
    russian_url = f"/journal/{school_class.id}/{world.subjects['russian'].id}/final"
    class_teacher = login(world.people["teacher"])
    assert class_teacher.get(russian_url).status_code == 200
    assert (
        class_teacher.post(russian_url, data={"csrf_token": diary_csrf(class_teacher)}).status_code
        == 403
    )
