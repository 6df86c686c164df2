"""Period and year marks: the sheet of a class's finals for a subject (averages and the
suggested marks beside them) and setting them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.journal.base import (
    MAX_REASON,
    ClassMember,
    author_at,
    class_members,
    get_class,
    get_period,
    get_subject,
    parse_mark_value,
)
from diary_service.journal.entries import EntryErrors, Problem, retire
from diary_service.journal.queries import (
    SubjectSummary,
    current_marks,
    current_policy,
    rule_of,
    summarize,
)
from diary_service.models.journal import (
    FINAL_KINDS,
    FinalMark,
    MarkPolicy,
)
from diary_service.models.school import (
    AcademicYear,
    Period,
    SchoolClass,
    StaffMember,
    Subject,
)
from diary_service.school.policy import TWO_PLACES, Rule, suggest
from shared.errors import ValidationError


@dataclass
class FinalRow:
    member: ClassMember
    summary: SubjectSummary  # the period's marks, average, suggestion, forecast
    period_final: FinalMark | None  # current version of the period mark (maybe deleted)
    year_final: FinalMark | None
    year_average: Decimal | None  # of this year's period marks
    year_suggested: str | None

    @property
    def period_value(self) -> str:
        return _value_of(self.period_final)

    @property
    def year_value(self) -> str:
        return _value_of(self.year_final)


def _value_of(final: FinalMark | None) -> str:
    return "" if final is None or final.deleted else final.value


@dataclass
class FinalSheet:
    school_class: SchoolClass
    subject: Subject
    period: Period
    policy: MarkPolicy | None
    rule: Rule
    rows: list[FinalRow]

    def row_of(self, student_id: int) -> FinalRow | None:
        return next((row for row in self.rows if row.member.student.id == student_id), None)


def year_average(period_marks: Iterable[FinalMark]) -> Decimal | None:
    """The plain average of the year's period marks (five-point ones only)."""
    values = [int(f.value) for f in period_marks if not f.deleted and f.value.isdigit()]
    if not values:
        return None
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(
        TWO_PLACES, rounding=ROUND_HALF_UP
    )


def final_sheet(school_class: SchoolClass, subject: Subject, period: Period) -> FinalSheet:
    """Per student of the class during the period: the period's summary under the
    school's policy in force, the period and year marks set so far, and the average of
    the year's period marks that the year mark is suggested from."""
    policy = current_policy(school_class.school_id)
    rule = rule_of(policy)
    members = class_members(school_class, period.starts_on, period.ends_on)
    ids = [m.student.id for m in members]
    marks = current_marks(
        ids, period.starts_on, period.ends_on, subject.id, class_id=school_class.id
    )
    finals = _current_finals(ids, school_class.year_id, subject.id)
    rows = []
    for member in members:
        sid = member.student.id
        period_marks = [f for f in finals if f.student_id == sid and f.kind == "period"]
        avg = year_average(period_marks)
        rows.append(
            FinalRow(
                member=member,
                summary=summarize(subject, [m for m in marks if m.student_id == sid], rule),
                period_final=next((f for f in period_marks if f.period_id == period.id), None),
                year_final=next(
                    (f for f in finals if f.student_id == sid and f.kind == "year"), None
                ),
                year_average=avg,
                year_suggested=suggest(avg, rule),
            )
        )
    return FinalSheet(school_class, subject, period, policy, rule, rows)


def _current_finals(student_ids: list[int], year_id: int, subject_id: int) -> list[FinalMark]:
    """Current versions, deletions included (a new mark continues their history)."""
    if not student_ids:
        return []
    return list(
        db.session.execute(
            sa.select(FinalMark).where(
                FinalMark.student_id.in_(student_ids),
                FinalMark.year_id == year_id,
                FinalMark.subject_id == subject_id,
                FinalMark.is_current.is_(True),
            )
        ).scalars()
    )


@dataclass(frozen=True)
class FinalMarkInput:
    """A period (``kind`` "period") or year ("year") mark as typed; "" clears it.
    ``seen_id`` is the current version the form showed, checked when ``checked``."""

    key: str
    student_id: int
    kind: str
    value: str
    reason: str = ""
    seen_id: int | None = None
    checked: bool = False


@dataclass
class _FinalsContext:
    """What setting a class's final marks in a subject reads once: the class, subject,
    period and year, the policy in force, the students of the year and of the period,
    and the current finals."""

    school_class: SchoolClass
    subject: Subject
    period: Period
    year: AcademicYear
    policy: MarkPolicy | None
    rule: Rule
    members: dict[int, ClassMember]
    in_period: set[int]
    finals: list[FinalMark]
    author: StaffMember

    def current(self, entry: FinalMarkInput) -> FinalMark | None:
        return next(
            (
                f
                for f in self.finals
                if f.student_id == entry.student_id
                and f.kind == entry.kind
                and (entry.kind == "year" or f.period_id == self.period.id)
            ),
            None,
        )


