"""Marks and attendance by school year (diary_service/models/partitions.py): every write
sets ``school_year``; on PostgreSQL the row lands in its year's partition, and
``flask years open`` makes a year's partitions, moving rows that waited in the default."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.journal import services
from diary_service.journal.entries import MarkInput
from diary_service.journal.grid import lesson_sheet
from diary_service.journal.queries import attendance_between, current_marks
from diary_service.models.journal import Attendance, Mark
from diary_service.models.partitions import is_partition, school_year_of
from tests.diary_service import factories
from tests.diary_service.test_journal import weekday_on_or_before
from tests.diary_service.test_journal_services import entry

# A past year no migration made partitions for (the tests' databases hold no lessons
# before the migration runs: it opens the current year and the next).
STRAY_YEAR = 2019


def postgres_only() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's (SQLite has the column only)")


def landed(model, row_id: int) -> str:
    """The table a row is stored in: its partition on PostgreSQL."""
    table = model.__tablename__
    return db.session.execute(
        sa.text(f"SELECT tableoid::regclass::text FROM {table} WHERE id = :id"),  # noqa: S608
        {"id": row_id},
    ).scalar_one()


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 9, 1), 2026),
        (date(2026, 12, 31), 2026),
        (date(2027, 1, 1), 2026),
        (date(2027, 5, 31), 2026),
        (date(2027, 7, 31), 2026),  # summer still closes the year that ends
        (date(2027, 8, 1), 2027),  # August prepares the next one
    ],
)
def test_the_school_year_of_a_date(day, year):
    assert school_year_of(day) == year


@pytest.mark.parametrize(
    ("name", "partition"),
    [
        ("mark_y2026", True),
        ("mark_default", True),
        ("attendance_y2031", True),
        ("mark", False),
        ("mark_policy", False),
        ("final_mark", False),
        ("mark_yesterday", False),
    ],
)
def test_partitions_are_told_from_models(name, partition):
    assert is_partition(name) is partition


def test_the_journal_writes_the_school_year_and_its_partition(world):
    """A mark, its correction and an absence saved from the teacher's journal carry
    the lesson's school year; on PostgreSQL they are in that year's partition."""
    day = weekday_on_or_before(world.today)
    lesson = services.lesson_for_slot(world.one.classes["6А"], world.subjects["math"].id, day, 1)
    teacher, petr = world.one.staff["teacher"], world.one.students["petr"]
    masha = world.one.students["masha"]
    first = services.record_lesson_entries(
        teacher, lesson.id, [entry(petr, MarkInput("n", "4", "oral"))]
    ).marks[0]
    services.record_lesson_entries(
        teacher,
        lesson.id,
        [
            entry(petr, MarkInput("n", "5", "oral", mark_id=first.id), reason="Пересмотрел"),
            entry(masha, attendance="н", key="a"),
        ],
    )
    year = school_year_of(day)
    marks = db.session.execute(sa.select(Mark).order_by(Mark.id)).scalars().all()
    absences = db.session.execute(sa.select(Attendance)).scalars().all()
    assert [(m.value, m.school_year, m.previous_id) for m in marks] == [
        ("4", year, None),
        ("5", year, first.id),
    ]
    assert [(a.code, a.school_year) for a in absences] == [("н", year)]
    if db.engine.dialect.name == "postgresql":
        assert {landed(Mark, m.id) for m in marks} == {f"mark_y{year}"}
        assert landed(Attendance, absences[0].id) == f"attendance_y{year}"


def test_a_row_written_without_its_year_gets_its_lessons(world):
    """Factories and any future path that forgets the key: the lesson's date gives it."""
    lesson = factories.lesson(world, "6А", date(2027, 2, 1), 1)
    mark = factories.mark(world, "petr", lesson, "5", "oral", 2)
    db.session.commit()
    assert mark.school_year == 2026


