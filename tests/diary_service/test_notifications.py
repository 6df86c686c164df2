"""Notifications: the journal's and the messages' signals become outbox rows as each
person's settings ask (channels, events, quiet hours in the region's time), and the
sender delivers them through a real SMTP relay and SMS gateway (the simulator's dev
inboxes) or leaves them for a later attempt when the relay is down."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.messages import notify, services
from diary_service.messages.cli import notifications_cli
from diary_service.messages.tasks import SEND_DUE_NOTIFICATIONS
from diary_service.models.family import Guardian
from diary_service.models.journal import Attendance, Homework, Lesson, Mark
from diary_service.models.messages import Notification, NotificationSetting
from diary_service.signals import absence_recorded, homework_set, mark_recorded
from shared.sessions import utcnow
from tests.conftest import free_port
from tests.helpers import submit

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow(hour: int, minute: int = 0, day: int = 23) -> datetime:
    """A moment of 2026-11-<day> in Moscow, as the naive UTC the database keeps."""
    local = datetime(2026, 11, day, hour, minute, tzinfo=MOSCOW)
    return local.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def notifying(diary):
    notify.init_notifications(diary)  # what create_app does once the lead wires it
    return diary


@pytest.fixture
def relay(diary, inbox, monkeypatch):
    """The diary's SMTP relay and SMS gateway are the simulator's dev inboxes."""
    monkeypatch.setitem(diary.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(diary.config, "SMTP_PORT", inbox.smtp_port)
    monkeypatch.setitem(diary.config, "SMS_GATEWAY_URL", f"{inbox.base_url}/sms-gateway/messages")
    return inbox


def lesson(world, cls="6А", subject="math", number: int | None = None) -> Lesson:
    """A lesson of today's timetable (the next free slot unless ``number`` is given)."""
    class_id = world.one.classes[cls].id
    if number is None:
        taken = db.session.execute(
            sa.select(sa.func.max(Lesson.lesson_number)).where(
                Lesson.class_id == class_id, Lesson.on_date == world.today
            )
        ).scalar()
        number = (taken or 0) + 1
    row = Lesson(
        class_id=class_id,
        subject_id=world.subjects[subject].id,
        teacher_id=world.one.staff["teacher"].id,
        on_date=world.today,
        lesson_number=number,
    )
    db.session.add(row)
    db.session.commit()
    return row


def mark(world, student="petr", value="5", kind="control", cls="6А") -> Mark:
    row = Mark(
        lesson=lesson(world, cls),
        student=world.one.students[student],
        value=value,
        kind=kind,
        weight=5,
        author_id=world.one.staff["teacher"].id,
    )
    db.session.add(row)
    db.session.commit()
    return row


def outbox() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(Notification).order_by(Notification.id)).scalars())


def note_thread(note: Notification) -> int:
    """The thread a message notification links to."""
    return int(note.body.rstrip("/").rsplit("/", 1)[-1])


def set_up(person, student, **values) -> NotificationSetting:
    setting = services.default_setting(person.id, student.id if student else None)
    for key, value in values.items():
        setattr(setting, key, value)
    db.session.add(setting)
    db.session.commit()
    return setting


# --- what is queued ------------------------------------------------------------------------


def test_a_mark_queues_an_email_to_each_guardian_by_default(world, notifying):
    row = mark(world)
    mark_recorded.send(notifying, mark=row)
    [note] = outbox()
    assert note.person_id == world.people["parent"].id
    assert note.student_id == world.one.students["petr"].id
    assert (note.event, note.channel, note.sent_at) == ("mark", "email", None)
    day = world.today.strftime("%d.%m")
    assert f"Новая оценка: 5 (контрольная работа), Математика, {day} — Иванов Пётр" in note.body
    assert "http://127.0.0.1:8001/" in note.body
    assert note.subject == "Электронный дневник: новая оценка"


def test_settings_choose_channels_and_events_per_child(world, notifying):
    parent = world.people["parent"]
    set_up(parent, world.one.students["petr"], by_sms=True, quiet_from=time(0), quiet_to=time(0))
    set_up(parent, world.one.students["alisa"], on_mark=False)
    mark_recorded.send(notifying, mark=mark(world, "petr", "pass", "oral"))
    mark_recorded.send(notifying, mark=mark(world, "alisa", cls="9Б"))
    rows = outbox()
    assert sorted(n.channel for n in rows) == ["email", "sms"]
    assert all(n.student_id == world.one.students["petr"].id for n in rows)
    sms = next(n for n in rows if n.channel == "sms")
    assert sms.body.startswith("Новая оценка: зачёт (устный ответ), Математика")
    assert sms.subject == ""


