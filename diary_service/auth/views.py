"""Signing in and out through the portal: ``/auth/login``, ``/auth/callback``,
``/auth/logout`` and the portal's back-channel ``/auth/backchannel-logout``."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

import diary_service.clock as clock
from diary_service.access import Viewer
from diary_service.auth import oidc, services
from diary_service.auth.current import (
    current_level,
    current_person,
    current_viewer,
    sign_in,
    sign_out,
)
from diary_service.extensions import csrf
from shared.security import safe_next
from shared.sessions import utcnow

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.app_context_processor
def inject_current_person() -> dict:
    return {
        "current_person": current_person,
        "current_level": current_level,
        "current_viewer": current_viewer,
        "start_page": lambda: start_page(current_viewer()),
        "current_date": clock.today,  # the pages mark the region's today (week day, grid column)
    }


@bp.get("/login")
def login():
    if current_person() is not None:
        return redirect(safe_next(request.args.get("next")))
    oidc.require_portal_answering()
    return oidc.authorization_redirect(request.args.get("next") or "/")


@bp.get("/callback")
def callback():
    result = oidc.finish_sign_in()
    signed_in_before = session.get("user_id")
    person = services.record_sign_in(
        result.identity,
        index_key=current_app.config["BLIND_INDEX_KEY"],
        forget_sessions_before=utcnow()
        - timedelta(seconds=int(current_app.config["SESSION_ABSOLUTE_TIMEOUT"])),
    )
    sign_in(person, result)
    if result.carry is not None and signed_in_before == person.id:
        # A step-up sign-in's pending work, kept only when the same person came back:
        # someone else signing in at the portal must not finish what they did not start.
        session[oidc.STEP_UP_CARRY] = result.carry
    next_url = result.next_url
    if next_url in ("/", url_for("home.index")):
        next_url = start_page(current_viewer()) or next_url
    return redirect(next_url)


def start_page(viewer: Viewer) -> str | None:
    """Where a person lands after signing in: staff at their work (the teacher's lessons
    of today, the school's page, the region's), a family at their children's diary;
    None for a person with no role here yet (the front page says what to do)."""
    if viewer.teaches or viewer.class_teacher_of or viewer.teacher_at:
        return url_for("journal.index")
    if viewer.school_admin_of or viewer.health_worker_of or viewer.department:
        return url_for("school.index")
    if viewer.is_family:
        return url_for("family.index")
    return None


@bp.post("/logout")
def logout():
    id_token = sign_out()
    if id_token is None:
        return redirect(url_for("home.index"))
    try:
        return oidc.end_session_redirect(id_token)
    except oidc.PortalUnavailable:
        flash(
            _(
                "You have signed out of the diary. The portal could not be reached: "
                "sign out there too when it is back."
            ),
            "info",
        )
        return redirect(url_for("home.index"))


@bp.post("/backchannel-logout")
@csrf.exempt  # server to server from the portal; the signed logout token is the proof
def backchannel_logout():
    logout = oidc.read_logout_token(request.form.get("logout_token"))
    services.end_portal_session(sid=logout.sid, sub=logout.sub)
    response = current_app.response_class(status=200)
    response.headers["Cache-Control"] = "no-store"  # §2.8
    return response


def _backchannel_error(error, status: int):
    """Back-Channel Logout §2.8: an RFC 6749-shaped JSON error, never cached."""
    response = jsonify(error=error.code, error_description=error.message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(oidc.InvalidLogoutToken)
def invalid_logout_token(error: oidc.InvalidLogoutToken):
    return _backchannel_error(error, 400)


@bp.errorhandler(oidc.PortalUnavailable)
def portal_unavailable(error: oidc.PortalUnavailable):
    if request.endpoint == "auth.backchannel_logout":
        return _backchannel_error(error, 503)  # the portal retries the delivery
    response = current_app.make_response(
        (render_template("auth/unavailable.html", message=error.message), 503)
    )
    response.headers["Retry-After"] = "60"
    return response


@bp.errorhandler(oidc.SignInFailed)
def sign_in_failed(error: oidc.SignInFailed):
    return render_template("auth/failed.html", message=error.message), error.status
