"""Reports: what a class, a school and the region achieved in a period.

Definitions (the pages state them too):

- a student's **average** in a subject is the school's rule applied to their current
  five-point marks of the period (``journal.policy.average``: Σ mark×weight / Σ weight,
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

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from diary_service.access import Reach, Viewer, can_view_student
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
from diary_service.journal.queries import (
    current_final_marks,
    current_policy,
    rule_of,
    summarize,
)
from diary_service.school.models import (
    AcademicYear,
    Enrolment,
    Municipality,
    Period,
    School,
    SchoolClass,
    StaffMember,
    Student,
    Subject,
    TeachingAssignment,
)
from diary_service.school.policy import DEFAULT_RULE, Rule
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


def _int(value: Any) -> int:
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
    return _year_for(years, today)


def _year_for(years: list[AcademicYear], today: date) -> AcademicYear | None:
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


# --- the shared SQL --------------------------------------------------------------------


def _span(today: date, *where: Any) -> sa.CTE:
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


def _roster(span: sa.CTE) -> sa.CTE:
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
            Enrolment.starts_on <= span.c.as_of,
            sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > span.c.as_of),
        )
        .distinct()
        .cte("roster")
    )


def _ceil_cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value(rounding=ROUND_CEILING))


def _per_school(column: Any, values: Mapping[int, Any], default: Any) -> Any:
    """A value that depends on the school (its rule): a literal when every school has
    the same, else a CASE over the schools grouped by value (few distinct rules)."""
    distinct = set(values.values())
    if len(distinct) <= 1:
        return sa.literal(next(iter(distinct), default))
    groups: dict[Any, list[int]] = defaultdict(list)
    for school_id, value in values.items():
        groups[value].append(school_id)
    return sa.case(*[(column.in_(ids), value) for value, ids in groups.items()], else_=default)


def _pairs(roster: sa.CTE, rules: Mapping[int, Rule], within: tuple[date, date]) -> sa.CTE:
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

    arithmetic = _per_school(
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
        mark: _per_school(
            graded.c.school_id,
            {sid: _ceil_cents(rule.thresholds[mark]) for sid, rule in rules.items()},
            _ceil_cents(DEFAULT_RULE.thresholds[mark]),
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


def _student_figures(pairs: sa.CTE, key: str) -> dict[int, Figures]:
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
    return {
        row[0]: Figures(
            assessed=_int(row[1]),
            successful=_int(row[2]),
            quality=_int(row[3]),
            cents_sum=_int(row[4]),
            cents_count=_int(row[5]),
        )
        for row in rows
    }


def _subject_figures(pairs: sa.CTE) -> dict[int, Figures]:
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
    return {
        row[0]: Figures(
            assessed=_int(row[1]),
            successful=_int(row[2]),
            quality=_int(row[3]),
            cents_sum=_int(row[4]),
            cents_count=_int(row[5]),
        )
        for row in rows
    }


def _roll_counts(roster: sa.CTE, key: str) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(roster.c[key], sa.func.count(sa.distinct(roster.c.student_id))).group_by(
            roster.c[key]
        )
    ).all()
    return {row[0]: _int(row[1]) for row in rows}


def _held(span: sa.CTE) -> sa.CTE:
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


def _attendance(span: sa.CTE, keys: tuple[str, ...]) -> dict[tuple[int, ...], Figures]:
    """Student-lessons (each lesson held × each student enrolled in the class that day)
    and missed lessons by code, per ``keys`` (any of school_id, class_id, subject_id,
    student_id)."""
    held = _held(span)
    columns = [Enrolment.student_id if key == "student_id" else held.c[key] for key in keys]
    enrolled = sa.and_(
        Enrolment.class_id == held.c.class_id,
        Enrolment.starts_on <= held.c.on_date,
        sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > held.c.on_date),
    )
    result: dict[tuple[int, ...], Figures] = defaultdict(Figures)
    for *key, count in db.session.execute(
        sa.select(*columns, sa.func.count())
        .select_from(held)
        .join(Enrolment, enrolled)
        .group_by(*columns)
    ).all():
        result[tuple(key)].student_lessons = _int(count)
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
        result[tuple(key)].missed[code] += _int(count)
    return dict(result)


def _completeness(span: sa.CTE, key: str) -> dict[int, Figures]:
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
            lessons=_int(row[1]),
            with_topic=_int(row[2]),
            with_homework=_int(row[3]),
            without_marks=_int(row[4]),
        )
        for row in rows
    }


# --- the class report ------------------------------------------------------------------


@dataclass
class Cell:
    """A student's standing in one subject."""

    average: Decimal | None
    suggested: str | None
    final: str | None

    @property
    def mark(self) -> str | None:
        return self.final if self.final is not None else self.suggested


