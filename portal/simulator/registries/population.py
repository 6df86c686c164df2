"""The reference population the registries check against: generated, and deterministic.

``build_population(size, seed)`` is a pure function (same arguments, same people), so
testers on different stands find the same data. The people the README names
(``FIXED_PEOPLE``, ``FIXED_CERTIFICATES`` in ``records.py``) are always included with
exactly these documents: the portal's demo citizens, and the families a tester registers
by hand. The names and regions it draws from are in ``names.py``.

What is generated, and why it looks the way it does:
- households: couples with children, single mothers (no father on the certificate),
  couples without children, people living alone (some elderly);
- names in the right gender form (Иванов/Иванова, Сергеевич/Сергеевна), children's
  patronymics from the father's name;
- SNILS with valid checksums (``shared.validators.snils_checksum``);
- passports issued after the 14th birthday and replaced at 20 and 45, as in Russia: the
  series starts with the region's OKATO code and ends with the year of issue; some
  passports are lost, some expired (not replaced in time), some replaced by a newer one;
- a birth certificate for every child of a household, naming the mother and the father.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa

from portal.simulator.models import db
from portal.simulator.registries.models import BirthCertificate, Passport, Person
from portal.simulator.registries.names import FEMALE_NAMES, MALE_NAMES, REGIONS, ROMAN, SURNAMES
from portal.simulator.registries.records import (
    FIXED_CERTIFICATES,
    FIXED_PEOPLE,
    CertificateData,
    PassportData,
    PersonData,
    Population,
)
from shared.validators import snils_checksum

# Ages and dates are counted from a fixed day, not from today: the same seed must give the
# same people next year too.
REFERENCE_DATE = date(2026, 1, 1)
DEFAULT_SEED = 20261123


def female_surname(male: str) -> str:
    if male.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return male + "а"
    if male.endswith(("ский", "цкий")):
        return male[:-2] + "ая"
    return male


def birthday(born: date, years: int) -> date:
    """The ``years``-th birthday (29 February falls on 1 March in other years)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.population = Population()
        self.snils: set[str] = set()
        self.passports: set[tuple[str, str]] = set()
        self.certificates: set[tuple[str, str]] = set()
        self.count = 0
        for person in FIXED_PEOPLE:
            self._add_fixed(person)
        for certificate in FIXED_CERTIFICATES:
            self.certificates.add((certificate.series, certificate.number))
            self.population.certificates.append(certificate)

    def _add_fixed(self, person: PersonData) -> None:
        copy = PersonData(**{**person.__dict__, "passports": list(person.passports)})
        self.population.people.append(copy)
        self.snils.add(person.snils)
        self.passports.update((p.series, p.number) for p in person.passports)

    # --- pieces ---------------------------------------------------------------------

    def date_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def new_snils(self) -> str:
        while True:
            # Above 001-001-998, where the checksum rule applies.
            head = f"{self.rng.randint(2_000_000, 999_999_999):09d}"
            digits = head + f"{snils_checksum(head):02d}"
            if digits not in self.snils:
                self.snils.add(digits)
                return digits

    def new_passport(self, region: tuple, issue: date, status: str = "valid") -> PassportData:
        okato, code, _letters, _offices = region
        while True:
            series = f"{okato}{issue.year % 100:02d}"
            number = f"{self.rng.randint(100000, 999999)}"
            if (series, number) not in self.passports:
                self.passports.add((series, number))
                issuer = f"{code}0-{self.rng.randint(1, 99):03d}"
                return PassportData(series, number, issue, issuer, status)

    def issue_date(self, born: date, at_age: int) -> date:
        """A day soon after the birthday the passport is due (never after the reference day)."""
        due = birthday(born, at_age)
        issued = due + timedelta(days=self.rng.randint(1, 60))
        return max(due, min(issued, REFERENCE_DATE - timedelta(days=1)))

    def passports_for(self, born: date, region: tuple) -> list[PassportData]:
        age = age_on(born, REFERENCE_DATE)
        if age < 14:
            return []
        milestones = [m for m in (14, 20, 45) if m <= age]
        current = milestones[-1]
        result: list[PassportData] = []
        roll = self.rng.random()
        if len(milestones) > 1 and roll < 0.05:
            # Never replaced at 20 or 45: the old passport has expired.
            return [self.new_passport(region, self.issue_date(born, milestones[-2]), "expired")]
        if len(milestones) > 1 and self.rng.random() < 0.35:
            previous = self.issue_date(born, milestones[-2])
            result.append(self.new_passport(region, previous, "replaced"))
        issued = self.issue_date(born, current)
        if roll > 0.94:
            result.append(self.new_passport(region, issued, "lost"))
            if self.rng.random() < 0.5 and issued < REFERENCE_DATE - timedelta(days=30):
                reissued = self.date_between(issued + timedelta(days=7), REFERENCE_DATE)
                result.append(self.new_passport(region, reissued))
        else:
            result.append(self.new_passport(region, issued))
        return result

    def person(
        self,
        surname_male: str,
        gender: str,
        born: date,
        region: tuple,
        given_name: str | None = None,
        patronymic: str | None = None,
    ) -> PersonData:
        if gender == "male":
            surname = surname_male
            given_name = given_name or self.rng.choice(MALE_NAMES)[0]
            patronymic = patronymic or self.rng.choice(MALE_NAMES)[1]
        else:
            surname = female_surname(surname_male)
            given_name = given_name or self.rng.choice(FEMALE_NAMES)
            patronymic = patronymic or self.rng.choice(MALE_NAMES)[2]
        self.count += 1
        person = PersonData(
            key=f"p{self.count}",
            surname=surname,
            given_name=given_name,
            patronymic=patronymic,
            gender=gender,
            birth_date=born,
            snils=self.new_snils(),
            passports=self.passports_for(born, region),
        )
        self.population.people.append(person)
        return person

    def certificate(
        self, region: tuple, child: PersonData, mother: PersonData, father: PersonData | None
    ) -> None:
        _okato, _code, letters, offices = region
        while True:
            series = f"{self.rng.choice(ROMAN)}-{letters}"
            number = f"{self.rng.randint(100000, 999999)}"
            if (series, number) not in self.certificates:
                self.certificates.add((series, number))
                break
        issued = min(
            child.birth_date + timedelta(days=self.rng.randint(3, 40)),
            REFERENCE_DATE - timedelta(days=1),
        )
        self.population.certificates.append(
            CertificateData(
                series,
                number,
                issued,
                self.rng.choice(offices),
                child.key,
                mother.key,
                father.key if father else None,
            )
        )

    # --- households -----------------------------------------------------------------

    def household(self) -> None:
        region = self.rng.choice(REGIONS)
        family = self.rng.choice(SURNAMES)
        kind = self.rng.random()
        # Parents born 1958–1998; a mother within a few years of the father.
        father_born = self.date_between(date(1958, 1, 1), date(1998, 12, 31))
        mother_born = father_born + timedelta(days=self.rng.randint(-5 * 365, 3 * 365))
        if kind < 0.55:  # couple with children
            father = self.person(family, "male", father_born, region)
            mother = self.person(family, "female", mother_born, region)
            self.children(region, family, mother, father)
        elif kind < 0.70:  # single mother: no father on the certificate
            mother = self.person(family, "female", mother_born, region)
            self.children(region, family, mother, None)
        elif kind < 0.85:  # couple without children
            self.person(family, "male", father_born, region)
            self.person(family, "female", mother_born, region)
        else:  # living alone; some of them elderly
            born = self.date_between(date(1940, 1, 1), date(2004, 12, 31))
            self.person(family, self.rng.choice(("male", "female")), born, region)

    def children(
        self, region: tuple, family: str, mother: PersonData, father: PersonData | None
    ) -> None:
        father_name = (
            next(n for n in MALE_NAMES if n[0] == father.given_name)
            if father
            else self.rng.choice(MALE_NAMES)
        )
        born = birthday(mother.birth_date, self.rng.randint(20, 30))
        born += timedelta(days=self.rng.randint(0, 364))
        names: set[str] = set()
        for _ in range(self.rng.randint(1, 3)):
            if born > REFERENCE_DATE - timedelta(days=60):
                break
            gender = self.rng.choice(("male", "female"))
            choices = [n[0] for n in MALE_NAMES] if gender == "male" else FEMALE_NAMES
            given_name = self.rng.choice([n for n in choices if n not in names])
            names.add(given_name)
            child = self.person(
                family,
                gender,
                born,
                region,
                given_name=given_name,
                patronymic=father_name[1] if gender == "male" else father_name[2],
            )
            self.certificate(region, child, mother, father)
            born += timedelta(days=self.rng.randint(400, 2500))


