"""Computing the reports' maintained figures (``models/reports.py``) for a slice —
some classes × a period, a school × some days — straight from the journal, with the
reports' definitions (``reports/services.py``). ``reports/aggregates.py`` writes them;
``reports/drift.py`` compares them with what is stored."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
)
from diary_service.models.school import Enrolment, Period, SchoolClass
from diary_service.reports import region
from diary_service.reports.base import FAILING_MARKS, GOOD_MARKS, NUMERIC_MARKS, as_int
from diary_service.reports.figures import ceil_cents
from diary_service.school.policy import Rule

CODE_COLUMNS = {"н": "absent_n", "б": "absent_b", "у": "absent_u", "оп": "late"}
JUDGED = ("assessed", "successful", "quality", "cents_sum", "cents_count")


def today() -> date:
    return clock.today()


# --- computing a slice ------------------------------------------------------------------


Row = dict[str, Any]


def _zero(names: Iterable[str]) -> Row:
    return dict.fromkeys(names, 0)


SUBJECT_COUNTS = (
    "marks",
    "numeric_marks",
    "weight_sum",
    "weighted_sum",
    *JUDGED,
    *CODE_COLUMNS.values(),
)
DAY_COUNTS = (
    "lessons",
    "with_topic",
    "with_homework",
    "without_marks",
    "student_lessons",
    *CODE_COLUMNS.values(),
)


def _judge(sums: tuple[int, int, int, int] | None, rule: Rule) -> tuple[int | None, str | None]:
    """The average in hundredths and the suggested mark of a student's subject, from
    Σ value×weight, Σ weight, Σ value and the count of five-point marks — integer
    arithmetic, as the reports' SQL and ``journal.policy`` decide it."""
    if sums is None:
        return None, None
    weighted, weights, values, count = sums
    numerator, denominator = (
        (values, count) if rule.average == "arithmetic" else (weighted, weights)
    )
    if denominator <= 0:
        return None, None
    cents = (200 * numerator + denominator) // (2 * denominator)
    for mark in ("5", "4", "3"):
        if cents >= ceil_cents(rule.thresholds[mark]):
            return cents, mark
    return cents, "2"