@dataclass
class StudentRow:
    student: Student
    cells: dict[int, Cell] = field(default_factory=dict)  # subject id → cell
    average: Decimal | None = None  # mean of the subject averages
    place: int | None = None
    attendance: Figures = field(default_factory=Figures)


@dataclass
class ClassReport:
    school_class: SchoolClass
    period: Period
    subjects: list[Subject]
    by_subject: dict[int, Figures]
    total: Figures
    students: list[StudentRow]  # by name
    rating_enabled: bool

    @property
    def rating(self) -> list[StudentRow]:
        """Ranked students, best first (empty when the school does not rank)."""
        if not self.rating_enabled:
            return []
        ranked = [row for row in self.students if row.place is not None]
        return sorted(ranked, key=lambda row: (row.place or 0, row.student.full_name))


def _rank(rows: Iterable[StudentRow]) -> None:
    """Places by overall average; equal averages share a place (1, 2, 2, 4)."""
    ranked = sorted(
        (row for row in rows if row.average is not None),
        key=lambda row: row.average or Decimal(0),
        reverse=True,
    )
    previous: Decimal | None = None
    place = 0
    for index, row in enumerate(ranked, start=1):
        if row.average != previous:
            place = index
            previous = row.average
        row.place = place


def class_report(school_class: SchoolClass, period: Period, today: date) -> ClassReport:
    """Per subject and for the class: averages, quality, success, attendance; per
    student: the subject averages and period marks, attendance and (if the school ranks
    students) the place."""
    school = school_class.school
    rule = rule_of(current_policy(school.id))
    span = _span(today, SchoolClass.id == school_class.id, Period.id == period.id)
    roster = _roster(span)
    pairs = _pairs(roster, {school.id: rule}, (period.starts_on, period.ends_on))
    students = list(
        db.session.execute(
            sa.select(Student)
            .where(Student.id.in_(sa.select(roster.c.student_id)))
            .order_by(Student.family_name, Student.given_name, Student.middle_name, Student.id)
        ).scalars()
    )
    rows = {student.id: StudentRow(student=student) for student in students}
    for pair in db.session.execute(sa.select(pairs)).mappings():
        row = rows.get(pair["student_id"])
        if row is None:
            continue
        cents = pair["cents"]
        row.cells[pair["subject_id"]] = Cell(
            average=None if cents is None else (Decimal(int(cents)) / 100).quantize(HUNDREDTH),
            suggested=pair["suggested"],
            final=pair["final"],
        )
    for row in rows.values():
        averages = [
            int(cell.average * 100) for cell in row.cells.values() if cell.average is not None
        ]
        row.average = mean_of_cents(sum(averages), len(averages))
    if school.rating_enabled:
        _rank(rows.values())
    total = _student_figures(pairs, "class_id").get(school_class.id, Figures())
    total.students = len(students)
    # Students who left before the roll's day still count in the lessons they were in.
    for (student_id,), figures in _attendance(span, ("student_id",)).items():
        total.add(figures)
        if student_id in rows:
            rows[student_id].attendance = figures
    by_subject = _subject_figures(pairs)
    return ClassReport(
        school_class=school_class,
        period=period,
        subjects=_subjects_of(school_class.id, by_subject),
        by_subject=by_subject,
        total=total,
        students=list(rows.values()),
        rating_enabled=school.rating_enabled,
    )


