"""HTTP of service applications: the school administrator's list of their school's
applications from the portal (``/school/<id>/applications``), one application's page
(``/applications/<id>``) and the three steps: take into work, approve, refuse.

Only the administrators of the application's school see and decide it (403 for anyone
else; 404 for an id that does not exist). Looking at an application changes nothing:
"take into work" is an explicit button (a GET may be prefetched, and a look is not yet
work the citizen should be told about), and an administrator may approve or refuse a
new application straight away.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from diary_service.access import can_manage_school, require
from diary_service.applications import arrival  # noqa: F401  (registers the portal's "application.submitted" handler)
from diary_service.applications import services as applications
from diary_service.applications.forms import ApproveForm, RefuseForm, TakeForm
from diary_service.auth.current import current_viewer, login_required
from diary_service.family import links
from diary_service.models.family import Application
from diary_service.models.school import StaffMember
from shared.errors import ValidationError
from shared.sessions import utcnow
from shared.workdays import local_day

bp = Blueprint("applications", __name__)

STATUS_LABELS = {
    "received": _l("new"),
    "in_progress": _l("in work"),
    "done": _l("approved"),
    "refused": _l("refused"),
}


@bp.app_template_global()
def open_applications_count() -> int:
    """For the menu: applications waiting in the schools the viewer administers."""
    return applications.open_count(current_viewer().school_admin_of)


def _today() -> date:
    """Today in the region: terms are counted in its working days."""
    return local_day(utcnow(), current_app.config["NOTIFY_TIMEZONE"])


def _application(application_id: int) -> Application:
    """The application (404 if none), if the viewer administers its school (else 403)."""
    application = applications.get_application(application_id)
    require(can_manage_school(current_viewer(), application.school_id))
    return application


def _staff(application: Application) -> StaffMember:
    """The viewer's staff record at the application's school: who decided."""
    member = current_viewer().staff_at(application.school_id)
    require(member is not None)
    return member


@bp.get("/applications/")
@login_required
def index():
    """One school: straight to its applications; several: the schools with counts."""
    viewer = current_viewer()
    schools = links.administered_schools(viewer)
    require(bool(schools))
    if len(schools) == 1:
        return redirect(url_for("applications.school_list", school_id=schools[0].id))
    return render_template(
        "family/applications_index.html",
        schools=schools,
        counts=applications.open_counts(viewer.school_admin_of),
    )


@bp.get("/school/<int:school_id>/applications")
@login_required
def school_list(school_id: int):
    school = links.get_school(school_id)
    require(can_manage_school(current_viewer(), school.id))
    return render_template(
        "family/applications.html",
        school=school,
        rows=applications.school_applications(school.id, _today()),
        statuses=STATUS_LABELS,
    )


def _detail(
    application: Application,
    approve_form: ApproveForm | None = None,
    refuse_form: RefuseForm | None = None,
    error: str | None = None,
    status: int = 200,
):
    today = _today()
    candidates = applications.candidates(application, today)
    approve_form = approve_form or ApproveForm(
        formdata=None, student=application.student_id or None
    )
    _offer(approve_form, candidates)
    return render_template(
        "family/applications_detail.html",
        school=application.school,
        application=application,
        candidates=candidates,
        matched=application.student,
        days_left=applications.working_days_left(today, application.deadline),
        overdue=applications.is_overdue(application, today),
        take_form=TakeForm(formdata=None),
        approve_form=approve_form,
        refuse_form=refuse_form or RefuseForm(formdata=None),
        statuses=STATUS_LABELS,
        error=error,
    ), status


def _offer(form: ApproveForm, candidates: list[applications.Candidate]) -> None:
    form.student.choices = [SelectChoice("", _("— choose —"))] + [
        SelectChoice(candidate.student.id, candidate.student.full_name) for candidate in candidates
    ]


@bp.get("/applications/<int:application_id>")
@login_required
def detail(application_id: int):
    return _detail(_application(application_id))


@bp.post("/applications/<int:application_id>/take")
@login_required
def take(application_id: int):
    application = _application(application_id)
    if not TakeForm().validate():
        return _detail(application, status=400)
    try:
        applications.take_into_work(application, _staff(application))
    except ValidationError as error:
        return _detail(application, error=error.message, status=400)
    flash(_("The application is in work; the applicant sees it on the portal."), "info")
    return redirect(url_for("applications.detail", application_id=application.id))


@bp.post("/applications/<int:application_id>/approve")
@login_required
def approve(application_id: int):
    application = _application(application_id)
    form = ApproveForm()
    _offer(form, applications.candidates(application, _today()))
    if not form.validate():
        return _detail(application, approve_form=form, status=400)
    try:
        applications.approve(application, _staff(application), form.student.data)
    except ValidationError as error:
        return _detail(application, approve_form=form, error=error.message, status=400)
    flash(
        _(
            "Approved: %(name)s is now a parent of %(student)s in the diary.",
            name=application.applicant_name,
            student=application.student.full_name,
        ),
        "info",
    )
    return redirect(url_for("applications.detail", application_id=application.id))


@bp.post("/applications/<int:application_id>/refuse")
@login_required
def refuse(application_id: int):
    application = _application(application_id)
    form = RefuseForm()
    if not form.validate():
        return _detail(application, refuse_form=form, status=400)
    try:
        applications.refuse(application, _staff(application), form.ground.data, form.comment.data)
    except ValidationError as error:
        return _detail(application, refuse_form=form, error=error.message, status=400)
    flash(_("The application is refused; the applicant sees the reason on the portal."), "info")
    return redirect(url_for("applications.detail", application_id=application.id))
