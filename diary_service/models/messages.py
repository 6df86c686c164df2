"""Tables of messages and notifications."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.school import SchoolClass, Student
from shared.sessions import utcnow

# direct: a parent (or student) and a teacher about one student;
# announcement: the class teacher to all parents of the class (replies go to direct);
# class_parents: the class parents' conversation, moderated by the class teacher.
THREAD_KINDS = ("direct", "announcement", "class_parents")
# The kinds of thread that belong to a class rather than to their participants.
CLASS_KINDS = ("announcement", "class_parents")
NOTIFICATION_EVENTS = ("mark", "absence", "homework", "message")
CHANNELS = ("email", "sms")


class Thread(db.Model):
    __tablename__ = "thread"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    class_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("student.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(200))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("diary_person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)

    school_class: Mapped[SchoolClass | None] = relationship()
    student: Mapped[Student | None] = relationship()
    participants: Mapped[list[ThreadParticipant]] = relationship(
        back_populates="thread", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Thread {self.id}>"


class ThreadParticipant(db.Model):
    """Someone in a thread and how far they have read it. Class-wide threads list their
    readers as they come (who may read them is decided by the class, not this table)."""

    __tablename__ = "thread_participant"
    __table_args__ = (sa.UniqueConstraint("thread_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("thread.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="CASCADE"), index=True
    )
    last_read_at: Mapped[datetime | None]

    thread: Mapped[Thread] = relationship(back_populates="participants")
    person: Mapped[DiaryPerson] = relationship()


class Message(db.Model):
    __tablename__ = "message"
    __table_args__ = (sa.Index("ix_message_thread_created", "thread_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("thread.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("diary_person.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Moderation in the class parents' conversation: hidden, not deleted.
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("diary_person.id"))
    hidden_reason: Mapped[str] = mapped_column(sa.String(300), default="")

    thread: Mapped[Thread] = relationship()
    author: Mapped[DiaryPerson] = relationship(foreign_keys=[author_id])

    def __repr__(self) -> str:
        return f"<Message {self.id}>"


class NotificationSetting(db.Model):
    """What a person wants to hear about one child (``student_id``) or, with none, as a
    staff member about their own messages; by which channels; and when not to."""

    __tablename__ = "notification_setting"
    __table_args__ = (sa.UniqueConstraint("person_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("diary_person.id", ondelete="CASCADE"))
    student_id: Mapped[int | None] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    by_email: Mapped[bool] = mapped_column(default=True)
    by_sms: Mapped[bool] = mapped_column(default=False)
    on_mark: Mapped[bool] = mapped_column(default=True)
    on_absence: Mapped[bool] = mapped_column(default=True)
    on_homework: Mapped[bool] = mapped_column(default=False)
    on_message: Mapped[bool] = mapped_column(default=True)
    # Nothing is sent between these local times (the region's time zone); what falls
    # inside waits until the end. Equal times mean no quiet hours.
    quiet_from: Mapped[time] = mapped_column(default=time(21, 0))
    quiet_to: Mapped[time] = mapped_column(default=time(8, 0))


class Notification(db.Model):
    """An e-mail or SMS waiting to be sent or sent (the outbox): the job sends what is
    due, not yet sent and not claimed by another sender, retrying failures."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_due", "sent_at", "send_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[int | None] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(10))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    send_after: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    # The sender sending it now (``messages.outbox``): set by the one statement that
    # claims it, cleared when the attempt ends. A claim older than the lease is a sender
    # that died mid-way, and the notification is tried again.
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
