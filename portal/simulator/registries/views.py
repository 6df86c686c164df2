"""The tester console: a page per registry (requests, decisions, rule, overrides), the
Post's letters with their codes, and the reference population to find data to type in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from portal.simulator.registries import lookup, rules, services
from portal.simulator.registries.forms import (
    REASON_CHOICES,
    DecisionForm,
    EmptyForm,
    OverrideForm,
    RuleForm,
)
from portal.simulator.registries.models import REGISTRIES
from shared.errors import DomainError
from shared.validators import format_snils

bp = Blueprint("registries", __name__)


@bp.app_template_filter("snils")
def snils_filter(digits: str | None) -> str:
    return format_snils(digits) if digits and len(digits) == 11 else digits or ""


@bp.app_context_processor
def registry_names() -> dict[str, Any]:
    return {"registries": REGISTRIES, "registry_labels": services.REGISTRY_LABELS}


def _run(form, action: Callable[[], object], done: str) -> None:
    """Validate the form, call the service, and tell the tester how it went."""
    if not form.validate_on_submit():
        errors = [e for field in form for e in field.errors]
        flash(str(errors[0]) if errors else _("Check the data you entered."), "error")
        return
    try:
        action()
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(done)


def _reason_choices(registry: str) -> list[SelectChoice]:
    """ "Not set" and the reasons this registry can give."""
    allowed = ("", *services.REGISTRY_REASONS[registry])
    return [c for c in REASON_CHOICES if c.value in allowed]


def _back(registry: str):
    return redirect(url_for("registries.registry", registry=registry))


@bp.get("/registries/")
def index():
    return redirect(url_for("registries.registry", registry="sfr"))


@bp.get("/registries/<registry>")
def registry(registry: str):
    services.require_registry(registry)
    rule = services.get_rule(registry)
    rule_form = RuleForm(obj=rule, reason=rule.reason or "")
    override_form, decision_form = OverrideForm(prefix="override"), DecisionForm()
    for form in (rule_form, override_form, decision_form):
        form.reason.choices = _reason_choices(registry)
    return render_template(
        "registries/registry.html",
        registry=registry,
        rule=rule,
        rule_form=rule_form,
        override_form=override_form,
        decision_form=decision_form,
        overrides=rules.list_overrides(registry),
        requests=services.list_requests(registry),
        reason_labels=services.REASON_LABELS,
    )


@bp.post("/registries/<registry>/rule")
def save_rule(registry: str):
    services.require_registry(registry)
    form = RuleForm()
    _run(
        form,
        lambda: rules.set_rule(
            registry,
            default_outcome=form.default_outcome.data,
            reason=form.reason.data or None,
            reason_text=form.reason_text.data,
            delay_seconds=form.delay_seconds.data,
            down=form.down.data,
        ),
        _("The rule is saved."),
    )
    return _back(registry)


@bp.post("/registries/<registry>/overrides")
def add_override(registry: str):
    services.require_registry(registry)
    form = OverrideForm(prefix="override")
    _run(
        form,
        lambda: rules.set_override(
            registry,
            form.key.data,
            form.outcome.data,
            form.reason.data or None,
            form.reason_text.data,
        ),
        _("The override is saved."),
    )
    return _back(registry)


@bp.post("/registries/<registry>/overrides/<key>/delete")
def delete_override(registry: str, key: str):
    services.require_registry(registry)
    _run(
        EmptyForm(),
        lambda: rules.delete_override(registry, key),
        _("The override is deleted."),
    )
    return _back(registry)


@bp.post("/registries/<registry>/requests/<request_id>/decision")
def decide(registry: str, request_id: str):
    services.require_registry(registry)
    form = DecisionForm()
    _run(
        form,
        lambda: services.decide(
            registry,
            request_id,
            form.outcome.data,
            form.reason.data or None,
            form.reason_text.data,
        ),
        _("The decision is saved; the answer goes out now.")
        if form.outcome.data != "held"
        else _("The request is held."),
    )
    return _back(registry)


@bp.get("/population")
def population():
    query = (request.args.get("q") or "").strip()
    people = lookup.find_people(**lookup.parsed_search(query), limit=100)
    return render_template(
        "registries/population.html",
        query=query,
        people=people,
        children=lookup.children_of(people),
        total=lookup.count_people(),
    )
