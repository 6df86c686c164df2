"""The demo regions ``flask --app diary_service seed`` loads: the small ones ``make run``
shows (once, however often it runs; region 1 at :8001, region 2 at :8003), the portal's
demo people where the README says they are (with the children of issue 6's walk, whose
parents sign in as the README tells), no SNILS anywhere, the same region from the same
seed, and the region-scale code path on two schools.

Region 1 is seeded once for the module into the suite's diary database and wiped after
it; region 2 into a database of its own; the determinism and region tests use another,
throwaway database.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from diary_service import create_app
from diary_service.auth.services import PortalIdentity, record_sign_in, snils_index
from diary_service.demo.calendar import Calendar
from diary_service.demo.seed import seed_command
from diary_service.extensions import db
from diary_service.models.family import Guardian
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Lesson,
    Mark,
    MarkPolicy,
    Remark,
)
from diary_service.models.partitions import school_year_of
from diary_service.models.school import (
    AcademicYear,
    Bell,
    Enrolment,
    Holiday,
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
    TimetableChange,
    TimetableEntry,
)
from diary_service.school.policy import Rule, average, suggest
from portal.simulator.registries.population import FIXED_PEOPLE
from shared.sessions import utcnow
from tests.conftest import ROOT, SECRETS, IsolatedClient, migrate_app, wipe
from tests.helpers import region_today, text_of

# "Today" for the seed: late November of the academic year containing the real today
# (the first quarter over, the second under way), so the region is the same whatever
# day the suite runs.
TODAY = Calendar.of(region_today()).starts + timedelta(days=83)
SMALL = ["--scale", "small", "--today", TODAY.isoformat()]
SNILS = {
    "petr": "050-234-316 00",
    "alisa": "016-103-396 00",
    "maria": "112-233-445 95",
    "sergey": "987-654-321 83",
    "olga": "820-981-233 00",
    "nikolay": "146-752-983 02",
    "elena": "237-418-560 78",
    "vera": "358-129-674 09",
    # Issue 6's walk (README): the Соколовы and the Кирилловы, and Мария's mother.
    "ksenia": "071-458-293 70",
    "dmitry": "156-234-871 72",
    "irina": "167-345-982 07",
    "maksim": "081-569-304 79",
    "timur": "178-456-093 13",
    "galina": "124-578-036 61",
}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
SNILS_LIKE = re.compile(r"\d{3}-?\d{3}-?\d{3}[ -]?\d{2}")


def seed(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(seed_command, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def index(app, who: str) -> str:
    return snils_index(SNILS[who], app.config["BLIND_INDEX_KEY"])


def scalar(statement):
    return db.session.execute(statement).scalar_one()


def count(model, *where) -> int:
    return scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture(scope="module")
def seeded(diary_app) -> Iterator:
    """The small region, seeded once into the suite's diary database."""
    with diary_app.app_context():
        seed(diary_app, *SMALL)
        yield diary_app
        db.session.remove()
        wipe(db)


def diary_on_file(path) -> Iterator:
    """A diary of its own on a migrated SQLite file."""
    app = create_app(
        {
            "ENV": "test",
            "SECRET_KEY": SECRETS["SECRET_KEY"],
            "DATABASE_URL": f"sqlite:///{path}",
        }
    )
    migrate_app(app, ROOT / "diary_service" / "migrations")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def spare(tmp_path_factory) -> Iterator:
    """A second diary on its own SQLite file, emptied after each use."""
    yield from diary_on_file(tmp_path_factory.mktemp("seed") / "spare.db")


@pytest.fixture(scope="module")
def region2_app(tmp_path_factory) -> Iterator:
    """The second region's diary (``--region 2``, what :8003 shows), seeded once."""
    for app in diary_on_file(tmp_path_factory.mktemp("seed") / "region2.db"):
        with app.app_context():
            seed(app, *SMALL, "--region", "2")
            db.session.remove()
        yield app