def _subjects_of(class_id: int, with_marks: Iterable[int]) -> list[Subject]:
    """The class's subjects: those taught to it and those it has marks in."""
    taught = sa.select(TeachingAssignment.subject_id).where(TeachingAssignment.class_id == class_id)
    return list(
        db.session.execute(
            sa.select(Subject)
            .where(sa.or_(Subject.id.in_(taught), Subject.id.in_(list(with_marks))))
            .order_by(Subject.name)
        ).scalars()
    )


@dataclass(frozen=True)
class Place:
    place: int | None  # None: no average yet, not ranked
    of: int


def student_place(student: Student, period_id: int | None, today: date, reach: Reach) -> Place:
    """The student's place in their class's rating — only the place and the number of
    ranked classmates, nothing about anyone else. 404 when the school does not rank.
    The class is the one the student is in (or was last in); for staff, the latest
    class of theirs the student was in (the old school ranks in its own class)."""
    school_class = _class_on(student, today)
    if "marks" not in reach.whole:
        latest = reach.latest("marks")
        school_class = db.session.get(SchoolClass, latest.class_id) if latest else None
    if school_class is None or not school_class.school.rating_enabled:
        raise NotFound()
    period = class_period(school_class, period_id, today)
    report = class_report(school_class, period, today)
    ranked = [row for row in report.students if row.place is not None]
    own = next((row for row in report.students if row.student.id == student.id), None)
    return Place(place=own.place if own else None, of=len(ranked))


def _class_on(student: Student, today: date) -> SchoolClass | None:
    """The class the student is in today, or their latest class (summer)."""
    return db.session.execute(
        sa.select(SchoolClass)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .where(Enrolment.student_id == student.id, Enrolment.starts_on <= today)
        .order_by(
            sa.case((Enrolment.ends_on.is_(None), 0), else_=1),
            Enrolment.starts_on.desc(),
        )
        .limit(1)
    ).scalar_one_or_none()


def rating_enabled_for(student: Student) -> bool:
    return student.school is not None and student.school.rating_enabled


# --- the school report -----------------------------------------------------------------


@dataclass
class SchoolReport:
    school: School
    period: Period
    classes: list[tuple[SchoolClass, Figures]]
    subjects: list[tuple[Subject, Figures]]
    teachers: list[tuple[StaffMember, Figures]]
    total: Figures


