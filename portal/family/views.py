"""The parent's children in the cabinet."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.family import services
from portal.family.forms import ChildForm
from portal.identity.current import current_citizen, login_required, origin
from portal.identity.forms import EmptyForm
from portal.identity.models import Citizen
from portal.identity.start import ERROR, WAITING, Task, provides
from portal.proofing.services import is_at_least, reason_text
from portal.regions import regions
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
        citizen=citizen,
        # The portal does not know where a child studies. A verified child links to the
        # diaries of the regions the parent applied to for them (the catalog knows), and
        # otherwise to each regional diary, labelled "if the child studies there": asking
        # every region about the child would tell them all that the child exists.
        diaries=regions(),
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


@provides(rank=20)
def start_tasks(citizen: Citizen) -> list[Task]:
    """The start page: children whose birth certificate or SNILS is not confirmed yet."""
    found = []
    for row in services.children_of(citizen):
        if row["verified"]:
            continue
        checks = [row["relation"], row["snils_check"]]
        refused = next((c for c in checks if c is not None and c.status == "rejected"), None)
        if refused is not None:
            status, kind, text = _("not confirmed"), ERROR, reason_text(refused)
        else:
            status, kind = _("being checked"), WAITING
            text = _("The civil registry and the Social Fund are checking the data.")
        found.append(
            Task(
                row["child"].full_name,
                status,
                kind,
                text,
                url_for("family.children") + f"#child-{row['child'].id}",
                _("Details"),
            )
        )
    return found
