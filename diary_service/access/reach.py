"""What of one student's record a viewer sees (``Reach``): the whole record for the
family, which follows the child across schools and years; for staff, only the enrolments
that tie the student to them (``Span``). Every page, export and API answer about a
student loads through it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from diary_service.access.viewer import (
    CLASS_TEACHER_SECTIONS,
    HEALTH_WORKER_SECTIONS,
    SCHOOL_ADMIN_SECTIONS,
    SECTIONS,
    STUDENT_SELF_SECTIONS,
    SUBJECT_TEACHER_SECTIONS,
    Viewer,
    class_of,
)
from diary_service.extensions import db
from diary_service.models.journal import FinalMark
from diary_service.models.school import (
    Enrolment,
    SchoolClass,
    Student,
)


@dataclass(frozen=True)
class Span:
    """One enrolment of the student that ties a staff viewer to them: its class (of that
    school and year) from ``starts_on`` to ``ends_on`` (exclusive; None: still open),
    what the viewer sees of that time and why (``ties``: class_teacher, teacher,
    school_admin, health_worker)."""

    class_id: int
    school_id: int
    year_id: int
    starts_on: date
    ends_on: date | None
    sections: frozenset[str]
    ties: frozenset[str]

    def covers(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or on < self.ends_on)

    def overlaps(self, start: date, end: date | None) -> bool:
        """Does the span meet the days from ``start`` to ``end`` (inclusive; None:
        open)?"""
        return (self.ends_on is None or start < self.ends_on) and (
            end is None or end >= self.starts_on
        )

    @property
    def last_day(self) -> date | None:
        return self.ends_on - timedelta(days=1) if self.ends_on is not None else None


@dataclass(frozen=True)
class Reach:
    """What of one student's record a viewer sees: the ``whole`` record in these
    sections (the family follows the child), and in others only the ``spans`` that tie
    a staff viewer to the student. Every page, export and API answer about a student
    loads through it."""

    student_id: int
    whole: frozenset[str] = frozenset()
    spans: tuple[Span, ...] = ()

    @property
    def sections(self) -> frozenset[str]:
        return self.whole.union(*(span.sections for span in self.spans))

    def spans_of(self, section: str) -> list[Span]:
        return [span for span in self.spans if section in span.sections]

    def sees(self, section: str, class_id: int, on: date) -> bool:
        """A record of that section, of a lesson of ``class_id`` on ``on``."""
        return section in self.whole or any(
            span.class_id == class_id and span.covers(on) for span in self.spans_of(section)
        )

    def where(
        self, section: str, class_id: sa.ColumnElement[int], on: sa.ColumnElement[date]
    ) -> sa.ColumnElement[bool]:
        """``sees`` as SQL over a lesson's class and date columns."""
        if section in self.whole:
            return sa.true()
        windows = [
            sa.and_(
                class_id == span.class_id,
                on >= span.starts_on,
                on < span.ends_on if span.ends_on is not None else sa.true(),
            )
            for span in self.spans_of(section)
        ]
        return sa.or_(*windows) if windows else sa.false()

    def sees_at_school(self, section: str, school_id: int | None, on: date) -> bool:
        """Something of a school on a day, tied to no lesson (a remark written then)."""
        return section in self.whole or any(
            span.school_id == school_id and span.covers(on) for span in self.spans_of(section)
        )

    def sees_between(
        self,
        section: str,
        school_id: int,
        class_id: int | None,
        start: date,
        end: date | None,
    ) -> bool:
        """Something of a school (or of one of its classes) in force from ``start`` to
        ``end`` (None: open): a notice, a meeting."""
        return section in self.whole or any(
            span.school_id == school_id
            and class_id in (None, span.class_id)
            and span.overlaps(start, end)
            for span in self.spans_of(section)
        )

    def sees_final(self, final: FinalMark) -> bool:
        """A period mark: while the period meets a span of its year; a year mark: a span
        of its year."""
        if "marks" in self.whole:
            return True
        period = final.period
        return any(
            span.year_id == final.year_id
            and (period is None or span.overlaps(period.starts_on, period.ends_on))
            for span in self.spans_of("marks")
        )

    def year_ids(self, section: str) -> set[int] | None:
        """The academic years the viewer sees of the section (None: all of them)."""
        if section in self.whole:
            return None
        return {span.year_id for span in self.spans_of(section)}

    def span_on(self, section: str, on: date) -> Span | None:
        return next((s for s in self.spans_of(section) if s.covers(on)), None)

    def latest(self, section: str) -> Span | None:
        spans = self.spans_of(section)
        return max(spans, key=lambda span: span.starts_on) if spans else None

    def ended_at_school(self, school_id: int) -> date | None:
        """When the viewer's time with the student at a school ended (the day the
        student left or moved on); None while it lasts."""
        spans = [span for span in self.spans if span.school_id == school_id]
        if not spans or any(span.ends_on is None for span in spans):
            return None
        return max(span.ends_on for span in spans if span.ends_on is not None)

    def day_shown(self, section: str, on: date) -> date:
        """The day a page opens on by default: ``on`` (today) if the viewer sees it,
        else the last day of the latest span they see (the old school's staff land on
        the student's last days with them, not on an empty page)."""
        if section in self.whole or self.span_on(section, on) is not None:
            return on
        latest = self.latest(section)
        if latest is None or latest.last_day is None or latest.last_day > on:
            return on
        return latest.last_day


