"""The SQL every report shares: the students of a span (a class, a school, the region
over a period) and their figures: averages, marks, attendance, how complete the journal
is."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlalchemy as sa

from diary_service.access import enrolment_open_on
from diary_service.extensions import db
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
)
from diary_service.models.school import (
    Enrolment,
    Period,
    SchoolClass,
)
from diary_service.reports.base import FAILING_MARKS, GOOD_MARKS, NUMERIC_MARKS, Figures, as_int
from diary_service.school.policy import DEFAULT_RULE, Rule


def span_for(today: date, *where: Any) -> sa.CTE:
    """Classes × the period each is reported for: the period's dates, the last day
    lessons count (``until``: today at most) and the roll's day (``as_of``)."""
    today_ = sa.literal(today, sa.Date())
    return (
        sa.select(
            SchoolClass.id.label("class_id"),
            SchoolClass.school_id.label("school_id"),
            Period.id.label("period_id"),
            Period.starts_on.label("starts_on"),
            Period.ends_on.label("ends_on"),
            sa.case((Period.ends_on < today_, Period.ends_on), else_=today_).label("until"),
            sa.case(
                (today_ < Period.starts_on, Period.starts_on),
                (today_ > Period.ends_on, Period.ends_on),
                else_=today_,
            ).label("as_of"),
        )
        .join(Period, Period.year_id == SchoolClass.year_id)
        .where(*where)
        .cte("span")
    )


def roster_of(span: sa.CTE) -> sa.CTE:
    """Students enrolled in each class of the span on its roll's day."""
    return (
        sa.select(
            Enrolment.student_id,
            span.c.class_id,
            span.c.school_id,
            span.c.period_id,
            span.c.starts_on,
            span.c.ends_on,
        )
        .join(span, span.c.class_id == Enrolment.class_id)
        .where(
            enrolment_open_on(span.c.as_of),
        )
        .distinct()
        .cte("roster")
    )


def ceil_cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value(rounding=ROUND_CEILING))


def per_school(column: Any, values: Mapping[int, Any], default: Any) -> Any:
    """A value that depends on the school (its rule): a literal when every school has
    the same, else a CASE over the schools grouped by value (few distinct rules)."""
    distinct = set(values.values())
    if len(distinct) <= 1:
        return sa.literal(next(iter(distinct), default))
    groups: dict[Any, list[int]] = defaultdict(list)
    for school_id, value in values.items():
        groups[value].append(school_id)
    return sa.case(*[(column.in_(ids), value) for value, ids in groups.items()], else_=default)


