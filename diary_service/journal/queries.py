"""Reading the journal: current marks, the school's policy in force, and per-subject
summaries (marks, average, suggested mark, forecast, final mark) of a student for a
period — what the family's pages, the teacher's period-mark page and the reports show;
and the rows the student's diary pages read (a week's lessons, marks, attendance,
homework due and remarks; a year's attendance), each limited ``within`` a condition on
the ``Lesson`` (what the viewer's reach covers). Writes live in ``journal.services``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, selectinload

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    Lesson,
    Mark,
    MarkPolicy,
    Remark,
)
from diary_service.models.partitions import in_years
from diary_service.models.school import Period, StaffMember, Student, Subject
from diary_service.school.policy import DEFAULT_RULE, Forecast, Rule, average, forecast, suggest


def current_policy(school_id: int) -> MarkPolicy | None:
    """The school's policy in force: its highest version (None: the defaults apply)."""
    return db.session.execute(
        sa.select(MarkPolicy)
        .where(MarkPolicy.school_id == school_id)
        .order_by(MarkPolicy.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def rule_of(policy: MarkPolicy | None) -> Rule:
    return Rule.of(policy) if policy is not None else DEFAULT_RULE


def current_marks(
    student_ids: Iterable[int],
    start: date,
    end: date,
    subject_id: int | None = None,
    *,
    class_id: int | None = None,
    within: sa.ColumnElement[bool] | None = None,
) -> list[Mark]:
    """The current, not deleted marks of the students for lessons from ``start`` to
    ``end`` inclusive, in lesson order: of one subject, of the lessons of one class
    (a class's journal counts its own lessons), or ``within`` a condition on the
    ``Lesson`` (what a viewer's reach covers)."""
    ids = list(student_ids)
    if not ids:
        return []
    query = (
        sa.select(Mark)
        .join(Lesson, Lesson.id == Mark.lesson_id)
        # Every page shows each mark's lesson (its date): loaded by the same join, not
        # one statement per mark.
        .options(contains_eager(Mark.lesson))
        .where(
            Mark.student_id.in_(ids),
            Mark.is_current.is_(True),
            Mark.deleted.is_(False),
            in_years(Mark.school_year, start, end),
            Lesson.on_date >= start,
            Lesson.on_date <= end,
        )
        .order_by(Lesson.on_date, Lesson.lesson_number, Mark.id)
    )
    if subject_id is not None:
        query = query.where(Lesson.subject_id == subject_id)
    if class_id is not None:
        query = query.where(Lesson.class_id == class_id)
    if within is not None:
        query = query.where(within)
    return list(db.session.execute(query).scalars())


def current_final_marks(
    student_ids: Iterable[int], year_id: int, subject_id: int | None = None
) -> list[FinalMark]:
    ids = list(student_ids)
    if not ids:
        return []
    query = sa.select(FinalMark).where(
        FinalMark.student_id.in_(ids),
        FinalMark.year_id == year_id,
        FinalMark.is_current.is_(True),
        FinalMark.deleted.is_(False),
    )
    if subject_id is not None:
        query = query.where(FinalMark.subject_id == subject_id)
    return list(db.session.execute(query).scalars())


@dataclass
class SubjectSummary:
    subject: Subject
    marks: list[Mark] = field(default_factory=list)
    average: Decimal | None = None
    suggested: str | None = None
    forecast: list[Forecast] = field(default_factory=list)
    final: FinalMark | None = None  # the period mark the teacher set, if any

    @property
    def pairs(self) -> list[tuple[int | None, int]]:
        return [(mark.numeric, mark.weight) for mark in self.marks]


def summarize(subject: Subject, marks: list[Mark], rule: Rule) -> SubjectSummary:
    """Average, suggestion and forecast of one subject's marks. The weight each mark
    carries is the one it was given with (``Mark.weight``), so a policy change does not
    silently rewrite old marks; thresholds and the average type are the rule's."""
    pairs = [(mark.numeric, mark.weight) for mark in marks]
    avg = average(pairs, rule)
    return SubjectSummary(
        subject=subject,
        marks=marks,
        average=avg,
        suggested=suggest(avg, rule),
        forecast=forecast(pairs, rule) if avg is not None else [],
    )


def student_summaries(
    student: Student,
    period: Period,
    within: sa.ColumnElement[bool] | None = None,
    shows_final: Callable[[FinalMark], bool] | None = None,
    *,
    rule: Rule | None = None,
    year_finals: list[FinalMark] | None = None,
) -> list[SubjectSummary]:
    """Per subject with marks in the period: the summary, and the period mark if set;
    only the marks ``within`` the condition and the final marks ``shows_final`` lets
    through (a viewer's reach). ``rule`` (the school's policy in force) and
    ``year_finals`` (the student's current final marks of the period's year) when the
    caller has read them already."""
    if rule is None:
        rule = rule_of(current_policy(period.year.school_id))
    if year_finals is None:
        year_finals = current_final_marks([student.id], period.year_id)
    marks = current_marks([student.id], period.starts_on, period.ends_on, within=within)
    by_subject: dict[int, list[Mark]] = {}
    for mark in marks:
        by_subject.setdefault(mark.lesson.subject_id, []).append(mark)
    finals = {
        final.subject_id: final
        for final in year_finals
        if final.period_id == period.id and (shows_final is None or shows_final(final))
    }
    subject_ids = set(by_subject) | set(finals)
    subjects = {
        subject.id: subject
        for subject in db.session.execute(
            sa.select(Subject).where(Subject.id.in_(subject_ids))
        ).scalars()
    }
    result = []
    for subject_id in sorted(subject_ids, key=lambda sid: subjects[sid].name):
        summary = summarize(subjects[subject_id], by_subject.get(subject_id, []), rule)
        summary.final = finals.get(subject_id)
        result.append(summary)
    return result


# --- what the student's diary pages read ------------------------------------------------


def lessons_of_classes(class_ids: Iterable[int], start: date, end: date) -> list[Lesson]:
    """The lessons of these classes from ``start`` to ``end`` inclusive, with their
    homework and its files."""
    return list(
        db.session.execute(
            sa.select(Lesson)
            .options(selectinload(Lesson.homework).selectinload(Homework.attachments))
            .where(
                Lesson.class_id.in_(list(class_ids)),
                Lesson.on_date >= start,
                Lesson.on_date <= end,
            )
        ).scalars()
    )


def _current_at_lessons(entry, student_id: int, lesson_ids: list[int], within):
    """The student's current, not deleted entries (marks or attendance marks) at these
    lessons, oldest first, inside what ``within`` lets the viewer reach."""
    return list(
        db.session.execute(
            sa.select(entry)
            .join(Lesson, Lesson.id == entry.lesson_id)
            .where(
                entry.student_id == student_id,
                entry.lesson_id.in_(lesson_ids),
                entry.is_current.is_(True),
                entry.deleted.is_(False),
                within,
            )
            .order_by(entry.id)
        ).scalars()
    )


def marks_at_lessons(
    student_id: int, lesson_ids: list[int], within: sa.ColumnElement[bool]
) -> list[Mark]:
    """The student's current, not deleted marks at these lessons, oldest first."""
    return _current_at_lessons(Mark, student_id, lesson_ids, within)


def attendance_at_lessons(
    student_id: int, lesson_ids: list[int], within: sa.ColumnElement[bool]
) -> list[Attendance]:
    """The student's current, not deleted attendance marks at these lessons."""
    return _current_at_lessons(Attendance, student_id, lesson_ids, within)


def homework_due(
    class_ids: Iterable[int], start: date, end: date, within: sa.ColumnElement[bool]
) -> list[Homework]:
    """The homework of these classes due from ``start`` to ``end`` inclusive, with its
    files, by due day and lesson."""
    return list(
        db.session.execute(
            sa.select(Homework)
            .join(Lesson, Lesson.id == Homework.lesson_id)
            # The page names each one's lesson (subject, date): loaded by the join.
            .options(contains_eager(Homework.lesson), selectinload(Homework.attachments))
            .where(
                Lesson.class_id.in_(list(class_ids)),
                Homework.due_on >= start,
                Homework.due_on <= end,
                within,
            )
            .order_by(Homework.due_on, Lesson.lesson_number, Homework.id)
        ).scalars()
    )


def remarks_between(
    student_id: int, start: date, end: date
) -> list[tuple[Remark, date | None, int | None, int | None]]:
    """The remarks about a student on lessons from ``start`` to ``end`` inclusive, or
    written then when tied to no lesson: each with its lesson's date and class (None
    without a lesson) and its author's school, in the order written."""
    since, until = clock.start_of(start), clock.start_of(end + timedelta(days=1))
    rows = db.session.execute(
        sa.select(Remark, Lesson.on_date, Lesson.class_id, StaffMember.school_id)
        .outerjoin(Lesson, Lesson.id == Remark.lesson_id)
        .join(StaffMember, StaffMember.id == Remark.author_id)
        .where(
            Remark.student_id == student_id,
            sa.or_(
                sa.and_(Lesson.on_date >= start, Lesson.on_date <= end),
                sa.and_(
                    Remark.lesson_id.is_(None),
                    Remark.created_at >= since,
                    Remark.created_at < until,
                ),
            ),
        )
        .order_by(Remark.created_at, Remark.id)
    ).all()
    return [tuple(row) for row in rows]


def attendance_between(
    student_id: int, start: date, end: date, within: sa.ColumnElement[bool]
) -> list[Attendance]:
    """The student's current, not deleted attendance marks at lessons from ``start`` to
    ``end`` inclusive, with each lesson and its subject, in lesson order."""
    return list(
        db.session.execute(
            sa.select(Attendance)
            .join(Lesson, Lesson.id == Attendance.lesson_id)
            .options(selectinload(Attendance.lesson).selectinload(Lesson.subject))
            .where(
                Attendance.student_id == student_id,
                Attendance.is_current.is_(True),
                Attendance.deleted.is_(False),
                in_years(Attendance.school_year, start, end),
                Lesson.on_date >= start,
                Lesson.on_date <= end,
                within,
            )
            .order_by(Lesson.on_date, Lesson.lesson_number)
        ).scalars()
    )
