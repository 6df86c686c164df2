"""The family's diary: what a student's week, marks, attendance and news look like to
whoever may see them, and the weekly "I have read the diary" acknowledgement.

Who may see what is decided by ``diary_service.access`` only: the views ask
``reach_for`` once and the builders here load nothing the viewer's ``Reach`` does not
cover: no section they may not see (a student never receives the remarks addressed to
their parents, not even hidden in the page), and for staff nothing outside the
enrolments that tie them to the student (the old school sees its own time, the new
school its own).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from diary_service.access import Reach, Viewer, class_of, reach_of
from diary_service.extensions import db
from diary_service.family.models import Acknowledgement, Guardian
from diary_service.journal.models import (
    Attendance,
    FinalMark,
    Homework,
    Lesson,
    Mark,
    MarkPolicy,
    Remark,
)
from diary_service.journal.queries import (
    SubjectSummary,
    current_final_marks,
    current_policy,
    rule_of,
    student_summaries,
)

# Re-exported for the family's templates: the journal's words for its codes.
from diary_service.school.labels import ATTENDANCE_LABELS as ATTENDANCE_LABELS
from diary_service.school.labels import MARK_KIND_LABELS as MARK_KIND_LABELS
from diary_service.school.labels import MARK_VALUE_WORDS as MARK_VALUE_WORDS
from diary_service.school.labels import REMARK_KIND_LABELS as REMARK_KIND_LABELS
from diary_service.school.models import (
    AcademicYear,
    Enrolment,
    Holiday,
    Notice,
    ParentMeeting,
    Period,
    SchoolClass,
    StaffMember,
    Student,
    Subject,
    TimetableChange,
)
from diary_service.school.policy import TWO_PLACES, Rule, average
from diary_service.school.timetable import Slot, days, holidays_between, period_on, slots
from shared.errors import NotFound, ValidationError

# The diary week runs Monday to Saturday (a six-day school has Saturday lessons).
WEEK_LENGTH = 6
# How many ways to lift the suggested mark the marks page spells out (heaviest first).
FORECASTS_SHOWN = 3
PAST_NEWS_SHOWN = 30

# The same kinds as the forecast sentence needs them ("one 5 for a control work").
FOR_MARK_KIND = {
    "control": _l("for a control work"),
    "test": _l("for a short test"),
    "independent": _l("for an independent work"),
    "dictation": _l("for a dictation"),
    "lab": _l("for a laboratory or practical work"),
    "project": _l("for a project"),
    "oral": _l("for an oral answer"),
    "classwork": _l("for work in class"),
    "homework": _l("for a homework assignment"),
}
NOTICE_KIND_LABELS = {"news": _l("news"), "event": _l("event"), "quarantine": _l("quarantine")}
AVERAGE_LABELS = {"weighted": _l("weighted average"), "arithmetic": _l("arithmetic mean")}

# --- whose diary ---------------------------------------------------------------------


# The family's pages and the section each needs (``_diary.html``'s tabs say the same).
PAGE_SECTIONS = {
    "week": "schedule",
    "marks": "marks",
    "attendance": "attendance",
    "news": "schedule",
}


@dataclass
class Child:
    """A student on the viewer's list, with the class they are in today and what the
    viewer sees of them; ``is_trusted`` when they see them as a trusted person (until
    ``trusted_until``, None: until revoked)."""

    student: Student
    school_class: SchoolClass | None
    is_self: bool
    sections: frozenset[str] = frozenset()
    is_trusted: bool = False
    trusted_until: date | None = None

    @property
    def pages(self) -> list[str]:
        """The family pages the viewer may open for this child, in tab order."""
        return [page for page, section in PAGE_SECTIONS.items() if section in self.sections]

    def page(self, wanted: str) -> str | None:
        """``wanted`` if the viewer may open it for this child, else their first page
        (a switcher never leads to a refusal); None when no page is theirs."""
        pages = self.pages
        return wanted if wanted in pages else next(iter(pages), None)


def children_of(viewer: Viewer, today: date | None = None) -> list[Child]:
    """The viewer's children (as parent, or as trusted person with an open grant) and
    their own student record, across schools, by name."""
    ids = viewer.family_ids
    if not ids:
        return []
    students = db.session.execute(
        sa.select(Student)
        .where(Student.id.in_(ids))
        .order_by(Student.family_name, Student.given_name, Student.id)
    ).scalars()
    return [
        Child(
            student=student,
            school_class=class_of(student, today),
            is_self=student.id in viewer.own_student_ids,
            sections=sections_for(viewer, student),
            is_trusted=viewer.is_trusted_of(student.id),
            trusted_until=viewer.trusted_until.get(student.id),
        )
        for student in students
    ]


def get_student(student_id: int) -> Student:
    student = db.session.get(Student, student_id)
    if student is None:
        raise NotFound(_l("There is no such student."))
    return student


def get_class(class_id: int) -> SchoolClass:
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None:
        raise NotFound(_l("There is no such class."))
    return school_class


def reach_for(viewer: Viewer, student: Student) -> Reach:
    """What of the student's record the viewer sees (``access.reach_of``)."""
    return reach_of(viewer, student)


