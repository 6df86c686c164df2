"""Who is signed in to the diary. The server-side session holds the person's id and how
the portal signed them in: ``sub``, the portal session ``portal_sid`` (back-channel
logout finds the session by it), the ``id_token`` (the hint for signing out at the
portal), ``acr`` and ``auth_time``."""

from __future__ import annotations

from flask import g, session

from diary_service.auth import services
from diary_service.auth.models import DiaryPerson
from diary_service.auth.oidc import SignIn


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


def sign_out() -> str | None:
    """End the diary session; return its ID token, the hint for the portal's logout."""
    id_token = session.get("id_token")
    session.destroy()
    g.person = None
    return id_token
