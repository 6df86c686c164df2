"""A person's notification settings: per child (or for themselves), which events they
hear of and how (e-mail, SMS), and the quiet hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.access import (
    Viewer,
    require,
)
from diary_service.extensions import db
from diary_service.messages.base import CHILD_EVENTS, OWN_EVENTS, FieldError, child_events
from diary_service.messages.recipients import get_student
from diary_service.models.messages import NotificationSetting
from diary_service.models.school import Student


def default_setting(person_id: int, student_id: int | None) -> NotificationSetting:
    """A person's setting before they change anything: the model's column defaults (a
    transient object; nothing is stored until they save)."""
    values = {
        column.key: column.default.arg
        for column in NotificationSetting.__table__.columns
        if column.default is not None and not callable(column.default.arg)
    }
    return NotificationSetting(person_id=person_id, student_id=student_id, **values)


def setting_for(person_id: int, student_id: int | None) -> NotificationSetting:
    found = db.session.execute(
        sa.select(NotificationSetting).where(
            NotificationSetting.person_id == person_id,
            NotificationSetting.student_id.is_(None)
            if student_id is None
            else NotificationSetting.student_id == student_id,
        )
    ).scalar_one_or_none()
    return found if found is not None else default_setting(person_id, student_id)


@dataclass
class SettingContext:
    student: Student | None  # None: a staff member's own messages
    setting: NotificationSetting
    events: tuple[str, ...] = field(default=CHILD_EVENTS)

    @property
    def key(self) -> int:
        return self.student.id if self.student is not None else 0


def setting_contexts(viewer: Viewer) -> list[SettingContext]:
    """One setting per child (and per own student record), and for staff one for the
    messages they receive themselves."""
    me = viewer.person.id
    ids = {sid for sid in viewer.family_ids if child_events(viewer, sid)}
    students = (
        db.session.execute(
            sa.select(Student)
            .where(Student.id.in_(ids))
            .order_by(Student.family_name, Student.given_name, Student.id)
        ).scalars()
        if ids
        else []
    )
    contexts = [
        SettingContext(s, setting_for(me, s.id), child_events(viewer, s.id)) for s in students
    ]
    if viewer.is_staff:
        contexts.append(SettingContext(None, setting_for(me, None), OWN_EVENTS))
    return contexts


def check_setting_access(viewer: Viewer, student_id: int | None) -> tuple[str, ...]:
    """A person sets notifications for their own children and own record (a trusted
    person for the events of their sections), and staff for their own messages; returns
    the events that setting covers."""
    if student_id is None:
        require(viewer.is_staff)
        return OWN_EVENTS
    get_student(student_id)
    events = child_events(viewer, student_id)
    require(bool(events))
    return events


def save_setting(
    viewer: Viewer,
    student_id: int | None,
    *,
    by_email: bool,
    by_sms: bool,
    quiet_from: time,
    quiet_to: time,
    events: dict[str, bool],
) -> NotificationSetting:
    """Store the viewer's setting for a child (or their own messages, staff only)."""
    person = viewer.person
    allowed = check_setting_access(viewer, student_id)
    if by_email and not person.email:
        raise FieldError(
            "by_email",
            _l("The portal has not shared an e-mail address of yours: e-mail cannot be sent."),
        )
    if by_sms and not person.phone:
        raise FieldError(
            "by_sms",
            _l("The portal has not shared a phone number of yours: SMS cannot be sent."),
        )
    setting = setting_for(person.id, student_id)
    db.session.add(setting)
    setting.by_email, setting.by_sms = by_email, by_sms
    setting.quiet_from, setting.quiet_to = quiet_from, quiet_to
    for event in allowed:
        setattr(setting, f"on_{event}", bool(events.get(event)))
    db.session.commit()
    return setting
