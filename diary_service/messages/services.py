"""Rules of the messages room: who may write to whom, who reads which thread, posting,
moderation, unread marks, notification settings and the outbox sender.

Direct threads are read by their participants only. The class-wide threads (the class
teacher's announcements and the class parents' conversation) are read by the parents
of the class's current students, the class teacher and the school's administrators;
never by students, whose own account sees only the direct threads they are in. Staff
may write to the guardians of the students of the classes they teach or lead now (any
of their school's if they administer it): ``access.can_message_guardians_of``; the
family's side is ``access.message_family_ids``. The rules of a thread itself (who reads,
posts, moderates it) are here, made of those.

A trusted person (issue 6) takes part only when the parent's grant includes
``messages``, and while it is open: then they write to the child's teachers and read
the direct threads about the child they are in, like a parent; the class-wide threads
stay the parents' (the other families' conversation is not theirs to read). Their
notifications follow their sections too: marks only if they see the marks, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from diary_service.access import (
    Viewer,
    can_lead_class,
    can_message_guardians_of,
    can_read_class_threads,
    children_in_class,
    class_of,
    enrolment_open_on,
    link_sections,
    message_family_ids,
    require,
)
from diary_service.auth.models import DiaryPerson
from diary_service.extensions import db
from diary_service.family.models import Guardian
from diary_service.messages.models import (
    Message,
    Notification,
    NotificationSetting,
    Thread,
    ThreadParticipant,
)
from diary_service.school.models import (
    Enrolment,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    Subject,
    TeachingAssignment,
)
from diary_service.signals import message_posted
from shared.errors import Forbidden, NotFound, ValidationError
from shared.notifications import DeliveryError, send_email, send_sms
from shared.sessions import utcnow

CLASS_KINDS = ("announcement", "class_parents")
MAX_SUBJECT = 200
MAX_BODY = 5000
MAX_REASON = 300
THREAD_LIST_LIMIT = 200
# A notification that failed this many times is given up (its row stays, unsent).
MAX_ATTEMPTS = 8
# The recipient choice, for staff, that means all the student's guardians at once.
ALL_GUARDIANS = "guardians"
# Which events each kind of notification setting covers: a staff member's own setting
# is about messages only; a child's covers everything that happens to the child.
CHILD_EVENTS = ("mark", "absence", "homework", "message")
OWN_EVENTS = ("message",)
# The section of the student's record (access.SECTIONS) each event tells about: a
# trusted person hears of what they may see, and only that.
EVENT_SECTIONS = {
    "mark": "marks",
    "absence": "attendance",
    "homework": "homework",
    "message": "messages",
}


class FieldError(ValidationError):
    """Input a form accepted but the rules refuse, naming the form field to show it at."""

    def __init__(self, field_name: str, message: str, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field_name


# --- who is who -----------------------------------------------------------------------


def students_of_classes(class_ids: set[int], on: date | None = None) -> list[Student]:
    """The students enrolled in these classes on a day (today by default)."""
    if not class_ids:
        return []
    return list(
        db.session.execute(
            sa.select(Student)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(Enrolment.class_id.in_(class_ids), enrolment_open_on(on or date.today()))
            .order_by(Student.family_name, Student.given_name, Student.id)
        )
        .scalars()
        .unique()
    )


def guardians_of(
    student_ids: set[int], section: str = "messages", *, parents_only: bool = False
) -> list[Guardian]:
    """Active guardian links of these students whose guardian has signed in (a link
    still waiting for its parent has nobody to write to) and sees ``section`` of the
    student now: the parents, and the trusted persons whose open grant includes it
    (none with ``parents_only``)."""
    if not student_ids:
        return []
    query = sa.select(Guardian).where(
        Guardian.student_id.in_(student_ids),
        Guardian.person_id.is_not(None),
        Guardian.revoked_at.is_(None),
    )
    if parents_only:
        query = query.where(Guardian.kind == "parent")
    links = db.session.execute(query.order_by(Guardian.id)).scalars()
    now, today = utcnow(), date.today()
    return [link for link in links if section in link_sections(link, now, today)]


def child_events(viewer: Viewer, student_id: int) -> tuple[str, ...]:
    """The events a person may be told of about a student: all of them for a parent and
    the student; a trusted person's only for the sections their grant gives."""
    if student_id in viewer.guardian_of or student_id in viewer.own_student_ids:
        return CHILD_EVENTS
    sections = viewer.trusted_sections.get(student_id, frozenset())
    return tuple(event for event in CHILD_EVENTS if EVENT_SECTIONS[event] in sections)


def can_read_thread(viewer: Viewer, thread: Thread) -> bool:
    if viewer.person is None:
        return False
    if thread.kind in CLASS_KINDS:
        return thread.school_class is not None and can_read_class_threads(
            viewer, thread.school_class
        )
    if not _participant(thread.id, viewer.person.id):
        return False
    # A guardian whose link was revoked (or a student who is no longer theirs, or a
    # trusted person whose grant no longer gives messages) loses the correspondence
    # about that child; staff keep what they wrote.
    if viewer.is_staff or thread.student_id is None:
        return True
    return thread.student_id in message_family_ids(viewer)


