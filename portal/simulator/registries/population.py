"""The reference population the registries check against: generated, and deterministic.

``build_population(size, seed)`` is a pure function (same arguments, same people), so
testers on different stands find the same data. The people the README names
(``FIXED_PEOPLE``, ``FIXED_CERTIFICATES``) are always included with exactly these
documents: the portal's demo citizens, and the families a tester registers by hand.

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
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from portal.simulator.models import db
from portal.simulator.registries.models import BirthCertificate, Passport, Person
from shared.validators import snils_checksum

# Ages and dates are counted from a fixed day, not from today: the same seed must give the
# same people next year too.
REFERENCE_DATE = date(2026, 1, 1)
DEFAULT_SEED = 20261123


@dataclass(frozen=True)
class PassportData:
    series: str
    number: str
    issue_date: date
    issuer_code: str
    status: str = "valid"


@dataclass
class PersonData:
    key: str
    surname: str
    given_name: str
    patronymic: str | None
    gender: str
    birth_date: date
    snils: str
    passports: list[PassportData] = field(default_factory=list)


@dataclass(frozen=True)
class CertificateData:
    series: str
    number: str
    issue_date: date
    registry_office: str
    child: str  # PersonData.key
    mother: str
    father: str | None


@dataclass
class Population:
    people: list[PersonData] = field(default_factory=list)
    certificates: list[CertificateData] = field(default_factory=list)


# --- the demo citizens' records (the portal's seed uses the same people) -------------

FIXED_PEOPLE = [
    PersonData(
        "ivanova-maria",
        "Иванова",
        "Мария",
        "Петровна",
        "female",
        date(1985, 3, 14),
        "11223344595",
        [PassportData("4510", "123456", date(2005, 4, 1), "770-001")],
    ),
    PersonData(
        "petrov-sergey",
        "Петров",
        "Сергей",
        "Николаевич",
        "male",
        date(1982, 11, 30),
        "98765432183",
        [PassportData("4507", "654321", date(2002, 12, 15), "770-002")],
    ),
    PersonData(
        "ivanov-petr", "Иванов", "Пётр", "Сергеевич", "male", date(2014, 9, 2), "05023431600"
    ),
    PersonData(
        "ivanova-alisa",
        "Иванова",
        "Алиса",
        "Сергеевна",
        "female",
        date(2011, 5, 17),
        "01610339600",
        # Her first passport, a few weeks after her 14th birthday: she signs in herself.
        [PassportData("4525", "246810", date(2025, 6, 3), "770-001")],
    ),
    PersonData(
        "smirnova-olga",
        "Смирнова",
        "Ольга",
        "Викторовна",
        "female",
        date(1979, 7, 8),
        "82098123300",
        [PassportData("4503", "111222", date(2004, 8, 10), "770-003")],
    ),
    PersonData(
        "kuznetsova-anna",
        "Кузнецова",
        "Анна",
        "Сергеевна",
        "female",
        date(1950, 2, 20),
        "91370285800",
        [PassportData("4501", "999888", date(2000, 3, 1), "770-004", "lost")],
    ),
    # The diary's demo staff: school 1's administrator, the region's education department
    # and school 1's health worker (``diary_service.seed`` gives them their roles).
    PersonData(
        "orlov-nikolay",
        "Орлов",
        "Николай",
        "Андреевич",
        "male",
        date(1976, 4, 3),
        "14675298302",
        [PassportData("4521", "334455", date(2021, 4, 20), "770-005")],
    ),
    PersonData(
        "morozova-elena",
        "Морозова",
        "Елена",
        "Юрьевна",
        "female",
        date(1984, 6, 12),
        "23741856078",
        [PassportData("4504", "556677", date(2004, 7, 1), "770-006")],
    ),
    PersonData(
        "belova-vera",
        "Белова",
        "Вера",
        "Ивановна",
        "female",
        date(1988, 1, 25),
        "35812967409",
        [PassportData("4508", "778899", date(2008, 2, 15), "770-007")],
    ),
    # Мария's mother, a demo citizen with no role in the diary: Мария makes her a trusted
    # person for Пётр.
    PersonData(
        "ivanova-galina",
        "Иванова",
        "Галина",
        "Фёдоровна",
        "female",
        date(1958, 8, 9),
        "12457803661",
        # Replaced at 45, as due; valid for life since.
        [PassportData("4503", "581326", date(2003, 9, 1), "770-011")],
    ),
    # Not demo citizens: the README's walk of issue 6 registers them. Ксения studies in
    # 6А of the first demo region's school 1 with her SNILS on record (her father's
    # verified child links by itself; her mother links by a code).
    PersonData(
        "sokolov-dmitry",
        "Соколов",
        "Дмитрий",
        "Андреевич",
        "male",
        date(1984, 10, 5),
        "15623487172",
        [PassportData("4504", "210987", date(2004, 10, 21), "770-008")],
    ),
    PersonData(
        "sokolova-irina",
        "Соколова",
        "Ирина",
        "Олеговна",
        "female",
        date(1987, 2, 19),
        "16734598207",
        [PassportData("4507", "345612", date(2007, 3, 5), "770-009")],
    ),
    PersonData(
        "sokolova-ksenia",
        "Соколова",
        "Ксения",
        "Дмитриевна",
        "female",
        date(2014, 3, 11),
        "07145829370",
    ),
    # Максим studies in the same class, but the school never recorded his SNILS: his
    # father gets access by a service application the school approves. Тимур is a demo
    # citizen (portal/demo.py); Максим's mother is only here, for his certificate.
    PersonData(
        "kirillov-timur",
        "Кириллов",
        "Тимур",
        "Артёмович",
        "male",
        date(1983, 6, 27),
        "17845609313",
        [PassportData("4503", "472583", date(2003, 7, 15), "770-010")],
    ),
    PersonData(
        "kirillova-svetlana",
        "Кириллова",
        "Светлана",
        "Игоревна",
        "female",
        date(1986, 1, 30),
        "18956721434",
        [PassportData("4506", "518274", date(2006, 2, 14), "770-012")],
    ),
    PersonData(
        "kirillov-maksim",
        "Кириллов",
        "Максим",
        "Тимурович",
        "male",
        date(2014, 7, 23),
        "08156930479",
    ),
]
PRESNENSKY = "Отдел ЗАГС Пресненского района"
FIXED_CERTIFICATES = [
    CertificateData(
        "IV-МЮ",
        "512345",
        date(2014, 9, 20),
        PRESNENSKY,
        "ivanov-petr",
        "ivanova-maria",
        "petrov-sergey",
    ),
    CertificateData(
        "III-МЮ",
        "401234",
        date(2011, 6, 1),
        PRESNENSKY,
        "ivanova-alisa",
        "ivanova-maria",
        "petrov-sergey",
    ),
    CertificateData(
        "IV-МЮ",
        "623451",
        date(2014, 3, 25),
        "Отдел ЗАГС Тверского района",
        "sokolova-ksenia",
        "sokolova-irina",
        "sokolov-dmitry",
    ),
    CertificateData(
        "IV-МЮ",
        "634518",
        date(2014, 8, 5),
        "Отдел ЗАГС Хамовнического района",
        "kirillov-maksim",
        "kirillova-svetlana",
        "kirillov-timur",
    ),
]

# --- name material --------------------------------------------------------------------

# Male name, the patronymic it gives a son, and the one it gives a daughter.
MALE_NAMES = [
    ("Александр", "Александрович", "Александровна"),
    ("Алексей", "Алексеевич", "Алексеевна"),
    ("Андрей", "Андреевич", "Андреевна"),
    ("Антон", "Антонович", "Антоновна"),
    ("Артём", "Артёмович", "Артёмовна"),
    ("Борис", "Борисович", "Борисовна"),
    ("Вадим", "Вадимович", "Вадимовна"),
    ("Василий", "Васильевич", "Васильевна"),
    ("Виктор", "Викторович", "Викторовна"),
    ("Владимир", "Владимирович", "Владимировна"),
    ("Григорий", "Григорьевич", "Григорьевна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"),
    ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Иван", "Иванович", "Ивановна"),
    ("Игорь", "Игоревич", "Игоревна"),
    ("Илья", "Ильич", "Ильинична"),
    ("Кирилл", "Кириллович", "Кирилловна"),
    ("Константин", "Константинович", "Константиновна"),
    ("Лев", "Львович", "Львовна"),
    ("Максим", "Максимович", "Максимовна"),
    ("Матвей", "Матвеевич", "Матвеевна"),
    ("Михаил", "Михайлович", "Михайловна"),
    ("Никита", "Никитич", "Никитична"),
    ("Николай", "Николаевич", "Николаевна"),
    ("Олег", "Олегович", "Олеговна"),
    ("Павел", "Павлович", "Павловна"),
    ("Пётр", "Петрович", "Петровна"),
    ("Роман", "Романович", "Романовна"),
    ("Сергей", "Сергеевич", "Сергеевна"),
    ("Степан", "Степанович", "Степановна"),
    ("Тимофей", "Тимофеевич", "Тимофеевна"),
    ("Фёдор", "Фёдорович", "Фёдоровна"),
    ("Юрий", "Юрьевич", "Юрьевна"),
    ("Ярослав", "Ярославович", "Ярославовна"),
]
FEMALE_NAMES = [
    "Алёна",
    "Александра",
    "Алиса",
    "Анастасия",
    "Анна",
    "Валентина",
    "Варвара",
    "Вера",
    "Виктория",
    "Галина",
    "Дарья",
    "Евгения",
    "Екатерина",
    "Елена",
    "Елизавета",
    "Ирина",
    "Ксения",
    "Людмила",
    "Марина",
    "Мария",
    "Надежда",
    "Наталья",
    "Ольга",
    "Полина",
    "Светлана",
    "София",
    "Татьяна",
    "Юлия",
]
# Male forms; the female form is derived (Иванов → Иванова, Высоцкий → Высоцкая), and
# surnames like Черных or Шевченко stay as they are.
SURNAMES = [
    "Абрамов",
    "Акимов",
    "Аксёнов",
    "Александров",
    "Алексеев",
    "Андреев",
    "Анисимов",
    "Антонов",
    "Афанасьев",
    "Баранов",
    "Белов",
    "Белоусов",
    "Беляев",
    "Бирюков",
    "Богданов",
    "Борисов",
    "Быков",
    "Васильев",
    "Виноградов",
    "Власов",
    "Волков",
    "Воробьёв",
    "Воронин",
    "Воронов",
    "Гаврилов",
    "Галкин",
    "Герасимов",
    "Голубев",
    "Горбунов",
    "Горшков",
    "Григорьев",
    "Гришин",
    "Громов",
    "Гусев",
    "Давыдов",
    "Данилов",
    "Демидов",
    "Денисов",
    "Дмитриев",
    "Егоров",
    "Елисеев",
    "Ермаков",
    "Ефимов",
    "Жданов",
    "Жуков",
    "Журавлёв",
    "Зайцев",
    "Захаров",
    "Ильин",
    "Исаев",
    "Казаков",
    "Калинин",
    "Карпов",
    "Киселёв",
    "Климов",
    "Ковалёв",
    "Козлов",
    "Колесников",
    "Комаров",
    "Коновалов",
    "Королёв",
    "Котов",
    "Краснов",
    "Крылов",
    "Кудрявцев",
    "Кузнецов",
    "Кузьмин",
    "Куликов",
    "Лазарев",
    "Лебедев",
    "Леонов",
    "Логинов",
    "Макаров",
    "Максимов",
    "Мальцев",
    "Марков",
    "Мартынов",
    "Матвеев",
    "Медведев",
    "Мельников",
    "Миронов",
    "Михайлов",
    "Моисеев",
    "Морозов",
    "Назаров",
    "Наумов",
    "Нестеров",
    "Никитин",
    "Николаев",
    "Новиков",
    "Овчинников",
    "Орлов",
    "Осипов",
    "Павлов",
    "Панов",
    "Петров",
    "Плотников",
    "Поляков",
    "Пономарёв",
    "Попов",
    "Потапов",
    "Прохоров",
    "Романов",
    "Румянцев",
    "Рыбаков",
    "Савельев",
    "Савин",
    "Сафонов",
    "Семёнов",
    "Сергеев",
    "Сидоров",
    "Симонов",
    "Смирнов",
    "Соболев",
    "Соколов",
    "Соловьёв",
    "Сорокин",
    "Степанов",
    "Тарасов",
    "Тимофеев",
    "Титов",
    "Тихонов",
    "Трофимов",
    "Успенский",
    "Покровский",
    "Вишневский",
    "Высоцкий",
    "Федотов",
    "Филатов",
    "Филиппов",
    "Фомин",
    "Фролов",
    "Фёдоров",
    "Цветков",
    "Чернов",
    "Щербаков",
    "Юдин",
    "Яковлев",
    "Черных",
    "Белых",
    "Шевченко",
    "Бондаренко",
    "Коваленко",
]

# Regions: passport series prefix (OKATO), issuer code prefix (region), the ЗАГС letters
# of birth-certificate series, and registry offices.
REGIONS = [
    (
        "45",
        "77",
        "МЮ",
        [
            "Отдел ЗАГС Пресненского района",
            "Отдел ЗАГС Тверского района",
            "Отдел ЗАГС Хамовнического района",
            "Отдел ЗАГС Басманного района",
            "Отдел ЗАГС Тимирязевского района",
        ],
    ),
    (
        "40",
        "78",
        "АК",
        [
            "Отдел ЗАГС Центрального района Санкт-Петербурга",
            "Отдел ЗАГС Адмиралтейского района Санкт-Петербурга",
            "Отдел ЗАГС Выборгского района Санкт-Петербурга",
        ],
    ),
    (
        "46",
        "50",
        "ИК",
        [
            "Отдел ЗАГС по городскому округу Подольск",
            "Отдел ЗАГС по городскому округу Химки",
        ],
    ),
    ("92", "16", "КБ", ["Отдел ЗАГС Вахитовского района г. Казани"]),
    ("65", "66", "АИ", ["Отдел ЗАГС Ленинского района г. Екатеринбурга"]),
    ("50", "54", "ЕТ", ["Отдел ЗАГС Центрального района г. Новосибирска"]),
]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


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
