"""What each scope releases: the one place that decides which claims leave the portal.

Scopes follow ESIA's vocabulary (identity-and-oidc.md §2.3) where the OIDC standard has
none, folded into fewer, plainer scopes a consent page can explain:

======== ================================== ========== ==================================
scope    ESIA scopes it stands for          min level  claims
======== ================================== ========== ==================================
openid   openid                             simplified (``sub`` only, added by the caller)
profile  fullname, birthdate, gender        simplified family_name, given_name,
                                                       middle_name, name, gender, birthdate,
                                                       locale (OIDC Core §5.1)
email    email                              simplified email, email_verified
phone    mobile                             simplified phone_number, phone_number_verified
snils    snils                              standard   snils (only when СФР approved it)
id_doc   id_doc                             standard   id_doc (only when МВД approved it)
kids     kid_fullname, kid_birthdate,       standard   kids (only verified children)
         kid_gender, kid_snils,
         kid_birth_cert_doc
trusted  (none)                             standard   trusted (children whose diary a
                                                       parent granted this citizen:
                                                       accepted, not revoked, not past
                                                       ``until``; see ``_trusted``)
======== ================================== ========== ==================================

Levels are the ``acr`` values: ``urn:gosdiary:acr:<level>``.

Personal data: this module decrypts SNILS, passport and birth-certificate numbers and
hands them to the caller; it never logs them, and nothing here puts them in an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.family.models import Child
from portal.family.services import verified_children
from portal.family.trusted_queries import released_grants
from portal.identity.models import Citizen
from portal.proofing.models import Document
from portal.proofing.services import LEVELS, is_at_least, latest_check
from shared.crypto import unseal
from shared.federation import utc_text
from shared.validators import format_snils

# --- levels of assurance (acr) ------------------------------------------------------

ACR_PREFIX = "urn:gosdiary:acr:"


def acr_for(level: str) -> str:
    """The ``acr`` URN of an account level: ``"standard"`` → ``"urn:gosdiary:acr:standard"``.

    Raises ``ValueError`` for a level the portal does not have.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    return ACR_PREFIX + level


def level_for_acr(acr: str) -> str | None:
    """The account level an ``acr`` value names, or ``None`` if it names none of ours."""
    if not acr or not acr.startswith(ACR_PREFIX):
        return None
    level = acr.removeprefix(ACR_PREFIX)
    return level if level in LEVELS else None


# Lowest first, as ``acr_values_supported`` in the discovery document.
ACR_VALUES_SUPPORTED = [acr_for(level) for level in LEVELS]


# --- scopes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeSpec:
    """A scope: the lowest account level that may release it, the claims it may release
    and the plain words the consent page shows for it."""

    name: str
    min_level: str
    claims: tuple[str, ...]
    description: LazyString


SCOPES: dict[str, ScopeSpec] = {
    spec.name: spec
    for spec in (
        ScopeSpec("openid", "simplified", (), _l("That it is you: your account identifier")),
        ScopeSpec(
            "profile",
            "simplified",
            (
                "family_name",
                "given_name",
                "middle_name",
                "name",
                "gender",
                "birthdate",
                "locale",
            ),
            _l("Your surname, name, patronymic, gender and birth date"),
        ),
        ScopeSpec(
            "email",
            "simplified",
            ("email", "email_verified"),
            _l("Your e-mail address"),
        ),
        ScopeSpec(
            "phone",
            "simplified",
            ("phone_number", "phone_number_verified"),
            _l("Your mobile phone number"),
        ),
        ScopeSpec("snils", "standard", ("snils",), _l("Your SNILS")),
        ScopeSpec(
            "id_doc",
            "standard",
            ("id_doc",),
            _l("Your passport: series, number, issue date and issuer"),
        ),
        ScopeSpec(
            "kids",
            "standard",
            ("kids",),
            _l(
                "Your children confirmed by the registries: their names, birth dates, "
                "gender, SNILS and birth certificates"
            ),
        ),
        ScopeSpec(
            "trusted",
            "standard",
            ("trusted",),
            _l("Children whose data you were given access to as a trusted person"),
        ),
    )
}

SCOPES_SUPPORTED = list(SCOPES)

# Registered ID-token claims (OIDC Core §2) first, then every claim a scope can release.
CLAIMS_SUPPORTED = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    *(claim for spec in SCOPES.values() for claim in spec.claims),
]


def allowed_scopes(citizen: Citizen, requested: list[str]) -> tuple[list[str], list[str]]:
    """Split the requested scopes into those the citizen's level allows and those it does
    not, each in the order requested, without repeats. Unknown scopes are in neither: the
    authorization server has already refused them or the client may not ask for them."""
    granted: list[str] = []
    refused: list[str] = []
    for name in dict.fromkeys(requested):
        spec = SCOPES.get(name)
        if spec is None:
            continue
        (granted if is_at_least(citizen, spec.min_level) else refused).append(name)
    return granted, refused


def describe(scopes: list[str]) -> list[tuple[str, str]]:
    """``(scope, description)`` for the consent page, translated into the current locale,
    in the order of ``SCOPES_SUPPORTED``; unknown scopes are left out."""
    wanted = set(scopes)
    return [(name, str(spec.description)) for name, spec in SCOPES.items() if name in wanted]


