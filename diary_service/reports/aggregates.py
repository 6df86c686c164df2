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
    """Take the transaction's advisory locks on ``ids`` in ascending order, in one
    statement (``unnest`` keeps the array's order)."""
    keys = sorted(set(ids))
    if not keys or db.session.get_bind().dialect.name != "postgresql":
        return
    key = sa.func.unnest(sa.literal(keys, sa.ARRAY(sa.Integer))).column_valued("key")
    db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(namespace, key)))


def _replace(table: sa.Table, where: Any, rows: dict[tuple, Row], keys: tuple[str, ...]) -> None:
    db.session.execute(sa.delete(table).where(where))
    if rows:
        db.session.execute(
            sa.insert(table),
            [{**dict(zip(keys, key, strict=True)), **row} for key, row in rows.items()],
        )


# Classes to recompute, grouped by their periods' dates: class → its period. A region's
# schools mostly keep one calendar, so one group's few grouped queries serve the classes
# of many schools (and of both a test world's schools).
Groups = dict[tuple, dict[int, Period]]


def _add(groups: Groups, class_id: int, period: Period) -> None:
    key: tuple = (period.starts_on, period.ends_on)
    if groups[key].get(class_id, period).id != period.id:
        key = (*key, period.id)  # a second period of the same dates: a group of its own
    groups[key][class_id] = period


def _refresh_groups(groups: Groups, on: date) -> None:
    """Recompute and rewrite the class and class × subject rows of every group."""
    for periods in groups.values():
        if not periods:
            continue
        first = next(iter(periods.values()))
        per_class, per_subject = class_rows(list(periods), first, on, periods)
        pairs = [(class_id, period.id) for class_id, period in periods.items()]
        for model, rows, keys in (
            (ClassTally, per_class, ("class_id", "period_id")),
            (ClassSubjectTally, per_subject, ("class_id", "subject_id", "period_id")),
        ):
            _replace(
                model.__table__,
                sa.tuple_(model.class_id, model.period_id).in_(pairs),
                rows,
                keys,
            )


def _refresh_days(spans: dict[tuple[date, date], set[int]]) -> None:
    """Recompute and rewrite the day rows of each span's schools."""
    for (start, end), ids in spans.items():
        _replace(
            SchoolDayTally.__table__,
            sa.and_(
                SchoolDayTally.school_id.in_(sorted(ids)),
                SchoolDayTally.on_date >= start,
                SchoolDayTally.on_date <= end,
            ),
            day_rows(sorted(ids), start, end),
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
    groups: Groups = defaultdict(dict)
    spans: dict[tuple[date, date], set[int]] = defaultdict(set)
    for year in years:
        for period in year.periods:
            if current_only and not period.starts_on <= on <= period.ends_on:
                continue
            for class_id in by_year[year.id]:
                _add(groups, class_id, period)
            if current_only:
                spans[(period.starts_on, period.ends_on)].add(year.school_id)
        if not current_only:
            spans[(year.starts_on, year.ends_on)].add(year.school_id)
    _refresh_groups(groups, on)
    _refresh_days(spans)


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
    lesson_ids = set(pending.lessons)
    if pending.homework:
        lesson_ids |= set(
            session.execute(
                sa.select(Homework.lesson_id).where(Homework.id.in_(pending.homework))
            ).scalars()
        )
    places = (
        session.execute(
            sa.select(SchoolClass.id, SchoolClass.school_id, SchoolClass.year_id, Lesson.on_date)
            .join(Lesson, Lesson.class_id == SchoolClass.id)
            .where(Lesson.id.in_(lesson_ids))
        ).all()
        if lesson_ids
        else []
    )
    enrolled = (
        session.execute(
            sa.select(SchoolClass.id, SchoolClass.school_id, SchoolClass.year_id).where(
                SchoolClass.id.in_({class_id for class_id, _ in pending.enrolments})
            )
        ).all()
        if pending.enrolments
        else []
    )
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
    if pending.schools:
        policy_classes = session.execute(
            sa.select(SchoolClass.id, SchoolClass.school_id, SchoolClass.year_id).where(
                SchoolClass.school_id.in_(pending.schools)
            )
        ).all()
    else:
        policy_classes = []
    periods = _periods_of(
        [year for *_rest, year, _day in places]
        + [year for *_rest, year in enrolled]
        + [year for *_rest, year in policy_classes]
    )
    groups: Groups = defaultdict(dict)
    days: dict[int, set[date]] = defaultdict(set)  # school → days
    spans: dict[tuple[date, date], set[int]] = defaultdict(set)  # span → schools
    for class_id, school_id, year_id, on_date in places:
        days[school_id].add(on_date)
        for period in periods[year_id]:
            if period.starts_on <= on_date <= period.ends_on:
                _add(groups, class_id, period)
    for class_id, school_id, year_id in enrolled:
        since = min(day for cid, day in pending.enrolments if cid == class_id)
        year_periods = periods[year_id]
        for period in year_periods:
            if period.ends_on >= since:
                _add(groups, class_id, period)
        spans[(since, max((p.ends_on for p in year_periods), default=since))].add(school_id)
    for class_id, _school_id, period in final_classes:
        _add(groups, class_id, period)
    for class_id, _school_id, year_id in policy_classes:  # a new mark policy: every period
        for period in periods[year_id]:
            _add(groups, class_id, period)
    for school_id, dates in days.items():
        # One span per school: the first view of a period's grid creates its lessons,
        # and a few grouped queries over the span beat the same queries per day.
        spans[(min(dates), max(dates))].add(school_id)
    _lock(CLASS_LOCK, chain.from_iterable(groups.values()))
    _lock(SCHOOL_LOCK, set(chain.from_iterable(spans.values())) | set(pending.schools))
    _refresh_groups(groups, today())
    _refresh_days(spans)


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
