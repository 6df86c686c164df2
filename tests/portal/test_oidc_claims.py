"""What each scope releases, for simplified and standard citizens (real simulator)."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale

from portal.extensions import db
from portal.family import services as family
from portal.oidc import claims
from portal.proofing import services as proofing_services
from tests.portal.factories import MARIA, MARIA_PASSPORT, api, make_standard, wait_for
from tests.portal.test_family import PETR

ORIGIN = proofing_services.Origin(ip="127.0.0.1", user_agent="pytest")
ALISA = {
    **PETR,
    "surname": "Иванова",
    "given_name": "Алиса",
    "patronymic": "Сергеевна",
    "gender": "F",
    "birth_date": date(2011, 5, 17),
    "certificate_series": "III-МЮ",
    "certificate_number": "401234",
    "certificate_issue_date": date(2011, 6, 1),
    "snils": "016-103-396 00",
}
EVERY_SCOPE = ["openid", "profile", "email", "phone", "snils", "id_doc", "kids", "trusted"]


def kid_names(citizen) -> list[str]:
    db.session.commit()
    return [kid["given_name"] for kid in claims.claims_for(citizen, ["kids"])["kids"]]


# --- acr ----------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["simplified", "standard", "confirmed"])
def test_acr_round_trips(level):
    acr = claims.acr_for(level)
    assert acr == f"urn:gosdiary:acr:{level}"
    assert claims.level_for_acr(acr) == level


def test_acr_values_are_listed_lowest_first():
    assert claims.ACR_VALUES_SUPPORTED == [
        "urn:gosdiary:acr:simplified",
        "urn:gosdiary:acr:standard",
        "urn:gosdiary:acr:confirmed",
    ]


@pytest.mark.parametrize(
    "acr", ["", "standard", "urn:gosdiary:acr:", "urn:gosdiary:acr:high", "urn:other:standard"]
)
def test_foreign_acr_names_no_level(acr):
    assert claims.level_for_acr(acr) is None


def test_an_unknown_level_has_no_acr():
    with pytest.raises(ValueError, match="unknown level"):
        claims.acr_for("high")


# --- the catalogue ------------------------------------------------------------------


def test_every_scope_and_claim_is_advertised():
    assert claims.SCOPES_SUPPORTED == EVERY_SCOPE
    for claim in ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid"):
        assert claim in claims.CLAIMS_SUPPORTED
    for spec in claims.SCOPES.values():
        assert set(spec.claims) <= set(claims.CLAIMS_SUPPORTED)
        assert spec.min_level in ("simplified", "standard")
    assert len(claims.CLAIMS_SUPPORTED) == len(set(claims.CLAIMS_SUPPORTED))


def test_descriptions_follow_the_catalogue_order_and_skip_unknown_scopes(app):
    with force_locale("en"):
        described = claims.describe(["kids", "unknown", "profile", "openid"])
    assert [scope for scope, _ in described] == ["openid", "profile", "kids"]
    assert described[1] == ("profile", "Your surname, name, patronymic, gender and birth date")
    assert all(isinstance(text, str) and text for _, text in claims.describe(EVERY_SCOPE))


# --- a simplified citizen -----------------------------------------------------------


def test_a_simplified_citizen_gets_profile_email_and_phone(make_citizen):
    citizen = make_citizen(
        surname="Иванова", given_name="Мария", phone="8 (916) 123-45-67", email="Maria@Example.ru"
    )
    proofing_services.update_profile(citizen, MARIA, ORIGIN)
    released = claims.claims_for(citizen, ["openid", "profile", "email", "phone"])
    assert released == {
        "family_name": "Иванова",
        "given_name": "Мария",
        "middle_name": "Петровна",
        "name": "Иванова Мария Петровна",
        "gender": "female",
        "birthdate": "1985-03-14",
        "locale": "ru",
        "email": "maria@example.ru",
        "email_verified": True,
        "phone_number": "+79161234567",
        "phone_number_verified": True,
    }
    assert "sub" not in released


def test_a_simplified_citizen_is_refused_the_standard_scopes(make_citizen):
    citizen = make_citizen(snils="112-233-445 95")  # typed, never checked
    granted, refused = claims.allowed_scopes(citizen, [*EVERY_SCOPE, "unknown", "profile"])
    assert granted == ["openid", "profile", "email", "phone"]
    assert refused == ["snils", "id_doc", "kids", "trusted"]
    # Even a caller that skips ``allowed_scopes`` gets nothing above the level.
    assert claims.claims_for(citizen, ["snils", "id_doc", "kids", "trusted"]) == {}


def test_missing_data_is_left_out_not_sent_empty(make_citizen):
    citizen = make_citizen(surname="Петров", given_name="Сергей", phone=None, email="s@example.ru")
    assert claims.claims_for(citizen, ["profile", "phone", "email", "unknown"]) == {
        "family_name": "Петров",
        "given_name": "Сергей",
        "name": "Петров Сергей",
        "locale": "ru",
        "email": "s@example.ru",
        "email_verified": True,
    }
    citizen.email = None
    assert claims.claims_for(citizen, ["email"]) == {}


def test_openid_alone_releases_nothing_but_the_sub_the_caller_adds(make_citizen):
    assert claims.claims_for(make_citizen(), ["openid"]) == {}
    assert claims.claims_for(make_citizen(), []) == {}


# --- a standard citizen -------------------------------------------------------------


def test_a_standard_citizen_gets_snils_passport_and_verified_kids(proofing, make_citizen):
    maria = make_standard(make_citizen)
    assert claims.allowed_scopes(maria, EVERY_SCOPE) == (EVERY_SCOPE, [])
    family.add_child(maria, PETR, ORIGIN)
    assert wait_for(lambda: kid_names(maria) == ["Пётр"])
    # The civil registry holds Alisa's check: a child it has not confirmed is not released.
    api(
        proofing,
        "PUT",
        "/api/registries/zags/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    family.add_child(maria, ALISA, ORIGIN)
    unverified = [
        row["child"].given_name for row in family.children_of(maria) if not row["verified"]
    ]
    assert unverified == ["Алиса"]

    released = claims.claims_for(maria, EVERY_SCOPE)

    assert released["snils"] == "112-233-445 95"
    assert released["id_doc"] == {
        "type": "RF_PASSPORT",
        "series": "4510",
        "number": "123456",
        "issue_date": "2005-04-01",
        "issuer": "ОВД района Пресненский",
        "issuer_code": "770-001",
    }
    [petr] = released["kids"]
    assert petr == {
        "id": petr["id"],
        "family_name": "Иванов",
        "given_name": "Пётр",
        "middle_name": "Сергеевич",
        "birthdate": "2014-09-02",
        "gender": "male",
        "snils": "050-234-316 00",
        "birth_cert": {
            "series": "IV-МЮ",
            "number": "512345",
            "issue_date": "2014-09-20",
            "registry_office": "Отдел ЗАГС Пресненского района",
        },
    }
    assert released["trusted"] == []  # nobody made Мария a trusted person
    # Every claim released belongs to a scope that lists it.
    listed = {claim for spec in claims.SCOPES.values() for claim in spec.claims}
    assert set(released) <= listed and "sub" not in released
    assert kid_names(maria) == ["Пётр"]


def test_standard_claims_stop_when_the_data_go_back_to_checking(proofing, make_citizen):
    maria = make_standard(make_citizen)
    api(
        proofing,
        "PUT",
        "/api/registries/mvd/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    proofing_services.set_passport(maria, {**MARIA_PASSPORT, "number": "123457"}, ORIGIN)
    assert maria.level == "simplified"
    assert claims.allowed_scopes(maria, ["snils", "id_doc"]) == ([], ["snils", "id_doc"])
    assert claims.claims_for(maria, ["snils", "id_doc", "kids"]) == {}