def sections_for(viewer: Viewer, student: Student) -> frozenset[str]:
    """The parts of the student's record the viewer may see (somewhere in it)."""
    return reach_of(viewer, student).sections


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def years_of(student: Student, reach: Reach, section: str) -> list[AcademicYear]:
    """The academic years of the student's classes the viewer sees of ``section``,
    latest first."""
    query = (
        sa.select(AcademicYear)
        .join(SchoolClass, SchoolClass.year_id == AcademicYear.id)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .where(Enrolment.student_id == student.id)
    )
    shown = reach.year_ids(section)
    if shown is not None:
        query = query.where(AcademicYear.id.in_(shown))
    return list(
        db.session.execute(query.distinct().order_by(AcademicYear.starts_on.desc())).scalars()
    )


def current_year(student: Student, today: date, reach: Reach, section: str) -> AcademicYear | None:
    """The year of the class the student is in today, if the viewer sees it; otherwise
    the latest year they see."""
    school_class = class_of(student, today)
    if school_class is not None and reach.sees(section, school_class.id, today):
        return school_class.year
    years = years_of(student, reach, section)
    return years[0] if years else None


def choose_year(
    student: Student, year_id: int | None, today: date, reach: Reach, section: str
) -> AcademicYear:
    if year_id is None:
        year = current_year(student, today, reach, section)
    else:
        year = next((y for y in years_of(student, reach, section) if y.id == year_id), None)
    if year is None:
        raise NotFound(_l("The student has no academic year here."))
    return year


# --- the week ------------------------------------------------------------------------


@dataclass
class LessonRow:
    """One lesson of the week as the family sees it."""

    on_date: date
    lesson_number: int
    starts_at: time | None
    ends_at: time | None
    subject: Subject
    teacher: StaffMember
    regular_teacher: StaffMember
    room: str
    change: TimetableChange | None
    lesson: Lesson | None
    marks: list[Mark] = field(default_factory=list)
    attendance: Attendance | None = None
    homework: Homework | None = None  # set at this lesson (when the viewer may see it)

    @property
    def cancelled(self) -> bool:
        return (self.change is not None and self.change.kind == "cancellation") or (
            self.lesson is not None and self.lesson.cancelled
        )

    @property
    def substituted(self) -> bool:
        return self.change is not None and self.change.kind == "substitution"

    @property
    def room_changed(self) -> bool:
        return self.change is not None and bool(self.change.room) and not self.cancelled

    @property
    def topic(self) -> str:
        return self.lesson.topic if self.lesson is not None else ""


@dataclass
class Day:
    on_date: date
    school_class: SchoolClass | None
    lessons: list[LessonRow] = field(default_factory=list)
    holiday: Holiday | None = None
    due: list[Homework] = field(default_factory=list)  # homework due on this day
    quarantines: list[Notice] = field(default_factory=list)


@dataclass
class Week:
    student: Student
    monday: date
    sections: frozenset[str]
    days: list[Day]
    notices: list[Notice]
    remarks: list[RemarkRow]
    acknowledgements: list[Acknowledgement]

    @property
    def saturday(self) -> date:
        return self.monday + timedelta(days=WEEK_LENGTH - 1)

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)

    def acknowledged_by(self, person_id: int | None) -> Acknowledgement | None:
        return next((a for a in self.acknowledgements if a.person_id == person_id), None)


