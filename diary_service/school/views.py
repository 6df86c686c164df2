"""HTTP of the school room: the school administrator's pages under ``/school/<id>/``,
the health worker's absences page and the education department's region page.

Every page asks the access module (``can_manage_school``) or the school services'
predicates first; an id that does not exist is a 404, one of another school a 403.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from diary_service.access import (
    can_manage_school,
    can_view_school_attendance,
    reach_of,
    require,
)
from diary_service.auth.current import current_viewer, login_required
from diary_service.family.audit import record_access
from diary_service.family.models import Guardian
from diary_service.journal.models import MARK_KINDS
from diary_service.school import forms, roster, services
from diary_service.school.models import (
    AcademicYear,
    Bell,
    Holiday,
    Notice,
    ParentMeeting,
    Period,
    School,
    SchoolClass,
    StaffMember,
    Student,
    TeachingAssignment,
    TimetableChange,
)
from diary_service.school.services import Cell, FormErrors, TimetableErrors
from shared.web import date_arg

bp = Blueprint("school", __name__)

# The health worker's page shows at most this many days at once.
MAX_ATTENDANCE_DAYS = 93
SAVED = _l("Saved.")


# --- helpers ------------------------------------------------------------------------------


def _school(school_id: int) -> School:
    """The school, if the viewer administers it."""
    school = services.get_school(school_id)
    require(can_manage_school(current_viewer(), school.id))
    return school


def _of_school(model: type, object_id: int, school_id: int) -> Any:
    """A row of the school the viewer administers (404 if it does not exist)."""
    found = services.get(model, object_id)
    require(
        can_manage_school(current_viewer(), school_id) and services.belongs_to(found, school_id)
    )
    return found


def _actor(school_id: int) -> int | None:
    member = current_viewer().staff_at(school_id)
    return member.id if member else None


def _page(template: str, school: School | None, status: int = 200, **context: Any):
    return render_template(f"school/{template}.html", school=school, **context), status


def _failed(form: Any, error: FormErrors) -> int:
    forms.show_errors(form, error)
    return 400


def _status(form: Any) -> int:
    return 400 if form.errors or form.form_errors else 200


def _class_choices(school_id: int, empty: Any = None) -> list:
    return forms.choices(services.classes_of(school_id), lambda c: c.name, empty)


def _teacher_choices(school_id: int, empty: Any = None) -> list:
    return forms.choices(services.teachers_of(school_id), lambda m: m.full_name, empty)


def _school_choices() -> list:
    return forms.choices(services.schools(), lambda s: f"{s.name} ({s.municipality.name})")


def _done(endpoint: str, **values: Any):
    flash(SAVED, "info")
    return redirect(url_for(endpoint, **values))


# --- the way in -----------------------------------------------------------------------------


@bp.get("/school/")
@login_required
def index():
    """One school: straight to its page; several: a list; the department: the region."""
    viewer = current_viewer()
    schools = services.schools_for(viewer)
    if not schools and viewer.department:
        return redirect(url_for("school.region"))
    require(bool(schools))
    if len(schools) == 1 and not viewer.department:
        school, administers, _health = schools[0]
        endpoint = "school.dashboard" if administers else "school.attendance"
        return redirect(url_for(endpoint, school_id=school.id))
    return _page("index", None, schools=schools, department=viewer.department)


@bp.get("/school/<int:school_id>/")
@login_required
def dashboard(school_id: int):
    school = _school(school_id)
    rating = forms.RatingForm(enabled=school.rating_enabled)
    return _page("dashboard", school, summary=services.summary(school.id), rating=rating)


@bp.post("/school/<int:school_id>/rating")
@login_required
def rating(school_id: int):
    school = _school(school_id)
    form = forms.RatingForm()
    if form.validate_on_submit():
        services.set_rating(school.id, form.enabled.data)
    return _done("school.dashboard", school_id=school.id)


# --- the region (education department) ---------------------------------------------------


def _region_page(status: int = 200, **given: Any):
    require(current_viewer().department)
    municipality = given.get("municipality_form") or forms.MunicipalityForm(prefix="m")
    school = given.get("school_form") or forms.SchoolForm(prefix="s")
    subject = given.get("subject_form") or forms.SubjectForm(prefix="subj")
    school.municipality_id.choices = forms.choices(services.municipalities(), lambda m: m.name)
    return _page(
        "region",
        None,
        status,
        municipalities=services.municipalities(),
        subjects=services.subjects(),
        municipality_form=municipality,
        school_form=school,
        subject_form=subject,
    )


@bp.get("/school/region")
@login_required
def region():
    return _region_page()


@bp.post("/school/region/municipalities")
@login_required
def add_municipality():
    require(current_viewer().department)
    form = forms.MunicipalityForm(prefix="m")
    if form.validate_on_submit():
        try:
            services.add_municipality(form.name.data)
        except FormErrors as error:
            return _region_page(_failed(form, error), municipality_form=form)
        return _done("school.region")
    return _region_page(400, municipality_form=form)


@bp.post("/school/region/schools")
@login_required
def add_school():
    require(current_viewer().department)
    form = forms.SchoolForm(prefix="s")
    form.municipality_id.choices = forms.choices(services.municipalities(), lambda m: m.name)
    if form.validate_on_submit():
        try:
            services.add_school(
                form.municipality_id.data, form.name.data, form.short_name.data, form.address.data
            )
        except FormErrors as error:
            return _region_page(_failed(form, error), school_form=form)
        return _done("school.region")
    return _region_page(400, school_form=form)


@bp.post("/school/region/subjects")
@login_required
def add_region_subject():
    require(current_viewer().department)
    form = forms.SubjectForm(prefix="subj")
    if form.validate_on_submit():
        try:
            services.add_subject(form.name.data, form.short_name.data)
        except FormErrors as error:
            return _region_page(_failed(form, error), subject_form=form)
        return _done("school.region")
    return _region_page(400, subject_form=form)


# --- academic years, periods, holidays -----------------------------------------------------


@bp.route("/school/<int:school_id>/years", methods=["GET", "POST"])
@login_required
def years(school_id: int):
    school = _school(school_id)
    form = forms.YearForm()
    if form.validate_on_submit():
        try:
            year = services.create_year(
                school.id,
                form.name.data,
                form.starts_on.data,
                form.ends_on.data,
                form.period_kind.data,
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.year", school_id=school.id, year_id=year.id)
    return _page("years", school, _status(form), years=services.years_of(school.id), form=form)


def _year_page(school: School, year: AcademicYear, status: int = 200, **given: Any):
    return _page(
        "year",
        school,
        status,
        year=year,
        period_form=given.get("period_form") or forms.SpanForm(prefix="period"),
        holiday_form=given.get("holiday_form") or forms.HolidayForm(prefix="holiday"),
        periods_left=services.PERIODS_PER_YEAR[year.period_kind] - len(year.periods),
    )


@bp.get("/school/<int:school_id>/years/<int:year_id>")
@login_required
def year(school_id: int, year_id: int):
    return _year_page(_school(school_id), _of_school(AcademicYear, year_id, school_id))


@bp.post("/school/<int:school_id>/years/<int:year_id>/periods")
@login_required
def add_period(school_id: int, year_id: int):
    school, year = _school(school_id), _of_school(AcademicYear, year_id, school_id)
    form = forms.SpanForm(prefix="period")
    if form.validate_on_submit():
        try:
            services.add_period(year.id, form.starts_on.data, form.ends_on.data)
        except FormErrors as error:
            return _year_page(school, year, _failed(form, error), period_form=form)
        return _done("school.year", school_id=school.id, year_id=year.id)
    return _year_page(school, year, 400, period_form=form)


@bp.post("/school/<int:school_id>/periods/<int:period_id>/remove")
@login_required
def remove_period(school_id: int, period_id: int):
    period = _of_school(Period, period_id, school_id)
    year_id = period.year_id
    if forms.EmptyForm().validate_on_submit():
        try:
            services.remove_period(period.id)
        except FormErrors as error:
            flash(error.message, "error")
            return redirect(url_for("school.year", school_id=school_id, year_id=year_id))
    return _done("school.year", school_id=school_id, year_id=year_id)


@bp.post("/school/<int:school_id>/years/<int:year_id>/holidays")
@login_required
def add_holiday(school_id: int, year_id: int):
    school, year = _school(school_id), _of_school(AcademicYear, year_id, school_id)
    form = forms.HolidayForm(prefix="holiday")
    if form.validate_on_submit():
        try:
            services.add_holiday(year.id, form.name.data, form.starts_on.data, form.ends_on.data)
        except FormErrors as error:
            return _year_page(school, year, _failed(form, error), holiday_form=form)
        return _done("school.year", school_id=school.id, year_id=year.id)
    return _year_page(school, year, 400, holiday_form=form)


@bp.post("/school/<int:school_id>/holidays/<int:holiday_id>/remove")
@login_required
def remove_holiday(school_id: int, holiday_id: int):
    holiday = _of_school(Holiday, holiday_id, school_id)
    year_id = holiday.year_id
    if forms.EmptyForm().validate_on_submit():
        services.remove_holiday(holiday.id)
    return _done("school.year", school_id=school_id, year_id=year_id)


# --- bells ----------------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/bells", methods=["GET", "POST"])
@login_required
def bells(school_id: int):
    school = _school(school_id)
    form = forms.BellForm()
    if form.validate_on_submit():
        try:
            services.set_bell(school.id, form.number.data, form.starts_at.data, form.ends_at.data)
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.bells", school_id=school.id)
    elif request.method == "GET":
        form.number.data = len(school.bells) + 1
    return _page("bells", school, _status(form), form=form)


@bp.post("/school/<int:school_id>/bells/<int:bell_id>/remove")
@login_required
def remove_bell(school_id: int, bell_id: int):
    bell = _of_school(Bell, bell_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        try:
            services.remove_bell(bell.id)
        except FormErrors as error:
            flash(error.message, "error")
            return redirect(url_for("school.bells", school_id=school_id))
    return _done("school.bells", school_id=school_id)


# --- staff ----------------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/staff", methods=["GET", "POST"])
@login_required
def staff(school_id: int):
    school = _school(school_id)
    form = forms.StaffForm()
    if form.validate_on_submit():
        try:
            services.add_staff(
                school.id,
                form.family_name.data,
                form.given_name.data,
                form.middle_name.data,
                form.snils.data,
                form.roles.data,
                form.position.data,
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.staff", school_id=school.id)
    members = services.staff_of(school.id)
    return _page(
        "staff",
        school,
        _status(form),
        members=members,
        form=form,
        role_forms={
            m.id: forms.RolesForm(formdata=None, prefix=f"r{m.id}", roles=sorted(m.role_names))
            for m in members
        },
        role_labels=forms.ROLE_LABELS,
    )


@bp.post("/school/<int:school_id>/staff/<int:staff_id>/roles")
@login_required
def staff_roles(school_id: int, staff_id: int):
    member = _of_school(StaffMember, staff_id, school_id)
    form = forms.RolesForm(prefix=f"r{member.id}")
    if form.validate_on_submit():
        try:
            services.set_roles(member.id, form.roles.data)
        except FormErrors as error:
            flash(error.message, "error")
            return redirect(url_for("school.staff", school_id=school_id))
        return _done("school.staff", school_id=school_id)
    flash(_l("Choose at least one role."), "error")
    return redirect(url_for("school.staff", school_id=school_id))


@bp.post("/school/<int:school_id>/staff/<int:staff_id>/deactivate")
@login_required
def deactivate_staff(school_id: int, staff_id: int):
    return _set_active(school_id, staff_id, False)


@bp.post("/school/<int:school_id>/staff/<int:staff_id>/reactivate")
@login_required
def reactivate_staff(school_id: int, staff_id: int):
    return _set_active(school_id, staff_id, True)


def _set_active(school_id: int, staff_id: int, active: bool):
    member = _of_school(StaffMember, staff_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        try:
            services.set_active(member.id, active)
        except FormErrors as error:
            flash(error.message, "error")
            return redirect(url_for("school.staff", school_id=school_id))
    return _done("school.staff", school_id=school_id)


# --- classes --------------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/classes", methods=["GET", "POST"])
@login_required
def classes(school_id: int):
    school = _school(school_id)
    form = forms.ClassForm()
    form.year_id.choices = forms.choices(services.years_of(school.id), lambda y: y.name)
    form.class_teacher_id.choices = _teacher_choices(school.id, _l("— not yet —"))
    current = services.current_year(school.id)
    if form.validate_on_submit():
        try:
            services.create_class(
                school.id,
                form.year_id.data,
                form.grade.data,
                form.letter.data,
                form.class_teacher_id.data,
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.classes", school_id=school.id)
    elif request.method == "GET" and current is not None:
        form.year_id.data = current.id
    return _page(
        "classes",
        school,
        _status(form),
        year=current,
        classes=services.classes_of(school.id),
        form=form,
    )


def _class_page(school: School, school_class: SchoolClass, status: int = 200, **given: Any):
    teacher = given.get("teacher_form") or forms.ClassTeacherForm(
        class_teacher_id=school_class.class_teacher_id
    )
    teacher.class_teacher_id.choices = _teacher_choices(school.id, _l("— none —"))
    return _page(
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
    return _class_page(_school(school_id), _of_school(SchoolClass, class_id, school_id))


@bp.post("/school/<int:school_id>/classes/<int:class_id>/teacher")
@login_required
def class_teacher(school_id: int, class_id: int):
    school, school_class = _school(school_id), _of_school(SchoolClass, class_id, school_id)
    form = forms.ClassTeacherForm()
    form.class_teacher_id.choices = _teacher_choices(school.id, _l("— none —"))
    if form.validate_on_submit():
        try:
            services.set_class_teacher(school_class.id, form.class_teacher_id.data)
        except FormErrors as error:
            return _class_page(school, school_class, _failed(form, error), teacher_form=form)
        return _done("school.class_detail", school_id=school.id, class_id=school_class.id)
    return _class_page(school, school_class, 400, teacher_form=form)


@bp.route("/school/<int:school_id>/classes/<int:class_id>/timetable", methods=["GET", "POST"])
@login_required
def timetable(school_id: int, class_id: int):
    school, school_class = _school(school_id), _of_school(SchoolClass, class_id, school_id)
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
            return _done("school.class_detail", school_id=school.id, class_id=school_class.id)
    return _page(
        "timetable",
        school,
        _status(form),
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
    form.class_id.choices = _class_choices(school.id)
    form.subject_id.choices = forms.choices(services.subjects(), lambda s: s.name)
    form.teacher_id.choices = _teacher_choices(school.id)
    return _page(
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
    return _assignments_page(_school(school_id))


@bp.post("/school/<int:school_id>/assignments")
@login_required
def add_assignment(school_id: int):
    school = _school(school_id)
    form = forms.AssignmentForm(prefix="a")
    form.class_id.choices = _class_choices(school.id)
    form.subject_id.choices = forms.choices(services.subjects(), lambda s: s.name)
    form.teacher_id.choices = _teacher_choices(school.id)
    if form.validate_on_submit():
        try:
            school_class = _of_school(SchoolClass, form.class_id.data, school.id)
            services.add_assignment(school_class.id, form.subject_id.data, form.teacher_id.data)
        except FormErrors as error:
            return _assignments_page(school, _failed(form, error), form=form)
        return _done("school.assignments", school_id=school.id)
    return _assignments_page(school, 400, form=form)


@bp.post("/school/<int:school_id>/assignments/<int:assignment_id>/remove")
@login_required
def remove_assignment(school_id: int, assignment_id: int):
    assignment = _of_school(TeachingAssignment, assignment_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        try:
            services.remove_assignment(assignment.id)
        except FormErrors as error:
            flash(error.message, "error")
            return redirect(url_for("school.assignments", school_id=school_id))
    return _done("school.assignments", school_id=school_id)


@bp.post("/school/<int:school_id>/subjects")
@login_required
def add_subject(school_id: int):
    school = _school(school_id)
    form = forms.SubjectForm(prefix="subj")
    if form.validate_on_submit():
        try:
            services.add_subject(form.name.data, form.short_name.data)
        except FormErrors as error:
            return _assignments_page(school, _failed(form, error), subject_form=form)
        return _done("school.assignments", school_id=school.id)
    return _assignments_page(school, 400, subject_form=form)


# --- students, enrolments, guardians ------------------------------------------------------


@bp.route("/school/<int:school_id>/students", methods=["GET", "POST"])
@login_required
def students(school_id: int):
    school = _school(school_id)
    form = forms.AdmitForm()
    form.class_id.choices = _class_choices(school.id)
    if form.validate_on_submit():
        try:
            student = services.admit_student(
                school.id,
                form.family_name.data,
                form.given_name.data,
                form.middle_name.data,
                form.birth_date.data,
                form.snils.data,
                form.class_id.data,
                form.starts_on.data,
                form.note.data,
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.student", school_id=school.id, student_id=student.id)
    elif request.method == "GET":
        form.starts_on.data = date.today()
    return _page("students", school, _status(form), rows=services.students_of(school.id), form=form)


def _student_page(school: School, student: Student, status: int = 200, **given: Any):
    transfer = given.get("transfer_form") or forms.TransferForm(
        prefix="transfer", school_id=school.id
    )
    transfer.school_id.choices = _school_choices()
    # A former school sees the record card as it stood when the student left: the
    # enrolments up to their next school, the parents linked then; nothing later.
    left_on = reach_of(current_viewer(), student).ended_at_school(school.id)
    current, revoked = services.guardians_of(student.id, left_on)
    return _page(
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
    school, student = _school(school_id), _of_school(Student, student_id, school_id)
    if student.school_id != school.id:
        abort(404)
    return school, student


@bp.get("/school/<int:school_id>/students/<int:student_id>")
@login_required
def student(school_id: int, student_id: int):
    school, found = _school(school_id), _of_school(Student, student_id, school_id)
    record_access(current_viewer(), [found.id], "school")
    return _student_page(school, found)


@bp.post("/school/<int:school_id>/students/<int:student_id>/transfer")
@login_required
def transfer_student(school_id: int, student_id: int):
    school, student = _student_here(school_id, student_id)
    form = forms.TransferForm(prefix="transfer")
    form.school_id.choices = _school_choices()
    if form.validate_on_submit():
        try:
            services.transfer_student(
                student.id, form.school_id.data, form.class_name.data, form.on.data, form.note.data
            )
        except FormErrors as error:
            return _student_page(school, student, _failed(form, error), transfer_form=form)
        return _done("school.student", school_id=school.id, student_id=student.id)
    return _student_page(school, student, 400, transfer_form=form)


@bp.post("/school/<int:school_id>/students/<int:student_id>/leave")
@login_required
def leave_student(school_id: int, student_id: int):
    school, student = _student_here(school_id, student_id)
    form = forms.LeaveForm(prefix="leave")
    if form.validate_on_submit():
        try:
            services.leave_student(student.id, form.on.data, form.note.data)
        except FormErrors as error:
            return _student_page(school, student, _failed(form, error), leave_form=form)
        return _done("school.student", school_id=school.id, student_id=student.id)
    return _student_page(school, student, 400, leave_form=form)


@bp.post("/school/<int:school_id>/students/<int:student_id>/guardians")
@login_required
def link_guardian(school_id: int, student_id: int):
    school, student = _student_here(school_id, student_id)
    form = forms.GuardianForm(prefix="guardian")
    if form.validate_on_submit():
        try:
            services.link_guardian(
                student.id,
                form.family_name.data,
                form.given_name.data,
                form.middle_name.data,
                form.snils.data,
                form.reason.data,
                _actor(school.id),
            )
        except FormErrors as error:
            return _student_page(school, student, _failed(form, error), guardian_form=form)
        return _done("school.student", school_id=school.id, student_id=student.id)
    return _student_page(school, student, 400, guardian_form=form)


@bp.post("/school/<int:school_id>/guardians/<int:guardian_id>/revoke")
@login_required
def revoke_guardian(school_id: int, guardian_id: int):
    guardian = _of_school(Guardian, guardian_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        try:
            services.revoke_guardian(guardian.id, _actor(school_id))
        except FormErrors as error:
            flash(error.message, "error")
    return _done("school.student", school_id=school_id, student_id=guardian.student_id)


# --- timetable changes, notices, meetings -------------------------------------------------


@bp.route("/school/<int:school_id>/changes", methods=["GET", "POST"])
@login_required
def changes(school_id: int):
    school = _school(school_id)
    on = date_arg("on", date.today())
    form = forms.ChangeForm(on_date=on)
    form.class_id.choices = _class_choices(school.id)
    form.lesson_number.choices = forms.pairs(
        (n, str(n)) for n in services.lesson_numbers(school.id)
    )
    form.substitute_id.choices = _teacher_choices(school.id, "—")
    if form.validate_on_submit():
        try:
            school_class = _of_school(SchoolClass, form.class_id.data, school.id)
            services.add_change(
                school_class.id,
                form.on_date.data,
                form.lesson_number.data,
                form.kind.data,
                form.substitute_id.data,
                form.room.data,
                form.note.data,
                _actor(school.id),
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.changes", school_id=school.id, on=form.on_date.data.isoformat())
    return _page(
        "changes",
        school,
        _status(form),
        on=on,
        rows=services.changes_on(school.id, on),
        form=form,
        kinds=forms.CHANGE_LABELS,
        weekday=forms.WEEKDAY_LABELS.get(on.isoweekday()),
    )


@bp.post("/school/<int:school_id>/changes/<int:change_id>/remove")
@login_required
def remove_change(school_id: int, change_id: int):
    change = _of_school(TimetableChange, change_id, school_id)
    on = change.on_date.isoformat()
    if forms.EmptyForm().validate_on_submit():
        services.remove_change(change.id)
    return _done("school.changes", school_id=school_id, on=on)


@bp.route("/school/<int:school_id>/notices", methods=["GET", "POST"])
@login_required
def notices(school_id: int):
    school = _school(school_id)
    form = forms.NoticeForm()
    form.class_id.choices = _class_choices(school.id, _l("the whole school"))
    if form.validate_on_submit():
        try:
            services.add_notice(
                school.id,
                form.class_id.data,
                form.kind.data,
                form.title.data,
                form.body.data,
                form.starts_on.data,
                form.ends_on.data,
                _actor(school.id),
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.notices", school_id=school.id)
    elif request.method == "GET":
        form.starts_on.data = date.today()
    return _page(
        "notices",
        school,
        _status(form),
        notices=services.notices_of(school.id),
        form=form,
        kinds=forms.NOTICE_LABELS,
    )


@bp.post("/school/<int:school_id>/notices/<int:notice_id>/remove")
@login_required
def remove_notice(school_id: int, notice_id: int):
    notice = _of_school(Notice, notice_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        services.remove_notice(notice.id)
    return _done("school.notices", school_id=school_id)


@bp.route("/school/<int:school_id>/meetings", methods=["GET", "POST"])
@login_required
def meetings(school_id: int):
    school = _school(school_id)
    form = forms.MeetingForm()
    form.class_id.choices = _class_choices(school.id)
    if form.validate_on_submit():
        try:
            services.add_meeting(
                school.id,
                form.class_id.data,
                form.held_at.data,
                form.place.data,
                form.agenda.data,
                _actor(school.id),
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.meetings", school_id=school.id)
    return _page(
        "meetings",
        school,
        _status(form),
        meetings=services.meetings_of(school.id),
        form=form,
        now=datetime.now(),
    )


@bp.post("/school/<int:school_id>/meetings/<int:meeting_id>/remove")
@login_required
def remove_meeting(school_id: int, meeting_id: int):
    meeting = _of_school(ParentMeeting, meeting_id, school_id)
    if forms.EmptyForm().validate_on_submit():
        services.remove_meeting(meeting.id)
    return _done("school.meetings", school_id=school_id)


# --- the mark policy ------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/policy", methods=["GET", "POST"])
@login_required
def policy(school_id: int):
    school = _school(school_id)
    versions = services.policies_of(school.id)
    form = forms.PolicyForm()
    if form.validate_on_submit():
        try:
            services.new_policy(
                school.id, form.weights, form.average.data, form.thresholds, _actor(school.id)
            )
        except FormErrors as error:
            forms.show_errors(form, error)
        else:
            return _done("school.policy", school_id=school.id)
    elif request.method == "GET" and versions:
        latest = versions[0]
        form.average.data = latest.average
        for kind in MARK_KINDS:
            form[f"weight_{kind}"].data = int(latest.weights.get(kind, 1))
        for mark in ("5", "4", "3"):
            form[f"threshold_{mark}"].data = Decimal(str(latest.thresholds.get(mark, "0")))
    return _page(
        "policy",
        school,
        _status(form),
        versions=versions,
        form=form,
        kinds=MARK_KINDS,
        kind_labels=forms.MARK_KIND_LABELS,
        averages=forms.AVERAGE_LABELS,
    )


# --- roster import --------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/import", methods=["GET", "POST"])
@login_required
def roster_import(school_id: int):
    school = _school(school_id)
    form = forms.ImportForm()
    report, status = None, 200
    if form.validate_on_submit():
        try:
            report = roster.import_roster(school.id, form.kind.data, form.file.data.read())
        except roster.RosterRejected as rejected:
            report, status = rejected.report, 400
            form.form_errors.append(rejected.message)
    elif form.errors:
        status = 400
    return _page(
        "import",
        school,
        status,
        form=form,
        report=report,
        columns=roster.COLUMNS,
        russian=roster.RUSSIAN_NAMES,
        kinds=forms.KIND_LABELS,
        role_labels=forms.ROLE_LABELS,
    )


@bp.get("/school/<int:school_id>/import/<kind>.csv")
@login_required
def roster_template(school_id: int, kind: str):
    _school(school_id)
    if kind not in roster.KINDS:
        abort(404)
    return Response(
        roster.template_csv(kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={kind}.csv"},
    )


# --- the health worker's absences ---------------------------------------------------------


@bp.get("/school/<int:school_id>/attendance")
@login_required
def attendance(school_id: int):
    school = services.get_school(school_id)
    require(can_view_school_attendance(current_viewer(), school.id))
    end = date_arg("to", date.today())
    start = date_arg("from", end - timedelta(days=13))
    start = max(start, end - timedelta(days=MAX_ATTENDANCE_DAYS))
    return _page(
        "attendance",
        school,
        rows=services.absences(school.id, start, end),
        start=start,
        end=end,
        codes=forms.ATTENDANCE_LABELS,
        administers=can_manage_school(current_viewer(), school.id),
    )
