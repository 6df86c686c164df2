"""A student's attendance page: absences and lateness of a school year, by month and
subject."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from diary_service.access import Reach
from diary_service.diary.pages import years_of
from diary_service.journal.queries import attendance_between
from diary_service.models.journal import (
    Attendance,
    Lesson,
)
from diary_service.models.school import (
    AcademicYear,
    Period,
    Student,
    Subject,
)
from diary_service.school.timetable import period_on


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
    entries = attendance_between(
        student.id,
        year.starts_on,
        year.ends_on,
        reach.where("attendance", Lesson.class_id, Lesson.on_date),
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
