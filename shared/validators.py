"""Pure validators and normalisers for identifiers people type.

Each returns the canonical form or raises ``ValueError`` with a short reason code; the
forms translate the reason for the user.
"""

from __future__ import annotations

import re
from datetime import date

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


# --- Identity documents ---------------------------------------------------------------------
#
# Digits are matched as ASCII ``[0-9]`` on purpose: ``\d`` would also accept other scripts'
# digits ("٤٥١٠"), which no registry stores.

_PASSPORT_SERIES_SHAPE = re.compile(r"^([0-9]{2}) ?([0-9]{2})$")
_PASSPORT_NUMBER_SHAPE = re.compile(r"^[0-9]{6}$")
_ISSUER_CODE_SHAPE = re.compile(r"^([0-9]{3})[- ]?([0-9]{3})$")


def normalize_passport_series(raw: str) -> str:
    """Russian internal passport series as 4 digits, e.g. ``4510``.

    Rule: ``^\\d{4}$`` (printed "45 10": region code + year of the blank); accepts ``4510``
    and ``45 10``. Source: identity-and-oidc.md §2.5 (formats of
    ``VantaFinance/esia-gateway-client``).
    """
    match = _PASSPORT_SERIES_SHAPE.match((raw or "").strip())
    if not match:
        raise ValueError("passport_series_format")
    return match.group(1) + match.group(2)


def normalize_passport_number(raw: str) -> str:
    """Russian internal passport number as 6 digits.

    Rule: ``^\\d{6}$``. Source: identity-and-oidc.md §2.5.
    """
    text = (raw or "").strip()
    if not _PASSPORT_NUMBER_SHAPE.match(text):
        raise ValueError("passport_number_format")
    return text


def normalize_issuer_code(raw: str) -> str:
    """Passport issuing division code (код подразделения) as ``NNN-NNN``.

    Rule: ``^\\d{3}-\\d{3}$``; accepts ``770001``, ``770-001`` and ``770 001`` (clients
    normalise ``123456`` to ``123-456``). Source: identity-and-oidc.md §2.5.
    """
    match = _ISSUER_CODE_SHAPE.match((raw or "").strip())
    if not match:
        raise ValueError("issuer_code_format")
    return f"{match.group(1)}-{match.group(2)}"


