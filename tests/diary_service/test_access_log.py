"""The parents' access log ("who looked at my child's data"): what is recorded, what
is not, and who may read it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from diary_service.access import viewer_for
from diary_service.access.log import record_access
from diary_service.extensions import db
from diary_service.models.family import Guardian, StudentAccess
from shared.sessions import utcnow
from tests.helpers import text_of


def entries(student_id: int | None = None) -> list[StudentAccess]:
    query = sa.select(StudentAccess).order_by(StudentAccess.id)
    if student_id is not None:
        query = query.where(StudentAccess.student_id == student_id)
    return list(db.session.execute(query).scalars())


def grid_url(world) -> str:
    cls = world.one.classes["6А"]
    return f"/journal/{cls.id}/{world.subjects['math'].id}"


def test_teacher_grid_is_logged_for_every_student_and_shown_to_the_parent(world, login):
    petr, masha = world.one.students["petr"], world.one.students["masha"]
    teacher = world.people["teacher"]
    assert login(teacher).get(grid_url(world)).status_code == 200

    logged = entries()
    assert {row.student_id for row in logged} == {petr.id, masha.id}
    assert {(row.viewer_id, row.what, row.role) for row in logged} == {
        (teacher.id, "journal", "class_teacher")
    }

    page = login(world.people["parent"]).get(f"/students/{petr.id}/access-log")
    assert page.status_code == 200
    text = text_of(page)
    assert "Смирнова Ольга Викторовна" in text
    assert "классный руководитель" in text
    assert "классный журнал" in text
    assert "Ваши собственные просмотры" in text


def test_parents_own_views_are_not_logged(world, login):
    petr = world.one.students["petr"]
    client = login(world.people["parent"])
    for page in ("week", "marks", "attendance", "news", "week/print"):
        assert client.get(f"/students/{petr.id}/{page}").status_code == 200
    alisa = world.one.students["alisa"]
    assert login(world.people["alisa"]).get(f"/students/{alisa.id}/marks").status_code == 200
    assert entries() == []
    assert "Пока никто другой не смотрел дневник" in text_of(
        client.get(f"/students/{petr.id}/access-log")
    )


def test_staff_views_of_family_pages_and_histories_are_logged(world, login):
    petr = world.one.students["petr"]
    nurse, admin = world.people["nurse"], world.people["admin"]
    assert login(nurse).get(f"/students/{petr.id}/attendance").status_code == 200
    school = world.one.school
    assert login(admin).get(f"/school/{school.id}/students/{petr.id}").status_code == 200
    got = {(row.viewer_id, row.role, row.what) for row in entries(petr.id)}
    assert got == {(nurse.id, "health_worker", "attendance"), (admin.id, "school_admin", "school")}


def test_trusted_person_is_logged(world, login):
    petr = world.one.students["petr"]
    nobody = world.people["nobody"]
    db.session.add(
        Guardian(
            student=petr,
            person_id=nobody.id,
            kind="trusted",
            source="trusted",
            sections=["schedule", "homework"],
            opens_at=utcnow() - timedelta(hours=1),
        )
    )
    db.session.commit()
    assert login(nobody).get(f"/students/{petr.id}/week").status_code == 200
    assert [(row.role, row.what) for row in entries(petr.id)] == [("trusted", "week")]
    # A trusted person does not read the parents' log.
    assert login(nobody).get(f"/students/{petr.id}/access-log").status_code == 403


def test_guardian_sees_only_their_own_childs_log(world, login):
    masha, petr = world.one.students["masha"], world.one.students["petr"]
    client = login(world.people["parent2"])
    assert client.get(f"/students/{masha.id}/access-log").status_code == 200
    assert client.get(f"/students/{petr.id}/access-log").status_code == 403
    assert client.get("/students/999999/access-log").status_code == 404
    # The tab is on the parent's pages.
    assert f"/students/{masha.id}/access-log" in client.get(f"/students/{masha.id}/week").text


def test_staff_and_the_student_get_403_on_the_log(world, login):
    petr, alisa = world.one.students["petr"], world.one.students["alisa"]
    for name in ("teacher", "admin", "nurse", "department", "nobody"):
        assert login(world.people[name]).get(f"/students/{petr.id}/access-log").status_code == 403
    assert login(world.people["alisa"]).get(f"/students/{alisa.id}/access-log").status_code == 403
    assert login(None).get(f"/students/{petr.id}/access-log").status_code in (302, 401)


def test_duplicate_views_within_ten_minutes_are_recorded_once(world, login):
    client = login(world.people["teacher"])
    for _ in range(3):
        assert client.get(grid_url(world)).status_code == 200
    assert len(entries()) == 2  # Пётр and Маша, once each

    # Older than the window: the next view is a new entry.
    for row in entries():
        row.at -= timedelta(minutes=11)
    db.session.commit()
    assert client.get(grid_url(world)).status_code == 200
    assert len(entries()) == 4


def test_department_region_report_logs_nothing(world, login):
    client = login(world.people["department"])
    assert client.get("/reports/region").status_code == 200
    assert client.get(f"/reports/schools/{world.one.school.id}").status_code == 200
    assert entries() == []


def test_class_report_logs_each_student(world, login):
    cls = world.one.classes["6А"]
    assert login(world.people["teacher2"]).get(f"/reports/classes/{cls.id}").status_code == 200
    logged = entries()
    assert {row.student_id for row in logged} == {
        world.one.students["petr"].id,
        world.one.students["masha"].id,
    }
    assert {row.role for row in logged} == {"teacher"}


def test_log_pages_newest_first(world, login):
    petr = world.one.students["petr"]
    viewer = viewer_for(world.people["admin"])
    for n in range(55):
        record_access(viewer, [petr.id], f"w{n}")
    client = login(world.people["parent"])
    first = text_of(client.get(f"/students/{petr.id}/access-log"))
    assert "w54" in first and "w4" not in first.split("w54")[1].split()  # newest first
    assert first.count("Соколова Нина Андреевна") == 50
    second = text_of(client.get(f"/students/{petr.id}/access-log?page=2"))
    assert second.count("Соколова Нина Андреевна") == 5


def test_a_failed_write_does_not_break_the_page(world, login, monkeypatch):
    def broken(*_args, **_kwargs):
        raise sa.exc.OperationalError("insert", {}, Exception("disk full"))

    monkeypatch.setattr("diary_service.access.log._insert", broken)
    petr = world.one.students["petr"]
    assert login(world.people["teacher"]).get(f"/students/{petr.id}/marks").status_code == 200
    assert entries() == []
