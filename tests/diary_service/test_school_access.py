"""Who may open the school room's pages and change its data.

Every page and every action of school 1 is tried by its administrator (allowed) and by
everyone else: school 2's administrator, teachers, the health worker, parents, a
student, the department, a signed-in stranger (403, nothing changes) and a signed-out
visitor (sent to sign in). The health worker's absences page and the department's region
page have their own rules.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.models.family import Guardian
from diary_service.models.journal import MARK_KINDS, Attendance, Lesson, MarkPolicy
from diary_service.models.school import (
    AcademicYear,
    Bell,
    Enrolment,
    Holiday,
    Municipality,
    Notice,
    ParentMeeting,
    School,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    Subject,
    TeachingAssignment,
    TimetableChange,
    TimetableEntry,
)
from tests.diary_service.test_school_admin import lesson_day, make_snils
from tests.helpers import forms_of, text_of

TABLES = (
    AcademicYear,
    Bell,
    Enrolment,
    Guardian,
    Holiday,
    MarkPolicy,
    Municipality,
    Notice,
    ParentMeeting,
    School,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    Subject,
    TeachingAssignment,
    TimetableChange,
    TimetableEntry,
)
STRANGERS = ("two_admin", "teacher", "teacher2", "nurse", "parent", "alisa", "department", "nobody")


def snapshot() -> dict:
    """Every row of the room's tables: what "nothing changed" compares."""
    db.session.expire_all()
    return {
        model.__tablename__: [
            tuple(row) for row in db.session.execute(sa.select(model.__table__)).all()
        ]
        for model in TABLES
    }


def token_of(client) -> str:
    """The CSRF token any signed-in page carries (the sign-out form's)."""
    page = client.get("/")
    return next(f.fields["csrf_token"] for f in forms_of(page.get_data(as_text=True)))


def extras(world) -> dict:
    """Rows the world lacks that some actions remove: a holiday, a change, a notice, a
    meeting."""
    one = world.one
    monday = lesson_day(world, 1)
    holiday = Holiday(
        year_id=one.year.id,
        name="Осенние каникулы",
        starts_on=one.periods[0].ends_on + timedelta(days=1),
        ends_on=one.periods[1].starts_on - timedelta(days=1),
    )
    change = TimetableChange(
        class_id=one.classes["9Б"].id, on_date=monday, lesson_number=2, kind="cancellation"
    )
    notice = Notice(school_id=one.school.id, kind="news", title="Новость", starts_on=world.today)
    meeting = ParentMeeting(
        class_id=one.classes["6А"].id,
        held_at=datetime.combine(world.today, datetime.min.time()),
        place="Актовый зал",
        agenda="Итоги четверти",
    )
    db.session.add_all([holiday, change, notice, meeting])
    db.session.commit()
    return {"holiday": holiday, "change": change, "notice": notice, "meeting": meeting}


def pages(world, extra) -> list[str]:
    one = world.one
    s = f"/school/{one.school.id}"
    six = one.classes["6А"].id
    return [
        f"{s}/",
        f"{s}/classes",
        f"{s}/classes/{six}",
        f"{s}/classes/{six}/timetable",
        f"{s}/students",
        f"{s}/students/{one.students['petr'].id}",
        f"{s}/staff",
        f"{s}/assignments",
        f"{s}/bells",
        f"{s}/years",
        f"{s}/years/{one.year.id}",
        f"{s}/changes",
        f"{s}/notices",
        f"{s}/meetings",
        f"{s}/policy",
        f"{s}/import",
        f"{s}/import/students.csv",
    ]


