import pytest

from shared.validators import (
    format_snils,
    is_valid_snils,
    mask_snils,
    normalize_email,
    normalize_phone,
    normalize_snils,
    snils_checksum,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 912 345-67-89", "+79123456789"),
        ("8 (912) 345 67 89", "+79123456789"),
        ("79123456789", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("+7(912)345.67.89", "+79123456789"),
    ],
)
def test_phone_numbers_are_normalised_to_plus_seven(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "phone_format"),
        ("12345", "phone_format"),
        ("+8 912 345 67 89", "phone_format"),
        ("+7 912 345 67 8", "phone_format"),
        ("+7 912 345 67 890", "phone_format"),
        ("+7 495 123-45-67", "phone_not_mobile"),
        ("8-912-abc-67-89", "phone_format"),
    ],
)
def test_bad_phone_numbers_say_why(raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalize_phone(raw)


def test_email_is_lowercased_and_checked():
    assert normalize_email(" Maria.Ivanova@Example.RU ") == "maria.ivanova@example.ru"
    for bad in ("maria", "maria@", "@example.ru", "maria@@example.ru"):
        with pytest.raises(ValueError, match="email_format"):
            normalize_email(bad)


# Vectors from ../shared/reference/identity-and-oidc.md §2.5.
@pytest.mark.parametrize(
    ("snils", "total_rule", "valid"),
    [
        ("112-233-445 95", "sum 95", True),
        ("050-234-316 00", "sum 100 -> 00", True),
        ("016-103-396 00", "sum 101 -> 00", True),
        ("820-981-233 00", "sum 201, remainder 100 -> 00", True),
        ("913-702-858 00", "sum 202, remainder 0", True),
        ("987-654-321 83", "sum 285", True),
        ("112-233-445 96", "wrong checksum", False),
        ("11223344595", "digits only", True),
        ("001-001-998 42", "not checked up to 001-001-998", True),
        ("001-001-999 42", "checked above 001-001-998", False),
        ("112-233-445", "too short", False),
        ("112-233-445 9a", "letters", False),
    ],
)
def test_snils_checksum_table(snils, total_rule, valid):
    assert is_valid_snils(snils) is valid, total_rule


def test_snils_checksum_edge_values():
    assert snils_checksum("112233445") == 95
    assert snils_checksum("050234316") == 0
    assert snils_checksum("016103396") == 0
    assert snils_checksum("820981233") == 0


def test_snils_formats():
    digits = normalize_snils("112-233-445 95")
    assert digits == "11223344595"
    assert format_snils(digits) == "112-233-445 95"
    assert mask_snils(digits) == "***-***-445 95"