def _row_from_slot(slot: Slot, lesson: Lesson | None) -> LessonRow:
    return LessonRow(
        on_date=slot.on_date,
        lesson_number=slot.lesson_number,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        subject=slot.subject,
        teacher=slot.teacher,
        regular_teacher=slot.regular_teacher,
        room=slot.room,
        change=slot.change,
        lesson=lesson,
    )


def _row_from_lesson(lesson: Lesson) -> LessonRow:
    """A lesson the teacher added outside the timetable (no slot for it)."""
    bell = next(
        (b for b in lesson.school_class.school.bells if b.number == lesson.lesson_number), None
    )
    return LessonRow(
        on_date=lesson.on_date,
        lesson_number=lesson.lesson_number,
        starts_at=bell.starts_at if bell else None,
        ends_at=bell.ends_at if bell else None,
        subject=lesson.subject,
        teacher=lesson.teacher,
        regular_teacher=lesson.teacher,
        room="",
        change=None,
        lesson=lesson,
    )


def week_of(student: Student, day: date, reach: Reach) -> Week:
    """The student's diary for the Monday–Saturday week containing ``day``: per day the
    lessons with their changes, topics, homework (set and due), marks and attendance,
    and for the week the notices in force, the remarks to parents and who acknowledged
    it. Only what the ``reach`` covers is loaded: a day outside the viewer's spans is
    empty for them."""
    sections = reach.sections
    monday = monday_of(day)
    saturday = monday + timedelta(days=WEEK_LENGTH - 1)
    week_days = days(monday, saturday)
    class_on: dict[date, SchoolClass | None] = {}
    for d in week_days:
        school_class = class_of(student, d)
        shown = school_class is not None and reach.sees("schedule", school_class.id, d)
        class_on[d] = school_class if shown else None
    classes = {c.id: c for c in class_on.values() if c is not None}

    slots_by_day: dict[date, list[Slot]] = {}
    for school_class in classes.values():
        for slot in slots(school_class, monday, saturday):
            if class_on[slot.on_date] is school_class:
                slots_by_day.setdefault(slot.on_date, []).append(slot)

    lessons = {
        (lesson.class_id, lesson.on_date, lesson.lesson_number): lesson
        for lesson in db.session.execute(
            sa.select(Lesson)
            .options(selectinload(Lesson.homework).selectinload(Homework.attachments))
            .where(
                Lesson.class_id.in_(list(classes)),
                Lesson.on_date >= monday,
                Lesson.on_date <= saturday,
            )
        ).scalars()
    }
    marks_by_lesson = _by_lesson(_week_marks(student, lessons.values(), reach))
    attendance_by_lesson = {
        row.lesson_id: row for row in _week_attendance(student, lessons.values(), reach)
    }
    due = _due_homework(classes, monday, saturday, reach)
    notices = _notices(student, classes, monday, saturday, reach)

    result = []
    for d in week_days:
        school_class = class_on[d]
        result_day = Day(on_date=d, school_class=school_class)
        result.append(result_day)
        if school_class is None:
            continue
        result_day.holiday = next(iter(holidays_between(school_class.year, d, d)), None)
        seen = set()
        for slot in slots_by_day.get(d, []):
            key = (school_class.id, d, slot.lesson_number)
            seen.add(key)
            result_day.lessons.append(_row_from_slot(slot, lessons.get(key)))
        for key, lesson in lessons.items():
            if key[0] == school_class.id and key[1] == d and key not in seen:
                result_day.lessons.append(_row_from_lesson(lesson))
        result_day.lessons.sort(key=lambda row: row.lesson_number)
        for row in result_day.lessons:
            if row.lesson is not None:
                row.marks = marks_by_lesson.get(row.lesson.id, [])
                row.attendance = attendance_by_lesson.get(row.lesson.id)
                if reach.sees("homework", school_class.id, d):
                    row.homework = row.lesson.homework
        result_day.due = [hw for hw in due if hw.due_on == d]
        result_day.quarantines = [
            n for n in notices if n.kind == "quarantine" and _in_force(n, d, d)
        ]
    return Week(
        student=student,
        monday=monday,
        sections=sections,
        days=result,
        notices=notices,
        remarks=_week_remarks(student, monday, saturday, reach),
        # Who read the week: for staff, only a week with days of theirs.
        acknowledgements=acknowledgements_of(student, monday) if classes else [],
    )


