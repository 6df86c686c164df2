"""What every page of the school room does: find the school or row the viewer
administers (403/404 otherwise), render a template, answer a form (its errors, the
"Saved." flash and redirect, a remove button) and offer the school's choices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from diary_service.access import can_manage_school, require
from diary_service.auth.current import current_viewer
from diary_service.models.school import School
from diary_service.school import forms, services
from diary_service.school.base import FormErrors

SAVED = _l("Saved.")


def school(school_id: int) -> School:
    """The school, if the viewer administers it."""
    school = services.get_school(school_id)
    require(can_manage_school(current_viewer(), school.id))
    return school


def of_school(model: type, object_id: int, school_id: int) -> Any:
    """A row of the school the viewer administers (404 if it does not exist)."""
    found = services.get(model, object_id)
    require(
        can_manage_school(current_viewer(), school_id) and services.belongs_to(found, school_id)
    )
    return found


def actor(school_id: int) -> int | None:
    member = current_viewer().staff_at(school_id)
    return member.id if member else None


def render(template: str, school: School | None, status: int = 200, **context: Any):
    return render_template(f"school/{template}.html", school=school, **context), status


def failed(form: Any, error: FormErrors) -> int:
    forms.show_errors(form, error)
    return 400


def status(form: Any) -> int:
    return 400 if form.errors or form.form_errors else 200


def class_choices(school_id: int, empty: Any = None) -> list:
    return forms.choices(services.classes_of(school_id), lambda c: c.name, empty)


def teacher_choices(school_id: int, empty: Any = None) -> list:
    return forms.choices(services.teachers_of(school_id), lambda m: m.full_name, empty)


def school_choices() -> list:
    return forms.choices(services.schools(), lambda s: f"{s.name} ({s.municipality.name})")


def done(endpoint: str, **values: Any):
    flash(SAVED, "info")
    return redirect(url_for(endpoint, **values))


def saved(form: Any, action: Callable[[], Any], done: Callable[[Any], Any]) -> Any:
    """The form-errors pattern, once: a submitted valid form runs ``action`` (a service
    call) and answers ``done(result)``; when the service refuses (``FormErrors``) its
    complaints go on the form's fields. None when nothing was saved: the caller shows
    the form again (400 where it has errors)."""
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except FormErrors as error:
        forms.show_errors(form, error)
        return None
    return done(result)


def removed(action: Callable[[], Any], endpoint: str, **values: Any):
    """A remove button (the CSRF token only): run ``action``; a refusal is flashed, else
    "Saved."; back to ``endpoint`` either way."""
    if forms.EmptyForm().validate_on_submit():
        try:
            action()
        except FormErrors as error:
            flash(error.message, "error")
            return redirect(url_for(endpoint, **values))
    return done(endpoint, **values)