def class_rows(
    class_ids: list[int], period: Period, on: date, periods: dict[int, Period] | None = None
) -> tuple[dict[tuple[int, int], Row], dict[tuple[int, int, int], Row]]:
    """The ``report_class`` rows (key: class, period) and ``report_class_subject`` rows
    (key: class, subject, period) of these classes (of the period's year) for the
    period, computed from the journal with the reports' definitions (module docstring
    of ``reports/services.py``) by a few grouped queries and arithmetic here.

    ``periods`` (class → its period, all with ``period``'s dates) computes classes of
    several schools at once, each for its own school's period (the backfill)."""
    periods = periods or dict.fromkeys(class_ids, period)
    classes = dict(
        db.session.execute(
            sa.select(SchoolClass.id, SchoolClass.school_id).where(SchoolClass.id.in_(class_ids))
        ).all()
    )
    rules = region.rules(set(classes.values()))
    as_of = min(max(on, period.starts_on), period.ends_on)
    roster = set(
        db.session.execute(
            sa.select(Enrolment.class_id, Enrolment.student_id).where(
                Enrolment.class_id.in_(list(classes)),
                Enrolment.starts_on <= as_of,
                sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > as_of),
            )
        ).all()
    )
    in_period = (
        Lesson.class_id.in_(list(classes)),
        Lesson.on_date >= period.starts_on,
        Lesson.on_date <= period.ends_on,
    )
    value = sa.cast(Mark.value, sa.Integer)
    sums: dict[tuple[int, int, int], tuple[int, int, int, int]] = {}
    for class_id, student_id, subject_id, *counts in db.session.execute(
        sa.select(
            Lesson.class_id,
            Mark.student_id,
            Lesson.subject_id,
            sa.func.sum(value * Mark.weight),
            sa.func.sum(Mark.weight),
            sa.func.sum(value),
            sa.func.count(),
        )
        .join(Lesson, Lesson.id == Mark.lesson_id)
        .where(
            *in_period,
            Mark.is_current.is_(True),
            Mark.deleted.is_(False),
            Mark.value.in_(NUMERIC_MARKS),
        )
        .group_by(Lesson.class_id, Mark.student_id, Lesson.subject_id)
    ).all():
        if (class_id, student_id) in roster:
            sums[(class_id, student_id, subject_id)] = tuple(map(as_int, counts))
    class_of = {student_id: class_id for class_id, student_id in roster}
    finals: dict[tuple[int, int, int], str] = {}
    for student_id, subject_id, period_id, value_ in db.session.execute(
        sa.select(
            FinalMark.student_id,
            FinalMark.subject_id,
            FinalMark.period_id,
            sa.func.min(FinalMark.value),
        )
        .where(
            FinalMark.student_id.in_(list(class_of)),
            FinalMark.period_id.in_({p.id for p in periods.values()}),
            FinalMark.is_current.is_(True),
            FinalMark.deleted.is_(False),
            FinalMark.kind == "period",
        )
        .group_by(FinalMark.student_id, FinalMark.subject_id, FinalMark.period_id)
    ).all():
        class_id = class_of[student_id]
        if periods[class_id].id == period_id:
            finals[(class_id, student_id, subject_id)] = value_
    per_subject: dict[tuple[int, int, int], Row] = defaultdict(lambda: _zero(SUBJECT_COUNTS))
    # class → student → [marked, failing, not good, Σ cents, count]
    students: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for key in set(sums) | set(finals):
        class_id, student_id, subject_id = key
        cents, suggested = _judge(sums.get(key), rules[classes[class_id]])
        mark = finals.get(key, suggested)
        subject = per_subject[(class_id, subject_id, periods[class_id].id)]
        standing = students[class_id].setdefault(student_id, [0, 0, 0, 0, 0])
        if mark is not None:
            failing = mark in FAILING_MARKS
            subject["assessed"] += 1
            subject["successful"] += not failing
            subject["quality"] += mark in GOOD_MARKS
            standing[0] += 1
            standing[1] |= failing
            standing[2] |= mark not in GOOD_MARKS
        if cents is not None:
            subject["cents_sum"] += cents
            subject["cents_count"] += 1
            standing[3] += cents
            standing[4] += 1
    rolls = Counter(class_id for class_id, _student_id in roster)
    per_class = {}
    for class_id, school_id in classes.items():
        row: Row = {
            "school_id": school_id,
            "students": rolls[class_id],
            "as_of": as_of,
            **_zero(JUDGED),
        }
        for marked, failing, not_good, cents_sum, cents_count in students[class_id].values():
            row["assessed"] += marked > 0
            row["successful"] += marked > 0 and not failing
            row["quality"] += marked > 0 and not not_good
            row["cents_sum"] += cents_sum
            row["cents_count"] += cents_count
        per_class[(class_id, periods[class_id].id)] = row
    in_period = (
        Lesson.class_id.in_(list(classes)),
        Lesson.on_date >= period.starts_on,
        Lesson.on_date <= period.ends_on,
    )
    numeric = Mark.value.in_(NUMERIC_MARKS)
    value = sa.case((numeric, sa.cast(Mark.value, sa.Integer)), else_=0)
    for class_id, subject_id, count, numerics, weights, weighted in db.session.execute(
        sa.select(
            Lesson.class_id,
            Lesson.subject_id,
            sa.func.count(),
            sa.func.sum(sa.case((numeric, 1), else_=0)),
            sa.func.sum(sa.case((numeric, Mark.weight), else_=0)),
            sa.func.sum(value * Mark.weight),
        )
        .join(Lesson, Lesson.id == Mark.lesson_id)
        .where(*in_period, Mark.is_current.is_(True), Mark.deleted.is_(False))
        .group_by(Lesson.class_id, Lesson.subject_id)
    ).all():
        row = per_subject[(class_id, subject_id, periods[class_id].id)]
        row["marks"] = as_int(count)
        row["numeric_marks"] = as_int(numerics)
        row["weight_sum"] = as_int(weights)
        row["weighted_sum"] = as_int(weighted)
    for class_id, subject_id, code, count in db.session.execute(
        sa.select(Lesson.class_id, Lesson.subject_id, Attendance.code, sa.func.count())
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(
            *in_period,
            Lesson.cancelled.is_(False),
            Attendance.is_current.is_(True),
            Attendance.deleted.is_(False),
        )
        .group_by(Lesson.class_id, Lesson.subject_id, Attendance.code)
    ).all():
        if code in CODE_COLUMNS:
            per_subject[(class_id, subject_id, periods[class_id].id)][CODE_COLUMNS[code]] += as_int(
                count
            )
    return per_class, dict(per_subject)


