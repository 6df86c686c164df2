"""A lesson's plan: its topic, the homework set and the files attached to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.journal.base import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENTS,
    MAX_HOMEWORK,
    MAX_TOPIC,
    author_at,
    get_attachment,
    get_lesson,
)
from diary_service.journal.entries import send_signal
from diary_service.journal.lessons import next_lesson_date
from diary_service.models.journal import (
    Homework,
    HomeworkAttachment,
    Lesson,
)
from diary_service.models.school import StaffMember
from diary_service.signals import homework_set
from shared.errors import ValidationError
from shared.sessions import utcnow


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def clean_filename(name: str) -> str:
    """The file's own name without any path, control characters or leading dots, at
    most 200 characters with its extension kept."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 199 - len(ext)]}.{ext}" if dot and len(ext) < 20 else name[:200]
    return name


def extension_of(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def save_lesson_plan(
    author: StaffMember | None,
    lesson_id: int,
    topic: str,
    homework: str,
    due_on: date | None,
    uploads: Sequence[Upload] = (),
    max_size: int = 10 * 1024 * 1024,
) -> Lesson:
    """Set a lesson's topic and homework (text, due date, new attachments) at once.

    Future lessons may be planned. The due date, when homework is given without one, is
    the subject's next lesson. Attachments must be of an allowed type (``ATTACHMENT_TYPES``)
    and at most ``max_size`` bytes. Raises ``ValidationError``; nothing is saved then."""
    lesson = get_lesson(lesson_id)
    author = author_at(author, lesson.school_class.school_id)
    topic = " ".join(topic.split())
    text = homework.strip().replace("\r\n", "\n")
    if len(topic) > MAX_TOPIC:
        raise ValidationError(_l("The topic is too long."))
    if len(text) > MAX_HOMEWORK:
        raise ValidationError(_l("The homework is too long."))
    if due_on is not None and due_on <= lesson.on_date:
        raise ValidationError(_l("The homework must be due after the lesson."))
    if due_on is not None and due_on > lesson.school_class.year.ends_on:
        raise ValidationError(_l("The homework must be due within the school year."))
    files = [upload for upload in uploads if upload.filename]
    existing = lesson.homework.attachments if lesson.homework is not None else []
    if len(existing) + len(files) > MAX_ATTACHMENTS:
        raise ValidationError(
            _l("At most %(count)d files may be attached to homework."), count=MAX_ATTACHMENTS
        )
    attachments = []
    for upload in files:
        filename = clean_filename(upload.filename)
        content_type = ATTACHMENT_TYPES.get(extension_of(filename))
        if content_type is None or not filename:
            raise ValidationError(
                _l(
                    "“%(name)s” cannot be attached: only PDF, pictures, office documents "
                    "and text files are allowed."
                ),
                name=upload.filename,
            )
        if not upload.data:
            raise ValidationError(_l("“%(name)s” is empty."), name=filename)
        if len(upload.data) > max_size:
            raise ValidationError(
                _l("“%(name)s” is larger than %(size)s MB."),
                name=filename,
                size=max_size // (1024 * 1024),
            )
        attachments.append(
            HomeworkAttachment(
                filename=filename,
                content_type=content_type,
                size=len(upload.data),
                data=upload.data,
            )
        )

    if topic != lesson.topic:
        lesson.topic = topic
        lesson.topic_updated_at = utcnow()
    record = lesson.homework
    homework_changed = False
    if record is None and (text or attachments):
        record = lesson.homework = Homework(text="", due_on=None)
    if record is not None:
        if text and due_on is None:
            due_on = record.due_on or next_lesson_date(
                lesson.school_class, lesson.subject_id, lesson.on_date
            )
        if text != record.text or due_on != record.due_on:
            homework_changed = True
            record.text = text
            record.due_on = due_on
        if homework_changed or attachments:
            record.updated_by_id = author.id
            record.updated_at = utcnow()
        record.attachments.extend(attachments)
    db.session.commit()
    if homework_changed and record is not None and record.text:
        send_signal(homework_set, homework=record)
    return lesson


def delete_attachment(author: StaffMember | None, attachment_id: int) -> Lesson:
    """Remove a file from homework (homework is not part of the versioned record)."""
    attachment = get_attachment(attachment_id)
    lesson = attachment.homework.lesson
    author = author_at(author, lesson.school_class.school_id)
    homework = attachment.homework
    homework.attachments.remove(attachment)
    homework.updated_by_id = author.id
    homework.updated_at = utcnow()
    db.session.commit()
    return lesson
