"""Rules of linking people to the region's records beyond what the school types in.

- The portal's verified children: at every sign-in, each child whose SNILS (its keyed
  hash) and birth date both match a student of the region is linked to the parent as
  legal representative (source ``portal``), with the reason recorded; a child the portal
  no longer lists is unlinked. Links the school made are never touched here.
- Access codes: the school administrator or the class teacher issues a one-time code
  per student and parent place (1 or 2); a signed-in parent enters it and becomes the
  student's guardian (source ``code``).
- Staff invitations: a one-time code that ties a staff record the diary could not match
  by SNILS to whoever enters it.

Codes are ``CODE_LENGTH`` characters of an alphabet without look-alikes (no 0/O, 1/I),
printed once on a slip and stored only as an HMAC-SHA256 under ``LINK_CODE_KEY``: a
stolen database gives no usable code. A wrong, used, expired or revoked code gets one
and the same answer (``InvalidCode``), so trying codes tells nothing; the entry form is
rate limited by the views.

One module a way: ``portal_links``, ``codes`` (and what every code shares),
``invitations``, ``redeem`` (entering a code); this module re-exports them for the
views.
"""

from __future__ import annotations

from diary_service.family.codes import (
    ACCESS_CODE,
    CODE_ALPHABET,
    CODE_LENGTH,
    DEFAULT_VALIDITY,
    INVALID_CODE,
    MAX_VALIDITY,
    STAFF_INVITATION,
    ClassIssue,
    InvalidCode,
    IssuedCode,
    Place,
    StudentCodes,
    administered_schools,
    check_expiry,
    class_codes,
    code_hash,
    format_code,
    get_school,
    get_staff,
    issue_class_codes,
    issue_code,
    issuing_classes,
    link_reason,
    new_code,
    normalize_code,
    revoke_code,
    students_in,
)
from diary_service.family.invitations import (
    IssuedInvitation,
    StaffRow,
    issue_invitation,
    staff_invitations,
)
from diary_service.family.portal_links import (
    UnlinkedChild,
    follow_portal_children,
    unlinked_children,
)
from diary_service.family.redeem import Redeemed, redeem_code

__all__ = [
    "ACCESS_CODE",
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "DEFAULT_VALIDITY",
    "INVALID_CODE",
    "MAX_VALIDITY",
    "STAFF_INVITATION",
    "ClassIssue",
    "InvalidCode",
    "IssuedCode",
    "IssuedInvitation",
    "Place",
    "Redeemed",
    "StaffRow",
    "StudentCodes",
    "UnlinkedChild",
    "administered_schools",
    "check_expiry",
    "class_codes",
    "code_hash",
    "follow_portal_children",
    "format_code",
    "get_school",
    "get_staff",
    "issue_class_codes",
    "issue_code",
    "issue_invitation",
    "issuing_classes",
    "link_reason",
    "new_code",
    "normalize_code",
    "redeem_code",
    "revoke_code",
    "staff_invitations",
    "students_in",
    "unlinked_children",
]
