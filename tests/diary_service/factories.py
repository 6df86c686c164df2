"""A small, fixed world for the diary's tests: one region, two municipalities, two
schools. School 1 has classes 6А and 9Б with their teachers, class teacher, administrator
and health worker, students and their parents; school 2 has its own of each, the
"stranger" every access test reaches for. Everyone who acts has a ``DiaryPerson`` (as if
they had signed in through the portal); ``world.people[name]`` finds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask.testing import FlaskClient

from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Guardian
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
    MarkPolicy,
    Remark,
)
from diary_service.models.school import (
    AcademicYear,
    Bell,
    Enrolment,
    Municipality,
    Notice,
    ParentMeeting,
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
from diary_service.school.policy import DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS
from shared.sessions import utcnow
from tests.helpers import region_today

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
    today = today or region_today()
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


def lesson(world: World, cls: str, on: date, number: int, topic: str = "") -> Lesson:
    """A lesson of school one's class ``cls``: lesson 1 is mathematics (its teacher),
    any other Russian (the second teacher)."""
    subject = world.subjects["math" if number == 1 else "russian"]
    teacher = world.one.staff["teacher" if number == 1 else "teacher2"]
    row = Lesson(
        class_id=world.one.classes[cls].id,
        subject_id=subject.id,
        teacher_id=teacher.id,
        on_date=on,
        lesson_number=number,
        topic=topic,
    )
    db.session.add(row)
    db.session.flush()
    return row


def mark(world: World, student: str, at: Lesson, value: str, kind: str, weight: int, **kw) -> Mark:
    """A mark given by school one's teacher to ``student`` at the lesson ``at``."""
    row = Mark(
        lesson_id=at.id,
        student_id=world.one.students[student].id,
        value=value,
        kind=kind,
        weight=weight,
        author_id=world.one.staff["teacher"].id,
        **kw,
    )
    db.session.add(row)
    db.session.flush()
    return row


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
            valid_until=region_today() + timedelta(days=until) if until is not None else None,
            revoked_at=now - timedelta(days=1) if revoked else None,
            reason="test world: trusted person",
        )
        db.session.add(links[name])
    db.session.commit()
    return links


# --- a student who moved (issue 11) -----------------------------------------------------


@dataclass
class Moved:
    """Фёдор's record (``add_moved_student``): last year in school 1's 5А, this year in
    school 1's 6А until ``transfer_on`` (the Wednesday of the week of ``monday``), then in
    school 2's 6А. ``pre`` rows are school 1's of his time there, ``post`` school 2's
    after the transfer, ``last_year`` 5А's. Each row's words (``WORDS``) are unique, so
    a page that shows one is caught."""

    student: Student
    monday: date
    transfer_on: date
    period_one: Period  # school 1's period of that week
    period_two: Period  # school 2's
    last_year: AcademicYear
    last_year_period: Period
    last_year_class: SchoolClass
    pre: dict[str, Any]
    post: dict[str, Any]
    old: dict[str, Any]  # last year's


# What each kind of row says before the transfer (school 1), after it (school 2) and
# last year (school 1's 5А).
WORDS = {
    "pre": {
        "topic": "Дроби до перевода",
        "homework": "Задание до перевода",
        "mark": "оценка до перевода",
        "remark": "Замечание до перевода",
        "note": "Записка до перевода",
        "notice": "Новость школы № 1 до перевода",
        "meeting": "Собрание в школе № 1 до перевода",
    },
    "post": {
        "topic": "Дроби после перевода",
        "homework": "Задание после перевода",
        "mark": "оценка после перевода",
        "remark": "Замечание после перевода",
        "note": "Записка после перевода",
        "notice": "Новость школы № 2 после перевода",
        "meeting": "Собрание в школе № 2 после перевода",
    },
    "old": {"topic": "Тема прошлого года", "mark": "оценка прошлого года"},
}


def moved_week(world: World) -> tuple[Period, date] | None:
    """The second week of the latest period of school 1's year that lies wholly before
    today (the transfer must be history), or None early in the year."""
    for period in reversed(world.one.periods):
        monday = monday_of(period.starts_on) + timedelta(days=7)
        if (
            monday + timedelta(days=7) <= world.today
            and monday + timedelta(days=5) <= period.ends_on
        ):
            return period, monday
    return None