def pairs_of(roster: sa.CTE, rules: Mapping[int, Rule], within: tuple[date, date]) -> sa.CTE:
    """One row per student × subject with a mark in the period: ``cents`` (the average
    in hundredths, None without five-point marks), ``final`` (the period mark set),
    ``suggested`` and ``mark`` (the final mark, else the suggested one). ``within``
    bounds every period of the roster: a constant range lets the database pick the
    period's lessons first instead of every mark of the year."""
    value = sa.cast(Mark.value, sa.Integer)
    keys = (roster.c.student_id, roster.c.class_id, roster.c.school_id)
    sums = (
        sa.select(
            *keys,
            Lesson.subject_id,
            sa.func.sum(value * Mark.weight).label("s"),
            sa.func.sum(Mark.weight).label("w"),
            sa.func.sum(value).label("sv"),
            sa.func.count().label("n"),
        )
        .select_from(roster)
        .join(Mark, Mark.student_id == roster.c.student_id)
        # A class's figures are its own lessons' marks: a student who came from another
        # class or school brings no marks given there.
        .join(Lesson, sa.and_(Lesson.id == Mark.lesson_id, Lesson.class_id == roster.c.class_id))
        .where(
            Mark.is_current.is_(True),
            Mark.deleted.is_(False),
            Mark.value.in_(NUMERIC_MARKS),
            Lesson.on_date >= roster.c.starts_on,
            Lesson.on_date <= roster.c.ends_on,
            Lesson.on_date.between(*within),
        )
        .group_by(*keys, Lesson.subject_id)
        .cte("sums")
    )
    finals = (
        sa.select(*keys, FinalMark.subject_id, sa.func.min(FinalMark.value).label("value"))
        .select_from(roster)
        .join(
            FinalMark,
            sa.and_(
                FinalMark.student_id == roster.c.student_id,
                FinalMark.period_id == roster.c.period_id,
            ),
        )
        .where(
            FinalMark.is_current.is_(True),
            FinalMark.deleted.is_(False),
            FinalMark.kind == "period",
        )
        .group_by(*keys, FinalMark.subject_id)
        .cte("finals")
    )
    names = ("student_id", "class_id", "school_id", "subject_id")
    both = sa.union(
        sa.select(*[sums.c[n] for n in names]), sa.select(*[finals.c[n] for n in names])
    ).cte("pair_keys")

    def same(other: sa.CTE) -> Any:
        return sa.and_(*[other.c[n] == both.c[n] for n in ("student_id", "class_id", "subject_id")])

    arithmetic = per_school(
        both.c.school_id,
        {sid: int(rule.average == "arithmetic") for sid, rule in rules.items()},
        0,
    )
    numerator = sa.case((arithmetic == 1, sums.c.sv), else_=sums.c.s)
    denominator = sa.case((arithmetic == 1, sums.c.n), else_=sums.c.w)
    # Integer division: ⌊(200·S + W) / 2W⌋ = round half up of 100·S/W.
    cents = sa.case(
        (denominator > 0, (200 * numerator + denominator) // (2 * denominator)),
        else_=sa.null(),
    )
    graded = (
        sa.select(
            *[both.c[n] for n in names],
            cents.label("cents"),
            finals.c.value.label("final"),
        )
        .select_from(both)
        .outerjoin(sums, same(sums))
        .outerjoin(finals, same(finals))
        .cte("graded")
    )
    thresholds = {
        mark: per_school(
            graded.c.school_id,
            {sid: ceil_cents(rule.thresholds[mark]) for sid, rule in rules.items()},
            ceil_cents(DEFAULT_RULE.thresholds[mark]),
        )
        for mark in ("5", "4", "3")
    }
    suggested = sa.case(
        (graded.c.cents.is_(None), sa.null()),
        (graded.c.cents >= thresholds["5"], "5"),
        (graded.c.cents >= thresholds["4"], "4"),
        (graded.c.cents >= thresholds["3"], "3"),
        else_="2",
    )
    return sa.select(
        graded,
        suggested.label("suggested"),
        sa.func.coalesce(graded.c.final, suggested).label("mark"),
    ).cte("pairs")


def student_figures(pairs: sa.CTE, key: str) -> dict[int, Figures]:
    """Assessed, successful and quality students and the averages, per ``key``
    (``class_id`` or ``school_id``): students are judged across all their subjects."""
    per_student = (
        sa.select(
            pairs.c[key],
            pairs.c.student_id,
            sa.func.count(pairs.c.mark).label("marked"),
            sa.func.max(sa.case((pairs.c.mark.in_(FAILING_MARKS), 1), else_=0)).label("failing"),
            sa.func.max(
                sa.case(
                    (sa.and_(pairs.c.mark.is_not(None), pairs.c.mark.not_in(GOOD_MARKS)), 1),
                    else_=0,
                )
            ).label("not_good"),
            sa.func.sum(pairs.c.cents).label("cents_sum"),
            sa.func.count(pairs.c.cents).label("cents_count"),
        )
        .group_by(pairs.c[key], pairs.c.student_id)
        .subquery("per_student")
    )
    marked = per_student.c.marked > 0
    rows = db.session.execute(
        sa.select(
            per_student.c[key],
            sa.func.sum(sa.case((marked, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(marked, per_student.c.failing == 0), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(marked, per_student.c.not_good == 0), 1), else_=0)),
            sa.func.sum(per_student.c.cents_sum),
            sa.func.sum(per_student.c.cents_count),
        ).group_by(per_student.c[key])
    ).all()
    return _figures_by_key(rows)


def _figures_by_key(rows: list[sa.Row]) -> dict[int, Figures]:
    """Rows of (key, assessed, successful, quality, cents sum, cents count) as figures."""
    return {
        row[0]: Figures(
            assessed=as_int(row[1]),
            successful=as_int(row[2]),
            quality=as_int(row[3]),
            cents_sum=as_int(row[4]),
            cents_count=as_int(row[5]),
        )
        for row in rows
    }


def subject_figures(pairs: sa.CTE) -> dict[int, Figures]:
    """Per subject: students with a period mark in it, those not failing it, those with
    «4»/«5» in it, and the mean of their averages."""
    rows = db.session.execute(
        sa.select(
            pairs.c.subject_id,
            sa.func.count(pairs.c.mark),
            sa.func.sum(
                sa.case(
                    (pairs.c.mark.in_(FAILING_MARKS), 0),
                    (pairs.c.mark.is_not(None), 1),
                    else_=0,
                )
            ),
            sa.func.sum(sa.case((pairs.c.mark.in_(GOOD_MARKS), 1), else_=0)),
            sa.func.sum(pairs.c.cents),
            sa.func.count(pairs.c.cents),
        ).group_by(pairs.c.subject_id)
    ).all()
    return _figures_by_key(rows)


def roll_counts(roster: sa.CTE, key: str) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(roster.c[key], sa.func.count(sa.distinct(roster.c.student_id))).group_by(
            roster.c[key]
        )
    ).all()
    return {row[0]: as_int(row[1]) for row in rows}


