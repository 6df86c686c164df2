"""Keeping the reports' figures (``reports/models.py``) in step with the journal.

Whatever changes a mark, an absence, a final mark, a lesson (topic, cancellation),
homework, an enrolment or a school's mark policy — the journal's pages, the API, the
roster import, a test's factory — goes through the ORM session. After each flush the
session's new, changed and deleted rows of those kinds name the slices they touch
(a class × period, a school × day); just before the commit every touched slice is
recomputed from the journal's rows and rewritten, in the same transaction. So a
figure is never stale after the commit that changed what it counts, and a slice is
always computed the way a full recomputation computes it (no increments to drift).

Two writers of the same slice take turns (PostgreSQL: a transaction-scoped advisory
lock per class and per school, taken before the slice is read; SQLite serialises
writers anyway), so the later one reads the earlier one's committed rows.

What is not seen: bulk Core statements that bypass the session (the demo seed, which
calls ``refresh_all`` itself; hand-written SQL). ``flask --app diary_service reports
check`` finds such drift, ``reports recompute`` repairs it. The roll (students enrolled
on the report's day) is taken on the day of the refresh: a departure dated in the
future takes effect in the figures at the next change in the class or at the nightly
``reports recompute --current``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from diary_service.extensions import db
from diary_service.journal.models import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
    MarkPolicy,
)
from diary_service.journal.policy import Rule
from diary_service.reports import services
from diary_service.reports.models import ClassSubjectTally, ClassTally, SchoolDayTally
from diary_service.school.models import AcademicYear, Enrolment, Period, SchoolClass

CODE_COLUMNS = {"н": "absent_n", "б": "absent_b", "у": "absent_u", "оп": "late"}
JUDGED = ("assessed", "successful", "quality", "cents_sum", "cents_count")
# Advisory lock namespaces (pg_advisory_xact_lock(namespace, id)).
CLASS_LOCK, SCHOOL_LOCK = 140001, 140002
PENDING = "report_pending"


def today() -> date:
    return date.today()


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
        if cents >= services._ceil_cents(rule.thresholds[mark]):
            return cents, mark
    return cents, "2"


def class_rows(
    class_ids: list[int], period: Period, on: date
) -> tuple[dict[tuple[int, int], Row], dict[tuple[int, int, int], Row]]:
    """The ``report_class`` rows (key: class, period) and ``report_class_subject`` rows
    (key: class, subject, period) of these classes (of the period's year) for the
    period, computed from the journal with the reports' definitions (module docstring
    of ``reports/services.py``) by a few grouped queries and arithmetic here."""
    classes = dict(
        db.session.execute(
            sa.select(SchoolClass.id, SchoolClass.school_id).where(SchoolClass.id.in_(class_ids))
        ).all()
    )
    rules = services._rules(set(classes.values()))
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
            Mark.value.in_(services.NUMERIC_MARKS),
        )
        .group_by(Lesson.class_id, Mark.student_id, Lesson.subject_id)
    ).all():
        if (class_id, student_id) in roster:
            sums[(class_id, student_id, subject_id)] = tuple(map(services._int, counts))
    class_of = {student_id: class_id for class_id, student_id in roster}
    finals: dict[tuple[int, int, int], str] = {}
    for student_id, subject_id, value_ in db.session.execute(
        sa.select(FinalMark.student_id, FinalMark.subject_id, sa.func.min(FinalMark.value))
        .where(
            FinalMark.student_id.in_(list(class_of)),
            FinalMark.period_id == period.id,
            FinalMark.is_current.is_(True),
            FinalMark.deleted.is_(False),
            FinalMark.kind == "period",
        )
        .group_by(FinalMark.student_id, FinalMark.subject_id)
    ).all():
        finals[(class_of[student_id], student_id, subject_id)] = value_
    per_subject: dict[tuple[int, int, int], Row] = defaultdict(lambda: _zero(SUBJECT_COUNTS))
    # class → student → [marked, failing, not good, Σ cents, count]
    students: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for key in set(sums) | set(finals):
        class_id, student_id, subject_id = key
        cents, suggested = _judge(sums.get(key), rules[classes[class_id]])
        mark = finals.get(key, suggested)
        subject = per_subject[(class_id, subject_id, period.id)]
        standing = students[class_id].setdefault(student_id, [0, 0, 0, 0, 0])
        if mark is not None:
            failing = mark in services.FAILING_MARKS
            subject["assessed"] += 1
            subject["successful"] += not failing
            subject["quality"] += mark in services.GOOD_MARKS
            standing[0] += 1
            standing[1] |= failing
            standing[2] |= mark not in services.GOOD_MARKS
        if cents is not None:
            subject["cents_sum"] += cents
            subject["cents_count"] += 1
            standing[3] += cents
            standing[4] += 1
    per_class = {}
    for class_id, school_id in classes.items():
        row: Row = {
            "school_id": school_id,
            "students": sum(1 for cid, _ in roster if cid == class_id),
            "as_of": as_of,
            **_zero(JUDGED),
        }
        for marked, failing, not_good, cents_sum, cents_count in students[class_id].values():
            row["assessed"] += marked > 0
            row["successful"] += marked > 0 and not failing
            row["quality"] += marked > 0 and not not_good
            row["cents_sum"] += cents_sum
            row["cents_count"] += cents_count
        per_class[(class_id, period.id)] = row
    in_period = (
        Lesson.class_id.in_(list(classes)),
        Lesson.on_date >= period.starts_on,
        Lesson.on_date <= period.ends_on,
    )
    numeric = Mark.value.in_(services.NUMERIC_MARKS)
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
        row = per_subject[(class_id, subject_id, period.id)]
        row["marks"] = services._int(count)
        row["numeric_marks"] = services._int(numerics)
        row["weight_sum"] = services._int(weights)
        row["weighted_sum"] = services._int(weighted)
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
            per_subject[(class_id, subject_id, period.id)][CODE_COLUMNS[code]] += services._int(
                count
            )
    return per_class, dict(per_subject)


def day_rows(school_id: int, start: date, end: date) -> dict[tuple[int, date], Row]:
    """The ``report_school_day`` rows of a school from ``start`` to ``end`` (days without
    lessons have none), with the definitions of the reports' attendance and journal
    completeness."""
    held = (
        sa.select(Lesson.id, Lesson.class_id, Lesson.on_date, Lesson.topic)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .where(
            SchoolClass.school_id == school_id,
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
    for on_date, *counts in db.session.execute(
        sa.select(
            held.c.on_date,
            sa.func.count(),
            sa.func.sum(sa.case((sa.func.trim(held.c.topic) != "", 1), else_=0)),
            sa.func.sum(sa.case((has_homework, 1), else_=0)),
            sa.func.sum(sa.case((has_marks, 0), else_=1)),
        ).group_by(held.c.on_date)
    ).all():
        rows[(school_id, on_date)].update(
            zip(
                ("lessons", "with_topic", "with_homework", "without_marks"),
                map(services._int, counts),
                strict=True,
            )
        )
    enrolled = sa.and_(
        Enrolment.class_id == held.c.class_id,
        Enrolment.starts_on <= held.c.on_date,
        sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > held.c.on_date),
    )
    for on_date, count in db.session.execute(
        sa.select(held.c.on_date, sa.func.count())
        .select_from(held)
        .join(Enrolment, enrolled)
        .group_by(held.c.on_date)
    ).all():
        rows[(school_id, on_date)]["student_lessons"] = services._int(count)
    for on_date, code, count in db.session.execute(
        sa.select(held.c.on_date, Attendance.code, sa.func.count())
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
        .group_by(held.c.on_date, Attendance.code)
    ).all():
        if code in CODE_COLUMNS:
            rows[(school_id, on_date)][CODE_COLUMNS[code]] += services._int(count)
    return dict(rows)


# --- writing slices ---------------------------------------------------------------------


def _lock(namespace: int, ids: Iterable[int]) -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(ids)):
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(namespace, key)))


def _replace(table: sa.Table, where: Any, rows: dict[tuple, Row], keys: tuple[str, ...]) -> None:
    db.session.execute(sa.delete(table).where(where))
    if rows:
        db.session.execute(
            sa.insert(table),
            [{**dict(zip(keys, key, strict=True)), **row} for key, row in rows.items()],
        )


def refresh_classes(class_ids: Iterable[int], period: Period, on: date | None = None) -> None:
    """Recompute and rewrite the class and class × subject rows of the period."""
    ids = sorted(set(class_ids))
    if not ids:
        return
    per_class, per_subject = class_rows(ids, period, on or today())
    _replace(
        ClassTally.__table__,
        sa.and_(ClassTally.period_id == period.id, ClassTally.class_id.in_(ids)),
        per_class,
        ("class_id", "period_id"),
    )
    _replace(
        ClassSubjectTally.__table__,
        sa.and_(ClassSubjectTally.period_id == period.id, ClassSubjectTally.class_id.in_(ids)),
        per_subject,
        ("class_id", "subject_id", "period_id"),
    )


def refresh_days(school_id: int, start: date, end: date) -> None:
    """Recompute and rewrite the school's day rows from ``start`` to ``end``."""
    _replace(
        SchoolDayTally.__table__,
        sa.and_(
            SchoolDayTally.school_id == school_id,
            SchoolDayTally.on_date >= start,
            SchoolDayTally.on_date <= end,
        ),
        day_rows(school_id, start, end),
        ("school_id", "on_date"),
    )


