"""HTTP of the school room, its classes: the classes and their class teachers, teaching
assignments and subjects, students with their enrolments and guardians. The pages join
the school blueprint (school.views), whose helpers they use."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, request
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.access import (
    reach_of,
)
from diary_service.access.log import record_access
from diary_service.auth.current import current_viewer, login_required
from diary_service.models.family import Guardian
from diary_service.models.school import (
    School,
    SchoolClass,
    Student,
    TeachingAssignment,
)
from diary_service.school import forms, pages, services
from diary_service.school.base import FormErrors
from diary_service.school.timetable import Cell, TimetableErrors
from diary_service.school.views import bp

# --- classes --------------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/classes", methods=["GET", "POST"])
@login_required
def classes(school_id: int):
    school = pages.school(school_id)
    form = forms.ClassForm()
    form.year_id.choices = forms.choices(services.years_of(school.id), lambda y: y.name)
    form.class_teacher_id.choices = pages.teacher_choices(school.id, _l("— not yet —"))
    current = services.current_year(school.id)
    done = pages.saved(
        form,
        lambda: services.create_class(
            school.id,
            form.year_id.data,
            form.grade.data,
            form.letter.data,
            form.class_teacher_id.data,
        ),
        lambda _: pages.done("school.classes", school_id=school.id),
    )
    if done:
        return done
    if request.method == "GET" and current is not None:
        form.year_id.data = current.id
    return pages.render(
        "classes",
        school,
        pages.status(form),
        year=current,
        classes=services.classes_of(school.id),
        form=form,
    )


def _class_page(school: School, school_class: SchoolClass, status: int = 200, **given: Any):
    teacher = given.get("teacher_form") or forms.ClassTeacherForm(
        class_teacher_id=school_class.class_teacher_id
    )
    teacher.class_teacher_id.choices = pages.teacher_choices(school.id, _l("— none —"))
    return pages.render(
        "class",
        school,
        status,
        school_class=school_class,
        students=services.class_students(school_class.id),
        assignments=services.class_assignments(school_class.id),
        grid=services.timetable_of(school_class.id),
        weekdays=forms.WEEKDAY_LABELS,
        teacher_form=teacher,
    )


@bp.get("/school/<int:school_id>/classes/<int:class_id>")
@login_required
def class_detail(school_id: int, class_id: int):
    return _class_page(pages.school(school_id), pages.of_school(SchoolClass, class_id, school_id))


@bp.post("/school/<int:school_id>/classes/<int:class_id>/teacher")
@login_required
def class_teacher(school_id: int, class_id: int):
    school, school_class = (
        pages.school(school_id),
        pages.of_school(SchoolClass, class_id, school_id),
    )
    form = forms.ClassTeacherForm()
    form.class_teacher_id.choices = pages.teacher_choices(school.id, _l("— none —"))
    return pages.saved(
        form,
        lambda: services.set_class_teacher(school_class.id, form.class_teacher_id.data),
        lambda _: pages.done("school.class_detail", school_id=school.id, class_id=school_class.id),
    ) or _class_page(school, school_class, 400, teacher_form=form)


@bp.route("/school/<int:school_id>/classes/<int:class_id>/timetable", methods=["GET", "POST"])
@login_required
def timetable(school_id: int, class_id: int):
    school, school_class = (
        pages.school(school_id),
        pages.of_school(SchoolClass, class_id, school_id),
    )
    numbers = services.lesson_numbers(school.id)
    assignments = services.class_assignments(school_class.id)
    subjects = {a.subject.id: a.subject.name for a in assignments}
    teachers = {a.teacher.id: a.teacher.short_name for a in assignments}
    grid = services.timetable_of(school_class.id)
    form = forms.timetable_form(
        numbers,
        forms.pairs(subjects.items(), "—"),
        forms.pairs(teachers.items(), "—"),
        data={
            f"c{wd}_{n}_{part}": value
            for (wd, n), entry in grid.items()
            for part, value in (
                ("subject", entry.subject_id),
                ("teacher", entry.teacher_id),
                ("room", entry.room),
            )
        },
    )
    if form.validate_on_submit():
        cells = {
            (wd, n): Cell(
                form[f"c{wd}_{n}_subject"].data,
                form[f"c{wd}_{n}_teacher"].data,
                form[f"c{wd}_{n}_room"].data or "",
            )
            for wd in forms.WEEKDAY_LABELS
            for n in numbers
        }
        try:
            services.save_timetable(school_class.id, cells)
        except TimetableErrors as error:
            forms.show_timetable_errors(form, error)
        else:
            return pages.done("school.class_detail", school_id=school.id, class_id=school_class.id)
    return pages.render(
        "timetable",
        school,
        pages.status(form),
        school_class=school_class,
        form=form,
        numbers=numbers,
        weekdays=forms.WEEKDAY_LABELS,
        bells={bell.number: bell for bell in school.bells},
        has_assignments=bool(assignments),
    )


# --- teaching assignments and subjects ----------------------------------------------------


def _assignments_page(school: School, status: int = 200, **given: Any):
    form = given.get("form") or forms.AssignmentForm(prefix="a")
    form.class_id.choices = pages.class_choices(school.id)
    form.subject_id.choices = forms.choices(services.subjects(), lambda s: s.name)
    form.teacher_id.choices = pages.teacher_choices(school.id)
    return pages.render(
        "assignments",
        school,
        status,
        assignments=services.assignments_of(school.id),
        form=form,
        subject_form=given.get("subject_form") or forms.SubjectForm(prefix="subj"),
    )


@bp.get("/school/<int:school_id>/assignments")
@login_required
def assignments(school_id: int):
    return _assignments_page(pages.school(school_id))


@bp.post("/school/<int:school_id>/assignments")
@login_required
def add_assignment(school_id: int):
    school = pages.school(school_id)
    form = forms.AssignmentForm(prefix="a")
    form.class_id.choices = pages.class_choices(school.id)
    form.subject_id.choices = forms.choices(services.subjects(), lambda s: s.name)
    form.teacher_id.choices = pages.teacher_choices(school.id)
    if form.validate_on_submit():
        try:
            school_class = pages.of_school(SchoolClass, form.class_id.data, school.id)
            services.add_assignment(school_class.id, form.subject_id.data, form.teacher_id.data)
        except FormErrors as error:
            return _assignments_page(school, pages.failed(form, error), form=form)
        return pages.done("school.assignments", school_id=school.id)
    return _assignments_page(school, 400, form=form)


@bp.post("/school/<int:school_id>/assignments/<int:assignment_id>/remove")
@login_required
def remove_assignment(school_id: int, assignment_id: int):
    assignment = pages.of_school(TeachingAssignment, assignment_id, school_id)
    return pages.removed(
        lambda: services.remove_assignment(assignment.id), "school.assignments", school_id=school_id
    )


@bp.post("/school/<int:school_id>/subjects")
@login_required
def add_subject(school_id: int):
    school = pages.school(school_id)
    form = forms.SubjectForm(prefix="subj")
    return pages.saved(
        form,
        lambda: services.add_subject(form.name.data, form.short_name.data),
        lambda _: pages.done("school.assignments", school_id=school.id),
    ) or _assignments_page(school, 400, subject_form=form)


# --- students, enrolments, guardians ------------------------------------------------------


@bp.route("/school/<int:school_id>/students", methods=["GET", "POST"])
@login_required
def students(school_id: int):
    school = pages.school(school_id)
    form = forms.AdmitForm()
    form.class_id.choices = pages.class_choices(school.id)
    done = pages.saved(
        form,
        lambda: services.admit_student(
            school.id,
            form.family_name.data,
            form.given_name.data,
            form.middle_name.data,
            form.birth_date.data,
            form.snils.data,
            form.class_id.data,
            form.starts_on.data,
            form.note.data,
        ),
        lambda student: pages.done("school.student", school_id=school.id, student_id=student.id),
    )
    if done:
        return done
    if request.method == "GET":
        form.starts_on.data = clock.today()
    return pages.render(
        "students", school, pages.status(form), rows=services.students_of(school.id), form=form
    )


def _student_page(school: School, student: Student, status: int = 200, **given: Any):
    transfer = given.get("transfer_form") or forms.TransferForm(
        prefix="transfer", school_id=school.id
    )
    transfer.school_id.choices = pages.school_choices()
    # A former school sees the record card as it stood when the student left: the
    # enrolments up to their next school, the parents linked then; nothing later.
    left_on = reach_of(current_viewer(), student).ended_at_school(school.id)
    current, revoked = services.guardians_of(student.id, left_on)
    return pages.render(
        "student",
        school,
        status,
        student=student,
        enrolments=[e for e in student.enrolments if left_on is None or e.starts_on <= left_on],
        left_on=left_on,
        enrolled_here=student.school_id == school.id,
        enrolment=services.open_enrolment(student) if left_on is None else None,
        transfer_form=transfer,
        leave_form=given.get("leave_form") or forms.LeaveForm(prefix="leave"),
        guardian_form=given.get("guardian_form") or forms.GuardianForm(prefix="guardian"),
        guardians=current,
        revoked=revoked,
        reasons=forms.ENROLMENT_LABELS,
    )


def _student_here(school_id: int, student_id: int) -> tuple[School, Student]:
    """A student enrolled at the school now (the only ones it may move or link)."""
    school, student = pages.school(school_id), pages.of_school(Student, student_id, school_id)
    if student.school_id != school.id:
        abort(404)
    return school, student


@bp.get("/school/<int:school_id>/students/<int:student_id>")
@login_required
def student(school_id: int, student_id: int):
    school, found = pages.school(school_id), pages.of_school(Student, student_id, school_id)
    record_access(current_viewer(), [found.id], "school")
    return _student_page(school, found)


@bp.post("/school/<int:school_id>/students/<int:student_id>/transfer")
@login_required
def transfer_student(school_id: int, student_id: int):
    school, student = _student_here(school_id, student_id)
    form = forms.TransferForm(prefix="transfer")
    form.school_id.choices = pages.school_choices()
    return pages.saved(
        form,
        lambda: services.transfer_student(
            student.id, form.school_id.data, form.class_name.data, form.on.data, form.note.data
        ),
        lambda _: pages.done("school.student", school_id=school.id, student_id=student.id),
    ) or _student_page(school, student, 400, transfer_form=form)


@bp.post("/school/<int:school_id>/students/<int:student_id>/leave")
@login_required
def leave_student(school_id: int, student_id: int):
    school, student = _student_here(school_id, student_id)
    form = forms.LeaveForm(prefix="leave")
    return pages.saved(
        form,
        lambda: services.leave_student(student.id, form.on.data, form.note.data),
        lambda _: pages.done("school.student", school_id=school.id, student_id=student.id),
    ) or _student_page(school, student, 400, leave_form=form)


@bp.post("/school/<int:school_id>/students/<int:student_id>/guardians")
@login_required
def link_guardian(school_id: int, student_id: int):
    school, student = _student_here(school_id, student_id)
    form = forms.GuardianForm(prefix="guardian")
    return pages.saved(
        form,
        lambda: services.link_guardian(
            student.id,
            form.family_name.data,
            form.given_name.data,
            form.middle_name.data,
            form.snils.data,
            form.reason.data,
            pages.actor(school.id),
        ),
        lambda _: pages.done("school.student", school_id=school.id, student_id=student.id),
    ) or _student_page(school, student, 400, guardian_form=form)


@bp.post("/school/<int:school_id>/guardians/<int:guardian_id>/revoke")
@login_required
def revoke_guardian(school_id: int, guardian_id: int):
    guardian = pages.of_school(Guardian, guardian_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        try:
            services.revoke_guardian(guardian.id, pages.actor(school_id))
        except FormErrors as error:
            flash(error.message, "error")
    return pages.done("school.student", school_id=school_id, student_id=guardian.student_id)
