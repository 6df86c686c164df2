"""HTTP of the family room."""

from flask import Blueprint, render_template

from diary_service.auth.current import login_required

bp = Blueprint("family", __name__)


@bp.get("/students/")
@login_required
def index():
    return render_template("diary/index.html")
