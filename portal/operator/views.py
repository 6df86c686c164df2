"""Operator console: find a citizen by SNILS, check the passport, confirm the identity."""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from portal.identity.current import current_citizen, login_required, origin
from portal.identity.forms import EmptyForm
from portal.proofing import confirmation, services
from portal.proofing.forms import SnilsSearchForm
from shared.errors import DomainError

bp = Blueprint("operator", __name__, url_prefix="/operator")


def operator_required(view):
    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_citizen().operator is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.app_context_processor
def navigation():
    """The header shows the console only to operators."""

    def is_operator() -> bool:
        citizen = current_citizen()
        return citizen is not None and citizen.operator is not None

    return {"is_operator": is_operator}


@bp.route("/", methods=["GET", "POST"])
@operator_required
def search():
    form = SnilsSearchForm()
    found = None
    if form.validate_on_submit():
        try:
            found = confirmation.find_for_operator(current_citizen(), form.snils.data)
        except DomainError as error:
            form.snils.errors.append(error.message)
    return _card(form, found)


def _card(form, found):
    return render_template(
        "operator/search.html",
        form=form,
        found=found,
        documents=services.documents_of(found, reveal=True) if found else {},
        standard=services.has_standard_basis(found) if found else False,
        confirm_form=EmptyForm(),
        operator=current_citizen().operator,
    ), (422 if form.errors else 200)


@bp.post("/citizens/<public_id>/confirm")
@operator_required
def confirm(public_id: str):
    if EmptyForm().validate_on_submit():
        try:
            citizen = confirmation.confirm_by_operator(current_citizen(), public_id, origin())
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_l("Identity of %(name)s confirmed.", name=citizen.full_name), "info")
    return redirect(url_for("operator.search"))
