"""Writing the class journal, and the reading its pages need.

Lessons are created from the timetable when a teacher opens one (``lesson_for_slot``,
from a POST; pages that only show the journal create nothing). Marks, attendance
and final marks are never overwritten: a change or a deletion adds a version that names
the one it replaces, with its author, time and reason (``journal.models``). Every write
function takes plain arguments (the author ``StaffMember``, ids, values), validates all
its input before it changes anything, commits once, and only then tells the listeners
(``diary_service.signals``). Access is the views' business (``diary_service.access``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from diary_service import signals
from diary_service.access import Viewer
from diary_service.extensions import db
from diary_service.journal.models import (
    ATTENDANCE_CODES,
    FINAL_KINDS,
    MARK_KINDS,
    REMARK_KINDS,
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
    MarkPolicy,
    Remark,
)
from diary_service.journal.queries import (
    SubjectSummary,
    current_marks,
    current_policy,
    rule_of,
    summarize,
)
from diary_service.school.labels import (
    ATTENDANCE_LABELS,
    MARK_KIND_LABELS,
    MARK_VALUE_LABELS,
    REMARK_KIND_LABELS,
)
from diary_service.school.models import (
    AcademicYear,
    Enrolment,
    Period,
    SchoolClass,
    StaffMember,
    Student,
    Subject,
    TeachingAssignment,
    TimetableChange,
)
from diary_service.school.policy import TWO_PLACES, Rule, suggest
from diary_service.school.timetable import Slot, period_on, slots
from shared.errors import Forbidden, NotFound, ValidationError
from shared.sessions import utcnow

# --- words --------------------------------------------------------------------------

PERIOD_LABELS = {
    "quarter": _l("Quarter %(number)d"),
    "trimester": _l("Trimester %(number)d"),
    "semester": _l("Semester %(number)d"),
}
DEFAULT_KIND = "classwork"

# What a teacher may type for each mark: digits, and pass/fail in either language.
MARK_INPUTS = {
    **{digit: digit for digit in ("1", "2", "3", "4", "5")},
    "pass": "pass",
    "зач": "pass",
    "зачет": "pass",
    "зачтено": "pass",
    "fail": "fail",
    "незач": "fail",
    "незачет": "fail",
    "не зач": "fail",
    "не зачтено": "fail",
}

# Attachments: the content type is decided by the extension, never by what the browser
# claims, and files are always served as downloads (no inline HTML/SVG from users).
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "txt": "text/plain",
    "rtf": "application/rtf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}
MAX_ATTACHMENTS = 10
MAX_TOPIC = 500
MAX_HOMEWORK = 5000
MAX_COMMENT = 500
MAX_REASON = 300
MAX_REMARK = 1000
# How far ahead the next lesson of a subject is looked for (a due date's default).
NEXT_LESSON_HORIZON = timedelta(days=62)


def kind_label(kind: str) -> str:
    return str(MARK_KIND_LABELS.get(kind, kind))


def mark_label(value: str) -> str:
    """A mark as people read it: «5», «зач», «незач»."""
    return str(MARK_VALUE_LABELS.get(value, value))


def attendance_label(code: str) -> str:
    return str(ATTENDANCE_LABELS.get(code, code))


def remark_label(kind: str) -> str:
    return str(REMARK_KIND_LABELS.get(kind, kind))


def period_label(period: Period) -> str:
    """«2-я четверть»: a period named as the school's year divides."""
    label = PERIOD_LABELS.get(period.year.period_kind, PERIOD_LABELS["quarter"])
    return str(label) % {"number": period.number}


def parse_mark_value(raw: str | None) -> str:
    """A typed mark as stored (``MARK_VALUES``), "" for an empty input, or
    ``ValidationError`` in the user's language."""
    text = " ".join((raw or "").split()).lower().replace("ё", "е").rstrip(".")
    if not text:
        return ""
    try:
        return MARK_INPUTS[text]
    except KeyError:
        raise ValidationError(
            _l("“%(value)s” is not a mark: enter 1 to 5, “pass” or “fail”."), value=raw
        ) from None


# --- finding things -----------------------------------------------------------------


def get_class(class_id: int) -> SchoolClass:
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None:
        raise NotFound()
    return school_class


def get_subject(subject_id: int) -> Subject:
    subject = db.session.get(Subject, subject_id)
    if subject is None:
        raise NotFound()
    return subject