@pytest.fixture
def region2(region2_app) -> Iterator:
    """Region 2's database for one test (its context on top of region 1's)."""
    with region2_app.app_context():
        yield region2_app
        db.session.remove()


def the_class(school_id: int, name: str) -> SchoolClass:
    return db.session.execute(
        sa.select(SchoolClass).where(
            SchoolClass.school_id == school_id,
            SchoolClass.grade == int(name[:-1]),
            SchoolClass.letter == name[-1],
        )
    ).scalar_one()


def student_by_index(value: str) -> Student:
    return db.session.execute(sa.select(Student).where(Student.snils_index == value)).scalar_one()


def staff_by_index(value: str) -> StaffMember:
    return db.session.execute(
        sa.select(StaffMember).where(StaffMember.snils_index == value)
    ).scalar_one()


def class_name_of(student: Student) -> str:
    enrolment = db.session.execute(
        sa.select(Enrolment).where(Enrolment.student_id == student.id)
    ).scalar_one()
    return enrolment.school_class.name


def digest() -> dict:
    """What two seeds must agree on, without ids: counts, names, dates and marks."""
    result: dict = {
        table.name: scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }
    result["students"] = db.session.execute(
        sa.select(
            Student.family_name, Student.given_name, Student.middle_name, Student.birth_date
        ).order_by(Student.id)
    ).all()
    result["staff"] = db.session.execute(
        sa.select(StaffMember.family_name, StaffMember.given_name, StaffMember.position).order_by(
            StaffMember.id
        )
    ).all()
    result["marks"] = db.session.execute(
        sa.select(Mark.value, Mark.kind, sa.func.count())
        .group_by(Mark.value, Mark.kind)
        .order_by(Mark.value, Mark.kind)
    ).all()
    result["topics"] = db.session.execute(
        sa.select(Lesson.on_date, Lesson.lesson_number, Lesson.topic).order_by(Lesson.id).limit(300)
    ).all()
    result["finals"] = db.session.execute(
        sa.select(FinalMark.value, FinalMark.average).order_by(FinalMark.id).limit(300)
    ).all()
    return result


# --- the small region ----------------------------------------------------------------


def test_seeding_again_changes_nothing(seeded):
    before = digest()
    output = seed(seeded, *SMALL)
    assert "already has 3 schools" in output
    assert digest() == before


def test_refused_in_production(seeded, monkeypatch):
    monkeypatch.setitem(seeded.config, "ENV", "production")
    result = seeded.test_cli_runner().invoke(seed_command, SMALL)
    assert result.exit_code != 0
    assert "not loaded in production" in result.output


def test_an_unknown_region_is_refused(seeded):
    result = seeded.test_cli_runner().invoke(seed_command, [*SMALL, "--region", "3"])
    assert result.exit_code == 2 and "--region" in result.output


