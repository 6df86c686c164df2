"""What reports a viewer may open: their classes, schools and the region."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from diary_service.access import Viewer, can_view_student
from diary_service.extensions import db
from diary_service.models.school import (
    School,
    SchoolClass,
    Student,
    Subject,
    TeachingAssignment,
)
from diary_service.reports.base import current_year
from diary_service.reports.class_report import rating_enabled_for


@dataclass
class Overview:
    """The reports a viewer may open, for the reports' front page."""

    classes: list[SchoolClass] = field(default_factory=list)
    schools: list[School] = field(default_factory=list)
    region: bool = False
    ratings: list[Student] = field(default_factory=list)  # own / children, where ranked
    subjects: dict[int, list[Subject]] = field(default_factory=dict)  # class id → subjects


def overview(viewer: Viewer, today: date) -> Overview:
    """Their classes (led or taught; all classes of their school for an administrator),
    their schools (administrator), the region (department); families: the students
    whose place in the class rating they may see."""
    result = Overview(region=viewer.department)
    class_ids = set(viewer.class_teacher_of) | {class_id for class_id, _ in viewer.teaches}
    admin_years = [
        year.id
        for school_id in viewer.school_admin_of
        if (year := current_year(school_id, today)) is not None
    ]
    query = sa.select(SchoolClass).where(
        sa.or_(SchoolClass.id.in_(class_ids), SchoolClass.year_id.in_(admin_years))
    )
    classes = list(db.session.execute(query).scalars())
    result.classes = sorted(
        classes, key=lambda c: (-c.year.starts_on.toordinal(), c.school_id, c.grade, c.letter)
    )
    if viewer.department:
        schools_query = sa.select(School)
    else:
        schools_query = sa.select(School).where(School.id.in_(viewer.school_admin_of))
    result.schools = list(
        db.session.execute(schools_query.order_by(School.municipality_id, School.name)).scalars()
    )
    family = viewer.family_ids
    if family:
        # A trusted person's child only when their grant includes the marks.
        result.ratings = [
            student
            for student in db.session.execute(
                sa.select(Student)
                .where(Student.id.in_(family))
                .order_by(Student.family_name, Student.given_name)
            ).scalars()
            if rating_enabled_for(student) and can_view_student(viewer, student, "marks")
        ]
    if result.classes:
        taught = db.session.execute(
            sa.select(TeachingAssignment.class_id, Subject)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .where(TeachingAssignment.class_id.in_([c.id for c in result.classes]))
            .order_by(Subject.name)
        ).all()
        for class_id, subject in taught:
            subjects = result.subjects.setdefault(class_id, [])
            if subject not in subjects:
                subjects.append(subject)
    return result
