"""Who may see and change what in the diary: the one place the access rules live.

A ``Viewer`` is what a signed-in person is here, read once per request: their staff
records and roles, the classes they teach or lead, the students they are a guardian of
and their own student record. Every view that reads or writes a student, a class's
journal or a school's data asks one of the ``can_*`` predicates below, or calls
``require`` with its answer; pages 404 for objects that do not exist and 403 for those
that exist but are not the viewer's.

The scopes (issue 5, "Access"):

- teacher: the journal of the classes and subjects they teach (or substitute in);
- class teacher: everything about their own class and its students;
- school administrator: everything in their school;
- health worker: attendance and illness of their school's students, nothing else;
- department: aggregates across the region's schools, never one student's record;
- parent (guardian): their linked children;
- trusted person (issue 6): the sections of one child's record a parent granted them on
  the portal, from the moment the grant opens to its last day, read-only: never what
  belongs to the parents as legal representatives (acknowledging a week, signed
  answers, the access log, codes), and messages only when granted;
- student: themselves (not the remarks addressed to their parents, not parents' threads).

What ties a viewer to a record *today* (issue 11): the family (parents, the student,
trusted persons with an open grant) follows the child everywhere, across schools and
years: their ``Reach`` is the ``whole`` record. Staff see a student only through the
enrolments that tie the student to them (``Span``): an enrolment in a class they lead or
teach, or at a school they administer or are the health worker of, and of the record
only the lessons and records of that enrolment's class and dates. Once a student
moves, the old school keeps the history of the time the student was theirs and nothing
after; the new school sees from the admission on, not the old school's journal (what
it receives is the record card: the enrolment history). A teacher of last year's
class sees last year. Class pages (the journal, class reports) are the class's own
lessons; actions on a student now (codes, writing to the parents, moving them) need
today's enrolment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from diary_service.auth.models import DiaryPerson
from diary_service.extensions import db
from diary_service.family.models import Guardian
from diary_service.journal.models import FinalMark, HomeworkAttachment, Lesson
from diary_service.school.models import (
    Enrolment,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    TeachingAssignment,
    TimetableChange,
    TimetableEntry,
)
from shared.errors import Forbidden
from shared.sessions import utcnow

# What of a student's record a page shows; a guardian sees all, others some.
SECTIONS = (
    "schedule",  # timetable, changes, notices, meetings
    "homework",
    "marks",  # marks, averages, final marks, forecast
    "attendance",
    "remarks",  # teachers' remarks to parents
    "messages",
)
STUDENT_SELF_SECTIONS = frozenset(SECTIONS) - {"remarks"}
# What each staff tie to an enrolment shows of its span (staff never read the family's
# messages through the student's pages).
CLASS_TEACHER_SECTIONS = frozenset(SECTIONS) - {"messages"}
SUBJECT_TEACHER_SECTIONS = frozenset({"schedule", "homework", "marks", "attendance"})
SCHOOL_ADMIN_SECTIONS = frozenset(SECTIONS) - {"messages"}
HEALTH_WORKER_SECTIONS = frozenset({"attendance"})


@dataclass
class Viewer:
    person: DiaryPerson | None
    staff: list[StaffMember] = field(default_factory=list)
    # school ids where the person holds each role
    school_admin_of: set[int] = field(default_factory=set)
    health_worker_of: set[int] = field(default_factory=set)
    teacher_at: set[int] = field(default_factory=set)
    department: bool = False
    # class ids they lead; (class id, subject id) they teach
    class_teacher_of: set[int] = field(default_factory=set)
    teaches: set[tuple[int, int]] = field(default_factory=set)
    # students they are a parent (legal representative) of; their own student record
    guardian_of: set[int] = field(default_factory=set)
    own_student_ids: set[int] = field(default_factory=set)
    # students they are a trusted person of, with an open grant: the sections they see
    # and the last day of access (None: until revoked). Never a student of guardian_of.
    trusted_sections: dict[int, frozenset[str]] = field(default_factory=dict)
    trusted_until: dict[int, date | None] = field(default_factory=dict)

    @property
    def staff_ids(self) -> set[int]:
        return {member.id for member in self.staff}

    @property
    def is_staff(self) -> bool:
        return bool(self.staff)

    @property
    def is_family(self) -> bool:
        return bool(self.guardian_of or self.own_student_ids or self.trusted_sections)

    @property
    def family_ids(self) -> set[int]:
        """Every student whose family diary the viewer reads: as parent, as trusted
        person, and their own record. What they may see of each is ``can_view_student``'s."""
        return self.guardian_of | self.own_student_ids | set(self.trusted_sections)

    def is_trusted_of(self, student_id: int) -> bool:
        return student_id in self.trusted_sections

    @property
    def staff_school_ids(self) -> set[int]:
        return {member.school_id for member in self.staff if member.school_id is not None}

    def staff_at(self, school_id: int) -> StaffMember | None:
        """The viewer's staff record at a school (the author of what they write there)."""
        for member in self.staff:
            if member.school_id == school_id:
                return member
        return None