def test_the_demo_people_are_where_the_readme_says(seeded):
    school = db.session.execute(
        sa.select(School).where(School.name == "Средняя общеобразовательная школа № 1")
    ).scalar_one()
    first_municipality = scalar(sa.select(sa.func.min(Municipality.id)))
    assert school.municipality_id == first_municipality

    petr = student_by_index(index(seeded, "petr"))
    assert (petr.full_name, petr.birth_date, petr.school_id) == (
        "Иванов Пётр Сергеевич",
        date(2014, 9, 2),
        school.id,
    )
    assert class_name_of(petr) == "6А"
    # Алиса studies in region 2 (test_region_2_holds_alisa_and_her_mothers_link).
    assert count(Student, Student.snils_index == index(seeded, "alisa")) == 0

    # Пётр has marks in several subjects, homework on his class's lessons, a remark.
    subjects = db.session.execute(
        sa.select(Subject.name)
        .join(Lesson, Lesson.subject_id == Subject.id)
        .join(Mark, Mark.lesson_id == Lesson.id)
        .where(Mark.student_id == petr.id, Mark.is_current.is_(True))
        .distinct()
    ).scalars()
    assert {"Математика", "Русский язык", "Английский язык"} <= set(subjects)
    six_a = the_class(school.id, "6А")
    homework = db.session.execute(
        sa.select(sa.func.count())
        .select_from(Lesson)
        .where(Lesson.class_id == six_a.id, Lesson.homework.has())
    ).scalar_one()
    assert homework > 20
    assert count(Remark, Remark.student_id == petr.id) >= 2
    # ... and a corrected mark whose first version stays in the history.
    corrected = db.session.execute(
        sa.select(Mark).where(Mark.student_id == petr.id, Mark.previous_id.is_not(None))
    ).scalars()
    assert any(mark.is_current and mark.reason for mark in corrected)

    olga = staff_by_index(index(seeded, "olga"))
    assert (olga.full_name, olga.school_id) == ("Смирнова Ольга Викторовна", school.id)
    assert olga.role_names == {"teacher", "class_teacher"}
    assert six_a.class_teacher_id == olga.id
    teaches = {
        (a.school_class.name, a.subject.name)
        for a in db.session.execute(
            sa.select(TeachingAssignment).where(TeachingAssignment.teacher_id == olga.id)
        ).scalars()
    }
    assert {("6А", "Математика"), ("9Б", "Алгебра")} <= teaches

    links = db.session.execute(
        sa.select(Guardian.snils_index, Guardian.student_id, Guardian.family_name, Guardian.source)
    ).all()
    maria, sergey = index(seeded, "maria"), index(seeded, "sergey")
    assert {(s, f, src) for i, s, f, src in links if i == maria} == {(petr.id, "Иванова", "school")}
    assert {(s, f) for i, s, f, _src in links if i == sergey} == {(petr.id, "Петров")}

    nikolay = staff_by_index(index(seeded, "nikolay"))
    vera = staff_by_index(index(seeded, "vera"))
    elena = staff_by_index(index(seeded, "elena"))
    assert (nikolay.full_name, nikolay.school_id, nikolay.role_names) == (
        "Орлов Николай Андреевич",
        school.id,
        {"school_admin"},
    )
    assert (vera.full_name, vera.school_id, vera.role_names) == (
        "Белова Вера Ивановна",
        school.id,
        {"health_worker"},
    )
    assert (elena.full_name, elena.school_id, elena.role_names) == (
        "Морозова Елена Юрьевна",
        None,
        {"department"},
    )


def test_the_walks_children_of_issue_6_are_in_6a_without_parents(seeded):
    """Ксения (SNILS on record: her father's verified child links by itself) and Максим
    (no SNILS on record: only an application links him) study in 6А with Пётр, with the
    names and birth dates the registries know them by, with no guardian links, and with
    marks to see once linked."""
    school_id = student_by_index(index(seeded, "petr")).school_id
    registries = {person.snils: person for person in FIXED_PEOPLE}

    def same_as_registries(student: Student, who: str) -> None:
        person = registries[SNILS[who].replace("-", "").replace(" ", "")]
        assert (student.full_name, student.birth_date, student.school_id) == (
            f"{person.surname} {person.given_name} {person.patronymic}",
            person.birth_date,
            school_id,
        )
        assert class_name_of(student) == "6А"
        assert count(Guardian, Guardian.student_id == student.id) == 0
        assert count(Mark, Mark.student_id == student.id, Mark.is_current.is_(True)) > 20

    ksenia = student_by_index(index(seeded, "ksenia"))
    same_as_registries(ksenia, "ksenia")
    maksim = db.session.execute(
        sa.select(Student).where(Student.family_name == "Кириллов", Student.given_name == "Максим")
    ).scalar_one()
    same_as_registries(maksim, "maksim")
    assert maksim.snils_index is None
    assert count(Student, Student.snils_index == index(seeded, "maksim")) == 0
    # Their parents and Галина are nobody here until they sign in.
    for who in ("dmitry", "irina", "timur", "galina"):
        value = index(seeded, who)
        assert count(Guardian, Guardian.snils_index == value) == 0, who
        assert count(StaffMember, StaffMember.snils_index == value) == 0, who
        assert count(Student, Student.snils_index == value) == 0, who
    # Пётр is still 6А's first pupil.
    first = db.session.execute(
        sa.select(Enrolment.student_id)
        .where(Enrolment.class_id == the_class(school_id, "6А").id)
        .order_by(Enrolment.student_id)
        .limit(1)
    ).scalar_one()
    assert first == student_by_index(index(seeded, "petr")).id


