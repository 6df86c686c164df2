"""Who is signed in to the diary. The server-side session holds the person's id and how
the portal signed them in: ``sub``, the portal session ``portal_sid`` (back-channel
logout finds the session by it), the ``id_token`` (the hint for signing out at the
portal), ``acr`` and ``auth_time``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, request, session, url_for

from diary_service.access import Viewer, viewer_for
from diary_service.auth import services
from diary_service.auth.oidc import SignIn
from diary_service.models.auth import DiaryPerson


def current_person() -> DiaryPerson | None:
    if "person" not in g:
        person_id = session.get("user_id")
        g.person = services.get_person(person_id) if person_id else None
    return g.person


def current_level() -> str | None:
    """The account level the portal vouched for at this sign-in (from its ``acr``)."""
    return services.level_of(session.get("acr")) if current_person() is not None else None


def sign_in(person: DiaryPerson, result: SignIn) -> None:
    """Start the signed-in session under a new id (no fixation); whatever the anonymous
    session held (the sign-in's state) is dropped."""
    session.clear()
    session.regenerate()
    identity = result.identity
    session["user_id"] = person.id
    session["sub"] = identity.sub
    session["portal_sid"] = identity.sid
    session["id_token"] = result.id_token
    session["acr"] = identity.acr
    session["auth_time"] = identity.auth_time
    g.person = person
    g.pop("viewer", None)


def sign_out() -> str | None:
    """End the diary session; return its ID token, the hint for the portal's logout."""
    id_token = session.get("id_token")
    session.destroy()
    g.person = None
    g.pop("viewer", None)
    return id_token


def current_viewer() -> Viewer:
    """What the signed-in person is in the diary (roles, classes, children), read once
    per request; the anonymous viewer when nobody is signed in."""
    if "viewer" not in g:
        g.viewer = viewer_for(current_person())
    return g.viewer


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send a signed-out visitor to sign in through the portal, then back here."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_person() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped
