"""Rules of the administrator's room: who administers, and client changes on the record.

Every change an administrator makes to a client is written to the administrator's own
security log, so "who disabled this client, when, from where" has an answer.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.identity.models import Administrator, Citizen
from portal.identity.services import Origin, record_event
from portal.oidc import services as oidc
from portal.oidc.models import OAuthClient
from shared.errors import Forbidden


def is_administrator(citizen: Citizen | None) -> bool:
    if citizen is None:
        return False
    return (
        db.session.execute(
            sa.select(Administrator.id).where(Administrator.citizen_id == citizen.id)
        ).first()
        is not None
    )


def make_administrator(citizen: Citizen) -> None:
    """Grant the administrator role (nothing changes if the citizen already has it)."""
    if not is_administrator(citizen):
        db.session.add(Administrator(citizen_id=citizen.id))
        db.session.commit()


def _require_administrator(citizen: Citizen) -> None:
    # The views check this too; the rule lives here so no other caller can skip it.
    if not is_administrator(citizen):
        raise Forbidden()


def register_client(admin: Citizen, origin: Origin, **fields: Any) -> oidc.NewClient:
    """Register a relying party (``fields`` as ``oidc.services.create_client`` takes them).

    The secret in the result is shown once and never stored in the clear.
    """
    _require_administrator(admin)
    created = oidc.create_client(**fields)
    record_event(
        admin,
        "client_registered",
        origin,
        client=created.client.name,
        client_id=created.client.client_id,
    )
    db.session.commit()
    return created


def disable_client(admin: Citizen, client_id: str, origin: Origin) -> OAuthClient:
    """Stop the client signing anyone in; every token it holds is revoked."""
    _require_administrator(admin)
    client = oidc.disable_client(client_id)
    record_event(admin, "client_disabled", origin, client=client.name, client_id=client_id)
    db.session.commit()
    return client


def rotate_client_secret(admin: Citizen, client_id: str, origin: Origin) -> str:
    """A new secret for a confidential client; the old one stops working at once."""
    _require_administrator(admin)
    secret = oidc.rotate_secret(client_id)
    client = oidc.get_client(client_id)
    record_event(admin, "client_secret_rotated", origin, client=client.name, client_id=client_id)
    db.session.commit()
    return secret
