"""The service catalog (public), the application wizard and "My applications"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.catalog import search, services
from portal.catalog.catalog import CATALOG, DIARY_ACCESS, PublicService
from portal.catalog.forms import ApplicationForm
from portal.catalog.models import DONE, REFUSED, UNDELIVERED
from portal.identity.current import current_citizen, login_required
from portal.identity.models import Citizen
from portal.identity.start import ERROR, WAITING, Task, provides
from portal.proofing.services import LevelTooLow
from portal.regions import regions
from shared.errors import DomainError, ValidationError

bp = Blueprint("catalog", __name__)

BADGES = {DONE: "current", REFUSED: "rejected", UNDELIVERED: "rejected"}
POPULAR = 6


@bp.app_context_processor
def statuses():
    return {
        "status_labels": services.STATUS_LABELS,
        "status_badges": BADGES,
        "service_of": search.service,
        # The home page's popular services (the catalog's own order: online first).
        "popular_services": lambda: CATALOG[:POPULAR],
        # The children page links each child to the diaries of the regions applied to.
        "diary_regions_by_child": services.diary_regions_by_child,
        "diary_service_slug": DIARY_ACCESS,
    }


@bp.get("/services")
def index():
    query = request.args.get("q", "", type=str).strip()[:200]
    return render_template(
        "catalog/index.html", query=query, found=search.search(query), total=len(CATALOG)
    )


@bp.get("/services/<slug>")
def card(slug: str):
    citizen = current_citizen()
    return render_template(
        "catalog/card.html",
        service=search.service(slug),
        signed_in=citizen is not None,
        can_apply=search.can_apply(citizen),
        regions=regions(),
    )


def _refused_below_standard(service: PublicService):
    flash(LevelTooLow.default_message, "error")
    return redirect(url_for("catalog.card", slug=service.slug))


@bp.get("/services/<slug>/apply")
@login_required
def apply(slug: str):
    service = search.online_service(slug)
    citizen = current_citizen()
    if not search.can_apply(citizen):
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
    service = search.online_service(slug)
    citizen = current_citizen()
    if not search.can_apply(citizen):
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
        "catalog/application.html", application=found, service=search.service(found.service)
    )


@provides(rank=40)
def start_tasks(citizen: Citizen) -> list[Task]:
    """The start page: applications the school has not decided yet, and those that did
    not reach it (to apply again)."""
    found = []
    for row in services.applications_of(citizen):
        if not (row.is_open or row.status == UNDELIVERED):
            continue
        title = _(
            "Application № %(number)s: %(service)s",
            number=row.number,
            service=search.service(row.service).title,
        )
        if row.status == UNDELIVERED:
            text = _("The region's diary did not receive it. Apply again.")
            kind = ERROR
        elif row.deadline is not None:
            text = _(
                "%(school)s; the decision is due by %(date)s.",
                school=row.school_name,
                date=format_date(row.deadline, "short"),
            )
            kind = WAITING
        else:
            text, kind = row.school_name, WAITING
        url = url_for("catalog.application", public_id=row.public_id)
        found.append(
            Task(title, str(services.STATUS_LABELS[row.status]), kind, text, url, _("Details"))
        )
    return found
