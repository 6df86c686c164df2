"""Registration, sign-in, second factor, recovery and sign-out."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.identity import changes, codes, factors, limits, services
from portal.identity.code_pages import resend_code, second_factor_page
from portal.identity.current import current_citizen, origin, sign_in, sign_out
from portal.identity.forms import (
    CodeForm,
    EmptyForm,
    LoginForm,
    NewPasswordForm,
    RecoveryForm,
    RegistrationForm,
    RegistrationPasswordForm,
    ResendForm,
)
from portal.identity.models import Citizen
from shared.errors import DomainError, NotFound
from shared.security import safe_next

bp = Blueprint("identity", __name__)

INVALID = 422


@bp.get("/")
def home():
    return render_template("identity/home.html", citizen=current_citizen())


# --- registration -------------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@limits.sends_per_address
def register():
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            challenge = services.start_registration(
                form.surname.data, form.given_name.data, form.contact.data, str(get_locale())
            )
        except DomainError as error:
            form.contact.errors.append(error.message)
        else:
            session["register"] = challenge.public_id
            # Where to go once the account exists (an OpenID request with prompt=create).
            session["register_next"] = safe_next(request.args.get("next"), "")
            return redirect(url_for("identity.register_code"))
    return render_template("identity/register.html", form=form), INVALID if form.errors else 200


def _code_page(purpose: str, key: str, template: str, next_endpoint: str, resend_endpoint: str):
    try:
        challenge = codes.get(session.get(key), purpose)
    except NotFound:
        return None
    form = CodeForm()
    if form.validate_on_submit():
        try:
            if purpose == "recover":
                services.confirm_recovery_code(challenge.public_id, form.code.data, origin())
            else:
                services.confirm_code(challenge.public_id, purpose, form.code.data)
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            return redirect(url_for(next_endpoint))
    return (
        render_template(
            template,
            form=form,
            resend_form=ResendForm(),
            challenge=challenge,
            wait=codes.seconds_until_resend(challenge),
            resend_endpoint=resend_endpoint,
        ),
        INVALID if form.errors else 200,
    )


def _resend(purpose: str, key: str, back: str):
    if ResendForm().validate_on_submit():
        resend_code(session.get(key, ""), purpose)
    return redirect(url_for(back))


@bp.route("/register/code", methods=["GET", "POST"])
@limits.failures_per_address
def register_code():
    page = _code_page(
        "register",
        "register",
        "identity/register_code.html",
        "identity.register_password",
        "identity.register_resend",
    )
    return page or redirect(url_for("identity.register"))


@bp.post("/register/code/resend")
@limits.sends_per_address
def register_resend():
    return _resend("register", "register", "identity.register_code")


@bp.route("/register/password", methods=["GET", "POST"])
def register_password():
    try:
        challenge = codes.get(session.get("register"), "register")
    except NotFound:
        return redirect(url_for("identity.register"))
    if challenge.verified_at is None:
        return redirect(url_for("identity.register_code"))
    form = RegistrationPasswordForm()
    if form.validate_on_submit():
        try:
            citizen = services.complete_registration(
                challenge.public_id, form.password.data, form.consent.data, origin()
            )
        except services.ConsentRequired as error:
            form.consent.errors.append(error.message)
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            target = safe_next(session.get("register_next"), url_for("cabinet.overview"))
            sign_in(citizen, ["pwd"])
            services.record_sign_in(citizen, origin(), ["pwd"])
            flash(_l("Your account has been created."), "info")
            return redirect(target)
    return (
        render_template(
            "identity/register_password.html",
            form=form,
            policy_version=current_app.config["CONSENT_POLICY_VERSION"],
        ),
        INVALID if form.errors else 200,
    )


# --- sign-in ------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limits.failures_per_address
@limits.attempts_per_account
def login():
    form = LoginForm()
    if not form.is_submitted() and request.args.get("login_hint"):
        form.login.data = request.args["login_hint"][:254]
    if form.validate_on_submit():
        try:
            citizen = services.authenticate(form.login.data, form.password.data, origin())
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            target = safe_next(request.args.get("next"), "") or start_page(citizen)
            if citizen.mfa_method:
                session["mfa"] = {"user_id": citizen.id, "next": target}
                if citizen.mfa_method == "sms":
                    session["mfa"]["challenge"] = factors.start_sms_factor(citizen).public_id
                return redirect(url_for("identity.second_factor"))
            sign_in(citizen, ["pwd"])
            services.record_sign_in(citizen, origin(), ["pwd"])
            return redirect(target)
    return render_template("identity/login.html", form=form), INVALID if form.errors else 200


def start_page(citizen: Citizen) -> str:
    """Where a sign-in lands unless it came from somewhere: an operator at the service
    centre's console, everyone else in the cabinet's start page."""
    if citizen.operator is not None:
        return url_for("operator.search")
    return url_for("cabinet.overview")


def _pending_citizen() -> tuple[Citizen | None, dict]:
    pending = session.get("mfa") or {}
    citizen = db.session.get(Citizen, pending.get("user_id")) if pending.get("user_id") else None
    return citizen, pending


@bp.route("/login/confirm", methods=["GET", "POST"])
@limits.failures_per_address
def second_factor():
    citizen, pending = _pending_citizen()
    if citizen is None:
        return redirect(url_for("identity.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            method = factors.verify_second_factor(
                citizen, form.code.data, pending.get("challenge"), origin()
            )
        except DomainError as error:
            form.code.errors.append(error.message)
        else:
            # RFC 8176 method references; a recovery code is knowledge ("kba").
            amr = ["pwd", "mfa", {"sms": "sms", "otp": "otp", "recovery": "kba"}[method]]
            sign_in(citizen, amr)
            services.record_sign_in(citizen, origin(), amr)
            if method == "recovery":
                flash(
                    _l(
                        "You signed in with a recovery code. Codes left: %(n)d.",
                        n=factors.count_recovery_codes(citizen),
                    ),
                    "info",
                )
            return redirect(safe_next(pending.get("next"), start_page(citizen)))
    return second_factor_page(
        form, citizen, _l("Confirm sign-in"), resend_endpoint="identity.second_factor_resend"
    )


@bp.post("/login/confirm/resend")
@limits.sends_per_address
def second_factor_resend():
    citizen, pending = _pending_citizen()
    if citizen is None or citizen.mfa_method != "sms" or not ResendForm().validate_on_submit():
        return redirect(url_for("identity.login"))
    resend_code(pending.get("challenge", ""), "login")
    return redirect(url_for("identity.second_factor"))


@bp.post("/logout")
def logout():
    if EmptyForm().validate_on_submit():
        sign_out()
        flash(_l("You have signed out."), "info")
    return redirect(url_for("identity.home"))


# --- recovery -----------------------------------------------------------------------


@bp.route("/recover", methods=["GET", "POST"])
@limits.sends_per_address
def recover():
    form = RecoveryForm()
    if form.validate_on_submit():
        try:
            challenge = services.start_recovery(form.contact.data)
        except DomainError as error:
            form.contact.errors.append(error.message)
        else:
            session["recover"] = challenge.public_id
            return redirect(url_for("identity.recover_code"))
    return render_template("identity/recover.html", form=form), INVALID if form.errors else 200


@bp.route("/recover/code", methods=["GET", "POST"])
@limits.failures_per_address
def recover_code():
    page = _code_page(
        "recover",
        "recover",
        "identity/recover_code.html",
        "identity.recover_password",
        "identity.recover_resend",
    )
    return page or redirect(url_for("identity.recover"))


@bp.post("/recover/code/resend")
@limits.sends_per_address
def recover_resend():
    return _resend("recover", "recover", "identity.recover_code")


@bp.route("/recover/password", methods=["GET", "POST"])
def recover_password():
    try:
        challenge = codes.get(session.get("recover"), "recover")
    except NotFound:
        return redirect(url_for("identity.recover"))
    if challenge.verified_at is None:
        return redirect(url_for("identity.recover_code"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.complete_recovery(challenge.public_id, form.password.data, origin())
        except DomainError as error:
            form.password.errors.append(error.message)
        else:
            session.pop("recover", None)
            flash(
                _l(
                    "The new password is set and all sessions have ended. Sign in with the new password."
                ),
                "info",
            )
            return redirect(url_for("identity.login"))
    return render_template(
        "identity/recover_password.html", form=form
    ), INVALID if form.errors else 200


# --- undoing a sensitive change -------------------------------------------------------


@bp.route("/account/undo/<token>", methods=["GET", "POST"])
@limits.failures_per_address
def undo(token: str):
    """The link in the notice of a change. Opening it changes nothing (mail scanners
    open links); the button does."""
    form = EmptyForm()
    try:
        if form.validate_on_submit():
            citizen = changes.undo_change(token, origin())
            if session.get("user_id") == citizen.id:  # this browser's session ended too
                session.destroy()
                g.citizen = None
            return render_template("identity/undone.html")
        link = changes.find_undo(token)
    except DomainError as error:
        return render_template("identity/undo.html", error=error.message), error.status
    return render_template("identity/undo.html", link=link, form=form)