def school_years(school_id: int) -> list[AcademicYear]:
    return list(
        db.session.execute(
            sa.select(AcademicYear)
            .where(AcademicYear.school_id == school_id)
            .order_by(AcademicYear.starts_on)
        ).scalars()
    )


def _classes_of(year: AcademicYear) -> list[int]:
    return list(
        db.session.execute(sa.select(SchoolClass.id).where(SchoolClass.year_id == year.id))
        .scalars()
        .all()
    )


def refresh_school(school_id: int, on: date | None = None, current_only: bool = False) -> None:
    """Recompute every figure of the school (``current_only``: the period containing
    ``on`` of each year, and its days)."""
    on = on or today()
    _lock(CLASS_LOCK, _all_classes(school_id))
    _lock(SCHOOL_LOCK, [school_id])
    for year in school_years(school_id):
        periods = [p for p in year.periods if not current_only or p.starts_on <= on <= p.ends_on]
        classes = _classes_of(year)
        for period in periods:
            refresh_classes(classes, period, on)
        if current_only:
            for period in periods:
                refresh_days(school_id, period.starts_on, period.ends_on)
        else:
            refresh_days(school_id, year.starts_on, year.ends_on)


def _all_classes(school_id: int) -> list[int]:
    return list(
        db.session.execute(sa.select(SchoolClass.id).where(SchoolClass.school_id == school_id))
        .scalars()
        .all()
    )


