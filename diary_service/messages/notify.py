"""What the diary tells families: new marks, absences, homework and messages become
rows of the notification outbox (``Notification``), one per person and channel, as each
person's setting for that child asks, held back until their quiet hours end.

The receivers below listen to ``diary_service.signals``; they only write outbox rows
(``services.send_due_notifications`` sends them later) and never fail the sender.
Texts are Russian (the diary does not know a person's language), short, with a link to
the diary and no documents: no SNILS, no birth certificate, nothing of the kind.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.messages import services, tasks
from diary_service.models.auth import DiaryPerson
from diary_service.models.journal import Attendance, Homework, Mark
from diary_service.models.messages import Message, Notification, NotificationSetting, Thread
from diary_service.models.school import SchoolClass, StaffMember, Student
from diary_service.school.labels import MARK_KIND_LABELS, MARK_VALUE_WORDS
from diary_service.signals import absence_recorded, homework_set, mark_recorded, message_posted
from shared.sessions import utcnow

LOCALE = "ru"
SMS_TEXT_LIMIT = 300
ABSENCES = {
    "н": _l("Absent from the lesson"),
    "б": _l("Absent from the lesson because of illness"),
    "у": _l("Absent from the lesson for a good reason"),
    "оп": _l("Late for the lesson"),
}


def init_notifications(app: Flask) -> None:
    """Listen to the journal's and the messages' signals of this app and register the
    sending job on its Celery. Called once by ``create_app``."""
    mark_recorded.connect(_on_mark, sender=app)
    absence_recorded.connect(_on_absence, sender=app)
    homework_set.connect(_on_homework, sender=app)
    message_posted.connect(_on_message, sender=app)
    celery = app.extensions.get("celery")
    if celery is not None:
        tasks.register_tasks(celery)


def _safely(queue, *args) -> None:
    """Run a queueing function in the sender's session without disturbing it: the
    outbox rows are committed without expiring the objects the sender still holds (its
    marks, its message), and a failure is logged and rolled back, never raised: what
    the sender committed stands either way."""
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        queue(*args)
    except Exception:
        session.rollback()
        current_app.logger.exception("notifications for a %s not queued", queue.__name__)
    finally:
        session.expire_on_commit = expire_on_commit


def _on_mark(sender: Flask, mark: Mark, **_: object) -> None:
    _safely(notify_mark, mark)


def _on_absence(sender: Flask, attendance: Attendance, **_: object) -> None:
    _safely(notify_absence, attendance)


def _on_homework(sender: Flask, homework: Homework, **_: object) -> None:
    _safely(notify_homework, homework)


def _on_message(sender: Flask, message: Message, **_: object) -> None:
    _safely(notify_message, message)


# --- when ----------------------------------------------------------------------------------


def quiet_until(local_now: datetime, quiet_from: time, quiet_to: time) -> datetime | None:
    """The local end of the quiet hours ``local_now`` falls in, or None outside them.
    The hours may span midnight (21:00–08:00); equal times mean no quiet hours."""
    if quiet_from == quiet_to:
        return None
    now = local_now.time()
    today = local_now.date()
    if quiet_from < quiet_to:
        inside = quiet_from <= now < quiet_to
        return datetime.combine(today, quiet_to) if inside else None
    if now >= quiet_from:
        return datetime.combine(today + timedelta(days=1), quiet_to)
    if now < quiet_to:
        return datetime.combine(today, quiet_to)
    return None


def send_after(setting: NotificationSetting, now: datetime) -> datetime:
    """When a notification created at ``now`` (naive UTC) may go: at once, or at the end
    of the person's quiet hours in the region's time zone."""
    zone = ZoneInfo(current_app.config["NOTIFY_TIMEZONE"])
    local_now = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    end = quiet_until(local_now, setting.quiet_from, setting.quiet_to)
    if end is None:
        return now
    return end.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


# --- who and how ------------------------------------------------------------------------------


def queue(
    person: DiaryPerson,
    setting: NotificationSetting,
    event: str,
    student_id: int | None,
    subject: str,
    body: str,
    now: datetime,
) -> list[Notification]:
    """Outbox rows for one person, by the channels their setting asks for and they have
    a contact for (nothing when the setting turns the event off)."""
    if not getattr(setting, f"on_{event}"):
        return []
    channels = []
    if setting.by_email and person.email:
        channels.append("email")
    if setting.by_sms and person.phone:
        channels.append("sms")
    when = send_after(setting, now)
    rows = [
        Notification(
            person_id=person.id,
            student_id=student_id,
            event=event,
            channel=channel,
            subject=subject if channel == "email" else "",
            body=body if channel == "email" else body[:SMS_TEXT_LIMIT],
            created_at=now,
            send_after=when,
        )
        for channel in channels
    ]
    db.session.add_all(rows)
    return rows


def family_of(student: Student, event: str) -> list[DiaryPerson]:
    """Who hears of ``event`` about a student: each active parent who has signed in,
    each trusted person whose open grant shows what the event is about, and the
    student's own account."""
    section = services.EVENT_SECTIONS[event]
    ids = [g.person_id for g in services.guardians_of({student.id}, section)]
    if student.person_id is not None:
        ids.append(student.person_id)
    if not ids:
        return []
    return list(
        db.session.execute(
            sa.select(DiaryPerson).where(DiaryPerson.id.in_(ids)).order_by(DiaryPerson.id)
        ).scalars()
    )