def can_post(viewer: Viewer, thread: Thread) -> bool:
    """Replies: anyone who reads a direct thread; only the class teacher (or the school's
    administrators) in an announcement, whose readers answer privately; only the
    class's guardians in the parents' conversation, which the class teacher moderates."""
    if not can_read_thread(viewer, thread):
        return False
    if thread.kind == "announcement":
        return can_lead_class(viewer, thread.school_class)
    if thread.kind == "class_parents":
        return bool(children_in_class(viewer, thread.class_id))
    return True


def can_moderate(viewer: Viewer, thread: Thread) -> bool:
    return (
        thread.kind == "class_parents"
        and thread.school_class is not None
        and can_lead_class(viewer, thread.school_class)
    )


# --- choosing whom to write to ----------------------------------------------------------


def student_label(student: Student, school_class: SchoolClass | None) -> str:
    return f"{student.full_name}, {school_class.name}" if school_class else student.full_name


def writable_students(viewer: Viewer) -> list[tuple[int, str]]:
    """The students a new direct thread may be about: the viewer's children and own
    record (to write to their teachers), and for staff the students of the classes they
    teach or lead or of the schools they administer (to write to their guardians)."""
    ids = set(message_family_ids(viewer))
    if viewer.is_staff:
        class_ids = viewer.class_teacher_of | {class_id for class_id, _ in viewer.teaches}
        if viewer.school_admin_of:
            class_ids |= set(
                db.session.execute(
                    sa.select(SchoolClass.id).where(
                        SchoolClass.school_id.in_(viewer.school_admin_of)
                    )
                ).scalars()
            )
        ids |= {student.id for student in students_of_classes(class_ids)}
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(Student, SchoolClass)
        .outerjoin(
            Enrolment,
            sa.and_(Enrolment.student_id == Student.id, enrolment_open_on(date.today())),
        )
        .outerjoin(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(Student.id.in_(ids))
        .order_by(SchoolClass.grade, SchoolClass.letter, Student.family_name, Student.given_name)
    ).all()
    seen: dict[int, str] = {}
    for student, school_class in rows:
        seen.setdefault(student.id, student_label(student, school_class))
    return list(seen.items())


def _teachers_of(school_class: SchoolClass) -> list[tuple[StaffMember, list[str]]]:
    """The class's subject teachers, class teacher and the school's administrators who
    have signed in, each with what they are to the class."""
    roles: dict[int, list[str]] = {}
    for teacher_id, subject in db.session.execute(
        sa.select(TeachingAssignment.teacher_id, TeachingAssignment.subject_id).where(
            TeachingAssignment.class_id == school_class.id
        )
    ).all():
        roles.setdefault(teacher_id, []).append(f"subject:{subject}")
    if school_class.class_teacher_id is not None:
        roles.setdefault(school_class.class_teacher_id, []).append("class_teacher")
    for admin_id in db.session.execute(
        sa.select(StaffRole.staff_id)
        .join(StaffMember, StaffMember.id == StaffRole.staff_id)
        .where(StaffRole.role == "school_admin", StaffMember.school_id == school_class.school_id)
    ).scalars():
        roles.setdefault(admin_id, []).append("admin")
    if not roles:
        return []
    members = db.session.execute(
        sa.select(StaffMember)
        .where(
            StaffMember.id.in_(roles),
            StaffMember.active.is_(True),
            StaffMember.person_id.is_not(None),
        )
        .order_by(StaffMember.family_name, StaffMember.given_name, StaffMember.id)
    ).scalars()
    return [(member, roles[member.id]) for member in members]


def _teacher_label(member: StaffMember, roles: list[str], subjects: dict[int, str]) -> str:
    what = []
    for role in roles:
        if role.startswith("subject:"):
            what.append(subjects.get(int(role.split(":", 1)[1]), ""))
        elif role == "class_teacher":
            what.append(str(_l("class teacher")))
        else:
            what.append(str(_l("school administration")))
    return f"{member.full_name} ({', '.join(w for w in what if w)})"


