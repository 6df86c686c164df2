"""HTTP of the school room."""

from flask import Blueprint, render_template

from diary_service.auth.current import login_required

bp = Blueprint("school", __name__)


@bp.get("/school/")
@login_required
def index():
    return render_template("diary/index.html")
