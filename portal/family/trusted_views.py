"""Trusted persons in the cabinet: a parent invites and revokes, the invitee answers."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.extensions import limiter
from portal.family import trusted, trusted_queries
from portal.family.trusted_forms import TrustedGrantForm
from portal.identity.current import current_citizen, login_required, origin
from portal.identity.forms import EmptyForm
from portal.identity.models import Citizen
from portal.identity.start import WAITING, Task, provides
from portal.proofing.services import is_at_least
from portal.regions import regions
from shared.errors import ValidationError

bp = Blueprint("trusted", __name__, url_prefix="/cabinet/trusted")


def _lookup_limit() -> str:
    return current_app.config["RATELIMIT_TRUSTED_LOOKUP"]


def _citizen_key() -> str:
    # Per account, not per address: a search tells whether a person has a standard
    # account, so one parent may not sweep SNILS numbers from many addresses.
    citizen = current_citizen()
    return f"trusted-lookup:{citizen.id if citizen else 0}"


@bp.get("/")
@login_required
def index():
    citizen = current_citizen()
    return render_template(
        "family/trusted.html",
        children=trusted_queries.grants_for_parent(citizen),
        citizen_id=citizen.id,
        is_standard=is_at_least(citizen, "standard"),
        form=EmptyForm(),
        # As configured (a day by default): "1 день", or seconds on a test stand.
        delay=format_timedelta(
            timedelta(seconds=int(current_app.config["TRUSTED_ACCESS_DELAY"])), threshold=1
        ),
    )


@bp.route("/children/<int:child_id>/new", methods=["GET", "POST"])
@login_required
@limiter.limit(_lookup_limit, methods=["POST"], key_func=_citizen_key)
def new(child_id: int):
    citizen = current_citizen()
    child = trusted_queries.verified_child(citizen, child_id)
    form = TrustedGrantForm()
    if form.validate_on_submit():
        try:
            trusted.grant(
                citizen,
                child.id,
                sections=trusted.PRESETS.get(form.preset.data, []),
                until=form.until.data,
                snils=form.snils.data or "",
                phone=form.phone.data or "",
                surname=form.surname.data or "",
                origin=origin(),
            )
        except ValidationError as error:
            field = getattr(error, "field", "") or "lookup"
            target = form.until if field == "until" else form.preset if field == "preset" else None
            if target is not None:
                target.errors = [*target.errors, error.message]
            else:
                form.form_errors.append(error.message)
        else:
            flash(_l("The invitation is sent. Access opens after the person accepts it."), "info")
            return redirect(url_for("trusted.index"))
    status = 422 if form.errors else 200
    return render_template("family/trusted_new.html", form=form, child=child), status


@bp.post("/<grant_id>/revoke")
@login_required
def revoke(grant_id: str):
    if EmptyForm().validate_on_submit():
        try:
            trusted.revoke(current_citizen(), grant_id, origin())
        except ValidationError as error:
            flash(error.message, "error")
        else:
            flash(_l("Access revoked: the person no longer sees the child's diary."), "info")
    return redirect(url_for("trusted.index"))


@bp.get("/given-to-me")
@login_required
def given():
    citizen = current_citizen()
    invitations, accesses = trusted_queries.grants_for_invitee(citizen)
    return render_template(
        "family/trusted_given.html",
        invitations=invitations,
        accesses=accesses,
        is_standard=is_at_least(citizen, "standard"),
        # Where the child studies is the diary's business: a link to each region's diary.
        diaries=[(region.name, region.url) for region in regions()],
        form=EmptyForm(),
    )


@bp.post("/<grant_id>/accept")
@login_required
def accept(grant_id: str):
    if EmptyForm().validate_on_submit():
        try:
            trusted.accept(current_citizen(), grant_id, origin())
        except ValidationError as error:
            flash(error.message, "error")
        else:
            flash(_l("Accepted. The diary opens for you at the time shown."), "info")
    return redirect(url_for("trusted.given"))


@bp.post("/<grant_id>/give-up")
@login_required
def give_up(grant_id: str):
    if EmptyForm().validate_on_submit():
        try:
            trusted.give_up(current_citizen(), grant_id, origin())
        except ValidationError as error:
            flash(error.message, "error")
        else:
            flash(_l("You no longer see this child's diary."), "info")
    return redirect(url_for("trusted.given"))


@bp.post("/<grant_id>/decline")
@login_required
def decline(grant_id: str):
    if EmptyForm().validate_on_submit():
        try:
            trusted.decline(current_citizen(), grant_id, origin())
        except ValidationError as error:
            flash(error.message, "error")
        else:
            flash(_l("Invitation declined."), "info")
    return redirect(url_for("trusted.given"))


@provides(rank=30)
def start_tasks(citizen: Citizen) -> list[Task]:
    """The start page: invitations to be someone's trusted person, waiting for an answer."""
    waiting, _accepted = trusted_queries.grants_for_invitee(citizen)
    return [
        Task(
            _("Access to the diary of %(child)s", child=view.grant.child.full_name),
            _("waiting for your answer"),
            WAITING,
            _("%(parent)s invites you as a trusted person.", parent=view.grant.granter.full_name),
            url_for("trusted.given"),
            _("Reply"),
        )
        for view in waiting
    ]
