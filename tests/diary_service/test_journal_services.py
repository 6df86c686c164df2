"""The journal's services called directly: typed marks, lessons from the timetable,
several marks per lesson, refusals that save nothing, and period/year marks."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.journal import services
from diary_service.journal.entries import EntryErrors, MarkInput, StudentEntry
from diary_service.journal.finals import FinalMarkInput
from diary_service.journal.homework import Upload
from diary_service.models.journal import Attendance, FinalMark, Lesson, Mark, MarkPolicy
from diary_service.models.school import Enrolment, TimetableChange
from diary_service.school.timetable import period_on
from shared.errors import Forbidden, ValidationError
from tests.diary_service.test_journal import weekday_after, weekday_before, weekday_on_or_before


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("5", "5"),
        (" 1 ", "1"),
        ("зач", "pass"),
        ("Зачёт", "pass"),
        ("pass", "pass"),
        ("незач", "fail"),
        ("не зачтено", "fail"),
        ("FAIL", "fail"),
        ("", ""),
        (None, ""),
    ],
)
def test_typed_marks(typed, stored):
    assert services.parse_mark_value(typed) == stored


@pytest.mark.parametrize("typed", ["0", "6", "7", "4+", "5-", "3/5", "отл", "10"])
def test_not_marks(diary, typed):
    with pytest.raises(ValidationError):
        services.parse_mark_value(typed)


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\Ольга\\ДЗ 5.docx", "ДЗ 5.docx"),
        (".hidden.pdf", "hidden.pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_clean_filename(name, clean):
    assert services.clean_filename(name) == clean


def entry(student, *marks, attendance=None, reason="", key="e") -> StudentEntry:
    return StudentEntry(
        key=key, student_id=student.id, marks=tuple(marks), attendance=attendance, reason=reason
    )


@pytest.fixture
def day(world) -> date:
    return weekday_on_or_before(world.today)


@pytest.fixture
def lesson(world, day) -> Lesson:
    return services.lesson_for_slot(world.one.classes["6А"], world.subjects["math"].id, day, 1)


def test_ensure_lessons_is_idempotent_and_follows_changes(world, day):
    school_class = world.one.classes["9Б"]
    math = world.subjects["math"]
    before = weekday_before(day)
    db.session.add_all(
        [
            TimetableChange(
                class_id=school_class.id, on_date=before, lesson_number=1, kind="cancellation"
            ),
            TimetableChange(
                class_id=school_class.id,
                on_date=day,
                lesson_number=1,
                kind="substitution",
                substitute_id=world.one.staff["teacher2"].id,
            ),
        ]
    )
    db.session.commit()
    start = day - timedelta(days=13)
    first = services.ensure_lessons(school_class, math.id, start, day)
    again = services.ensure_lessons(school_class, math.id, start, day)
    assert [lesson.id for lesson in first] == [lesson.id for lesson in again]
    assert before not in {lesson.on_date for lesson in first}  # cancelled: no lesson
    assert first[-1].on_date == day
    assert first[-1].teacher_id == world.one.staff["teacher2"].id
    assert all(lesson.on_date.isoweekday() <= 5 for lesson in first)
    # Russian lessons of the same days are someone else's: none were made here.
    assert {lesson.subject_id for lesson in first} == {math.id}


def test_several_marks_per_lesson_each_corrected_on_its_own(world, lesson):
    teacher = world.one.staff["teacher"]
    petr = world.one.students["petr"]
    first = services.record_lesson_entries(
        teacher, lesson.id, [entry(petr, MarkInput("n", "5", "oral"))]
    ).marks[0]
    second = services.record_lesson_entries(
        teacher, lesson.id, [entry(petr, MarkInput("n", "3", "independent"))]
    ).marks[0]
    assert second.weight == 3
    services.record_lesson_entries(
        teacher,
        lesson.id,
        [
            entry(
                petr,
                MarkInput("a", "5", "oral", mark_id=first.id),
                MarkInput("b", "4", "control", mark_id=second.id),
                reason="Перепроверил работу",
            )
        ],
    )
    current = [m for m in db.session.execute(sa.select(Mark)).scalars() if m.is_current]
    assert sorted((m.value, m.kind, m.weight) for m in current) == [
        ("4", "control", 5),  # the kind changed: the policy's weight for it now
        ("5", "oral", 2),  # untouched
    ]
    assert len(db.session.execute(sa.select(Mark)).scalars().all()) == 3


def test_refusals_save_nothing(world, lesson, day):
    teacher = world.one.staff["teacher"]
    petr, masha, alisa = (world.one.students[k] for k in ("petr", "masha", "alisa"))
    with pytest.raises(EntryErrors) as refused:
        services.record_lesson_entries(
            teacher,
            lesson.id,
            [
                entry(petr, MarkInput("p", "5", "control"), key="p"),
                entry(masha, MarkInput("m", "4", "sleeping"), attendance="x", key="m"),
                entry(alisa, MarkInput("a", "5", "oral"), key="a"),  # 9Б, not 6А
            ],
        )
    fields = {(p.key, p.field) for p in refused.value.problems}
    assert fields == {("m", "kind"), ("m", "attendance"), ("a", "row")}
    assert db.session.execute(sa.select(Mark)).first() is None
    assert db.session.execute(sa.select(Attendance)).first() is None

    # An author from another school is no author here.
    with pytest.raises(Forbidden):
        services.record_lesson_entries(
            world.two.staff["teacher"], lesson.id, [entry(petr, MarkInput("p", "5", "oral"))]
        )
    # A cancelled lesson gets no marks.
    lesson.cancelled = True
    db.session.commit()
    with pytest.raises(EntryErrors):
        services.record_lesson_entries(
            teacher, lesson.id, [entry(petr, MarkInput("p", "5", "oral"))]
        )


def test_a_leaver_is_greyed_in_the_grid_and_absent_from_later_lessons(world, day, lesson):
    masha = world.one.students["masha"]
    school_class = world.one.classes["6А"]
    enrolment = db.session.execute(
        sa.select(Enrolment).where(Enrolment.student_id == masha.id)
    ).scalar_one()
    enrolment.ends_on = day  # left on the lesson's day (exclusive)
    enrolment.end_reason = "leaving"
    db.session.commit()
    period = period_on(world.one.year, world.today)
    grid = services.journal_grid(school_class, world.subjects["math"], period, world.today)
    rows = {row.member.student.id: row for row in grid.rows}
    assert not rows[masha.id].active and rows[world.one.students["petr"].id].active
    assert [row.student.id for row in services.lesson_sheet(lesson).rows] == [
        world.one.students["petr"].id
    ]
    earlier = services.lesson_for_slot(
        school_class, world.subjects["math"].id, weekday_before(day), 1
    )
    assert masha.id in {row.student.id for row in services.lesson_sheet(earlier).rows}


def test_homework_due_date_defaults_to_the_next_lesson_and_is_checked(world, lesson, day):
    teacher = world.one.staff["teacher"]
    services.save_lesson_plan(teacher, lesson.id, "Тема", "Задание", None)
    assert lesson.homework.due_on == weekday_after(day)
    with pytest.raises(ValidationError):
        services.save_lesson_plan(teacher, lesson.id, "Тема", "Задание", day)
    with pytest.raises(ValidationError):
        services.save_lesson_plan(
            teacher, lesson.id, "Тема", "Задание", None, [Upload("big.pdf", b"x" * 11)], max_size=10
        )
    with pytest.raises(ValidationError):
        services.save_lesson_plan(
            teacher, lesson.id, "Тема", "Задание", None, [Upload("page.html", b"<script>")]
        )
    assert lesson.homework.attachments == []


def test_final_marks_follow_the_policy_in_force(world, lesson, day):
    teacher = world.one.staff["teacher"]
    petr = world.one.students["petr"]
    school = world.one.school
    # The school adopts a stricter policy: a 5 only from 4.80.
    policy = MarkPolicy(
        school_id=school.id,
        version=2,
        weights={"control": 5, "oral": 2},
        thresholds={"5": "4.80", "4": "3.60", "3": "2.60"},
    )
    db.session.add(policy)
    db.session.commit()
    services.record_lesson_entries(
        teacher,
        lesson.id,
        [entry(petr, MarkInput("a", "5", "control"))],
    )
    other = services.lesson_for_slot(
        world.one.classes["6А"], world.subjects["math"].id, weekday_before(day), 1
    )
    services.record_lesson_entries(teacher, other.id, [entry(petr, MarkInput("b", "4", "oral"))])
    period = period_on(world.one.year, world.today)
    sheet = services.final_sheet(world.one.classes["6А"], world.subjects["math"], period)
    row = sheet.row_of(petr.id)
    assert row.summary.average == Decimal("4.71") and row.summary.suggested == "4"
    assert row.summary.forecast[0].kind == "control"

    (written,) = services.set_final_marks(
        teacher,
        world.one.classes["6А"].id,
        world.subjects["math"].id,
        period.id,
        [FinalMarkInput("p", petr.id, "period", "5")],  # the teacher may decide above
    )
    assert (written.policy_id, written.average, written.suggested) == (
        policy.id,
        Decimal("4.71"),
        "4",
    )
    with pytest.raises(EntryErrors):
        services.set_final_marks(
            teacher,
            world.one.classes["6А"].id,
            world.subjects["math"].id,
            period.id,
            [FinalMarkInput("p", petr.id, "period", "", seen_id=None, checked=True)],
        )
    removed = services.set_final_marks(
        teacher,
        world.one.classes["6А"].id,
        world.subjects["math"].id,
        period.id,
        [FinalMarkInput("p", petr.id, "period", "", reason="Ошибка")],
    )
    assert removed[0].deleted and removed[0].previous_id == written.id
    assert (
        db.session.execute(
            sa.select(sa.func.count()).select_from(FinalMark).where(FinalMark.is_current.is_(True))
        ).scalar_one()
        == 1
    )
