"""What the JSON API answers: the family pages' data (``diary`` builds it,
``messages.services`` for threads) turned into plain JSON values, plus the one list the
pages do not have — homework over a range of dates.

Codes and values only, no labels: the client has its own words for ``control`` or
``н``. Dates are ``YYYY-MM-DD``, times ``HH:MM``, moments ISO 8601 in UTC with ``Z``;
averages are strings with two decimals (``"4.83"``), as exact as the pages show them.
The shapes are the schemas of ``api.openapi``; the tests hold the two together.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy.orm import selectinload

from diary_service.access import Reach, Viewer
from diary_service.diary.attendance import attendance_page
from diary_service.diary.marks import MarksPage
from diary_service.diary.pages import Child
from diary_service.diary.week import LessonRow, RemarkRow, Week
from diary_service.extensions import db
from diary_service.messages.threads import ThreadPage, ThreadRow
from diary_service.models.journal import Attendance, FinalMark, Homework, Lesson, Mark
from diary_service.models.messages import Message, Thread
from diary_service.models.school import (
    AcademicYear,
    Enrolment,
    Notice,
    Period,
    School,
    SchoolClass,
    Student,
    Subject,
)
from diary_service.school.policy import Forecast
from shared.errors import ValidationError

# The longest homework list one request may ask for (a school term is about 60 days).
MAX_HOMEWORK_DAYS = 62
DEFAULT_HOMEWORK_DAYS = 14


# --- reading what the pages do not ----------------------------------------------------


def homework_between(student: Student, start: date, end: date, reach: Reach) -> list[Homework]:
    """Homework of the student's classes due from ``start`` to ``end`` inclusive (one
    without a due date counts on the day it was set), set at lessons while the student
    was in that class and the caller's ``reach`` covers — as the week pages show it,
    over any range up to ``MAX_HOMEWORK_DAYS``."""
    if end < start:
        raise ValidationError(_l("The start of the range must not be after its end."))
    if (end - start).days + 1 > MAX_HOMEWORK_DAYS:
        raise ValidationError(
            ngettext(
                "At most %(num)d day at a time.",
                "At most %(num)d days at a time.",
                MAX_HOMEWORK_DAYS,
            )
        )
    enrolments = db.session.execute(
        sa.select(Enrolment).where(Enrolment.student_id == student.id)
    ).scalars()
    windows = [
        sa.and_(
            Lesson.class_id == enrolment.class_id,
            Lesson.on_date >= enrolment.starts_on,
            Lesson.on_date < enrolment.ends_on if enrolment.ends_on is not None else sa.true(),
        )
        for enrolment in enrolments
    ]
    if not windows:
        return []
    day = sa.func.coalesce(Homework.due_on, Lesson.on_date)
    return list(
        db.session.execute(
            sa.select(Homework)
            .join(Lesson, Lesson.id == Homework.lesson_id)
            .options(
                selectinload(Homework.attachments),
                selectinload(Homework.lesson).selectinload(Lesson.subject),
            )
            .where(
                sa.or_(*windows),
                reach.where("homework", Lesson.class_id, Lesson.on_date),
                day >= start,
                day <= end,
            )
            .order_by(day, Lesson.on_date, Lesson.lesson_number, Homework.id)
        ).scalars()
    )


@dataclass
class PeriodAttendance:
    year: AcademicYear
    period: Period
    entries: list[Attendance]
    total: Counter[str] = field(default_factory=Counter)
    by_subject: dict[int, tuple[Subject, Counter[str]]] = field(default_factory=dict)


def period_attendance(student: Student, period: Period, reach: Reach) -> PeriodAttendance:
    """The student's absences and latenesses in one period, counted by code and by
    subject (the attendance page's entries of the year, narrowed to the period)."""
    page = attendance_page(student, period.year, reach)
    result = PeriodAttendance(
        year=period.year,
        period=period,
        entries=[
            entry
            for entry in page.entries
            if period.starts_on <= entry.lesson.on_date <= period.ends_on
        ],
    )
    for entry in result.entries:
        subject = entry.lesson.subject
        result.total[entry.code] += 1
        result.by_subject.setdefault(subject.id, (subject, Counter()))[1][entry.code] += 1
    return result


# --- JSON values ----------------------------------------------------------------------


def day_of(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def clock_of(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def moment_of(value: datetime | None) -> str | None:
    """Stored moments are naive UTC (``shared.sessions.utcnow``)."""
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def decimal_of(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def school_json(school: School | None) -> dict[str, Any] | None:
    if school is None:
        return None
    return {"id": school.id, "name": school.name, "short_name": school.short_name}


def class_json(school_class: SchoolClass | None) -> dict[str, Any] | None:
    if school_class is None:
        return None
    return {
        "id": school_class.id,
        "name": school_class.name,
        "grade": school_class.grade,
        "letter": school_class.letter,
    }


def subject_json(subject: Subject | None) -> dict[str, Any] | None:
    if subject is None:
        return None
    return {"id": subject.id, "name": subject.name, "short_name": subject.short_name}


def year_json(year: AcademicYear) -> dict[str, Any]:
    return {
        "id": year.id,
        "name": year.name,
        "starts_on": day_of(year.starts_on),
        "ends_on": day_of(year.ends_on),
        "period_kind": year.period_kind,
    }


def period_json(period: Period) -> dict[str, Any]:
    return {
        "id": period.id,
        "number": period.number,
        "starts_on": day_of(period.starts_on),
        "ends_on": day_of(period.ends_on),
    }


def children_json(children: list[Child], sections: dict[int, frozenset[str]]) -> dict[str, Any]:
    return {
        "children": [
            {
                "id": child.student.id,
                "family_name": child.student.family_name,
                "given_name": child.student.given_name,
                "middle_name": child.student.middle_name,
                "is_self": child.is_self,
                "is_trusted": child.is_trusted,
                "trusted_until": day_of(child.trusted_until),
                "school": school_json(child.student.school),
                "class": class_json(child.school_class),
                "sections": sorted(sections[child.student.id]),
            }
            for child in children
        ]
    }


def mark_json(mark: Mark) -> dict[str, Any]:
    return {
        "id": mark.id,
        "date": day_of(mark.lesson.on_date),
        "value": mark.value,
        "kind": mark.kind,
        "weight": mark.weight,
        "comment": mark.comment,
        # A correction is a new version naming the one it replaced (journal.models).
        "corrected": mark.previous_id is not None,
    }


def homework_json(homework: Homework) -> dict[str, Any]:
    lesson = homework.lesson
    return {
        "id": homework.id,
        "subject": subject_json(lesson.subject),
        "set_on": day_of(lesson.on_date),
        "due_on": day_of(homework.due_on),
        "text": homework.text,
        "attachments": [
            {
                "id": file.id,
                "filename": file.filename,
                "content_type": file.content_type,
                "size": file.size,
            }
            for file in homework.attachments
        ],
    }


def lesson_json(row: LessonRow) -> dict[str, Any]:
    change = row.change.kind if row.change is not None else None
    if change is None and row.cancelled:  # the teacher cancelled it in the journal
        change = "cancellation"
    return {
        "number": row.lesson_number,
        "starts_at": clock_of(row.starts_at),
        "ends_at": clock_of(row.ends_at),
        "subject": subject_json(row.subject),
        "teacher": row.teacher.short_name,
        "regular_teacher": row.regular_teacher.short_name,
        "room": row.room,
        "change": change,
        "change_note": row.change.note if row.change is not None else "",
        "cancelled": row.cancelled,
        "topic": row.topic,
        "homework": homework_json(row.homework) if row.homework is not None else None,
        "marks": [mark_json(mark) for mark in row.marks],
        "attendance": row.attendance.code if row.attendance is not None else None,
    }


def notice_json(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "title": notice.title,
        "body": notice.body,
        "starts_on": day_of(notice.starts_on),
        "ends_on": day_of(notice.ends_on),
        "class": class_json(notice.school_class),
    }


def remark_json(row: RemarkRow) -> dict[str, Any]:
    remark = row.remark
    return {
        "id": remark.id,
        "date": day_of(row.on_date),
        "kind": remark.kind,
        "text": remark.text,
        "subject": subject_json(remark.subject),
        "author": remark.author.short_name,
    }


def week_json(week: Week) -> dict[str, Any]:
    """The week page: its ``remarks`` only for a viewer with that section (a guardian);
    the key is absent otherwise, not an empty list."""
    body: dict[str, Any] = {
        "student_id": week.student.id,
        "monday": day_of(week.monday),
        "saturday": day_of(week.saturday),
        "previous": day_of(week.previous),
        "next": day_of(week.next),
        "sections": sorted(week.sections),
        "notices": [notice_json(notice) for notice in week.notices],
        "days": [
            {
                "date": day_of(day.on_date),
                "class": class_json(day.school_class),
                "holiday": day.holiday.name if day.holiday is not None else None,
                "quarantine": bool(day.quarantines),
                "lessons": [lesson_json(row) for row in day.lessons],
                "due": [homework_json(homework) for homework in day.due],
            }
            for day in week.days
        ],
    }
    if "remarks" in week.sections:
        body["remarks"] = [remark_json(row) for row in week.remarks]
    return body


def final_json(final: FinalMark | None) -> dict[str, Any] | None:
    if final is None:
        return None
    return {
        "value": final.value,
        "average": decimal_of(final.average),
        "suggested": final.suggested,
        "policy_version": final.policy.version if final.policy is not None else None,
        "period_id": final.period_id,
    }


def forecast_json(forecast: Forecast) -> dict[str, Any]:
    return {
        "target": forecast.target,
        "kind": forecast.kind,
        "count": forecast.count,
        "average": decimal_of(forecast.average),
    }


def marks_json(page: MarksPage) -> dict[str, Any]:
    rule = page.rule
    return {
        "student_id": page.student.id,
        "year": year_json(page.year),
        "period": period_json(page.period),
        "periods": [period_json(period) for period in page.year.periods],
        "policy": {
            "version": page.policy.version if page.policy is not None else None,
            "average": rule.average,
            "weights": dict(rule.weights),
            "thresholds": {mark: decimal_of(limit) for mark, limit in rule.thresholds.items()},
        },
        "overall_average": decimal_of(page.overall_average),
        "subjects": [
            {
                "subject": subject_json(item.summary.subject),
                "marks": [mark_json(mark) for mark in item.summary.marks],
                "average": decimal_of(item.summary.average),
                "suggested": item.summary.suggested,
                "final": final_json(item.summary.final),
                "forecast": [forecast_json(f) for f in item.summary.forecast],
            }
            for item in page.subjects
        ],
        "finals": [
            {
                "subject": subject_json(row.subject),
                "periods": [final_json(final) for final in row.by_period.values()],
                "year": final_json(row.year),
            }
            for row in page.finals
        ],
    }


def homework_list_json(
    student: Student, start: date, end: date, items: list[Homework]
) -> dict[str, Any]:
    return {
        "student_id": student.id,
        "from": day_of(start),
        "to": day_of(end),
        "homework": [homework_json(homework) for homework in items],
    }


def attendance_json(student: Student, found: PeriodAttendance) -> dict[str, Any]:
    return {
        "student_id": student.id,
        "year": year_json(found.year),
        "period": period_json(found.period),
        "total": dict(found.total),
        "by_subject": [
            {"subject": subject_json(subject), "counts": dict(counts)}
            for subject, counts in sorted(found.by_subject.values(), key=lambda p: p[0].name)
        ],
        "entries": [
            {
                "date": day_of(entry.lesson.on_date),
                "lesson_number": entry.lesson.lesson_number,
                "subject": subject_json(entry.lesson.subject),
                "code": entry.code,
            }
            for entry in found.entries
        ],
    }


def thread_json(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "kind": thread.kind,
        "subject": thread.subject,
        "student_id": thread.student_id,
        "class": class_json(thread.school_class),
        "last_message_at": moment_of(thread.last_message_at),
    }


def threads_json(rows: list[ThreadRow]) -> dict[str, Any]:
    return {"threads": [{**thread_json(row.thread), "unread": row.unread} for row in rows]}


def message_json(message: Message, viewer: Viewer, can_moderate: bool) -> dict[str, Any]:
    """A hidden message keeps its place and the reason; its text only for who moderates
    (as on the thread page)."""
    hidden = message.hidden_at is not None
    return {
        "id": message.id,
        "author": message.author.full_name,
        "mine": viewer.person is not None and message.author_id == viewer.person.id,
        "created_at": moment_of(message.created_at),
        "hidden": hidden,
        "hidden_reason": message.hidden_reason if hidden else "",
        "body": message.body if not hidden or can_moderate else None,
    }


def thread_page_json(page: ThreadPage, viewer: Viewer) -> dict[str, Any]:
    return {
        "thread": thread_json(page.thread),
        "participants": [person.full_name for person in page.people],
        "can_post": page.can_post,
        "read_until": moment_of(page.read_until),
        "messages": [message_json(m, viewer, page.can_moderate) for m in page.messages],
    }


def read_mark_json(thread_id: int, read_until: datetime) -> dict[str, Any]:
    return {"thread_id": thread_id, "read_until": moment_of(read_until)}
