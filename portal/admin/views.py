"""The administrator's pages: the relying parties of the OpenID Provider."""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from portal.admin import services
from portal.admin.forms import ClientForm
from portal.identity.current import current_citizen, login_required, origin
from portal.identity.forms import EmptyForm
from portal.oidc import claims
from portal.oidc import services as oidc
from shared.errors import DomainError, ValidationError

bp = Blueprint("admin", __name__, url_prefix="/admin")

INVALID = 422


def admin_required(view):
    """Signed-out visitors go to the sign-in page; signed-in non-administrators get 403."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not services.is_administrator(current_citizen()):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.app_context_processor
def navigation():
    # A function, not a value: the query runs only where the menu asks (signed-in pages).
    return {"is_administrator": lambda: services.is_administrator(current_citizen())}


def _shown_once(template: str, **context):
    response = make_response(render_template(template, **context))
    # The page carries a client secret: no cache, no back-button copy may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/clients")
@admin_required
def clients():
    return render_template("admin/clients.html", clients=oidc.list_clients(), form=EmptyForm())


@bp.route("/clients/new", methods=["GET", "POST"])
@admin_required
def new_client():
    form = ClientForm()
    if form.validate_on_submit():
        try:
            created = services.register_client(current_citizen(), origin(), **form.client_fields())
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            return _shown_once(
                "admin/client_created.html", client=created.client, secret=created.secret
            )
    return render_template(
        "admin/client_form.html", form=form, scopes=claims.SCOPES
    ), INVALID if form.errors else 200


@bp.post("/clients/<client_id>/disable")
@admin_required
def disable_client(client_id: str):
    if EmptyForm().validate_on_submit():
        client = services.disable_client(current_citizen(), client_id, origin())
        flash(
            _l("%(name)s is disabled: it can no longer sign anyone in.", name=client.name), "info"
        )
    return redirect(url_for("admin.clients"))


@bp.post("/clients/<client_id>/rotate-secret")
@admin_required
def rotate_secret(client_id: str):
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("admin.clients"))
    try:
        secret = services.rotate_client_secret(current_citizen(), client_id, origin())
    except ValidationError as error:  # a client without a secret; "no such client" is a 404
        flash(error.message, "error")
        return redirect(url_for("admin.clients"))
    return _shown_once("admin/secret.html", client=oidc.get_client(client_id), secret=secret)