def _by_lesson(marks: list[Mark]) -> dict[int, list[Mark]]:
    result: dict[int, list[Mark]] = {}
    for mark in marks:
        result.setdefault(mark.lesson_id, []).append(mark)
    return result


def _week_marks(student: Student, lessons, reach: Reach) -> list[Mark]:
    ids = [lesson.id for lesson in lessons]
    if "marks" not in reach.sections or not ids:
        return []
    return list(
        db.session.execute(
            sa.select(Mark)
            .join(Lesson, Lesson.id == Mark.lesson_id)
            .where(
                Mark.student_id == student.id,
                Mark.lesson_id.in_(ids),
                Mark.is_current.is_(True),
                Mark.deleted.is_(False),
                reach.where("marks", Lesson.class_id, Lesson.on_date),
            )
            .order_by(Mark.id)
        ).scalars()
    )


def _week_attendance(student: Student, lessons, reach: Reach) -> list[Attendance]:
    ids = [lesson.id for lesson in lessons]
    if "attendance" not in reach.sections or not ids:
        return []
    return list(
        db.session.execute(
            sa.select(Attendance)
            .join(Lesson, Lesson.id == Attendance.lesson_id)
            .where(
                Attendance.student_id == student.id,
                Attendance.lesson_id.in_(ids),
                Attendance.is_current.is_(True),
                Attendance.deleted.is_(False),
                reach.where("attendance", Lesson.class_id, Lesson.on_date),
            )
        ).scalars()
    )


def _due_homework(
    classes: dict[int, SchoolClass], monday: date, saturday: date, reach: Reach
) -> list[Homework]:
    if "homework" not in reach.sections or not classes:
        return []
    return list(
        db.session.execute(
            sa.select(Homework)
            .join(Lesson, Lesson.id == Homework.lesson_id)
            .options(selectinload(Homework.attachments))
            .where(
                Lesson.class_id.in_(list(classes)),
                Homework.due_on >= monday,
                Homework.due_on <= saturday,
                reach.where("homework", Lesson.class_id, Lesson.on_date),
            )
            .order_by(Homework.due_on, Lesson.lesson_number, Homework.id)
        ).scalars()
    )


def _in_force(notice: Notice, start: date, end: date) -> bool:
    return notice.starts_on <= end and (notice.ends_on is None or notice.ends_on >= start)


def _notices(
    student: Student, classes: dict[int, SchoolClass], start: date, end: date, reach: Reach
) -> list[Notice]:
    """Notices of the student's school and class(es) in force during the span, as far
    as the viewer's reach goes; quarantines first."""
    school_ids = {c.school_id for c in classes.values()}
    if not school_ids and "schedule" in reach.whole and student.school_id:
        school_ids = {student.school_id}
    if not school_ids:
        return []
    notices = db.session.execute(
        sa.select(Notice)
        .where(
            Notice.school_id.in_(school_ids),
            sa.or_(Notice.class_id.is_(None), Notice.class_id.in_(list(classes))),
            Notice.starts_on <= end,
            sa.or_(Notice.ends_on.is_(None), Notice.ends_on >= start),
        )
        .order_by(Notice.starts_on.desc(), Notice.id.desc())
    ).scalars()
    return sorted(
        (n for n in notices if _sees_notice(reach, n)), key=lambda n: n.kind != "quarantine"
    )


def _sees_notice(reach: Reach, notice: Notice) -> bool:
    return reach.sees_between(
        "schedule", notice.school_id, notice.class_id, notice.starts_on, notice.ends_on
    )


@dataclass
class RemarkRow:
    remark: Remark
    on_date: date  # the lesson's, or the day it was written


