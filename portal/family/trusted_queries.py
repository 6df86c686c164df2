"""Trusted persons as people see them: the parent's grants per child, the invitee's
invitations and accesses, and what the ``trusted`` claim releases to the diary."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from portal.extensions import db
from portal.family import services as family
from portal.family.models import Child, ParentLink, TrustedGrant
from portal.family.trusted import (
    ACTIVE,
    EXPIRED,
    OPENS,
    SECTION_NAMES,
    WAITING,
    status_of,
    today,
    verified_link,
)
from portal.identity.models import Citizen
from shared.errors import NotFound


@dataclass(frozen=True)
class GrantView:
    grant: TrustedGrant
    status: str
    can_revoke: bool

    @property
    def section_names(self) -> list[str]:
        return [str(SECTION_NAMES[name]) for name in self.grant.sections if name in SECTION_NAMES]


def _view(found: TrustedGrant, can_revoke: bool = False) -> GrantView:
    status = status_of(found)
    return GrantView(found, status, can_revoke and status in (WAITING, OPENS, ACTIVE, EXPIRED))


def verified_child(parent: Citizen, child_id: int) -> Child:
    """One of the parent's verified children, for the grant form; anyone else's is not found."""
    if verified_link(parent.id, child_id) is None:
        raise NotFound()
    return db.session.get(Child, child_id)


def grants_for_parent(parent: Citizen) -> list[tuple[Child, list[GrantView]]]:
    """Each verified child of the parent with every grant for it, whichever parent made it
    (both may revoke), newest first."""
    children = sorted(
        family.verified_children(parent), key=lambda child: (child.birth_date, child.id)
    )
    grants: dict[int, list[GrantView]] = {child.id: [] for child in children}
    for found in db.session.execute(
        sa.select(TrustedGrant)
        .where(TrustedGrant.child_id.in_(list(grants)))
        .order_by(TrustedGrant.created_at.desc(), TrustedGrant.id.desc())
    ).scalars():
        grants[found.child_id].append(_view(found, can_revoke=True))
    return [(child, grants[child.id]) for child in children]


def grants_for_invitee(grantee: Citizen) -> tuple[list[GrantView], list[GrantView]]:
    """``(invitations waiting for an answer, accesses accepted and not ended)``."""
    views = [
        _view(g)
        for g in db.session.execute(
            sa.select(TrustedGrant)
            .where(TrustedGrant.grantee_id == grantee.id)
            .order_by(TrustedGrant.created_at.desc(), TrustedGrant.id.desc())
        ).scalars()
    ]
    return (
        [v for v in views if v.status == WAITING],
        [v for v in views if v.status in (OPENS, ACTIVE)],
    )


def released_grants(grantee: Citizen) -> list[TrustedGrant]:
    """What the ``trusted`` claim releases: every grant to this citizen that is accepted,
    not revoked and not past ``until`` (open or not yet: the diary enforces ``opens_at``
    and ``until`` itself), whose parent still has a verified link to the child."""
    still_parent = (
        sa.select(ParentLink.id)
        .where(
            ParentLink.parent_id == TrustedGrant.granter_id,
            ParentLink.child_id == TrustedGrant.child_id,
            ParentLink.relation_verified_at.is_not(None),
        )
        .exists()
    )
    return list(
        db.session.execute(
            sa.select(TrustedGrant)
            .join(Child, Child.id == TrustedGrant.child_id)
            .where(
                TrustedGrant.grantee_id == grantee.id,
                TrustedGrant.accepted_at.is_not(None),
                TrustedGrant.revoked_at.is_(None),
                TrustedGrant.declined_at.is_(None),
                sa.or_(TrustedGrant.until.is_(None), TrustedGrant.until >= today()),
                Child.snils_verified_at.is_not(None),
                still_parent,
            )
            .order_by(TrustedGrant.accepted_at, TrustedGrant.id)
        ).scalars()
    )
