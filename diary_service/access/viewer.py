"""Who a signed-in person is here, read once per request (``Viewer``): their staff
records and roles, the classes they teach or lead, the students they are a parent or
trusted person of, their own student record; and the sections of a student's record
(``SECTIONS``) each tie opens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Guardian
from diary_service.models.school import (
    Enrolment,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    TeachingAssignment,
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
    today = today or clock.today()
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
    _load_guardians(viewer, person, now or utcnow(), today or clock.today())
    viewer.own_student_ids = set(
        db.session.execute(sa.select(Student.id).where(Student.person_id == person.id)).scalars()
    )
    return viewer


def children_of_parent(person_id: int) -> set[int]:
    """The students a person is a parent (legal representative) of by a live link."""
    return set(
        db.session.execute(
            sa.select(Guardian.student_id).where(
                Guardian.person_id == person_id,
                Guardian.kind == "parent",
                Guardian.revoked_at.is_(None),
            )
        ).scalars()
    )


def _load_guardians(viewer: Viewer, person: DiaryPerson, now: datetime, today: date) -> None:
    """The person's live parent links (``children_of_parent``) and open trusted grants
    (``trusted_link_open``), read in one statement and judged here as those conditions
    say: two grants for one child (from each parent) add up; a grant with no known
    section opens nothing; a parent is not also trusted."""
    rows = db.session.execute(
        sa.select(
            Guardian.student_id,
            Guardian.kind,
            Guardian.sections,
            Guardian.opens_at,
            Guardian.valid_until,
        ).where(
            Guardian.person_id == person.id,
            Guardian.kind.in_(("parent", "trusted")),
            Guardian.revoked_at.is_(None),
        )
    ).all()
    viewer.guardian_of = {row.student_id for row in rows if row.kind == "parent"}
    ends: dict[int, list[date | None]] = {}
    for student_id, kind, sections, opens_at, until in rows:
        if kind != "trusted" or opens_at is None or opens_at > now:
            continue
        if until is not None and until < today:
            continue
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
    on = on or clock.today()
    return db.session.execute(
        sa.select(SchoolClass)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .where(
            Enrolment.student_id == student.id,
            enrolment_open_on(on),
        )
        .order_by(Enrolment.starts_on.desc())
        .limit(1)
    ).scalar_one_or_none()


def classes_on(student: Student, days: list[date]) -> dict[date, SchoolClass | None]:
    """``class_of`` for each of ``days``, in one statement: the student's enrolments
    that meet the days, latest start first, the first open on each day."""
    if not days:
        return {}
    first, last = min(days), max(days)
    rows = db.session.execute(
        sa.select(SchoolClass, Enrolment.starts_on, Enrolment.ends_on)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .where(
            Enrolment.student_id == student.id,
            Enrolment.starts_on <= last,
            sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > first),
        )
        .order_by(Enrolment.starts_on.desc())
    ).all()
    return {
        day: next(
            (c for c, starts, ends in rows if starts <= day and (ends is None or ends > day)),
            None,
        )
        for day in days
    }


def enrolment_open_on(on: date) -> sa.ColumnElement[bool]:
    """An enrolment open on a day, as SQL."""
    return sa.and_(
        Enrolment.starts_on <= on, sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > on)
    )