def school_ids() -> list[int]:
    table = db.metadata.tables["school"]
    return list(db.session.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())


def refresh_all(on: date | None = None) -> None:
    """The backfill: every school's figures from scratch (in the caller's transaction)."""
    for school_id in school_ids():
        refresh_school(school_id, on)


# --- drift ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    table: str
    key: tuple
    stored: Row | None
    expected: Row | None

    def __str__(self) -> str:
        if self.stored is None:
            return f"{self.table} {self.key}: missing, expected {self.expected}"
        if self.expected is None:
            return f"{self.table} {self.key}: not expected, stored {self.stored}"
        differ = {
            name: (self.stored.get(name), value)
            for name, value in self.expected.items()
            if self.stored.get(name) != value
        }
        return f"{self.table} {self.key}: " + ", ".join(
            f"{name} stored {old} expected {new}" for name, (old, new) in differ.items()
        )


def _stored(model: Any, keys: tuple[str, ...], names: Iterable[str], where: Any) -> dict:
    columns = [getattr(model, name) for name in (*keys, *names)]
    found = {}
    for row in db.session.execute(sa.select(*columns).where(where)).all():
        values = dict(zip((*keys, *names), row, strict=True))
        found[tuple(values.pop(k) for k in keys)] = values
    return found


def _compare(table: str, stored: dict, expected: dict) -> Iterator[Drift]:
    for key in sorted(set(stored) | set(expected), key=str):
        old, new = stored.get(key), expected.get(key)
        if old is None and new is not None and not any(new.values()):
            continue  # an all-zero day or subject is as good as no row
        if old != new:
            yield Drift(table, key, old, new)


