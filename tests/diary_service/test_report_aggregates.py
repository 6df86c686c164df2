"""The reports' maintained figures: after every kind of change through the journal's
own write paths they equal a recomputation from scratch, the pages read them and show
what the definition computed from the marks shows, and a row changed behind the
session's back is found by ``reports check``."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.journal import services as journal
from diary_service.journal.services import FinalMarkInput, MarkInput, StudentEntry
from diary_service.models.journal import Mark, MarkPolicy
from diary_service.models.reports import ClassSubjectTally, ClassTally, SchoolDayTally
from diary_service.models.school import StaffMember
from diary_service.reports import aggregates, drift, maintained, services
from diary_service.school import services as school
from diary_service.school.timetable import period_on
from tests.diary_service.test_journal import weekday_before, weekday_on_or_before
from tests.helpers import region_today, text_of

FIELDS = (
    "students",
    "assessed",
    "successful",
    "quality",
    "cents_sum",
    "cents_count",
    "student_lessons",
    "missed",
    "lessons",
    "with_topic",
    "with_homework",
    "without_marks",
)


def figures(f) -> dict:
    return {name: getattr(f, name) for name in FIELDS}


def entry(student, *marks, attendance=None, reason="") -> StudentEntry:
    return StudentEntry(
        key="e", student_id=student.id, marks=tuple(marks), attendance=attendance, reason=reason
    )


def assert_in_step(world) -> None:
    """No drift in any school, and the pages' numbers equal the definition's."""
    for one in (world.one, world.two):
        assert drift.check_school(one.school.id) == []
    today = region_today()
    period = period_on(world.one.year, today) or world.one.periods[0]
    for one in (world.one, world.two):
        kept = maintained.school_report(one.school, period_of(one, period.number), today)
        computed = services.school_report(one.school, period_of(one, period.number), today)
        assert [(c.id, figures(f)) for c, f in kept.classes] == [
            (c.id, figures(f)) for c, f in computed.classes
        ]
        assert [(s.id, figures(f)) for s, f in kept.subjects] == [
            (s.id, figures(f)) for s, f in computed.subjects
        ]
        assert figures(kept.total) == figures(computed.total)
    kept_region = maintained.region_report(period.number, today)
    computed_region = services.region_report(period.number, today)
    assert figures(kept_region.total) == figures(computed_region.total)
    assert [
        (line.school.id, line.period and line.period.id, figures(line.figures))
        for block in kept_region.municipalities
        for line in block.schools
    ] == [
        (line.school.id, line.period and line.period.id, figures(line.figures))
        for block in computed_region.municipalities
        for line in block.schools
    ]


def period_of(one, number):
    return next(p for p in one.periods if p.number == number)


@pytest.fixture
def day(world) -> date:
    return weekday_on_or_before(world.today)


def test_marks_absences_corrections_and_deletions_keep_the_figures(world, day):
    one = world.one
    teacher = one.staff["teacher"]
    petr, masha = one.students["petr"], one.students["masha"]
    math = world.subjects["math"]
    lesson = journal.lesson_for_slot(one.classes["6А"], math.id, day, 1)
    earlier = journal.lesson_for_slot(one.classes["6А"], math.id, weekday_before(day), 1)
    assert_in_step(world)

    recorded = journal.record_lesson_entries(
        teacher,
        lesson.id,
        [
            entry(petr, MarkInput("a", "5", "control"), MarkInput("b", "pass", "oral")),
            entry(masha, MarkInput("c", "2", "test"), attendance="оп"),
        ],
    )
    journal.record_lesson_entries(
        teacher, earlier.id, [entry(petr, MarkInput("d", "3", "oral"), attendance="н")]
    )
    row = db.session.execute(
        sa.select(ClassSubjectTally).where(
            ClassSubjectTally.class_id == one.classes["6А"].id,
            ClassSubjectTally.subject_id == math.id,
        )
    ).scalar_one()
    # Three five-point marks and a pass: control 5×5, test 2×3, oral 3×2.
    assert (row.marks, row.numeric_marks) == (4, 3)
    assert (row.weighted_sum, row.weight_sum) == (25 + 6 + 6, 5 + 3 + 2)
    assert (row.absent_n, row.late) == (1, 1)
    assert_in_step(world)

    # A correction and a deletion, each a new version.
    five = next(mark for mark in recorded.marks if mark.value == "5")
    journal.record_lesson_entries(
        teacher,
        lesson.id,
        [entry(petr, MarkInput("a", "4", "control", mark_id=five.id), reason="Пересчитал")],
    )
    two = next(mark for mark in recorded.marks if mark.value == "2")
    journal.record_lesson_entries(
        teacher,
        lesson.id,
        [entry(masha, MarkInput("c", "", "test", mark_id=two.id), attendance="", reason="Ошибка")],
    )
    db.session.refresh(row)
    assert (row.marks, row.numeric_marks, row.weighted_sum) == (3, 2, 20 + 6)
    assert row.late == 0
    assert_in_step(world)


def test_topics_homework_final_marks_and_policy_keep_the_figures(world, day):
    one = world.one
    teacher = one.staff["teacher"]
    petr = one.students["petr"]
    math = world.subjects["math"]
    lesson = journal.lesson_for_slot(one.classes["6А"], math.id, day, 1)
    journal.record_lesson_entries(teacher, lesson.id, [entry(petr, MarkInput("a", "3", "oral"))])
    journal.save_lesson_plan(teacher, lesson.id, "Дроби", "№ 5", None)
    stored = db.session.get(SchoolDayTally, (one.school.id, day))
    assert (stored.with_topic, stored.with_homework) == (1, 1)
    period = period_on(one.year, world.today)
    journal.set_final_marks(
        teacher,
        one.classes["6А"].id,
        math.id,
        period.id,
        [FinalMarkInput(key="f", student_id=petr.id, kind="period", value="4")],
    )
    assert_in_step(world)
    # A stricter policy changes what the averages suggest.
    db.session.add(
        MarkPolicy(
            school_id=one.school.id,
            version=9,
            weights={"oral": 2},
            thresholds={"5": "4.80", "4": "3.90", "3": "3.10"},
        )
    )
    db.session.commit()
    assert_in_step(world)


def test_a_transfer_moves_the_student_between_the_classes_figures(world, day):
    one = world.one
    petr = one.students["petr"]
    math = world.subjects["math"]
    lesson = journal.lesson_for_slot(one.classes["6А"], math.id, weekday_before(day), 1)
    journal.record_lesson_entries(
        one.staff["teacher"], lesson.id, [entry(petr, MarkInput("a", "5", "control"))]
    )
    before = db.session.get(ClassTally, (one.classes["6А"].id, period_on(one.year, day).id))
    assert before.students == 2
    school.transfer_student(petr.id, one.school.id, "9Б", day)
    assert_in_step(world)
    after = db.session.get(ClassTally, (one.classes["6А"].id, period_on(one.year, day).id))
    assert after.students == 1


def test_drift_is_found_reported_and_repaired(world, day, diary_app):
    one = world.one
    lesson = journal.lesson_for_slot(one.classes["6А"], world.subjects["math"].id, day, 1)
    journal.record_lesson_entries(
        one.staff["teacher"],
        lesson.id,
        [entry(one.students["petr"], MarkInput("a", "5", "control"), attendance="н")],
    )
    runner = diary_app.test_cli_runner()
    assert runner.invoke(args=["reports", "check"]).exit_code == 0
    # Someone writes around the session.
    db.session.execute(
        sa.update(ClassSubjectTally)
        .where(ClassSubjectTally.class_id == one.classes["6А"].id)
        .values(weighted_sum=ClassSubjectTally.weighted_sum + 7)
    )
    db.session.execute(sa.delete(SchoolDayTally).where(SchoolDayTally.on_date == day))
    db.session.commit()
    found = drift.check_school(one.school.id)
    assert {item.table for item in found} == {"report_class_subject", "report_school_day"}
    result = runner.invoke(args=["reports", "check"])
    assert result.exit_code == 1
    assert "weighted_sum stored" in result.output and "missing" in result.output
    assert "drift: 2 rows differ" in result.output
    result = runner.invoke(args=["reports", "recompute", "--school", str(one.school.id)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["reports", "check"]).exit_code == 0
    # The backfill computes all schools' classes together: the same rows.
    db.session.execute(sa.delete(ClassTally))
    db.session.commit()
    assert runner.invoke(args=["reports", "check"]).exit_code == 1
    assert runner.invoke(args=["reports", "recompute"]).exit_code == 0
    assert runner.invoke(args=["reports", "check"]).exit_code == 0
    assert runner.invoke(args=["reports", "check", "--school", "999999"]).exit_code != 0


def test_the_dashboard_and_school_report_pages_read_the_kept_figures(world, day, login):
    one = world.one
    lesson = journal.lesson_for_slot(one.classes["6А"], world.subjects["math"].id, day, 1)
    journal.record_lesson_entries(
        one.staff["teacher"], lesson.id, [entry(one.students["petr"], MarkInput("a", "4", "oral"))]
    )
    # Tampered figures show on the pages: they are read, not recomputed.
    db.session.execute(
        sa.update(ClassTally)
        .where(ClassTally.class_id == one.classes["6А"].id)
        .values(cents_sum=333, cents_count=1)
    )
    db.session.commit()
    page = login(world.people["department"]).get(
        f"/reports/region?period_number={period_on(one.year, day).number}"
    )
    assert page.status_code == 200
    assert "Средняя общеобразовательная школа № 1 3 3,33" in text_of(page)


def test_two_teachers_saving_one_class_at_once_take_turns(world, day, diary_app):
    """PostgreSQL: a second save of the same class waits for the first one's commit, so
    the figures it writes count the first one's mark as well (without the advisory lock
    it would compute without it, or collide with its rows)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers take turns on PostgreSQL; SQLite serialises them")
    one = world.one
    teacher = one.staff["teacher"]
    petr, masha = one.students["petr"], one.students["masha"]
    math = world.subjects["math"]
    lesson = journal.lesson_for_slot(one.classes["6А"], math.id, day, 1)
    earlier = journal.lesson_for_slot(one.classes["6А"], math.id, weekday_before(day), 1)
    db.session.commit()
    teacher_id, earlier_id, masha_id = teacher.id, earlier.id, masha.id

    # The first teacher's save, stopped between computing its figures and committing.
    db.session.add(
        Mark(
            lesson_id=lesson.id,
            student_id=petr.id,
            value="5",
            kind="control",
            weight=5,
            author_id=teacher.id,
        )
    )
    aggregates.flush_pending(db.session)

    outcome: list[object] = []

    def second_teacher() -> None:
        with diary_app.app_context():
            try:
                author = db.session.get(StaffMember, teacher_id)
                journal.record_lesson_entries(
                    author,
                    earlier_id,
                    [
                        StudentEntry(
                            key="e",
                            student_id=masha_id,
                            marks=(MarkInput("a", "3", "oral"),),
                            attendance=None,
                            reason="",
                        )
                    ],
                )
                outcome.append("saved")
            except Exception as exc:  # reported below, in the test's thread
                outcome.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=second_teacher)
    thread.start()
    thread.join(timeout=1.5)
    waited = thread.is_alive()
    db.session.commit()
    thread.join(timeout=30)
    assert waited, "the second save did not wait for the first one's commit"
    assert outcome == ["saved"]
    row = db.session.execute(
        sa.select(ClassSubjectTally).where(
            ClassSubjectTally.class_id == one.classes["6А"].id,
            ClassSubjectTally.subject_id == math.id,
        )
    ).scalar_one()
    assert (row.marks, row.weighted_sum, row.weight_sum) == (2, 5 * 5 + 3 * 2, 5 + 2)
    assert_in_step(world)
