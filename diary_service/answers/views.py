"""HTTP of signed answers: ``/answers/`` (the list), a class teacher's new request and
its results, and a parent's answer, given after a step-up sign-in at the portal.

The step-up: an answer posted from a session whose portal sign-in is not at the
confirmed level or older than ``services.FRESH_SIGN_IN`` is not recorded; the person is
sent to the portal with ``acr_values`` = confirmed and ``max_age=0``, their choice
carried through the sign-in (``oidc.SignIn.carry``), and ``signed`` records it on the
way back, with the new sign-in's ``acr`` and ``auth_time``.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

import diary_service.clock as clock
from diary_service.access import can_lead_class, require
from diary_service.answers import services
from diary_service.answers.forms import AnswerForm, RequestForm
from diary_service.auth import oidc
from diary_service.auth.current import current_viewer, login_required
from diary_service.models.answers import AnswerRequest
from shared.errors import ValidationError
from shared.sessions import utcnow
from shared.validators import is_ascii_number

bp = Blueprint("answers", __name__, url_prefix="/answers")

CARRY_PURPOSE = "answer"


@bp.get("/")
@login_required
def index():
    viewer = current_viewer()
    today = clock.today()
    classes = services.led_classes(viewer)
    return render_template(
        "answers/index.html",
        family_requests=services.requests_for_family(viewer, today),
        classes=classes,
        class_requests=services.requests_of_classes([c.id for c in classes]),
        today=today,
    )


@bp.route("/classes/<int:class_id>/new", methods=["GET", "POST"])
@login_required
def new_request(class_id: int):
    school_class = services.get_class(class_id)
    viewer = current_viewer()
    require(can_lead_class(viewer, school_class))
    form = RequestForm()
    if form.validate_on_submit():
        try:
            created = services.create_request(
                school_class,
                viewer.staff_at(school_class.school_id),
                title=form.title.data,
                text=form.text.data or "",
                options=form.option_list(),
                deadline=form.deadline.data,
                today=clock.today(),
            )
        except ValidationError as error:
            form.options.errors.append(error.message)
        else:
            flash(_("The request is sent to the parents of the class."), "success")
            return redirect(url_for("answers.results", request_id=created.id))
    status = 400 if form.errors else 200
    return render_template("answers/new.html", form=form, school_class=school_class), status


@bp.get("/requests/<int:request_id>/results")
@login_required
def results(request_id: int):
    request = services.get_request(request_id)
    require(can_lead_class(current_viewer(), request.school_class))
    return render_template(
        "answers/results.html",
        ask=request,
        rows=services.results(request, clock.today()),
        when=_when,
    )


@bp.get("/requests/<int:request_id>")
@login_required
def show(request_id: int):
    request = services.get_request(request_id)
    require(services.can_view_request(current_viewer(), request, clock.today()))
    return _request_page(request, AnswerForm(request.options))


@bp.post("/requests/<int:request_id>")
@login_required
def answer(request_id: int):
    request = services.get_request(request_id)
    viewer = current_viewer()
    require(services.can_view_request(viewer, request, clock.today()))
    form = AnswerForm(request.options)
    if not form.validate_on_submit() or not is_ascii_number(form.student.data):
        return _request_page(request, form, status=400)
    pending = {
        "purpose": CARRY_PURPOSE,
        "request_id": request.id,
        "student_id": int(form.student.data),
        "choice": form.choice.data,
        "comment": form.comment.data or "",
    }
    try:
        recorded = _record(viewer, request, pending)
    except (services.ConfirmedAccountNeeded, services.FreshSignInNeeded):
        return oidc.authorization_redirect(
            url_for("answers.signed", request_id=request.id),
            acr_values=services.CONFIRMED_ACR,
            max_age=0,
            carry=pending,
        )
    except (services.RequestClosed, services.AlreadyAnswered) as error:
        flash(error.message, "error")
        return redirect(url_for("answers.show", request_id=request.id))
    except ValidationError as error:
        form.choice.errors = [error.message]
        return _request_page(request, form, status=400)
    _tell_recorded(recorded)
    return redirect(url_for("answers.show", request_id=request.id))


@bp.get("/requests/<int:request_id>/signed")
@login_required
def signed(request_id: int):
    """Back from the step-up sign-in: record the answer carried through it."""
    request = services.get_request(request_id)
    require(services.can_view_request(current_viewer(), request, clock.today()))
    pending = session.pop(oidc.STEP_UP_CARRY, None)
    if (
        not isinstance(pending, dict)
        or pending.get("purpose") != CARRY_PURPOSE
        or pending.get("request_id") != request.id
    ):
        return redirect(url_for("answers.show", request_id=request.id))
    try:
        recorded = _record(current_viewer(), request, pending)
    except services.ConfirmedAccountNeeded as error:
        return render_template("answers/level_needed.html", ask=request, message=error.message), 403
    except services.FreshSignInNeeded as error:
        flash(error.message, "error")
        return redirect(url_for("answers.show", request_id=request.id))
    except ValidationError as error:
        flash(error.message, "error")
        return redirect(url_for("answers.show", request_id=request.id))
    _tell_recorded(recorded)
    return redirect(url_for("answers.show", request_id=request.id))


def _record(viewer, request: AnswerRequest, pending: dict):
    return services.record_answer(
        viewer,
        request,
        student_id=int(pending["student_id"]),
        choice=str(pending["choice"]),
        comment=str(pending.get("comment") or ""),
        acr=session.get("acr"),
        auth_time=session.get("auth_time"),
        now=utcnow(),
        today=clock.today(),
    )


def _when(moment) -> str:
    return format_datetime(moment, "d MMMM yyyy, HH:mm")


def _tell_recorded(recorded) -> None:
    flash(
        _("Answered on %(when)s at the confirmed level.", when=_when(recorded.answered_at)),
        "success",
    )


def _request_page(request: AnswerRequest, form: AnswerForm, status: int = 200):
    viewer = current_viewer()
    today = clock.today()
    children = services.children_asked(viewer, request, today)
    answers = services.answers_by(request, viewer.person.id) if children else {}
    return render_template(
        "answers/request.html",
        ask=request,
        form=form,
        children=children,
        answers=answers,
        is_open=request.is_open(today),
        can_see_results=can_lead_class(viewer, request.school_class),
        confirmed=session.get("acr") == services.CONFIRMED_ACR,
        when=_when,
    ), status
