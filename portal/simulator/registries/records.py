"""The shapes of the reference population's records, and the fixed ones always in it: the
portal's demo citizens and the families a tester registers by hand (the README names them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


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
    # and school 1's health worker (``diary_service.demo`` gives them their roles).
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
