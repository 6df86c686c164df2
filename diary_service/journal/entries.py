"""Recording one lesson's marks and attendance: what a teacher entered for each student,
checked, written as new current rows (a correction keeps the previous one with its
reason) and announced to the notifications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.journal.base import (
    MAX_COMMENT,
    MAX_REASON,
    author_at,
    get_lesson,
    parse_mark_value,
)
from diary_service.journal.grid import SheetRow, lesson_sheet
from diary_service.journal.queries import (
    current_policy,
    rule_of,
)
from diary_service.models.journal import (
    ATTENDANCE_CODES,
    MARK_KINDS,
    Attendance,
    Lesson,
    Mark,
)
from diary_service.models.partitions import school_year_of
from diary_service.models.school import StaffMember
from diary_service.school.policy import Rule
from diary_service.signals import absence_recorded, mark_recorded
from shared.errors import ValidationError


@dataclass(frozen=True)
class MarkInput:
    """A mark as typed: a new one (``mark_id`` None) or the shown version of an existing
    one (``mark_id``); an empty ``value`` on an existing mark deletes it. ``key`` is the
    caller's name for it, echoed in ``Problem``."""

    key: str
    value: str
    kind: str
    comment: str = ""
    mark_id: int | None = None


@dataclass(frozen=True)
class Seen:
    """What the form showed as current for a student (to refuse saving over a change
    someone else made meanwhile)."""

    mark_ids: frozenset[int]
    attendance_id: int | None


@dataclass(frozen=True)
class StudentEntry:
    """One student's row of the lesson's bulk form. ``attendance`` is a code of
    ``ATTENDANCE_CODES`` or "" (present); ``reason`` explains any correction or deletion
    in the row; ``seen``, when given, must still be the current state."""

    key: str
    student_id: int
    marks: tuple[MarkInput, ...] = ()
    attendance: str | None = None  # None: leave attendance as it is
    reason: str = ""
    seen: Seen | None = None


@dataclass(frozen=True)
class Problem:
    key: str  # the ``key`` of the MarkInput / StudentEntry / FinalMarkInput
    field: str  # value, kind, comment, attendance, reason, row
    message: str


class EntryErrors(ValidationError):
    """The input had problems; nothing was saved. ``problems`` says where."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message)
        self.problems = problems


@dataclass
class Recorded:
    marks: list[Mark] = field(default_factory=list)  # new versions (corrections, new)
    deleted: list[Mark] = field(default_factory=list)  # deletion versions
    attendance: list[Attendance] = field(default_factory=list)  # new versions


def retire(model: Any, row_id: int, school_year: int | None = None) -> None:
    """Mark a version as replaced, only if it still is the current one: a concurrent
    correction of the same row makes this refuse instead of forking the history.
    ``school_year`` (marks, attendance) lets PostgreSQL touch one partition only."""
    where = [model.id == row_id, model.is_current.is_(True)]
    if school_year is not None:
        where.append(model.school_year == school_year)
    result = db.session.execute(
        sa.update(model)
        .where(*where)
        .values(is_current=False)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ValidationError(
            _l("Someone changed these records meanwhile. Reload the page and try again.")
        )


@dataclass
class _Changes:
    """What a save of a lesson's sheet will write, gathered before anything is."""

    problems: list[Problem] = field(default_factory=list)
    new_marks: list[Mark] = field(default_factory=list)
    retired_marks: list[int] = field(default_factory=list)
    new_attendance: list[Attendance] = field(default_factory=list)
    retired_attendance: list[int] = field(default_factory=list)

    def problem(self, key: str, where: str, message: Any, **params: Any) -> None:
        self.problems.append(Problem(key, where, str(message) % params if params else str(message)))

    @property
    def adds(self) -> bool:
        return any(not m.deleted for m in self.new_marks) or any(
            not a.deleted for a in self.new_attendance
        )


def record_lesson_entries(
    author: StaffMember | None,
    lesson_id: int,
    entries: Sequence[StudentEntry],
    today: date | None = None,
) -> Recorded:
    """Save a lesson's marks and attendance from the bulk form, all or nothing.

    Unchanged marks and attendance are left alone. A new mark gets the weight the
    school's policy gives its kind now; a correction keeps the weight unless the kind
    changes. Correcting or deleting a mark or attendance needs a reason and adds a
    version. Marks and attendance are only for lessons that have taken place. Raises
    ``EntryErrors`` (nothing saved) with every problem found."""
    lesson = get_lesson(lesson_id)
    author = author_at(author, lesson.school_class.school_id)
    sheet = lesson_sheet(lesson)
    rule = rule_of(current_policy(lesson.school_class.school_id))
    changes = _Changes()
    for entry in entries:
        row = sheet.row_of(entry.student_id)
        if _row_problem(changes, entry, row):
            continue
        reason = " ".join(entry.reason.split())
        needs_reason = False
        current = {mark.id: mark for mark in row.marks}
        for item in entry.marks:
            needs_reason |= _mark_change(changes, lesson, row, item, current, rule, author, reason)
        needs_reason |= _attendance_change(changes, lesson, row, entry, author, reason)
        _reason_problem(changes, entry, row, reason, needs_reason)
    _lesson_problems(changes, lesson, today or clock.today())
    if changes.problems:
        db.session.rollback()
        raise EntryErrors(changes.problems)
    recorded = _write(changes, school_year_of(lesson.on_date))
    _announce(recorded)
    return recorded