ANONYMOUS = Viewer(person=None)


def trusted_link_open(now: datetime, today: date) -> sa.ColumnElement[bool]:
    """A trusted person's link that gives access at ``now`` (naive UTC): not revoked,
    opened (``opens_at`` passed: the portal's delay after acceptance) and not past its
    last day. The diary checks the times itself, so access opens and ends on time
    without a new sign-in."""
    return sa.and_(
        Guardian.kind == "trusted",
        Guardian.revoked_at.is_(None),
        Guardian.opens_at.is_not(None),
        Guardian.opens_at <= now,
        sa.or_(Guardian.valid_until.is_(None), Guardian.valid_until >= today),
    )


def granted_sections(sections: object) -> frozenset[str]:
    """The known sections of a stored grant (anything else is ignored, never trusted)."""
    if not isinstance(sections, list):
        return frozenset()
    return frozenset(s for s in sections if isinstance(s, str) and s in SECTIONS)


def link_sections(
    link: Guardian, now: datetime | None = None, today: date | None = None
) -> frozenset[str]:
    """What a live guardian link opens now: everything for a parent; a trusted
    person's granted sections while the grant is open; nothing once revoked."""
    if link.revoked_at is not None:
        return frozenset()
    if link.kind != "trusted":
        return frozenset(SECTIONS)
    now = now or utcnow()
    today = today or date.today()
    if link.opens_at is None or link.opens_at > now:
        return frozenset()
    if link.valid_until is not None and link.valid_until < today:
        return frozenset()
    return granted_sections(link.sections)


def viewer_for(
    person: DiaryPerson | None, now: datetime | None = None, today: date | None = None
) -> Viewer:
    """The person's viewer at ``now`` (naive UTC; default: this moment), ``today``
    being the date trusted grants end on (default: today)."""
    if person is None:
        return Viewer(person=None)
    staff = list(
        db.session.execute(
            sa.select(StaffMember).where(
                StaffMember.person_id == person.id, StaffMember.active.is_(True)
            )
        ).scalars()
    )
    viewer = Viewer(person=person, staff=staff)
    staff_ids = [member.id for member in staff]
    if staff_ids:
        roles = db.session.execute(
            sa.select(StaffRole.role, StaffMember.school_id)
            .join(StaffMember, StaffMember.id == StaffRole.staff_id)
            .where(StaffRole.staff_id.in_(staff_ids))
        ).all()
        for role, school_id in roles:
            if role == "department":
                viewer.department = True
            elif school_id is None:
                continue
            elif role == "school_admin":
                viewer.school_admin_of.add(school_id)
            elif role == "health_worker":
                viewer.health_worker_of.add(school_id)
            elif role in ("teacher", "class_teacher"):
                viewer.teacher_at.add(school_id)
        viewer.class_teacher_of = set(
            db.session.execute(
                sa.select(SchoolClass.id).where(SchoolClass.class_teacher_id.in_(staff_ids))
            ).scalars()
        )
        viewer.teaches = {
            (class_id, subject_id)
            for class_id, subject_id in db.session.execute(
                sa.select(TeachingAssignment.class_id, TeachingAssignment.subject_id).where(
                    TeachingAssignment.teacher_id.in_(staff_ids)
                )
            ).all()
        }
    viewer.guardian_of = set(
        db.session.execute(
            sa.select(Guardian.student_id).where(
                Guardian.person_id == person.id,
                Guardian.kind == "parent",
                Guardian.revoked_at.is_(None),
            )
        ).scalars()
    )
    _load_trusted(viewer, person, now or utcnow(), today or date.today())
    viewer.own_student_ids = set(
        db.session.execute(sa.select(Student.id).where(Student.person_id == person.id)).scalars()
    )
    return viewer


