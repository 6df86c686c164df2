"""The family's and the teacher's pages read a bounded number of statements (issue 14):
at a region's scale each round trip costs, and a statement per day, lesson, mark or
student (an N+1) is what made these pages slow. Each page is asked on the seeded small
region by someone it belongs to, and its statements are counted; the limits are the
counts after issue 14's work (docs/performance.md, "What the family and teacher pages
spend"), so one statement more per day or per row fails here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from diary_service.demo.calendar import Calendar
from diary_service.demo.seed import seed_command
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Guardian
from diary_service.models.journal import Lesson, Mark
from diary_service.models.school import (
    Enrolment,
    SchoolClass,
    StaffMember,
    TeachingAssignment,
)
from tests.conftest import wipe
from tests.diary_service.factories import signed_in
from tests.helpers import region_today

TODAY = Calendar.of(region_today()).starts + timedelta(days=83)

# The most statements each page may issue (session, viewer and access log included).
LIMITS = {"week": 29, "marks": 22, "grid": 25, "lesson": 27}


@pytest.fixture(scope="module")
def region(diary_app) -> Iterator:
    """The small demo region, seeded once for the module."""
    with diary_app.app_context():
        result = diary_app.test_cli_runner().invoke(
            seed_command, ["--scale", "small", "--today", TODAY.isoformat()]
        )
        assert result.exit_code == 0, result.output
        yield diary_app
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            # Statistics of the freshly seeded tables: without them PostgreSQL checks
            # mark's self-reference by a scan per deleted row (minutes for 70 000 marks).
            with db.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        wipe(db)


def person(sub: str) -> DiaryPerson:
    someone = DiaryPerson(sub=sub, family_name="Счётова", given_name="Анна")
    db.session.add(someone)
    db.session.flush()
    return someone


@pytest.fixture(scope="module")
def people(region) -> dict:
    """A parent of a student with marks this term, and the teacher of one of the
    student's subjects (with a lesson of it held before "today")."""
    with region.app_context():
        student_id, class_id, subject_id = db.session.execute(
            sa.select(Mark.student_id, Lesson.class_id, Lesson.subject_id)
            .join(Lesson, Lesson.id == Mark.lesson_id)
            .join(Enrolment, Enrolment.student_id == Mark.student_id)
            .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
            .where(SchoolClass.grade >= 5, Lesson.on_date <= TODAY, Enrolment.ends_on.is_(None))
            .order_by(Lesson.on_date.desc(), Mark.id)
            .limit(1)
        ).one()
        lesson_id = db.session.execute(
            sa.select(Lesson.id)
            .where(
                Lesson.class_id == class_id,
                Lesson.subject_id == subject_id,
                Lesson.on_date <= TODAY,
            )
            .order_by(Lesson.on_date.desc())
            .limit(1)
        ).scalar_one()
        teacher_id = db.session.execute(
            sa.select(TeachingAssignment.teacher_id).where(
                TeachingAssignment.class_id == class_id,
                TeachingAssignment.subject_id == subject_id,
            )
        ).scalar_one()
        parent = person("statements-parent")
        db.session.add(
            Guardian(
                student_id=student_id,
                person_id=parent.id,
                family_name="Счётова",
                given_name="Анна",
                reason="test",
            )
        )
        teacher = db.session.get(StaffMember, teacher_id)
        if teacher.person_id is None:
            teacher.person_id = person("statements-teacher").id
        db.session.commit()
        return {
            "parent": parent.id,
            "teacher": teacher.person_id,
            "week": f"/students/{student_id}/week?date={TODAY.isoformat()}",
            "marks": f"/students/{student_id}/marks",
            "grid": f"/journal/{class_id}/{subject_id}",
            "lesson": f"/journal/lessons/{lesson_id}",
        }


def statements_of(app, person_id: int, path: str) -> tuple[int, str]:
    """The statements one GET issues (after a first, unmeasured one) and its page."""
    client = signed_in(app, db.session.get(DiaryPerson, person_id))
    assert client.get(path).status_code == 200
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen), response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("page", "who", "shows"),
    [
        ("week", "parent", 'class="diary-lessons"'),
        ("marks", "parent", 'class="mark-chips"'),
        ("grid", "teacher", 'class="journal-grid"'),
        ("lesson", "teacher", 'class="bulk-marks"'),
    ],
)
def test_a_page_reads_a_bounded_number_of_statements(region, people, page, who, shows):
    with region.app_context():
        count, html = statements_of(region, people[who], people[page])
        db.session.remove()
    assert shows in html  # the page with its lessons, marks or form, not an empty one
    assert count <= LIMITS[page], f"{page}: {count} statements (at most {LIMITS[page]})"