def test_the_small_region_has_what_a_school_year_needs(seeded):
    assert count(Municipality) == 2
    schools = db.session.execute(sa.select(School).order_by(School.id)).scalars().all()
    assert len(schools) == 3
    curriculum = {"Русский язык", "Литература", "Математика", "Алгебра", "Геометрия"}
    curriculum |= {"Английский язык", "История", "Обществознание", "География", "Биология"}
    curriculum |= {"Физика", "Химия", "Информатика", "Физкультура", "Музыка", "ИЗО"}
    curriculum |= {"Технология", "Окружающий мир"}
    assert set(db.session.execute(sa.select(Subject.name)).scalars()) == curriculum
    for school in schools:
        assert count(Bell, Bell.school_id == school.id) >= 6
        year = db.session.execute(
            sa.select(AcademicYear).where(AcademicYear.school_id == school.id)
        ).scalar_one()
        assert year.starts_on < TODAY < year.ends_on
        assert [p.number for p in year.periods] == [1, 2, 3, 4]
        assert {"Осенние каникулы", "Зимние каникулы", "Весенние каникулы"} <= {
            h.name for h in year.holidays
        }
        grades = set(
            db.session.execute(
                sa.select(SchoolClass.grade).where(SchoolClass.school_id == school.id)
            ).scalars()
        )
        assert grades == set(range(1, 12))
        assert (
            count(
                StaffRole,
                StaffRole.role == "school_admin",
                StaffRole.staff.has(StaffMember.school_id == school.id),
            )
            >= 1
        )
    # The schools' rules differ: the period marks are not computed alike everywhere.
    policies = db.session.execute(sa.select(MarkPolicy)).scalars().all()
    assert len(policies) == 3 and all(p.version == 1 for p in policies)
    assert len({(p.average, tuple(sorted(p.thresholds.items()))) for p in policies}) == 3

    sizes = db.session.execute(
        sa.select(sa.func.count()).select_from(Enrolment).group_by(Enrolment.class_id)
    ).scalars()
    assert all(18 <= size <= 25 for size in sizes)
    # Nobody is in two rooms at once; five days, five to seven lessons (four in the
    # primary school, as SanPiN wants).
    double = db.session.execute(
        sa.select(TimetableEntry.teacher_id)
        .group_by(TimetableEntry.teacher_id, TimetableEntry.weekday, TimetableEntry.lesson_number)
        .having(sa.func.count() > 1)
    ).all()
    assert double == []
    per_day = db.session.execute(
        sa.select(SchoolClass.grade, sa.func.count())
        .join(TimetableEntry, TimetableEntry.class_id == SchoolClass.id)
        .group_by(SchoolClass.id, SchoolClass.grade, TimetableEntry.weekday)
    ).all()
    assert {weekday for (weekday,) in db.session.execute(sa.select(TimetableEntry.weekday))} == {
        1,
        2,
        3,
        4,
        5,
    }
    assert all((4 if grade <= 4 else 5) <= n <= 7 for grade, n in per_day)


