"""The journal's front page: the classes and subjects a viewer keeps the journal of, and
today's lessons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from diary_service.access import Viewer
from diary_service.extensions import db
from diary_service.journal.base import get_class
from diary_service.journal.lessons import lesson_at
from diary_service.models.journal import Lesson
from diary_service.models.school import (
    AcademicYear,
    SchoolClass,
    Subject,
    TeachingAssignment,
    TimetableChange,
)
from diary_service.school.timetable import Slot, slots


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