def _load_trusted(viewer: Viewer, person: DiaryPerson, now: datetime, today: date) -> None:
    """The person's open trusted grants: two grants for one child (from each parent)
    add up; a grant with no known section opens nothing; a parent is not also trusted."""
    rows = db.session.execute(
        sa.select(Guardian.student_id, Guardian.sections, Guardian.valid_until).where(
            Guardian.person_id == person.id, trusted_link_open(now, today)
        )
    ).all()
    ends: dict[int, list[date | None]] = {}
    for student_id, sections, until in rows:
        granted = granted_sections(sections)
        if student_id in viewer.guardian_of or not granted:
            continue
        mine = viewer.trusted_sections.get(student_id, frozenset())
        viewer.trusted_sections[student_id] = mine | granted
        ends.setdefault(student_id, []).append(until)
    for student_id, days in ends.items():
        viewer.trusted_until[student_id] = None if None in days else max(d for d in days if d)


def require(allowed: bool) -> None:
    """Refuse the request (403) unless ``allowed``."""
    if not allowed:
        raise Forbidden()


def class_of(student: Student, on: date | None = None) -> SchoolClass | None:
    """The class a student is enrolled in on a day (today by default)."""
    on = on or date.today()
    return db.session.execute(
        sa.select(SchoolClass)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .where(
            Enrolment.student_id == student.id,
            Enrolment.starts_on <= on,
            sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > on),
        )
        .order_by(Enrolment.starts_on.desc())
        .limit(1)
    ).scalar_one_or_none()


def _open_on(on: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        Enrolment.starts_on <= on, sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > on)
    )


# --- a student's record: what ties the viewer to it ---------------------------------------


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


def class_shown(student: Student, reach: Reach, on: date) -> SchoolClass | None:
    """The class a student page names for the viewer on a day: the student's class
    then if the viewer sees it, else the class of the viewer's latest span (the old
    school's staff are not told the new school's class)."""
    school_class = class_of(student, on)
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


# --- the journal ---------------------------------------------------------------------------


def can_view_journal(viewer: Viewer, school_class: SchoolClass, subject_id: int) -> bool:
    """The journal grid of a class and subject: its teachers, the class teacher and the
    school's administrators read it; the health worker reads attendance only (checked
    with ``can_view_attendance``)."""
    return (
        (school_class.id, subject_id) in viewer.teaches
        or school_class.id in viewer.class_teacher_of
        or school_class.school_id in viewer.school_admin_of
        or _substitutes_in(viewer, school_class.id, subject_id)
    )


def can_write_journal(
    viewer: Viewer, school_class: SchoolClass, subject_id: int, on: date, lesson_number: int
) -> bool:
    """Writing a lesson (topic, homework, marks, attendance): only the teacher of that
    class and subject, or the substitute named for that very lesson."""
    if (school_class.id, subject_id) in viewer.teaches:
        return True
    if not viewer.staff_ids:
        return False
    return (
        db.session.execute(
            sa.select(TimetableChange.id).where(
                TimetableChange.class_id == school_class.id,
                TimetableChange.on_date == on,
                TimetableChange.lesson_number == lesson_number,
                TimetableChange.kind == "substitution",
                TimetableChange.substitute_id.in_(viewer.staff_ids),
            )
        ).first()
        is not None
    )