def school_report(school: School, period: Period, today: date) -> SchoolReport:
    """Per class and per subject: averages, quality, success, attendance; per teacher:
    how complete their journal is. Aggregates only: no student is named."""
    rule = rule_of(current_policy(school.id))
    span = _span(
        today,
        SchoolClass.school_id == school.id,
        SchoolClass.year_id == period.year_id,
        Period.id == period.id,
    )
    roster = _roster(span)
    pairs = _pairs(roster, {school.id: rule}, (period.starts_on, period.ends_on))
    classes = list(
        db.session.execute(
            sa.select(SchoolClass)
            .where(SchoolClass.school_id == school.id, SchoolClass.year_id == period.year_id)
            .order_by(SchoolClass.grade, SchoolClass.letter)
        ).scalars()
    )
    by_class = _student_figures(pairs, "class_id")
    rolls = _roll_counts(roster, "class_id")
    by_subject = _subject_figures(pairs)
    attendance = _attendance(span, ("class_id", "subject_id"))
    class_rows = []
    total = Figures()
    for school_class in classes:
        figures = by_class.get(school_class.id, Figures())
        figures.students = rolls.get(school_class.id, 0)
        for (class_id, _subject_id), counts in attendance.items():
            if class_id == school_class.id:
                figures.add(counts)
        class_rows.append((school_class, figures))
        total.add(figures)
    subject_ids = set(by_subject) | {subject_id for _class_id, subject_id in attendance}
    subjects = list(
        db.session.execute(
            sa.select(Subject).where(Subject.id.in_(subject_ids)).order_by(Subject.name)
        ).scalars()
    )
    subject_rows = []
    for subject in subjects:
        figures = by_subject.get(subject.id, Figures())
        for (_class_id, subject_id), counts in attendance.items():
            if subject_id == subject.id:
                figures.add(counts)
        subject_rows.append((subject, figures))
    by_teacher = _completeness(span, "teacher_id")
    teachers = {
        member.id: member
        for member in db.session.execute(
            sa.select(StaffMember).where(StaffMember.id.in_(list(by_teacher)))
        ).scalars()
    }
    teacher_rows = sorted(
        ((teachers[tid], figures) for tid, figures in by_teacher.items()),
        key=lambda item: item[0].full_name,
    )
    for _member, figures in teacher_rows:
        total.add(figures)
    return SchoolReport(
        school=school,
        period=period,
        classes=class_rows,
        subjects=subject_rows,
        teachers=teacher_rows,
        total=total,
    )


# --- the department's dashboard --------------------------------------------------------


@dataclass
class SchoolLine:
    school: School
    period: Period | None  # None: the school's year has no period of that number
    figures: Figures


@dataclass
class MunicipalityBlock:
    municipality: Municipality
    schools: list[SchoolLine]
    total: Figures


@dataclass
class RegionReport:
    period_number: int
    numbers: list[int]  # period numbers the schools' current years have
    municipalities: list[MunicipalityBlock]
    total: Figures


def _current_years(today: date) -> dict[int, AcademicYear]:
    years: dict[int, list[AcademicYear]] = defaultdict(list)
    for year in db.session.execute(
        sa.select(AcademicYear)
        .options(selectinload(AcademicYear.periods))
        .order_by(AcademicYear.starts_on)
    ).scalars():
        years[year.school_id].append(year)
    found = {school_id: _year_for(items, today) for school_id, items in years.items()}
    return {school_id: year for school_id, year in found.items() if year is not None}


def _rules(school_ids: Iterable[int]) -> dict[int, Rule]:
    """The rule in force at each school, in one query (``current_policy`` per school
    would be one query per school of the region)."""
    ids = list(school_ids)
    latest: dict[int, MarkPolicy] = {}
    for policy in db.session.execute(
        sa.select(MarkPolicy).where(MarkPolicy.school_id.in_(ids)).order_by(MarkPolicy.version)
    ).scalars():
        latest[policy.school_id] = policy
    return {school_id: rule_of(latest.get(school_id)) for school_id in ids}


def _default_period_number(years: Iterable[AcademicYear], today: date) -> int:
    """The number of the period most schools are in today."""
    numbers = Counter(
        period.number for year in years if (period := period_on(year, today)) is not None
    )
    return numbers.most_common(1)[0][0] if numbers else 1


