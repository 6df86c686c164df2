"""Threads and their messages: starting a direct thread, announcements and the class
parents' thread, replying, reading (what is unread), listing a viewer's threads, and
moderation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

import diary_service.clock as clock
from diary_service.access import (
    Viewer,
    can_lead_class,
    can_read_class_threads,
    children_in_class,
    enrolment_open_on,
    message_family_ids,
    require,
)
from diary_service.access.rules import can_moderate, can_post, can_read_thread, thread_participant
from diary_service.extensions import db
from diary_service.messages.base import (
    ALL_GUARDIANS,
    MAX_BODY,
    MAX_REASON,
    MAX_SUBJECT,
    THREAD_LIST_LIMIT,
    FieldError,
    guardians_of,
)
from diary_service.messages.recipients import get_class, get_student, recipient_choices
from diary_service.models.auth import DiaryPerson
from diary_service.models.messages import (
    CLASS_KINDS,
    Message,
    Thread,
    ThreadParticipant,
)
from diary_service.models.school import (
    Enrolment,
    SchoolClass,
)
from diary_service.signals import message_posted
from shared.errors import Forbidden, NotFound, ValidationError
from shared.sessions import utcnow


def _clean(text: str | None, limit: int, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise FieldError(what, _l("This field is required."))
    if len(text) > limit:
        raise FieldError(what, _l("At most %(limit)d characters."), limit=limit)
    return text


def _add_message(thread: Thread, author_id: int, body: str) -> Message:
    now = utcnow()
    message = Message(thread=thread, author_id=author_id, body=body, created_at=now)
    db.session.add(message)
    thread.last_message_at = now
    # Writing is reading: the author's own message never shows as unread to them.
    mine = thread_participant(thread.id, author_id) if thread.id else None
    if mine is None:
        mine = ThreadParticipant(thread=thread, person_id=author_id)
        db.session.add(mine)
    mine.last_read_at = now
    return message


def _announce(message: Message) -> Message:
    """Tell the listeners (notifications) once the message is committed."""
    message_posted.send(current_app._get_current_object(), message=message)
    return message


def start_direct_thread(
    viewer: Viewer, student_id: int, recipient: str, subject: str, body: str
) -> Thread:
    """A new direct thread about a student with the chosen recipient (or, for staff,
    all the student's guardians), opened by its first message."""
    student = get_student(student_id)
    choices = dict(recipient_choices(viewer, student))
    if recipient not in choices:
        raise FieldError("recipient", _l("Choose a recipient from the list."))
    subject = _clean(subject, MAX_SUBJECT, "subject")
    body = _clean(body, MAX_BODY, "body")
    if recipient == ALL_GUARDIANS:
        people = {g.person_id for g in guardians_of({student.id})} - {viewer.person.id}
    else:
        people = {int(recipient)}
    thread = Thread(
        kind="direct", student_id=student.id, subject=subject, created_by_id=viewer.person.id
    )
    db.session.add(thread)
    thread.participants = [ThreadParticipant(person_id=pid) for pid in sorted(people)]
    message = _add_message(thread, viewer.person.id, body)
    db.session.commit()
    _announce(message)
    return thread


def post_announcement(viewer: Viewer, class_id: int, subject: str, body: str) -> Thread:
    """The class teacher (or a school administrator) to all guardians of the class."""
    school_class = get_class(class_id)
    require(can_lead_class(viewer, school_class))
    subject = _clean(subject, MAX_SUBJECT, "subject")
    body = _clean(body, MAX_BODY, "body")
    thread = Thread(
        kind="announcement",
        class_id=school_class.id,
        subject=subject,
        created_by_id=viewer.person.id,
    )
    db.session.add(thread)
    message = _add_message(thread, viewer.person.id, body)
    db.session.commit()
    _announce(message)
    return thread


def class_parents_thread(class_id: int) -> Thread | None:
    """The class's one parents' conversation, if anyone has written in it yet (the
    earliest, should two first messages have raced)."""
    return db.session.execute(
        sa.select(Thread)
        .where(Thread.kind == "class_parents", Thread.class_id == class_id)
        .order_by(Thread.id)
        .limit(1)
    ).scalar_one_or_none()


def open_class_parents(viewer: Viewer, class_id: int) -> tuple[SchoolClass, Thread | None]:
    school_class = get_class(class_id)
    require(can_read_class_threads(viewer, school_class))
    return school_class, class_parents_thread(class_id)


def post_to_class_parents(viewer: Viewer, class_id: int, body: str) -> Message:
    """A guardian's message to the class parents' conversation, created on first use."""
    school_class = get_class(class_id)
    require(bool(children_in_class(viewer, school_class.id)))
    body = _clean(body, MAX_BODY, "body")
    thread = class_parents_thread(school_class.id)
    if thread is None:
        thread = Thread(
            kind="class_parents",
            class_id=school_class.id,
            subject="",
            created_by_id=viewer.person.id,
        )
        db.session.add(thread)
    message = _add_message(thread, viewer.person.id, body)
    db.session.commit()
    return _announce(message)


def get_thread(viewer: Viewer, thread_id: int) -> Thread:
    """The thread if the viewer may read it: 404 when there is none, 403 otherwise."""
    thread = db.session.get(Thread, thread_id)
    if thread is None:
        raise NotFound()
    require(can_read_thread(viewer, thread))
    return thread


def reply(viewer: Viewer, thread_id: int, body: str) -> Message:
    thread = get_thread(viewer, thread_id)
    if not can_post(viewer, thread):
        raise Forbidden(
            _l("Replies to an announcement go to the class teacher in a message of your own.")
            if thread.kind == "announcement"
            else None
        )
    body = _clean(body, MAX_BODY, "body")
    message = _add_message(thread, viewer.person.id, body)
    db.session.commit()
    return _announce(message)


@dataclass
class ThreadPage:
    thread: Thread | None
    school_class: SchoolClass | None
    messages: list[Message]
    people: list[DiaryPerson]
    can_post: bool
    can_moderate: bool
    # For a guardian reading an announcement: (student id, person id) of the private
    # reply to its author.
    reply_privately: tuple[int, int] | None = None
    # Up to when the viewer has marked the thread read (None: never).
    read_until: datetime | None = None

    def is_new(self, message: Message) -> bool:
        return self.read_until is None or message.created_at > self.read_until

    @property
    def unread(self) -> int:
        return sum(1 for message in self.messages if self.is_new(message))


def open_thread(viewer: Viewer, thread_id: int) -> ThreadPage:
    """Everything the thread page shows, and which messages are new to the viewer.
    Opening writes nothing: the viewer marks the thread read (``mark_read``) by a POST,
    as every change is made."""
    thread = get_thread(viewer, thread_id)
    page = ThreadPage(
        thread=thread,
        school_class=thread.school_class,
        messages=list(
            db.session.execute(
                sa.select(Message)
                .where(Message.thread_id == thread.id)
                .order_by(Message.created_at, Message.id)
            ).scalars()
        ),
        people=[p.person for p in thread.participants] if thread.kind == "direct" else [],
        can_post=can_post(viewer, thread),
        can_moderate=can_moderate(viewer, thread),
    )
    if thread.kind == "announcement" and not page.can_post:
        children = children_in_class(viewer, thread.class_id)
        if children:
            page.reply_privately = (min(children), thread.created_by_id)
    mine = thread_participant(thread.id, viewer.person.id)
    page.read_until = mine.last_read_at if mine is not None else None
    return page


def empty_class_parents_page(viewer: Viewer, school_class: SchoolClass) -> ThreadPage:
    return ThreadPage(
        thread=None,
        school_class=school_class,
        messages=[],
        people=[],
        can_post=bool(children_in_class(viewer, school_class.id)),
        can_moderate=False,
    )


def mark_read(viewer: Viewer, thread_id: int, seen_id: int | None = None) -> datetime:
    """Remember that the viewer has read the thread up to the message ``seen_id`` (the
    last one their page showed; by default the thread's last message), and return that
    moment. A message that arrived after the page was shown stays unread. Readers of
    class-wide threads get their participant row on first marking."""
    thread = get_thread(viewer, thread_id)
    up_to = thread.last_message_at
    if seen_id is not None:
        seen = db.session.get(Message, seen_id)
        if seen is None or seen.thread_id != thread.id:
            raise ValidationError(_l("There is no such message in this conversation."))
        up_to = seen.created_at
    person_id = viewer.person.id
    # One statement, so two markings at once never move the mark back.
    moved = db.session.execute(
        sa.update(ThreadParticipant)
        .where(
            ThreadParticipant.thread_id == thread.id,
            ThreadParticipant.person_id == person_id,
            sa.or_(
                ThreadParticipant.last_read_at.is_(None), ThreadParticipant.last_read_at < up_to
            ),
        )
        .values(last_read_at=up_to)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved and thread_participant(thread.id, person_id) is None:
        db.session.add(
            ThreadParticipant(thread_id=thread.id, person_id=person_id, last_read_at=up_to)
        )
    try:
        db.session.commit()
    except IntegrityError:
        # The same person marked it twice at once: the other request recorded it.
        db.session.rollback()
    return up_to


@dataclass
class ThreadRow:
    thread: Thread
    unread: bool


def _classes_of_children(viewer: Viewer) -> set[int]:
    """The classes the viewer's children (as a guardian) are in today."""
    if not viewer.guardian_of:
        return set()
    return set(
        db.session.execute(
            sa.select(Enrolment.class_id).where(
                Enrolment.student_id.in_(viewer.guardian_of), enrolment_open_on(clock.today())
            )
        ).scalars()
    )


def readable_class_ids(viewer: Viewer) -> set[int]:
    """Classes whose class-wide threads the viewer reads (students' own accounts none)."""
    ids = set(viewer.class_teacher_of)
    ids |= _classes_of_children(viewer)
    if viewer.school_admin_of:
        ids |= set(
            db.session.execute(
                sa.select(SchoolClass.id).where(SchoolClass.school_id.in_(viewer.school_admin_of))
            ).scalars()
        )
    return ids


def threads_for(viewer: Viewer) -> list[ThreadRow]:
    """The viewer's threads, newest first, each with whether something is unread."""
    me = viewer.person.id
    direct = list(
        db.session.execute(
            sa.select(Thread)
            .join(ThreadParticipant, ThreadParticipant.thread_id == Thread.id)
            .where(Thread.kind == "direct", ThreadParticipant.person_id == me)
            .order_by(Thread.last_message_at.desc())
            .limit(THREAD_LIST_LIMIT)
        ).scalars()
    )
    related = message_family_ids(viewer)
    direct = [
        t for t in direct if viewer.is_staff or t.student_id is None or t.student_id in related
    ]
    class_ids = readable_class_ids(viewer)
    class_wide = (
        list(
            db.session.execute(
                sa.select(Thread)
                .where(Thread.kind.in_(CLASS_KINDS), Thread.class_id.in_(class_ids))
                .order_by(Thread.last_message_at.desc())
                .limit(THREAD_LIST_LIMIT)
            ).scalars()
        )
        if class_ids
        else []
    )
    threads = sorted(direct + class_wide, key=lambda t: (t.last_message_at, t.id), reverse=True)
    threads = threads[:THREAD_LIST_LIMIT]
    read = dict(
        db.session.execute(
            sa.select(ThreadParticipant.thread_id, ThreadParticipant.last_read_at).where(
                ThreadParticipant.person_id == me,
                ThreadParticipant.thread_id.in_([t.id for t in threads]),
            )
        ).all()
    )
    return [ThreadRow(t, read.get(t.id) is None or read[t.id] < t.last_message_at) for t in threads]


@dataclass
class ClassLink:
    school_class: SchoolClass
    leads: bool  # the viewer may announce and moderate


def class_links(viewer: Viewer) -> list[ClassLink]:
    """Classes whose parents' conversation the viewer joins as a guardian, and those
    they lead as class teacher (to announce and moderate)."""
    led = set(viewer.class_teacher_of)
    ids = set(led)
    ids |= _classes_of_children(viewer)
    if not ids:
        return []
    classes = db.session.execute(
        sa.select(SchoolClass)
        .where(SchoolClass.id.in_(ids))
        .order_by(SchoolClass.year_id.desc(), SchoolClass.grade, SchoolClass.letter)
    ).scalars()
    return [ClassLink(c, c.id in led) for c in classes]


def hide_message(viewer: Viewer, message_id: int, reason: str) -> Message:
    """The class teacher hides a message of the parents' conversation, with a reason the
    parents see in its place. Hidden, not deleted."""
    message = moderated_message(viewer, message_id)
    reason = _clean(reason, MAX_REASON, "reason")
    message.hidden_at = utcnow()
    message.hidden_by_id = viewer.person.id
    message.hidden_reason = reason
    db.session.commit()
    return message


def restore_message(viewer: Viewer, message_id: int) -> Message:
    message = moderated_message(viewer, message_id)
    message.hidden_at = None
    message.hidden_by_id = None
    message.hidden_reason = ""
    db.session.commit()
    return message


def moderated_message(viewer: Viewer, message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None:
        raise NotFound()
    require(can_read_thread(viewer, message.thread) and can_moderate(viewer, message.thread))
    return message
