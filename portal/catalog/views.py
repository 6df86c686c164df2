"""The service catalog (public), the application wizard and "My applications"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from portal.catalog import services
from portal.catalog.catalog import CATALOG, PublicService
from portal.catalog.forms import ApplicationForm
from portal.catalog.models import DONE, REFUSED, UNDELIVERED
from portal.federation.services import regions
from portal.identity.current import current_citizen, login_required
from portal.proofing.services import LevelTooLow
from shared.errors import DomainError, ValidationError

bp = Blueprint("catalog", __name__)

BADGES = {DONE: "current", REFUSED: "rejected", UNDELIVERED: "rejected"}


@bp.app_context_processor
def statuses():
    return {
        "status_labels": services.STATUS_LABELS,
        "status_badges": BADGES,
        "service_of": services.service,
    }


@bp.get("/services")
def index():
    query = request.args.get("q", "", type=str).strip()[:200]
    return render_template(
        "catalog/index.html", query=query, found=services.search(query), total=len(CATALOG)
    )


@bp.get("/services/<slug>")
def card(slug: str):
    citizen = current_citizen()
    return render_template(
        "catalog/card.html",
        service=services.service(slug),
        signed_in=citizen is not None,
        can_apply=services.can_apply(citizen),
        regions=regions(),
    )


def _refused_below_standard(service: PublicService):
    flash(LevelTooLow.default_message, "error")
    return redirect(url_for("catalog.card", slug=service.slug))


@bp.get("/services/<slug>/apply")
@login_required
def apply(slug: str):
    service = services.online_service(slug)
    citizen = current_citizen()
    if not services.can_apply(citizen):
        return _refused_below_standard(service)
    choices = services.application_choices(
        citizen, request.args.get("child"), request.args.get("region")
    )
    return _choose(
        service, choices, request.args.get("school"), None, 422 if choices.errors else 200
    )


@bp.post("/services/<slug>/apply")
@login_required
def confirm(slug: str):
    service = services.online_service(slug)
    citizen = current_citizen()
    if not services.can_apply(citizen):
        return _refused_below_standard(service)
    form = ApplicationForm()
    try:
        if not form.validate_on_submit():
            raise ValidationError(next(iter(form.errors.values()))[0])
        if form.confirmed.data:
            application = services.submit_application(
                citizen, form.child.data, form.region.data, form.school.data
            )
            flash(_l("The application is sent to the school."), "info")
            return redirect(url_for("catalog.application", public_id=application.public_id))
        review = services.review_application(
            citizen, form.child.data, form.region.data, form.school.data
        )
    except DomainError as error:
        # Back to the choices, with what the parent chose kept and the problem stated.
        choices = services.application_choices(citizen, form.child.data, form.region.data)
        status = 422 if isinstance(error, ValidationError) else error.status
        return _choose(service, choices, form.school.data, error.message, status)
    return render_template(
        "catalog/confirm.html", service=service, review=review, form=form, citizen=citizen
    )


def _choose(
    service: PublicService,
    choices: services.Choices,
    school: str | None,
    error: str | None,
    status: int,
):
    return render_template(
        "catalog/apply.html",
        service=service,
        choices=choices,
        chosen_school=school,
        error=error,
        form=ApplicationForm(formdata=None),
    ), status


@bp.get("/cabinet/service-applications")
@login_required
def applications():
    return render_template(
        "catalog/applications.html", rows=services.applications_of(current_citizen())
    )


@bp.get("/cabinet/service-applications/<public_id>")
@login_required
def application(public_id: str):
    found = services.application_of(current_citizen(), public_id)
    return render_template(
        "catalog/application.html", application=found, service=services.service(found.service)
    )