def region_report(period_number: int | None, today: date) -> RegionReport:
    """Per municipality and school, for the period of that number in each school's
    current year: students, average, quality, success, attendance and journal
    completeness. Aggregates only."""
    years = _current_years(today)
    numbers = sorted({period.number for year in years.values() for period in year.periods})
    if period_number is None:
        period_number = _default_period_number(years.values(), today)
    elif period_number not in numbers:
        raise NotFound(_("There is no such period."))
    periods = [p for year in years.values() for p in year.periods if p.number == period_number]
    span = _span(
        today,
        SchoolClass.year_id.in_([year.id for year in years.values()]),
        Period.number == period_number,
    )
    roster = _roster(span)
    within = (
        (min(p.starts_on for p in periods), max(p.ends_on for p in periods))
        if periods
        else (today, today)
    )
    pairs = _pairs(roster, _rules(years), within)
    by_school = _student_figures(pairs, "school_id")
    rolls = _roll_counts(roster, "school_id")
    attendance = _attendance(span, ("school_id",))
    completeness = _completeness(span, "school_id")
    municipalities = list(
        db.session.execute(
            sa.select(Municipality)
            .options(selectinload(Municipality.schools))
            .order_by(Municipality.name)
        ).scalars()
    )
    blocks = []
    region = Figures()
    for municipality in municipalities:
        lines = []
        subtotal = Figures()
        for school in municipality.schools:
            year = years.get(school.id)
            period = next(
                (p for p in (year.periods if year else []) if p.number == period_number), None
            )
            figures = by_school.get(school.id, Figures())
            figures.students = rolls.get(school.id, 0)
            figures.add(attendance.get((school.id,), Figures()))
            figures.add(completeness.get(school.id, Figures()))
            lines.append(SchoolLine(school=school, period=period, figures=figures))
            subtotal.add(figures)
        blocks.append(MunicipalityBlock(municipality=municipality, schools=lines, total=subtotal))
        region.add(subtotal)
    return RegionReport(
        period_number=period_number, numbers=numbers, municipalities=blocks, total=region
    )


# --- the printable journal -------------------------------------------------------------


@dataclass
class SheetRow:
    student: Student
    marks: dict[int, list[str]]  # lesson id → values
    absences: dict[int, str]  # lesson id → code
    average: Decimal | None
    suggested: str | None
    final: str | None


@dataclass
class JournalSheet:
    school_class: SchoolClass
    subject: Subject
    period: Period
    teachers: list[StaffMember]
    lessons: list[Lesson]
    rows: list[SheetRow]

    @property
    def months(self) -> list[list[Lesson]]:
        """The lessons month by month, as the paper journal's spreads are."""
        months: dict[tuple[int, int], list[Lesson]] = {}
        for lesson in self.lessons:
            months.setdefault((lesson.on_date.year, lesson.on_date.month), []).append(lesson)
        return list(months.values())


def journal_sheet(school_class: SchoolClass, subject: Subject, period: Period) -> JournalSheet:
    """The class journal of one subject for a period, laid out as on paper: every
    student enrolled during the period × the lessons given, with marks and absences, and
    the lessons' topics and homework."""
    lessons = list(
        db.session.execute(
            sa.select(Lesson)
            .options(selectinload(Lesson.homework))
            .where(
                Lesson.class_id == school_class.id,
                Lesson.subject_id == subject.id,
                Lesson.cancelled.is_(False),
                Lesson.on_date >= period.starts_on,
                Lesson.on_date <= period.ends_on,
            )
            .order_by(Lesson.on_date, Lesson.lesson_number)
        ).scalars()
    )
    students = list(
        db.session.execute(
            sa.select(Student)
            .where(
                Student.id.in_(
                    sa.select(Enrolment.student_id).where(
                        Enrolment.class_id == school_class.id,
                        Enrolment.starts_on <= period.ends_on,
                        sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > period.starts_on),
                    )
                )
            )
            .order_by(Student.family_name, Student.given_name, Student.middle_name, Student.id)
        ).scalars()
    )
    lesson_ids = [lesson.id for lesson in lessons]
    marks: dict[int, list[Mark]] = defaultdict(list)
    for mark in db.session.execute(
        sa.select(Mark)
        .join(Lesson, Lesson.id == Mark.lesson_id)
        .where(
            Mark.lesson_id.in_(lesson_ids),
            Mark.is_current.is_(True),
            Mark.deleted.is_(False),
        )
        .order_by(Lesson.on_date, Lesson.lesson_number, Mark.id)
    ).scalars():
        marks[mark.student_id].append(mark)
    absences: dict[int, dict[int, str]] = defaultdict(dict)
    for attendance in db.session.execute(
        sa.select(Attendance).where(
            Attendance.lesson_id.in_(lesson_ids),
            Attendance.is_current.is_(True),
            Attendance.deleted.is_(False),
        )
    ).scalars():
        absences[attendance.student_id][attendance.lesson_id] = attendance.code
    finals = {
        final.student_id: final.value
        for final in current_final_marks(
            [student.id for student in students], period.year_id, subject.id
        )
        if final.period_id == period.id
    }
    rule = rule_of(current_policy(school_class.school_id))
    rows = []
    for student in students:
        summary = summarize(subject, marks.get(student.id, []), rule)
        by_lesson: dict[int, list[str]] = defaultdict(list)
        for mark in summary.marks:
            by_lesson[mark.lesson_id].append(mark.value)
        rows.append(
            SheetRow(
                student=student,
                marks=dict(by_lesson),
                absences=absences.get(student.id, {}),
                average=summary.average,
                suggested=summary.suggested,
                final=finals.get(student.id),
            )
        )
    teachers = list(
        db.session.execute(
            sa.select(StaffMember)
            .join(TeachingAssignment, TeachingAssignment.teacher_id == StaffMember.id)
            .where(
                TeachingAssignment.class_id == school_class.id,
                TeachingAssignment.subject_id == subject.id,
            )
            .order_by(StaffMember.family_name)
        ).scalars()
    )
    return JournalSheet(
        school_class=school_class,
        subject=subject,
        period=period,
        teachers=teachers,
        lessons=lessons,
        rows=rows,
    )