def _substitutes_in(viewer: Viewer, class_id: int, subject_id: int) -> bool:
    """Has the viewer a substitution for a lesson of this subject in this class? Then
    they may read its journal to fill in the lesson they give (and only that subject's:
    a substitution in maths opens nothing of Russian)."""
    if not viewer.staff_ids:
        return False
    substituted = db.session.execute(
        sa.select(TimetableChange.on_date, TimetableChange.lesson_number).where(
            TimetableChange.class_id == class_id,
            TimetableChange.kind == "substitution",
            TimetableChange.substitute_id.in_(viewer.staff_ids),
        )
    ).all()
    if not substituted:
        return False
    slots_of_subject = set(
        db.session.execute(
            sa.select(TimetableEntry.weekday, TimetableEntry.lesson_number).where(
                TimetableEntry.class_id == class_id, TimetableEntry.subject_id == subject_id
            )
        ).all()
    )
    return any((day.isoweekday(), number) in slots_of_subject for day, number in substituted)


def can_view_attendance(viewer: Viewer, school_class: SchoolClass) -> bool:
    return (
        school_class.school_id in viewer.health_worker_of
        or school_class.school_id in viewer.school_admin_of
        or school_class.id in viewer.class_teacher_of
        or any(class_id == school_class.id for class_id, _ in viewer.teaches)
    )


def can_set_final_marks(viewer: Viewer, school_class: SchoolClass, subject_id: int) -> bool:
    """Period and year marks: the subject's teachers of the class, and the school's
    administrators (substitutes give lessons, not final marks)."""
    return (school_class.id, subject_id) in viewer.teaches or (
        school_class.school_id in viewer.school_admin_of
    )


def can_view_lesson_record(viewer: Viewer, lesson: Lesson, student: Student, section: str) -> bool:
    """The history of a mark (``section`` "marks") or attendance ("attendance") at a
    lesson: the staff who read that class's journal of the subject (attendance: also
    those who see the class's attendance, the health worker among them): the record is
    of their class's lesson; and the student's family, who see the whole record."""
    if can_view_journal(viewer, lesson.school_class, lesson.subject_id):
        return True
    if section == "attendance" and can_view_attendance(viewer, lesson.school_class):
        return True
    return section in reach_of(viewer, student).whole


def can_view_final_mark(viewer: Viewer, final: FinalMark) -> bool:
    """A final mark's history: the family, and staff reading the subject's journal of a
    class the student was in during the final's period (a year mark: that year)."""
    if "marks" in reach_of(viewer, final.student).whole:
        return True
    period = final.period
    enrolments = db.session.execute(
        sa.select(Enrolment)
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(Enrolment.student_id == final.student_id, SchoolClass.year_id == final.year_id)
    ).scalars()
    return any(
        can_view_journal(viewer, enrolment.school_class, final.subject_id)
        and (
            period is None
            or (
                enrolment.starts_on <= period.ends_on
                and (enrolment.ends_on is None or enrolment.ends_on > period.starts_on)
            )
        )
        for enrolment in enrolments
    )


def can_download_attachment(viewer: Viewer, attachment: HomeworkAttachment) -> bool:
    """Anyone who may see that class's homework: the staff reading its journal of the
    subject, and the family of a student enrolled in the class on the lesson's day."""
    lesson = attachment.homework.lesson
    if can_view_journal(viewer, lesson.school_class, lesson.subject_id):
        return True
    family = viewer.family_ids
    if not family:
        return False
    enrolled = db.session.execute(
        sa.select(Student)
        .join(Enrolment, Enrolment.student_id == Student.id)
        .where(
            Enrolment.class_id == lesson.class_id,
            Enrolment.student_id.in_(family),
            _open_on(lesson.on_date),
        )
    ).scalars()
    return any("homework" in reach_of(viewer, student).whole for student in enrolled)


# --- classes and schools -------------------------------------------------------------------


def can_lead_class(viewer: Viewer, school_class: SchoolClass) -> bool:
    """Class-teacher work: the class's parents, announcements, meetings, moderation,
    acknowledgements, final marks overview. The school's administrators may do it too."""
    return (
        school_class.id in viewer.class_teacher_of
        or school_class.school_id in viewer.school_admin_of
    )