def _journal_rows(
    school: SchoolWorld,
    school_class: SchoolClass,
    student: Student,
    on: date,
    words: dict[str, str],
    value: str,
    *,
    subject: Subject,
    russian: Subject,
    final_period: Period | None = None,
) -> dict[str, Any]:
    """A maths lesson with topic, homework (and a file), a mark and a remark; a Russian
    lesson with an absence; a remark tied to no lesson, written that day."""
    teacher, teacher2 = school.staff["teacher"], school.staff["teacher2"]
    math_lesson = Lesson(
        class_id=school_class.id,
        subject_id=subject.id,
        teacher_id=teacher.id,
        on_date=on,
        lesson_number=1,
        topic=words["topic"],
    )
    russian_lesson = Lesson(
        class_id=school_class.id,
        subject_id=russian.id,
        teacher_id=teacher2.id,
        on_date=on,
        lesson_number=2,
        topic="",
    )
    db.session.add_all([math_lesson, russian_lesson])
    db.session.flush()
    rows: dict[str, Any] = {"lesson": math_lesson}
    if "homework" in words:
        homework = Homework(
            lesson_id=math_lesson.id, text=words["homework"], due_on=on, updated_by_id=teacher.id
        )
        db.session.add(homework)
        db.session.flush()
        rows["attachment"] = HomeworkAttachment(
            homework_id=homework.id,
            filename="task.txt",
            content_type="text/plain",
            size=3,
            data=b"abc",
        )
        db.session.add(rows["attachment"])
    rows["mark"] = Mark(
        lesson_id=math_lesson.id,
        student_id=student.id,
        value=value,
        kind="control",
        weight=5,
        comment=words["mark"],
        author_id=teacher.id,
    )
    db.session.add(rows["mark"])
    if "remark" in words:
        rows["absence"] = Attendance(
            lesson_id=russian_lesson.id, student_id=student.id, code="б", author_id=teacher2.id
        )
        rows["remark"] = Remark(
            student_id=student.id,
            lesson_id=math_lesson.id,
            subject_id=subject.id,
            kind="behaviour",
            text=words["remark"],
            author_id=teacher.id,
        )
        rows["note"] = Remark(
            student_id=student.id,
            kind="praise",
            text=words["note"],
            author_id=teacher.id,
            created_at=datetime.combine(on, time(15, 0)),
        )
        db.session.add_all([rows["absence"], rows["remark"], rows["note"]])
    if final_period is not None:
        rows["final"] = FinalMark(
            student_id=student.id,
            subject_id=subject.id,
            year_id=final_period.year_id,
            period_id=final_period.id,
            kind="period",
            value=rows["mark"].value,
            author_id=teacher.id,
        )
        db.session.add(rows["final"])
    db.session.flush()
    return rows


