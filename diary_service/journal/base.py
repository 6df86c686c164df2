"""What every part of the journal's services shares: the words for its codes and
periods, the limits of what a teacher types, looking a class, subject, lesson or period
up (404 for what does not exist), who writes at a school, and a class's members."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.models.journal import (
    HomeworkAttachment,
    Lesson,
)
from diary_service.models.school import (
    Enrolment,
    Period,
    SchoolClass,
    StaffMember,
    Student,
    Subject,
)

# Re-exported: the journal's pages and forms name its codes with these words.
from diary_service.school.labels import ATTENDANCE_LABELS as ATTENDANCE_LABELS
from diary_service.school.labels import MARK_KIND_LABELS as MARK_KIND_LABELS
from diary_service.school.labels import MARK_VALUE_LABELS as MARK_VALUE_LABELS
from diary_service.school.labels import REMARK_KIND_LABELS as REMARK_KIND_LABELS
from diary_service.school.timetable import period_on
from shared.errors import Forbidden, NotFound, ValidationError

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
