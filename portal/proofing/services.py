"""Rules of identity proofing: personal data, documents, registry checks, account levels.

Levels (the ``acr`` later): *simplified* after registration; *standard* when the Social
Fund (СФР) has confirmed the SNILS and the Interior Ministry (МВД) the passport;
*confirmed* when, on top of that, identity was proven in person at a service centre or
by the code of a registered letter. Changing a checked field sends it back to checking.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.identity import notifications
from portal.identity.models import Citizen
from portal.identity.services import Origin, record_event
from portal.proofing import checks
from portal.proofing.models import Document, LetterCode, VerificationCheck
from shared import validators
from shared.crypto import pii, seal, unseal
from shared.errors import DomainError, Forbidden, ValidationError
from shared.i18n import local_today

LEVELS = ("simplified", "standard", "confirmed")
OPTIONAL_DOCUMENTS = ("inn", "oms", "driving_licence")

REASONS = {
    "not_found": _l("The registry has no record with these data. Check the number and the dates."),
    "name_mismatch": _l(
        "The name does not match the registry's record. Enter it exactly as in the document."
    ),
    "birth_date_mismatch": _l("The birth date does not match the registry's record."),
    "passport_lost": _l("This passport is registered as lost. Enter your valid passport."),
    "passport_expired": _l("This passport has expired. Enter your valid passport."),
    "passport_replaced": _l(
        "This passport has been replaced by a new one. Enter the new passport."
    ),
    "certificate_not_found": _l("The civil registry has no birth certificate with these data."),
    "relation_not_confirmed": _l(
        "The civil registry does not name you as a parent on this birth certificate."
    ),
}
CHECK_NAMES = {
    "snils": _l("SNILS (Social Fund)"),
    "passport": _l("Passport (Ministry of Internal Affairs)"),
    "letter": _l("Registered letter (Russian Post)"),
    "child_relation": _l("Birth certificate (civil registry)"),
    "child_snils": _l("Child's SNILS (Social Fund)"),
}


class DuplicateSnils(DomainError):
    code = "duplicate_snils"
    default_message = _l(
        "An account with this SNILS already exists. If it is yours, restore access to it "
        "with “Forgot your password?” on the sign-in page."
    )


class ProfileIncomplete(ValidationError):
    default_message = _l("Fill in your birth date in the personal data first.")


class LevelTooLow(Forbidden):
    default_message = _l(
        "This needs a standard account: your SNILS and passport must be verified first."
    )


class AlreadyConfirmed(ValidationError):
    default_message = _l("The identity is already confirmed.")


class NoLetterWaiting(ValidationError):
    default_message = _l(
        "There is no letter waiting for a code, or its code has expired. Ask for a new letter."
    )


def validation_error(reason: str) -> ValidationError:
    texts = {
        "snils_format": _l("Enter the SNILS as 11 digits: 123-456-789 01."),
        "snils_checksum": _l("The SNILS has a wrong check number. Check the digits."),
        "passport_series_format": _l("The passport series is 4 digits."),
        "passport_number_format": _l("The passport number is 6 digits."),
        "issuer_code_format": _l("The issuer code looks like 770-001."),
        "passport_issued_before_14": _l(
            "A passport is issued at 14 or later: check the issue date."
        ),
        "date_in_future": _l("The date cannot be in the future."),
        "inn_format": _l("A citizen's INN is 12 digits."),
        "inn_checksum": _l("The INN has a wrong check number. Check the digits."),
        "oms_format": _l("The OMS policy number is 16 digits."),
        "driving_licence_format": _l(
            "Enter the driving licence as 4 characters and 6 digits: 77 АВ 123456."
        ),
    }
    return ValidationError(texts.get(reason, _l("Check the data you entered.")))


def _clean(value: str | None, limit: int) -> str | None:
    value = " ".join((value or "").split())
    return value[:limit] or None


# --- profile ------------------------------------------------------------------------


def update_profile(citizen: Citizen, data: dict[str, Any], origin: Origin) -> None:
    """Save personal data; a change to what the registries checked sends it back to checking."""
    today = local_today()
    birth_date: date | None = data.get("birth_date")
    if birth_date is not None and (birth_date > today or birth_date < date(1900, 1, 1)):
        raise ValidationError(_l("Check the birth date."))
    if data.get("gender") not in ("M", "F"):
        raise ValidationError(_l("Choose the gender."))
    for field in ("surname", "given_name"):
        if not _clean(data.get(field), 100):
            raise ValidationError(_l("Surname and name are required."))
    checked_before = (citizen.surname, citizen.given_name, citizen.patronymic, citizen.birth_date)
    citizen.surname = _clean(data["surname"], 100)
    citizen.given_name = _clean(data["given_name"], 100)
    citizen.patronymic = _clean(data.get("patronymic"), 100)
    citizen.gender = data["gender"]
    citizen.birth_date = birth_date
    citizen.birth_place = _clean(data.get("birth_place"), 200)
    citizen.citizenship = (data.get("citizenship") or "RUS")[:3]
    citizen.registration_address = _clean(data.get("registration_address"), 300)
    citizen.actual_address = _clean(data.get("actual_address"), 300) or citizen.registration_address
    record_event(citizen, "profile_changed", origin)
    db.session.commit()
    if checked_before != (
        citizen.surname,
        citizen.given_name,
        citizen.patronymic,
        citizen.birth_date,
    ):
        for kind in ("snils", "passport"):
            if latest_check(citizen, kind) is not None:
                start_check(citizen, kind)
        recompute_level(citizen, origin)


# --- documents ----------------------------------------------------------------------


def set_snils(citizen: Citizen, raw: str, origin: Origin) -> None:
    """Record the SNILS (one SNILS, one account) and send it to the Social Fund."""
    try:
        digits = validators.normalize_snils(raw)
    except ValueError as exc:
        raise validation_error(str(exc)) from exc
    if citizen.birth_date is None:
        raise ProfileIncomplete()
    index = pii().blind_index(digits, field="snils")
    owner = db.session.execute(
        sa.select(Citizen.id).where(Citizen.snils_index == index)
    ).scalar_one_or_none()
    if owner is not None and owner != citizen.id:
        raise DuplicateSnils()
    if (
        owner == citizen.id
        and (check := latest_check(citizen, "snils"))
        and check.status != "rejected"
    ):
        return  # the same number again: nothing to re-check
    seal(citizen, snils_encrypted=digits)
    citizen.snils_index = index
    record_event(citizen, "document_changed", origin, document="snils")
    db.session.commit()
    start_check(citizen, "snils")
    recompute_level(citizen, origin)


def set_passport(citizen: Citizen, data: dict[str, Any], origin: Origin) -> None:
    """Record the passport of a citizen of Russia and send it to the Interior Ministry."""
    if citizen.birth_date is None:
        raise ProfileIncomplete()
    try:
        series = validators.normalize_passport_series(data.get("series", ""))
        number = validators.normalize_passport_number(data.get("number", ""))
        issuer_code = validators.normalize_issuer_code(data.get("issuer_code", ""))
        issue_date: date | None = data.get("issue_date")
        if issue_date is None:
            raise ValueError("date_required")
        validators.check_passport_issue_date(issue_date, citizen.birth_date, local_today())
    except ValueError as exc:
        raise validation_error(str(exc)) from exc
    issuer = _clean(data.get("issuer"), 200)
    if not issuer:
        raise ValidationError(_l("Enter who issued the passport."))
    value = f"{series} {number}"
    details = {"issue_date": issue_date.isoformat(), "issuer": issuer, "issuer_code": issuer_code}
    document = _document(citizen, "passport")
    if document is not None and _decrypt(document) == value and document.details == details:
        check = latest_check(citizen, "passport")
        if check is not None and check.status != "rejected":
            return
    _store_document(citizen, "passport", value, details)
    record_event(citizen, "document_changed", origin, document="passport")
    db.session.commit()
    start_check(citizen, "passport")
    recompute_level(citizen, origin)


def set_optional_document(citizen: Citizen, kind: str, raw: str, origin: Origin) -> None:
    """INN, OMS policy or driving licence: kept encrypted, not sent to a registry."""
    normalise = {
        "inn": validators.normalize_personal_inn,
        "oms": validators.normalize_oms_policy,
        "driving_licence": validators.normalize_driving_licence,
    }[kind]
    try:
        value = normalise(raw)
    except ValueError as exc:
        raise validation_error(str(exc)) from exc
    _store_document(citizen, kind, value, {})
    record_event(citizen, "document_changed", origin, document=kind)
    db.session.commit()


def _document(citizen: Citizen, kind: str) -> Document | None:
    return db.session.execute(
        sa.select(Document).where(Document.citizen_id == citizen.id, Document.kind == kind)
    ).scalar_one_or_none()


def _decrypt(document: Document) -> str:
    return unseal(document, "number_encrypted")


def _store_document(citizen: Citizen, kind: str, value: str, details: dict) -> Document:
    document = _document(citizen, kind) or Document(citizen_id=citizen.id, kind=kind)
    document.number_index = pii().blind_index(value, field=f"document:{kind}")
    document.details = details
    db.session.add(document)
    seal(document, number_encrypted=value)
    return document


def documents_of(citizen: Citizen, reveal: bool = False) -> dict[str, dict[str, Any]]:
    """What the owner sees of their documents: masked unless ``reveal``."""
    shown: dict[str, dict[str, Any]] = {}
    if citizen.snils_encrypted:
        digits = unseal(citizen, "snils_encrypted")
        shown["snils"] = {
            "number": validators.format_snils(digits) if reveal else validators.mask_snils(digits),
            "check": latest_check(citizen, "snils"),
        }
    rows = db.session.execute(
        sa.select(Document).where(Document.citizen_id == citizen.id)
    ).scalars()
    for document in rows:
        value = _decrypt(document)
        shown[document.kind] = {
            "number": value if reveal else validators.mask_document(value),
            "details": document.details,
            "check": latest_check(citizen, document.kind) if document.kind == "passport" else None,
        }
    return shown


# --- checks -------------------------------------------------------------------------


def latest_check(citizen: Citizen, kind: str) -> VerificationCheck | None:
    return checks.latest_check(citizen.id, kind)


def start_check(citizen: Citizen, kind: str) -> VerificationCheck:
    return checks.start_check(citizen.id, kind)


def person_of(surname, given_name, patronymic, birth_date) -> dict[str, Any]:
    """A person as the registries compare them."""
    return {
        "surname": surname,
        "given_name": given_name,
        "patronymic": patronymic,
        "birth_date": birth_date.isoformat() if birth_date else None,
    }


def _citizen_person(citizen: Citizen) -> dict[str, Any]:
    return person_of(citizen.surname, citizen.given_name, citizen.patronymic, citizen.birth_date)


def _snils_subject(check: VerificationCheck) -> dict[str, Any]:
    citizen = db.session.get(Citizen, check.citizen_id)
    return {
        "snils": unseal(citizen, "snils_encrypted"),
        **_citizen_person(citizen),
    }


def _passport_subject(check: VerificationCheck) -> dict[str, Any]:
    citizen = db.session.get(Citizen, check.citizen_id)
    document = _document(citizen, "passport")
    series, number = _decrypt(document).split()
    details = document.details
    return {
        "series": series,
        "number": number,
        "issue_date": details["issue_date"],
        "issuer_code": details["issuer_code"],
        **_citizen_person(citizen),
    }


def _letter_subject(check: VerificationCheck) -> dict[str, Any]:
    citizen = db.session.get(Citizen, check.citizen_id)
    letter = db.session.execute(
        sa.select(LetterCode).where(LetterCode.check_id == check.id)
    ).scalar_one()
    return {
        "code": unseal(letter, "code_encrypted"),
        "recipient": citizen.full_name,
        "address": letter.address,
    }


# Other rooms that care when a citizen's SNILS is confirmed (the family room links a
# child's own account to the parents' record of the child).
SNILS_CONFIRMED: list[Callable[[Citizen], None]] = []


def _after_document_check(check: VerificationCheck) -> None:
    citizen = db.session.get(Citizen, check.citizen_id)
    recompute_level(citizen, Origin())
    if check.kind == "snils" and check.status == "approved":
        for listener in SNILS_CONFIRMED:
            listener(citizen)
    tell_check_result(citizen, check)


def _after_letter(check: VerificationCheck) -> None:
    """The Post has the letter: nothing changes until the citizen enters its code."""


def reason_text(check: VerificationCheck) -> str:
    if check.reason in REASONS:
        return str(REASONS[check.reason])
    return check.reason_text or gettext("The registry did not confirm the data.")


def tell_check_result(citizen: Citizen, check: VerificationCheck) -> None:
    with force_locale(citizen.locale):
        name = str(CHECK_NAMES[check.kind])
        if check.status == "approved":
            body = gettext("%(what)s: the check is complete, the data are confirmed.", what=name)
        else:
            body = gettext(
                "%(what)s: the data were not confirmed. %(reason)s",
                what=name,
                reason=reason_text(check),
            )
        notifications.tell_owner(citizen, gettext("Check of your data"), body)


# --- levels -------------------------------------------------------------------------


def has_standard_basis(citizen: Citizen) -> bool:
    checks = [latest_check(citizen, kind) for kind in ("snils", "passport")]
    return all(check is not None and check.status == "approved" for check in checks)


def recompute_level(citizen: Citizen, origin: Origin) -> str:
    """Set the level from the latest checks.

    Two registries may answer at the same moment, each in its own request. Each request
    first takes the citizen's row for writing (a no-op UPDATE: a row lock on PostgreSQL,
    the write lock on SQLite), then reads the checks, so the later one always sees the
    earlier one's answer and neither overwrites the other's level with a stale one.
    """
    db.session.commit()
    db.session.execute(
        sa.update(Citizen).where(Citizen.id == citizen.id).values(level=Citizen.level)
    )
    db.session.refresh(citizen)
    level = "simplified"
    if has_standard_basis(citizen):
        level = "confirmed" if citizen.confirmed_at else "standard"
    if level != citizen.level:
        record_event(citizen, "level_changed", origin, old=citizen.level, new=level)
        citizen.level = level
    db.session.commit()
    return level


def is_at_least(citizen: Citizen, level: str) -> bool:
    return LEVELS.index(citizen.level) >= LEVELS.index(level)


checks.register_kind("snils", "sfr", _snils_subject, _after_document_check)
checks.register_kind("passport", "mvd", _passport_subject, _after_document_check)
checks.register_kind("letter", "post", _letter_subject, _after_letter)
