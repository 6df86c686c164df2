"""HTTP of the journal room."""

from flask import Blueprint, render_template

from diary_service.auth.current import login_required

bp = Blueprint("journal", __name__)


@bp.get("/journal/")
@login_required
def index():
    return render_template("diary/index.html")
