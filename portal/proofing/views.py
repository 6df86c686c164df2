"""Personal data, documents, the account level and the registries' callbacks."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.extensions import csrf
from portal.identity.current import current_citizen, login_required, origin
from portal.identity.forms import EmptyForm
from portal.identity.models import Citizen
from portal.identity.start import ERROR, INFO, WAITING, Task, provides
from portal.proofing import checks, confirmation, services
from portal.proofing.forms import (
    LetterCodeForm,
    OptionalDocumentForm,
    PassportForm,
    ProfileForm,
    SnilsForm,
)
from shared.errors import DomainError
from shared.signing import SignatureError

bp = Blueprint("proofing", __name__)

INVALID = 422


@bp.route("/cabinet/profile", methods=["GET", "POST"])
@login_required
def profile():
    citizen = current_citizen()
    form = ProfileForm(obj=citizen)
    if form.validate_on_submit():
        try:
            services.update_profile(citizen, form.data, origin())
        except DomainError as error:
            form.birth_date.errors.append(error.message)
        else:
            flash(_l("Personal data saved."), "info")
            return redirect(url_for("proofing.level"))
    return render_template("proofing/profile.html", form=form), INVALID if form.errors else 200


def _documents_page(citizen, reveal=False, **forms):
    forms.setdefault("snils_form", SnilsForm())
    forms.setdefault("passport_form", PassportForm())
    forms.setdefault("other_form", OptionalDocumentForm())
    invalid = any(form.errors for form in forms.values())
    return (
        render_template(
            "proofing/documents.html",
            citizen=citizen,
            documents=services.documents_of(citizen, reveal=reveal),
            reveal=reveal,
            reveal_form=EmptyForm(),
            reason_text=services.reason_text,
            **forms,
        ),
        INVALID if invalid else 200,
    )


@bp.get("/cabinet/documents")
@login_required
def documents():
    return _documents_page(current_citizen())


@bp.post("/cabinet/documents/reveal")
@login_required
def reveal_documents():
    """The owner sees the full numbers on this one page; they are never put in a URL."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("proofing.documents"))
    return _documents_page(current_citizen(), reveal=True)


@bp.post("/cabinet/documents/snils")
@login_required
def save_snils():
    form = SnilsForm()
    if form.validate_on_submit():
        try:
            services.set_snils(current_citizen(), form.snils.data, origin())
        except DomainError as error:
            form.snils.errors.append(error.message)
        else:
            flash(_l("SNILS saved and sent to the Social Fund for checking."), "info")
            return redirect(url_for("proofing.documents"))
    return _documents_page(current_citizen(), snils_form=form)


@bp.post("/cabinet/documents/passport")
@login_required
def save_passport():
    form = PassportForm()
    if form.validate_on_submit():
        try:
            services.set_passport(current_citizen(), form.data, origin())
        except DomainError as error:
            form.series.errors.append(error.message)
        else:
            flash(
                _l("Passport saved and sent to the Ministry of Internal Affairs for checking."),
                "info",
            )
            return redirect(url_for("proofing.documents"))
    return _documents_page(current_citizen(), passport_form=form)


@bp.post("/cabinet/documents/other")
@login_required
def save_other_document():
    form = OptionalDocumentForm()
    if form.validate_on_submit():
        try:
            services.set_optional_document(
                current_citizen(), form.kind.data, form.number.data, origin()
            )
        except DomainError as error:
            form.number.errors.append(error.message)
        else:
            flash(_l("Document saved."), "info")
            return redirect(url_for("proofing.documents"))
    return _documents_page(current_citizen(), other_form=form)


@bp.get("/cabinet/level")
@login_required
def level():
    citizen = current_citizen()
    return render_template(
        "proofing/level.html",
        citizen=citizen,
        checks={kind: services.latest_check(citizen, kind) for kind in ("snils", "passport")},
        names=services.CHECK_NAMES,
        reason_text=services.reason_text,
        letter=confirmation.pending_letter(citizen),
        letter_form=EmptyForm(),
        code_form=LetterCodeForm(),
    )


@bp.post("/cabinet/level/letter")
@login_required
def request_letter():
    if EmptyForm().validate_on_submit():
        try:
            confirmation.request_letter(current_citizen(), origin())
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(
                _l("The letter is on its way. Enter the code from it here within 30 days."), "info"
            )
    return redirect(url_for("proofing.level"))


@bp.post("/cabinet/level/letter/code")
@login_required
def enter_letter_code():
    form = LetterCodeForm()
    if form.validate_on_submit():
        try:
            confirmation.confirm_by_letter(current_citizen(), form.code.data, origin())
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_l("Your identity is confirmed."), "info")
    return redirect(url_for("proofing.level"))


@provides(rank=10)
def start_tasks(citizen: Citizen) -> list[Task]:
    """The start page: personal data to fill in, documents being checked or refused,
    and the way to the next account level."""
    if citizen.level == "confirmed":
        return []
    documents = url_for("proofing.documents")
    if not citizen.birth_date:
        return [
            Task(
                str(_l("Personal data")),
                _("not filled in"),
                INFO,
                _("Fill in your personal data, SNILS and passport to get a standard account."),
                url_for("proofing.profile"),
                _("Fill in"),
            )
        ]
    found = []
    for kind in ("snils", "passport"):
        check, name = services.latest_check(citizen, kind), str(services.CHECK_NAMES[kind])
        if check is None and citizen.level == "simplified":
            found.append(Task(name, _("not entered"), INFO, "", documents, _("Add")))
        elif check is not None and check.status in ("queued", "pending"):
            text = _("The registry is checking it; we will tell you the result.")
            found.append(Task(name, _("being checked"), WAITING, text, documents, _("Details")))
        elif check is not None and check.status == "rejected":
            text = services.reason_text(check)
            found.append(Task(name, _("not confirmed"), ERROR, text, documents, _("Correct")))
    if citizen.level == "standard":
        level = url_for("proofing.level")
        if confirmation.pending_letter(citizen) is not None:
            text = _("Enter the code from the registered letter when it arrives.")
            letter = str(services.CHECK_NAMES["letter"])
            found.append(Task(letter, _("on its way"), WAITING, text, level, _("Enter the code")))
        else:
            text = _("Confirm your identity at a service centre or by a registered letter.")
            found.append(Task(_("Confirmed account"), _("optional"), INFO, text, level, _("How")))
    return found


@bp.post("/registry-callbacks")
@csrf.exempt
def registry_callback():
    """A registry's signed answer (docs/architecture.md, "Portal ↔ registries")."""
    try:
        result = checks.take_callback(request.get_data(cache=False), request.headers)
    except SignatureError:
        return jsonify(
            error="invalid_signature", error_description="The answer is not signed by the registry."
        ), 401
    return jsonify(status=result)
