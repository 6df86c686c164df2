"""The OpenID Provider's clients as the authorization and token endpoints read them: kept
per process for ``OIDC_CACHE_SECONDS``, forgotten at once where they change."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.oidc.models import (
    CLIENT_ID,
    OAuthClient,
)
from shared.cache import TimedCache

# Enabled clients, read on every authorization and token request: kept per process for
# OIDC_CACHE_SECONDS (a client disabled or given a new secret elsewhere is refused
# everywhere within that time; here at once, see ``forget_clients``).
_CLIENTS: TimedCache[OAuthClient] = TimedCache()


def cache_seconds() -> float:
    return float(current_app.config["OIDC_CACHE_SECONDS"])


def query_client(client_id: str) -> OAuthClient | None:
    """The enabled client ``client_id``; None for anything else, a malformed id included."""
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        return None
    return _CLIENTS.get(
        (current_app.config["SQLALCHEMY_DATABASE_URI"], client_id),
        cache_seconds(),
        lambda: _load_client(client_id),
    )


def load_client(client_id: str) -> OAuthClient | None:
    """The enabled client as the database has it now, for work off the hot path (a
    back-channel logout must not go to an address the client no longer has)."""
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        return None
    return _load_client(client_id)


def _load_client(client_id: str) -> OAuthClient | None:
    client = db.session.execute(
        sa.select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.disabled_at.is_(None)
        )
    ).scalar_one_or_none()
    if client is not None:
        # Detached, fully loaded: requests share it, and no commit may expire it.
        db.session.expunge(client)
    return client


def forget_clients() -> None:
    """A client changed: this process reads it again at its next use."""
    _CLIENTS.clear()