def _week_remarks(student: Student, monday: date, saturday: date, reach: Reach) -> list[RemarkRow]:
    """Teachers' remarks to the parents about this week: on its lessons, or written
    during it when tied to no lesson (staff: at lessons of their spans, or written then
    at their span's school)."""
    if "remarks" not in reach.sections:
        return []
    start = datetime.combine(monday, time.min)
    end = datetime.combine(saturday + timedelta(days=1), time.min)
    rows = db.session.execute(
        sa.select(Remark, Lesson.on_date, Lesson.class_id, StaffMember.school_id)
        .outerjoin(Lesson, Lesson.id == Remark.lesson_id)
        .join(StaffMember, StaffMember.id == Remark.author_id)
        .where(
            Remark.student_id == student.id,
            sa.or_(
                sa.and_(Lesson.on_date >= monday, Lesson.on_date <= saturday),
                sa.and_(
                    Remark.lesson_id.is_(None),
                    Remark.created_at >= start,
                    Remark.created_at < end,
                ),
            ),
        )
        .order_by(Remark.created_at, Remark.id)
    ).all()
    return sorted(
        (
            RemarkRow(remark=remark, on_date=on or remark.created_at.date())
            for remark, on, class_id, school_id in rows
            if (
                reach.sees("remarks", class_id, on)
                if on is not None
                else reach.sees_at_school("remarks", school_id, remark.created_at.date())
            )
        ),
        key=lambda row: row.on_date,
    )


# --- acknowledgement -----------------------------------------------------------------


def acknowledgements_of(student: Student, monday: date) -> list[Acknowledgement]:
    return list(
        db.session.execute(
            sa.select(Acknowledgement)
            .where(Acknowledgement.student_id == student.id, Acknowledgement.week_start == monday)
            .order_by(Acknowledgement.acknowledged_at)
        ).scalars()
    )


def acknowledge(person_id: int, student: Student, day: date, today: date) -> Acknowledgement:
    """Record that the guardian has read the student's diary for the week containing
    ``day``. Acknowledging a week again returns the first acknowledgement unchanged."""
    monday = monday_of(day)
    if monday > monday_of(today):
        raise ValidationError(_l("A week can be acknowledged only once it has begun."))
    query = sa.select(Acknowledgement).where(
        Acknowledgement.student_id == student.id,
        Acknowledgement.person_id == person_id,
        Acknowledgement.week_start == monday,
    )
    existing = db.session.execute(query).scalar_one_or_none()
    if existing is not None:
        return existing
    acknowledgement = Acknowledgement(student_id=student.id, person_id=person_id, week_start=monday)
    db.session.add(acknowledgement)
    try:
        db.session.commit()
    except IntegrityError:
        # A double click raced us to the unique row: theirs is as good as ours.
        db.session.rollback()
        return db.session.execute(query).scalar_one()
    return acknowledgement


@dataclass
class GuardianRead:
    guardian: Guardian
    acknowledgement: Acknowledgement | None


@dataclass
class StudentReads:
    student: Student
    guardians: list[GuardianRead]
    # acknowledgements by people who are no longer (or never were) listed as guardians
    others: list[Acknowledgement]

    @property
    def acknowledged(self) -> bool:
        return any(g.acknowledgement for g in self.guardians) or bool(self.others)