def get_lesson(lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound()
    return lesson


def get_attachment(attachment_id: int) -> HomeworkAttachment:
    attachment = db.session.get(HomeworkAttachment, attachment_id)
    if attachment is None:
        raise NotFound()
    return attachment


def get_period(school_class: SchoolClass, period_id: int | None, today: date) -> Period:
    """The asked period of the class's year, or by default the one containing today
    (before the year: its first; after it: its last)."""
    year = school_class.year
    if period_id is not None:
        for period in year.periods:
            if period.id == period_id:
                return period
        raise NotFound()
    if not year.periods:
        raise NotFound(_l("The school year has no periods yet."))
    if today < year.starts_on:
        return year.periods[0]
    return period_on(year, today) or year.periods[0]


def author_at(author: StaffMember | None, school_id: int) -> StaffMember:
    """The author must work at the school whose journal they write."""
    if author is None or author.school_id != school_id or not author.active:
        raise Forbidden()
    return author


# --- class members ------------------------------------------------------------------


@dataclass
class ClassMember:
    """A student enrolled in a class at some time in a span, with their enrolments."""

    student: Student
    spans: list[tuple[date, date | None]] = field(default_factory=list)  # end exclusive

    def enrolled_on(self, day: date) -> bool:
        return any(start <= day and (end is None or end > day) for start, end in self.spans)


def class_members(school_class: SchoolClass, start: date, end: date) -> list[ClassMember]:
    """Students enrolled in the class at any time from ``start`` to ``end`` inclusive,
    by name."""
    rows = db.session.execute(
        sa.select(Enrolment, Student)
        .join(Student, Student.id == Enrolment.student_id)
        .where(
            Enrolment.class_id == school_class.id,
            Enrolment.starts_on <= end,
            sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > start),
        )
        .order_by(Enrolment.starts_on)
    ).all()
    members: dict[int, ClassMember] = {}
    for enrolment, student in rows:
        member = members.setdefault(student.id, ClassMember(student=student))
        member.spans.append((enrolment.starts_on, enrolment.ends_on))
    return sorted(
        members.values(),
        key=lambda m: (m.student.family_name, m.student.given_name, m.student.id),
    )


def students_on(school_class: SchoolClass, day: date) -> list[Student]:
    return [
        member.student
        for member in class_members(school_class, day, day)
        if member.enrolled_on(day)
    ]


# --- lessons --------------------------------------------------------------------------


def lessons_between(
    school_class: SchoolClass, subject_id: int, start: date, end: date
) -> list[Lesson]:
    return list(
        db.session.execute(
            sa.select(Lesson)
            .where(
                Lesson.class_id == school_class.id,
                Lesson.subject_id == subject_id,
                Lesson.on_date >= start,
                Lesson.on_date <= end,
            )
            .order_by(Lesson.on_date, Lesson.lesson_number)
        ).scalars()
    )


def ensure_lessons(
    school_class: SchoolClass, subject_id: int, start: date, end: date
) -> list[Lesson]:
    """Create the missing ``Lesson`` rows of the subject's timetable slots from ``start``
    to ``end`` (cancelled slots get none), keep existing ones in step with the day's
    changes (who gives it, whether it is cancelled), and return the subject's lessons in
    the span. Idempotent; a concurrent request creating the same rows is not an error."""
    wanted = [slot for slot in slots(school_class, start, end) if slot.subject.id == subject_id]
    if wanted:
        existing = {
            (lesson.on_date, lesson.lesson_number): lesson
            for lesson in db.session.execute(
                sa.select(Lesson).where(
                    Lesson.class_id == school_class.id,
                    Lesson.on_date >= start,
                    Lesson.on_date <= end,
                )
            ).scalars()
        }
        changed = False
        for slot in wanted:
            lesson = existing.get((slot.on_date, slot.lesson_number))
            if lesson is None:
                if not slot.cancelled:
                    db.session.add(
                        Lesson(
                            class_id=school_class.id,
                            subject_id=subject_id,
                            teacher_id=slot.teacher.id,
                            on_date=slot.on_date,
                            lesson_number=slot.lesson_number,
                        )
                    )
                    changed = True
            elif lesson.subject_id == subject_id and (
                lesson.teacher_id != slot.teacher.id or lesson.cancelled != slot.cancelled
            ):
                lesson.teacher_id = slot.teacher.id
                lesson.cancelled = slot.cancelled
                changed = True
        if changed:
            try:
                db.session.commit()
            except IntegrityError:
                # Another request created the same lessons first; theirs are as good.
                db.session.rollback()
    return lessons_between(school_class, subject_id, start, end)


def next_lesson_date(school_class: SchoolClass, subject_id: int, after: date) -> date | None:
    """The date of the subject's next (not cancelled) lesson after ``after``: the usual
    due date of homework set that day."""
    start = after + timedelta(days=1)
    end = min(after + NEXT_LESSON_HORIZON, school_class.year.ends_on)
    if end < start:
        return None
    for slot in slots(school_class, start, end):
        if slot.subject.id == subject_id and not slot.cancelled:
            return slot.on_date
    return None