def recipient_choices(viewer: Viewer, student: Student) -> list[tuple[str, str]]:
    """Whom the viewer may write to about the student, as (key, label): the teachers of
    the student's class for its guardians and the student; the student's guardians (one
    or all of them) for staff who may message them. Forbidden for anyone else."""
    family = student.id in message_family_ids(viewer)
    staff = can_message_guardians_of(viewer, student)
    require(family or staff)
    me = viewer.person.id
    choices: dict[str, str] = {}
    if family:
        school_class = class_of(student)
        if school_class is not None:
            teachers = _teachers_of(school_class)
            subjects = _subject_names(
                {
                    int(role.split(":", 1)[1])
                    for _member, roles in teachers
                    for role in roles
                    if role.startswith("subject:")
                }
            )
            for member, roles in teachers:
                if member.person_id != me:
                    choices.setdefault(
                        str(member.person_id), _teacher_label(member, roles, subjects)
                    )
    if staff:
        guardians = [g for g in guardians_of({student.id}) if g.person_id != me]
        if len(guardians) > 1:
            choices[ALL_GUARDIANS] = str(_l("All guardians of the student"))
        kinds = {"parent": _l("parent"), "trusted": _l("trusted person")}
        for guardian in guardians:
            label = f"{guardian.full_name} ({kinds.get(guardian.kind, guardian.kind)})"
            choices.setdefault(str(guardian.person_id), label)
    return list(choices.items())


def _subject_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(sa.select(Subject.id, Subject.name).where(Subject.id.in_(ids))).all()
    )


def get_student(student_id: int) -> Student:
    student = db.session.get(Student, student_id)
    if student is None:
        raise NotFound()
    return student


def get_class(class_id: int) -> SchoolClass:
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None:
        raise NotFound()
    return school_class


# --- threads and messages ---------------------------------------------------------------


def _participant(thread_id: int, person_id: int) -> ThreadParticipant | None:
    return db.session.execute(
        sa.select(ThreadParticipant).where(
            ThreadParticipant.thread_id == thread_id, ThreadParticipant.person_id == person_id
        )
    ).scalar_one_or_none()


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
    mine = _participant(thread.id, author_id) if thread.id else None
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
    mine = _participant(thread.id, viewer.person.id)
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
    if not moved and _participant(thread.id, person_id) is None:
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


def readable_class_ids(viewer: Viewer) -> set[int]:
    """Classes whose class-wide threads the viewer reads (students' own accounts none)."""
    ids = set(viewer.class_teacher_of)
    if viewer.guardian_of:
        ids |= set(
            db.session.execute(
                sa.select(Enrolment.class_id).where(
                    Enrolment.student_id.in_(viewer.guardian_of), enrolment_open_on(date.today())
                )
            ).scalars()
        )
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
    if viewer.guardian_of:
        ids |= set(
            db.session.execute(
                sa.select(Enrolment.class_id).where(
                    Enrolment.student_id.in_(viewer.guardian_of), enrolment_open_on(date.today())
                )
            ).scalars()
        )
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


# --- notification settings -------------------------------------------------------------


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


# --- sending the outbox ------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, capped at an hour."""
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))


def send_due_notifications(now: datetime | None = None, limit: int = 100) -> int:
    """Send the due, unsent notifications (oldest first); return how many went out.
    Run periodically: by Celery beat, or ``flask notifications send --loop``."""
    now = now or utcnow()
    due = list(
        db.session.execute(
            sa.select(Notification.id)
            .where(
                Notification.sent_at.is_(None),
                Notification.send_after <= now,
                Notification.attempts < MAX_ATTEMPTS,
            )
            .order_by(Notification.send_after, Notification.id)
            .limit(limit)
        ).scalars()
    )
    return sum(1 for notification_id in due if send_notification(notification_id, now))


def send_notification(notification_id: int, now: datetime | None = None) -> bool:
    """One attempt at one notification, if it is due. The attempt is claimed first
    (attempts + 1 and the next try pushed back) by one UPDATE that matches only a due,
    unsent row: two senders never both send it (the second finds it pushed back, even
    when it reads the row after the first's claim), and a sender that dies mid-way does
    not make it go out again at once."""
    now = now or utcnow()
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.sent_at is not None:
        return False
    attempts = notification.attempts
    claimed = db.session.execute(
        sa.update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.sent_at.is_(None),
            Notification.send_after <= now,
            Notification.attempts == attempts,
        )
        .values(attempts=attempts + 1, send_after=now + backoff(attempts + 1))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        return False
    person = db.session.get(DiaryPerson, notification.person_id)
    to = person.email if notification.channel == "email" else person.phone
    if not to:
        # The contact was withdrawn at the portal since it was queued: nothing to retry.
        notification.attempts = MAX_ATTEMPTS
        notification.last_error = f"no {notification.channel} contact any more"
        db.session.commit()
        return False
    try:
        if notification.channel == "email":
            send_email(to, notification.subject, notification.body)
        else:
            send_sms(to, notification.body)
    except DeliveryError as exc:
        # The errors name the failure, never the address or the text.
        notification.last_error = str(exc)[:300]
        db.session.commit()
        current_app.logger.info("notification %s not sent: %s", notification.id, exc)
        return False
    except Exception as exc:  # a misconfigured gateway must not stop the other sends
        notification.last_error = f"unexpected error: {type(exc).__name__}"[:300]
        db.session.commit()
        current_app.logger.exception("notification %s failed", notification.id)
        return False
    notification.sent_at = utcnow()
    notification.last_error = ""
    db.session.commit()
    return True
