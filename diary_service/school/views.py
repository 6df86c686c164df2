"""HTTP of the school room: the school administrator's pages under ``/school/<id>/``,
the health worker's absences page and the education department's region page.

Every page asks the access module (``can_manage_school``) or the school services'
predicates first; an id that does not exist is a 404, one of another school a 403.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from diary_service.access import (
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
from diary_service.school import forms, pages, services
from diary_service.school.base import FormErrors

bp = Blueprint("school", __name__)

# The health worker's page shows at most this many days at once.
MAX_ATTENDANCE_DAYS = 93


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
    return pages.render("index", None, schools=schools, department=viewer.department)


@bp.get("/school/<int:school_id>/")
@login_required
def dashboard(school_id: int):
    school = pages.school(school_id)
    rating = forms.RatingForm(enabled=school.rating_enabled)
    return pages.render("dashboard", school, summary=services.summary(school.id), rating=rating)


@bp.post("/school/<int:school_id>/rating")
@login_required
def rating(school_id: int):
    school = pages.school(school_id)
    form = forms.RatingForm()
    if form.validate_on_submit():
        services.set_rating(school.id, form.enabled.data)
    return pages.done("school.dashboard", school_id=school.id)


# --- the region (education department) ---------------------------------------------------


def _region_page(status: int = 200, **given: Any):
    require(current_viewer().department)
    municipality = given.get("municipality_form") or forms.MunicipalityForm(prefix="m")
    school = given.get("school_form") or forms.SchoolForm(prefix="s")
    subject = given.get("subject_form") or forms.SubjectForm(prefix="subj")
    school.municipality_id.choices = forms.choices(services.municipalities(), lambda m: m.name)
    return pages.render(
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
    return pages.saved(
        form,
        lambda: services.add_municipality(form.name.data),
        lambda _: pages.done("school.region"),
    ) or _region_page(400, municipality_form=form)


@bp.post("/school/region/schools")
@login_required
def add_school():
    require(current_viewer().department)
    form = forms.SchoolForm(prefix="s")
    form.municipality_id.choices = forms.choices(services.municipalities(), lambda m: m.name)
    return pages.saved(
        form,
        lambda: services.add_school(
            form.municipality_id.data, form.name.data, form.short_name.data, form.address.data
        ),
        lambda _: pages.done("school.region"),
    ) or _region_page(400, school_form=form)


@bp.post("/school/region/subjects")
@login_required
def add_region_subject():
    require(current_viewer().department)
    form = forms.SubjectForm(prefix="subj")
    return pages.saved(
        form,
        lambda: services.add_subject(form.name.data, form.short_name.data),
        lambda _: pages.done("school.region"),
    ) or _region_page(400, subject_form=form)


# --- academic years, periods, holidays -----------------------------------------------------


@bp.route("/school/<int:school_id>/years", methods=["GET", "POST"])
@login_required
def years(school_id: int):
    school = pages.school(school_id)
    form = forms.YearForm()
    done = pages.saved(
        form,
        lambda: services.create_year(
            school.id,
            form.name.data,
            form.starts_on.data,
            form.ends_on.data,
            form.period_kind.data,
        ),
        lambda year: pages.done("school.year", school_id=school.id, year_id=year.id),
    )
    return done or pages.render(
        "years", school, pages.status(form), years=services.years_of(school.id), form=form
    )


def _year_page(school: School, year: AcademicYear, status: int = 200, **given: Any):
    return pages.render(
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
    return _year_page(pages.school(school_id), pages.of_school(AcademicYear, year_id, school_id))


@bp.post("/school/<int:school_id>/years/<int:year_id>/periods")
@login_required
def add_period(school_id: int, year_id: int):
    school, year = pages.school(school_id), pages.of_school(AcademicYear, year_id, school_id)
    form = forms.SpanForm(prefix="period")
    return pages.saved(
        form,
        lambda: services.add_period(year.id, form.starts_on.data, form.ends_on.data),
        lambda _: pages.done("school.year", school_id=school.id, year_id=year.id),
    ) or _year_page(school, year, 400, period_form=form)


@bp.post("/school/<int:school_id>/periods/<int:period_id>/remove")
@login_required
def remove_period(school_id: int, period_id: int):
    period = pages.of_school(Period, period_id, school_id)
    year_id = period.year_id
    return pages.removed(
        lambda: services.remove_period(period.id),
        "school.year",
        school_id=school_id,
        year_id=year_id,
    )


@bp.post("/school/<int:school_id>/years/<int:year_id>/holidays")
@login_required
def add_holiday(school_id: int, year_id: int):
    school, year = pages.school(school_id), pages.of_school(AcademicYear, year_id, school_id)
    form = forms.HolidayForm(prefix="holiday")
    return pages.saved(
        form,
        lambda: services.add_holiday(
            year.id, form.name.data, form.starts_on.data, form.ends_on.data
        ),
        lambda _: pages.done("school.year", school_id=school.id, year_id=year.id),
    ) or _year_page(school, year, 400, holiday_form=form)


@bp.post("/school/<int:school_id>/holidays/<int:holiday_id>/remove")
@login_required
def remove_holiday(school_id: int, holiday_id: int):
    holiday = pages.of_school(Holiday, holiday_id, school_id)
    year_id = holiday.year_id
    if forms.EmptyForm().validate_on_submit():
        services.remove_holiday(holiday.id)
    return pages.done("school.year", school_id=school_id, year_id=year_id)


# --- bells ----------------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/bells", methods=["GET", "POST"])
@login_required
def bells(school_id: int):
    school = pages.school(school_id)
    form = forms.BellForm()
    done = pages.saved(
        form,
        lambda: services.set_bell(
            school.id, form.number.data, form.starts_at.data, form.ends_at.data
        ),
        lambda _: pages.done("school.bells", school_id=school.id),
    )
    if done:
        return done
    if request.method == "GET":
        form.number.data = len(school.bells) + 1
    return pages.render("bells", school, pages.status(form), form=form)


@bp.post("/school/<int:school_id>/bells/<int:bell_id>/remove")
@login_required
def remove_bell(school_id: int, bell_id: int):
    bell = pages.of_school(Bell, bell_id, school_id)
    return pages.removed(lambda: services.remove_bell(bell.id), "school.bells", school_id=school_id)


# --- staff ----------------------------------------------------------------------------------


@bp.route("/school/<int:school_id>/staff", methods=["GET", "POST"])
@login_required
def staff(school_id: int):
    school = pages.school(school_id)
    form = forms.StaffForm()
    done = pages.saved(
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
        lambda _: pages.done("school.staff", school_id=school.id),
    )
    if done:
        return done
    members = services.staff_of(school.id)
    return pages.render(
        "staff",
        school,
        pages.status(form),
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
    member = pages.of_school(StaffMember, staff_id, school_id)
    form = forms.RolesForm(prefix=f"r{member.id}")
    if form.validate_on_submit():
        try:
            services.set_roles(member.id, form.roles.data)
        except FormErrors as error:
            flash(error.message, "error")
            return redirect(url_for("school.staff", school_id=school_id))
        return pages.done("school.staff", school_id=school_id)
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
    member = pages.of_school(StaffMember, staff_id, school_id)
    return pages.removed(
        lambda: services.set_active(member.id, active), "school.staff", school_id=school_id
    )
