"""A school's notices (news, events, quarantines) and parent meetings."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.models.school import (
    NOTICE_KINDS,
    Notice,
    ParentMeeting,
    SchoolClass,
)
from diary_service.school.base import clean_text, commit, get, invalid


def notices_of(school_id: int) -> list[Notice]:
    return list(
        db.session.execute(
            sa.select(Notice)
            .where(Notice.school_id == school_id)
            .order_by(Notice.starts_on.desc(), Notice.id.desc())
        ).scalars()
    )


def class_of_school(school_id: int, class_id: int | None, field: str = "class_id") -> SchoolClass:
    school_class = db.session.get(SchoolClass, class_id) if class_id else None
    if school_class is None or school_class.school_id != school_id:
        raise invalid(field, _l("Choose a class of this school."))
    return school_class


def add_notice(
    school_id: int,
    class_id: int | None,
    kind: str,
    title: str,
    body: str,
    starts_on: date,
    ends_on: date | None = None,
    created_by_id: int | None = None,
) -> Notice:
    """News, an event or a quarantine for the whole school (no class) or one class."""
    if class_id:
        class_of_school(school_id, class_id)
    if kind not in NOTICE_KINDS:
        raise invalid("kind", _l("Choose the kind of notice."))
    if ends_on is not None and ends_on < starts_on:
        raise invalid("ends_on", _l("The end must not come before the start."))
    notice = Notice(
        school_id=school_id,
        class_id=class_id or None,
        kind=kind,
        title=clean_text(title),
        body=clean_text(body),
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=created_by_id,
    )
    db.session.add(notice)
    commit()
    return notice


def remove_notice(notice_id: int) -> None:
    db.session.delete(get(Notice, notice_id))
    commit()


def meetings_of(school_id: int) -> list[ParentMeeting]:
    return list(
        db.session.execute(
            sa.select(ParentMeeting)
            .join(SchoolClass, SchoolClass.id == ParentMeeting.class_id)
            .where(SchoolClass.school_id == school_id)
            .order_by(ParentMeeting.held_at.desc())
        ).scalars()
    )


def add_meeting(
    school_id: int,
    class_id: int,
    held_at: datetime,
    place: str,
    agenda: str,
    created_by_id: int | None = None,
) -> ParentMeeting:
    class_of_school(school_id, class_id)
    meeting = ParentMeeting(
        class_id=class_id,
        held_at=held_at,
        place=clean_text(place),
        agenda=clean_text(agenda),
        created_by_id=created_by_id,
    )
    db.session.add(meeting)
    commit()
    return meeting


def remove_meeting(meeting_id: int) -> None:
    db.session.delete(get(ParentMeeting, meeting_id))
    commit()