def reach_of(viewer: Viewer, student: Student) -> Reach:
    """What the viewer sees of the student's record (see ``Reach``)."""
    if viewer.person is None:
        return Reach(student.id)
    if student.id in viewer.guardian_of:
        return Reach(student.id, frozenset(SECTIONS))
    if student.id in viewer.own_student_ids:
        whole = STUDENT_SELF_SECTIONS
    else:
        # A trusted person who is also staff sees the rest only as staff.
        whole = viewer.trusted_sections.get(student.id, frozenset())
    return Reach(
        student.id, frozenset(whole), _staff_spans(viewer, [student.id]).get(student.id, ())
    )


def _staff_spans(viewer: Viewer, student_ids: list[int]) -> dict[int, tuple[Span, ...]]:
    """The students' enrolments that tie the viewer to them, per student."""
    if not (
        viewer.class_teacher_of
        or viewer.teaches
        or viewer.school_admin_of
        or viewer.health_worker_of
    ):
        return {}
    taught = {class_id for class_id, _subject in viewer.teaches}
    rows = db.session.execute(
        sa.select(Enrolment, SchoolClass.school_id, SchoolClass.year_id)
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(Enrolment.student_id.in_(student_ids))
        .order_by(Enrolment.starts_on)
    ).all()
    found: dict[int, list[Span]] = {}
    for enrolment, school_id, year_id in rows:
        if enrolment.ends_on is not None and enrolment.ends_on <= enrolment.starts_on:
            continue
        ties: set[str] = set()
        sections: set[str] = set()
        if enrolment.class_id in viewer.class_teacher_of:
            ties.add("class_teacher")
            sections |= CLASS_TEACHER_SECTIONS
        if enrolment.class_id in taught:
            ties.add("teacher")
            sections |= SUBJECT_TEACHER_SECTIONS
        if school_id in viewer.school_admin_of:
            ties.add("school_admin")
            sections |= SCHOOL_ADMIN_SECTIONS
        if school_id in viewer.health_worker_of:
            ties.add("health_worker")
            sections |= HEALTH_WORKER_SECTIONS
        if ties:
            found.setdefault(enrolment.student_id, []).append(
                Span(
                    class_id=enrolment.class_id,
                    school_id=school_id,
                    year_id=year_id,
                    starts_on=enrolment.starts_on,
                    ends_on=enrolment.ends_on,
                    sections=frozenset(sections),
                    ties=frozenset(ties),
                )
            )
    return {student_id: tuple(spans) for student_id, spans in found.items()}


def can_view_student(viewer: Viewer, student: Student, section: str) -> bool:
    """May the viewer see this part (``SECTIONS``) of the student's record at all? What
    of it they see is the ``Reach``'s."""
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}")
    return section in reach_of(viewer, student).sections


_UNREAD = object()


def class_shown(
    student: Student, reach: Reach, on: date, enrolled: object = _UNREAD
) -> SchoolClass | None:
    """The class a student page names for the viewer on a day: the student's class
    then if the viewer sees it, else the class of the viewer's latest span (the old
    school's staff are not told the new school's class). ``enrolled``: the student's
    class that day (``class_of``) when the caller has read it already."""
    school_class = class_of(student, on) if enrolled is _UNREAD else enrolled
    if not reach.spans or reach.whole:
        return school_class
    if school_class is not None and any(
        span.class_id == school_class.id and span.covers(on) for span in reach.spans
    ):
        return school_class
    latest = max(reach.spans, key=lambda span: span.starts_on)
    return db.session.get(SchoolClass, latest.class_id)


ROLE_ORDER = ("class_teacher", "teacher", "school_admin", "health_worker")


def roles_toward(viewer: Viewer, student_ids: list[int]) -> dict[int, str]:
    """The capacity in which the viewer looks at each student, most specific first (the
    access log's words): their tie through an enrolment; else trusted person, a
    teacher of the student's school now (a substitute), the department, a student."""
    spans = _staff_spans(viewer, student_ids)
    schools = dict(
        db.session.execute(
            sa.select(Student.id, Student.school_id).where(Student.id.in_(student_ids))
        ).all()
    )
    roles = {}
    for student_id in student_ids:
        ties = set().union(*(span.ties for span in spans.get(student_id, ())))
        role = next((tie for tie in ROLE_ORDER if tie in ties), None)
        if role is None:
            if viewer.is_trusted_of(student_id):
                role = "trusted"  # rather than a teacher of the school who happens to be one
            elif schools.get(student_id) in viewer.teacher_at:
                role = "teacher"  # a substitute teacher
            elif viewer.department:
                role = "department"
            elif viewer.own_student_ids:
                role = "student"
            else:
                role = "other"
        roles[student_id] = role
    return roles