def queue_for_students(
    students: list[Student], event: str, texts, now: datetime | None = None
) -> list[Notification]:
    """Queue ``texts(student) -> (subject, body)`` for the family of each student, by
    each person's setting for that student; commit."""
    now = now or utcnow()
    rows = []
    with force_locale(LOCALE):
        for student in students:
            subject, body = texts(student)
            for person in family_of(student, event):
                setting = services.setting_for(person.id, student.id)
                rows += queue(person, setting, event, student.id, subject, body, now)
    db.session.commit()
    return rows


def _site_subject(what: str) -> str:
    return f"{current_app.config['SITE_NAME']}: {what}"


def _link(path: str = "/") -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def _short_name(student: Student) -> str:
    """«Иванов Пётр»: enough for the family to know which child, nothing more."""
    return f"{student.family_name} {student.given_name}"


def notify_mark(mark: Mark, now: datetime | None = None) -> list[Notification]:
    if mark.deleted or not mark.is_current:
        return []
    lesson = mark.lesson

    def texts(student: Student) -> tuple[str, str]:
        params = {
            "value": str(MARK_VALUE_WORDS.get(mark.value, mark.value)),
            "kind": str(MARK_KIND_LABELS.get(mark.kind, mark.kind)),
            "subject": lesson.subject.name,
            "date": lesson.on_date.strftime("%d.%m"),
            "student": _short_name(student),
        }
        body = (
            gettext(
                "Mark corrected: %(value)s (%(kind)s), %(subject)s, %(date)s — %(student)s",
                **params,
            )
            if mark.previous_id
            else gettext(
                "New mark: %(value)s (%(kind)s), %(subject)s, %(date)s — %(student)s", **params
            )
        )
        return _site_subject(gettext("new mark")), f"{body}\n{_link()}"

    return queue_for_students([mark.student], "mark", texts, now)


def notify_absence(attendance: Attendance, now: datetime | None = None) -> list[Notification]:
    if attendance.deleted or not attendance.is_current:
        return []
    lesson = attendance.lesson

    def texts(student: Student) -> tuple[str, str]:
        what = str(ABSENCES.get(attendance.code, ABSENCES["н"]))
        body = gettext(
            "%(what)s: %(subject)s, %(date)s, lesson %(number)d — %(student)s",
            what=what,
            subject=lesson.subject.name,
            date=lesson.on_date.strftime("%d.%m"),
            number=lesson.lesson_number,
            student=_short_name(student),
        )
        return _site_subject(gettext("absence or lateness")), f"{body}\n{_link()}"

    return queue_for_students([attendance.student], "absence", texts, now)


