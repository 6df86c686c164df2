"""Whom a viewer may write to: the students whose parents they write to, the teachers of
a family's children, and the choices the new-thread form offers."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.access import (
    Viewer,
    can_message_guardians_of,
    class_of,
    enrolment_open_on,
    message_family_ids,
    require,
)
from diary_service.extensions import db
from diary_service.messages.base import ALL_GUARDIANS, guardians_of, students_of_classes
from diary_service.models.school import (
    Enrolment,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    Subject,
    TeachingAssignment,
)
from shared.errors import NotFound


def student_label(student: Student, school_class: SchoolClass | None) -> str:
    return f"{student.full_name}, {school_class.name}" if school_class else student.full_name


def writable_students(viewer: Viewer) -> list[tuple[int, str]]:
    """The students a new direct thread may be about: the viewer's children and own
    record (to write to their teachers), and for staff the students of the classes they
    teach or lead or of the schools they administer (to write to their guardians)."""
    ids = set(message_family_ids(viewer))
    if viewer.is_staff:
        class_ids = viewer.class_teacher_of | {class_id for class_id, _ in viewer.teaches}
        if viewer.school_admin_of:
            class_ids |= set(
                db.session.execute(
                    sa.select(SchoolClass.id).where(
                        SchoolClass.school_id.in_(viewer.school_admin_of)
                    )
                ).scalars()
            )
        ids |= {student.id for student in students_of_classes(class_ids)}
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(Student, SchoolClass)
        .outerjoin(
            Enrolment,
            sa.and_(Enrolment.student_id == Student.id, enrolment_open_on(clock.today())),
        )
        .outerjoin(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(Student.id.in_(ids))
        .order_by(SchoolClass.grade, SchoolClass.letter, Student.family_name, Student.given_name)
    ).all()
    seen: dict[int, str] = {}
    for student, school_class in rows:
        seen.setdefault(student.id, student_label(student, school_class))
    return list(seen.items())


def _teachers_of(school_class: SchoolClass) -> list[tuple[StaffMember, list[str]]]:
    """The class's subject teachers, class teacher and the school's administrators who
    have signed in, each with what they are to the class."""
    roles: dict[int, list[str]] = {}
    for teacher_id, subject in db.session.execute(
        sa.select(TeachingAssignment.teacher_id, TeachingAssignment.subject_id).where(
            TeachingAssignment.class_id == school_class.id
        )
    ).all():
        roles.setdefault(teacher_id, []).append(f"subject:{subject}")
    if school_class.class_teacher_id is not None:
        roles.setdefault(school_class.class_teacher_id, []).append("class_teacher")
    for admin_id in db.session.execute(
        sa.select(StaffRole.staff_id)
        .join(StaffMember, StaffMember.id == StaffRole.staff_id)
        .where(StaffRole.role == "school_admin", StaffMember.school_id == school_class.school_id)
    ).scalars():
        roles.setdefault(admin_id, []).append("admin")
    if not roles:
        return []
    members = db.session.execute(
        sa.select(StaffMember)
        .where(
            StaffMember.id.in_(roles),
            StaffMember.active.is_(True),
            StaffMember.person_id.is_not(None),
        )
        .order_by(StaffMember.family_name, StaffMember.given_name, StaffMember.id)
    ).scalars()
    return [(member, roles[member.id]) for member in members]


def _teacher_label(member: StaffMember, roles: list[str], subjects: dict[int, str]) -> str:
    what = []
    for role in roles:
        if role.startswith("subject:"):
            what.append(subjects.get(int(role.split(":", 1)[1]), ""))
        elif role == "class_teacher":
            what.append(str(_l("class teacher")))
        else:
            what.append(str(_l("school administration")))
    return f"{member.full_name} ({', '.join(w for w in what if w)})"


def recipient_choices(viewer: Viewer, student: Student) -> list[tuple[str, str]]:
    """Whom the viewer may write to about the student, as (key, label): the teachers of
    the student's class for its guardians and the student; the student's guardians (one
    or all of them) for staff who may message them. Forbidden for anyone else."""
    family = student.id in message_family_ids(viewer)
    staff = can_message_guardians_of(viewer, student)
    require(family or staff)
    me = viewer.person.id
    choices: dict[str, str] = {}
    if family:
        school_class = class_of(student)
        if school_class is not None:
            teachers = _teachers_of(school_class)
            subjects = _subject_names(
                {
                    int(role.split(":", 1)[1])
                    for _member, roles in teachers
                    for role in roles
                    if role.startswith("subject:")
                }
            )
            for member, roles in teachers:
                if member.person_id != me:
                    choices.setdefault(
                        str(member.person_id), _teacher_label(member, roles, subjects)
                    )
    if staff:
        guardians = [g for g in guardians_of({student.id}) if g.person_id != me]
        if len(guardians) > 1:
            choices[ALL_GUARDIANS] = str(_l("All guardians of the student"))
        kinds = {"parent": _l("parent"), "trusted": _l("trusted person")}
        for guardian in guardians:
            label = f"{guardian.full_name} ({kinds.get(guardian.kind, guardian.kind)})"
            choices.setdefault(str(guardian.person_id), label)
    return list(choices.items())


def _subject_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(sa.select(Subject.id, Subject.name).where(Subject.id.in_(ids))).all()
    )


def get_student(student_id: int) -> Student:
    student = db.session.get(Student, student_id)
    if student is None:
        raise NotFound()
    return student


def get_class(class_id: int) -> SchoolClass:
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None:
        raise NotFound()
    return school_class
