"""HTTP of the school room: the school administrator's pages under ``/school/<id>/``,
the health worker's absences page and the education department's region page.

Every page asks the access module (``can_manage_school``) or the school services'
predicates first; an id that does not exist is a 404, one of another school a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from diary_service.access import (
    can_manage_school,
    require,
)
from diary_service.auth.current import current_viewer, login_required
from diary_service.models.school import (
    AcademicYear,
    Bell,
    Holiday,
    Period,
    School,
    StaffMember,
)
from diary_service.school import forms, services
from diary_service.school.base import FormErrors

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


def _saved(form: Any, action: Callable[[], Any], done: Callable[[Any], Any]) -> Any:
    """The form-errors pattern, once: a submitted valid form runs ``action`` (a service
    call) and answers ``done(result)``; when the service refuses (``FormErrors``) its
    complaints go on the form's fields. None when nothing was saved: the caller shows
    the form again (400 where it has errors)."""
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except FormErrors as error:
        forms.show_errors(form, error)
        return None
    return done(result)


def _removed(action: Callable[[], Any], endpoint: str, **values: Any):
    """A remove button (the CSRF token only): run ``action``; a refusal is flashed, else
    "Saved."; back to ``endpoint`` either way."""
    if forms.EmptyForm().validate_on_submit():
        try:
            action()
        except FormErrors as error:
            flash(error.message, "error")
            return redirect(url_for(endpoint, **values))
    return _done(endpoint, **values)


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
    return _saved(
        form,
        lambda: services.add_municipality(form.name.data),
        lambda _: _done("school.region"),
    ) or _region_page(400, municipality_form=form)


@bp.post("/school/region/schools")
@login_required
def add_school():
    require(current_viewer().department)
    form = forms.SchoolForm(prefix="s")
    form.municipality_id.choices = forms.choices(services.municipalities(), lambda m: m.name)
    return _saved(
        form,
        lambda: services.add_school(
            form.municipality_id.data, form.name.data, form.short_name.data, form.address.data
        ),
        lambda _: _done("school.region"),
    ) or _region_page(400, school_form=form)


@bp.post("/school/region/subjects")
@login_required
def add_region_subject():
    require(current_viewer().department)
    form = forms.SubjectForm(prefix="subj")
    return _saved(
        form,
        lambda: services.add_subject(form.name.data, form.short_name.data),
        lambda _: _done("school.region"),
    ) or _region_page(400, subject_form=form)


# --- academic years, periods, holidays -----------------------------------------------------


@bp.route("/school/<int:school_id>/years", methods=["GET", "POST"])
@login_required
def years(school_id: int):
    school = _school(school_id)
    form = forms.YearForm()
    done = _saved(
        form,
        lambda: services.create_year(
            school.id,
            form.name.data,
            form.starts_on.data,
            form.ends_on.data,
            form.period_kind.data,
        ),
        lambda year: _done("school.year", school_id=school.id, year_id=year.id),
    )
    return done or _page(
        "years", school, _status(form), years=services.years_of(school.id), form=form
    )


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
    return _saved(
        form,
        lambda: services.add_period(year.id, form.starts_on.data, form.ends_on.data),
        lambda _: _done("school.year", school_id=school.id, year_id=year.id),
    ) or _year_page(school, year, 400, period_form=form)


@bp.post("/school/<int:school_id>/periods/<int:period_id>/remove")
@login_required
def remove_period(school_id: int, period_id: int):
    period = _of_school(Period, period_id, school_id)
    year_id = period.year_id
    return _removed(
        lambda: services.remove_period(period.id),
        "school.year",
        school_id=school_id,
        year_id=year_id,
    )


@bp.post("/school/<int:school_id>/years/<int:year_id>/holidays")
@login_required
def add_holiday(school_id: int, year_id: int):
    school, year = _school(school_id), _of_school(AcademicYear, year_id, school_id)
    form = forms.HolidayForm(prefix="holiday")
    return _saved(
        form,
        lambda: services.add_holiday(
            year.id, form.name.data, form.starts_on.data, form.ends_on.data
        ),
        lambda _: _done("school.year", school_id=school.id, year_id=year.id),
    ) or _year_page(school, year, 400, holiday_form=form)


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
    done = _saved(
        form,
        lambda: services.set_bell(
            school.id, form.number.data, form.starts_at.data, form.ends_at.data
        ),
        lambda _: _done("school.bells", school_id=school.id),
    )
    if done:
        return done
    if request.method == "GET":
        form.number.data = len(school.bells) + 1
    return _page("bells", school, _status(form), form=form)


@bp.post("/school/<int:school_id>/bells/<int:bell_id>/remove")
@login_required
def remove_bell(school_id: int, bell_id: int):
    bell = _of_school(Bell, bell_id, school_id)
    return _removed(lambda: services.remove_bell(bell.id), "school.bells", school_id=school_id)


# --- staff ----------------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/staff", methods=["GET", "POST"])
@login_required
def staff(school_id: int):
    school = _school(school_id)
    form = forms.StaffForm()
    done = _saved(
        form,
        lambda: services.add_staff(
            school.id,
            form.family_name.data,
            form.given_name.data,
            form.middle_name.data,
            form.snils.data,
            form.roles.data,
            form.position.data,
        ),
        lambda _: _done("school.staff", school_id=school.id),
    )
    if done:
        return done
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
    return _removed(
        lambda: services.set_active(member.id, active), "school.staff", school_id=school_id
    )
