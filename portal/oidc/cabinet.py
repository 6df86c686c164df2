"""The cabinet's "applications with access to my data": see each consent, withdraw it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from portal.identity.current import current_citizen, login_required, origin
from portal.identity.forms import EmptyForm
from portal.oidc import services

bp = Blueprint("applications", __name__, url_prefix="/cabinet")


@bp.get("/applications")
@login_required
def index():
    return render_template(
        "cabinet/applications.html",
        rows=services.applications_of(current_citizen()),
        form=EmptyForm(),
    )


@bp.post("/applications/<client_id>/revoke")
@login_required
def revoke(client_id: str):
    if EmptyForm().validate_on_submit():
        # Only the signed-in citizen's own consent: anyone else's is "not found" (404).
        services.revoke_application(current_citizen(), client_id, origin())
        flash(_l("Access withdrawn: the application can no longer receive your data."), "info")
    return redirect(url_for("applications.index"))