def _anniversary(birth_date: date, years: int) -> date:
    """``birth_date`` plus ``years``; a 29 February birthday falls on 1 March in common years."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:  # 29 February in a common year
        return date(birth_date.year + years, 3, 1)


def check_passport_issue_date(issue_date: date, birth_date: date, today: date) -> None:
    """A passport issue date must be plausible.

    Rules: not in the future (``issue_date <= today``, else ``date_in_future``) and not
    before the 14th birthday (else ``passport_issued_before_14``); the passport is issued at
    14 (identity-and-oidc.md §2.5: "issue date ≥ birthdate + 14 y"). For someone born on
    29 February the 14th birthday is 1 March, since birth year + 14 is never a leap year.
    """
    if issue_date > today:
        raise ValueError("date_in_future")
    if issue_date < _anniversary(birth_date, 14):
        raise ValueError("passport_issued_before_14")


# INN (ИНН) control digits: each is Σ digit × weight, mod 11, mod 10.
_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN_SHAPE = re.compile(r"^(?:[0-9]{10}|[0-9]{12})$")


def _inn_control(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10


def normalize_inn(raw: str) -> str:
    """INN (taxpayer number) as 10 digits (legal entity) or 12 digits (person).

    Rules (ФНС control-digit algorithm): 10 digits — the 10th digit equals
    Σ d_i × (2, 4, 10, 3, 5, 9, 4, 6, 8) over the first 9, mod 11, mod 10; 12 digits — the
    11th digit equals Σ d_i × (7, 2, 4, 10, 3, 5, 9, 4, 6, 8) over the first 10, and the 12th
    Σ d_i × (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8) over the first 11, each mod 11, mod 10.
    Surrounding whitespace is ignored. Reasons ``inn_format``, ``inn_checksum``.
    """
    text = (raw or "").strip()
    if not _INN_SHAPE.match(text):
        raise ValueError("inn_format")
    if len(text) == 10:
        valid = _inn_control(text[:9], _INN10_WEIGHTS) == int(text[9])
    else:
        valid = _inn_control(text[:10], _INN12_WEIGHTS_11) == int(text[10]) and _inn_control(
            text[:11], _INN12_WEIGHTS_12
        ) == int(text[11])
    if not valid:
        raise ValueError("inn_checksum")
    return text


def normalize_personal_inn(raw: str) -> str:
    """A citizen's INN: 12 digits only, checked as in :func:`normalize_inn`.

    A 10-digit (legal entity) INN is ``inn_format`` here.
    """
    text = (raw or "").strip()
    if len(text) != 12:
        raise ValueError("inn_format")
    return normalize_inn(text)


# Birth certificate series: a Roman numeral (I, V, X, L, C only) + "-" + two Cyrillic capitals.
# People type Cyrillic look-alikes for the numeral: І (Ukrainian/Belarusian I), Х, С, Л.
_ROMAN_LOOKALIKES = str.maketrans({"І": "I", "Х": "X", "С": "C", "Л": "L"})
_CERT_SERIES_SHAPE = re.compile(r"^([IVXLCІХСЛ]+)\s*[-‐‑–—]?\s*([А-ЯЁ]{2})$")
_ROMAN_NUMERAL = re.compile(r"^(?=[IVXLC])C{0,3}(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})$")
_CERT_NUMBER_SHAPE = re.compile(r"^[0-9]{6}$")


def normalize_birth_certificate_series(raw: str) -> str:
    """Birth certificate (свидетельство о рождении) series as ``IV-МЮ``.

    Rule: a well-formed Roman numeral written with I, V, X, L, C (``IIII`` or ``VX`` are
    rejected), a hyphen, and exactly two Cyrillic capital letters — the Soviet/Russian
    civil-registry blank format (ЗАГС blanks, e.g. ``I-МЮ``, ``XII-АГ``). Accepts any case,
    a space or no separator (``iv-мю``, ``IV МЮ``, ``IVМЮ``), and the Cyrillic look-alikes
    ``І Х С Л`` in the numeral; the last two letters are always the Cyrillic part, so
    ``XIIСА`` is ``XII-СА``. Reason ``certificate_series_format``.
    """
    match = _CERT_SERIES_SHAPE.match((raw or "").strip().upper())
    if not match:
        raise ValueError("certificate_series_format")
    numeral = match.group(1).translate(_ROMAN_LOOKALIKES)
    if not _ROMAN_NUMERAL.match(numeral):
        raise ValueError("certificate_series_format")
    return f"{numeral}-{match.group(2)}"


def normalize_birth_certificate_number(raw: str) -> str:
    """Birth certificate number as 6 digits. Reason ``certificate_number_format``."""
    text = (raw or "").strip()
    if not _CERT_NUMBER_SHAPE.match(text):
        raise ValueError("certificate_number_format")
    return text


_OMS_SHAPE = re.compile(r"^[0-9]+(?:[ -][0-9]+)*$")


def normalize_oms_policy(raw: str) -> str:
    """Unified compulsory medical insurance (ОМС) policy number as 16 digits.

    Rule: the unified policy number (единый номер полиса, issued since 2011) has 16 digits;
    spaces and hyphens between digits (``1234 5678 9012 3456``) are dropped. Format only:
    the 16th digit is a control digit defined by ФФОМС, but its algorithm is not checked
    here because no verified source or test vectors were available. Reason ``oms_format``.
    """
    text = (raw or "").strip()
    if not _OMS_SHAPE.match(text):
        raise ValueError("oms_format")
    digits = re.sub(r"[ -]", "", text)
    if len(digits) != 16:
        raise ValueError("oms_format")
    return digits


_DRIVING_LICENCE_SHAPE = re.compile(r"^([0-9]{2}) ?([0-9]{2}|[А-ЯЁ]{2}) ?([0-9]{6})$")


def normalize_driving_licence(raw: str) -> str:
    """Russian driving licence series and number as ``NN NN NNNNNN``.

    Rule: a 4-character series — 2 digits (region) + 2 digits, or 2 digits + 2 Cyrillic
    letters on older licences (``77 АВ 123456``) — then a 6-digit number. Accepts
    ``7711123456``, ``77 11 123456``, ``7711 123456``; letters are upper-cased (Latin
    look-alikes are not converted). Reason ``driving_licence_format``.
    """
    match = _DRIVING_LICENCE_SHAPE.match((raw or "").strip().upper())
    if not match:
        raise ValueError("driving_licence_format")
    return " ".join(match.groups())


def mask_document(number: str, visible: int = 4) -> str:
    """Replace all but the last ``visible`` characters with ``*``, e.g. ``** ** **3456``.

    Spaces and hyphens are kept in place and do not count towards ``visible``. A value with
    no more than ``visible`` characters is returned unmasked.
    """
    if visible < 0:
        raise ValueError("mask_visible")
    text = number or ""
    remaining = sum(1 for ch in text if ch not in " -")
    out = []
    for ch in text:
        if ch in " -":
            out.append(ch)
            continue
        out.append(ch if remaining <= visible else "*")
        remaining -= 1
    return "".join(out)


# --- numbers and dates in addresses and forms ----------------------------------------------
#
# What the databases can hold: ids (and every other number column but one) are ``Integer``,
# which is 32-bit in PostgreSQL (2^31 − 1 at most; SQLite's INTEGER takes 64 bits), so a
# larger number is refused before it reaches a query, where it would overflow.
# Dates are kept to the years people mean: ``date.max`` plus a week overflows, and an
# address or a form with 9999-12-31 or 0001-01-01 is a typo or a probe, never a school day.

MAX_ID = 2**31 - 1
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2100, 12, 31)

_WHOLE_NUMBER_SHAPE = re.compile(r"^-?[0-9]{1,19}$")
_ISO_DATE_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_whole_number(raw: str | None, low: int = 0, high: int = MAX_ID) -> int:
    """A whole number written in ASCII digits (an optional minus sign), ``low``…``high``.

    Reasons ``number_format`` (not a number, other scripts' digits, spaces inside) and
    ``number_range`` (outside the bounds: by default an id, 0 … 2^31 − 1).
    """
    text = (raw or "").strip()
    if not _WHOLE_NUMBER_SHAPE.match(text):
        raise ValueError("number_format")
    value = int(text)
    if not low <= value <= high:
        raise ValueError("number_range")
    return value


def check_date_range(value: date) -> date:
    """``value`` when it lies in 1900…2100 (inclusive); else reason ``date_range``."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError("date_range")
    return value


def parse_iso_date(raw: str | None) -> date:
    """A date written ``YYYY-MM-DD`` (what date pickers and our links send), in 1900…2100.

    Reasons ``date_format`` (another shape, or no such day) and ``date_range``.
    """
    text = (raw or "").strip()
    if not _ISO_DATE_SHAPE.match(text):
        raise ValueError("date_format")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ValueError("date_format") from None
    return check_date_range(value)


def is_visible_ascii(text: str) -> bool:
    """Only printable ASCII, ``%x20-7E``: the characters OAuth 2.0 allows in its parameters
    and error descriptions (RFC 6749 Appendix A, §5.2). Control characters and anything
    beyond ASCII are refused."""
    return all(" " <= ch <= "~" for ch in text)


def is_ascii_number(text: str) -> bool:
    """Only the digits 0–9. ``str.isdigit`` also says yes to "²" and "٣", which ``int``
    refuses or reads as a number no one typed, and ``hmac.compare_digest`` refuses
    non-ASCII text outright."""
    return text.isascii() and text.isdigit()


def ascii_digits(text: str) -> str:
    """The digits 0–9 of ``text``, in order (what a code typed with spaces or dashes
    means)."""
    return "".join(ch for ch in text if "0" <= ch <= "9")