def can_manage_school(viewer: Viewer, school_id: int) -> bool:
    """School administration: roster, staff, classes, timetable, links, policy."""
    return school_id in viewer.school_admin_of


def can_view_class_reports(viewer: Viewer, school_class: SchoolClass) -> bool:
    return can_lead_class(viewer, school_class) or any(
        class_id == school_class.id for class_id, _ in viewer.teaches
    )


def can_view_school_reports(viewer: Viewer, school_id: int) -> bool:
    return school_id in viewer.school_admin_of or viewer.department


def can_view_region(viewer: Viewer) -> bool:
    """The department's dashboard across the region's schools."""
    return viewer.department


def can_view_school_attendance(viewer: Viewer, school_id: int) -> bool:
    """The school's absences by date: its health workers and administrators."""
    return school_id in viewer.health_worker_of or school_id in viewer.school_admin_of


# --- the family's own rights ----------------------------------------------------------------


def can_acknowledge(viewer: Viewer, student: Student) -> bool:
    """Only a parent acknowledges a week: not a trusted person, not the student, not
    the staff."""
    return viewer.person is not None and student.id in viewer.guardian_of


def parent_links(viewer: Viewer, student_ids: list[int]) -> set[int]:
    """Of these students, those the viewer is a parent (not a trusted person) of, by a
    live link read now. Parents read the access log and are the ones whose own views
    are not logged."""
    ids = [sid for sid in student_ids if sid in viewer.guardian_of]
    if not ids or viewer.person is None:
        return set()
    return set(
        db.session.execute(
            sa.select(Guardian.student_id).where(
                Guardian.person_id == viewer.person.id,
                Guardian.student_id.in_(ids),
                Guardian.kind == "parent",
                Guardian.revoked_at.is_(None),
            )
        ).scalars()
    )


def can_read_access_log(viewer: Viewer, student_id: int) -> bool:
    return student_id in parent_links(viewer, [student_id])


# --- messages (who writes to whom now) ----------------------------------------------------


def message_family_ids(viewer: Viewer) -> set[int]:
    """The students the viewer writes and reads direct messages about as family: their
    children as a parent, their own record, and a trusted person's children whose
    grant includes messages."""
    trusted = {sid for sid, sections in viewer.trusted_sections.items() if "messages" in sections}
    return viewer.guardian_of | viewer.own_student_ids | trusted


def children_in_class(viewer: Viewer, class_id: int, on: date | None = None) -> list[int]:
    """The viewer's children (as a guardian) enrolled in the class today."""
    if not viewer.guardian_of:
        return []
    return list(
        db.session.execute(
            sa.select(Enrolment.student_id).where(
                Enrolment.class_id == class_id,
                Enrolment.student_id.in_(viewer.guardian_of),
                _open_on(on or date.today()),
            )
        ).scalars()
    )


def can_message_guardians_of(viewer: Viewer, student: Student) -> bool:
    """Staff write to the guardians of the students of the classes they teach or lead
    now, or of any student of a school they administer now: a student who has moved
    away is no longer theirs to write about."""
    if not viewer.is_staff:
        return False
    if student.school_id in viewer.school_admin_of:
        return True
    school_class = class_of(student)
    if school_class is None:
        return False
    return school_class.id in viewer.class_teacher_of or any(
        class_id == school_class.id for class_id, _subject in viewer.teaches
    )


def can_read_class_threads(viewer: Viewer, school_class: SchoolClass) -> bool:
    """The class's announcements and parents' conversation: the guardians of its
    students now, the class teacher and the school's administrators. A student's own
    account never."""
    if viewer.person is None:
        return False
    return can_lead_class(viewer, school_class) or bool(children_in_class(viewer, school_class.id))


# --- access codes ---------------------------------------------------------------------------


def can_issue_codes(viewer: Viewer, student: Student, today: date) -> bool:
    """Codes for a student: the administrators of their school now and the class
    teacher of the class they are in now."""
    if student.school_id is not None and can_manage_school(viewer, student.school_id):
        return True
    school_class = class_of(student, today)
    return school_class is not None and school_class.id in viewer.class_teacher_of
