"""The school administrator's pages: each thing the administrator of school 1 can do,
read back from the page (in Russian) and the database, and what bad input does (the
form comes back with the reason, the database stays as it was)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from diary_service.access import can_write_journal, viewer_for
from diary_service.auth.services import snils_index
from diary_service.extensions import db
from diary_service.models.family import Guardian
from diary_service.models.journal import MarkPolicy
from diary_service.models.school import (
    AcademicYear,
    Bell,
    Enrolment,
    Holiday,
    Municipality,
    Notice,
    ParentMeeting,
    Period,
    School,
    SchoolClass,
    StaffMember,
    Student,
    TeachingAssignment,
    TimetableChange,
    TimetableEntry,
)
from shared.validators import snils_checksum
from tests.diary_service.factories import staff
from tests.helpers import submit, text_of


def make_snils(n: int) -> str:
    """A valid SNILS (11 digits) built from a nine-digit number above 001-001-998."""
    digits = f"{123_000_000 + n:09d}"
    return f"{digits}{snils_checksum(digits):02d}"


def index(snils: str) -> str:
    return snils_index(snils, current_app.config["BLIND_INDEX_KEY"])


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def lesson_day(world, weekday: int = 1, weeks: int = 2) -> date:
    """A day of the given ISO weekday inside school 1's year (not today: tests must not
    depend on which weekday today is)."""
    start = world.one.year.starts_on + timedelta(weeks=weeks)
    return start + timedelta(days=(weekday - start.isoweekday()) % 7)


def school_url(world, tail: str = "") -> str:
    return f"/school/{world.one.school.id}/{tail}"


# --- the way in -------------------------------------------------------------------------


def test_index_takes_each_one_to_their_page(world, login):
    sid = world.one.school.id
    admin = login(world.people["admin"]).get("/school/")
    assert admin.status_code == 302 and admin.location.endswith(f"/school/{sid}/")
    nurse = login(world.people["nurse"]).get("/school/")
    assert nurse.status_code == 302 and nurse.location.endswith(f"/school/{sid}/attendance")
    department = login(world.people["department"]).get("/school/")
    assert department.status_code == 302 and department.location.endswith("/school/region")
    assert login(world.people["nobody"]).get("/school/").status_code == 403


def test_an_administrator_of_two_schools_gets_a_list(world, login):
    staff(world.two.school, world.people["admin"], "school_admin")
    db.session.commit()
    page = login(world.people["admin"]).get("/school/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Средняя общеобразовательная школа № 1" in text
    assert "Средняя общеобразовательная школа № 2" in text


def test_dashboard_shows_the_school(world, login):
    page = login(world.people["admin"]).get(school_url(world))
    text = text_of(page)
    assert page.status_code == 200
    assert "Средняя общеобразовательная школа № 1" in text
    assert world.one.year.name in text


# --- classes ----------------------------------------------------------------------------


def test_admin_creates_a_class_with_a_class_teacher(world, login):
    client = login(world.people["admin"])
    teacher2 = world.one.staff["teacher2"]
    response = submit(
        client,
        school_url(world, "classes"),
        {
            "year_id": str(world.one.year.id),
            "grade": "7",
            "letter": "б",
            "class_teacher_id": str(teacher2.id),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "7Б" in text_of(response)
    created = db.session.execute(
        sa.select(SchoolClass).where(SchoolClass.grade == 7, SchoolClass.letter == "Б")
    ).scalar_one()
    assert created.school_id == world.one.school.id
    assert created.year_id == world.one.year.id
    assert created.class_teacher_id == teacher2.id
    db.session.refresh(teacher2)
    assert "class_teacher" in teacher2.role_names


def test_bad_class_is_refused_and_nothing_is_created(world, login):
    client = login(world.people["admin"])
    before = count(SchoolClass)
    year = str(world.one.year.id)
    bad = submit(
        client, school_url(world, "classes"), {"year_id": year, "grade": "12", "letter": "Q"}
    )
    assert bad.status_code == 400
    assert "От 1 до 11." in text_of(bad)
    twice = submit(
        client, school_url(world, "classes"), {"year_id": year, "grade": "6", "letter": "А"}
    )
    assert twice.status_code == 400
    assert "Класс 6А в этом году уже есть." in text_of(twice)
    latin = submit(
        client, school_url(world, "classes"), {"year_id": year, "grade": "5", "letter": "Q"}
    )
    assert latin.status_code == 400
    assert "русских заглавных" in text_of(latin)
    assert count(SchoolClass) == before


def test_class_page_shows_students_teachers_and_timetable(world, login):
    cls = world.one.classes["6А"]
    page = login(world.people["admin"]).get(school_url(world, f"classes/{cls.id}"))
    text = text_of(page)
    assert "Иванов Пётр Сергеевич" in text and "Кузнецова Мария Олеговна" in text
    assert "Иванова Алиса" not in text  # she is in 9Б
    assert "Математика" in text and "Смирнова Ольга Викторовна" in text
    assert "Смирнова О. В." in text  # in the timetable grid


def test_admin_changes_the_class_teacher(world, login):
    cls = world.one.classes["9Б"]
    teacher2 = world.one.staff["teacher2"]
    url = school_url(world, f"classes/{cls.id}")
    response = submit(
        login(world.people["admin"]),
        url,
        {"class_teacher_id": str(teacher2.id)},
        action=f"{url}/teacher",
    )
    assert response.status_code == 302
    db.session.refresh(cls)
    assert cls.class_teacher_id == teacher2.id
    # The new class teacher leads the class from their next request on.
    assert cls.id in viewer_for(world.people["teacher2"]).class_teacher_of


# --- students ---------------------------------------------------------------------------


def test_admin_admits_a_student_and_keeps_only_the_snils_index(world, login):
    client = login(world.people["admin"])
    snils = make_snils(1)
    response = submit(
        client,
        school_url(world, "students"),
        {
            "family_name": "Новиков",
            "given_name": "Артём",
            "middle_name": "Ильич",
            "birth_date": "12.03.2013",
            "snils": f"{snils[:3]}-{snils[3:6]}-{snils[6:9]} {snils[9:]}",
            "class_id": str(world.one.classes["6А"].id),
            "starts_on": world.one.year.starts_on.isoformat(),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Новиков Артём Ильич" in text_of(response)
    student = db.session.execute(
        sa.select(Student).where(Student.family_name == "Новиков")
    ).scalar_one()
    assert student.snils_index == index(snils)
    assert snils not in str(student.__dict__)
    assert student.school_id == world.one.school.id
    [enrolment] = student.enrolments
    assert enrolment.class_id == world.one.classes["6А"].id and enrolment.reason == "admission"


def test_admitting_with_a_bad_snils_or_a_known_one_is_refused(world, login):
    client = login(world.people["admin"])
    petr = world.one.students["petr"]
    petr.snils_index = index(make_snils(2))
    db.session.commit()
    before = count(Student), count(Enrolment)
    data = {
        "family_name": "Новиков",
        "given_name": "Артём",
        "birth_date": "12.03.2013",
        "class_id": str(world.one.classes["6А"].id),
        "starts_on": world.one.year.starts_on.isoformat(),
    }
    bad = submit(client, school_url(world, "students"), {**data, "snils": "123-456-789 00"})
    assert bad.status_code == 400
    assert "Контрольное число СНИЛС не сходится" in text_of(bad)
    known = submit(client, school_url(world, "students"), {**data, "snils": make_snils(2)})
    assert known.status_code == 400
    assert "Ученик с этим СНИЛС уже учится в этой школе." in text_of(known)
    outside = submit(
        client,
        school_url(world, "students"),
        {**data, "snils": make_snils(3), "starts_on": "2001-01-01"},
    )
    assert outside.status_code == 400
    assert "учебного года класса" in text_of(outside)
    assert (count(Student), count(Enrolment)) == before


def test_transfer_within_the_school_keeps_the_history(world, login):
    client = login(world.people["admin"])
    petr = world.one.students["petr"]
    on = lesson_day(world)
    url = school_url(world, f"students/{petr.id}")
    response = submit(
        client,
        url,
        {
            "transfer-school_id": str(world.one.school.id),
            "transfer-class_name": "9б",
            "transfer-on": on.isoformat(),
        },
        action=f"{url}/transfer",
        follow=True,
    )
    assert response.status_code == 200
    db.session.expire_all()
    old, new = petr.enrolments
    assert old.class_id == world.one.classes["6А"].id
    assert (old.ends_on, old.end_reason) == (on, "transfer")
    assert new.class_id == world.one.classes["9Б"].id
    assert (new.starts_on, new.ends_on, new.reason) == (on, None, "transfer")
    text = text_of(response)
    assert "6А" in text and "9Б" in text and "перевод" in text
    assert petr.school_id == world.one.school.id


def test_transfer_to_another_school_moves_the_student_and_keeps_the_history(world, login):
    client = login(world.people["admin"])
    alisa = world.one.students["alisa"]
    target = world.two.classes["9Б"]
    on = lesson_day(world)
    url = school_url(world, f"students/{alisa.id}")
    response = submit(
        client,
        url,
        {
            "transfer-school_id": str(world.two.school.id),
            "transfer-class_name": "9Б",
            "transfer-on": on.isoformat(),
        },
        action=f"{url}/transfer",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert alisa.school_id == world.two.school.id
    assert [e.class_id for e in alisa.enrolments] == [world.one.classes["9Б"].id, target.id]
    # School 1 still reads her history, but may no longer move her.
    history = client.get(url)
    assert history.status_code == 200
    assert "СОШ № 2" in text_of(history)
    assert "Перевести" not in text_of(history)
    again = client.post(f"{url}/transfer", data={})
    assert again.status_code in (400, 404)
    # School 2's administrator now has her on the list.
    two = login(world.people["two_admin"]).get(f"/school/{world.two.school.id}/students")
    assert "Иванова Алиса Сергеевна" in text_of(two)


def test_a_transfer_before_the_enrolment_began_is_refused(world, login):
    client = login(world.people["admin"])
    petr = world.one.students["petr"]
    url = school_url(world, f"students/{petr.id}")
    response = submit(
        client,
        url,
        {
            "transfer-school_id": str(world.one.school.id),
            "transfer-class_name": "9Б",
            "transfer-on": world.one.year.starts_on.isoformat(),
        },
        action=f"{url}/transfer",
    )
    assert response.status_code == 400
    assert "Дата должна быть позже" in text_of(response)
    nowhere = submit(
        client,
        url,
        {
            "transfer-school_id": str(world.one.school.id),
            "transfer-class_name": "7Я",
            "transfer-on": lesson_day(world).isoformat(),
        },
        action=f"{url}/transfer",
    )
    assert nowhere.status_code == 400
    assert "В школе нет класса «7Я» в учебном году этой даты." in text_of(nowhere)
    db.session.expire_all()
    assert len(petr.enrolments) == 1 and petr.enrolments[0].ends_on is None


def test_a_student_leaves_the_school(world, login):
    client = login(world.people["admin"])
    masha = world.one.students["masha"]
    on = lesson_day(world)
    url = school_url(world, f"students/{masha.id}")
    response = submit(
        client,
        url,
        {"leave-on": on.isoformat(), "leave-note": "приказ № 12"},
        action=f"{url}/leave",
        follow=True,
    )
    assert response.status_code == 200
    db.session.expire_all()
    [enrolment] = masha.enrolments
    assert (enrolment.ends_on, enrolment.end_reason) == (on, "leaving")
    assert masha.school_id is None
    assert "выбытие" in text_of(response)
    assert "Кузнецова Мария" not in text_of(client.get(school_url(world, "students")))


# --- guardians --------------------------------------------------------------------------


def test_admin_links_a_parent_who_has_signed_in_and_revokes_the_link(world, login):
    client = login(world.people["admin"])
    nobody = world.people["nobody"]
    snils = make_snils(4)
    nobody.snils_index = index(snils)
    db.session.commit()
    petr = world.one.students["petr"]
    url = school_url(world, f"students/{petr.id}")
    response = submit(
        client,
        url,
        {
            "guardian-family_name": "Посторонний",
            "guardian-given_name": "Игорь",
            "guardian-snils": snils,
            "guardian-reason": "заявление отца от 01.09",
        },
        action=f"{url}/guardians",
        follow=True,
    )
    assert response.status_code == 200
    link = db.session.execute(
        sa.select(Guardian).where(Guardian.snils_index == index(snils))
    ).scalar_one()
    assert (link.person_id, link.kind, link.source) == (nobody.id, "parent", "school")
    assert link.reason == "заявление отца от 01.09"
    assert link.created_by_id == world.one.staff["admin"].id
    assert petr.id in viewer_for(nobody).guardian_of

    revoke = submit(
        client, url, action=f"/school/{world.one.school.id}/guardians/{link.id}/revoke", follow=True
    )
    assert revoke.status_code == 200
    db.session.refresh(link)
    assert link.revoked_at is not None and link.revoked_by_id == world.one.staff["admin"].id
    assert petr.id not in viewer_for(nobody).guardian_of
    assert "Отозванные связи" in text_of(revoke)


def test_a_link_before_the_parent_signs_in_waits_for_their_snils(world, login):
    client = login(world.people["admin"])
    petr = world.one.students["petr"]
    url = school_url(world, f"students/{petr.id}")
    snils = make_snils(5)
    data = {
        "guardian-family_name": "Иванов",
        "guardian-given_name": "Сергей",
        "guardian-snils": snils,
        "guardian-reason": "свидетельство о рождении",
    }
    assert submit(client, url, data, action=f"{url}/guardians").status_code == 302
    link = db.session.execute(
        sa.select(Guardian).where(Guardian.snils_index == index(snils))
    ).scalar_one()
    assert link.person_id is None
    again = submit(client, url, data, action=f"{url}/guardians")
    assert again.status_code == 400
    assert "Этот родитель уже связан с учеником." in text_of(again)
    bad = submit(client, url, {**data, "guardian-snils": "12"}, action=f"{url}/guardians")
    assert bad.status_code == 400
    links = db.session.execute(sa.select(Guardian).where(Guardian.student_id == petr.id)).all()
    assert len(links) == 2  # his mother's from the world, and this one


# --- staff ------------------------------------------------------------------------------


def test_admin_adds_staff_by_snils_and_links_a_signed_in_person(world, login):
    client = login(world.people["admin"])
    nobody = world.people["nobody"]
    snils = make_snils(6)
    nobody.snils_index = index(snils)
    db.session.commit()
    response = submit(
        client,
        school_url(world, "staff"),
        {
            "family_name": "Посторонний",
            "given_name": "Игорь",
            "snils": snils,
            "position": "учитель физики",
            "roles": ["teacher"],
        },
        follow=True,
    )
    assert response.status_code == 200
    member = db.session.execute(
        sa.select(StaffMember).where(StaffMember.snils_index == index(snils))
    ).scalar_one()
    assert member.school_id == world.one.school.id and member.person_id == nobody.id
    assert member.role_names == {"teacher"}
    assert world.one.school.id in viewer_for(nobody).teacher_at
    again = submit(
        client,
        school_url(world, "staff"),
        {"family_name": "Иной", "given_name": "Иван", "snils": snils, "roles": ["teacher"]},
    )
    assert again.status_code == 400
    assert "Сотрудник с этим СНИЛС уже есть в списке." in text_of(again)
    no_role = submit(
        client,
        school_url(world, "staff"),
        {"family_name": "Иной", "given_name": "Иван", "snils": make_snils(7)},
    )
    assert no_role.status_code == 400
    assert "Выберите хотя бы одну роль." in text_of(no_role)


def test_roles_change_and_the_last_administrator_stays(world, login):
    client = login(world.people["admin"])
    teacher2, admin = world.one.staff["teacher2"], world.one.staff["admin"]
    url = school_url(world, "staff")
    done = submit(
        client,
        url,
        {f"r{teacher2.id}-roles": ["teacher", "health_worker"]},
        action=f"{url}/{teacher2.id}/roles",
    )
    assert done.status_code == 302
    db.session.refresh(teacher2)
    assert teacher2.role_names == {"teacher", "health_worker"}
    refused = submit(
        client,
        url,
        {f"r{admin.id}-roles": ["teacher"]},
        action=f"{url}/{admin.id}/roles",
        follow=True,
    )
    assert "В школе должен остаться хотя бы один администратор." in text_of(refused)
    db.session.refresh(admin)
    assert admin.role_names == {"school_admin"}
    alone = submit(client, url, action=f"{url}/{admin.id}/deactivate", follow=True)
    assert "В школе должен остаться хотя бы один администратор." in text_of(alone)
    db.session.refresh(admin)
    assert admin.active


def test_a_deactivated_teacher_loses_access_and_comes_back(world, login):
    client = login(world.people["admin"])
    teacher2 = world.one.staff["teacher2"]
    url = school_url(world, "staff")
    assert submit(client, url, action=f"{url}/{teacher2.id}/deactivate").status_code == 302
    db.session.refresh(teacher2)
    assert not teacher2.active
    assert not viewer_for(world.people["teacher2"]).teaches
    assert "отключён" in text_of(client.get(url))
    assert submit(client, url, action=f"{url}/{teacher2.id}/reactivate").status_code == 302
    db.session.refresh(teacher2)
    assert teacher2.active


# --- who teaches what, subjects ---------------------------------------------------------


def test_admin_assigns_and_removes_a_teacher(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "assignments")
    cls = world.one.classes["9Б"]
    teacher2 = world.one.staff["teacher2"]
    math = world.subjects["math"]
    data = {
        "a-class_id": str(cls.id),
        "a-subject_id": str(math.id),
        "a-teacher_id": str(teacher2.id),
    }
    assert submit(client, url, data, action=url).status_code == 302
    assignment = db.session.execute(
        sa.select(TeachingAssignment).where(
            TeachingAssignment.class_id == cls.id,
            TeachingAssignment.subject_id == math.id,
            TeachingAssignment.teacher_id == teacher2.id,
        )
    ).scalar_one()
    twice = submit(client, url, data, action=url)
    assert twice.status_code == 400
    assert "Этот учитель уже ведёт этот предмет в классе." in text_of(twice)
    assert submit(client, url, action=f"{url}/{assignment.id}/remove").status_code == 302
    assert count(TeachingAssignment) == 8  # the world's eight, one added, one removed


def test_an_assignment_in_the_timetable_stays(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "assignments")
    used = (
        db.session.execute(
            sa.select(TeachingAssignment).where(
                TeachingAssignment.class_id == world.one.classes["6А"].id
            )
        )
        .scalars()
        .first()
    )
    response = submit(client, url, action=f"{url}/{used.id}/remove", follow=True)
    assert "В расписании есть эти уроки" in text_of(response)
    assert db.session.get(TeachingAssignment, used.id) is not None


def test_admin_adds_a_subject(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "assignments")
    response = submit(
        client, url, {"subj-name": "Физика"}, action=f"/school/{world.one.school.id}/subjects"
    )
    assert response.status_code == 302
    again = submit(
        client, url, {"subj-name": "физика"}, action=f"/school/{world.one.school.id}/subjects"
    )
    assert again.status_code == 400
    assert "В регионе уже есть такой предмет." in text_of(again)


# --- bells, years, periods, holidays ----------------------------------------------------


def test_admin_sets_bells_and_overlaps_are_refused(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "bells")
    added = submit(client, url, {"number": "7", "starts_at": "14:20", "ends_at": "15:05"})
    assert added.status_code == 302
    assert [b.number for b in world.one.school.bells] == [1, 2, 3, 4, 5, 6, 7]
    overlap = submit(client, url, {"number": "8", "starts_at": "15:00", "ends_at": "15:45"})
    assert overlap.status_code == 400
    assert "Урок 7 заканчивается позже" in text_of(overlap)
    backwards = submit(client, url, {"number": "8", "starts_at": "16:00", "ends_at": "15:45"})
    assert backwards.status_code == 400
    assert count(Bell) == 13  # six a school, and the seventh of school 1
    used = world.one.school.bells[0]
    refused = submit(client, url, action=f"{url}/{used.id}/remove", follow=True)
    assert "В расписании есть уроки под этим номером" in text_of(refused)


def test_admin_creates_a_year_with_periods_and_holidays(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "years")
    starts = world.one.year.ends_on + timedelta(days=93)  # the next 1 September
    ends = starts.replace(year=starts.year + 1, month=5, day=31)
    created = submit(
        client,
        url,
        {"starts_on": starts.isoformat(), "ends_on": ends.isoformat(), "period_kind": "semester"},
    )
    assert created.status_code == 302
    year = db.session.execute(
        sa.select(AcademicYear).where(AcademicYear.starts_on == starts)
    ).scalar_one()
    assert year.name == f"{starts.year}/{ends.year}" and year.period_kind == "semester"
    overlap = submit(
        client,
        url,
        {
            "starts_on": (starts + timedelta(days=30)).isoformat(),
            "ends_on": ends.isoformat(),
            "period_kind": "quarter",
        },
    )
    assert overlap.status_code == 400
    assert "пересекаются с учебным годом" in text_of(overlap)

    year_url = f"{url}/{year.id}"
    first = {
        "period-starts_on": starts.isoformat(),
        "period-ends_on": (starts + timedelta(days=120)).isoformat(),
    }
    assert submit(client, year_url, first, action=f"{year_url}/periods").status_code == 302
    outside = {
        "period-starts_on": (starts + timedelta(days=130)).isoformat(),
        "period-ends_on": (ends + timedelta(days=10)).isoformat(),
    }
    refused = submit(client, year_url, outside, action=f"{year_url}/periods")
    assert refused.status_code == 400
    assert "в пределах учебного года" in text_of(refused)
    holiday = {
        "holiday-name": "Зимние каникулы",
        "holiday-starts_on": (starts + timedelta(days=121)).isoformat(),
        "holiday-ends_on": (starts + timedelta(days=130)).isoformat(),
    }
    page = submit(client, year_url, holiday, action=f"{year_url}/holidays", follow=True)
    assert "Зимние каникулы" in text_of(page)
    db.session.expire_all()
    assert [p.number for p in year.periods] == [1]
    assert count(Holiday) == 1
    period = year.periods[0]
    assert (
        submit(
            client, year_url, action=f"/school/{world.one.school.id}/periods/{period.id}/remove"
        ).status_code
        == 302
    )
    assert count(Period) == 8  # the world's two years of four


# --- the weekly timetable ---------------------------------------------------------------


def test_admin_edits_the_timetable_and_double_booking_is_refused(world, login):
    client = login(world.people["admin"])
    six, nine = world.one.classes["6А"], world.one.classes["9Б"]
    math, russian = world.subjects["math"], world.subjects["russian"]
    teacher = world.one.staff["teacher"]
    url = school_url(world, f"classes/{six.id}/timetable")
    saved = submit(
        client,
        url,
        {"c1_3_subject": str(math.id), "c1_3_teacher": str(teacher.id), "c1_3_room": "21"},
    )
    assert saved.status_code == 302
    entry = db.session.execute(
        sa.select(TimetableEntry).where(
            TimetableEntry.class_id == six.id,
            TimetableEntry.weekday == 1,
            TimetableEntry.lesson_number == 3,
        )
    ).scalar_one()
    assert (entry.subject_id, entry.teacher_id, entry.room) == (math.id, teacher.id, "21")
    # The untouched slots kept their lessons.
    assert (
        len(
            db.session.execute(
                sa.select(TimetableEntry).where(TimetableEntry.class_id == six.id)
            ).all()
        )
        == 11
    )

    nine_url = school_url(world, f"classes/{nine.id}/timetable")
    before = count(TimetableEntry)
    booked = submit(
        client,
        nine_url,
        {
            "c1_3_subject": str(math.id),
            "c1_3_teacher": str(teacher.id),
            "c2_4_subject": str(russian.id),
            "c2_4_teacher": str(world.one.staff["teacher2"].id),
        },
    )
    assert booked.status_code == 400
    assert "У учителя в это время уже урок в 6А." in text_of(booked)
    assert count(TimetableEntry) == before  # not even the good cell was saved

    wrong = submit(
        client, nine_url, {"c2_4_subject": str(russian.id), "c2_4_teacher": str(teacher.id)}
    )
    assert wrong.status_code == 400
    assert "Этот учитель не ведёт этот предмет в классе." in text_of(wrong)
    half = submit(client, nine_url, {"c2_4_subject": str(russian.id)})
    assert half.status_code == 400
    assert "Выберите и предмет, и учителя." in text_of(half)
    assert count(TimetableEntry) == before


def test_emptying_a_cell_removes_the_lesson(world, login):
    client = login(world.people["admin"])
    six = world.one.classes["6А"]
    url = school_url(world, f"classes/{six.id}/timetable")
    response = submit(client, url, {"c5_2_subject": "", "c5_2_teacher": "", "c5_2_room": ""})
    assert response.status_code == 302
    assert (
        db.session.execute(
            sa.select(TimetableEntry).where(
                TimetableEntry.class_id == six.id,
                TimetableEntry.weekday == 5,
                TimetableEntry.lesson_number == 2,
            )
        ).first()
        is None
    )


# --- dated changes, notices, meetings ---------------------------------------------------


def test_admin_records_a_substitution_a_cancellation_and_a_room_change(world, login):
    client = login(world.people["admin"])
    six, nine = world.one.classes["6А"], world.one.classes["9Б"]
    teacher, teacher2 = world.one.staff["teacher"], world.one.staff["teacher2"]
    monday = lesson_day(world, 1)
    url = school_url(world, f"changes?on={monday.isoformat()}")
    base = {"on_date": monday.isoformat(), "lesson_number": "1"}
    sub = submit(
        client,
        url,
        {
            **base,
            "class_id": str(six.id),
            "kind": "substitution",
            "substitute_id": str(teacher2.id),
        },
        follow=True,
    )
    assert sub.status_code == 200
    assert "замена: Орлов П. И." in text_of(sub)
    change = db.session.execute(sa.select(TimetableChange)).scalar_one()
    assert (change.class_id, change.on_date, change.substitute_id) == (six.id, monday, teacher2.id)
    assert change.created_by_id == world.one.staff["admin"].id

    busy = submit(
        client,
        url,
        {
            **base,
            "class_id": str(nine.id),
            "kind": "substitution",
            "substitute_id": str(teacher2.id),
        },
    )
    assert busy.status_code == 400
    assert "У учителя в это время уже урок в 6А." in text_of(busy)
    own = submit(
        client,
        url,
        {
            **base,
            "class_id": str(nine.id),
            "kind": "substitution",
            "substitute_id": str(teacher.id),
        },
    )
    assert "Замещающий — сам учитель этого урока." in text_of(own)
    no_room = submit(client, url, {**base, "class_id": str(nine.id), "kind": "room_change"})
    assert "Укажите новый кабинет." in text_of(no_room)
    assert count(TimetableChange) == 1

    room = submit(
        client, url, {**base, "class_id": str(nine.id), "kind": "room_change", "room": "305"}
    )
    assert room.status_code == 302
    cancel = submit(
        client,
        url,
        {
            "on_date": monday.isoformat(),
            "lesson_number": "2",
            "class_id": str(six.id),
            "kind": "cancellation",
        },
    )
    assert cancel.status_code == 302
    assert count(TimetableChange) == 3
    nothing = submit(
        client,
        url,
        {
            "on_date": monday.isoformat(),
            "lesson_number": "5",
            "class_id": str(six.id),
            "kind": "cancellation",
        },
    )
    assert "В этот день у класса нет урока под этим номером." in text_of(nothing)
    # The substitute may now write that lesson's journal, and only that lesson's.
    substitute = viewer_for(world.people["teacher2"])
    math = world.subjects["math"].id
    assert can_write_journal(substitute, six, math, monday, 1)
    assert not can_write_journal(substitute, six, math, monday + timedelta(days=7), 1)

    removed = submit(
        client, url, action=f"/school/{world.one.school.id}/changes/{change.id}/remove"
    )
    assert removed.status_code == 302
    assert count(TimetableChange) == 2


def test_admin_publishes_notices(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "notices")
    today = world.today
    whole = submit(
        client,
        url,
        {"kind": "news", "title": "День открытых дверей", "starts_on": today.isoformat()},
        follow=True,
    )
    assert "День открытых дверей" in text_of(whole) and "вся школа" in text_of(whole)
    quarantine = submit(
        client,
        url,
        {
            "class_id": str(world.one.classes["6А"].id),
            "kind": "quarantine",
            "title": "Карантин",
            "body": "Класс на карантине по гриппу.",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=7)).isoformat(),
        },
    )
    assert quarantine.status_code == 302
    notice = db.session.execute(sa.select(Notice).where(Notice.kind == "quarantine")).scalar_one()
    assert notice.class_id == world.one.classes["6А"].id
    backwards = submit(
        client,
        url,
        {
            "kind": "event",
            "title": "Концерт",
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert backwards.status_code == 400
    assert "Конец не может быть раньше начала." in text_of(backwards)
    assert count(Notice) == 2
    assert submit(client, url, action=f"{url}/{notice.id}/remove").status_code == 302
    assert count(Notice) == 1


def test_admin_announces_a_parent_meeting(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "meetings")
    when = datetime.combine(world.today + timedelta(days=5), datetime.min.time()).replace(hour=18)
    response = submit(
        client,
        url,
        {
            "class_id": str(world.one.classes["9Б"].id),
            "held_at": when.strftime("%Y-%m-%dT%H:%M"),
            "place": "Кабинет 21",
            "agenda": "Подготовка к ОГЭ",
        },
        follow=True,
    )
    assert "Подготовка к ОГЭ" in text_of(response)
    meeting = db.session.execute(sa.select(ParentMeeting)).scalar_one()
    assert (meeting.held_at, meeting.place) == (when, "Кабинет 21")
    empty = submit(client, url, {"class_id": str(world.one.classes["9Б"].id)})
    assert empty.status_code == 400
    assert count(ParentMeeting) == 1


# --- mark policy and rating -------------------------------------------------------------


def policy_data(**changes) -> dict:
    data = {
        "average": "weighted",
        "threshold_5": "4.50",
        "threshold_4": "3.50",
        "threshold_3": "2.50",
        **{
            f"weight_{kind}": "2"
            for kind in (
                "control",
                "test",
                "independent",
                "dictation",
                "lab",
                "project",
                "oral",
                "classwork",
                "homework",
            )
        },
    }
    data.update(changes)
    return data


def test_admin_makes_a_new_policy_version_and_the_old_stays(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "policy")
    first = db.session.execute(
        sa.select(MarkPolicy).where(MarkPolicy.school_id == world.one.school.id)
    ).scalar_one()
    old = (dict(first.weights), dict(first.thresholds))
    response = submit(client, url, policy_data(weight_control="8"), follow=True)
    assert response.status_code == 200
    versions = (
        db.session.execute(
            sa.select(MarkPolicy)
            .where(MarkPolicy.school_id == world.one.school.id)
            .order_by(MarkPolicy.version)
        )
        .scalars()
        .all()
    )
    assert [p.version for p in versions] == [1, 2]
    db.session.refresh(first)
    assert (first.weights, first.thresholds) == old
    new = versions[1]
    assert new.weights["control"] == 8 and new.weights["homework"] == 2
    assert new.thresholds == {"5": "4.50", "4": "3.50", "3": "2.50"}
    assert new.created_by_id == world.one.staff["admin"].id


def test_a_bad_policy_is_refused(world, login):
    client = login(world.people["admin"])
    url = school_url(world, "policy")
    order = submit(client, url, policy_data(threshold_4="4.70"))
    assert order.status_code == 400
    assert "Пороги должны убывать от «5» к «3»." in text_of(order)
    heavy = submit(client, url, policy_data(weight_lab="11"))
    assert heavy.status_code == 400
    assert "Целое число от 1 до 10." in text_of(heavy)
    high = submit(client, url, policy_data(threshold_5="5.50"))
    assert high.status_code == 400
    assert count(MarkPolicy) == 2  # version 1 of each school


def test_admin_switches_the_rating(world, login):
    client = login(world.people["admin"])
    assert world.one.school.rating_enabled
    response = submit(client, school_url(world), {}, action=school_url(world, "rating"))
    assert response.status_code == 302
    db.session.refresh(world.one.school)
    assert not world.one.school.rating_enabled
    submit(client, school_url(world), {"enabled": "y"}, action=school_url(world, "rating"))
    db.session.refresh(world.one.school)
    assert world.one.school.rating_enabled


# --- the region -------------------------------------------------------------------------


def test_department_adds_a_municipality_and_a_school(world, login):
    client = login(world.people["department"])
    page = client.get("/school/region")
    assert "Средняя общеобразовательная школа № 2" in text_of(page)
    added = submit(
        client,
        "/school/region",
        {"m-name": "Северный район"},
        action="/school/region/municipalities",
    )
    assert added.status_code == 302
    municipality = db.session.execute(
        sa.select(Municipality).where(Municipality.name == "Северный район")
    ).scalar_one()
    school = submit(
        client,
        "/school/region",
        {
            "s-municipality_id": str(municipality.id),
            "s-name": "Лицей № 7",
            "s-short_name": "Лицей № 7",
        },
        action="/school/region/schools",
        follow=True,
    )
    assert "Лицей № 7" in text_of(school)
    created = db.session.execute(sa.select(School).where(School.name == "Лицей № 7")).scalar_one()
    policy = db.session.execute(
        sa.select(MarkPolicy).where(MarkPolicy.school_id == created.id)
    ).scalar_one()
    assert policy.version == 1
    twice = submit(
        client,
        "/school/region",
        {"m-name": "северный район"},
        action="/school/region/municipalities",
    )
    assert twice.status_code == 400
    assert "В регионе уже есть муниципалитет с таким названием." in text_of(twice)
    # The department runs the region, not a school.
    assert client.get(f"/school/{created.id}/").status_code == 403