def class_acknowledgements(school_class: SchoolClass, day: date) -> list[StudentReads]:
    """For the class teacher: each student enrolled in the class during the week of
    ``day``, each of their parents and whether (and when) they acknowledged it (trusted
    persons do not acknowledge, so are not listed)."""
    monday = monday_of(day)
    saturday = monday + timedelta(days=WEEK_LENGTH - 1)
    students = list(
        db.session.execute(
            sa.select(Student)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(
                Enrolment.class_id == school_class.id,
                Enrolment.starts_on <= saturday,
                sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > monday),
            )
            .distinct()
            .order_by(Student.family_name, Student.given_name, Student.id)
        ).scalars()
    )
    ids = [s.id for s in students]
    guardians: dict[int, list[Guardian]] = {}
    for guardian in db.session.execute(
        sa.select(Guardian)
        .where(
            Guardian.student_id.in_(ids),
            Guardian.kind == "parent",
            Guardian.revoked_at.is_(None),
            # The parents of that week, not those a later school linked.
            Guardian.created_at < datetime.combine(saturday + timedelta(days=1), time.min),
        )
        .order_by(Guardian.family_name, Guardian.id)
    ).scalars():
        guardians.setdefault(guardian.student_id, []).append(guardian)
    reads: dict[int, list[Acknowledgement]] = {}
    for ack in db.session.execute(
        sa.select(Acknowledgement).where(
            Acknowledgement.student_id.in_(ids), Acknowledgement.week_start == monday
        )
    ).scalars():
        reads.setdefault(ack.student_id, []).append(ack)
    result = []
    for student in students:
        acks = {a.person_id: a for a in reads.get(student.id, [])}
        rows = []
        for guardian in guardians.get(student.id, []):
            ack = acks.pop(guardian.person_id, None) if guardian.person_id else None
            rows.append(GuardianRead(guardian=guardian, acknowledgement=ack))
        result.append(StudentReads(student=student, guardians=rows, others=list(acks.values())))
    return result


# --- marks ---------------------------------------------------------------------------


@dataclass
class ChartPoint:
    x: float
    y: float
    on: date
    value: Decimal


@dataclass
class Chart:
    """A running average drawn as an SVG polyline over the weeks of a period, on a
    fixed 2–5 scale (the marks' range that matters)."""

    points: list[ChartPoint]
    x_ticks: list[tuple[float, date]]
    y_ticks: list[tuple[float, int]]
    thresholds: list[tuple[float, str, Decimal]]
    width: int = 640
    height: int = 220
    left: int = 36
    right: int = 16
    top: int = 12
    bottom: int = 28

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def x_start(self) -> int:
        return self.left

    @property
    def x_end(self) -> int:
        return self.width - self.right

    @property
    def y_end(self) -> int:
        return self.height - self.bottom


CHART_LOW, CHART_HIGH = 2, 5


def chart_of(weeks: list[date], values: list[Decimal | None], rule: Rule) -> Chart | None:
    """The chart of ``values`` (one per week, None before the first mark)."""
    if not any(v is not None for v in values):
        return None
    chart = Chart(points=[], x_ticks=[], y_ticks=[], thresholds=[])
    plot_w = chart.width - chart.left - chart.right
    plot_h = chart.height - chart.top - chart.bottom

    def x_of(i: int) -> float:
        return chart.left + (plot_w * i / (len(weeks) - 1) if len(weeks) > 1 else plot_w / 2)

    def y_of(v: Decimal | int) -> float:
        clamped = min(max(float(v), CHART_LOW), CHART_HIGH)
        return chart.top + plot_h * (CHART_HIGH - clamped) / (CHART_HIGH - CHART_LOW)

    chart.points = [
        ChartPoint(x=x_of(i), y=y_of(v), on=weeks[i], value=v)
        for i, v in enumerate(values)
        if v is not None
    ]
    chart.x_ticks = [(x_of(i), week) for i, week in enumerate(weeks)]
    chart.y_ticks = [(y_of(v), v) for v in range(CHART_LOW, CHART_HIGH + 1)]
    chart.thresholds = [
        (y_of(limit), mark, limit)
        for mark, limit in sorted(rule.thresholds.items())
        if CHART_LOW <= limit <= CHART_HIGH
    ]
    return chart


def _weeks_of(period: Period) -> list[date]:
    weeks = []
    monday = monday_of(period.starts_on)
    while monday <= period.ends_on:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def _running(marks: list[Mark], weeks: list[date], rule: Rule, today: date) -> list[Decimal | None]:
    """The average of the marks given up to the end of each week (None for the weeks
    still to come)."""
    return [
        average(
            [(m.numeric, m.weight) for m in marks if m.lesson.on_date < week + timedelta(days=7)],
            rule,
        )
        if week <= today
        else None
        for week in weeks
    ]