def check_school(school_id: int, on: date | None = None) -> list[Drift]:
    """Recompute the school's figures without writing them; the differences from what
    is stored."""
    on = on or today()
    found: list[Drift] = []
    for year in school_years(school_id):
        classes = _classes_of(year)
        for period in year.periods:
            per_class, per_subject = class_rows(classes, period, on)
            found += _compare(
                "report_class",
                _stored(
                    ClassTally,
                    ("class_id", "period_id"),
                    ("school_id", "students", "as_of", *JUDGED),
                    sa.and_(ClassTally.period_id == period.id, ClassTally.class_id.in_(classes)),
                ),
                per_class,
            )
            found += _compare(
                "report_class_subject",
                _stored(
                    ClassSubjectTally,
                    ("class_id", "subject_id", "period_id"),
                    SUBJECT_COUNTS,
                    sa.and_(
                        ClassSubjectTally.period_id == period.id,
                        ClassSubjectTally.class_id.in_(classes),
                    ),
                ),
                per_subject,
            )
        found += _compare(
            "report_school_day",
            _stored(
                SchoolDayTally,
                ("school_id", "on_date"),
                DAY_COUNTS,
                sa.and_(
                    SchoolDayTally.school_id == school_id,
                    SchoolDayTally.on_date >= year.starts_on,
                    SchoolDayTally.on_date <= year.ends_on,
                ),
            ),
            day_rows(school_id, year.starts_on, year.ends_on),
        )
    return found


# --- following the session ---------------------------------------------------------------


@dataclass
class Pending:
    """What the transaction touched, until the commit refreshes it."""

    lessons: set[int]
    homework: set[int]
    finals: set[tuple[int, int | None]]  # student, period
    enrolments: set[tuple[int, date]]  # class, from
    schools: set[int]  # policy changed

    def __bool__(self) -> bool:
        return bool(self.lessons or self.homework or self.finals or self.enrolments or self.schools)


def _pending(session: Session) -> Pending:
    if PENDING not in session.info:
        session.info[PENDING] = Pending(set(), set(), set(), set(), set())
    return session.info[PENDING]


def _collect(session: Session, _context: Any) -> None:
    pending = _pending(session)
    for row in chain(session.new, session.dirty, session.deleted):
        if isinstance(row, Mark | Attendance):
            pending.lessons.add(row.lesson_id)
        elif isinstance(row, Lesson):
            pending.lessons.add(row.id)
        elif isinstance(row, Homework):
            pending.lessons.add(row.lesson_id)
        elif isinstance(row, HomeworkAttachment):
            pending.homework.add(row.homework_id)
        elif isinstance(row, FinalMark):
            pending.finals.add((row.student_id, row.period_id))
        elif isinstance(row, Enrolment):
            pending.enrolments.add((row.class_id, row.starts_on))
            history = sa.inspect(row).attrs.ends_on.history
            for day in chain(history.added or (), history.deleted or ()):
                if day is not None:
                    pending.enrolments.add((row.class_id, min(day, row.starts_on)))
        elif isinstance(row, MarkPolicy):
            pending.schools.add(row.school_id)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(PENDING, None)