def actions(world, extra) -> list[tuple[str, dict, int]]:
    """(url, form data, the administrator's status) for every change the room offers."""
    one = world.one
    s = f"/school/{one.school.id}"
    six, nine = one.classes["6А"], one.classes["9Б"]
    teacher, teacher2, nurse = one.staff["teacher"], one.staff["teacher2"], one.staff["nurse"]
    math = world.subjects["math"]
    day = lesson_day(world, 2).isoformat()
    next_year = one.year.ends_on + timedelta(days=93)
    alisa_link = db.session.execute(
        sa.select(Guardian).where(Guardian.student_id == one.students["alisa"].id)
    ).scalar_one()
    used_assignment = (
        db.session.execute(
            sa.select(TeachingAssignment).where(TeachingAssignment.class_id == six.id)
        )
        .scalars()
        .first()
    )
    csv = io.BytesIO("grade;letter\n10;А\n".encode())
    return [
        (f"{s}/rating", {}, 302),
        (f"{s}/classes", {"year_id": one.year.id, "grade": 8, "letter": "В"}, 302),
        (f"{s}/classes/{six.id}/teacher", {"class_teacher_id": teacher2.id}, 302),
        (
            f"{s}/classes/{six.id}/timetable",
            {"c6_3_subject": math.id, "c6_3_teacher": teacher.id, "c6_3_room": "1"},
            302,
        ),
        (
            f"{s}/students",
            {
                "family_name": "Новиков",
                "given_name": "Артём",
                "birth_date": "2013-03-12",
                "snils": make_snils(50),
                "class_id": six.id,
                "starts_on": day,
            },
            302,
        ),
        (
            f"{s}/students/{one.students['petr'].id}/transfer",
            {"transfer-school_id": one.school.id, "transfer-class_name": "9Б", "transfer-on": day},
            302,
        ),
        (f"{s}/students/{one.students['masha'].id}/leave", {"leave-on": day}, 302),
        (
            f"{s}/students/{one.students['alisa'].id}/guardians",
            {
                "guardian-family_name": "Иванов",
                "guardian-given_name": "Сергей",
                "guardian-snils": make_snils(51),
                "guardian-reason": "заявление",
            },
            302,
        ),
        (f"{s}/guardians/{alisa_link.id}/revoke", {}, 302),
        (
            f"{s}/staff",
            {
                "family_name": "Зайцев",
                "given_name": "Олег",
                "snils": make_snils(52),
                "roles": "teacher",
            },
            302,
        ),
        (f"{s}/staff/{teacher2.id}/roles", {f"r{teacher2.id}-roles": "teacher"}, 302),
        (f"{s}/staff/{nurse.id}/deactivate", {}, 302),
        (f"{s}/staff/{nurse.id}/reactivate", {}, 302),
        (
            f"{s}/assignments",
            {"a-class_id": nine.id, "a-subject_id": math.id, "a-teacher_id": teacher2.id},
            302,
        ),
        (f"{s}/assignments/{used_assignment.id}/remove", {}, 302),
        (f"{s}/subjects", {"subj-name": "Химия"}, 302),
        (f"{s}/bells", {"number": 7, "starts_at": "14:20", "ends_at": "15:05"}, 302),
        (f"{s}/bells/{one.school.bells[5].id}/remove", {}, 302),
        (
            f"{s}/years",
            {
                "starts_on": next_year.isoformat(),
                "ends_on": (next_year + timedelta(days=270)).isoformat(),
                "period_kind": "trimester",
            },
            302,
        ),
        (f"{s}/periods/{one.periods[3].id}/remove", {}, 302),
        (
            f"{s}/years/{one.year.id}/periods",
            {
                "period-starts_on": one.periods[3].starts_on.isoformat(),
                "period-ends_on": one.year.ends_on.isoformat(),
            },
            302,
        ),
        (
            f"{s}/years/{one.year.id}/holidays",
            {"holiday-name": "Весенние", "holiday-starts_on": day, "holiday-ends_on": day},
            302,
        ),
        (f"{s}/holidays/{extra['holiday'].id}/remove", {}, 302),
        (
            f"{s}/changes",
            {
                "class_id": six.id,
                "on_date": lesson_day(world, 3).isoformat(),
                "lesson_number": 1,
                "kind": "room_change",
                "room": "305",
            },
            302,
        ),
        (f"{s}/changes/{extra['change'].id}/remove", {}, 302),
        (f"{s}/notices", {"kind": "event", "title": "Концерт", "starts_on": day}, 302),
        (f"{s}/notices/{extra['notice'].id}/remove", {}, 302),
        (
            f"{s}/meetings",
            {
                "class_id": nine.id,
                "held_at": f"{day}T18:00",
                "place": "Кабинет 21",
                "agenda": "ОГЭ",
            },
            302,
        ),
        (f"{s}/meetings/{extra['meeting'].id}/remove", {}, 302),
        (
            f"{s}/policy",
            {
                "average": "arithmetic",
                "threshold_5": "4.5",
                "threshold_4": "3.5",
                "threshold_3": "2.5",
                **{f"weight_{kind}": 1 for kind in MARK_KINDS},
            },
            302,
        ),
        (f"{s}/import", {"kind": "classes", "file": (csv, "classes.csv")}, 200),
    ]