def test_seeded_marks_and_absences_are_in_their_years_partition(seeded):
    """The seed opens its year: each row carries its lesson's school year and, on
    PostgreSQL, is in that year's partition; the default partition stays empty."""
    for model in (Mark, Attendance):
        pairs = db.session.execute(
            sa.select(Lesson.on_date, model.school_year)
            .join(model, model.lesson_id == Lesson.id)
            .distinct()
        ).all()
        assert pairs and all(year == school_year_of(day) for day, year in pairs)
        if db.engine.dialect.name == "postgresql":
            table = model.__tablename__
            where = db.session.execute(
                sa.text(f"SELECT DISTINCT tableoid::regclass::text FROM {table}")  # noqa: S608
            ).scalars()
            assert set(where) == {f"{table}_y{year}" for _day, year in pairs}
            default = sa.text(f"SELECT count(*) FROM {table}_default")  # noqa: S608
            assert db.session.execute(default).scalar_one() == 0


def test_lessons_follow_the_calendar_and_marks_the_policy(seeded):
    holidays = db.session.execute(sa.select(Holiday.starts_on, Holiday.ends_on)).all()
    dates = set(db.session.execute(sa.select(Lesson.on_date).distinct()).scalars())
    assert dates and max(dates) <= TODAY
    for day in dates:
        assert day.isoweekday() <= 5
        assert not any(start <= day <= end for start, end in holidays)
    # Marks of several kinds, weighed by the school's policy; mostly 4 and 5.
    values = Counter(dict(db.session.execute(
        sa.select(Mark.value, sa.func.count()).where(Mark.is_current).group_by(Mark.value)
    ).all()))  # fmt: skip
    total = sum(values.values())
    assert 0.5 < (values["4"] + values["5"]) / total < 0.85
    assert 0.01 < values["2"] / total < 0.15
    kinds = set(db.session.execute(sa.select(Mark.kind).distinct()).scalars())
    assert {"control", "oral", "classwork", "homework"} <= kinds
    wrong_weight = db.session.execute(
        sa.select(sa.func.count())
        .select_from(Mark)
        .join(Lesson, Lesson.id == Mark.lesson_id)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .join(MarkPolicy, MarkPolicy.school_id == SchoolClass.school_id)
        .where(Mark.kind == "control", Mark.weight != 5)
    ).scalar_one()
    assert wrong_weight == 0
    # Nobody absent from a lesson has a mark for it.
    attendance = db.metadata.tables["attendance"]
    absent_with_marks = db.session.execute(
        sa.select(sa.func.count())
        .select_from(Mark)
        .join(
            attendance,
            sa.and_(
                attendance.c.lesson_id == Mark.lesson_id,
                attendance.c.student_id == Mark.student_id,
            ),
        )
        .where(attendance.c.code.in_(["н", "б", "у"]))
    ).scalar_one()
    assert absent_with_marks == 0
    codes = set(db.session.execute(sa.select(attendance.c.code).distinct()).scalars())
    assert codes == {"н", "б", "у", "оп"}