def formula_of(marks: list[Mark], rule: Rule) -> str | None:
    """The average spelled out with the actual numbers:
    ``(5×5 + 4×1) / (5+1) = 4.83``; an arithmetic rule weighs every mark 1:
    ``(5 + 4) / 2 = 4.50``. Pass/fail marks are not averaged."""
    pairs = [(m.numeric, m.weight) for m in marks if m.numeric is not None]
    avg = average(pairs, rule)
    if avg is None:
        return None
    if rule.average == "weighted":
        top = " + ".join(f"{value}×{weight}" for value, weight in pairs)
        bottom = "+".join(str(weight) for _value, weight in pairs)
        return f"({top}) / ({bottom}) = {avg}"
    top = " + ".join(str(value) for value, _weight in pairs)
    return f"({top}) / {len(pairs)} = {avg}"


@dataclass
class SubjectMarks:
    summary: SubjectSummary
    formula: str | None
    chart: Chart | None


@dataclass
class FinalRow:
    subject: Subject
    by_period: dict[int, FinalMark]
    year: FinalMark | None


@dataclass
class MarksPage:
    student: Student
    year: AcademicYear
    period: Period
    years: list[AcademicYear]
    policy: MarkPolicy | None
    rule: Rule
    subjects: list[SubjectMarks]
    overall: Chart | None
    overall_average: Decimal | None
    finals: list[FinalRow]


def choose_period(
    student: Student, period_id: int | None, today: date, reach: Reach, section: str = "marks"
) -> Period:
    """The period asked for (one of the student's years the viewer sees), or the
    current one (for the old school's staff: the one their last day with the student
    falls in)."""
    if period_id is not None:
        period = db.session.get(Period, period_id)
        shown = {y.id for y in years_of(student, reach, section)}
        if period is None or period.year_id not in shown:
            raise NotFound(_l("There is no such period."))
        return period
    year = choose_year(student, None, today, reach, section)
    if not year.periods:
        raise NotFound(_l("The school has not divided the year into periods yet."))
    return period_on(year, reach.day_shown(section, today)) or year.periods[0]


def marks_page(student: Student, period: Period, today: date, reach: Reach) -> MarksPage:
    """Per subject of the period: the marks, their average with its formula, the
    suggested and the set period mark, the forecast and the running-average chart; the
    student's overall running average; the year's period and year marks. Only the
    marks the ``reach`` covers count."""
    year = period.year
    policy = current_policy(year.school_id)
    rule = rule_of(policy)
    weeks = _weeks_of(period)
    subjects = []
    running: list[list[Decimal | None]] = []
    within = reach.where("marks", Lesson.class_id, Lesson.on_date)
    summaries = student_summaries(student, period, within, reach.sees_final)
    for summary in summaries:
        values = _running(summary.marks, weeks, rule, today)
        running.append(values)
        summary.forecast = summary.forecast[:FORECASTS_SHOWN]
        subjects.append(
            SubjectMarks(
                summary=summary,
                formula=formula_of(summary.marks, rule),
                chart=chart_of(weeks, values, rule),
            )
        )
    overall_values = [_mean([values[i] for values in running]) for i in range(len(weeks))]
    return MarksPage(
        student=student,
        year=year,
        period=period,
        years=years_of(student, reach, "marks"),
        policy=policy,
        rule=rule,
        subjects=subjects,
        overall=chart_of(weeks, overall_values, rule),
        overall_average=next((v for v in reversed(overall_values) if v is not None), None),
        finals=_final_rows(student, year, reach),
    )


