"""The README's demo people at the portal: ``flask --app portal seed`` makes its citizens
*standard* through the real registries (Анна refused), and the families of issue 6's
walk pass the registries with exactly the data the README tells a tester to type."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.demo import DEMO_CITIZENS, seed_command
from portal.extensions import db
from portal.family import services as family
from portal.identity.models import Citizen
from portal.proofing import checks
from portal.proofing.models import VerificationCheck
from portal.simulator.registries.records import FIXED_CERTIFICATES, FIXED_PEOPLE
from shared.validators import is_valid_snils, normalize_snils
from tests.portal.factories import make_standard, verified, wait_for

ORIGIN = family.Origin(ip="127.0.0.1", user_agent="pytest")
GENDER = {"F": "female", "M": "male"}
PROFILE_FIELDS = ("surname", "given_name", "patronymic", "gender", "birth_date")

# What the README's "More people to try" tells a tester to type.
DMITRY = {
    "surname": "Соколов",
    "given_name": "Дмитрий",
    "patronymic": "Андреевич",
    "gender": "M",
    "birth_date": date(1984, 10, 5),
    "birth_place": "г. Москва",
    "citizenship": "RUS",
    "registration_address": "г. Москва, ул. Тверская, д. 5, кв. 12",
}
DMITRY_PASSPORT = {
    "series": "4504",
    "number": "210987",
    "issue_date": date(2004, 10, 21),
    "issuer": "ОВД района Тверской г. Москвы",
    "issuer_code": "770-008",
}
IRINA = {
    **DMITRY,
    "surname": "Соколова",
    "given_name": "Ирина",
    "patronymic": "Олеговна",
    "gender": "F",
    "birth_date": date(1987, 2, 19),
}
IRINA_PASSPORT = {
    **DMITRY_PASSPORT,
    "number": "345612",
    "series": "4507",
    "issue_date": date(2007, 3, 5),
    "issuer_code": "770-009",
}
KSENIA = {
    "surname": "Соколова",
    "given_name": "Ксения",
    "patronymic": "Дмитриевна",
    "birth_date": date(2014, 3, 11),
    "gender": "F",
    "certificate_series": "IV-МЮ",
    "certificate_number": "623451",
    "certificate_issue_date": date(2014, 3, 25),
    "registry_office": "Отдел ЗАГС Тверского района",
    "snils": "071-458-293 70",
}
MAKSIM = {
    "surname": "Кириллов",
    "given_name": "Максим",
    "patronymic": "Тимурович",
    "birth_date": date(2014, 7, 23),
    "gender": "M",
    "certificate_series": "IV-МЮ",
    "certificate_number": "634518",
    "certificate_issue_date": date(2014, 8, 5),
    "registry_office": "Отдел ЗАГС Хамовнического района",
    "snils": "081-569-304 79",
}


def demo(given_name: str) -> dict:
    return next(spec for spec in DEMO_CITIZENS if spec["given_name"] == given_name)


def level(phone: str) -> str | None:
    return db.session.execute(
        sa.select(Citizen.level).where(Citizen.phone == phone)
    ).scalar_one_or_none()


def test_every_demo_citizen_is_a_person_of_the_registries():
    people = {person.snils: person for person in FIXED_PEOPLE}
    for spec in DEMO_CITIZENS:
        person = people[normalize_snils(spec["snils"])]
        assert (person.surname, person.given_name, person.patronymic) == (
            spec["surname"],
            spec["given_name"],
            spec["patronymic"],
        )
        assert (person.birth_date, person.gender) == (spec["birth_date"], GENDER[spec["gender"]])
        passport = spec["passport"]
        assert [(p.series, p.number, p.issue_date) for p in person.passports] == [
            (passport["series"], passport["number"], passport["issue_date"])
        ]
    phones = [spec["phone"] for spec in DEMO_CITIZENS]
    assert len(set(phones)) == len(phones)
    galina = demo("Галина")
    assert (galina["phone"], galina["password"]) == ("+79160000010", "Demo-Trusted-2026")


def test_the_walks_families_are_on_birth_certificates():
    by_key = {person.key: person for person in FIXED_PEOPLE}
    demo_snils = {normalize_snils(spec["snils"]) for spec in DEMO_CITIZENS}

    def certificate(child: dict):
        return next(
            c
            for c in FIXED_CERTIFICATES
            if (c.series, c.number) == (child["certificate_series"], child["certificate_number"])
        )

    ksenia, maksim = certificate(KSENIA), certificate(MAKSIM)
    for data, cert in ((KSENIA, ksenia), (MAKSIM, maksim)):
        child = by_key[cert.child]
        assert (child.surname, child.given_name, child.birth_date, child.snils) == (
            data["surname"],
            data["given_name"],
            data["birth_date"],
            normalize_snils(data["snils"]),
        )
        assert is_valid_snils(child.snils) and child.passports == []
        assert (cert.issue_date, cert.registry_office) == (
            data["certificate_issue_date"],
            data["registry_office"],
        )
    assert (by_key[ksenia.mother].given_name, by_key[ksenia.father].given_name) == (
        "Ирина",
        "Дмитрий",
    )
    assert by_key[maksim.father].given_name == "Тимур"
    # The tester registers the Соколовы; Тимур is a demo citizen.
    assert by_key[ksenia.mother].snils not in demo_snils
    assert by_key[ksenia.father].snils not in demo_snils
    assert by_key[maksim.father].snils in demo_snils


def test_the_seed_makes_its_citizens_standard_but_annas_lost_passport(proofing, app):
    result = app.test_cli_runner().invoke(seed_command)
    assert result.exit_code == 0, result.output
    assert f"demo citizens: {len(DEMO_CITIZENS)} created" in result.output
    standard = [spec["phone"] for spec in DEMO_CITIZENS if spec["given_name"] != "Анна"]
    assert wait_for(lambda: all(level(phone) == "standard" for phone in standard)), [
        (phone, level(phone)) for phone in standard
    ]
    anna = db.session.execute(
        sa.select(Citizen).where(Citizen.phone == demo("Анна")["phone"])
    ).scalar_one()
    assert wait_for(lambda: checks.latest_check(anna.id, "passport").status == "rejected")
    assert checks.latest_check(anna.id, "passport").reason == "passport_lost"
    assert level(anna.phone) == "simplified"

    again = app.test_cli_runner().invoke(seed_command)
    assert again.exit_code == 0 and "demo citizens: 0 created" in again.output
    assert db.session.execute(sa.select(sa.func.count()).select_from(Citizen)).scalar_one() == (
        len(DEMO_CITIZENS) + 1  # and the operator
    )


def test_the_walks_parents_verify_their_children_with_the_readmes_data(proofing, make_citizen):
    dmitry = make_standard(
        make_citizen, profile=DMITRY, snils="156-234-871 72", passport=DMITRY_PASSPORT
    )
    family.add_child(dmitry, KSENIA, ORIGIN)
    irina = make_standard(
        make_citizen, profile=IRINA, snils="167-345-982 07", passport=IRINA_PASSPORT
    )
    family.add_child(irina, KSENIA, ORIGIN)
    spec = demo("Тимур")
    timur_profile = {**DMITRY, **{key: spec[key] for key in PROFILE_FIELDS}}
    timur = make_standard(
        make_citizen, profile=timur_profile, snils=spec["snils"], passport=spec["passport"]
    )
    family.add_child(timur, MAKSIM, ORIGIN)
    assert wait_for(lambda: verified(dmitry) == ["Соколова Ксения Дмитриевна"])
    assert wait_for(lambda: verified(irina) == ["Соколова Ксения Дмитриевна"])
    assert wait_for(lambda: verified(timur) == ["Кириллов Максим Тимурович"])
    # ЗАГС refuses anyone else of the walk: Дмитрий is not on Максим's certificate.
    family.add_child(dmitry, MAKSIM, ORIGIN)
    assert wait_for(lambda: "rejected" in relation_statuses(dmitry))
    assert verified(dmitry) == ["Соколова Ксения Дмитриевна"]


def relation_statuses(parent) -> list[str]:
    db.session.commit()
    return list(
        db.session.execute(
            sa.select(VerificationCheck.status).where(
                VerificationCheck.citizen_id == parent.id,
                VerificationCheck.kind == "child_relation",
            )
        ).scalars()
    )