def held_counts(span: sa.CTE) -> sa.CTE:
    """The span's lessons held up to today (not cancelled)."""
    return (
        sa.select(
            span.c.school_id,
            span.c.class_id,
            Lesson.subject_id,
            Lesson.id.label("lesson_id"),
            Lesson.on_date,
        )
        .select_from(span)
        .join(Lesson, Lesson.class_id == span.c.class_id)
        .where(
            Lesson.cancelled.is_(False),
            Lesson.on_date >= span.c.starts_on,
            Lesson.on_date <= span.c.until,
        )
        .cte("held")
    )


def attendance_counts(span: sa.CTE, keys: tuple[str, ...]) -> dict[tuple[int, ...], Figures]:
    """Student-lessons (each lesson held × each student enrolled in the class that day)
    and missed lessons by code, per ``keys`` (any of school_id, class_id, subject_id,
    student_id)."""
    held = held_counts(span)
    columns = [Enrolment.student_id if key == "student_id" else held.c[key] for key in keys]
    enrolled = sa.and_(
        Enrolment.class_id == held.c.class_id,
        enrolment_open_on(held.c.on_date),
    )
    result: dict[tuple[int, ...], Figures] = defaultdict(Figures)
    for *key, count in db.session.execute(
        sa.select(*columns, sa.func.count())
        .select_from(held)
        .join(Enrolment, enrolled)
        .group_by(*columns)
    ).all():
        result[tuple(key)].student_lessons = as_int(count)
    for *key, code, count in db.session.execute(
        sa.select(*columns, Attendance.code, sa.func.count())
        .select_from(held)
        .join(Enrolment, enrolled)
        .join(
            Attendance,
            sa.and_(
                Attendance.lesson_id == held.c.lesson_id,
                Attendance.student_id == Enrolment.student_id,
            ),
        )
        .where(Attendance.is_current.is_(True), Attendance.deleted.is_(False))
        .group_by(*columns, Attendance.code)
    ).all():
        result[tuple(key)].missed[code] += as_int(count)
    return dict(result)


def completeness_of(span: sa.CTE, key: str) -> dict[int, Figures]:
    """Lessons given up to today per ``key`` (teacher_id or school_id): how many have a
    topic, homework (text or a file), and how many have no mark at all."""
    column = Lesson.teacher_id if key == "teacher_id" else span.c[key]
    has_homework = (
        sa.select(Homework.id)
        .where(
            Homework.lesson_id == Lesson.id,
            sa.or_(
                sa.func.trim(Homework.text) != "",
                sa.exists().where(HomeworkAttachment.homework_id == Homework.id),
            ),
        )
        .exists()
    )
    has_marks = (
        sa.select(Mark.id)
        .where(Mark.lesson_id == Lesson.id, Mark.is_current.is_(True), Mark.deleted.is_(False))
        .exists()
    )
    rows = db.session.execute(
        sa.select(
            column,
            sa.func.count(),
            sa.func.sum(sa.case((sa.func.trim(Lesson.topic) != "", 1), else_=0)),
            sa.func.sum(sa.case((has_homework, 1), else_=0)),
            sa.func.sum(sa.case((has_marks, 0), else_=1)),
        )
        .select_from(span)
        .join(Lesson, Lesson.class_id == span.c.class_id)
        .where(
            Lesson.cancelled.is_(False),
            Lesson.on_date >= span.c.starts_on,
            Lesson.on_date <= span.c.until,
        )
        .group_by(column)
    ).all()
    return {
        row[0]: Figures(
            lessons=as_int(row[1]),
            with_topic=as_int(row[2]),
            with_homework=as_int(row[3]),
            without_marks=as_int(row[4]),
        )
        for row in rows
    }