def test_the_student_hears_about_themselves_and_a_withdrawn_contact_gets_nothing(world, notifying):
    alisa = world.people["alisa"]
    alisa.email = "alisa@example.ru"
    db.session.commit()
    mark_recorded.send(notifying, mark=mark(world, "alisa", "4", "test", cls="9Б"))
    assert {n.person_id for n in outbox()} == {world.people["parent"].id, alisa.id}
    # Маша's parent has no phone from the portal: an SMS setting queues nothing for him.
    set_up(world.people["parent2"], world.one.students["masha"], by_email=False, by_sms=True)
    mark_recorded.send(notifying, mark=mark(world, "masha"))
    assert [n for n in outbox() if n.person_id == world.people["parent2"].id] == []


def test_deleted_marks_and_revoked_links_are_not_told(world, notifying):
    row = mark(world)
    row.deleted = True
    db.session.commit()
    mark_recorded.send(notifying, mark=row)
    assert outbox() == []
    guardian = db.session.execute(
        sa.select(Guardian).where(Guardian.student_id == world.one.students["petr"].id)
    ).scalar_one()
    guardian.revoked_at = utcnow()
    db.session.commit()
    mark_recorded.send(notifying, mark=mark(world))
    assert outbox() == []


@pytest.mark.parametrize(
    ("now", "quiet_from", "quiet_to", "until"),
    [
        (datetime(2026, 11, 23, 23, 30), time(21), time(8), datetime(2026, 11, 24, 8)),
        (datetime(2026, 11, 23, 3, 0), time(21), time(8), datetime(2026, 11, 23, 8)),
        (datetime(2026, 11, 23, 21, 0), time(21), time(8), datetime(2026, 11, 24, 8)),
        (datetime(2026, 11, 23, 8, 0), time(21), time(8), None),
        (datetime(2026, 11, 23, 12, 0), time(21), time(8), None),
        (datetime(2026, 11, 23, 14, 0), time(13), time(15), datetime(2026, 11, 23, 15)),
        (datetime(2026, 11, 23, 16, 0), time(13), time(15), None),
        (datetime(2026, 11, 23, 23, 0), time(22), time(22), None),
    ],
)
def test_quiet_hours(now, quiet_from, quiet_to, until):
    assert notify.quiet_until(now, quiet_from, quiet_to) == until


def test_inside_quiet_hours_a_notification_waits_for_their_end(world, diary):
    late = mark(world)
    [waiting] = notify.notify_mark(late, now=moscow(23, 30))
    assert waiting.send_after == moscow(8, 0, day=24)  # 05:00 UTC
    assert waiting.send_after == datetime(2026, 11, 24, 5, 0)
    [at_once] = notify.notify_mark(late, now=moscow(12, 0))
    assert at_once.send_after == moscow(12, 0)
    set_up(world.people["parent"], world.one.students["petr"], quiet_to=time(21, 0))
    [no_quiet] = notify.notify_mark(late, now=moscow(23, 30))
    assert no_quiet.send_after == moscow(23, 30)


def test_absence_and_homework(world, notifying):
    parent = world.people["parent"]
    petr = world.one.students["petr"]
    attendance = Attendance(
        lesson=lesson(world, number=2),
        student=petr,
        code="оп",
        author_id=world.one.staff["teacher"].id,
    )
    db.session.add(attendance)
    db.session.commit()
    absence_recorded.send(notifying, attendance=attendance)
    [note] = outbox()
    assert note.event == "absence"
    assert note.body.startswith(
        f"Опоздание на урок: Математика, {world.today:%d.%m}, урок 2 — Иванов Пётр"
    )
    # Homework is off by default; Пётр's parent turns it on for him (not for Маша's).
    set_up(parent, petr, on_homework=True)
    work = Homework(
        lesson=lesson(world, number=3), text="№ 12", due_on=world.today + timedelta(days=1)
    )
    db.session.add(work)
    db.session.commit()
    homework_set.send(notifying, homework=work)
    homework = [n for n in outbox() if n.event == "homework"]
    assert [(n.person_id, n.student_id) for n in homework] == [(parent.id, petr.id)]
    due = (world.today + timedelta(days=1)).strftime("%d.%m")
    assert homework[0].body.startswith(f"Домашнее задание: Математика на {due} — Иванов Пётр")


def test_a_failing_receiver_does_not_fail_the_sender(world, notifying, monkeypatch):
    def broken(_mark):
        raise RuntimeError("boom")

    monkeypatch.setattr(notify, "notify_mark", broken)
    mark_recorded.send(notifying, mark=mark(world))  # no exception
    assert outbox() == []


