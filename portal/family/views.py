"""The parent's children in the cabinet."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from portal.family import services
from portal.family.forms import ChildForm
from portal.federation.services import regions
from portal.identity.current import current_citizen, login_required, origin
from portal.identity.forms import EmptyForm
from portal.proofing.services import is_at_least, reason_text
from shared.errors import DomainError

bp = Blueprint("family", __name__, url_prefix="/cabinet/children")


@bp.get("/")
@login_required
def children():
    citizen = current_citizen()
    return render_template(
        "family/children.html",
        rows=services.children_of(citizen),
        can_add=is_at_least(citizen, "standard"),
        reason_text=reason_text,
        form=EmptyForm(),
        # The portal does not know where a child studies: a verified child gets a link to
        # each regional diary configured (where the parent signs in through the portal).
        diaries=[(region.name, region.url) for region in regions()],
    )


@bp.route("/add", methods=["GET", "POST"])
@login_required
def add():
    citizen = current_citizen()
    if not is_at_least(citizen, "standard"):
        flash(
            _l(
                "Children can be added from a standard account: verify your SNILS and passport first."
            ),
            "error",
        )
        return redirect(url_for("family.children"))
    form = ChildForm()
    if form.validate_on_submit():
        try:
            services.add_child(citizen, form.data, origin())
        except DomainError as error:
            form.certificate_series.errors.append(error.message)
        else:
            flash(
                _l(
                    "The child is added. The civil registry and the Social Fund are checking the data."
                ),
                "info",
            )
            return redirect(url_for("family.children"))
    return render_template("family/add.html", form=form), 422 if form.errors else 200


@bp.post("/<int:child_id>/remove")
@login_required
def remove(child_id: int):
    if EmptyForm().validate_on_submit():
        services.remove_child(current_citizen(), child_id, origin())
        flash(_l("The child is removed from your account."), "info")
    return redirect(url_for("family.children"))
