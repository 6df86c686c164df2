from datetime import date

import pytest

from shared.validators import (
    MAX_ID,
    ascii_digits,
    check_passport_issue_date,
    format_snils,
    is_ascii_number,
    is_valid_snils,
    is_visible_ascii,
    mask_document,
    mask_snils,
    normalize_birth_certificate_number,
    normalize_birth_certificate_series,
    normalize_driving_licence,
    normalize_email,
    normalize_inn,
    normalize_issuer_code,
    normalize_oms_policy,
    normalize_passport_number,
    normalize_passport_series,
    normalize_personal_inn,
    normalize_phone,
    normalize_snils,
    parse_iso_date,
    parse_whole_number,
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


# --- Passport (identity-and-oidc.md §2.5) ------------------------------------------------


@pytest.mark.parametrize(
    ("normalize", "raw", "expected"),
    [
        (normalize_passport_series, "4510", "4510"),
        (normalize_passport_series, "45 10", "4510"),
        (normalize_passport_series, " 45 10 ", "4510"),
        (normalize_passport_number, "123456", "123456"),
        (normalize_passport_number, " 000001 ", "000001"),
        (normalize_issuer_code, "770001", "770-001"),
        (normalize_issuer_code, "770-001", "770-001"),
        (normalize_issuer_code, "770 001", "770-001"),
    ],
)
def test_passport_fields_are_normalised(normalize, raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("normalize", "raw", "reason"),
    [
        (normalize_passport_series, "", "passport_series_format"),
        (normalize_passport_series, None, "passport_series_format"),
        (normalize_passport_series, "451", "passport_series_format"),
        (normalize_passport_series, "45100", "passport_series_format"),
        (normalize_passport_series, "4 510", "passport_series_format"),
        (normalize_passport_series, "45  10", "passport_series_format"),
        (normalize_passport_series, "45-1O", "passport_series_format"),
        (normalize_passport_series, "٤٥١٠", "passport_series_format"),
        (normalize_passport_number, "12345", "passport_number_format"),
        (normalize_passport_number, "1234567", "passport_number_format"),
        (normalize_passport_number, "123 456", "passport_number_format"),
        (normalize_passport_number, "12345a", "passport_number_format"),
        (normalize_passport_number, "", "passport_number_format"),
        (normalize_issuer_code, "77000", "issuer_code_format"),
        (normalize_issuer_code, "7700011", "issuer_code_format"),
        (normalize_issuer_code, "77-0001", "issuer_code_format"),
        (normalize_issuer_code, "770--001", "issuer_code_format"),
        (normalize_issuer_code, "770_001", "issuer_code_format"),
        (normalize_issuer_code, "", "issuer_code_format"),
    ],
)
def test_bad_passport_fields_say_why(normalize, raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalize(raw)


TODAY = date(2025, 6, 1)


@pytest.mark.parametrize(
    ("issue_date", "birth_date", "case"),
    [
        (date(2014, 5, 20), date(2000, 5, 20), "exactly on the 14th birthday"),
        (date(2014, 5, 21), date(2000, 5, 20), "the day after"),
        (date(2014, 3, 1), date(2000, 2, 29), "29 Feb birthday -> 14th birthday is 1 March"),
        (date(2026, 3, 1), date(2012, 2, 29), "same rule, later cohort (today moved below)"),
        (TODAY, date(1990, 1, 1), "issued today"),
        (date(2035, 1, 1), date(1990, 1, 1), "replaced at 45"),
    ],
)
def test_plausible_passport_issue_dates_pass(issue_date, birth_date, case):
    today = max(TODAY, issue_date)
    assert check_passport_issue_date(issue_date, birth_date, today) is None, case


@pytest.mark.parametrize(
    ("issue_date", "birth_date", "reason"),
    [
        (date(2014, 5, 19), date(2000, 5, 20), "passport_issued_before_14"),
        (date(2014, 2, 28), date(2000, 2, 29), "passport_issued_before_14"),
        (date(2010, 1, 1), date(2000, 5, 20), "passport_issued_before_14"),
        (date(2000, 5, 20), date(2000, 5, 20), "passport_issued_before_14"),
        (date(2025, 6, 2), date(1990, 1, 1), "date_in_future"),
        (date(2030, 1, 1), date(1990, 1, 1), "date_in_future"),
    ],
)
def test_implausible_passport_issue_dates_say_why(issue_date, birth_date, reason):
    with pytest.raises(ValueError, match=reason):
        check_passport_issue_date(issue_date, birth_date, TODAY)


# --- INN ---------------------------------------------------------------------------------
#
# Vectors, computed by hand from the ФНС algorithm (control = Σ digit × weight mod 11 mod 10):
# 10 digits, weights 2,4,10,3,5,9,4,6,8:
#   7707083893 (Sberbank): 14+28+0+21+0+72+12+48+72 = 267, 267 mod 11 = 3 -> 3 ✓
#   1234567894: 2+8+30+12+25+54+28+48+72 = 279, 279 mod 11 = 4 -> 4
#   7712345671: 14+28+10+6+15+36+20+36+56 = 221, 221 mod 11 = 1 -> 1
#   7707083090: 14+28+0+21+0+72+12+0+72 = 219, 219 mod 11 = 10 -> mod 10 = 0
# 12 digits, 11th weights 7,2,4,10,3,5,9,4,6,8; 12th weights 3,7,2,4,10,3,5,9,4,6,8:
#   500100732259: 11th 35+0+0+10+0+0+63+12+12+16 = 148 mod 11 = 5 -> 5;
#                 12th 15+0+0+4+0+0+35+27+8+12+40 = 141 mod 11 = 9 -> 9 ✓
#   123456789047: 11th 7+4+12+40+15+30+63+32+54+0 = 257 mod 11 = 4 -> 4;
#                 12th 3+14+6+16+50+18+35+72+36+0+32 = 282 mod 11 = 7 -> 7
#   771234567859: 11th 49+14+4+20+9+20+45+24+42+64 = 291 mod 11 = 5 -> 5;
#                 12th 21+49+2+8+30+15+30+63+28+48+40 = 317 mod 11 = 9 -> 9
#   500100002100: 11th 35+0+0+10+0+0+0+0+12+8 = 65 mod 11 = 10 -> mod 10 = 0;
#                 12th 15+0+0+4+0+0+0+0+8+6+0 = 33 mod 11 = 0 -> 0
VALID_INN10 = ["7707083893", "1234567894", "7712345671", "7707083090"]
VALID_INN12 = ["500100732259", "123456789047", "771234567859", "500100002100"]


@pytest.mark.parametrize("inn", VALID_INN10 + VALID_INN12)
def test_valid_inns_pass(inn):
    assert normalize_inn(inn) == inn
    assert normalize_inn(f"  {inn} ") == inn


# Every weight is non-zero mod 11 (a prime), so a one-digit change always moves the residue;
# only the official "mod 11, mod 10" fold maps residues 10 and 0 to the same control digit 0.
# 7707083090 (residue 10) is therefore left out here and covered by the next test.
@pytest.mark.parametrize("inn", [*VALID_INN10[:3], *VALID_INN12])
def test_any_one_digit_change_breaks_the_inn_checksum(inn):
    for position in range(len(inn)):
        for digit in "0123456789":
            if digit == inn[position]:
                continue
            changed = inn[:position] + digit + inn[position + 1 :]
            with pytest.raises(ValueError, match="inn_checksum"):
                normalize_inn(changed)


def test_inn_checksum_folds_residue_ten_onto_zero():
    # 7707083090: sum 219, residue 10 -> control 0. Changing the first digit 7 -> 2 lowers the
    # sum by 5 x 2 = 10 to 209, residue 0 -> control 0 as well: valid under the official rule.
    assert normalize_inn("2707083090") == "2707083090"
    # Other one-digit changes of the same number do fail.
    for changed in ("7707083091", "7707083190", "8707083090"):
        with pytest.raises(ValueError, match="inn_checksum"):
            normalize_inn(changed)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("7707083894", "inn_checksum"),
        ("500100732258", "inn_checksum"),
        ("500100732249", "inn_checksum"),
        ("", "inn_format"),
        (None, "inn_format"),
        ("770708389", "inn_format"),
        ("77070838931", "inn_format"),
        ("5001007322591", "inn_format"),
        ("7707 083893", "inn_format"),
        ("770708389a", "inn_format"),
        ("７７０７０８３８９３", "inn_format"),
    ],
)
def test_bad_inns_say_why(raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalize_inn(raw)


@pytest.mark.parametrize("inn", VALID_INN12)
def test_personal_inn_accepts_twelve_digits(inn):
    assert normalize_personal_inn(inn) == inn


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("7707083893", "inn_format"),
        ("500100732258", "inn_checksum"),
        ("50010073225", "inn_format"),
        ("", "inn_format"),
    ],
)
def test_personal_inn_rejects_legal_entities_and_bad_numbers(raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalize_personal_inn(raw)


# --- Birth certificate ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("IV-МЮ", "IV-МЮ"),
        ("iv-мю", "IV-МЮ"),
        ("IV МЮ", "IV-МЮ"),
        ("IVМЮ", "IV-МЮ"),
        (" IV - МЮ ", "IV-МЮ"),
        ("I-АГ", "I-АГ"),
        ("II-ЁЖ", "II-ЁЖ"),
        ("III-ВА", "III-ВА"),
        ("XII-АБ", "XII-АБ"),
        ("XLIX-ЯЯ", "XLIX-ЯЯ"),
        ("CCCXC-ИК", "CCCXC-ИК"),
        ("І-МЮ", "I-МЮ"),  # Cyrillic І
        ("ХII-АБ", "XII-АБ"),  # Cyrillic Х
        ("хіі-аб", "XII-АБ"),  # all Cyrillic, lower case
        ("Л-АБ", "L-АБ"),  # Cyrillic Л
        ("С-АБ", "C-АБ"),  # Cyrillic С
        ("XIIСА", "XII-СА"),  # the last two letters are the Cyrillic part
        ("XХХ", "X-ХХ"),
    ],
)
def test_birth_certificate_series_is_normalised(raw, expected):
    assert normalize_birth_certificate_series(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        None,
        "IV",
        "МЮ",
        "-МЮ",
        "IV-М",
        "IV-МЮЯ",
        "IV-MU",  # Latin letters in the Cyrillic part
        "IV-MЮ",  # Latin M
        "IV-12",
        "IIII-МЮ",  # not a well-formed numeral
        "VX-МЮ",
        "IIV-МЮ",
        "VV-МЮ",
        "D-МЮ",  # only I, V, X, L, C
        "M-МЮ",
        "4-МЮ",
        "IV--МЮ",
        "IV_МЮ",
    ],
)
def test_bad_birth_certificate_series_are_rejected(raw):
    with pytest.raises(ValueError, match="certificate_series_format"):
        normalize_birth_certificate_series(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("123456", "123456"), (" 000123 ", "000123")],
)
def test_birth_certificate_number_is_six_digits(raw, expected):
    assert normalize_birth_certificate_number(raw) == expected


