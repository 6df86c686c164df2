"""What a sign-in changes in the family: the auth room records who signed in and sends
``signals.person_signed_in``; the family brings the person's links in line with the
claims, inside the sign-in's transaction (the sender commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from diary_service.family.portal_links import follow_portal_children
from diary_service.family.trusted import follow_trusted_grants, trusted_grants
from diary_service.models.auth import DiaryPerson
from diary_service.signals import person_signed_in


def init_sign_in(app: Flask) -> None:
    """Listen to this app's sign-ins. Called once by ``create_app``."""
    person_signed_in.connect(follow_sign_in, sender=app)


def follow_sign_in(
    sender: Flask, *, person: DiaryPerson, claims: dict[str, Any], index_key: str, now: datetime
) -> None:
    """Each verified child found in the student register opens their diary; a child the
    portal no longer lists closes it (``family.links``). Then the grants of the person as
    a trusted person (``family.trusted``), after the parent links: a parent needs no
    trusted link to their own child."""
    follow_portal_children(person, now)
    follow_trusted_grants(person, trusted_grants(claims, index_key), now)