def _row_problem(changes: _Changes, entry: StudentEntry, row: SheetRow | None) -> bool:
    """A row that cannot be saved at all: a student not in the class that day, or one
    whose records someone else changed since the form was shown."""
    if row is None:
        changes.problem(entry.key, "row", _l("This student is not in the class on that day."))
        return True
    if entry.seen is not None and (
        entry.seen.mark_ids != {m.id for m in row.marks}
        or entry.seen.attendance_id != (row.attendance.id if row.attendance else None)
    ):
        changes.problem(
            entry.key,
            "row",
            _l(
                "The records of %(name)s were changed meanwhile by someone else. "
                "Check them and save again."
            ),
            name=row.student.full_name,
        )
        return True
    return False


def _mark_change(
    changes: _Changes,
    lesson: Lesson,
    row: SheetRow,
    item: MarkInput,
    current: dict[int, Mark],
    rule: Rule,
    author: StaffMember,
    reason: str,
) -> bool:
    """One mark of the form: a new mark, a correction or deletion (a new version of the
    current one), or nothing. Returns whether it needs a reason."""
    try:
        value = parse_mark_value(item.value)
    except ValidationError as error:
        changes.problems.append(Problem(item.key, "value", error.message))
        return False
    comment = " ".join(item.comment.split())
    if item.kind not in MARK_KINDS:
        changes.problem(item.key, "kind", _l("Choose the kind of work."))
        return False
    if len(comment) > MAX_COMMENT:
        changes.problem(item.key, "comment", _l("The comment is too long."))
        return False
    if item.mark_id is None:
        if value:
            changes.new_marks.append(
                Mark(
                    lesson_id=lesson.id,
                    student_id=row.student.id,
                    school_year=school_year_of(lesson.on_date),
                    value=value,
                    kind=item.kind,
                    weight=rule.weight_of(item.kind),
                    comment=comment,
                    author_id=author.id,
                )
            )
        return False
    old = current.get(item.mark_id)
    if old is None:
        changes.problem(
            item.key,
            "value",
            _l("This mark was changed meanwhile. Reload the page and try again."),
        )
        return False
    if value and (value, item.kind, comment) == (old.value, old.kind, old.comment):
        return False
    changes.retired_marks.append(old.id)
    changes.new_marks.append(
        Mark(
            lesson_id=lesson.id,
            student_id=row.student.id,
            school_year=school_year_of(lesson.on_date),
            value=value or old.value,
            kind=item.kind if value else old.kind,
            weight=(
                old.weight if not value or item.kind == old.kind else rule.weight_of(item.kind)
            ),
            comment=comment if value else old.comment,
            deleted=not value,
            previous_id=old.id,
            reason=reason,
            author_id=author.id,
        )
    )
    return True


def _attendance_change(
    changes: _Changes,
    lesson: Lesson,
    row: SheetRow,
    entry: StudentEntry,
    author: StaffMember,
    reason: str,
) -> bool:
    """The row's attendance mark, when the form changes it: a new version. Returns
    whether it needs a reason (it replaces a recorded mark)."""
    if entry.attendance is None or entry.attendance == row.code:
        return False
    if entry.attendance and entry.attendance not in ATTENDANCE_CODES:
        changes.problem(entry.key, "attendance", _l("Choose an attendance mark from the list."))
        return False
    previous = row.attendance
    if previous is not None:
        changes.retired_attendance.append(previous.id)
    changes.new_attendance.append(
        Attendance(
            lesson_id=lesson.id,
            student_id=row.student.id,
            school_year=school_year_of(lesson.on_date),
            code=entry.attendance or row.code,
            deleted=not entry.attendance,
            previous_id=previous.id if previous is not None else None,
            reason=reason if row.code else "",
            author_id=author.id,
        )
    )
    return bool(row.code)


def _reason_problem(
    changes: _Changes, entry: StudentEntry, row: SheetRow, reason: str, needs_reason: bool
) -> None:
    if needs_reason and not reason:
        changes.problem(
            entry.key,
            "reason",
            _l("Say why you correct or delete the records of %(name)s."),
            name=row.student.full_name,
        )
    elif len(reason) > MAX_REASON:
        changes.problem(entry.key, "reason", _l("The reason is too long."))


def _lesson_problems(changes: _Changes, lesson: Lesson, today: date) -> None:
    """What the lesson itself forbids, listed first: a cancelled lesson gets no marks or
    attendance, a lesson yet to come gets none either."""
    if changes.adds and lesson.cancelled:
        changes.problems.insert(
            0,
            Problem("", "row", str(_l("The lesson is cancelled: it gets no marks or attendance."))),
        )
    if (changes.new_marks or changes.new_attendance) and lesson.on_date > today:
        changes.problems.insert(
            0,
            Problem(
                "",
                "row",
                str(_l("Marks and attendance are given only for lessons that have taken place.")),
            ),
        )


def _write(changes: _Changes, school_year: int) -> Recorded:
    """Retire the replaced versions, add the new ones, commit once."""
    for mark_id in changes.retired_marks:
        retire(Mark, mark_id, school_year)
    for attendance_id in changes.retired_attendance:
        retire(Attendance, attendance_id, school_year)
    db.session.add_all(changes.new_marks + changes.new_attendance)
    db.session.commit()
    return Recorded(
        marks=[m for m in changes.new_marks if not m.deleted],
        deleted=[m for m in changes.new_marks if m.deleted],
        attendance=changes.new_attendance,
    )


def _announce(recorded: Recorded) -> None:
    """Tell the notifications, after the commit: each mark given, each absence."""
    for mark in recorded.marks:
        send_signal(mark_recorded, mark=mark)
    for row in recorded.attendance:
        if not row.deleted:
            send_signal(absence_recorded, attendance=row)


def send_signal(signal: Any, **fields: Any) -> None:
    """Tell the listeners after the commit; a failing listener must not undo or fail
    the write that already happened."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        signal.send(app, **fields)
    except Exception:
        app.logger.exception("a receiver of %s failed", signal.name)