def _periods_of(year_ids: Iterable[int]) -> dict[int, list[Period]]:
    found: dict[int, list[Period]] = defaultdict(list)
    for period in db.session.execute(
        sa.select(Period).where(Period.year_id.in_(list(set(year_ids))))
    ).scalars():
        found[period.year_id].append(period)
    return found


def flush_pending(session: Session) -> None:
    """Refresh every slice the transaction touched (called before the commit)."""
    session.flush()
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    slices: dict[int, set[int]] = defaultdict(set)  # period id → class ids
    days: dict[int, set[date]] = defaultdict(set)  # school → days
    spans: dict[int, list[tuple[date, date]]] = defaultdict(list)  # school → spans
    lesson_ids = set(pending.lessons)
    if pending.homework:
        lesson_ids |= set(
            session.execute(
                sa.select(Homework.lesson_id).where(Homework.id.in_(pending.homework))
            ).scalars()
        )
    places = session.execute(
        sa.select(SchoolClass.id, SchoolClass.school_id, SchoolClass.year_id, Lesson.on_date)
        .join(Lesson, Lesson.class_id == SchoolClass.id)
        .where(Lesson.id.in_(lesson_ids))
    ).all()
    enrolled = session.execute(
        sa.select(SchoolClass.id, SchoolClass.school_id, SchoolClass.year_id).where(
            SchoolClass.id.in_({class_id for class_id, _ in pending.enrolments})
        )
    ).all()
    final_classes = []
    if pending.finals:
        for student_id, period_id in pending.finals:
            if period_id is None:
                continue
            period = session.get(Period, period_id)
            if period is None:
                continue
            for class_id, school_id in session.execute(
                sa.select(SchoolClass.id, SchoolClass.school_id)
                .join(Enrolment, Enrolment.class_id == SchoolClass.id)
                .where(Enrolment.student_id == student_id, SchoolClass.year_id == period.year_id)
            ).all():
                final_classes.append((class_id, school_id, period))
    periods = _periods_of(
        [year for *_rest, year, _day in places] + [year for *_rest, year in enrolled]
    )
    for class_id, school_id, year_id, on_date in places:
        days[school_id].add(on_date)
        for period in periods[year_id]:
            if period.starts_on <= on_date <= period.ends_on:
                slices[period.id].add(class_id)
    for class_id, school_id, year_id in enrolled:
        since = min(day for cid, day in pending.enrolments if cid == class_id)
        year_periods = periods[year_id]
        for period in year_periods:
            if period.ends_on >= since:
                slices[period.id].add(class_id)
        spans[school_id].append((since, max((p.ends_on for p in year_periods), default=since)))
    for class_id, _school_id, period in final_classes:
        slices[period.id].add(class_id)
    schools = set(pending.schools)
    class_ids = set(chain.from_iterable(slices.values()))
    _lock(CLASS_LOCK, class_ids | set(chain.from_iterable(_all_classes(s) for s in schools)))
    _lock(SCHOOL_LOCK, set(days) | set(spans) | schools)
    on = today()
    for period_id, ids in slices.items():
        period = session.get(Period, period_id)
        if period is not None:
            refresh_classes(ids, period, on)
    for school_id, dates in days.items():
        for day in dates:
            refresh_days(school_id, day, day)
    for school_id, ranges in spans.items():
        for start, end in ranges:
            refresh_days(school_id, start, end)
    for school_id in schools:
        for year in school_years(school_id):
            for period in year.periods:
                refresh_classes(_classes_of(year), period, on)


def init_aggregates(app: Flask) -> None:
    """Follow the diary's session: collect after each flush, refresh before commit."""
    if app.extensions.get("report_aggregates"):
        return
    app.extensions["report_aggregates"] = True
    if getattr(db, "_report_aggregates", False):
        return
    db._report_aggregates = True  # type: ignore[attr-defined]
    event.listen(db.session, "after_flush", _collect)
    event.listen(db.session, "before_commit", flush_pending)
    event.listen(db.session, "after_rollback", _forget)