def add_moved_student(world: World) -> Moved | None:
    """Фёдор, who moved from school 1 to school 2 (see ``Moved``), his parents
    (``moved_parent``, linked while he was at school 1; ``moved_parent2``, linked by
    school 2 after the move), and last year's history teacher of 5А at school 1
    (``history_teacher``). None when the year is too young for a transfer in the past."""
    found = moved_week(world)
    if found is None:
        return None
    period_one, monday = found
    period_two = next(p for p in world.two.periods if p.number == period_one.number)
    transfer_on = monday + timedelta(days=2)
    one, two = world.one, world.two
    math, russian = world.subjects["math"], world.subjects["russian"]
    history = Subject(name="История", short_name="Ист.")
    db.session.add(history)
    # Last year: school 1's year before, its 5А, and its history teacher.
    starts = one.year.starts_on.replace(year=one.year.starts_on.year - 1)
    last_year = AcademicYear(
        school=one.school,
        name=f"{starts.year}/{starts.year + 1}",
        starts_on=starts,
        ends_on=one.year.ends_on.replace(year=one.year.ends_on.year - 1),
    )
    last_year.periods = [
        Period(number=i + 1, starts_on=a, ends_on=b) for i, (a, b) in enumerate(quarters(starts))
    ]
    five = SchoolClass(school=one.school, year=last_year, grade=5, letter="А")
    db.session.add_all([last_year, five])
    who = world.people["history_teacher"] = person(
        "history_teacher", "Григорьева", "Анна", "Львовна"
    )
    historian = staff(one.school, who, "teacher", position="учитель истории")
    db.session.flush()
    db.session.add(TeachingAssignment(school_class=five, subject=history, teacher=historian))
    fedor = Student(
        school=two.school,
        family_name="Сидоров",
        given_name="Фёдор",
        middle_name="Андреевич",
        birth_date=date(2014, 3, 3),
    )
    fedor.enrolments = [
        Enrolment(
            school_class=five,
            starts_on=last_year.starts_on,
            ends_on=last_year.ends_on + timedelta(days=1),
            reason="admission",
            end_reason="transfer",
        ),
        Enrolment(
            school_class=one.classes["6А"],
            starts_on=one.year.starts_on,
            ends_on=transfer_on,
            reason="transfer",
            end_reason="transfer",
        ),
        Enrolment(school_class=two.classes["6А"], starts_on=transfer_on, reason="transfer"),
    ]
    db.session.add(fedor)
    db.session.flush()
    parent = world.people["moved_parent"] = person(
        "moved_parent", "Сидорова", "Ирина", "Петровна", email="moved@example.ru"
    )
    later = world.people["moved_parent2"] = person("moved_parent2", "Сидоров", "Андрей")
    db.session.flush()
    db.session.add_all(
        [
            Guardian(
                student=fedor,
                person_id=parent.id,
                family_name="Сидорова",
                given_name="Ирина",
                kind="parent",
                source="school",
                reason="test world: linked at school 1",
                created_at=datetime.combine(one.year.starts_on, time(9, 0)),
            ),
            Guardian(
                student=fedor,
                person_id=later.id,
                family_name="Сидоров",
                given_name="Андрей",
                kind="parent",
                source="school",
                reason="test world: linked by school 2",
            ),
        ]
    )
    pre = _journal_rows(
        one,
        one.classes["6А"],
        fedor,
        monday,
        WORDS["pre"],
        "4",
        subject=math,
        russian=russian,
    )
    post = _journal_rows(
        two,
        two.classes["6А"],
        fedor,
        monday + timedelta(days=3),
        WORDS["post"],
        "5",
        subject=math,
        russian=russian,
        final_period=period_two,
    )
    old_day = monday_of(last_year.periods[1].starts_on) + timedelta(days=7)
    old_lesson_rows = _journal_rows(
        one, five, fedor, old_day, WORDS["old"], "3", subject=history, russian=russian
    )
    old_lesson_rows["lesson"].teacher_id = historian.id
    old_lesson_rows["mark"].author_id = historian.id
    # A classmate in each 6А with a five at the same lessons (a rating to compare with).
    for school, rows in ((one, pre), (two, post)):
        db.session.add(
            Mark(
                lesson_id=rows["lesson"].id,
                student_id=school.students["masha"].id,
                value="5",
                kind="control",
                weight=5,
                author_id=school.staff["teacher"].id,
            )
        )
    for school, words, on in (
        (one, WORDS["pre"], monday),
        (two, WORDS["post"], monday + timedelta(days=3)),
    ):
        db.session.add_all(
            [
                Notice(
                    school_id=school.school.id,
                    kind="news",
                    title=words["notice"],
                    starts_on=on,
                    ends_on=on + timedelta(days=1),
                ),
                ParentMeeting(
                    class_id=school.classes["6А"].id,
                    held_at=datetime.combine(on, time(18, 0)),
                    agenda=words["meeting"],
                ),
            ]
        )
    db.session.commit()
    return Moved(
        student=fedor,
        monday=monday,
        transfer_on=transfer_on,
        period_one=period_one,
        period_two=period_two,
        last_year=last_year,
        last_year_period=last_year.periods[1],
        last_year_class=five,
        pre=pre,
        post=post,
        old=old_lesson_rows,
    )


def signed_in(app, person: DiaryPerson | None) -> FlaskClient:
    """A test client whose session is signed in as ``person`` (as the portal sign-in
    would leave it); ``None``: a signed-out visitor."""
    client = app.test_client()
    if person is not None:
        with client.session_transaction() as session:
            session["user_id"] = person.id
            session["sub"] = person.sub
            session["acr"] = "urn:gosdiary:acr:standard"
            session["portal_sid"] = f"sid-{person.id}"
    return client
