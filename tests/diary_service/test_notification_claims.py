"""The outbox's claim (issue 15's drill: one e-mail more at the relay than the outbox
marked sent). A notification is claimed in the database before it is sent, by one
statement, and the claim holds for the whole send: a second sender (a later beat run,
a Celery message redelivered after Redis came back) never sends it again while the
first is still sending, however long that takes; a claim left by a sender that died is
taken over after the lease. Real SMTP: a gate relay (aiosmtpd) that can hold the first
e-mail mid-send, in front of the simulator's relay the suite uses; PostgreSQL in CI's
second pass."""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from diary_service.extensions import db
from diary_service.messages import outbox
from diary_service.messages import services as messages
from diary_service.models.messages import Notification
from shared.sessions import utcnow
from tests.conftest import free_port
from tests.helpers import Inbox, at_once


class Gate:
    """An SMTP relay that holds the first e-mail until opened, passing it and every
    other one on to the suite's relay (the simulator's inbox)."""

    def __init__(self, inbox: Inbox, port: int) -> None:
        self.inbox = inbox
        self.port = port
        self.held = threading.Event()
        self.opened = threading.Event()
        self.first = True

    async def handle_DATA(self, server, session, envelope):  # the name aiosmtpd calls
        if self.first:
            self.first = False
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.opened.wait, 60)
        await asyncio.get_running_loop().run_in_executor(None, self.forward, envelope)
        return "250 OK"

    def forward(self, envelope) -> None:
        with smtplib.SMTP("127.0.0.1", self.inbox.smtp_port, timeout=10) as smtp:
            smtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)


@pytest.fixture
def relay(diary, inbox, monkeypatch) -> Iterator[Gate]:
    gate = Gate(inbox, free_port())
    controller = Controller(gate, hostname="127.0.0.1", port=gate.port)
    controller.start()
    monkeypatch.setitem(diary.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(diary.config, "SMTP_PORT", gate.port)
    yield gate
    gate.opened.set()
    controller.stop()


def queued(world) -> Notification:
    parent = world.people["parent"]
    note = Notification(
        person_id=parent.id,
        event="mark",
        channel="email",
        subject="Электронный дневник: новая оценка",
        body="Новая оценка: 5",
        send_after=utcnow(),
    )
    db.session.add(note)
    db.session.commit()
    return note


def the_row(note_id: int) -> Notification:
    db.session.commit()  # a fresh read, not this session's copy
    return db.session.get(Notification, note_id)


def test_a_later_run_leaves_a_notification_another_sender_is_still_sending(
    world, diary, relay: Gate
):
    """Sender A's e-mail is held by the relay; two minutes later (past the old claim's
    one-minute push of ``send_after``) the next run finds it claimed, sends nothing,
    and the parent gets exactly one e-mail once A's goes through."""
    note = queued(world)
    start = utcnow()
    first: list[int] = []

    def sender_a() -> None:
        with diary.app_context():
            first.append(messages.send_due_notifications(now=start))

    thread = threading.Thread(target=sender_a)
    thread.start()
    try:
        assert relay.held.wait(30), "the first sender never reached the relay"
        assert messages.send_due_notifications(now=start + timedelta(minutes=2)) == 0
        # Eight more runs at once, later still but within the lease: none sends it.
        later = start + outbox.CLAIM_LEASE - timedelta(seconds=1)

        def run(_):
            with diary.app_context():
                return messages.send_due_notifications(now=later)

        assert sum(at_once(8, run)) == 0
    finally:
        relay.opened.set()
        thread.join(60)
    assert first == [1]
    parent = world.people["parent"]
    assert len(relay.inbox.wait_for(parent.email)) == 1
    row = the_row(note.id)
    assert row.sent_at is not None and row.attempts == 1 and row.claimed_at is None
    # Sent is final: nothing sends it again, however late.
    assert messages.send_due_notifications(now=start + timedelta(days=1)) == 0
    assert len(relay.inbox.messages(to=parent.email)) == 1


def test_a_claim_left_by_a_dead_sender_is_taken_over_after_the_lease(world, diary, relay):
    """A worker claimed the notification and died before sending (SIGKILL, a lost
    node): within the lease nobody sends it; after the lease the next run does, once."""
    relay.opened.set()  # no holding here
    note = queued(world)
    start = utcnow()
    assert outbox.claim(note.id, start, "worker-that-died") == 1
    assert messages.send_due_notifications(now=start + timedelta(minutes=1)) == 0
    assert messages.send_due_notifications(now=start + outbox.CLAIM_LEASE) == 0
    after = start + outbox.CLAIM_LEASE + timedelta(seconds=1)

    def run(_):
        with diary.app_context():
            return messages.send_due_notifications(now=after)

    assert sum(at_once(8, run)) == 1
    parent = world.people["parent"]
    assert len(relay.inbox.wait_for(parent.email)) == 1
    row = the_row(note.id)
    assert row.sent_at is not None and row.attempts == 2
    assert row.claimed_at is None and row.claimed_by != "worker-that-died"


def test_a_failed_attempt_releases_its_claim_for_the_retry(world, diary, relay, monkeypatch):
    """A refused delivery ends the attempt: the claim is released and the retry comes
    at the back-off's time, not the lease's."""
    relay.opened.set()
    note = queued(world)
    start = utcnow()
    monkeypatch.setitem(diary.config, "SMTP_PORT", free_port())  # nobody listens
    assert messages.send_due_notifications(now=start) == 0
    row = the_row(note.id)
    assert row.claimed_at is None and row.attempts == 1
    assert row.send_after == start + timedelta(minutes=1)
    monkeypatch.setitem(diary.config, "SMTP_PORT", relay.port)
    assert messages.send_due_notifications(now=start + timedelta(minutes=2)) == 1
    assert len(relay.inbox.wait_for(world.people["parent"].email)) == 1
    assert db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() == 1
