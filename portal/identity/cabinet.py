"""The citizen's cabinet: overview, contacts, password, second factor, sessions, log,
and the re-authentication that sensitive changes need."""

from __future__ import annotations

import time

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l

from portal.identity import changes, codes, factors, limits, services, start
from portal.identity import sessions as web_sessions
from portal.identity.code_pages import resend_code, second_factor_page
from portal.identity.current import (
    current_citizen,
    current_session_public_id,
    login_required,
    mark_reauthenticated,
    origin,
    reauth_required,
    sign_out,
)
from portal.identity.devices import describe_device
from portal.identity.forms import (
    ChangePasswordForm,
    CodeForm,
    ConfirmPasswordForm,
    ContactForm,
    EmptyForm,
)
from shared.errors import DomainError, NotFound
from shared.security import safe_next

bp = Blueprint("cabinet", __name__, url_prefix="/cabinet")

INVALID = 422


@bp.get("/")
@login_required
def overview():
    citizen = current_citizen()
    return render_template(
        "cabinet/overview.html",
        citizen=citizen,
        tasks=start.tasks_for(citizen),
        recovery_left=factors.count_recovery_codes(citizen) if citizen.mfa_method else 0,
    )


@bp.get("/sessions")
@login_required
def sessions():
    rows = web_sessions.list_sessions(current_citizen().id)
    return render_template(
        "cabinet/sessions.html",
        rows=rows,
        current=current_session_public_id(),
        describe_device=describe_device,
        form=EmptyForm(),
    )


@bp.post("/sessions/<public_id>/end")
@login_required
def end_session(public_id: str):
    if EmptyForm().validate_on_submit():
        web_sessions.end_session(current_citizen(), public_id, origin())
        if public_id == current_session_public_id():
            sign_out()
            return redirect(url_for("identity.login"))
        flash(_l("The session has ended."), "info")
    return redirect(url_for("cabinet.sessions"))


@bp.post("/sessions/end-all")
@login_required
def end_all_sessions():
    if EmptyForm().validate_on_submit():
        web_sessions.sign_out_everywhere(current_citizen(), origin())
        sign_out()
        flash(_l("You have signed out on all devices."), "info")
        return redirect(url_for("identity.login"))
    return redirect(url_for("cabinet.sessions"))


@bp.get("/events")
@login_required
def events():
    return render_template(
        "cabinet/events.html",
        events=services.recent_events(current_citizen()),
        describe_device=describe_device,
    )


@bp.route("/password", methods=["GET", "POST"])
@reauth_required()
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            changes.change_password(
                current_citizen(),
                form.current.data,
                form.password.data,
                origin(),
                current_session_public_id(),
            )
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            flash(_l("The password has been changed. Other sessions have ended."), "info")
            return redirect(url_for("cabinet.overview"))
    return render_template("cabinet/password.html", form=form), INVALID if form.errors else 200


@bp.route("/contacts", methods=["GET", "POST"])
@reauth_required()
def contacts():
    form = ContactForm()
    if form.validate_on_submit():
        try:
            challenge = changes.start_contact_change(current_citizen(), form.contact.data)
        except DomainError as error:
            form.contact.errors.append(error.message)
        else:
            session["contact"] = challenge.public_id
            return redirect(url_for("cabinet.contact_code"))
    return render_template(
        "cabinet/contacts.html", form=form, citizen=current_citizen()
    ), INVALID if form.errors else 200