def post(client, url: str, data: dict, token: str):
    return client.post(url, data={**data, "csrf_token": token}, content_type="multipart/form-data")


def test_the_administrator_may_do_every_action(world, login):
    """The actions the strangers are refused below are real: the administrator gets
    each of them done."""
    extra = extras(world)
    client = login(world.people["admin"])
    for url in pages(world, extra):
        assert client.get(url).status_code == 200, url
    token = token_of(client)
    for url, data, status in actions(world, extra):
        response = post(client, url, data, token)
        assert response.status_code == status, (url, text_of(response)[-400:])
        flashed = text_of(client.get(f"/school/{world.one.school.id}/"))
        assert "Сохранено." in flashed or status == 200 or "/remove" in url, url


@pytest.mark.parametrize("who", STRANGERS)
def test_everyone_else_is_refused_and_nothing_changes(world, login, who):
    extra = extras(world)
    client = login(world.people[who])
    for url in pages(world, extra):
        assert client.get(url).status_code == 403, (who, url)
    plan = actions(world, extra)
    before = snapshot()
    token = token_of(client)
    for url, data, _status in plan:
        assert post(client, url, data, token).status_code == 403, (who, url)
    assert snapshot() == before


def test_a_signed_out_visitor_is_sent_to_sign_in(world, login):
    extra = extras(world)
    client = login(None)
    for url in [*pages(world, extra), "/school/", "/school/region"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/auth/login" in response.location, url
    # Signed out there is no session, so no form token: a post is refused outright.
    before = snapshot()
    for url, data, _status in actions(world, extra):
        assert post(client, url, data, "").status_code == 400, url
    assert snapshot() == before


def test_school_two_cannot_reach_school_one_through_its_own_address(world, login):
    one, two = world.one, world.two
    client = login(world.people["two_admin"])
    s = f"/school/{two.school.id}"
    for url in (
        f"{s}/classes/{one.classes['6А'].id}",
        f"{s}/classes/{one.classes['6А'].id}/timetable",
        f"{s}/students/{one.students['petr'].id}",
        f"{s}/years/{one.year.id}",
    ):
        assert client.get(url).status_code == 403, url
    token = token_of(client)
    before = snapshot()
    for url in (
        f"{s}/staff/{one.staff['teacher2'].id}/deactivate",
        f"{s}/bells/{one.school.bells[0].id}/remove",
        f"{s}/students/{one.students['petr'].id}/leave",
        f"{s}/periods/{one.periods[3].id}/remove",
    ):
        assert post(client, url, {"leave-on": world.today.isoformat()}, token).status_code == 403
    # Nor by naming school 1's class in its own forms.
    assert (
        post(
            client,
            f"{s}/assignments",
            {
                "a-class_id": one.classes["6А"].id,
                "a-subject_id": world.subjects["math"].id,
                "a-teacher_id": two.staff["teacher"].id,
            },
            token,
        ).status_code
        == 400
    )
    assert snapshot() == before


def test_unknown_ids_are_not_found(world, login):
    client = login(world.people["admin"])
    s = f"/school/{world.one.school.id}"
    for url in (
        "/school/999999/",
        f"{s}/classes/999999",
        f"{s}/students/999999",
        f"{s}/years/999999",
        f"{s}/import/pupils.csv",
    ):
        assert client.get(url).status_code == 404, url


# --- the health worker's absences ---------------------------------------------------------


def absences(world) -> None:
    """Пётр ill at lesson 1 today, Алиса late (then corrected to absent), Маша's absence
    deleted."""
    one = world.one
    teacher = one.staff["teacher"]
    lessons = {
        name: Lesson(
            class_id=one.classes[name].id,
            subject_id=world.subjects["math"].id,
            teacher_id=teacher.id,
            on_date=world.today,
            lesson_number=1,
        )
        for name in ("6А", "9Б")
    }
    db.session.add_all(lessons.values())
    db.session.flush()
    late = Attendance(
        lesson_id=lessons["9Б"].id,
        student_id=one.students["alisa"].id,
        code="оп",
        is_current=False,
        author_id=teacher.id,
    )
    db.session.add(late)
    db.session.flush()
    db.session.add_all(
        [
            Attendance(
                lesson_id=lessons["6А"].id,
                student_id=one.students["petr"].id,
                code="б",
                author_id=teacher.id,
            ),
            Attendance(
                lesson_id=lessons["9Б"].id,
                student_id=one.students["alisa"].id,
                code="н",
                previous_id=late.id,
                author_id=teacher.id,
            ),
            Attendance(
                lesson_id=lessons["6А"].id,
                student_id=one.students["masha"].id,
                code="н",
                deleted=True,
                author_id=teacher.id,
            ),
        ]
    )
    db.session.commit()


def test_the_health_worker_reads_the_schools_absences(world, login):
    absences(world)
    url = f"/school/{world.one.school.id}/attendance"
    page = login(world.people["nurse"]).get(url)
    assert page.status_code == 200
    rows = text_of(page)
    assert "Иванов Пётр Сергеевич" in rows and "б болел(а)" in rows
    assert rows.count("Иванова Алиса Сергеевна") == 1  # only the current version
    assert "н отсутствовал(а)" in rows
    assert "Кузнецова Мария" not in rows  # her absence was deleted
    # Nothing else of the school is open to the health worker, nor offered.
    assert f"/school/{world.one.school.id}/students" not in page.get_data(as_text=True)
    nurse = login(world.people["nurse"])
    assert nurse.get(f"/school/{world.one.school.id}/students").status_code == 403
    # Older days are not shown unless asked for.
    earlier = (world.today - timedelta(days=30)).isoformat()
    empty = nurse.get(f"{url}?from={earlier}&to={earlier}")
    assert "Иванов Пётр" not in text_of(empty)


def test_absences_are_the_schools_health_workers_and_administrators_only(world, login):
    absences(world)
    url = f"/school/{world.one.school.id}/attendance"
    assert login(world.people["admin"]).get(url).status_code == 200
    for who in ("two_nurse", "two_admin", "teacher", "parent", "department", "nobody"):
        assert login(world.people[who]).get(url).status_code == 403, who


# --- the department's region ----------------------------------------------------------


def test_only_the_department_opens_the_region(world, login):
    assert login(world.people["department"]).get("/school/region").status_code == 200
    region_posts = {
        "/school/region/municipalities": {"m-name": "Новый район"},
        "/school/region/schools": {"s-municipality_id": world.municipality.id, "s-name": "Лицей"},
        "/school/region/subjects": {"subj-name": "Астрономия"},
    }
    before = snapshot()
    for who in ("admin", "two_admin", "teacher", "nurse", "parent", "nobody"):
        client = login(world.people[who])
        assert client.get("/school/region").status_code == 403, who
        token = token_of(client)
        for url, data in region_posts.items():
            assert post(client, url, data, token).status_code == 403, (who, url)
    assert snapshot() == before