@pytest.fixture
def stray_year(world) -> Iterator[int]:
    """Cleans up the partitions the test makes for ``STRAY_YEAR``."""
    postgres_only()
    yield STRAY_YEAR
    db.session.rollback()
    with db.engine.begin() as conn:
        for table in ("mark", "attendance"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE school_year = {STRAY_YEAR}"))  # noqa: S608
            if conn.execute(sa.text(f"SELECT to_regclass('{table}_y{STRAY_YEAR}')")).scalar():
                conn.execute(sa.text(f"ALTER TABLE {table} DETACH PARTITION {table}_y{STRAY_YEAR}"))
                conn.execute(sa.text(f"DROP TABLE {table}_y{STRAY_YEAR}"))


def test_opening_a_year_moves_its_rows_out_of_the_default_partition(diary_app, world, stray_year):
    """A year nobody opened: its rows wait in the default partition (no insert fails);
    ``years open`` makes the partitions and moves them, corrections and all; again, it
    changes nothing."""
    lesson = factories.lesson(world, "6А", date(stray_year, 10, 7), 1)
    wrong = factories.mark(world, "petr", lesson, "3", "oral", 2, is_current=False)
    right = factories.mark(world, "petr", lesson, "4", "oral", 2, previous_id=wrong.id)
    absence = Attendance(
        lesson_id=lesson.id,
        student_id=world.one.students["masha"].id,
        code="б",
        author_id=lesson.teacher_id,
    )
    db.session.add(absence)
    db.session.commit()
    assert {landed(Mark, wrong.id), landed(Mark, right.id)} == {"mark_default"}
    assert landed(Attendance, absence.id) == "attendance_default"
    db.session.commit()  # the command's DDL waits for every reader of the table

    runner = diary_app.test_cli_runner()
    result = runner.invoke(args=["years", "open", str(stray_year)])
    assert result.exit_code == 0, result.output
    assert "перенесено строк из секции по умолчанию: 2" in result.output
    db.session.commit()
    assert {landed(Mark, wrong.id), landed(Mark, right.id)} == {f"mark_y{stray_year}"}
    assert landed(Attendance, absence.id) == f"attendance_y{stray_year}"
    moved = db.session.get(Mark, right.id)
    assert (moved.value, moved.previous_id) == ("4", wrong.id)
    empty = "SELECT count(*) FROM {}_default"
    assert db.session.execute(sa.text(empty.format("mark"))).scalar_one() == 0

    again = runner.invoke(args=["years", "open", str(stray_year)])
    assert again.exit_code == 0, again.output
    assert str(stray_year + 1) in again.output
    db.session.commit()
    listed = runner.invoke(args=["years", "list"]).output
    assert f"mark_y{stray_year}" in listed and f"attendance_y{stray_year}" in listed


def test_a_correction_must_name_a_version_of_its_own_year(world):
    """The key from a correction to the version it replaces includes the year."""
    postgres_only()
    lesson = factories.lesson(world, "6А", weekday_on_or_before(world.today), 1)
    first = factories.mark(world, "petr", lesson, "3", "oral", 2)
    db.session.commit()
    stranger = Mark(
        lesson_id=lesson.id,
        student_id=first.student_id,
        value="4",
        kind="oral",
        weight=2,
        previous_id=first.id,
        school_year=first.school_year + 1,
        author_id=first.author_id,
    )
    db.session.add(stranger)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_opening_a_year_on_sqlite_says_there_is_nothing_to_do(diary_app, diary):
    if db.engine.dialect.name == "postgresql":
        pytest.skip("SQLite's answer")
    result = diary_app.test_cli_runner().invoke(args=["years", "open", "2027"])
    assert result.exit_code == 0
    assert result.output.strip()


def plans_of(run) -> list[str]:
    """The plans PostgreSQL chose for the statements on ``mark`` and ``attendance`` that
    ``run()`` executes (each EXPLAINed with its own parameters)."""
    seen: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if re.search(r"\bFROM (mark|attendance)\b", statement):
            seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    cursor = db.session.connection().connection.driver_connection.cursor()
    plans = []
    for statement, parameters in seen:
        cursor.execute("EXPLAIN " + statement, parameters)
        plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_the_pages_queries_read_only_their_years_partitions(world):
    """The teacher's sheet of a lesson and a student's marks and absences for a span:
    their statements name the school year, so PostgreSQL prunes the other years'
    partitions (and the default) when planning."""
    postgres_only()
    day = weekday_on_or_before(world.today)
    lesson = services.lesson_for_slot(world.one.classes["6А"], world.subjects["math"].id, day, 1)
    petr = world.one.students["petr"]
    year = school_year_of(day)
    db.session.commit()

    def pages() -> None:
        lesson_sheet(lesson)
        current_marks([petr.id], day, day)
        attendance_between(petr.id, day, day, sa.true())

    plans = plans_of(pages)
    assert len(plans) >= 4
    for plan in plans:
        assert f"_y{year}" in plan, plan
        assert "_default" not in plan and f"_y{year + 1}" not in plan, plan