@bp.route("/contacts/confirm", methods=["GET", "POST"])
@reauth_required()
def contact_code():
    try:
        challenge = codes.get(session.get("contact"), "contact")
    except NotFound:
        return redirect(url_for("cabinet.contacts"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            changes.confirm_contact_change(
                current_citizen(), challenge.public_id, form.code.data, origin()
            )
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            session.pop("contact", None)
            flash(_l("The contact has been changed."), "info")
            return redirect(url_for("cabinet.overview"))
    return render_template(
        "cabinet/contact_code.html", form=form, challenge=challenge
    ), INVALID if form.errors else 200


# --- second factor ------------------------------------------------------------------


@bp.get("/security")
@login_required
def security():
    citizen = current_citizen()
    return render_template(
        "cabinet/security.html",
        citizen=citizen,
        form=EmptyForm(),
        reauth_minutes=max(1, int(current_app.config["REAUTH_WINDOW"]) // 60),
        recovery_left=factors.count_recovery_codes(citizen) if citizen.mfa_method else 0,
    )


@bp.route("/security/totp", methods=["GET", "POST"])
@reauth_required()
def totp_setup():
    citizen = current_citizen()
    secret = session.get("totp_secret")
    if not secret:
        secret = session["totp_secret"] = factors.new_totp_secret()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            recovery = changes.enable_totp(citizen, secret, form.code.data, origin())
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            session.pop("totp_secret", None)
            return render_template("cabinet/recovery_codes.html", codes=recovery)
    uri = factors.totp_uri(citizen, secret)
    qr_svg = segno.make(uri, error="m").svg_data_uri(scale=4)
    return (
        render_template(
            "cabinet/totp_setup.html", form=form, secret=secret, uri=uri, qr_svg=qr_svg
        ),
        INVALID if form.errors else 200,
    )


@bp.post("/security/sms/send")
@reauth_required(back="cabinet.security")
def sms_setup_send():
    if EmptyForm().validate_on_submit():
        try:
            session["sms_setup"] = changes.start_sms_setup(current_citizen()).public_id
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("cabinet.security"))
    return redirect(url_for("cabinet.sms_setup"))


@bp.route("/security/sms", methods=["GET", "POST"])
@reauth_required()
def sms_setup():
    citizen = current_citizen()
    challenge_id = session.get("sms_setup")
    if not challenge_id:
        return redirect(url_for("cabinet.security"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            recovery = changes.enable_sms_factor(citizen, challenge_id, form.code.data, origin())
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            session.pop("sms_setup", None)
            return render_template("cabinet/recovery_codes.html", codes=recovery)
    return render_template(
        "cabinet/sms_setup.html", form=form, phone=citizen.phone
    ), INVALID if form.errors else 200


@bp.post("/security/disable")
@reauth_required(back="cabinet.security")
def disable_second_factor():
    if EmptyForm().validate_on_submit():
        try:
            changes.disable_second_factor(current_citizen(), origin())
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_l("Sign-in confirmation is off."), "info")
    return redirect(url_for("cabinet.security"))


@bp.post("/security/recovery-codes")
@reauth_required(back="cabinet.security")
def new_recovery_codes():
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("cabinet.security"))
    try:
        recovery = changes.renew_recovery_codes(current_citizen(), origin())
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("cabinet.security"))
    return render_template("cabinet/recovery_codes.html", codes=recovery)


# --- re-authentication --------------------------------------------------------------


@bp.route("/reauth", methods=["GET", "POST"])
@limits.failures_per_address
@login_required
def reauth():
    """Enter the password again (then the second factor, if on) and go back to ``next``."""
    citizen = current_citizen()
    target = safe_next(request.args.get("next"), url_for("cabinet.overview"))
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            changes.reauthenticate(citizen, form.password.data, origin())
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            if not citizen.mfa_method:
                mark_reauthenticated()
                return redirect(target)
            pending = {"next": target, "at": int(time.time())}
            if citizen.mfa_method == "sms":
                pending["challenge"] = changes.start_reauth_sms(citizen).public_id
            session["reauth"] = pending
            return redirect(url_for("cabinet.reauth_code"))
    return render_template("cabinet/reauth.html", form=form), INVALID if form.errors else 200


def _pending_reauth() -> dict | None:
    """The password step of a re-authentication, if it was passed in this session
    within the lifetime of a code."""
    pending = session.get("reauth") or {}
    fresh = time.time() - int(pending.get("at") or 0) <= int(current_app.config["CODE_LIFETIME"])
    return pending if pending and fresh else None


@bp.route("/reauth/code", methods=["GET", "POST"])
@limits.failures_per_address
@login_required
def reauth_code():
    citizen = current_citizen()
    pending = _pending_reauth()
    if pending is None or not citizen.mfa_method:
        return redirect(url_for("cabinet.reauth"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            changes.reauthenticate_second_factor(
                citizen, form.code.data, pending.get("challenge"), origin()
            )
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            session.pop("reauth", None)
            mark_reauthenticated()
            return redirect(safe_next(pending.get("next"), url_for("cabinet.overview")))
    return second_factor_page(
        form, citizen, _l("Confirm it is you"), resend_endpoint="cabinet.reauth_code_resend"
    )


@bp.post("/reauth/code/resend")
@limits.sends_per_address
@login_required
def reauth_code_resend():
    pending = _pending_reauth()
    if pending is None or not pending.get("challenge") or not EmptyForm().validate_on_submit():
        return redirect(url_for("cabinet.reauth"))
    resend_code(pending["challenge"], "reauth")
    return redirect(url_for("cabinet.reauth_code"))
