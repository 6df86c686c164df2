"""HTTP of the messages room."""

from flask import Blueprint, render_template

from diary_service.auth.current import login_required

bp = Blueprint("messages", __name__)


@bp.get("/messages/")
@login_required
def index():
    return render_template("diary/index.html")
