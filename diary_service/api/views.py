"""HTTP of the JSON API for mobile clients, ``/api/v1``.

Every endpoint but the OpenAPI document needs the portal's access token
(``api.tokens``) and then asks exactly what the family and messages pages ask:
``access.can_view_student`` through ``diary.services.sections_for`` for a student's
week, marks, homework and attendance, ``messages.services`` for threads. Reading is GET
and never writes; marking a thread read is the one POST. Unknown ids
answer 404, someone else's 403, both as JSON (``shared.errors``: ``/api/`` is a JSON
prefix). No cookie or session is read or set, so there is no CSRF to guard against.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.wrappers import Response

import diary_service.clock as clock
from diary_service.access import Reach, Viewer, require, viewer_for
from diary_service.access.log import record_access
from diary_service.api import services
from diary_service.api.openapi import document
from diary_service.api.tokens import BearerError, authenticate
from diary_service.auth.oidc import PortalUnavailable
from diary_service.diary import services as family
from diary_service.extensions import csrf
from diary_service.messages import services as messages
from diary_service.models.school import Student
from shared.web import date_arg, int_arg

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens are not sent by browsers on their own, so cross-site requests carry no
# credentials: CSRF protection has nothing to protect here.
csrf.exempt(bp)


@bp.errorhandler(BearerError)
def bearer_refused(error: BearerError) -> tuple[Response, int, dict[str, str]]:
    body: dict[str, str] = {"error_description": error.message}
    if error.code is not None:
        body = {"error": error.code, **body}
    return jsonify(body), error.status, {"WWW-Authenticate": error.challenge()}


@bp.errorhandler(PortalUnavailable)
def portal_unavailable(error: PortalUnavailable) -> tuple[Response, int, dict[str, str]]:
    # The portal's keys are not cached yet and the portal does not answer.
    body = {"error": error.code, "error_description": error.message}
    return jsonify(body), error.status, {"Retry-After": "60"}


@bp.after_request
def no_store(response: Response) -> Response:
    # A person's diary must not be kept by caches on the way (no session cookie here
    # for shared.security's rule to see); the OpenAPI document is public.
    if request.endpoint != "api.openapi":
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Authorization")
    return response


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate the request by its bearer token and keep the caller's ``Viewer``."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        person = authenticate(request.headers.get("Authorization"), request.args)
        g.api_viewer = viewer_for(person)
        return view(*args, **kwargs)

    return wrapped


def viewer() -> Viewer:
    return g.api_viewer


def _student(student_id: int, section: str, what: str) -> tuple[Student, Reach]:
    """The student (404 if none) and what the caller sees of them; 403 without
    ``section`` anywhere in it — the family pages' own rule."""
    student = family.get_student(student_id)
    reach = family.reach_for(viewer(), student)
    require(section in reach.sections)
    record_access(viewer(), [student.id], what)
    return student, reach


@bp.get("/openapi.json")
def openapi():
    return jsonify(document(current_app.config["PUBLIC_URL"]))


@bp.get("/children")
@token_required
def children():
    """The caller's children (as parent or trusted person) and own record, each with the
    sections the caller may read: a trusted person's are those of their grant."""
    found = family.children_of(viewer())
    return jsonify(services.children_json(found, {c.student.id: c.sections for c in found}))


@bp.get("/children/<int:student_id>/week")
@token_required
def week(student_id: int):
    student, reach = _student(student_id, "schedule", "api:week")
    day = date_arg("date") or reach.day_shown("schedule", clock.today())
    return jsonify(services.week_json(family.week_of(student, day, reach)))


@bp.get("/children/<int:student_id>/marks")
@token_required
def marks(student_id: int):
    student, reach = _student(student_id, "marks", "api:marks")
    today = clock.today()
    period = family.choose_period(student, int_arg("period"), today, reach)
    return jsonify(services.marks_json(family.marks_page(student, period, today, reach)))


@bp.get("/children/<int:student_id>/homework")
@token_required
def homework(student_id: int):
    student, reach = _student(student_id, "homework", "api:homework")
    start = date_arg("from") or reach.day_shown("homework", clock.today())
    end = date_arg("to") or start + timedelta(days=services.DEFAULT_HOMEWORK_DAYS - 1)
    items = services.homework_between(student, start, end, reach)
    return jsonify(services.homework_list_json(student, start, end, items))


@bp.get("/children/<int:student_id>/attendance")
@token_required
def attendance(student_id: int):
    student, reach = _student(student_id, "attendance", "api:attendance")
    period = family.choose_period(student, int_arg("period"), clock.today(), reach, "attendance")
    found = services.period_attendance(student, period, reach)
    return jsonify(services.attendance_json(student, found))


@bp.get("/messages")
@token_required
def threads():
    return jsonify(services.threads_json(messages.threads_for(viewer())))


@bp.get("/messages/<int:thread_id>")
@token_required
def thread(thread_id: int):
    """The thread's messages and up to when the caller has read it (nothing is
    written: marking it read is the POST below)."""
    page = messages.open_thread(viewer(), thread_id)
    return jsonify(services.thread_page_json(page, viewer()))


@bp.post("/messages/<int:thread_id>/read")
@token_required
def mark_read(thread_id: int):
    """Mark the thread read up to the message ``seen`` (by default its last one)."""
    read_until = messages.mark_read(viewer(), thread_id, int_arg("seen"))
    return jsonify(services.read_mark_json(thread_id, read_until))
