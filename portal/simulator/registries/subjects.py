"""The request body: the subject a registry is asked about, read field by field with an
error that names the field."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext

from shared.errors import ValidationError

_ISSUER_CODE = re.compile(r"^\d{3}-?\d{3}$")


def normalize_certificate_series(value: str) -> str:
    return "".join(value.split()).upper().replace("–", "-").replace("—", "-")


def invalid(field: str) -> ValidationError:
    return ValidationError(gettext("%(field)s is missing or not valid.", field=field))


def text_field(data: dict, key: str, where: str, *, required: bool = True, limit: int = 100) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise invalid(where + key)
    return value.strip()


def _date(data: dict, key: str, where: str) -> date:
    value = data.get(key)
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(where + key) from None


def _digits(data: dict, key: str, where: str, length: int) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise invalid(where + key)
    digits = value.replace(" ", "")
    if len(digits) != length or not digits.isdigit():
        raise invalid(where + key)
    return digits


def _person(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid(where.rstrip("."))
    return {
        "surname": text_field(data, "surname", where),
        "given_name": text_field(data, "given_name", where),
        "patronymic": text_field(data, "patronymic", where, required=False) or None,
        "birth_date": _date(data, "birth_date", where),
    }


def parse_subject(registry: str, subject: Any) -> dict[str, Any]:
    """The subject as the registry reads it (dates as ``date``); raises ValidationError."""
    if not isinstance(subject, dict):
        raise invalid("subject")
    where = "subject."
    if registry == "sfr":
        return {"snils": _digits(subject, "snils", where, 11), **_person(subject, where)}
    if registry == "mvd":
        issuer_code = text_field(subject, "issuer_code", where, limit=7)
        if not _ISSUER_CODE.match(issuer_code):
            raise invalid(where + "issuer_code")
        return {
            "series": _digits(subject, "series", where, 4),
            "number": _digits(subject, "number", where, 6),
            "issue_date": _date(subject, "issue_date", where),
            "issuer_code": issuer_code,
            **_person(subject, where),
        }
    if registry == "zags":
        certificate = subject.get("certificate")
        if not isinstance(certificate, dict):
            raise invalid(where + "certificate")
        series = normalize_certificate_series(
            text_field(certificate, "series", where + "certificate.", limit=10)
        )
        return {
            "certificate": {
                "series": series,
                "number": _digits(certificate, "number", where + "certificate.", 6),
                "issue_date": _date(certificate, "issue_date", where + "certificate."),
            },
            "child": _person(subject.get("child"), where + "child."),
            "parent": _person(subject.get("parent"), where + "parent."),
        }
    return {
        "code": text_field(subject, "code", where, limit=40),
        "recipient": text_field(subject, "recipient", where, limit=300),
        "address": text_field(subject, "address", where, limit=500),
    }


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value