def build_population(size: int, seed: int = DEFAULT_SEED) -> Population:
    """The fixed demo people plus about ``size`` generated ones; the same for the same seed."""
    builder = _Builder(seed)
    while builder.count < size:
        builder.household()
    return builder.population


def has_population() -> bool:
    return db.session.execute(sa.select(Person.id).limit(1)).first() is not None


def delete_population() -> None:
    for model in (BirthCertificate, Passport, Person):
        db.session.execute(sa.delete(model))
    db.session.commit()


def generate_population(size: int, seed: int = DEFAULT_SEED, reset: bool = False) -> int:
    """Store the population unless one exists (or ``reset``). Returns people created."""
    if has_population():
        if not reset:
            return 0
        delete_population()
    population = build_population(size, seed)
    rows: dict[str, Person] = {}
    for data in population.people:
        person = Person(
            surname=data.surname,
            given_name=data.given_name,
            patronymic=data.patronymic,
            gender=data.gender,
            birth_date=data.birth_date,
            snils=data.snils,
            passports=[
                Passport(
                    series=p.series,
                    number=p.number,
                    issue_date=p.issue_date,
                    issuer_code=p.issuer_code,
                    status=p.status,
                )
                for p in data.passports
            ],
        )
        rows[data.key] = person
        db.session.add(person)
    for data in population.certificates:
        db.session.add(
            BirthCertificate(
                series=data.series,
                number=data.number,
                issue_date=data.issue_date,
                registry_office=data.registry_office,
                child=rows[data.child],
                mother=rows[data.mother],
                father=rows[data.father] if data.father else None,
            )
        )
    db.session.commit()
    return len(rows)
