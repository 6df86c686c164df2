"""Pure validators and normalisers for identifiers people type.

Each returns the canonical form or raises ``ValueError`` with a short reason code; the
forms translate the reason for the user.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

_NON_DIGITS = re.compile(r"\D")
_SNILS_SHAPE = re.compile(r"^\d{3}-?\d{3}-?\d{3}[ -]?\d{2}$")


def normalize_phone(raw: str) -> str:
    """A Russian mobile number as ``+79XXXXXXXXX``.

    Accepts ``+7 912 345-67-89``, ``8 (912) 345 67 89``, ``79123456789`` and the bare ten
    digits ``9123456789``. Mobile numbers in Russia start with 9 after the country code.
    """
    text = (raw or "").strip()
    if not text or re.search(r"[^\d\s()+\-.]", text):
        raise ValueError("phone_format")
    digits = _NON_DIGITS.sub("", text)
    if len(digits) == 10 and not text.startswith("+"):
        digits = "7" + digits
    elif (
        len(digits) == 11 and digits[0] in "78" and not (text.startswith("+") and digits[0] == "8")
    ):
        digits = "7" + digits[1:]
    else:
        raise ValueError("phone_format")
    if digits[1] != "9":
        raise ValueError("phone_not_mobile")
    return "+" + digits


def format_phone(phone: str | None) -> str:
    """``+79123456789`` as people write it: ``+7 912 345-67-89``."""
    if not phone or len(phone) != 12 or not phone.startswith("+7"):
        return phone or ""
    d = phone[2:]
    return f"+7 {d[0:3]} {d[3:6]}-{d[6:8]}-{d[8:10]}"


def normalize_email(raw: str) -> str:
    """A syntactically valid address, lower-cased (addresses here are case-insensitive)."""
    try:
        result = validate_email((raw or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("email_format") from exc
    return result.normalized.lower()


def snils_checksum(number: str) -> int:
    """The control number of the first nine SNILS digits.

    Weights 9..1 from the left; a sum under 100 is the checksum itself, 100 and 101 give
    00, above 101 the sum is taken modulo 101 and a remainder of 100 also gives 00.
    """
    total = sum(int(d) * w for d, w in zip(number[:9], range(9, 0, -1), strict=True))
    if total < 100:
        return total
    if total in (100, 101):
        return 0
    remainder = total % 101
    return 0 if remainder == 100 else remainder


def normalize_snils(raw: str) -> str:
    """SNILS as 11 digits. Numbers up to 001-001-998 carry no checksum rule."""
    text = (raw or "").strip()
    if not _SNILS_SHAPE.match(text):
        raise ValueError("snils_format")
    digits = _NON_DIGITS.sub("", text)
    if int(digits[:9]) > 1001998 and snils_checksum(digits) != int(digits[9:]):
        raise ValueError("snils_checksum")
    return digits


def is_valid_snils(raw: str) -> bool:
    try:
        normalize_snils(raw)
    except ValueError:
        return False
    return True


def format_snils(digits: str) -> str:
    return f"{digits[0:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:11]}"


def mask_snils(digits: str) -> str:
    return f"***-***-{digits[6:9]} {digits[9:11]}"