def test_messages_notify_the_other_participants(world, notifying, login):
    teacher = world.people["teacher"]
    teacher.email = "smirnova@school1.example.ru"
    db.session.commit()
    petr = world.one.students["petr"]
    url = f"/messages/new?student={petr.id}"
    client = login(world.people["parent"])
    data = {"recipient": str(teacher.id), "subject": "Контрольная", "body": "Текст"}
    assert submit(client, url, data, action=url).status_code == 302
    [note] = outbox()
    assert (note.person_id, note.event, note.student_id) == (teacher.id, "message", None)
    assert note.body.startswith("Новое сообщение: «Контрольная». Автор: Иванова Мария")
    assert "/messages/" in note.body and "Текст" not in note.body
    # The class parents' conversation: the other guardians of the class and its teacher.
    url = f"/messages/classes/{world.one.classes['6А'].id}/parents"
    submit(client, url, {"body": "Привет"}, action=url)
    told = {n.person_id for n in outbox()[1:]}
    assert told == {world.people["parent2"].id, teacher.id}
    assert "Родители 6А класса" in outbox()[-1].body
    # A staff member who turned messages off hears nothing more.
    set_up(teacher, None, on_message=False)
    before = len(outbox())
    thread_url = f"/messages/{note_thread(note)}"
    assert submit(client, thread_url, {"body": "Ещё раз"}).status_code == 302
    assert len(outbox()) == before


# --- sending ------------------------------------------------------------------------------


def test_sending_delivers_a_real_email_and_sms(world, notifying, relay):
    set_up(world.people["parent"], world.one.students["petr"], by_sms=True, quiet_to=time(21))
    mark_recorded.send(notifying, mark=mark(world))
    assert services.send_due_notifications() == 2
    [email] = relay.wait_for("parent@example.ru")
    assert email["subject"] == "Электронный дневник: новая оценка"
    assert "Новая оценка: 5 (контрольная работа), Математика" in email["body"]
    [sms] = relay.wait_for("+79160000001")
    assert "Иванов Пётр" in sms["body"]
    assert all(n.sent_at is not None and n.attempts == 1 for n in outbox())
    assert services.send_due_notifications() == 0  # nothing is sent twice


def test_a_failing_relay_leaves_the_row_for_later(world, notifying, relay, monkeypatch):
    set_up(world.people["parent"], world.one.students["petr"], quiet_to=time(21))
    mark_recorded.send(notifying, mark=mark(world))
    monkeypatch.setitem(notifying.config, "SMTP_PORT", free_port())  # nobody listens
    now = utcnow()
    assert services.send_due_notifications(now=now) == 0
    [note] = outbox()
    assert note.sent_at is None and note.attempts == 1
    assert note.last_error.startswith("SMTP delivery failed")
    assert "parent@example.ru" not in note.last_error
    assert note.send_after == now + timedelta(minutes=1)
    # Backing off: not retried before its time, then delivered once the relay is back.
    assert services.send_due_notifications(now=now + timedelta(seconds=30)) == 0
    assert outbox()[0].attempts == 1
    monkeypatch.setitem(notifying.config, "SMTP_PORT", relay.smtp_port)
    assert services.send_due_notifications(now=now + timedelta(minutes=2)) == 1
    assert relay.wait_for("parent@example.ru")
    assert outbox()[0].attempts == 2 and outbox()[0].last_error == ""


def test_cli_and_celery_task_send_the_outbox(world, notifying, relay):
    set_up(world.people["parent"], world.one.students["petr"], quiet_to=time(21))
    mark_recorded.send(notifying, mark=mark(world))
    result = notifying.test_cli_runner().invoke(notifications_cli, ["send"])
    assert result.exit_code == 0, result.output
    assert "sent 1 notification(s)" in result.output
    mark_recorded.send(notifying, mark=mark(world, value="4"))
    notifying.extensions["celery"].tasks[SEND_DUE_NOTIFICATIONS].delay()
    assert len(relay.wait_for("parent@example.ru", count=2)) == 2
    assert all(n.sent_at for n in outbox())


def test_a_contact_withdrawn_before_sending_gives_up(world, notifying, relay):
    set_up(world.people["parent"], world.one.students["petr"], quiet_to=time(21))
    mark_recorded.send(notifying, mark=mark(world))
    world.people["parent"].email = None
    db.session.commit()
    assert services.send_due_notifications() == 0
    [note] = outbox()
    assert note.sent_at is None and note.attempts == services.MAX_ATTEMPTS
    assert note.last_error == "no email contact any more"
    assert services.send_due_notifications(now=utcnow() + timedelta(days=1)) == 0