def neighbour_lessons(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    """The class's previous and next lesson of the same subject (already created)."""
    same = (Lesson.class_id == lesson.class_id, Lesson.subject_id == lesson.subject_id)
    key = sa.tuple_(Lesson.on_date, Lesson.lesson_number)
    here = sa.tuple_(sa.literal(lesson.on_date), sa.literal(lesson.lesson_number))
    previous = db.session.execute(
        sa.select(Lesson)
        .where(*same, key < here)
        .order_by(Lesson.on_date.desc(), Lesson.lesson_number.desc())
        .limit(1)
    ).scalar_one_or_none()
    following = db.session.execute(
        sa.select(Lesson)
        .where(*same, key > here)
        .order_by(Lesson.on_date, Lesson.lesson_number)
        .limit(1)
    ).scalar_one_or_none()
    return previous, following


def lesson_at(
    school_class: SchoolClass, subject_id: int, on: date, lesson_number: int
) -> Lesson | None:
    """The lesson of the subject at a slot if it has been opened (nothing is created)."""
    return db.session.execute(
        sa.select(Lesson).where(
            Lesson.class_id == school_class.id,
            Lesson.subject_id == subject_id,
            Lesson.on_date == on,
            Lesson.lesson_number == lesson_number,
        )
    ).scalar_one_or_none()


def slot_of(school_class: SchoolClass, subject_id: int, on: date, lesson_number: int) -> Slot:
    """The subject's timetable slot (not cancelled) at that date and lesson number;
    NotFound when the timetable has none."""
    for slot in slots(school_class, on, on):
        if (
            slot.lesson_number == lesson_number
            and slot.subject.id == subject_id
            and not slot.cancelled
        ):
            return slot
    raise NotFound()


def lesson_for_slot(
    school_class: SchoolClass, subject_id: int, on: date, lesson_number: int
) -> Lesson:
    """The lesson of a timetable slot, created if it is not yet (a lesson the teacher
    opens, or plans ahead); NotFound when the timetable has no such slot. Only a POST
    calls this: a page that merely shows the journal creates nothing."""
    ensure_lessons(school_class, subject_id, on, on)
    lesson = lesson_at(school_class, subject_id, on, lesson_number)
    if lesson is None:
        raise NotFound()
    return lesson


def init_lessons(app: Flask) -> None:
    """Subscribe the journal to the school's timetable changes."""
    signals.timetable_changed.connect(_on_timetable_change, sender=app)


def _on_timetable_change(
    sender: Flask, school_class: SchoolClass, on_date: date, lesson_number: int, **_: object
) -> None:
    follow_timetable_change(school_class, on_date, lesson_number)


def follow_timetable_change(school_class: SchoolClass, on: date, lesson_number: int) -> None:
    """Keep an opened lesson in step with a change of its slot made since (who gives
    it, whether it is cancelled): the school's timetable changes call this, through
    ``signals.timetable_changed``."""
    lesson = db.session.execute(
        sa.select(Lesson).where(
            Lesson.class_id == school_class.id,
            Lesson.on_date == on,
            Lesson.lesson_number == lesson_number,
        )
    ).scalar_one_or_none()
    if lesson is None:
        return
    slot = next((s for s in slots(school_class, on, on) if s.lesson_number == lesson_number), None)
    if slot is None or slot.subject.id != lesson.subject_id:
        return
    if (lesson.teacher_id, lesson.cancelled) != (slot.teacher.id, slot.cancelled):
        lesson.teacher_id = slot.teacher.id
        lesson.cancelled = slot.cancelled
        db.session.commit()


# --- the grid -----------------------------------------------------------------------


@dataclass
class Column:
    """A dated lesson of the grid; ``lesson`` is None for a timetable slot that nobody
    has opened yet."""

    on_date: date
    lesson_number: int
    lesson: Lesson | None = None
    cancelled: bool = False


@dataclass
class Cell:
    marks: list[Mark] = field(default_factory=list)
    attendance: Attendance | None = None


@dataclass
class GridRow:
    member: ClassMember
    active: bool  # enrolled at the end of the period (or today); leavers are greyed
    cells: dict[int, Cell]
    summary: SubjectSummary


@dataclass
class Grid:
    school_class: SchoolClass
    subject: Subject
    period: Period
    columns: list[Column]
    rows: list[GridRow]


def journal_grid(school_class: SchoolClass, subject: Subject, period: Period, today: date) -> Grid:
    """The journal of a class and subject for a period: its students (leavers too),
    its dated lessons (the timetable's slots nobody has opened yet as placeholders) and
    per student and lesson the current marks and attendance. Reads only."""
    start, end = period.starts_on, period.ends_on
    lessons = lessons_between(school_class, subject.id, start, end)
    columns = [
        Column(lesson.on_date, lesson.lesson_number, lesson, lesson.cancelled) for lesson in lessons
    ]
    taken = {(c.on_date, c.lesson_number) for c in columns}
    # The timetable's slots nobody has opened yet (a GET creates no lesson): the teacher
    # opens one from its column.
    columns += [
        Column(slot.on_date, slot.lesson_number)
        for slot in slots(school_class, start, end)
        if slot.subject.id == subject.id
        and not slot.cancelled
        and (slot.on_date, slot.lesson_number) not in taken
    ]
    columns.sort(key=lambda c: (c.on_date, c.lesson_number))

    members = class_members(school_class, start, end)
    ids = [m.student.id for m in members]
    marks = current_marks(ids, start, end, subject.id, class_id=school_class.id)
    lesson_ids = [lesson.id for lesson in lessons]
    absences = (
        list(
            db.session.execute(
                sa.select(Attendance).where(
                    Attendance.lesson_id.in_(lesson_ids),
                    Attendance.is_current.is_(True),
                    Attendance.deleted.is_(False),
                )
            ).scalars()
        )
        if lesson_ids
        else []
    )
    cells: dict[int, dict[int, Cell]] = {sid: {} for sid in ids}
    by_student: dict[int, list[Mark]] = {sid: [] for sid in ids}
    for mark in marks:
        cells[mark.student_id].setdefault(mark.lesson_id, Cell()).marks.append(mark)
        by_student[mark.student_id].append(mark)
    for row in absences:
        if row.student_id in cells:
            cells[row.student_id].setdefault(row.lesson_id, Cell()).attendance = row
    rule = rule_of(current_policy(school_class.school_id))
    on = max(start, min(end, today))
    rows = [
        GridRow(
            member=member,
            active=member.enrolled_on(on),
            cells=cells[member.student.id],
            summary=summarize(subject, by_student[member.student.id], rule),
        )
        for member in members
    ]
    return Grid(school_class, subject, period, columns, rows)


# --- one lesson: marks and attendance -------------------------------------------------


@dataclass
class SheetRow:
    student: Student
    marks: list[Mark]  # current, not deleted, in the order given
    attendance: Attendance | None  # the current version (a deletion, if ``deleted``)

    @property
    def code(self) -> str:
        """The attendance code in force ("" when present)."""
        if self.attendance is None or self.attendance.deleted:
            return ""
        return self.attendance.code


@dataclass
class LessonSheet:
    lesson: Lesson
    rows: list[SheetRow]
    remarks: list[Remark]

    def row_of(self, student_id: int) -> SheetRow | None:
        return next((row for row in self.rows if row.student.id == student_id), None)


def lesson_sheet(lesson: Lesson) -> LessonSheet:
    """A lesson's class list with each student's current marks and attendance: the
    students enrolled that day, and anyone else who already has a record there."""
    marks = list(
        db.session.execute(
            sa.select(Mark)
            .where(
                Mark.lesson_id == lesson.id,
                Mark.is_current.is_(True),
                Mark.deleted.is_(False),
            )
            .order_by(Mark.id)
        ).scalars()
    )
    attendance = {
        row.student_id: row
        for row in db.session.execute(
            sa.select(Attendance).where(
                Attendance.lesson_id == lesson.id, Attendance.is_current.is_(True)
            )
        ).scalars()
    }
    students = {s.id: s for s in students_on(lesson.school_class, lesson.on_date)}
    for mark in marks:
        students.setdefault(mark.student_id, mark.student)
    for row in attendance.values():
        students.setdefault(row.student_id, row.student)
    ordered = sorted(students.values(), key=lambda s: (s.family_name, s.given_name, s.id))
    remarks = list(
        db.session.execute(
            sa.select(Remark).where(Remark.lesson_id == lesson.id).order_by(Remark.id)
        ).scalars()
    )
    return LessonSheet(
        lesson=lesson,
        rows=[
            SheetRow(
                student=student,
                marks=[m for m in marks if m.student_id == student.id],
                attendance=attendance.get(student.id),
            )
            for student in ordered
        ],
        remarks=remarks,
    )


@dataclass(frozen=True)
class MarkInput:
    """A mark as typed: a new one (``mark_id`` None) or the shown version of an existing
    one (``mark_id``); an empty ``value`` on an existing mark deletes it. ``key`` is the
    caller's name for it, echoed in ``Problem``."""

    key: str
    value: str
    kind: str
    comment: str = ""
    mark_id: int | None = None


@dataclass(frozen=True)
class Seen:
    """What the form showed as current for a student (to refuse saving over a change
    someone else made meanwhile)."""

    mark_ids: frozenset[int]
    attendance_id: int | None


@dataclass(frozen=True)
class StudentEntry:
    """One student's row of the lesson's bulk form. ``attendance`` is a code of
    ``ATTENDANCE_CODES`` or "" (present); ``reason`` explains any correction or deletion
    in the row; ``seen``, when given, must still be the current state."""

    key: str
    student_id: int
    marks: tuple[MarkInput, ...] = ()
    attendance: str | None = None  # None: leave attendance as it is
    reason: str = ""
    seen: Seen | None = None


@dataclass(frozen=True)
class Problem:
    key: str  # the ``key`` of the MarkInput / StudentEntry / FinalMarkInput
    field: str  # value, kind, comment, attendance, reason, row
    message: str


class EntryErrors(ValidationError):
    """The input had problems; nothing was saved. ``problems`` says where."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message)
        self.problems = problems


@dataclass
class Recorded:
    marks: list[Mark] = field(default_factory=list)  # new versions (corrections, new)
    deleted: list[Mark] = field(default_factory=list)  # deletion versions
    attendance: list[Attendance] = field(default_factory=list)  # new versions


def _retire(model: Any, row_id: int) -> None:
    """Mark a version as replaced, only if it still is the current one: a concurrent
    correction of the same row makes this refuse instead of forking the history."""
    result = db.session.execute(
        sa.update(model)
        .where(model.id == row_id, model.is_current.is_(True))
        .values(is_current=False)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ValidationError(
            _l("Someone changed these records meanwhile. Reload the page and try again.")
        )


def record_lesson_entries(
    author: StaffMember | None,
    lesson_id: int,
    entries: Sequence[StudentEntry],
    today: date | None = None,
) -> Recorded:
    """Save a lesson's marks and attendance from the bulk form, all or nothing.

    Unchanged marks and attendance are left alone. A new mark gets the weight the
    school's policy gives its kind now; a correction keeps the weight unless the kind
    changes. Correcting or deleting a mark or attendance needs a reason and adds a
    version. Marks and attendance are only for lessons that have taken place. Raises
    ``EntryErrors`` (nothing saved) with every problem found."""
    lesson = get_lesson(lesson_id)
    author = author_at(author, lesson.school_class.school_id)
    today = today or date.today()
    sheet = lesson_sheet(lesson)
    rule = rule_of(current_policy(lesson.school_class.school_id))
    problems: list[Problem] = []
    new_marks: list[Mark] = []
    retired_marks: list[int] = []
    new_attendance: list[Attendance] = []
    retired_attendance: list[int] = []

    def problem(key: str, where: str, message: Any, **params: Any) -> None:
        problems.append(Problem(key, where, str(message) % params if params else str(message)))

    for entry in entries:
        row = sheet.row_of(entry.student_id)
        if row is None:
            problem(entry.key, "row", _l("This student is not in the class on that day."))
            continue
        if entry.seen is not None and (
            entry.seen.mark_ids != {m.id for m in row.marks}
            or entry.seen.attendance_id != (row.attendance.id if row.attendance else None)
        ):
            problem(
                entry.key,
                "row",
                _l(
                    "The records of %(name)s were changed meanwhile by someone else. "
                    "Check them and save again."
                ),
                name=row.student.full_name,
            )
            continue
        reason = " ".join(entry.reason.split())
        needs_reason = False
        current = {mark.id: mark for mark in row.marks}
        for item in entry.marks:
            try:
                value = parse_mark_value(item.value)
            except ValidationError as error:
                problems.append(Problem(item.key, "value", error.message))
                continue
            comment = " ".join(item.comment.split())
            if item.kind not in MARK_KINDS:
                problem(item.key, "kind", _l("Choose the kind of work."))
                continue
            if len(comment) > MAX_COMMENT:
                problem(item.key, "comment", _l("The comment is too long."))
                continue
            if item.mark_id is None:
                if value:
                    new_marks.append(
                        Mark(
                            lesson_id=lesson.id,
                            student_id=row.student.id,
                            value=value,
                            kind=item.kind,
                            weight=rule.weight_of(item.kind),
                            comment=comment,
                            author_id=author.id,
                        )
                    )
                continue
            old = current.get(item.mark_id)
            if old is None:
                problem(
                    item.key,
                    "value",
                    _l("This mark was changed meanwhile. Reload the page and try again."),
                )
                continue
            if value and (value, item.kind, comment) == (old.value, old.kind, old.comment):
                continue
            needs_reason = True
            retired_marks.append(old.id)
            new_marks.append(
                Mark(
                    lesson_id=lesson.id,
                    student_id=row.student.id,
                    value=value or old.value,
                    kind=item.kind if value else old.kind,
                    weight=(
                        old.weight
                        if not value or item.kind == old.kind
                        else rule.weight_of(item.kind)
                    ),
                    comment=comment if value else old.comment,
                    deleted=not value,
                    previous_id=old.id,
                    reason=reason,
                    author_id=author.id,
                )
            )
        if entry.attendance is not None and entry.attendance != row.code:
            if entry.attendance and entry.attendance not in ATTENDANCE_CODES:
                problem(entry.key, "attendance", _l("Choose an attendance mark from the list."))
            else:
                previous = row.attendance
                if row.code:
                    needs_reason = True
                if previous is not None:
                    retired_attendance.append(previous.id)
                new_attendance.append(
                    Attendance(
                        lesson_id=lesson.id,
                        student_id=row.student.id,
                        code=entry.attendance or row.code,
                        deleted=not entry.attendance,
                        previous_id=previous.id if previous is not None else None,
                        reason=reason if row.code else "",
                        author_id=author.id,
                    )
                )
        if needs_reason and not reason:
            problem(
                entry.key,
                "reason",
                _l("Say why you correct or delete the records of %(name)s."),
                name=row.student.full_name,
            )
        elif len(reason) > MAX_REASON:
            problem(entry.key, "reason", _l("The reason is too long."))

    adds = any(not m.deleted for m in new_marks) or any(not a.deleted for a in new_attendance)
    if adds and lesson.cancelled:
        problems.insert(
            0,
            Problem("", "row", str(_l("The lesson is cancelled: it gets no marks or attendance."))),
        )
    if (new_marks or new_attendance) and lesson.on_date > today:
        problems.insert(
            0,
            Problem(
                "",
                "row",
                str(_l("Marks and attendance are given only for lessons that have taken place.")),
            ),
        )
    if problems:
        db.session.rollback()
        raise EntryErrors(problems)
    for mark_id in retired_marks:
        _retire(Mark, mark_id)
    for attendance_id in retired_attendance:
        _retire(Attendance, attendance_id)
    db.session.add_all(new_marks + new_attendance)
    db.session.commit()
    recorded = Recorded(
        marks=[m for m in new_marks if not m.deleted],
        deleted=[m for m in new_marks if m.deleted],
        attendance=new_attendance,
    )
    for mark in recorded.marks:
        _send(signals.mark_recorded, mark=mark)
    for row in new_attendance:
        if not row.deleted:
            _send(signals.absence_recorded, attendance=row)
    return recorded


def _send(signal: Any, **fields: Any) -> None:
    """Tell the listeners after the commit; a failing listener must not undo or fail
    the write that already happened."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        signal.send(app, **fields)
    except Exception:
        app.logger.exception("a receiver of %s failed", signal.name)


# --- topic, homework and attachments ------------------------------------------------


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def clean_filename(name: str) -> str:
    """The file's own name without any path, control characters or leading dots, at
    most 200 characters with its extension kept."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 199 - len(ext)]}.{ext}" if dot and len(ext) < 20 else name[:200]
    return name


def extension_of(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def save_lesson_plan(
    author: StaffMember | None,
    lesson_id: int,
    topic: str,
    homework: str,
    due_on: date | None,
    uploads: Sequence[Upload] = (),
    max_size: int = 10 * 1024 * 1024,
) -> Lesson:
    """Set a lesson's topic and homework (text, due date, new attachments) at once.

    Future lessons may be planned. The due date, when homework is given without one, is
    the subject's next lesson. Attachments must be of an allowed type (``ATTACHMENT_TYPES``)
    and at most ``max_size`` bytes. Raises ``ValidationError``; nothing is saved then."""
    lesson = get_lesson(lesson_id)
    author = author_at(author, lesson.school_class.school_id)
    topic = " ".join(topic.split())
    text = homework.strip().replace("\r\n", "\n")
    if len(topic) > MAX_TOPIC:
        raise ValidationError(_l("The topic is too long."))
    if len(text) > MAX_HOMEWORK:
        raise ValidationError(_l("The homework is too long."))
    if due_on is not None and due_on <= lesson.on_date:
        raise ValidationError(_l("The homework must be due after the lesson."))
    if due_on is not None and due_on > lesson.school_class.year.ends_on:
        raise ValidationError(_l("The homework must be due within the school year."))
    files = [upload for upload in uploads if upload.filename]
    existing = lesson.homework.attachments if lesson.homework is not None else []
    if len(existing) + len(files) > MAX_ATTACHMENTS:
        raise ValidationError(
            _l("At most %(count)d files may be attached to homework."), count=MAX_ATTACHMENTS
        )
    attachments = []
    for upload in files:
        filename = clean_filename(upload.filename)
        content_type = ATTACHMENT_TYPES.get(extension_of(filename))
        if content_type is None or not filename:
            raise ValidationError(
                _l(
                    "“%(name)s” cannot be attached: only PDF, pictures, office documents "
                    "and text files are allowed."
                ),
                name=upload.filename,
            )
        if not upload.data:
            raise ValidationError(_l("“%(name)s” is empty."), name=filename)
        if len(upload.data) > max_size:
            raise ValidationError(
                _l("“%(name)s” is larger than %(size)s MB."),
                name=filename,
                size=max_size // (1024 * 1024),
            )
        attachments.append(
            HomeworkAttachment(
                filename=filename,
                content_type=content_type,
                size=len(upload.data),
                data=upload.data,
            )
        )

    if topic != lesson.topic:
        lesson.topic = topic
        lesson.topic_updated_at = utcnow()
    record = lesson.homework
    homework_changed = False
    if record is None and (text or attachments):
        record = lesson.homework = Homework(text="", due_on=None)
    if record is not None:
        if text and due_on is None:
            due_on = record.due_on or next_lesson_date(
                lesson.school_class, lesson.subject_id, lesson.on_date
            )
        if text != record.text or due_on != record.due_on:
            homework_changed = True
            record.text = text
            record.due_on = due_on
        if homework_changed or attachments:
            record.updated_by_id = author.id
            record.updated_at = utcnow()
        record.attachments.extend(attachments)
    db.session.commit()
    if homework_changed and record is not None and record.text:
        _send(signals.homework_set, homework=record)
    return lesson


def delete_attachment(author: StaffMember | None, attachment_id: int) -> Lesson:
    """Remove a file from homework (homework is not part of the versioned record)."""
    attachment = get_attachment(attachment_id)
    lesson = attachment.homework.lesson
    author = author_at(author, lesson.school_class.school_id)
    homework = attachment.homework
    homework.attachments.remove(attachment)
    homework.updated_by_id = author.id
    homework.updated_at = utcnow()
    db.session.commit()
    return lesson


# --- remarks --------------------------------------------------------------------------


def add_remark(
    author: StaffMember | None, lesson_id: int, student_id: int, kind: str, text: str
) -> Remark:
    """A teacher's remark to a student's parents, made at a lesson."""
    lesson = get_lesson(lesson_id)
    author = author_at(author, lesson.school_class.school_id)
    text = text.strip()
    if kind not in REMARK_KINDS:
        raise ValidationError(_l("Choose what the remark is about."))
    if not text:
        raise ValidationError(_l("Write the remark."))
    if len(text) > MAX_REMARK:
        raise ValidationError(_l("The remark is too long."))
    if lesson_sheet(lesson).row_of(student_id) is None:
        raise ValidationError(_l("This student is not in the class on that day."))
    remark = Remark(
        student_id=student_id,
        lesson_id=lesson.id,
        subject_id=lesson.subject_id,
        kind=kind,
        text=text,
        author_id=author.id,
    )
    db.session.add(remark)
    db.session.commit()
    return remark


# --- history --------------------------------------------------------------------------


def _chain(model: Any, row_id: int) -> list[Any]:
    """Every version of the record ``row_id`` belongs to, oldest first."""
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound()
    chain = [row]
    while chain[0].previous_id is not None:
        chain.insert(0, db.session.get(model, chain[0].previous_id))
    while True:
        following = db.session.execute(
            sa.select(model).where(model.previous_id == chain[-1].id).limit(1)
        ).scalar_one_or_none()
        if following is None:
            return chain
        chain.append(following)


def mark_history(mark_id: int) -> list[Mark]:
    return _chain(Mark, mark_id)


def attendance_history(attendance_id: int) -> list[Attendance]:
    return _chain(Attendance, attendance_id)


def final_mark_history(final_id: int) -> list[FinalMark]:
    return _chain(FinalMark, final_id)


# --- period and year marks ------------------------------------------------------------


@dataclass
class FinalRow:
    member: ClassMember
    summary: SubjectSummary  # the period's marks, average, suggestion, forecast
    period_final: FinalMark | None  # current version of the period mark (maybe deleted)
    year_final: FinalMark | None
    year_average: Decimal | None  # of this year's period marks
    year_suggested: str | None

    @property
    def period_value(self) -> str:
        return _value_of(self.period_final)

    @property
    def year_value(self) -> str:
        return _value_of(self.year_final)


def _value_of(final: FinalMark | None) -> str:
    return "" if final is None or final.deleted else final.value


@dataclass
class FinalSheet:
    school_class: SchoolClass
    subject: Subject
    period: Period
    policy: MarkPolicy | None
    rule: Rule
    rows: list[FinalRow]

    def row_of(self, student_id: int) -> FinalRow | None:
        return next((row for row in self.rows if row.member.student.id == student_id), None)


def year_average(period_marks: Iterable[FinalMark]) -> Decimal | None:
    """The plain average of the year's period marks (five-point ones only)."""
    values = [int(f.value) for f in period_marks if not f.deleted and f.value.isdigit()]
    if not values:
        return None
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(
        TWO_PLACES, rounding=ROUND_HALF_UP
    )


def final_sheet(school_class: SchoolClass, subject: Subject, period: Period) -> FinalSheet:
    """Per student of the class during the period: the period's summary under the
    school's policy in force, the period and year marks set so far, and the average of
    the year's period marks that the year mark is suggested from."""
    policy = current_policy(school_class.school_id)
    rule = rule_of(policy)
    members = class_members(school_class, period.starts_on, period.ends_on)
    ids = [m.student.id for m in members]
    marks = current_marks(
        ids, period.starts_on, period.ends_on, subject.id, class_id=school_class.id
    )
    finals = _current_finals(ids, school_class.year_id, subject.id)
    rows = []
    for member in members:
        sid = member.student.id
        period_marks = [f for f in finals if f.student_id == sid and f.kind == "period"]
        avg = year_average(period_marks)
        rows.append(
            FinalRow(
                member=member,
                summary=summarize(subject, [m for m in marks if m.student_id == sid], rule),
                period_final=next((f for f in period_marks if f.period_id == period.id), None),
                year_final=next(
                    (f for f in finals if f.student_id == sid and f.kind == "year"), None
                ),
                year_average=avg,
                year_suggested=suggest(avg, rule),
            )
        )
    return FinalSheet(school_class, subject, period, policy, rule, rows)


def _current_finals(student_ids: list[int], year_id: int, subject_id: int) -> list[FinalMark]:
    """Current versions, deletions included (a new mark continues their history)."""
    if not student_ids:
        return []
    return list(
        db.session.execute(
            sa.select(FinalMark).where(
                FinalMark.student_id.in_(student_ids),
                FinalMark.year_id == year_id,
                FinalMark.subject_id == subject_id,
                FinalMark.is_current.is_(True),
            )
        ).scalars()
    )


@dataclass(frozen=True)
class FinalMarkInput:
    """A period (``kind`` "period") or year ("year") mark as typed; "" clears it.
    ``seen_id`` is the current version the form showed, checked when ``checked``."""

    key: str
    student_id: int
    kind: str
    value: str
    reason: str = ""
    seen_id: int | None = None
    checked: bool = False


def set_final_marks(
    author: StaffMember | None,
    class_id: int,
    subject_id: int,
    period_id: int,
    entries: Sequence[FinalMarkInput],
) -> list[FinalMark]:
    """Set or change period marks (for ``period_id``) and year marks of a class's
    students, all or nothing. Each new version stores the average and suggestion it was
    set against and the policy version in force; a change or removal needs a reason.
    Period marks are processed first, so a year mark set with them sees them."""
    school_class = get_class(class_id)
    subject = get_subject(subject_id)
    period = get_period(school_class, period_id, date.today())
    author = author_at(author, school_class.school_id)
    year: AcademicYear = school_class.year
    policy = current_policy(school_class.school_id)
    rule = rule_of(policy)
    members = {m.student.id: m for m in class_members(school_class, year.starts_on, year.ends_on)}
    in_period = {
        m.student.id for m in class_members(school_class, period.starts_on, period.ends_on)
    }
    finals = _current_finals(list(members), year.id, subject.id)
    problems: list[Problem] = []
    changes: list[tuple[FinalMarkInput, FinalMark | None, str, str]] = []
    for entry in sorted(entries, key=lambda e: e.kind != "period"):
        if entry.kind not in FINAL_KINDS:
            problems.append(Problem(entry.key, "value", str(_l("Unknown kind of final mark."))))
            continue
        allowed = in_period if entry.kind == "period" else set(members)
        if entry.student_id not in allowed:
            problems.append(
                Problem(entry.key, "row", str(_l("This student is not in the class then.")))
            )
            continue
        try:
            value = parse_mark_value(entry.value)
        except ValidationError as error:
            problems.append(Problem(entry.key, "value", error.message))
            continue
        current = next(
            (
                f
                for f in finals
                if f.student_id == entry.student_id
                and f.kind == entry.kind
                and (entry.kind == "year" or f.period_id == period.id)
            ),
            None,
        )
        if entry.checked and entry.seen_id != (current.id if current else None):
            problems.append(
                Problem(
                    entry.key,
                    "value",
                    str(_l("This mark was changed meanwhile. Reload the page and try again.")),
                )
            )
            continue
        shown = _value_of(current)
        if value == shown:
            continue
        reason = " ".join(entry.reason.split())
        if shown and not reason:
            problems.append(
                Problem(
                    entry.key,
                    "reason",
                    str(
                        _l("Say why you change the final mark of %(name)s.")
                        % {"name": members[entry.student_id].student.full_name}
                    ),
                )
            )
            continue
        if len(reason) > MAX_REASON:
            problems.append(Problem(entry.key, "reason", str(_l("The reason is too long."))))
            continue
        changes.append((entry, current, value, reason))
    if problems:
        db.session.rollback()
        raise EntryErrors(problems)

    written: list[FinalMark] = []
    for entry, current, value, reason in changes:
        if entry.kind == "period":
            marks = current_marks(
                [entry.student_id],
                period.starts_on,
                period.ends_on,
                subject.id,
                class_id=school_class.id,
            )
            summary = summarize(subject, marks, rule)
            avg, suggested = summary.average, summary.suggested
        else:
            avg = year_average(
                f
                for f in _current_finals([entry.student_id], year.id, subject.id)
                if f.kind == "period"
            )
            suggested = suggest(avg, rule)
        if current is not None:
            _retire(FinalMark, current.id)
        row = FinalMark(
            student_id=entry.student_id,
            subject_id=subject.id,
            year_id=year.id,
            period_id=period.id if entry.kind == "period" else None,
            kind=entry.kind,
            value=value or current.value,  # type: ignore[union-attr]
            average=avg,
            suggested=suggested,
            policy_id=policy.id if policy is not None else None,
            deleted=not value,
            previous_id=current.id if current is not None else None,
            reason=reason if current is not None else "",
            author_id=author.id,
        )
        db.session.add(row)
        db.session.flush()  # the year mark below reads the period marks just written
        written.append(row)
    db.session.commit()
    return written


# --- the journal's front page ---------------------------------------------------------


@dataclass(frozen=True)
class JournalLink:
    school_class: SchoolClass
    subject: Subject


@dataclass
class TodayLesson:
    slot: Slot
    school_class: SchoolClass
    lesson: Lesson | None  # None: not opened yet


@dataclass
class Overview:
    teaching: list[JournalLink]  # the classes and subjects the viewer teaches
    leading: list[JournalLink]  # every subject of the classes they lead (to read)
    school: list[JournalLink]  # every class and subject of schools they administer
    today: list[TodayLesson]  # the lessons they give today (substitutions included)


def _links(query: sa.Select) -> list[JournalLink]:
    pairs = db.session.execute(query.distinct()).all()
    classes = {
        c.id: c
        for c in db.session.execute(
            sa.select(SchoolClass).where(SchoolClass.id.in_({cid for cid, _ in pairs}))
        ).scalars()
    }
    subjects = {
        s.id: s
        for s in db.session.execute(
            sa.select(Subject).where(Subject.id.in_({sid for _, sid in pairs}))
        ).scalars()
    }
    links = [JournalLink(classes[cid], subjects[sid]) for cid, sid in pairs]
    return sorted(
        links,
        key=lambda link: (
            link.school_class.school_id,
            link.school_class.grade,
            link.school_class.letter,
            link.subject.name,
        ),
    )


def journal_overview(viewer: Viewer, today: date) -> Overview:
    """What the journal's front page lists for a viewer: classes of this school year
    only, and today's lessons with their ``Lesson`` rows where opened (the page opens
    the others by a POST)."""
    assignments = (
        sa.select(TeachingAssignment.class_id, TeachingAssignment.subject_id)
        .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(AcademicYear.ends_on >= today)
    )
    staff_ids = viewer.staff_ids
    teaching = (
        _links(assignments.where(TeachingAssignment.teacher_id.in_(staff_ids))) if staff_ids else []
    )
    leading = (
        _links(assignments.where(SchoolClass.id.in_(viewer.class_teacher_of)))
        if viewer.class_teacher_of
        else []
    )
    school = (
        _links(assignments.where(SchoolClass.school_id.in_(viewer.school_admin_of)))
        if viewer.school_admin_of
        else []
    )
    class_ids = {link.school_class.id for link in teaching}
    if staff_ids:
        class_ids |= set(
            db.session.execute(
                sa.select(TimetableChange.class_id).where(
                    TimetableChange.on_date == today,
                    TimetableChange.kind == "substitution",
                    TimetableChange.substitute_id.in_(staff_ids),
                )
            ).scalars()
        )
    lessons_today = []
    for class_id in sorted(class_ids):
        school_class = get_class(class_id)
        for slot in slots(school_class, today, today):
            if slot.teacher.id not in staff_ids:
                continue
            lesson = lesson_at(school_class, slot.subject.id, today, slot.lesson_number)
            lessons_today.append(TodayLesson(slot, school_class, lesson))
    lessons_today.sort(key=lambda t: (t.slot.lesson_number, t.school_class.name))
    return Overview(teaching, leading, school, lessons_today)