def day_rows(school_ids: int | list[int], start: date, end: date) -> dict[tuple[int, date], Row]:
    """The ``report_school_day`` rows of a school (or several) from ``start`` to ``end``
    (days without lessons have none), with the definitions of the reports' attendance
    and journal completeness."""
    ids = [school_ids] if isinstance(school_ids, int) else list(school_ids)
    held = (
        sa.select(SchoolClass.school_id, Lesson.id, Lesson.class_id, Lesson.on_date, Lesson.topic)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .where(
            SchoolClass.school_id.in_(ids),
            Lesson.cancelled.is_(False),
            Lesson.on_date >= start,
            Lesson.on_date <= end,
        )
        .cte("held")
    )
    has_homework = (
        sa.select(Homework.id)
        .where(
            Homework.lesson_id == held.c.id,
            sa.or_(
                sa.func.trim(Homework.text) != "",
                sa.exists().where(HomeworkAttachment.homework_id == Homework.id),
            ),
        )
        .exists()
    )
    has_marks = (
        sa.select(Mark.id)
        .where(Mark.lesson_id == held.c.id, Mark.is_current.is_(True), Mark.deleted.is_(False))
        .exists()
    )
    rows: dict[tuple[int, date], Row] = defaultdict(lambda: _zero(DAY_COUNTS))
    for school_id, on_date, *counts in db.session.execute(
        sa.select(
            held.c.school_id,
            held.c.on_date,
            sa.func.count(),
            sa.func.sum(sa.case((sa.func.trim(held.c.topic) != "", 1), else_=0)),
            sa.func.sum(sa.case((has_homework, 1), else_=0)),
            sa.func.sum(sa.case((has_marks, 0), else_=1)),
        ).group_by(held.c.school_id, held.c.on_date)
    ).all():
        rows[(school_id, on_date)].update(
            zip(
                ("lessons", "with_topic", "with_homework", "without_marks"),
                map(as_int, counts),
                strict=True,
            )
        )
    enrolled = sa.and_(
        Enrolment.class_id == held.c.class_id,
        Enrolment.starts_on <= held.c.on_date,
        sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > held.c.on_date),
    )
    for school_id, on_date, count in db.session.execute(
        sa.select(held.c.school_id, held.c.on_date, sa.func.count())
        .select_from(held)
        .join(Enrolment, enrolled)
        .group_by(held.c.school_id, held.c.on_date)
    ).all():
        rows[(school_id, on_date)]["student_lessons"] = as_int(count)
    for school_id, on_date, code, count in db.session.execute(
        sa.select(held.c.school_id, held.c.on_date, Attendance.code, sa.func.count())
        .select_from(held)
        .join(Enrolment, enrolled)
        .join(
            Attendance,
            sa.and_(
                Attendance.lesson_id == held.c.id,
                Attendance.student_id == Enrolment.student_id,
            ),
        )
        .where(Attendance.is_current.is_(True), Attendance.deleted.is_(False))
        .group_by(held.c.school_id, held.c.on_date, Attendance.code)
    ).all():
        if code in CODE_COLUMNS:
            rows[(school_id, on_date)][CODE_COLUMNS[code]] += as_int(count)
    return dict(rows)
