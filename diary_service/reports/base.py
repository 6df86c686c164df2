"""Reports: what a class, a school and the region achieved in a period; this module holds
the figures every report shows (``Figures``) and the periods reports are made for.

Definitions (the pages state them too):

- a student's **average** in a subject is the school's rule applied to their current
  five-point marks of the period (``school.policy.average``: Σ mark×weight / Σ weight,
  or the plain mean under an "arithmetic" policy, rounded half up to two decimals), and
  their **period mark** is the final mark the teacher set or, while none is set, the
  mark the average suggests under the rule's thresholds;
- **success rate** (успеваемость): share of assessed students with no «2» (nor «1»,
  «незачёт») as a period mark in any subject; **quality** (качество знаний): share of
  assessed students whose period marks are all «4» or «5» (or «зачёт»); a student is
  assessed once they have a period mark in at least one subject;
- **average by subject**: the mean of the students' averages in the subject; a class's
  or school's average is the mean over every student×subject average;
- **attendance**: lessons missed by code, and the share of student-lessons attended:
  lessons of the period held up to today (``Lesson`` rows not cancelled) × students
  enrolled in the class on the lesson's day; «н», «б» and «у» count as missed, «оп»
  (late) as attended;
- **journal completeness**: of the lessons given up to today, the share with a topic
  and the share with homework; the single figure is the mean of the two.

Students counted for marks are those enrolled in the class on the report's day: the
period's last day, or today while the period runs; a class counts the marks of its own
lessons (not those a student got in another class or school before or after).

Everything is computed with grouped SQL over the whole set (one statement per figure,
never one per student), so the same code serves a class of 25 and a region of 200 000
students. The suggested mark is decided inside SQL with integer arithmetic, exactly as
``journal.policy`` decides it with decimals: round(S/W, 2) ≥ t  ⇔  200·S + W ≥ 2·⌈100·t⌉·W.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from diary_service.extensions import db
from diary_service.models.school import (
    AcademicYear,
    Period,
    School,
    SchoolClass,
)
from diary_service.school.timetable import period_on
from shared.errors import NotFound

NUMERIC_MARKS = ("1", "2", "3", "4", "5")
# Period marks that fail a student (success rate) and those that keep "quality".
FAILING_MARKS = ("1", "2", "fail")
GOOD_MARKS = ("4", "5", "pass")
# Attendance codes that mean the student was not at the lesson; «оп» (late) was there.
MISSED_CODES = ("н", "б", "у")
HUNDREDTH = Decimal("0.01")
TENTH = Decimal("0.1")


# --- figures ---------------------------------------------------------------------------


@dataclass
class Figures:
    """The counts behind a row of a report. Counts add up (classes into a school,
    schools into a municipality), rates are derived from them."""

    students: int = 0  # on the roll on the report's day
    assessed: int = 0  # with a period mark (set or suggested) in at least one subject
    successful: int = 0
    quality: int = 0
    cents_sum: int = 0  # Σ of averages in hundredths, over student×subject pairs
    cents_count: int = 0
    student_lessons: int = 0
    missed: Counter[str] = field(default_factory=Counter)  # attendance code → count
    lessons: int = 0  # given up to today
    with_topic: int = 0
    with_homework: int = 0
    without_marks: int = 0

    def add(self, other: Figures) -> Figures:
        for name in (
            "students",
            "assessed",
            "successful",
            "quality",
            "cents_sum",
            "cents_count",
            "student_lessons",
            "lessons",
            "with_topic",
            "with_homework",
            "without_marks",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.missed.update(other.missed)
        return self

    @property
    def average(self) -> Decimal | None:
        return mean_of_cents(self.cents_sum, self.cents_count)

    @property
    def success_rate(self) -> Decimal | None:
        return percent(self.successful, self.assessed)

    @property
    def quality_rate(self) -> Decimal | None:
        return percent(self.quality, self.assessed)

    @property
    def not_assessed(self) -> int:
        return max(self.students - self.assessed, 0)

    @property
    def absent(self) -> int:
        return sum(self.missed[code] for code in MISSED_CODES)

    @property
    def attended_rate(self) -> Decimal | None:
        return percent(self.student_lessons - self.absent, self.student_lessons)

    @property
    def topic_rate(self) -> Decimal | None:
        return percent(self.with_topic, self.lessons)

    @property
    def homework_rate(self) -> Decimal | None:
        return percent(self.with_homework, self.lessons)

    @property
    def completeness(self) -> Decimal | None:
        return percent(self.with_topic + self.with_homework, 2 * self.lessons)


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, one decimal (None of nothing)."""
    if not whole:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


def mean_of_cents(total: int, count: int) -> Decimal | None:
    if not count:
        return None
    return (Decimal(total) / Decimal(count) / 100).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def as_int(value: Any) -> int:
    # PostgreSQL's SUM over integers answers numeric (Decimal); SQLite answers int.
    return int(value or 0)


# --- periods ---------------------------------------------------------------------------


def period_name(period: Period) -> str:
    """«2 четверть 2026/2027»."""
    kind = period.year.period_kind
    if kind == "trimester":
        name = _("Trimester %(number)s", number=period.number)
    elif kind == "semester":
        name = _("Semester %(number)s", number=period.number)
    else:
        name = _("Quarter %(number)s", number=period.number)
    return f"{name} {period.year.name}"


def current_year(school_id: int, today: date) -> AcademicYear | None:
    """The school's academic year containing today; otherwise the latest one begun,
    otherwise the first one planned."""
    years = list(
        db.session.execute(
            sa.select(AcademicYear)
            .where(AcademicYear.school_id == school_id)
            .order_by(AcademicYear.starts_on)
        ).scalars()
    )
    return year_for(years, today)


def year_for(years: list[AcademicYear], today: date) -> AcademicYear | None:
    begun = [year for year in years if year.starts_on <= today]
    for year in begun:
        if today <= year.ends_on:
            return year
    if begun:
        return begun[-1]
    return years[0] if years else None


def default_period(year: AcademicYear, today: date) -> Period:
    period = period_on(year, today) or (year.periods[0] if year.periods else None)
    if period is None:
        raise NotFound(_("The academic year has no periods yet."))
    return period


def class_period(school_class: SchoolClass, period_id: int | None, today: date) -> Period:
    """The period of the class's year a report is asked for (the current one by
    default); 404 for a period of another year."""
    if period_id is None:
        return default_period(school_class.year, today)
    period = db.session.get(Period, period_id)
    if period is None or period.year_id != school_class.year_id:
        raise NotFound(_("There is no such period."))
    return period


def school_period(school: School, period_id: int | None, today: date) -> Period:
    if period_id is None:
        year = current_year(school.id, today)
        if year is None:
            raise NotFound(_("The school has no academic year yet."))
        return default_period(year, today)
    period = db.session.get(Period, period_id)
    if period is None or period.year.school_id != school.id:
        raise NotFound(_("There is no such period."))
    return period