@pytest.mark.parametrize("raw", ["", None, "12345", "1234567", "123 456", "12345б"])
def test_bad_birth_certificate_numbers_are_rejected(raw):
    with pytest.raises(ValueError, match="certificate_number_format"):
        normalize_birth_certificate_number(raw)


# --- OMS policy, driving licence ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234567890123456", "1234567890123456"),
        (" 1234 5678 9012 3456 ", "1234567890123456"),
        ("1234-5678-9012-3456", "1234567890123456"),
    ],
)
def test_oms_policy_is_sixteen_digits(raw, expected):
    assert normalize_oms_policy(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        None,
        "123456789012345",
        "12345678901234567",
        "1234 5678 9012 345a",
        "1234567890123456-",
        "1234  5678 9012 3456",
        "ЕП 1234567890123456",
    ],
)
def test_bad_oms_policies_are_rejected(raw):
    with pytest.raises(ValueError, match="oms_format"):
        normalize_oms_policy(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7711123456", "77 11 123456"),
        ("77 11 123456", "77 11 123456"),
        ("7711 123456", "77 11 123456"),
        ("77 АВ 123456", "77 АВ 123456"),
        ("77ав123456", "77 АВ 123456"),
        (" 99 ЁЯ 000001 ", "99 ЁЯ 000001"),
    ],
)
def test_driving_licence_is_normalised(raw, expected):
    assert normalize_driving_licence(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        None,
        "771112345",
        "77111234567",
        "77 AB 123456",  # Latin letters
        "АВ 77 123456",
        "77 1А 123456",
        "7 711 123456",
        "77-11-123456",
        "77  11 123456",
    ],
)
def test_bad_driving_licences_are_rejected(raw):
    with pytest.raises(ValueError, match="driving_licence_format"):
        normalize_driving_licence(raw)


