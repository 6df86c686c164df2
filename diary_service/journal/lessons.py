"""A class's lessons: the rows the journal keeps for the timetable's slots, made when
first needed and brought in line when the timetable changes
(timetable_changed)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from diary_service.extensions import db
from diary_service.journal.base import NEXT_LESSON_HORIZON
from diary_service.models.journal import Lesson
from diary_service.models.school import SchoolClass
from diary_service.school.timetable import Slot, slots, subject_slots
from diary_service.signals import timetable_changed
from shared.errors import NotFound


def lessons_between(
    school_class: SchoolClass, subject_id: int, start: date, end: date
) -> list[Lesson]:
    return list(
        db.session.execute(
            sa.select(Lesson)
            # The grid shows each lesson's homework: one query for all, not one a lesson.
            .options(selectinload(Lesson.homework))
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
    return next(
        (
            on
            for on, _number, cancelled in subject_slots(school_class, subject_id, start, end)
            if not cancelled
        ),
        None,
    )


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
    timetable_changed.connect(_on_timetable_change, sender=app)


def _on_timetable_change(
    sender: Flask, school_class: SchoolClass, on_date: date, lesson_number: int, **_: object
) -> None:
    follow_timetable_change(school_class, on_date, lesson_number)


def follow_timetable_change(school_class: SchoolClass, on: date, lesson_number: int) -> None:
    """Keep an opened lesson in step with a change of its slot made since (who gives
    it, whether it is cancelled): the school's timetable changes call this, through
    ``timetable_changed``."""
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