def claims_for(citizen: Citizen, scopes: list[str]) -> dict[str, Any]:
    """The claims these scopes release for this citizen now (never ``sub``: the caller adds
    it). A claim without a value is left out (OIDC Core §5.3.2).

    The level is checked again here, not only at consent: an account whose verified data
    changed goes back to *simplified* until the registries confirm them again, and its
    standard-level claims stop leaving with it.
    """
    claims: dict[str, Any] = {}
    for name in dict.fromkeys(scopes):
        spec = SCOPES.get(name)
        if spec is None or not is_at_least(citizen, spec.min_level):
            continue
        claims.update(_RELEASE[name](citizen))
    return claims


# --- what each scope releases -------------------------------------------------------

# OIDC Core §5.1: "female" and "male" are the defined values of ``gender``.
_GENDERS = {"F": "female", "M": "male"}


def _present(claims: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in claims.items() if value is not None}


def _openid(citizen: Citizen) -> dict[str, Any]:
    return {}


def _profile(citizen: Citizen) -> dict[str, Any]:
    return _present(
        {
            "family_name": citizen.surname,
            "given_name": citizen.given_name,
            "middle_name": citizen.patronymic,
            "name": citizen.full_name,
            "gender": _GENDERS.get(citizen.gender or ""),
            "birthdate": citizen.birth_date.isoformat() if citizen.birth_date else None,
            "locale": citizen.locale,
        }
    )


def _email(citizen: Citizen) -> dict[str, Any]:
    if not citizen.email:
        return {}
    return {"email": citizen.email, "email_verified": citizen.email_verified_at is not None}


def _phone(citizen: Citizen) -> dict[str, Any]:
    # Stored normalised as "+79XXXXXXXXX", which is already E.164 (OIDC Core §5.1).
    if not citizen.phone:
        return {}
    return {
        "phone_number": citizen.phone,
        "phone_number_verified": citizen.phone_verified_at is not None,
    }


def _is_approved(citizen: Citizen, kind: str) -> bool:
    check = latest_check(citizen, kind)
    return check is not None and check.status == "approved"


def _snils(citizen: Citizen) -> dict[str, Any]:
    # A SNILS the Social Fund has not (or not yet, or no longer) confirmed is not released.
    if not citizen.snils_encrypted or not _is_approved(citizen, "snils"):
        return {}
    return {"snils": format_snils(unseal(citizen, "snils_encrypted"))}


def _id_doc(citizen: Citizen) -> dict[str, Any]:
    if not _is_approved(citizen, "passport"):
        return {}
    document = db.session.execute(
        sa.select(Document).where(Document.citizen_id == citizen.id, Document.kind == "passport")
    ).scalar_one_or_none()
    if document is None:
        return {}
    series, number = unseal(document, "number_encrypted").split()
    details = document.details
    return {
        "id_doc": {
            "type": "RF_PASSPORT",  # ESIA's document type (identity-and-oidc.md §2.4)
            "series": series,
            "number": number,
            "issue_date": details.get("issue_date"),
            "issuer": details.get("issuer"),
            "issuer_code": details.get("issuer_code"),
        }
    }


def child_identity(child: Child) -> dict[str, Any]:
    """Who a verified child is, as every message about them leaves the portal (``kids``,
    ``trusted``, a service application): the child record's id (stable, the same for
    both parents), names, birth date, gender and SNILS; absent values left out."""
    return _present(
        {
            "id": child.public_id,
            "family_name": child.surname,
            "given_name": child.given_name,
            "middle_name": child.patronymic,
            "birthdate": child.birth_date.isoformat(),
            "gender": _GENDERS.get(child.gender),
            "snils": format_snils(unseal(child, "snils_encrypted")),
        }
    )


def _kid(child: Child) -> dict[str, Any]:
    series, number = unseal(child, "certificate_encrypted").split()
    details = child.certificate_details
    return {
        **child_identity(child),
        "birth_cert": {
            "series": series,
            "number": number,
            "issue_date": details.get("issue_date"),
            "registry_office": details.get("registry_office"),
        },
    }


def _kids(citizen: Citizen) -> dict[str, Any]:
    # Only children the civil registry and the Social Fund have both confirmed.
    children = sorted(verified_children(citizen), key=lambda child: (child.birth_date, child.id))
    return {"kids": [_kid(child) for child in children]}


def _trusted(citizen: Citizen) -> dict[str, Any]:
    # Every grant to this citizen that is accepted, not revoked and not past ``until``,
    # including those not open yet: the diary enforces ``opens_at`` and ``until`` itself,
    # so access opens and ends on time without a new sign-in. The child's identity is
    # the ``kids`` entry's (same ``id``, so a diary matches the same student record)
    # without the birth certificate, which a trusted person has no need of.
    entries = []
    for grant in released_grants(citizen):
        entries.append(
            {
                "grant": grant.public_id,
                **child_identity(grant.child),
                # The granting parent: a diary that knows the child only through this
                # parent's own link (a code, the school) finds the student that way.
                "granted_by": grant.granter.public_id,
                "sections": list(grant.sections),
                "opens_at": utc_text(grant.opens_at),
                "until": grant.until.isoformat() if grant.until else None,
            }
        )
    return {"trusted": entries}


_RELEASE: dict[str, Callable[[Citizen], dict[str, Any]]] = {
    "openid": _openid,
    "profile": _profile,
    "email": _email,
    "phone": _phone,
    "snils": _snils,
    "id_doc": _id_doc,
    "kids": _kids,
    "trusted": _trusted,
}
