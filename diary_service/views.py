"""The diary's front page: the way in when signed out; the person, their level and
their children when signed in."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from diary_service.auth.oidc import is_sign_out_return

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    # The portal sends the person back here after a sign-out the diary started.
    if request.args.get("state") and is_sign_out_return():
        flash(_("You have signed out of the diary and the portal."), "info")
        return redirect(url_for("home.index"))
    return render_template("diary/index.html")
