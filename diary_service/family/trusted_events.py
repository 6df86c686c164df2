"""The portal's messages about trusted persons (``diary_service.federation``): a grant
revoked on the portal ends the trusted person's access here at once.

Kept apart from ``trusted``, which the sign-in imports: the federation room itself
imports the sign-in's protocol module, and the handler needs the federation room."""

from __future__ import annotations

from typing import Any

from diary_service.family.trusted import revoke_grant
from diary_service.federation.services import handles
from shared.sessions import utcnow


@handles("trusted.revoked")
def trusted_revoked(data: dict[str, Any]) -> dict[str, Any]:
    """``{"grant": uuid}`` → ``{"revoked": n}``, the links ended now (0 when the grant
    was never used here, or a repeated message finds them ended already)."""
    return {"revoked": revoke_grant(data.get("grant"), utcnow())}
