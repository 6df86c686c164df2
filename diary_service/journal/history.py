"""Remarks to the parents, and the history of a mark, an absence or a period mark (every
version, with who changed it, when and why)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.journal.base import MAX_REMARK, author_at, get_lesson
from diary_service.journal.grid import lesson_sheet
from diary_service.models.journal import (
    REMARK_KINDS,
    Attendance,
    FinalMark,
    Mark,
    Remark,
)
from diary_service.models.school import StaffMember
from shared.errors import NotFound, ValidationError


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
