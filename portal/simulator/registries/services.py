"""Rules of the simulated registries: taking a request, deciding its answer, testers' controls.

The protocol is the one in docs/architecture.md ("Portal ↔ registries"): the portal sends a signed
request; the registry answers later with a signed callback (``dispatcher``). How a
registry answers is, in order: a per-number override, then the registry's rule
(``auto`` checks the reference population). ``hold`` leaves the request to a tester.

Beside it: ``subjects.py`` reads the request body, ``rules.py`` holds the testers' rules
and overrides, ``lookup.py`` the console's searches of the population and the letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.simulator.models import db
from portal.simulator.registries.models import (
    REGISTRIES,
    BirthCertificate,
    NumberOverride,
    Passport,
    Person,
    RegistryRequest,
    RegistryRule,
)
from portal.simulator.registries.subjects import (
    invalid,
    jsonable,
    normalize_certificate_series,
    parse_subject,
    text_field,
)
from shared.errors import NotFound, ValidationError
from shared.sessions import utcnow

REGISTRY_LABELS = {
    "sfr": _l("SFR (SNILS)"),
    "mvd": _l("Ministry of Internal Affairs (passports)"),
    "zags": _l("Civil registry office (birth certificates)"),
    "post": _l("Russian Post (registered letters)"),
}
REASONS = (
    "not_found",
    "name_mismatch",
    "birth_date_mismatch",
    "passport_lost",
    "passport_expired",
    "passport_replaced",
    "relation_not_confirmed",
    "certificate_not_found",
    "other",
)
# The reasons each registry can give (the console offers these).
REGISTRY_REASONS = {
    "sfr": ("not_found", "name_mismatch", "birth_date_mismatch", "other"),
    "mvd": (
        "not_found",
        "name_mismatch",
        "birth_date_mismatch",
        "passport_lost",
        "passport_expired",
        "passport_replaced",
        "other",
    ),
    "zags": (
        "certificate_not_found",
        "name_mismatch",
        "birth_date_mismatch",
        "relation_not_confirmed",
        "other",
    ),
    "post": ("not_found", "other"),
}
REASON_LABELS = {
    "not_found": _l("Not found"),
    "name_mismatch": _l("Name differs"),
    "birth_date_mismatch": _l("Birth date differs"),
    "passport_lost": _l("Passport lost"),
    "passport_expired": _l("Passport expired"),
    "passport_replaced": _l("Passport replaced"),
    "relation_not_confirmed": _l("Relation not confirmed"),
    "certificate_not_found": _l("Certificate not found"),
    "other": _l("Other (free text)"),
}
# What the registry itself says in its answer (``reason_text``): the protocol asks for
# Russian whatever language the tester's console is in.
REASON_TEXTS = {
    "not_found": "Сведения не найдены",
    "name_mismatch": "ФИО не совпадает со сведениями ведомства",
    "birth_date_mismatch": "Дата рождения не совпадает со сведениями ведомства",
    "passport_lost": "Паспорт числится утраченным",
    "passport_expired": "Паспорт недействителен: истёк срок действия",
    "passport_replaced": "Паспорт заменён на новый",
    "relation_not_confirmed": "Родство не подтверждено: заявитель не указан родителем в записи акта",
    "certificate_not_found": "Свидетельство о рождении не найдено",
    "other": "Отказано по решению ведомства",
}
RULE_OUTCOMES = ("auto", "approve", "reject", "hold")
OVERRIDE_OUTCOMES = ("approve", "reject", "hold")
DOWN_MODES = ("none", "error", "timeout")
MAX_DELAY = 86_400
# Scripts may say what they want in either tense.
_VERBS = {
    "auto": "auto",
    "approve": "approve",
    "approved": "approve",
    "delivered": "approve",
    "reject": "reject",
    "rejected": "reject",
    "hold": "hold",
    "held": "hold",
}
NON_DIGITS = re.compile(r"\D")
_CERTIFICATE = re.compile(r"^(.+?)\s*(\d{6})$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


@dataclass(frozen=True)
class Answer:
    """What a registry says. ``outcome`` None means: wait for a tester (hold)."""

    outcome: str | None
    reason: str | None = None
    reason_text: str | None = None


HOLD = Answer(None)


def require_registry(name: str) -> str:
    if name not in REGISTRIES:
        raise NotFound(gettext("There is no registry %(name)s.", name=name[:20]))
    return name


# --- names, dates and numbers as the registries compare them ---------------------------


def normalize_name(value: str | None) -> str:
    """Case-insensitive, ё = е, spaces around and doubled spaces ignored; None == ""."""
    return " ".join((value or "").split()).casefold().replace("ё", "е")


def same_person(record: Person, data: dict[str, Any]) -> bool:
    return same_name(record, data) and record.birth_date == data["birth_date"]


def same_name(record: Person, data: dict[str, Any]) -> bool:
    return all(
        normalize_name(getattr(record, part)) == normalize_name(data.get(part))
        for part in ("surname", "given_name", "patronymic")
    )


def override_key(registry: str, raw: str) -> str:
    """The canonical override key: SNILS digits, passport series+number, certificate
    ``series number``, letter code."""
    text = (raw or "").strip()
    if registry in ("sfr", "mvd"):
        digits = NON_DIGITS.sub("", text)
        if len(digits) != (11 if registry == "sfr" else 10) or len(digits) != len(
            re.sub(r"[\s-]", "", text)
        ):
            raise ValidationError(
                gettext("SNILS: 11 digits.")
                if registry == "sfr"
                else gettext("Passport: 4 digits of the series and 6 of the number.")
            )
        return digits
    if registry == "zags":
        match = _CERTIFICATE.match(text)
        if not match or not match.group(1).strip():
            raise ValidationError(gettext('Certificate: series and number, e.g. "IV-МЮ 512345".'))
        return f"{normalize_certificate_series(match.group(1))} {match.group(2)}"
    if not text or len(text) > 40:
        raise ValidationError(gettext("Give the letter's code."))
    return text.upper()


def subject_key(registry: str, subject: dict[str, Any]) -> str:
    if registry == "sfr":
        return subject["snils"]
    if registry == "mvd":
        return subject["series"] + subject["number"]
    if registry == "zags":
        certificate = subject["certificate"]
        return f"{certificate['series']} {certificate['number']}"
    return subject["code"].upper()


# --- the checks against the reference population ------------------------------------


def _rejected(reason: str) -> Answer:
    return Answer("rejected", reason, REASON_TEXTS[reason])


APPROVED = Answer("approved")


def check_sfr(subject: dict[str, Any]) -> Answer:
    person = db.session.execute(
        sa.select(Person).where(Person.snils == subject["snils"])
    ).scalar_one_or_none()
    if person is None:
        return _rejected("not_found")
    if not same_name(person, subject):
        return _rejected("name_mismatch")
    if person.birth_date != subject["birth_date"]:
        return _rejected("birth_date_mismatch")
    return APPROVED


def check_mvd(subject: dict[str, Any]) -> Answer:
    passport = db.session.execute(
        sa.select(Passport).where(
            Passport.series == subject["series"], Passport.number == subject["number"]
        )
    ).scalar_one_or_none()
    if passport is None:
        return _rejected("not_found")
    if passport.status != "valid":
        return _rejected(f"passport_{passport.status}")
    if not same_name(passport.person, subject):
        return _rejected("name_mismatch")
    if passport.person.birth_date != subject["birth_date"]:
        return _rejected("birth_date_mismatch")
    if passport.issue_date != subject["issue_date"]:
        return _rejected("not_found")
    return APPROVED


def check_zags(subject: dict[str, Any]) -> Answer:
    given = subject["certificate"]
    certificate = db.session.execute(
        sa.select(BirthCertificate).where(
            BirthCertificate.series == given["series"], BirthCertificate.number == given["number"]
        )
    ).scalar_one_or_none()
    # A certificate with another issue date is not the one the parent holds.
    if certificate is None or certificate.issue_date != given["issue_date"]:
        return _rejected("certificate_not_found")
    if not same_name(certificate.child, subject["child"]):
        return _rejected("name_mismatch")
    if certificate.child.birth_date != subject["child"]["birth_date"]:
        return _rejected("birth_date_mismatch")
    parents = [p for p in (certificate.mother, certificate.father) if p is not None]
    if not any(same_person(p, subject["parent"]) for p in parents):
        return _rejected("relation_not_confirmed")
    return APPROVED


AUTO_CHECKS = {
    "sfr": check_sfr,
    "mvd": check_mvd,
    "zags": check_zags,
    "post": lambda _subject: Answer("delivered"),
}


# --- deciding the answer --------------------------------------------------------------


def checked_verb(value: Any, allowed: tuple[str, ...], field: str) -> str:
    verb = _VERBS.get(str(value or "").strip().lower())
    if verb not in allowed:
        raise ValidationError(
            gettext("%(field)s must be one of: %(values)s.", field=field, values=", ".join(allowed))
        )
    return verb


def checked_reason(reason: Any, reason_text: Any) -> tuple[str, str]:
    reason = str(reason or "other").strip()
    if reason not in REASONS:
        raise ValidationError(
            gettext("reason must be one of: %(values)s.", values=", ".join(REASONS))
        )
    if reason_text is not None and not isinstance(reason_text, str):
        raise invalid("reason_text")
    text = (reason_text or "").strip()
    if len(text) > 500:
        raise ValidationError(gettext("The reason text is longer than 500 characters."))
    return reason, text or REASON_TEXTS[reason]


def make_answer(registry: str, verb: str, reason: Any = None, reason_text: Any = None) -> Answer:
    """The answer for a tester's or a rule's ``approve``/``reject``/``hold``."""
    if verb == "hold":
        return HOLD
    if verb == "approve":
        return Answer("delivered" if registry == "post" else "approved")
    return Answer("rejected", *checked_reason(reason, reason_text))


def evaluate(registry: str, subject: dict[str, Any]) -> Answer:
    """Override for the number, else the rule; ``auto`` checks the population."""
    override = db.session.execute(
        sa.select(NumberOverride).where(
            NumberOverride.registry_name == registry,
            NumberOverride.key == subject_key(registry, subject),
        )
    ).scalar_one_or_none()
    if override is not None:
        return make_answer(registry, override.outcome, override.reason, override.reason_text)
    rule = get_rule(registry)
    if rule.default_outcome == "auto":
        return AUTO_CHECKS[registry](subject)
    return make_answer(registry, rule.default_outcome, rule.reason, rule.reason_text)


def _schedule(record: RegistryRequest, answer: Answer, due: datetime) -> None:
    record.outcome, record.reason, record.reason_text = (
        answer.outcome,
        answer.reason,
        answer.reason_text,
    )
    if answer.outcome is None:
        record.status, record.due_at = "held", None
    else:
        record.status, record.due_at = "pending", due


def find_request(registry: str, request_id: str) -> RegistryRequest | None:
    return db.session.execute(
        sa.select(RegistryRequest).where(
            RegistryRequest.registry_name == registry, RegistryRequest.request_id == request_id
        )
    ).scalar_one_or_none()


def get_request(registry: str, request_id: str) -> RegistryRequest:
    record = find_request(require_registry(registry), request_id)
    if record is None:
        raise NotFound(gettext("There is no such request."))
    return record


def receive_request(
    registry: str, payload: Any, now: datetime | None = None
) -> tuple[RegistryRequest, bool]:
    """Take a (verified) request from the portal. Returns the request and whether it is new.

    The same ``request_id`` again changes nothing (the protocol is idempotent).
    """
    require_registry(registry)
    if not isinstance(payload, dict):
        raise invalid("body")
    request_id = text_field(payload, "request_id", "")
    callback_url = text_field(payload, "callback_url", "", limit=500)
    if not _URL.match(callback_url):
        raise invalid("callback_url")
    existing = find_request(registry, request_id)
    if existing is not None:
        return existing, False
    subject = parse_subject(registry, payload.get("subject"))
    now = now or utcnow()
    record = RegistryRequest(
        registry_name=registry,
        request_id=request_id,
        callback_url=callback_url,
        subject=jsonable(subject),
        received_at=now,
    )
    _schedule(
        record,
        evaluate(registry, subject),
        now + timedelta(seconds=get_rule(registry).delay_seconds),
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:  # the same request arrived twice at once
        db.session.rollback()
        return get_request(registry, request_id), False
    return record, True


def decide(
    registry: str,
    request_id: str,
    outcome: Any,
    reason: Any = None,
    reason_text: Any = None,
    now: datetime | None = None,
) -> RegistryRequest:
    """A tester's decision: approve or reject now, or hold.

    Deciding an answered request sends a new answer (a new callback); an older answer not
    yet delivered is dropped, so the portal hears the latest decision.
    """
    record = get_request(registry, request_id)
    answer = make_answer(
        registry, checked_verb(outcome, OVERRIDE_OUTCOMES, "outcome"), reason, reason_text
    )
    if answer is HOLD and record.status == "answered":
        raise ValidationError(
            gettext("This request is answered already; approve or reject it to send a new answer.")
        )
    for delivery in record.deliveries:
        if delivery.delivered_at is None and delivery.next_attempt_at is not None:
            delivery.next_attempt_at = None
            delivery.last_error = "superseded by a newer answer"
    _schedule(record, answer, now or utcnow())
    db.session.commit()
    return record


def list_requests(
    registry: str, status: str | None = None, limit: int = 200
) -> list[RegistryRequest]:
    query = (
        sa.select(RegistryRequest)
        .where(RegistryRequest.registry_name == require_registry(registry))
        .order_by(RegistryRequest.received_at.desc(), RegistryRequest.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if status:
        query = query.where(RegistryRequest.status == status)
    return list(db.session.execute(query).scalars())


# --- the rule in force (set in rules.py) -----------------------------------------------


def get_rule(registry: str) -> RegistryRule:
    """The registry's rule; until a tester sets one, ``auto`` with no delay, not down."""
    rule = db.session.get(RegistryRule, require_registry(registry))
    if rule is None:
        rule = RegistryRule(
            registry_name=registry,
            default_outcome="auto",
            reason=None,
            reason_text=None,
            delay_seconds=0,
            down="none",
        )
    return rule
