"""Who is signed in: the session holds only the citizen's id and how they signed in."""

from __future__ import annotations

import functools
import secrets
import time

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.identity.models import Citizen
from portal.identity.security_log import Origin
from portal.identity.sessions import announce_sessions_ending
from shared.security import client_address, user_agent


def origin() -> Origin:
    return Origin(ip=client_address(), user_agent=user_agent())


def current_citizen() -> Citizen | None:
    if "citizen" not in g:
        uid = session.get("user_id")
        citizen = db.session.get(Citizen, uid) if uid else None
        g.citizen = citizen if citizen is not None and citizen.is_active else None
    return g.citizen


def sign_in(citizen: Citizen, methods: list[str]) -> None:
    """Start an authenticated session under a new id (no fixation).

    The OpenID Connect session (``sid``) goes on when the same citizen signs in again
    (``prompt=login``, ``max_age``, a step-up): the relying parties of that session stay
    bound to it and are told when it ends. A session of someone else in this browser
    ends as a sign-out ends it (back-channel logout to its clients)."""
    locale = session.get("locale")
    previous_user, previous_sid = session.get("user_id"), session.get("sid")
    if previous_user and previous_user != citizen.id:
        announce_sessions_ending(previous_user, [previous_sid])
    session.clear()
    session.regenerate()
    session["user_id"] = citizen.id
    session["auth_time"] = int(time.time())
    session["amr"] = methods
    # The OpenID Connect session id.
    session["sid"] = (
        previous_sid if previous_user == citizen.id and previous_sid else secrets.token_urlsafe(16)
    )
    if locale:
        session["locale"] = locale
    g.citizen = citizen


def sign_out() -> None:
    if session.get("user_id"):
        announce_sessions_ending(session["user_id"], [session.get("sid")])
    session.destroy()
    g.citizen = None


def current_session_public_id() -> str | None:
    row = getattr(session, "row", None)
    return row.public_id if row is not None else None


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_citizen() is None:
            flash(_l("Sign in to continue."), "info")
            return redirect(url_for("identity.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def mark_reauthenticated() -> None:
    """Remember in the server-side session when the citizen last proved it is them."""
    session["reauth_at"] = int(time.time())


def is_recently_authenticated() -> bool:
    """Whether the password (and the second factor, if on) was entered in this session,
    at sign-in or at re-authentication, within ``REAUTH_WINDOW`` seconds."""
    last = max(int(session.get("auth_time") or 0), int(session.get("reauth_at") or 0))
    return time.time() - last <= int(current_app.config["REAUTH_WINDOW"])


def reauth_required(back: str | None = None):
    """A sensitive action: signed in, and recently authenticated, or sent to the
    re-authentication page, which returns to the action's page (``back`` for a button
    that only posts, else this address)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if current_citizen() is None:
                return login_required(view)(*args, **kwargs)
            if not is_recently_authenticated():
                if request.method == "GET":
                    target = request.full_path.rstrip("?")
                else:
                    target = url_for(back) if back else request.path
                flash(_l("Confirm it is you to continue."), "info")
                return redirect(url_for("cabinet.reauth", next=target))
            return view(*args, **kwargs)

        return wrapper

    return decorate
