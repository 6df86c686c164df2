"""Keeping the reports' figures (``models/reports.py``) in step with the journal.

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from diary_service.extensions import db
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
    MarkPolicy,
)
from diary_service.models.reports import ClassSubjectTally, ClassTally, SchoolDayTally
from diary_service.models.school import AcademicYear, Enrolment, Period, SchoolClass
from diary_service.reports.tallies import Row, class_rows, day_rows, today

# Advisory lock namespaces (pg_advisory_xact_lock(namespace, id)).
CLASS_LOCK, SCHOOL_LOCK = 140001, 140002
PENDING = "report_pending"


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


def classes_of(year: AcademicYear) -> list[int]:
    return list(
        db.session.execute(sa.select(SchoolClass.id).where(SchoolClass.year_id == year.id))
        .scalars()
        .all()
    )


def refresh_school(school_id: int, on: date | None = None, current_only: bool = False) -> None:
    """Recompute every figure of the school (``current_only``: the period containing
    ``on`` of each year, and its days)."""
    refresh_schools([school_id], on, current_only)


def refresh_schools(
    school_ids: list[int], on: date | None = None, current_only: bool = False
) -> None:
    """``refresh_school`` for several schools at once: classes whose periods share their
    dates (a region's schools mostly keep one calendar) are computed together, a few
    grouped queries per period for all of them."""
    on = on or today()
    _lock(CLASS_LOCK, _all_classes(school_ids))
    _lock(SCHOOL_LOCK, school_ids)
    years = list(
        db.session.execute(
            sa.select(AcademicYear).where(AcademicYear.school_id.in_(school_ids))
        ).scalars()
    )
    by_year: dict[int, list[int]] = defaultdict(list)
    for class_id, year_id in db.session.execute(
        sa.select(SchoolClass.id, SchoolClass.year_id).where(SchoolClass.school_id.in_(school_ids))
    ).all():
        by_year[year_id].append(class_id)
    groups: dict[tuple[date, date], dict[int, Period]] = defaultdict(dict)
    spans: dict[tuple[date, date], list[int]] = defaultdict(list)
    for year in years:
        for period in year.periods:
            if current_only and not period.starts_on <= on <= period.ends_on:
                continue
            for class_id in by_year[year.id]:
                groups[(period.starts_on, period.ends_on)][class_id] = period
            if current_only:
                spans[(period.starts_on, period.ends_on)].append(year.school_id)
        if not current_only:
            spans[(year.starts_on, year.ends_on)].append(year.school_id)
    for periods in groups.values():
        first = next(iter(periods.values()))
        per_class, per_subject = class_rows(list(periods), first, on, periods)
        period_ids = {period.id for period in periods.values()}
        for model, rows, keys in (
            (ClassTally, per_class, ("class_id", "period_id")),
            (ClassSubjectTally, per_subject, ("class_id", "subject_id", "period_id")),
        ):
            _replace(
                model.__table__,
                sa.and_(model.period_id.in_(period_ids), model.class_id.in_(list(periods))),
                rows,
                keys,
            )
    for (start, end), ids in spans.items():
        _replace(
            SchoolDayTally.__table__,
            sa.and_(
                SchoolDayTally.school_id.in_(ids),
                SchoolDayTally.on_date >= start,
                SchoolDayTally.on_date <= end,
            ),
            day_rows(ids, start, end),
            ("school_id", "on_date"),
        )


def _all_classes(school_ids: int | list[int]) -> list[int]:
    ids = [school_ids] if isinstance(school_ids, int) else school_ids
    return list(
        db.session.execute(sa.select(SchoolClass.id).where(SchoolClass.school_id.in_(ids)))
        .scalars()
        .all()
    )


def school_ids() -> list[int]:
    table = db.metadata.tables["school"]
    return list(db.session.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())


def refresh_all(on: date | None = None, batch: int = 25) -> None:
    """The backfill: every school's figures from scratch, ``batch`` schools at a time
    (in the caller's transaction)."""
    ids = school_ids()
    for index in range(0, len(ids), batch):
        refresh_schools(ids[index : index + batch], on)


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
        # One span per school: the first view of a period's grid creates its lessons,
        # and a few grouped queries over the span beat the same queries per day.
        refresh_days(school_id, min(dates), max(dates))
    for school_id, ranges in spans.items():
        for start, end in ranges:
            refresh_days(school_id, start, end)
    for school_id in schools:
        for year in school_years(school_id):
            for period in year.periods:
                refresh_classes(classes_of(year), period, on)


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
