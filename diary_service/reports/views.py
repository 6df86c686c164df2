"""HTTP of the reports room."""

from flask import Blueprint, render_template

from diary_service.auth.current import login_required

bp = Blueprint("reports", __name__)


@bp.get("/reports/")
@login_required
def index():
    return render_template("diary/index.html")