# --- Masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "visible", "expected"),
    [
        ("4510 123456", 4, "**** **3456"),
        ("45 10 123456", 4, "** ** **3456"),
        ("770-001", 4, "**0-001"),
        ("IV-МЮ 123456", 4, "**-** **3456"),
        ("1234567890123456", 4, "************3456"),
        ("123456", 0, "******"),
        ("123456", 6, "123456"),
        ("1234", 4, "1234"),
        ("12-34", 10, "12-34"),
        ("", 4, ""),
    ],
)
def test_mask_document(number, visible, expected):
    assert mask_document(number, visible) == expected


def test_mask_document_default_and_negative_visible():
    assert mask_document("500100732259") == "********2259"
    with pytest.raises(ValueError, match="mask_visible"):
        mask_document("123456", -1)


# --- numbers and dates in addresses and forms (issue 11) ---------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("42", 42), (" 7 ", 7), ("007", 7), (str(2**31 - 1), MAX_ID)],
)
def test_whole_numbers_up_to_a_64_bit_id(raw, expected):
    assert parse_whole_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "number_format"),
        ("abc", "number_format"),
        ("1e9", "number_format"),
        ("0x1F", "number_format"),
        ("1 000", "number_format"),
        ("١٢٣", "number_format"),  # other scripts' digits: int() would take them
        ("１２", "number_format"),
        ("9" * 5000, "number_format"),  # int() would refuse it with its own error
        (str(2**31), "number_range"),  # PostgreSQL's integer ends at 2^31 − 1
        (str(2**63), "number_range"),
        ("9" * 19, "number_range"),
        ("-1", "number_range"),
    ],
)
def test_other_numbers_are_refused(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_whole_number(raw)


def test_whole_numbers_take_other_bounds():
    assert parse_whole_number("-5", low=-10, high=10) == -5
    with pytest.raises(ValueError, match="number_range"):
        parse_whole_number("11", low=-10, high=10)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-07", date(2026, 12, 7)),
        ("1900-01-01", date(1900, 1, 1)),
        ("2100-12-31", date(2100, 12, 31)),
        ("2028-02-29", date(2028, 2, 29)),
    ],
)
def test_iso_dates_from_1900_to_2100(raw, expected):
    assert parse_iso_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("9999-12-31", "date_range"),
        ("0001-01-01", "date_range"),
        ("1899-12-31", "date_range"),
        ("2101-01-01", "date_range"),
        ("2026-02-30", "date_format"),
        ("2026-13-01", "date_format"),
        ("07.12.2026", "date_format"),
        ("20261207", "date_format"),  # fromisoformat would take it
        ("2026-W49-1", "date_format"),
        ("", "date_format"),
    ],
)
def test_other_dates_are_refused(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_iso_date(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("code", True),
        ("https://rp.example/cb?x=1 y~", True),
        ("", True),
        ("é", False),
        ("Иванов", False),
        ("a\x00b", False),
        ("line\r\n", False),
        ("\x7f", False),
        ("tab\t", False),
    ],
)
def test_visible_ascii_is_what_oauth_parameters_may_hold(text, expected):
    assert is_visible_ascii(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", True),
        ("123456", True),
        ("", False),
        ("²", False),
        ("١٢٣", False),
        ("１２", False),
        ("-1", False),
        ("1.5", False),
    ],
)
def test_ascii_numbers_are_the_digits_0_to_9(text, expected):
    assert is_ascii_number(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"), [("123 456", "123456"), ("12-34", "1234"), ("²1٣", "1"), ("", "")]
)
def test_ascii_digits_keeps_only_0_to_9(text, expected):
    assert ascii_digits(text) == expected
