"""``make bench``: seed a region into a throwaway database and time the diary's heaviest
reads on it.

    .venv/bin/python -m tests.bench.bench_diary --schools 20
    DIARY_DATABASE_URL=postgresql://... .venv/bin/python -m tests.bench.bench_diary --schools 450

Without ``DIARY_DATABASE_URL`` (or ``--database-url``) the region goes into a temporary
SQLite file, deleted afterwards. A database that already holds a region is not seeded
again: only its queries are timed. Speed goals live here, never in the tests; pytest
does not collect this file (its name is not ``test_*.py``).

What is timed, each over random samples (median and 95th percentile):
- the seed itself (rows a second);
- a student's marks for the current period (the family's marks page);
- a class journal grid: one class and subject over the period, with the roster, the
  lessons, their marks and absences (the teacher's journal page);
- a school report: average mark and number of marks per class and subject, and absences
  per class, over the period (the administrator's report);
- the region's dashboard: average mark per school over the period (the department).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from diary_service import create_app
from diary_service.demo.seed import DEFAULT_SEED, seed_region
from diary_service.extensions import db
from diary_service.models.journal import Attendance, Lesson, Mark
from diary_service.models.school import (
    AcademicYear,
    Enrolment,
    Period,
    SchoolClass,
    Student,
    TeachingAssignment,
)

ROOT = Path(__file__).resolve().parents[2]
FIVE_POINT = ("1", "2", "3", "4", "5")


def timed(run: Callable[[], int], samples: int) -> tuple[float, float, int]:
    """Median and 95th percentile in milliseconds, and the rows the last run returned."""
    times, rows = [], 0
    for _ in range(samples):
        started = time.perf_counter()
        rows = run()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()  # each run starts its own transaction, as a request does
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, rows


def current_period(school_id: int, today: date) -> Period:
    """The period containing today, or else the last one begun."""
    return (
        db.session.execute(
            sa.select(Period)
            .join(AcademicYear, AcademicYear.id == Period.year_id)
            .where(AcademicYear.school_id == school_id, Period.starts_on <= today)
            .order_by(Period.starts_on.desc())
            .limit(1)
        )
        .scalars()
        .one()
    )


def student_marks(student_id: int, period: Period) -> int:
    return len(
        db.session.execute(
            sa.select(Mark.value, Mark.kind, Mark.weight, Lesson.on_date, Lesson.subject_id)
            .join(Lesson, Lesson.id == Mark.lesson_id)
            .where(
                Mark.student_id == student_id,
                Mark.is_current.is_(True),
                Mark.deleted.is_(False),
                Lesson.on_date.between(period.starts_on, period.ends_on),
            )
            .order_by(Lesson.subject_id, Lesson.on_date)
        ).all()
    )


def journal_grid(class_id: int, subject_id: int, period: Period) -> int:
    roster = db.session.execute(
        sa.select(Student.id, Student.family_name, Student.given_name)
        .join(Enrolment, Enrolment.student_id == Student.id)
        .where(
            Enrolment.class_id == class_id,
            Enrolment.starts_on <= period.ends_on,
            sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > period.starts_on),
        )
        .order_by(Student.family_name, Student.given_name)
    ).all()
    lessons = (
        sa.select(Lesson.id)
        .where(
            Lesson.class_id == class_id,
            Lesson.subject_id == subject_id,
            Lesson.on_date.between(period.starts_on, period.ends_on),
        )
        .scalar_subquery()
    )
    marks = db.session.execute(
        sa.select(Mark.lesson_id, Mark.student_id, Mark.value, Mark.kind, Mark.weight).where(
            Mark.lesson_id.in_(lessons), Mark.is_current.is_(True)
        )
    ).all()
    absences = db.session.execute(
        sa.select(Attendance.lesson_id, Attendance.student_id, Attendance.code).where(
            Attendance.lesson_id.in_(lessons), Attendance.is_current.is_(True)
        )
    ).all()
    return len(roster) + len(marks) + len(absences)


def school_report(school_id: int, period: Period) -> int:
    in_period = Lesson.on_date.between(period.starts_on, period.ends_on)
    averages = db.session.execute(
        sa.select(
            Lesson.class_id,
            Lesson.subject_id,
            sa.func.avg(sa.cast(Mark.value, sa.Integer)),
            sa.func.count(),
        )
        .join(Mark, Mark.lesson_id == Lesson.id)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .where(
            SchoolClass.school_id == school_id,
            in_period,
            Mark.is_current.is_(True),
            Mark.value.in_(FIVE_POINT),
        )
        .group_by(Lesson.class_id, Lesson.subject_id)
    ).all()
    absences = db.session.execute(
        sa.select(Lesson.class_id, Attendance.code, sa.func.count())
        .join(Attendance, Attendance.lesson_id == Lesson.id)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .where(SchoolClass.school_id == school_id, in_period, Attendance.is_current.is_(True))
        .group_by(Lesson.class_id, Attendance.code)
    ).all()
    return len(averages) + len(absences)


def region_dashboard(period: Period) -> int:
    return len(
        db.session.execute(
            sa.select(SchoolClass.school_id, sa.func.avg(sa.cast(Mark.value, sa.Integer)))
            .join(Lesson, Lesson.class_id == SchoolClass.id)
            .join(Mark, Mark.lesson_id == Lesson.id)
            .where(
                Lesson.on_date.between(period.starts_on, period.ends_on),
                Mark.is_current.is_(True),
                Mark.value.in_(FIVE_POINT),
            )
            .group_by(SchoolClass.school_id)
        ).all()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=20, help="schools in the region")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the region's seed")
    parser.add_argument("--samples", type=int, default=30, help="runs of each query")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DIARY_DATABASE_URL", ""),
        help="an empty (or already seeded) database; default: a temporary SQLite file",
    )
    args = parser.parse_args(argv)
    scratch = None
    url = args.database_url
    if not url:
        scratch = Path(tempfile.mkdtemp(prefix="diary-bench-"))
        url = f"sqlite:///{scratch / 'bench.db'}"
    app = create_app({"DATABASE_URL": url})
    try:
        with app.app_context():
            return run(app, args, url)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def run(app, args: argparse.Namespace, url: str) -> int:
    shown = url.split("@")[-1] if "@" in url else url  # never print a password
    print(f"database: {shown}", flush=True)
    upgrade(directory=str(ROOT / "diary_service" / "migrations"))
    if app.config["ENV"] == "production":
        print("refused: the benchmark seeds demo data, never in production", file=sys.stderr)
        return 1
    report = seed_region(
        scale="region", key=app.config["BLIND_INDEX_KEY"], schools=args.schools, seed=args.seed
    )
    lines = []
    if report is None:
        print("the database already holds a region: timing its queries only")
    else:
        counts = report.counts
        lines.append(
            f"seed: {counts['school']} schools, {counts['student']:,} students, "
            f"{counts['lesson']:,} lessons, {counts['mark']:,} marks, "
            f"{counts['attendance']:,} absences: {report.rows:,} rows in "
            f"{report.seconds:.1f} s = {report.rows_per_second:,.0f} rows/s"
        )
    today = date.today()
    rng = random.Random(args.seed)
    students = db.session.execute(sa.select(Student.id, Student.school_id)).all()
    pairs = db.session.execute(
        sa.select(TeachingAssignment.class_id, TeachingAssignment.subject_id, SchoolClass.school_id)
        .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        .where(SchoolClass.grade >= 2)
    ).all()
    school_ids = sorted({school_id for _id, school_id in students})
    periods = {school_id: current_period(school_id, today) for school_id in school_ids}

    def a_students_marks() -> int:
        student_id, school_id = rng.choice(students)
        return student_marks(student_id, periods[school_id])

    def a_journal_grid() -> int:
        class_id, subject_id, school_id = rng.choice(pairs)
        return journal_grid(class_id, subject_id, periods[school_id])

    def a_school_report() -> int:
        school_id = rng.choice(school_ids)
        return school_report(school_id, periods[school_id])

    def the_region_dashboard() -> int:
        return region_dashboard(periods[school_ids[0]])

    samples = args.samples
    school_runs = max(3, samples // 3)
    rows = [
        ("student's marks for the period", samples, timed(a_students_marks, samples)),
        ("class journal grid (class × subject)", samples, timed(a_journal_grid, samples)),
        ("school report (averages, absences)", school_runs, timed(a_school_report, school_runs)),
        ("region dashboard (average per school)", 3, timed(the_region_dashboard, 3)),
    ]
    print()
    for line in lines:
        print(line)
    print()
    print(f"{'query':<42}{'runs':>6}{'median ms':>12}{'p95 ms':>10}{'rows':>8}")
    for name, runs, (median, p95, count) in rows:
        print(f"{name:<42}{runs:>6}{median:>12.1f}{p95:>10.1f}{count:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