def test_finished_quarters_carry_period_marks_under_the_schools_policy(seeded):
    finished = db.session.execute(sa.select(Period).where(Period.ends_on < TODAY)).scalars().all()
    assert {p.number for p in finished} == {1}
    finals = db.session.execute(sa.select(FinalMark).where(FinalMark.kind == "period")).scalars()
    finals = list(finals)
    assert finals and all(f.policy_id is not None and f.period_id for f in finals)
    # Recompute a few: the stored average and suggestion are the policy's.
    for final in finals[:: max(1, len(finals) // 25)]:
        period = db.session.get(Period, final.period_id)
        policy = db.session.get(MarkPolicy, final.policy_id)
        assert policy.school_id == period.year.school_id
        marks = db.session.execute(
            sa.select(Mark.value, Mark.weight)
            .join(Lesson, Lesson.id == Mark.lesson_id)
            .where(
                Mark.student_id == final.student_id,
                Mark.is_current.is_(True),
                Lesson.subject_id == final.subject_id,
                Lesson.on_date.between(period.starts_on, period.ends_on),
            )
        ).all()
        pairs = [(int(v) if v.isdigit() else None, w) for v, w in marks]
        rule = Rule.of(policy)
        assert final.average == average(pairs, rule)
        assert final.suggested == suggest(final.average, rule)
        if final.suggested:
            assert int(final.value) - int(final.suggested) in (0, 1)
    assert any(f.average is not None and f.average != Decimal(f.value) for f in finals)


def test_this_week_has_changes_notices_and_a_meeting(seeded):
    kinds = set(db.session.execute(sa.select(TimetableChange.kind)).scalars())
    assert kinds == {"substitution", "cancellation", "room_change"}
    substitution = db.session.execute(
        sa.select(TimetableChange).where(TimetableChange.kind == "substitution").limit(1)
    ).scalar_one()
    # The substitute is free at that hour.
    busy = db.session.execute(
        sa.select(TimetableEntry.id).where(
            TimetableEntry.teacher_id == substitution.substitute_id,
            TimetableEntry.weekday == substitution.on_date.isoweekday(),
            TimetableEntry.lesson_number == substitution.lesson_number,
        )
    ).first()
    assert busy is None
    assert abs((substitution.on_date - TODAY).days) <= 14
    notices = {kind for (kind,) in db.session.execute(sa.select(Notice.kind))}
    assert notices == {"news", "event", "quarantine"}
    quarantine = db.session.execute(
        sa.select(Notice).where(Notice.kind == "quarantine")
    ).scalar_one()
    assert quarantine.class_id is not None
    upcoming = db.session.execute(
        sa.select(ParentMeeting).where(ParentMeeting.held_at > TODAY - timedelta(days=1))
    ).scalars()
    assert any(m.school_class.name == "6А" for m in upcoming)
    assert count(Remark) > 0


def test_no_snils_is_stored_anywhere(seeded):
    assert_no_snils(unrecorded={"Кириллов Максим Тимурович"})


def assert_no_snils(unrecorded: frozenset[str] | set[str] = frozenset()) -> None:
    """Only 64-hex keyed indexes: no SNILS in any text column of any table; the only
    students without an index are the ``unrecorded`` (names)."""
    for table in db.metadata.sorted_tables:
        text_columns = [c for c in table.c if isinstance(c.type, sa.String | sa.Text)]
        if not text_columns:
            continue
        for row in db.session.execute(sa.select(*text_columns)):
            for column, value in zip(text_columns, row, strict=True):
                if value is None:
                    continue
                if column.name == "snils_index":
                    assert HEX64.match(value), (table.name, column.name)
                else:
                    assert not SNILS_LIKE.search(value), (table.name, column.name)
    missing = db.session.execute(sa.select(Student).where(Student.snils_index.is_(None))).scalars()
    assert {student.full_name for student in missing} == set(unrecorded)


def sign_in(app, sub: str, names: tuple[str, str, str], who: str, *kids: str) -> Student:
    """A sign-in through the portal, as the parent's verified ``kids``, from the
    registries' records (what the portal would release)."""
    registries = {person.snils: person for person in FIXED_PEOPLE}

    def claims(name: str) -> dict:
        person = registries[SNILS[name].replace("-", "").replace(" ", "")]
        return {
            "id": f"kid-{name}",
            "family_name": person.surname,
            "given_name": person.given_name,
            "middle_name": person.patronymic,
            "birthdate": person.birth_date.isoformat(),
            "snils": SNILS[name],
        }

    family, given, middle = names
    identity = PortalIdentity(
        sub=sub,
        acr="urn:gosdiary:acr:standard",
        sid=f"sid-{sub}",
        claims={
            "family_name": family,
            "given_name": given,
            "middle_name": middle,
            "snils": SNILS[who],
            "kids": [claims(name) for name in kids],
        },
    )
    return record_sign_in(
        identity,
        index_key=app.config["BLIND_INDEX_KEY"],
        forget_sessions_before=utcnow() - timedelta(hours=12),
    )


def client_of(app, person) -> IsolatedClient:
    """A browser signed in as ``person`` (as the portal sign-in leaves the session)."""
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    with client.session_transaction() as session:
        session["user_id"] = person.id
        session["sub"] = person.sub
        session["acr"] = "urn:gosdiary:acr:standard"
        session["portal_sid"] = f"sid-{person.id}"
    return client


def test_the_walks_parents_sign_in_to_the_seeded_region(spare):
    """Steps 1 and 3 of the README's walk on the region ``make run`` loads: Дмитрий's
    verified Ксения links at sign-in and her marks show, with no code; Тимур's Максим
    matches nobody (the school has no SNILS for him) and waits for the next step."""
    with spare.app_context():
        try:
            seed(spare, *SMALL)
            dmitry = sign_in(
                spare, "portal-dmitry", ("Соколов", "Дмитрий", "Андреевич"), "dmitry", "ksenia"
            )
            timur = sign_in(
                spare, "portal-timur", ("Кириллов", "Тимур", "Артёмович"), "timur", "maksim"
            )
            ksenia = student_by_index(index(spare, "ksenia"))
            links = db.session.execute(
                sa.select(Guardian.person_id, Guardian.student_id, Guardian.source)
            ).all()
            assert [(s, src) for p, s, src in links if p == dmitry.id] == [(ksenia.id, "portal")]
            assert [s for p, s, _src in links if p == timur.id] == []

            page = client_of(spare, dmitry).get(f"/students/{ksenia.id}/marks")
            assert page.status_code == 200
            assert "Соколова Ксения" in text_of(page) and "Математика" in text_of(page)
            waiting = text_of(client_of(spare, timur).get("/students/"))
            assert "Кириллов Максим Тимурович" in waiting and "ещё не привязан" in waiting
        finally:
            db.session.remove()
            wipe(db)


# --- region 2: Алиса's ---------------------------------------------------------------


def test_region_2_holds_alisa_and_her_mothers_link(region2):
    assert [m for (m,) in db.session.execute(sa.select(Municipality.name))] == [
        "Городской округ Заречный",
        "Приреченский муниципальный район",
    ]
    schools = db.session.execute(sa.select(School).order_by(School.id)).scalars().all()
    assert [s.short_name for s in schools] == ["Лицей № 1", "СОШ № 2", schools[2].short_name]
    assert schools[0].address.startswith("г. Заречный, ")
    assert schools[2].short_name.startswith("СОШ с. ")

    alisa = student_by_index(index(region2, "alisa"))
    assert (alisa.full_name, alisa.birth_date, alisa.school_id) == (
        "Иванова Алиса Сергеевна",
        date(2011, 5, 17),
        schools[0].id,
    )
    assert class_name_of(alisa) == "9А"
    links = db.session.execute(
        sa.select(Guardian.snils_index, Guardian.student_id, Guardian.family_name, Guardian.source)
    ).all()
    maria = index(region2, "maria")
    assert {(s, f, src) for i, s, f, src in links if i == maria} == {
        (alisa.id, "Иванова", "school")
    }
    # Her week and marks: lessons with homework, marks in several subjects, a remark, a
    # corrected mark with its history, and a change in her class this week.
    subjects = db.session.execute(
        sa.select(Subject.name)
        .join(Lesson, Lesson.subject_id == Subject.id)
        .join(Mark, Mark.lesson_id == Lesson.id)
        .where(Mark.student_id == alisa.id, Mark.is_current.is_(True))
        .distinct()
    ).scalars()
    assert {"Алгебра", "Русский язык", "Английский язык"} <= set(subjects)
    assert count(Remark, Remark.student_id == alisa.id) >= 2
    assert count(Mark, Mark.student_id == alisa.id, Mark.previous_id.is_not(None)) >= 1
    nine_a = the_class(schools[0].id, "9А")
    assert count(TimetableChange, TimetableChange.class_id == nine_a.id) >= 1
    assert count(FinalMark, FinalMark.student_id == alisa.id) > 5

    # Nobody else of the portal's demo people is here; the staff are all generated, and
    # every school has an administrator, the region a department.
    for who in ("petr", "sergey", "olga", "nikolay", "elena", "vera", "ksenia", "dmitry"):
        value = index(region2, who)
        assert count(Student, Student.snils_index == value) == 0, who
        assert count(StaffMember, StaffMember.snils_index == value) == 0, who
        assert count(Guardian, Guardian.snils_index == value) == 0, who
    for school in schools:
        admins = StaffRole.staff.has(StaffMember.school_id == school.id)
        assert count(StaffRole, StaffRole.role == "school_admin", admins) >= 1
    assert count(StaffMember, StaffMember.school_id.is_(None)) == 2
    assert_no_snils()


def test_region_2_is_other_people_than_region_1(seeded, region2):
    def people() -> set[tuple[str, str, str]]:
        rows = db.session.execute(
            sa.select(Student.family_name, Student.given_name, Student.middle_name)
        ).all()
        rows += db.session.execute(
            sa.select(StaffMember.family_name, StaffMember.given_name, StaffMember.middle_name)
        ).all()
        return {tuple(row) for row in rows}

    second = people()
    with seeded.app_context():
        first = people()
        first_schools = {
            (s.name, s.address) for s in db.session.execute(sa.select(School)).scalars()
        }
    assert len(first & second) < 0.05 * len(second)
    assert not first_schools & {
        (s.name, s.address) for s in db.session.execute(sa.select(School)).scalars()
    }


# --- the same seed, the same region; the region-scale path ------------------------------


def test_the_same_seed_gives_the_same_region(seeded, spare):
    expected = digest()
    with spare.app_context():
        try:
            seed(spare, *SMALL)
            assert digest() == expected
        finally:
            db.session.remove()
            wipe(db)


def test_the_same_seed_gives_the_same_region_2(region2, spare):
    expected = digest()
    with spare.app_context():
        try:
            seed(spare, *SMALL, "--region", "2")
            assert digest() == expected
        finally:
            db.session.remove()
            wipe(db)


def test_the_region_path_on_two_schools(spare):
    with spare.app_context():
        try:
            output = seed(spare, "--scale", "region", "--schools", "2", "--today", str(TODAY))
            assert "demo region 1 «Демонстрационная область» seeded (scale region)" in output
            assert count(School) == 2 and count(Municipality) == 2
            students = count(Student)
            assert count(Enrolment) == students and students > 400
            # Every lesson comes from the timetable of a school day, all of them there.
            taught = {d for (d,) in db.session.execute(sa.select(Lesson.on_date).distinct())}
            slots = Counter(
                dict(
                    db.session.execute(
                        sa.select(TimetableEntry.weekday, sa.func.count()).group_by(
                            TimetableEntry.weekday
                        )
                    ).all()
                )
            )
            assert count(Lesson) == sum(slots[day.isoweekday()] for day in taught)
            # About 2–3 marks a month per student and subject (grades 2–11).
            months = max(1.0, len(taught) / 20)
            per_pair = (
                db.session.execute(
                    sa.select(sa.func.count())
                    .select_from(Mark)
                    .join(Lesson, Lesson.id == Mark.lesson_id)
                    .where(Mark.is_current)
                    .group_by(Mark.student_id, Lesson.subject_id)
                )
                .scalars()
                .all()
            )
            assert 1.5 < sum(per_pair) / len(per_pair) / months < 3.5
            # The demo people are there too (school 1 is the same at every scale).
            assert class_name_of(student_by_index(index(spare, "petr"))) == "6А"
            assert "already has 2 schools" in seed(spare, "--scale", "region")
        finally:
            db.session.remove()
            wipe(db)
