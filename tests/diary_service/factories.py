"""A small, fixed world for the diary's tests: one region, two municipalities, two
schools. School 1 has classes 6А and 9Б with their teachers, class teacher, administrator
and health worker, students and their parents; school 2 has its own of each, the
"stranger" every access test reaches for. Everyone who acts has a ``DiaryPerson`` (as if
they had signed in through the portal); ``world.people[name]`` finds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from diary_service.auth.models import DiaryPerson
from diary_service.extensions import db
from diary_service.family.models import Guardian
from diary_service.journal.models import MarkPolicy
from diary_service.journal.policy import DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS
from diary_service.school.models import (
    AcademicYear,
    Bell,
    Enrolment,
    Municipality,
    Period,
    School,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    Subject,
    TeachingAssignment,
    TimetableEntry,
)
from shared.sessions import utcnow

BELLS = [
    (time(8, 30), time(9, 15)),
    (time(9, 25), time(10, 10)),
    (time(10, 30), time(11, 15)),
    (time(11, 35), time(12, 20)),
    (time(12, 30), time(13, 15)),
    (time(13, 25), time(14, 10)),
]


def academic_year_of(day: date) -> tuple[date, date]:
    """1 September … 31 May of the academic year that contains (or follows) ``day``."""
    start_year = day.year if day.month >= 6 else day.year - 1
    return date(start_year, 9, 1), date(start_year + 1, 5, 31)


def quarters(starts: date) -> list[tuple[date, date]]:
    y = starts.year
    return [
        (date(y, 9, 1), date(y, 10, 24)),
        (date(y, 11, 3), date(y, 12, 28)),
        (date(y + 1, 1, 9), date(y + 1, 3, 21)),
        (date(y + 1, 3, 30), date(y + 1, 5, 31)),
    ]


@dataclass
class SchoolWorld:
    school: School
    year: AcademicYear
    periods: list[Period]
    classes: dict[str, SchoolClass]
    staff: dict[str, StaffMember]
    students: dict[str, Student]


@dataclass
class World:
    today: date
    municipality: Municipality
    subjects: dict[str, Subject]
    schools: list[SchoolWorld]
    people: dict[str, DiaryPerson] = field(default_factory=dict)
    policy: MarkPolicy | None = None

    @property
    def one(self) -> SchoolWorld:
        return self.schools[0]

    @property
    def two(self) -> SchoolWorld:
        return self.schools[1]


def person(name: str, family: str, given: str, middle: str | None = None, **kw: Any) -> DiaryPerson:
    p = DiaryPerson(
        sub=f"sub-{name}", family_name=family, given_name=given, middle_name=middle, **kw
    )
    db.session.add(p)
    return p


def staff(school: School | None, who: DiaryPerson | None, *roles: str, **kw: Any) -> StaffMember:
    member = StaffMember(
        school=school,
        family_name=who.family_name if who else kw.pop("family_name"),
        given_name=who.given_name if who else kw.pop("given_name"),
        middle_name=who.middle_name if who else kw.pop("middle_name", None),
        person_id=None,
        **kw,
    )
    member.roles = [StaffRole(role=role) for role in roles]
    db.session.add(member)
    if who is not None:
        db.session.flush()
        member.person_id = who.id
    return member


def _school(world: World, n: int, municipality: Municipality, prefix: str) -> SchoolWorld:
    school = School(
        municipality=municipality,
        name=f"Средняя общеобразовательная школа № {n}",
        short_name=f"СОШ № {n}",
        address=f"ул. Школьная, д. {n}",
        rating_enabled=True,
    )
    school.bells = [Bell(number=i + 1, starts_at=a, ends_at=b) for i, (a, b) in enumerate(BELLS)]
    starts, ends = academic_year_of(world.today)
    year = AcademicYear(
        school=school, name=f"{starts.year}/{ends.year}", starts_on=starts, ends_on=ends
    )
    year.periods = [
        Period(number=i + 1, starts_on=a, ends_on=b) for i, (a, b) in enumerate(quarters(starts))
    ]
    db.session.add_all([school, year])
    db.session.flush()
    db.session.add(
        MarkPolicy(
            school_id=school.id,
            version=1,
            weights=dict(DEFAULT_WEIGHTS),
            thresholds=dict(DEFAULT_THRESHOLDS),
        )
    )
    p = world.people
    teacher = p[f"{prefix}teacher"] = person(f"{prefix}teacher", "Смирнова", "Ольга", "Викторовна")
    teacher2 = p[f"{prefix}teacher2"] = person(f"{prefix}teacher2", "Орлов", "Павел", "Игоревич")
    admin = p[f"{prefix}admin"] = person(f"{prefix}admin", "Соколова", "Нина", "Андреевна")
    nurse = p[f"{prefix}nurse"] = person(f"{prefix}nurse", "Белова", "Вера", "Ивановна")
    members = {
        "teacher": staff(
            school, teacher, "teacher", "class_teacher", position="учитель математики"
        ),
        "teacher2": staff(school, teacher2, "teacher", position="учитель русского языка"),
        "admin": staff(school, admin, "school_admin", position="заместитель директора"),
        "nurse": staff(school, nurse, "health_worker", position="медицинская сестра"),
    }
    classes = {
        "6А": SchoolClass(school=school, year=year, grade=6, letter="А"),
        "9Б": SchoolClass(school=school, year=year, grade=9, letter="Б"),
    }
    classes["6А"].class_teacher = members["teacher"]
    db.session.add_all(classes.values())
    db.session.flush()
    math, russian = world.subjects["math"], world.subjects["russian"]
    for cls in classes.values():
        db.session.add_all(
            [
                TeachingAssignment(school_class=cls, subject=math, teacher=members["teacher"]),
                TeachingAssignment(school_class=cls, subject=russian, teacher=members["teacher2"]),
            ]
        )
        # Monday–Friday: math at lesson 1, Russian at lesson 2.
        for weekday in range(1, 6):
            db.session.add_all(
                [
                    TimetableEntry(
                        school_class=cls,
                        weekday=weekday,
                        lesson_number=1,
                        subject=math,
                        teacher=members["teacher"],
                        room="21",
                    ),
                    TimetableEntry(
                        school_class=cls,
                        weekday=weekday,
                        lesson_number=2,
                        subject=russian,
                        teacher=members["teacher2"],
                        room="14",
                    ),
                ]
            )
    students = {}
    for key, cls, family, given, middle, born in (
        ("petr", "6А", "Иванов", "Пётр", "Сергеевич", date(2014, 9, 2)),
        ("masha", "6А", "Кузнецова", "Мария", "Олеговна", date(2014, 4, 11)),
        ("alisa", "9Б", "Иванова", "Алиса", "Сергеевна", date(2011, 5, 17)),
    ):
        student = Student(
            school=school,
            family_name=family,
            given_name=given,
            middle_name=middle,
            birth_date=born,
        )
        student.enrolments = [
            Enrolment(school_class=classes[cls], starts_on=year.starts_on, reason="admission")
        ]
        students[key] = student
        db.session.add(student)
    db.session.flush()
    parent = p[f"{prefix}parent"] = person(
        f"{prefix}parent",
        "Иванова",
        "Мария",
        "Петровна",
        email=f"{prefix}parent@example.ru",
        phone="+79160000001",
    )
    parent2 = p[f"{prefix}parent2"] = person(
        f"{prefix}parent2", "Кузнецов", "Олег", "Ильич", email=f"{prefix}parent2@example.ru"
    )
    pupil = p[f"{prefix}alisa"] = person(f"{prefix}alisa", "Иванова", "Алиса", "Сергеевна")
    db.session.flush()
    students["alisa"].person_id = pupil.id
    for who, key in ((parent, "petr"), (parent, "alisa"), (parent2, "masha")):
        db.session.add(
            Guardian(
                student=students[key],
                person_id=who.id,
                kind="parent",
                source="school",
                reason="test world",
            )
        )
    return SchoolWorld(school, year, list(year.periods), classes, members, students)


def build_world(today: date | None = None) -> World:
    """The fixed world; ``today`` (default: today) decides which academic year it is.

    People by name: ``teacher`` (math in 6А and 9Б, class teacher of 6А), ``teacher2``
    (Russian in both), ``admin`` (school administrator), ``nurse`` (health worker),
    ``parent`` (of Пётр in 6А and Алиса in 9Б), ``parent2`` (of Маша in 6А), ``alisa``
    (the 9Б student herself), ``department`` (the region's education department) and
    ``nobody`` (signed in, no role). School 2's people carry the prefix ``two_``.
    """
    today = today or date.today()
    municipality = Municipality(name="Городской округ Демонстрационный")
    other = Municipality(name="Заречный муниципальный район")
    subjects = {
        "math": Subject(name="Математика", short_name="Матем."),
        "russian": Subject(name="Русский язык", short_name="Рус. яз."),
    }
    db.session.add_all([municipality, other, *subjects.values()])
    world = World(today=today, municipality=municipality, subjects=subjects, schools=[])
    world.schools.append(_school(world, 1, municipality, ""))
    world.schools.append(_school(world, 2, other, "two_"))
    dept = world.people["department"] = person("department", "Морозова", "Елена", "Юрьевна")
    staff(None, dept, "department", position="специалист управления образования")
    world.people["nobody"] = person("nobody", "Посторонний", "Игорь")
    db.session.commit()
    return world


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- trusted persons (issue 6) ----------------------------------------------------------

# What the portal's presets grant (the diary's section words).
EVERYTHING_BUT_MESSAGES = ["schedule", "homework", "marks", "attendance", "remarks"]
SCHEDULE_AND_HOMEWORK = ["schedule", "homework"]
EVERYTHING = [*EVERYTHING_BUT_MESSAGES, "messages"]

# name → (surname, given name, sections, opens in days from now, last day in days from
# today or None, revoked)
TRUSTED_PEOPLE = {
    "trusted": ("Кузнецова", "Анна", EVERYTHING_BUT_MESSAGES, -1, None, False),
    "trusted_light": ("Петрова", "Галина", SCHEDULE_AND_HOMEWORK, -1, 30, False),
    "trusted_full": ("Смирнов", "Аркадий", EVERYTHING, -1, None, False),
    "trusted_revoked": ("Волкова", "Зоя", EVERYTHING_BUT_MESSAGES, -10, None, True),
    "trusted_pending": ("Зайцева", "Лидия", EVERYTHING_BUT_MESSAGES, 1, None, False),
    "trusted_expired": ("Лебедева", "Нина", EVERYTHING_BUT_MESSAGES, -30, -1, False),
}


def add_trusted_people(world: World) -> dict[str, Guardian]:
    """Trusted persons of Пётр (6А, school 1), as the portal's grants would have linked
    them at their sign-in (``world.people[name]``, their links by name): ``trusted``
    (everything but messages), ``trusted_light`` (schedule and homework, for 30 more
    days), ``trusted_full`` (everything), ``trusted_revoked`` (revoked by the parent),
    ``trusted_pending`` (opens tomorrow: the portal's delay after acceptance) and
    ``trusted_expired`` (its last day was yesterday). Kept out of ``build_world``: the
    tests of parents count Пётр's guardians."""
    now = utcnow()
    petr = world.one.students["petr"]
    links = {}
    for n, (name, (family, given, sections, opens, until, revoked)) in enumerate(
        TRUSTED_PEOPLE.items(), start=1
    ):
        who = world.people[name] = person(name, family, given)
        db.session.flush()
        links[name] = Guardian(
            student=petr,
            person_id=who.id,
            family_name=family,
            given_name=given,
            kind="trusted",
            source="trusted",
            grant_id=f"00000000-0000-4000-8000-{n:012d}",
            sections=list(sections),
            opens_at=now + timedelta(days=opens),
            valid_until=date.today() + timedelta(days=until) if until is not None else None,
            revoked_at=now - timedelta(days=1) if revoked else None,
            reason="test world: trusted person",
        )
        db.session.add(links[name])
    db.session.commit()
    return links
