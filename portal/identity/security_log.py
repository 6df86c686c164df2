"""The security log ("recent actions" in the cabinet) and where a request came from."""

from __future__ import annotations

from dataclasses import dataclass

from portal.extensions import db
from portal.identity.models import Citizen, SecurityEvent


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the security log and the sessions list."""

    ip: str = ""
    user_agent: str = ""


def record_event(citizen: Citizen, kind: str, origin: Origin, **detail: object) -> None:
    """Add an entry to the citizen's security log (committed with the caller's work).

    ``detail`` never holds secrets or document numbers: it is shown in the cabinet."""
    db.session.add(
        SecurityEvent(
            citizen_id=citizen.id,
            kind=kind,
            ip=origin.ip[:64],
            user_agent=origin.user_agent[:300],
            detail=detail,
        )
    )