_Change = tuple[FinalMarkInput, FinalMark | None, str, str]  # entry, current, value, reason


def set_final_marks(
    author: StaffMember | None,
    class_id: int,
    subject_id: int,
    period_id: int,
    entries: Sequence[FinalMarkInput],
) -> list[FinalMark]:
    """Set or change period marks (for ``period_id``) and year marks of a class's
    students, all or nothing. Each new version stores the average and suggestion it was
    set against and the policy version in force; a change or removal needs a reason.
    Period marks are processed first, so a year mark set with them sees them."""
    context = _finals_context(author, class_id, subject_id, period_id)
    problems: list[Problem] = []
    changes: list[_Change] = []
    for entry in sorted(entries, key=lambda e: e.kind != "period"):
        found = _final_change(context, entry)
        if isinstance(found, Problem):
            problems.append(found)
        elif found is not None:
            changes.append(found)
    if problems:
        db.session.rollback()
        raise EntryErrors(problems)
    written = [_write_final(context, *change) for change in changes]
    db.session.commit()
    return written


def _finals_context(
    author: StaffMember | None, class_id: int, subject_id: int, period_id: int
) -> _FinalsContext:
    school_class = get_class(class_id)
    subject = get_subject(subject_id)
    period = get_period(school_class, period_id, clock.today())
    author = author_at(author, school_class.school_id)
    year: AcademicYear = school_class.year
    policy = current_policy(school_class.school_id)
    members = {m.student.id: m for m in class_members(school_class, year.starts_on, year.ends_on)}
    in_period = {
        m.student.id for m in class_members(school_class, period.starts_on, period.ends_on)
    }
    return _FinalsContext(
        school_class=school_class,
        subject=subject,
        period=period,
        year=year,
        policy=policy,
        rule=rule_of(policy),
        members=members,
        in_period=in_period,
        finals=_current_finals(list(members), year.id, subject.id),
        author=author,
    )


def _final_change(context: _FinalsContext, entry: FinalMarkInput) -> _Change | Problem | None:
    """One typed final mark checked: the change to write, the problem with it, or None
    when it changes nothing."""
    if entry.kind not in FINAL_KINDS:
        return Problem(entry.key, "value", str(_l("Unknown kind of final mark.")))
    allowed = context.in_period if entry.kind == "period" else set(context.members)
    if entry.student_id not in allowed:
        return Problem(entry.key, "row", str(_l("This student is not in the class then.")))
    try:
        value = parse_mark_value(entry.value)
    except ValidationError as error:
        return Problem(entry.key, "value", error.message)
    current = context.current(entry)
    if entry.checked and entry.seen_id != (current.id if current else None):
        return Problem(
            entry.key,
            "value",
            str(_l("This mark was changed meanwhile. Reload the page and try again.")),
        )
    shown = _value_of(current)
    if value == shown:
        return None
    reason = " ".join(entry.reason.split())
    if shown and not reason:
        return Problem(
            entry.key,
            "reason",
            str(
                _l("Say why you change the final mark of %(name)s.")
                % {"name": context.members[entry.student_id].student.full_name}
            ),
        )
    if len(reason) > MAX_REASON:
        return Problem(entry.key, "reason", str(_l("The reason is too long.")))
    return entry, current, value, reason


def _average_and_suggestion(
    context: _FinalsContext, entry: FinalMarkInput
) -> tuple[Decimal | None, str | None]:
    """What a new final mark is set against: for a period mark, the period's marks; for
    a year mark, the period marks (those just written included)."""
    if entry.kind == "period":
        marks = current_marks(
            [entry.student_id],
            context.period.starts_on,
            context.period.ends_on,
            context.subject.id,
            class_id=context.school_class.id,
        )
        summary = summarize(context.subject, marks, context.rule)
        return summary.average, summary.suggested
    avg = year_average(
        f
        for f in _current_finals([entry.student_id], context.year.id, context.subject.id)
        if f.kind == "period"
    )
    return avg, suggest(avg, context.rule)


def _write_final(
    context: _FinalsContext,
    entry: FinalMarkInput,
    current: FinalMark | None,
    value: str,
    reason: str,
) -> FinalMark:
    avg, suggested = _average_and_suggestion(context, entry)
    if current is not None:
        retire(FinalMark, current.id)
    row = FinalMark(
        student_id=entry.student_id,
        subject_id=context.subject.id,
        year_id=context.year.id,
        period_id=context.period.id if entry.kind == "period" else None,
        kind=entry.kind,
        value=value or current.value,  # type: ignore[union-attr]
        average=avg,
        suggested=suggested,
        policy_id=context.policy.id if context.policy is not None else None,
        deleted=not value,
        previous_id=current.id if current is not None else None,
        reason=reason if current is not None else "",
        author_id=context.author.id,
    )
    db.session.add(row)
    db.session.flush()  # the year mark below reads the period marks just written
    return row