# --- what a viewer may open ------------------------------------------------------------


@dataclass
class Overview:
    """The reports a viewer may open, for the reports' front page."""

    classes: list[SchoolClass] = field(default_factory=list)
    schools: list[School] = field(default_factory=list)
    region: bool = False
    ratings: list[Student] = field(default_factory=list)  # own / children, where ranked
    subjects: dict[int, list[Subject]] = field(default_factory=dict)  # class id → subjects


def overview(viewer: Viewer, today: date) -> Overview:
    """Their classes (led or taught; all classes of their school for an administrator),
    their schools (administrator), the region (department); families: the students
    whose place in the class rating they may see."""
    result = Overview(region=viewer.department)
    class_ids = set(viewer.class_teacher_of) | {class_id for class_id, _ in viewer.teaches}
    admin_years = [
        year.id
        for school_id in viewer.school_admin_of
        if (year := current_year(school_id, today)) is not None
    ]
    query = sa.select(SchoolClass).where(
        sa.or_(SchoolClass.id.in_(class_ids), SchoolClass.year_id.in_(admin_years))
    )
    classes = list(db.session.execute(query).scalars())
    result.classes = sorted(
        classes, key=lambda c: (-c.year.starts_on.toordinal(), c.school_id, c.grade, c.letter)
    )
    if viewer.department:
        schools_query = sa.select(School)
    else:
        schools_query = sa.select(School).where(School.id.in_(viewer.school_admin_of))
    result.schools = list(
        db.session.execute(schools_query.order_by(School.municipality_id, School.name)).scalars()
    )
    family = viewer.family_ids
    if family:
        # A trusted person's child only when their grant includes the marks.
        result.ratings = [
            student
            for student in db.session.execute(
                sa.select(Student)
                .where(Student.id.in_(family))
                .order_by(Student.family_name, Student.given_name)
            ).scalars()
            if rating_enabled_for(student) and can_view_student(viewer, student, "marks")
        ]
    if result.classes:
        taught = db.session.execute(
            sa.select(TeachingAssignment.class_id, Subject)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .where(TeachingAssignment.class_id.in_([c.id for c in result.classes]))
            .order_by(Subject.name)
        ).all()
        for class_id, subject in taught:
            subjects = result.subjects.setdefault(class_id, [])
            if subject not in subjects:
                subjects.append(subject)
    return result