def notify_homework(homework: Homework, now: datetime | None = None) -> list[Notification]:
    lesson = homework.lesson
    due = homework.due_on or lesson.on_date

    def texts(student: Student) -> tuple[str, str]:
        body = gettext(
            "Homework in %(subject)s for %(date)s — %(student)s",
            subject=lesson.subject.name,
            date=due.strftime("%d.%m"),
            student=_short_name(student),
        )
        return _site_subject(gettext("new homework")), f"{body}\n{_link()}"

    students = services.students_of_classes({lesson.class_id}, lesson.on_date)
    return queue_for_students(students, "homework", texts, now)


def message_readers(thread: Thread, author_id: int) -> list[tuple[DiaryPerson, int | None]]:
    """Who is told of a new message, each with the child whose setting applies (None:
    their own, as staff): a direct thread's other participants; the parents of the
    class for an announcement; and for the parents' conversation also its moderator,
    the class teacher. The school's administrators may read class threads but are not
    told of every message in them."""
    readers: dict[int, int | None] = {}
    if thread.kind == "direct":
        family: set[int] = set()
        if thread.student_id is not None:
            family = {g.person_id for g in services.guardians_of({thread.student_id})}
            student = db.session.get(Student, thread.student_id)
            if student is not None and student.person_id is not None:
                family.add(student.person_id)
        others = {p.person_id for p in thread.participants} - family
        # A participant who is neither family of the student nor staff any more (a
        # revoked guardian) can no longer read the thread, so is not told of it.
        staff = set(
            db.session.execute(
                sa.select(StaffMember.person_id).where(
                    StaffMember.person_id.in_(others), StaffMember.active.is_(True)
                )
            ).scalars()
        )
        for participant in thread.participants:
            pid = participant.person_id
            if pid in family:
                readers[pid] = thread.student_id
            elif pid in staff:
                readers[pid] = None
    else:
        students = services.students_of_classes({thread.class_id})
        readers_of = services.guardians_of({s.id for s in students}, parents_only=True)
        for guardian in readers_of:
            readers.setdefault(guardian.person_id, guardian.student_id)
        if thread.kind == "class_parents":
            school_class = db.session.get(SchoolClass, thread.class_id)
            teacher = school_class.class_teacher if school_class else None
            if teacher is not None and teacher.person_id is not None and teacher.active:
                readers.setdefault(teacher.person_id, None)
    readers.pop(author_id, None)
    if not readers:
        return []
    people = db.session.execute(
        sa.select(DiaryPerson).where(DiaryPerson.id.in_(readers)).order_by(DiaryPerson.id)
    ).scalars()
    return [(person, readers[person.id]) for person in people]


def notify_message(message: Message, now: datetime | None = None) -> list[Notification]:
    now = now or utcnow()
    thread = message.thread
    author = message.author
    rows: list[Notification] = []
    with force_locale(LOCALE):
        author_name = f"{author.family_name} {author.given_name}".strip()
        if thread.kind == "class_parents":
            title = gettext("Parents of class %(name)s", name=thread.school_class.name)
            body = gettext(
                "New message in «%(title)s». Author: %(author)s", title=title, author=author_name
            )
        elif thread.kind == "announcement":
            body = gettext(
                "Announcement: «%(title)s». Author: %(author)s",
                author=author_name,
                title=thread.subject,
            )
        else:
            body = gettext(
                "New message: «%(title)s». Author: %(author)s",
                author=author_name,
                title=thread.subject,
            )
        body = f"{body}\n{_link(f'/messages/{thread.id}')}"
        subject = _site_subject(gettext("new message"))
        for person, student_id in message_readers(thread, message.author_id):
            setting = services.setting_for(person.id, student_id)
            rows += queue(person, setting, "message", student_id, subject, body, now)
    db.session.commit()
    return rows