def _mean(values: list[Decimal | None]) -> Decimal | None:
    """The student's overall average: the mean of the subjects' averages so far."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return (sum(present, Decimal(0)) / len(present)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def _final_rows(student: Student, year: AcademicYear, reach: Reach) -> list[FinalRow]:
    rows: dict[int, FinalRow] = {}
    for final in current_final_marks([student.id], year.id):
        if not reach.sees_final(final):
            continue
        row = rows.setdefault(
            final.subject_id, FinalRow(subject=final.subject, by_period={}, year=None)
        )
        if final.kind == "year" or final.period_id is None:
            row.year = final
        else:
            row.by_period[final.period_id] = final
    return sorted(rows.values(), key=lambda row: row.subject.name)


# --- attendance ----------------------------------------------------------------------


@dataclass
class AttendancePage:
    student: Student
    year: AcademicYear
    years: list[AcademicYear]
    by_period: list[tuple[Period, Counter[str]]]
    by_subject: list[tuple[Subject, Counter[str]]]
    total: Counter[str]
    entries: list[Attendance]


def attendance_page(student: Student, year: AcademicYear, reach: Reach) -> AttendancePage:
    """The student's absences and latenesses of the year (as far as the ``reach``
    goes): counts by code per period and per subject, and every dated entry."""
    entries = list(
        db.session.execute(
            sa.select(Attendance)
            .join(Lesson, Lesson.id == Attendance.lesson_id)
            .options(selectinload(Attendance.lesson).selectinload(Lesson.subject))
            .where(
                Attendance.student_id == student.id,
                Attendance.is_current.is_(True),
                Attendance.deleted.is_(False),
                Lesson.on_date >= year.starts_on,
                Lesson.on_date <= year.ends_on,
                reach.where("attendance", Lesson.class_id, Lesson.on_date),
            )
            .order_by(Lesson.on_date, Lesson.lesson_number)
        ).scalars()
    )
    by_period = [(period, Counter[str]()) for period in year.periods]
    subjects: dict[int, tuple[Subject, Counter[str]]] = {}
    total: Counter[str] = Counter()
    for entry in entries:
        on = entry.lesson.on_date
        period = period_on(year, on)
        for candidate, counts in by_period:
            if period is not None and candidate.id == period.id:
                counts[entry.code] += 1
        subject = entry.lesson.subject
        subjects.setdefault(subject.id, (subject, Counter()))[1][entry.code] += 1
        total[entry.code] += 1
    return AttendancePage(
        student=student,
        year=year,
        years=years_of(student, reach, "attendance"),
        by_period=by_period,
        by_subject=sorted(subjects.values(), key=lambda pair: pair[0].name),
        total=total,
        entries=entries,
    )


# --- news ----------------------------------------------------------------------------


@dataclass
class NewsPage:
    current: list[Notice]
    past: list[Notice]
    upcoming_meetings: list[ParentMeeting]
    past_meetings: list[ParentMeeting]


def news_page(student: Student, today: date, reach: Reach) -> NewsPage:
    """The school's and the student's classes' notices (in force or coming, then
    ended) and the classes' parent meetings (coming, then held), of the student's
    current year; for staff, of their spans only."""
    year = current_year(student, today, reach, "schedule")
    enrolments = [
        e for e in student.enrolments if year is None or e.school_class.year_id == year.id
    ]
    class_ids = {e.class_id for e in enrolments}
    school_ids = {e.school_class.school_id for e in enrolments}
    if "schedule" in reach.whole:
        school_class = class_of(student, today)
        current = school_class.school_id if school_class is not None else student.school_id
        school_ids = {current} if current is not None else set()
    notices: list[Notice] = []
    if school_ids:
        notices = [
            notice
            for notice in db.session.execute(
                sa.select(Notice)
                .options(selectinload(Notice.school_class))
                .where(
                    Notice.school_id.in_(school_ids),
                    sa.or_(Notice.class_id.is_(None), Notice.class_id.in_(class_ids)),
                )
                .order_by(Notice.starts_on.desc(), Notice.id.desc())
            ).scalars()
            if _sees_notice(reach, notice)
        ]
    meetings = [
        meeting
        for meeting in db.session.execute(
            sa.select(ParentMeeting)
            .where(ParentMeeting.class_id.in_(class_ids))
            .order_by(ParentMeeting.held_at)
        ).scalars()
        if reach.sees("schedule", meeting.class_id, meeting.held_at.date())
    ]
    start_of_today = datetime.combine(today, time.min)
    return NewsPage(
        current=sorted(
            (n for n in notices if n.ends_on is None or n.ends_on >= today),
            key=lambda n: n.kind != "quarantine",
        ),
        past=[n for n in notices if n.ends_on is not None and n.ends_on < today][:PAST_NEWS_SHOWN],
        upcoming_meetings=[m for m in meetings if m.held_at >= start_of_today],
        past_meetings=[m for m in reversed(meetings) if m.held_at < start_of_today],
    )
