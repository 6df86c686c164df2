"""``flask --app diary_service seed``: a deterministic demo region.

``--scale small`` (what ``make run`` loads) is three schools in two municipalities with a
term of lessons, homework, marks, attendance and the finished quarter's marks;
``--scale region`` is the size of an average Russian region (about 450 schools and
200 000 students, tens of millions of marks by the end of the year) for benchmarks.
The same arguments give the same region: everything comes from one
``random.Random(seed)``, and dates from the academic year containing today.

Both scales are built the same way, without ORM objects: rows are tuples written in
batches by SQLAlchemy Core ``insert()`` (PostgreSQL: ``COPY``), with ids the seed assigns
itself so a mark can name its lesson without reading it back. One transaction: an
interrupted seed leaves nothing behind. Nothing is seeded while the region has schools,
so ``make run`` can call it every time.

There are two demo regions (``--region``, ``REGIONS``), one per diary of ``make run``:
their places, schools and people differ. School 1 of each holds some of the portal's
demo people, matched by the keyed hash of their SNILS as the diary matches anyone at
sign-in (portal/demo.py, portal/simulator/registries/population.py). Region 1
(«Средняя общеобразовательная школа № 1» of its first municipality): Пётр in 6А, his
parents Мария and Сергей as guardians, Ольга (class teacher of 6А, mathematics in 6А
and 9Б), the administrator Николай, the nurse Вера, and Елена of the region's education
department; in 6А too, for the README's walk of issue 6, Ксения Соколова (her SNILS on
record, no guardians: her father's verified child links by itself, her mother by a
code) and Максим Кириллов (no SNILS on record, no guardians: his father applies through
the portal's catalog). Region 2 («Лицей № 1» of г. Заречный): Алиса in 9А with Мария as
her guardian, so one parent has children in two regions. Everyone else is generated and
carries a random 64-hex index that no SNILS hashes to, so no one signing in is ever
matched to them.
"""

from __future__ import annotations

import math
import random
import time as clock
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from diary_service.auth.services import snils_index
from diary_service.extensions import db
from diary_service.journal.policy import (
    DEFAULT_THRESHOLDS,
    DEFAULT_WEIGHTS,
    TWO_PLACES,
    Rule,
    average,
    suggest,
)
from diary_service.reports.aggregates import refresh_all
from diary_service.seed_data import (
    ADULT_FEMALE_NAMES,
    BOY_NAMES,
    CORRECTION_REASONS,
    CURRICULUM,
    DISTRICTS,
    DISTRICTS_2,
    EVENTS,
    GIRL_NAMES,
    HOMEWORK,
    MALE_NAMES,
    MARK_COMMENTS,
    MEETING_AGENDAS,
    NEWS,
    ORDINARY_KINDS,
    PRACTICAL,
    PRACTICAL_KINDS,
    REMARKS,
    SPECIAL_ROOMS,
    SPECIALITIES,
    STREETS,
    SUBJECTS,
    SURNAMES,
    TOWNS,
    TOWNS_2,
    VILLAGES,
    speciality_of,
    surname_for,
    topics_for,
)

SCALES = ("small", "region")
DEFAULT_SEED = 20261123
DEFAULT_SCHOOLS = {"small": 3, "region": 450}
BATCH = 10_000
LETTERS = "АБВГ"
# The region's clock is Moscow time (UTC+3, no daylight saving); timestamps are stored
# in naive UTC like ``shared.sessions.utcnow``.
UTC_OFFSET = timedelta(hours=3)
BELL_SCHEDULES = [
    # hour, minute the lesson starts; hour, minute it ends
    [(8, 30, 9, 15), (9, 25, 10, 10), (10, 30, 11, 15), (11, 35, 12, 20), (12, 30, 13, 15),
     (13, 25, 14, 10), (14, 20, 15, 5)],
    [(8, 0, 8, 40), (8, 50, 9, 30), (9, 50, 10, 30), (10, 50, 11, 30), (11, 40, 12, 20),
     (12, 30, 13, 10), (13, 20, 14, 0)],
]  # fmt: skip
# The period-mark rules schools choose: the default, «every mark weighs the same», and
# plain mathematical rounding (research: schools differ, ../shared/reference §2.2).
POLICIES: dict[str, tuple[str, dict[str, str]]] = {
    "weighted": ("weighted", dict(DEFAULT_THRESHOLDS)),
    "arithmetic": ("arithmetic", dict(DEFAULT_THRESHOLDS)),
    "rounding": ("weighted", {"5": "4.50", "4": "3.50", "3": "2.50"}),
}
# A teacher's week, in lessons, before the school needs another one of the speciality.
TEACHER_LOAD = 22
MARKS_PER_MONTH = 2.9  # given per student and subject; absences make it about 2.5
TAUGHT_DAYS_PER_MONTH = 20
WEEKS_A_YEAR = 33


# --- the portal's demo people ----------------------------------------------------------


@dataclass(frozen=True)
class DemoPerson:
    family: str
    given: str
    middle: str
    snils: str | None  # None: the school's records have no SNILS for them
    born: date | None = None


PETR = DemoPerson("Иванов", "Пётр", "Сергеевич", "050-234-316 00", date(2014, 9, 2))
KSENIA = DemoPerson("Соколова", "Ксения", "Дмитриевна", "071-458-293 70", date(2014, 3, 11))
# The population knows his SNILS (081-569-304 79); the school never recorded it.
MAKSIM = DemoPerson("Кириллов", "Максим", "Тимурович", None, date(2014, 7, 23))
ALISA = DemoPerson("Иванова", "Алиса", "Сергеевна", "016-103-396 00", date(2011, 5, 17))
MARIA = DemoPerson("Иванова", "Мария", "Петровна", "112-233-445 95")
SERGEY = DemoPerson("Петров", "Сергей", "Николаевич", "987-654-321 83")
OLGA = DemoPerson("Смирнова", "Ольга", "Викторовна", "820-981-233 00")
NIKOLAY = DemoPerson("Орлов", "Николай", "Андреевич", "146-752-983 02")
ELENA = DemoPerson("Морозова", "Елена", "Юрьевна", "237-418-560 78")
VERA = DemoPerson("Белова", "Вера", "Ивановна", "358-129-674 09")


@dataclass(frozen=True)
class DemoRegion:
    """What makes one demo region differ from another: its places, its schools (the
    first one, ``demo``, holds the portal's demo people) and who of them is where."""

    name: str
    towns: list[str]
    districts: list[str]
    # (kind, municipality: 0 the first town, 1 the first district; classes per grade,
    # class size, mark policy); kind "village" is a village school. The first is the
    # demo school; the rest are the small scale's other schools.
    schools: list[tuple[str, int, int, tuple[int, int], str]]
    students: dict[str, tuple[DemoPerson, ...]]  # class → its demo students (first pupils)
    guardians: dict[DemoPerson, tuple[DemoPerson, ...]]  # the school's links to parents
    # The demo mathematics teacher, the classes she teaches it in and the one she leads.
    teacher: DemoPerson | None = None
    teacher_classes: tuple[str, ...] = ()
    led_class: str | None = None
    admin: DemoPerson | None = None
    nurse: DemoPerson | None = None
    department: DemoPerson | None = None
    corrected: tuple[DemoPerson, str] | None = None  # whose first mark of what is corrected
    # This week's changes in the demo school: (class, when, kind, subject or None);
    # when: "next" (the first day after today), "last" (the week's last), "any".
    changes: tuple[tuple[str, str, str, str | None], ...] = ()
    quarantined: str = "2Б"  # the demo school's class in quarantine
    meeting_class: str = "6А"  # the demo school's class whose parents meet again soon

    @property
    def featured(self) -> set[str]:
        """The demo school's classes the README describes (timetabled first)."""
        return set(self.students) | set(self.teacher_classes)


REGIONS = {
    1: DemoRegion(
        name="Демонстрационная область",
        towns=TOWNS,
        districts=DISTRICTS,
        schools=[
            ("СОШ", 0, 2, (22, 25), "weighted"),
            ("Гимназия", 0, 1, (20, 25), "arithmetic"),
            ("village", 1, 1, (18, 22), "rounding"),
        ],
        students={"6А": (PETR, KSENIA, MAKSIM)},
        guardians={PETR: (MARIA, SERGEY)},
        teacher=OLGA,
        teacher_classes=("6А", "9Б"),
        led_class="6А",
        admin=NIKOLAY,
        nurse=VERA,
        department=ELENA,
        corrected=(PETR, "Математика"),
        changes=(
            ("6А", "next", "substitution", "Математика"),
            ("6А", "last", "room_change", None),
            ("9Б", "any", "cancellation", None),
        ),
    ),
    # Алиса studies here: her mother Мария sees both children from one portal sign-in.
    # No other demo citizen works here, so its staff are all generated.
    2: DemoRegion(
        name="Заречная область",
        towns=TOWNS_2,
        districts=DISTRICTS_2,
        schools=[
            ("Лицей", 0, 2, (20, 25), "arithmetic"),
            ("СОШ", 0, 1, (22, 25), "weighted"),
            ("village", 1, 1, (14, 20), "rounding"),
        ],
        students={"9А": (ALISA,)},
        guardians={ALISA: (MARIA,)},
        corrected=(ALISA, "Алгебра"),
        changes=(
            ("9А", "next", "substitution", None),
            ("9А", "any", "cancellation", None),
        ),
        quarantined="3Б",
        meeting_class="9А",
    ),
}


# --- the academic year -----------------------------------------------------------------


@dataclass
class Calendar:
    """The academic year containing ``today`` (in summer: the one just finished)."""

    today: date
    starts: date
    ends: date
    periods: list[tuple[date, date]]
    holidays: list[tuple[str, date, date]]
    school_days: list[date] = field(default_factory=list)

    @classmethod
    def of(cls, today: date) -> Calendar:
        first = today.year if today.month >= 9 else today.year - 1
        y = first
        periods = [
            (date(y, 9, 1), date(y, 10, 24)),
            (date(y, 11, 3), date(y, 12, 28)),
            (date(y + 1, 1, 9), date(y + 1, 3, 21)),
            (date(y + 1, 3, 30), date(y + 1, 5, 31)),
        ]
        holidays = [
            ("Осенние каникулы", date(y, 10, 25), date(y, 11, 2)),
            ("День народного единства", date(y, 11, 4), date(y, 11, 4)),
            ("Зимние каникулы", date(y, 12, 29), date(y + 1, 1, 8)),
            ("День защитника Отечества", date(y + 1, 2, 23), date(y + 1, 2, 23)),
            ("Международный женский день", date(y + 1, 3, 8), date(y + 1, 3, 8)),
            ("Весенние каникулы", date(y + 1, 3, 22), date(y + 1, 3, 29)),
            ("Праздник Весны и Труда", date(y + 1, 5, 1), date(y + 1, 5, 1)),
            ("День Победы", date(y + 1, 5, 9), date(y + 1, 5, 9)),
        ]
        # Only the holidays on weekdays matter to the timetable (and are shown).
        holidays = [h for h in holidays if h[1] != h[2] or h[1].isoweekday() <= 5]
        calendar = cls(today, date(y, 9, 1), date(y + 1, 5, 31), periods, holidays)
        off = {
            start + timedelta(days=i)
            for _name, start, end in holidays
            for i in range((end - start).days + 1)
        }
        day = calendar.starts
        while day <= calendar.ends:
            if day.isoweekday() <= 5 and day not in off:
                calendar.school_days.append(day)
            day += timedelta(days=1)
        return calendar

    @property
    def name(self) -> str:
        return f"{self.starts.year}/{self.ends.year}"

    @property
    def taught(self) -> int:
        """How many school days have had their lessons (today's included)."""
        return bisect_right(self.school_days, self.today)

    def finished_periods(self) -> list[int]:
        return [i for i, (_start, end) in enumerate(self.periods) if end < self.today]

    def period_of(self, day: date) -> int:
        """The period a school day belongs to (the last one begun by then)."""
        return max(0, bisect_right([start for start, _end in self.periods], day) - 1)

    def week_for_changes(self) -> list[date]:
        """School days of this week (of next week at a weekend or in a holiday week)."""
        monday = self.today - timedelta(days=self.today.weekday())
        if self.today.isoweekday() > 5:
            monday += timedelta(days=7)
        days = set(self.school_days)
        for _ in range(4):
            week = [monday + timedelta(days=i) for i in range(5)]
            if any(d in days for d in week):
                return [d for d in week if d in days]
            monday += timedelta(days=7)
        return []


def utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at) - UTC_OFFSET


def weekday_on_or_after(day: date) -> date:
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


# --- writing rows ----------------------------------------------------------------------


def columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# Columns of each table in the order rows are given; tables in an order that lets every
# row name rows written before it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "municipality": columns("id name"),
    "subject": columns("id name short_name"),
    "school": columns("id municipality_id name short_name address rating_enabled"),
    "bell": columns("id school_id number starts_at ends_at"),
    "academic_year": columns("id school_id name starts_on ends_on period_kind"),
    "period": columns("id year_id number starts_on ends_on"),
    "holiday": columns("id year_id name starts_on ends_on"),
    "staff_member": columns(
        "id school_id family_name given_name middle_name snils_index person_id position active"
    ),
    "staff_role": columns("id staff_id role"),
    "mark_policy": columns(
        "id school_id version weights average thresholds created_at created_by_id"
    ),
    "school_class": columns("id school_id year_id grade letter class_teacher_id"),
    "student": columns(
        "id school_id family_name given_name middle_name birth_date snils_index person_id"
    ),
    "enrolment": columns("id student_id class_id starts_on ends_on reason end_reason note"),
    "guardian": columns(
        "id student_id person_id snils_index family_name given_name middle_name "
        "kind source reason created_by_id created_at revoked_at revoked_by_id"
    ),
    "teaching_assignment": columns("id class_id subject_id teacher_id"),
    "timetable_entry": columns("id class_id weekday lesson_number subject_id teacher_id room"),
    "timetable_change": columns(
        "id class_id on_date lesson_number kind substitute_id room note created_by_id created_at"
    ),
    "notice": columns(
        "id school_id class_id kind title body starts_on ends_on created_by_id created_at"
    ),
    "parent_meeting": columns("id class_id held_at place agenda created_by_id created_at"),
    "lesson": columns(
        "id class_id subject_id teacher_id on_date lesson_number topic topic_updated_at cancelled"
    ),
    "homework": columns("id lesson_id text due_on updated_by_id updated_at"),
    "mark": columns(
        "id lesson_id student_id value kind weight comment deleted is_current "
        "previous_id reason author_id created_at"
    ),
    "attendance": columns(
        "id lesson_id student_id code deleted is_current previous_id reason author_id created_at"
    ),
    "final_mark": columns(
        "id student_id subject_id year_id period_id kind value average "
        "suggested policy_id deleted is_current previous_id reason author_id "
        "created_at"
    ),
    "remark": columns("id student_id lesson_id subject_id kind text author_id created_at"),
}
# JSON columns go through SQLAlchemy (it serialises them); everything else of size may
# be COPYed on PostgreSQL.
NOT_COPIED = {"mark_policy"}
# The big tables: on PostgreSQL their foreign keys and plain indexes are dropped for the
# load and made again after it, inside the same transaction (PostgreSQL's manual,
# "Populating a Database": checking each row's keys costs several times the COPY).
BULK_TABLES = (
    "student",
    "enrolment",
    "guardian",
    "lesson",
    "homework",
    "mark",
    "attendance",
    "final_mark",
    "remark",
)


class Writer:
    """Buffers rows per table and writes them in batches, parents first: a row may name
    any row added before it. Assigns ids (the next after the largest stored).

    On PostgreSQL a batch is one ``COPY``; elsewhere it is the table's Core ``insert()``,
    compiled once, run with ``executemany`` over values converted by SQLAlchemy's own
    bind processors (stored exactly as the ORM stores them, without building a
    parameter dictionary per row)."""

    def __init__(self, conn: sa.Connection, batch: int = BATCH) -> None:
        self.conn = conn
        self.batch = batch
        self.tables = {name: db.metadata.tables[name] for name in COLUMNS}
        self.buffers: dict[str, list[tuple]] = {name: [] for name in COLUMNS}
        self.counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        self.copy = conn.dialect.name == "postgresql"
        self.deferred: list[str] = []  # DDL to run once the rows are in (PostgreSQL)
        self.next_id = {
            name: (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
            for name, table in self.tables.items()
        }
        dialect = conn.dialect
        self.statements: dict[str, str] = {}
        self.processors: dict[str, list[tuple[int, Callable[[Any], Any]]]] = {}
        for name, table in self.tables.items():
            columns = COLUMNS[name]
            self.statements[name] = str(
                table.insert().compile(dialect=dialect, column_keys=list(columns))
            )
            processors = []
            for position, column in enumerate(columns):
                processor = table.c[column].type._cached_bind_processor(dialect)
                if processor is not None:
                    processors.append((position, processor))
            self.processors[name] = processors

    def id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def add(self, table: str, row: tuple) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.batch:
            self.flush()

    def row(self, table: str, **values: Any) -> int:
        """Add a row given by column names (the id is assigned); returns the id."""
        values.setdefault("id", self.id(table))
        self.add(table, tuple(values[column] for column in COLUMNS[table]))
        return values["id"]

    def flush(self) -> None:
        for name, rows in self.buffers.items():
            if not rows:
                continue
            if self.copy and name not in NOT_COPIED:
                self._copy(name, rows)
            else:
                self._insert(name, rows)
            self.counts[name] += len(rows)
            rows.clear()

    def _insert(self, name: str, rows: list[tuple]) -> None:
        columns = COLUMNS[name]
        if self.conn.dialect.paramstyle not in ("qmark", "format", "numeric"):
            # Named parameters (psycopg's, for the few rows not copied): plain Core.
            self.conn.execute(
                self.tables[name].insert(), [dict(zip(columns, row, strict=True)) for row in rows]
            )
            return
        processors = self.processors[name]
        if processors:
            converted = []
            for row in rows:
                values = list(row)
                for position, processor in processors:
                    if values[position] is not None:
                        values[position] = processor(values[position])
                converted.append(values)
            rows = converted
        cursor = self.conn.connection.driver_connection.cursor()
        try:
            cursor.executemany(self.statements[name], rows)
        finally:
            cursor.close()

    def _copy(self, name: str, rows: list[tuple]) -> None:
        columns = ", ".join(f'"{column}"' for column in COLUMNS[name])
        raw = self.conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)

    def prepare(self) -> None:
        """On PostgreSQL, set aside the big tables' foreign keys and plain indexes (their
        exact definitions are kept to make them again in ``finish``)."""
        if not self.copy:
            return
        for name in BULK_TABLES:
            keys = self.conn.execute(
                sa.text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname"
                ),
                {"t": name},
            ).all()
            indexes = self.conn.execute(
                sa.text(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = CAST(:t AS regclass) "
                    "AND NOT x.indisprimary AND NOT x.indisunique ORDER BY i.relname"
                ),
                {"t": name},
            ).all()
            for key, definition in keys:
                self.conn.execute(sa.text(f'ALTER TABLE "{name}" DROP CONSTRAINT "{key}"'))
                self.deferred.append(f'ALTER TABLE "{name}" ADD CONSTRAINT "{key}" {definition}')
            for index, definition in indexes:
                self.conn.execute(sa.text(f'DROP INDEX "{index}"'))
                self.deferred.insert(0, definition)

    def finish(self) -> None:
        """Write what is left; on PostgreSQL make the indexes and foreign keys again and
        move the id sequences past the ids used."""
        self.flush()
        for statement in self.deferred:
            self.conn.execute(sa.text(statement))
        if self.copy:
            for name in COLUMNS:
                # The names are this module's constants, never input.
                statement = (
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{name}"), false)'
                )
                self.conn.execute(sa.text(statement))


# --- plans: what the journal needs to know of a school ---------------------------------


@dataclass
class Teacher:
    id: int
    speciality: str
    room: str
    busy: set[tuple[int, int]] = field(default_factory=set)  # (weekday, lesson number)
    load: int = 0
    fixed: bool = False  # a demo teacher: keeps her classes whatever the timetable needs


@dataclass
class Pupil:
    id: int
    ability: float  # the mean of their marks, roughly
    exempt_pe: bool  # a special health group: pass/fail in PE


@dataclass
class ClassPlan:
    id: int
    grade: int
    letter: str
    pupils: list[Pupil]
    teacher_of: dict[str, Teacher] = field(default_factory=dict)  # subject name → teacher
    # weekday → [(lesson number, subject name, teacher, room)]
    timetable: dict[int, list[tuple[int, str, Teacher, str]]] = field(default_factory=dict)
    cancelled_days: set[date] = field(default_factory=set)  # quarantine
    leader: Teacher | None = None  # the class teacher

    @property
    def name(self) -> str:
        return f"{self.grade}{self.letter}"


@dataclass
class SchoolPlan:
    id: int
    year_id: int
    period_ids: list[int]
    policy_id: int
    rule: Rule
    bells: list[tuple[time, time]]
    admin_id: int
    classes: list[ClassPlan] = field(default_factory=list)
    teachers: list[Teacher] = field(default_factory=list)
    # (class id, date, lesson number) → (kind, substitute or None)
    changes: dict[tuple[int, date, int], tuple[str, Teacher | None]] = field(default_factory=dict)
    demo: bool = False
    olga: Teacher | None = None  # the demo school's Ольга Смирнова
    # demo: (student id, subject name) whose first mark is corrected, for the history
    corrected: set[tuple[int, str]] = field(default_factory=set)


@dataclass
class SchoolSpec:
    municipality_id: int
    name: str
    short_name: str
    address: str
    classes_per_grade: list[int]  # grades 1–11
    class_size: tuple[int, int]
    policy: str
    bells: int
    rating: bool
    demo: bool = False


@dataclass
class SeedReport:
    scale: str
    counts: dict[str, int]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- the seed --------------------------------------------------------------------------


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count (Knuth's method: the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class RegionSeed:
    """Everything one seed run builds; ``run`` writes it."""

    def __init__(
        self,
        writer: Writer,
        *,
        scale: str,
        schools: int,
        seed: int,
        today: date,
        key: str,
        region: int = 1,
        progress: bool = True,
    ) -> None:
        self.w = writer
        self.scale = scale
        self.school_count = schools
        self.region = REGIONS[region]
        # Region 1 keeps the plain seed; another region draws from its own stream, so its
        # people are not region 1's over again.
        self.rng = random.Random(seed if region == 1 else f"{seed}/{region}")  # noqa: S311 - demo data
        self.calendar = Calendar.of(today)
        self.key = key
        self.progress = progress
        self.subjects: dict[str, int] = {}
        self.municipalities: list[tuple[int, str, bool]] = []  # id, name, is a town
        self.plans: list[SchoolPlan] = []
        self.numbers: dict[int, int] = defaultdict(int)  # municipality → last school number

    # --- helpers ----------------------------------------------------------------------

    def index(self, person: DemoPerson) -> str | None:
        return snils_index(person.snils, self.key) if person.snils else None

    def placeholder_index(self) -> str:
        """A 64-hex value shaped like a SNILS index that no SNILS hashes to (it is not an
        HMAC of anything), so a generated person is never matched at sign-in."""
        return f"{self.rng.getrandbits(256):064x}"

    @contextmanager
    def stage(self, label: str, length: int) -> Iterator[Callable[[], None]]:
        if not self.progress:
            yield lambda: None
            return
        with click.progressbar(length=length, label=label, show_pos=True) as bar:
            yield lambda: bar.update(1)

    # --- region-wide rows -------------------------------------------------------------

    def add_subjects(self) -> None:
        table = db.metadata.tables["subject"]
        existing = dict(self.w.conn.execute(sa.select(table.c.name, table.c.id)).all())
        for name, short in SUBJECTS:
            self.subjects[name] = existing.get(name) or self.w.row(
                "subject", name=name, short_name=short
            )

    def add_municipalities(self) -> None:
        towns, districts = self.region.towns, self.region.districts
        count = min(len(towns) + len(districts), max(2, round(self.school_count / 15)))
        names = [
            (f"Городской округ {towns[0]}", True),
            (f"{districts[0]} муниципальный район", False),
        ]
        towns, districts = iter(towns[1:]), iter(districts[1:])
        while len(names) < count:
            town = len(names) % 2 == 0
            name = next(towns, None) if town else next(districts, None)
            if name is None:
                town = not town
                name = next(towns) if town else next(districts)
            names.append(
                (f"Городской округ {name}", True)
                if town
                else (f"{name} муниципальный район", False)
            )
        for name, town in names:
            self.municipalities.append((self.w.row("municipality", name=name), name, town))

    def add_department(self) -> None:
        """The region's education department: Елена Морозова (region 1) and a colleague."""
        self.staff(
            None,
            "главный специалист управления образования",
            ["department"],
            self.region.department,
        )
        self.staff(None, "ведущий специалист управления образования", ["department"], female=1)

    # --- schools ----------------------------------------------------------------------

    def specs(self) -> list[SchoolSpec]:
        rng = self.rng
        first, *others = self.region.schools
        specs = [self.fixed_spec(*first, demo=True)]
        if self.scale == "small":
            fixed = [self.fixed_spec(*school) for school in others]
            specs += fixed[: self.school_count - 1]
        while len(specs) < self.school_count:
            municipality_id, _name, town = rng.choice(self.municipalities)
            policy = rng.choices(list(POLICIES), weights=[6, 2, 2])[0]
            if not town and rng.random() < 0.6:
                per_grade = [1] * 11
                specs.append(self.village_spec(municipality_id, per_grade, (12, 20), policy))
                continue
            kind = rng.choices(["СОШ", "Гимназия", "Лицей"], weights=[8, 1, 1])[0]
            letters = rng.choices([1, 2, 3, 4], weights=[1, 5, 3, 1])[0]
            per_grade = [max(1, letters + rng.choice((-1, 0, 0, 0))) for _ in range(11)]
            specs.append(self.city_spec(municipality_id, kind, per_grade, (20, 27), policy))
        return specs[: self.school_count]

    def fixed_spec(
        self,
        kind: str,
        municipality: int,
        letters: int,
        size: tuple[int, int],
        policy: str,
        demo: bool = False,
    ) -> SchoolSpec:
        """One of the region's named schools (``DemoRegion.schools``)."""
        municipality_id = self.municipalities[municipality][0]
        if kind == "village":
            return self.village_spec(municipality_id, [letters] * 11, size, policy)
        return self.city_spec(municipality_id, kind, [letters] * 11, size, policy, demo=demo)

    def city_spec(
        self,
        municipality_id: int,
        kind: str,
        per_grade: list[int],
        size: tuple[int, int],
        policy: str,
        demo: bool = False,
    ) -> SchoolSpec:
        self.numbers[municipality_id] += 1
        number = self.numbers[municipality_id]
        name, short = {
            "СОШ": (f"Средняя общеобразовательная школа № {number}", f"СОШ № {number}"),
            "Гимназия": (f"Гимназия № {number}", f"Гимназия № {number}"),
            "Лицей": (f"Лицей № {number}", f"Лицей № {number}"),
        }[kind]
        _id, name_of_place, town = next(m for m in self.municipalities if m[0] == municipality_id)
        place = (
            f"г. {name_of_place.removeprefix('Городской округ ')}"
            if town
            else f"пос. {self.rng.choice(VILLAGES)}"
        )
        address = f"{place}, {self.rng.choice(STREETS)}, д. {self.rng.randint(1, 120)}"
        return SchoolSpec(
            municipality_id,
            name,
            short,
            address,
            per_grade,
            size,
            policy,
            bells=0 if demo else self.rng.randint(0, 1),
            rating=demo or self.rng.random() < 0.3,
            demo=demo,
        )

    def village_spec(
        self, municipality_id: int, per_grade: list[int], size: tuple[int, int], policy: str
    ) -> SchoolSpec:
        village = self.rng.choice(VILLAGES)
        address = f"с. {village}, {self.rng.choice(STREETS)}, д. {self.rng.randint(1, 40)}"
        return SchoolSpec(
            municipality_id,
            f"Средняя общеобразовательная школа с. {village}",
            f"СОШ с. {village}",
            address,
            per_grade,
            size,
            policy,
            bells=1,
            rating=False,
        )

    def adult_name(self, gender: str) -> tuple[str, str, str]:
        surname = surname_for(self.rng.choice(SURNAMES), gender)
        father = self.rng.choice(MALE_NAMES)
        if gender == "M":
            return surname, self.rng.choice(MALE_NAMES)[0], father[1]
        return surname, self.rng.choice(ADULT_FEMALE_NAMES), father[2]

    def staff(
        self,
        school_id: int | None,
        position: str,
        roles: Iterable[str],
        person: DemoPerson | None = None,
        *,
        female: float = 0.82,
        staff_id: int | None = None,
    ) -> int:
        """A staff member with their roles: a demo person, or someone generated (a woman
        with the chance ``female``, as in Russian schools)."""
        if person is None:
            family, given, middle = self.adult_name("F" if self.rng.random() < female else "M")
            index = self.placeholder_index()
        else:
            family, given, middle = person.family, person.given, person.middle
            index = self.index(person)
        staff_id = self.w.row(
            "staff_member",
            id=staff_id or self.w.id("staff_member"),
            school_id=school_id,
            family_name=family,
            given_name=given,
            middle_name=middle,
            snils_index=index,
            person_id=None,
            position=position,
            active=True,
        )
        for role in roles:
            self.w.row("staff_role", staff_id=staff_id, role=role)
        return staff_id

    def add_school(self, spec: SchoolSpec) -> SchoolPlan:
        w, cal = self.w, self.calendar
        school_id = w.row(
            "school",
            municipality_id=spec.municipality_id,
            name=spec.name,
            short_name=spec.short_name,
            address=spec.address,
            rating_enabled=spec.rating,
        )
        bells = [(time(a, b), time(c, d)) for a, b, c, d in BELL_SCHEDULES[spec.bells]]
        for number, (starts, ends) in enumerate(bells, start=1):
            w.row("bell", school_id=school_id, number=number, starts_at=starts, ends_at=ends)
        year_id = w.row(
            "academic_year",
            school_id=school_id,
            name=cal.name,
            starts_on=cal.starts,
            ends_on=cal.ends,
            period_kind="quarter",
        )
        period_ids = [
            w.row("period", year_id=year_id, number=i, starts_on=a, ends_on=b)
            for i, (a, b) in enumerate(cal.periods, start=1)
        ]
        for name, starts, ends in cal.holidays:
            w.row("holiday", year_id=year_id, name=name, starts_on=starts, ends_on=ends)

        demo = spec.demo
        region = self.region
        admin_id = self.staff(
            school_id, "директор", ["school_admin"], region.admin if demo else None
        )
        self.staff(school_id, "заместитель директора по учебной работе", ["school_admin"])
        self.staff(
            school_id,
            "медицинская сестра",
            ["health_worker"],
            region.nurse if demo else None,
            female=1,
        )
        average_kind, thresholds = POLICIES[spec.policy]
        policy_id = w.row(
            "mark_policy",
            school_id=school_id,
            version=1,
            weights=dict(DEFAULT_WEIGHTS),
            average=average_kind,
            thresholds=dict(thresholds),
            created_at=utc(cal.starts - timedelta(days=3), time(10, 0)),
            created_by_id=admin_id,
        )
        rule = Rule(
            weights=dict(DEFAULT_WEIGHTS),
            thresholds={mark: Decimal(value) for mark, value in thresholds.items()},
            average=average_kind,
        )
        plan = SchoolPlan(
            school_id, year_id, period_ids, policy_id, rule, bells, admin_id, demo=demo
        )
        classes = [
            ClassPlan(w.id("school_class"), grade, LETTERS[i], [])
            for grade, count in enumerate(spec.classes_per_grade, start=1)
            for i in range(count)
        ]
        self.assign_teachers(plan, classes)
        self.place_timetables(plan, classes)
        self.write_staff_and_classes(plan, classes, spec)
        self.add_changes(plan)
        self.add_notices_and_meetings(plan)
        return plan

    # --- teachers and timetables ------------------------------------------------------

    def assign_teachers(self, plan: SchoolPlan, classes: list[ClassPlan]) -> None:
        """Who teaches what: a primary class's own teacher most subjects there; for the
        rest, each speciality's classes shared among as many teachers as the hours need."""
        rng = self.rng
        bundles: dict[str, list[tuple[ClassPlan, list[str], int]]] = defaultdict(list)
        for cls in classes:
            by_speciality: dict[str, list[str]] = defaultdict(list)
            for subject in CURRICULUM[cls.grade]:
                by_speciality[speciality_of(subject, cls.grade)].append(subject)
            for speciality, subjects in by_speciality.items():
                hours = sum(CURRICULUM[cls.grade][s] for s in subjects)
                bundles[speciality].append((cls, subjects, hours))
        room = iter(range(1, 1000))
        olga: Teacher | None = None
        for speciality in SPECIALITIES:
            work = bundles.get(speciality, [])
            if not work:
                continue
            if speciality == "primary":
                for cls, subjects, _hours in work:
                    teacher = Teacher(self.w.id("staff_member"), speciality, str(next(room)))
                    plan.teachers.append(teacher)
                    for subject in subjects:
                        cls.teacher_of[subject] = teacher
                continue
            total = sum(hours for _cls, _subjects, hours in work)
            count = max(1, math.ceil(total / TEACHER_LOAD))
            special = SPECIAL_ROOMS.get(speciality)
            teachers = [
                Teacher(self.w.id("staff_member"), speciality, special or str(next(room)))
                for _ in range(count)
            ]
            if plan.demo and self.region.teacher is not None and speciality == "math":
                olga = teachers[0]
                olga.fixed = True
                olga.room = "21"
            plan.teachers.extend(teachers)
            for cls, subjects, hours in sorted(work, key=lambda b: (-b[2], rng.random())):
                if (
                    olga is not None
                    and olga.speciality == speciality
                    and cls.name in self.region.teacher_classes
                ):
                    teacher = olga
                else:
                    teacher = min(teachers, key=lambda t: (t.load, rng.random()))
                teacher.load += hours
                for subject in subjects:
                    cls.teacher_of[subject] = teacher
        plan.olga = olga

    def place_timetables(self, plan: SchoolPlan, classes: list[ClassPlan]) -> None:
        order = list(classes)
        self.rng.shuffle(order)
        # The demo classes first: their teacher's week is the one the README describes.
        order.sort(key=lambda c: not (plan.demo and c.name in self.region.featured))
        for cls in order:
            while not self.place(plan, cls):
                pass

    def place(self, plan: SchoolPlan, cls: ClassPlan) -> bool:
        """Lay the class's weekly hours on a 5-day grid of 1..n lessons a day so that no
        teacher is in two rooms at once. False after handing a subject that would not fit
        to a new teacher (then the caller tries again)."""
        rng = self.rng
        hours = CURRICULUM[cls.grade]
        total = sum(hours.values())
        base, extra = divmod(total, 5)
        long_days = set(rng.sample(range(1, 6), extra))
        per_day = {d: base + (d in long_days) for d in range(1, 6)}
        slots = [(d, n) for d in range(1, 6) for n in range(1, per_day[d] + 1)]
        lessons = [
            (subject, cls.teacher_of[subject]) for subject, h in hours.items() for _ in range(h)
        ]
        failures: dict[str, int] = defaultdict(int)
        for attempt in range(40):
            relax = 1 if attempt >= 20 else 0
            taken: dict[tuple[int, int], tuple[str, Teacher]] = {}
            per_subject_day: dict[tuple[str, int], int] = defaultdict(int)
            order = sorted(lessons, key=lambda item: (-len(item[1].busy), rng.random()))
            for subject, teacher in order:
                limit = math.ceil(hours[subject] / 5) + relax
                free = [
                    slot
                    for slot in slots
                    if slot not in taken
                    and slot not in teacher.busy
                    and per_subject_day[(subject, slot[0])] < limit
                ]
                if not free:
                    failures[subject] += 1
                    break
                slot = rng.choice(free)
                taken[slot] = (subject, teacher)
                per_subject_day[(subject, slot[0])] += 1
            else:
                for (day, number), (subject, teacher) in sorted(taken.items()):
                    teacher.busy.add((day, number))
                    cls.timetable.setdefault(day, []).append(
                        (number, subject, teacher, teacher.room)
                    )
                for entries in cls.timetable.values():
                    entries.sort(key=lambda e: e[0])
                return True
        # Hand the most troublesome subject's speciality in this class to a new teacher
        # (a part-timer): they are free all week, so the next attempt fits.
        movable = [s for s in failures if not cls.teacher_of[s].fixed] or [
            s for s in cls.teacher_of if not cls.teacher_of[s].fixed
        ]
        worst = max(movable, key=lambda s: (failures.get(s, 0), s))
        old = cls.teacher_of[worst]
        new = Teacher(self.w.id("staff_member"), old.speciality, old.room)
        plan.teachers.append(new)
        for subject, teacher in list(cls.teacher_of.items()):
            if teacher is old:
                cls.teacher_of[subject] = new
        return False

    def write_staff_and_classes(
        self, plan: SchoolPlan, classes: list[ClassPlan], spec: SchoolSpec
    ) -> None:
        w, rng, cal = self.w, self.rng, self.calendar
        # Class teachers: a primary class's own teacher; above, a teacher of the class.
        leading: set[int] = set()
        olga, led = plan.olga, self.region.led_class
        for cls in sorted(classes, key=lambda c: (c.grade, c.letter)):
            if olga is not None and cls.name == led:
                candidates = [olga]
            elif cls.grade <= 4:
                candidates = [cls.teacher_of["Русский язык"]]
            else:
                candidates = sorted(
                    {t.id: t for t in cls.teacher_of.values()}.values(), key=lambda t: t.id
                )
                rng.shuffle(candidates)
            for teacher in candidates:
                if teacher.id not in leading and not (olga and teacher is olga and cls.name != led):
                    cls.leader = teacher
                    leading.add(teacher.id)
                    break
        for teacher in sorted(plan.teachers, key=lambda t: t.id):
            self.staff(
                plan.id,
                SPECIALITIES[teacher.speciality][1],
                ["teacher"] + (["class_teacher"] if teacher.id in leading else []),
                self.region.teacher if teacher is olga else None,
                female=0.95 if teacher.speciality == "primary" else 0.8,
                staff_id=teacher.id,
            )
        created = utc(cal.starts - timedelta(days=5), time(9, 0))
        for cls in classes:
            w.row(
                "school_class",
                id=cls.id,
                school_id=plan.id,
                year_id=plan.year_id,
                grade=cls.grade,
                letter=cls.letter,
                class_teacher_id=cls.leader.id if cls.leader else None,
            )
            self.add_students(plan, cls, spec, created)
            for subject, teacher in cls.teacher_of.items():
                w.row(
                    "teaching_assignment",
                    class_id=cls.id,
                    subject_id=self.subjects[subject],
                    teacher_id=teacher.id,
                )
            for weekday in sorted(cls.timetable):
                for number, subject, teacher, room in cls.timetable[weekday]:
                    w.row(
                        "timetable_entry",
                        class_id=cls.id,
                        weekday=weekday,
                        lesson_number=number,
                        subject_id=self.subjects[subject],
                        teacher_id=teacher.id,
                        room=room,
                    )
        plan.classes = classes

    def add_students(
        self, plan: SchoolPlan, cls: ClassPlan, spec: SchoolSpec, created: datetime
    ) -> None:
        w, rng, cal = self.w, self.rng, self.calendar
        size = rng.randint(*spec.class_size)
        demos = self.region.students.get(cls.name, ()) if plan.demo else ()
        # A first-grader is 6½–8 on 1 September of their first year.
        first_september = date(cal.starts.year - cls.grade + 1, 9, 1)
        # No classmate shares a demo student's name: the README's walks pick them by it.
        names = {(demo.family, demo.given) for demo in demos}
        for position in range(size):
            gender = rng.choice("MF")
            family_male = rng.choice(SURNAMES)
            father = rng.choice(MALE_NAMES)
            family = surname_for(family_male, gender)
            given = rng.choice(BOY_NAMES if gender == "M" else GIRL_NAMES)
            while (family, given) in names:
                given = rng.choice(BOY_NAMES if gender == "M" else GIRL_NAMES)
            names.add((family, given))
            middle = father[1] if gender == "M" else father[2]
            born = first_september - timedelta(days=rng.randint(2375, 2890))
            index = self.placeholder_index()
            ability = min(4.9, max(2.7, rng.gauss(3.95, 0.5)))
            exempt = rng.random() < 0.03
            demo = demos[position] if position < len(demos) else None
            if demo is not None:
                family, given, middle, born = demo.family, demo.given, demo.middle, demo.born
                index = self.index(demo)
                ability, exempt = 4.2, False
            student_id = w.row(
                "student",
                school_id=plan.id,
                family_name=family,
                given_name=given,
                middle_name=middle,
                birth_date=born,
                snils_index=index,
                person_id=None,
            )
            w.row(
                "enrolment",
                student_id=student_id,
                class_id=cls.id,
                starts_on=cal.starts,
                ends_on=None,
                reason="admission",
                end_reason=None,
                note="",
            )
            cls.pupils.append(Pupil(student_id, ability, exempt))
            if demo is not None:
                for parent in self.region.guardians.get(demo, ()):
                    self.guardian(student_id, plan, created, parent=parent)
                corrected = self.region.corrected
                if corrected is not None and corrected[0] is demo:
                    plan.corrected.add((student_id, corrected[1]))
                continue
            mother_family = (
                surname_for(family_male, "F")
                if rng.random() < 0.9
                else surname_for(rng.choice(SURNAMES), "F")
            )
            if rng.random() < 0.95:
                mother = (mother_family, rng.choice(ADULT_FEMALE_NAMES), rng.choice(MALE_NAMES)[2])
                self.guardian(student_id, plan, created, name=mother)
            if rng.random() < 0.65:
                dad = (surname_for(family_male, "M"), father[0], rng.choice(MALE_NAMES)[1])
                self.guardian(student_id, plan, created, name=dad)

    def guardian(
        self,
        student_id: int,
        plan: SchoolPlan,
        created: datetime,
        *,
        parent: DemoPerson | None = None,
        name: tuple[str, str, str] | None = None,
    ) -> None:
        if parent is not None:
            family, given, middle = parent.family, parent.given, parent.middle
            index = self.index(parent)
        else:
            assert name is not None
            family, given, middle = name
            index = self.placeholder_index()
        self.w.row(
            "guardian",
            student_id=student_id,
            person_id=None,
            snils_index=index,
            family_name=family,
            given_name=given,
            middle_name=middle,
            kind="parent",
            source="school",
            reason="Заявление родителя при зачислении",
            created_by_id=plan.admin_id,
            created_at=created,
            revoked_at=None,
            revoked_by_id=None,
        )

    # --- this week's changes, notices, meetings ---------------------------------------

    def add_changes(self, plan: SchoolPlan) -> None:
        """A substitution, a cancellation or a room change in the week families look at."""
        rng, cal = self.rng, self.calendar
        week = cal.week_for_changes()
        if not week:
            return
        by_id = {cls.id: cls for cls in plan.classes}
        booked: set[tuple[int, date, int]] = set()

        def lessons_of(cls: ClassPlan, day: date) -> list[tuple[int, str, Teacher, str]]:
            return cls.timetable.get(day.isoweekday(), [])

        def substitute_for(teacher: Teacher, day: date, number: int) -> Teacher | None:
            free = [
                t
                for t in plan.teachers
                if t is not teacher
                and (day.isoweekday(), number) not in t.busy
                and (t.id, day, number) not in booked
            ]
            same = [t for t in free if t.speciality == teacher.speciality]
            pool = same or [t for t in free if t.speciality != "primary"] or free
            return rng.choice(pool) if pool else None

        def change(cls: ClassPlan, day: date, kind: str, subject: str | None = None) -> None:
            entries = [e for e in lessons_of(cls, day) if subject is None or e[1] == subject]
            entries = [e for e in entries if (cls.id, day, e[0]) not in plan.changes]
            if not entries:
                return
            number, _subject, teacher, _room = rng.choice(entries)
            substitute = substitute_for(teacher, day, number) if kind == "substitution" else None
            if kind == "substitution" and substitute is None:
                return
            note, room = {
                "substitution": ("Замена: учитель на курсах повышения квалификации", ""),
                "cancellation": ("Урок отменён: учитель на больничном", ""),
                "room_change": ("Кабинет на ремонте", rng.choice(["35", "Актовый зал", "12"])),
            }[kind]
            if substitute is not None:
                booked.add((substitute.id, day, number))
            plan.changes[(cls.id, day, number)] = (kind, substitute)
            self.w.row(
                "timetable_change",
                class_id=cls.id,
                on_date=day,
                lesson_number=number,
                kind=kind,
                substitute_id=substitute.id if substitute else None,
                room=room,
                note=note,
                created_by_id=plan.admin_id,
                created_at=utc(week[0] - timedelta(days=3), time(11, 0)),
            )

        later = [d for d in week if d > cal.today] or week
        if plan.demo:
            named = {cls.name: cls for cls in plan.classes}
            for name, when, kind, subject in self.region.changes:
                if name in named:
                    day = {"next": later[0], "last": later[-1]}.get(when) or rng.choice(week)
                    change(named[name], day, kind, subject)
        for _ in range(rng.randint(0, 2)):
            cls = by_id[rng.choice(list(by_id))]
            change(
                cls, rng.choice(week), rng.choice(["substitution", "cancellation", "room_change"])
            )

    def add_notices_and_meetings(self, plan: SchoolPlan) -> None:
        w, rng, cal = self.w, self.rng, self.calendar
        today = min(cal.today, cal.ends)
        title, body = rng.choice(NEWS)
        posted = today - timedelta(days=rng.randint(1, 10))
        w.row(
            "notice",
            school_id=plan.id,
            class_id=None,
            kind="news",
            title=title,
            body=body,
            starts_on=posted,
            ends_on=posted + timedelta(days=30),
            created_by_id=plan.admin_id,
            created_at=utc(posted, time(9, 0)),
        )
        title, body = rng.choice(EVENTS)
        w.row(
            "notice",
            school_id=plan.id,
            class_id=None,
            kind="event",
            title=title,
            body=body,
            starts_on=today,
            ends_on=today + timedelta(days=14),
            created_by_id=plan.admin_id,
            created_at=utc(today, time(8, 0)),
        )
        # A quarantine: a class of the demo school (2Б), and some other schools' classes.
        # Its lessons so far are cancelled (the school keeps them in the journal as such).
        quarantined = None
        if plan.demo:
            quarantined = next((c for c in plan.classes if c.name == self.region.quarantined), None)
        elif rng.random() < 0.1:
            quarantined = rng.choice(plan.classes)
        if quarantined is not None:
            taught = cal.school_days[: cal.taught]
            starts = taught[-2] if len(taught) >= 2 else today
            ends = starts + timedelta(days=8)
            quarantined.cancelled_days = {d for d in taught if starts <= d <= ends}
            w.row(
                "notice",
                school_id=plan.id,
                class_id=quarantined.id,
                kind="quarantine",
                title=f"Карантин в {quarantined.name} классе",
                body="Занятия класса приостановлены по предписанию Роспотребнадзора (ОРВИ). "
                "Задания на период карантина — в домашнем задании по каждому предмету.",
                starts_on=starts,
                ends_on=ends,
                created_by_id=plan.admin_id,
                created_at=utc(starts, time(7, 30)),
            )
        # Every class met in September; some (6А of the demo school) meet again soon.
        meeting_class = self.region.meeting_class
        september = cal.starts + timedelta(days=rng.randint(8, 14))
        for cls in plan.classes:
            held = weekday_on_or_after(september + timedelta(days=rng.randint(0, 4)))
            room = cls.leader.room if cls.leader else ""
            place = f"Кабинет {room}" if room.isdigit() else "Актовый зал"
            w.row(
                "parent_meeting",
                class_id=cls.id,
                held_at=utc(held, time(18, 0)),
                place=place,
                agenda="Организационное собрание: режим работы, учебники, питание.",
                created_by_id=plan.admin_id,
                created_at=utc(cal.starts, time(12, 0)),
            )
            if (plan.demo and cls.name == meeting_class) or rng.random() < 0.15:
                soon = weekday_on_or_after(today + timedelta(days=rng.randint(3, 10)))
                w.row(
                    "parent_meeting",
                    class_id=cls.id,
                    held_at=utc(soon, time(18, 30)),
                    place=place,
                    agenda=rng.choice(MEETING_AGENDAS),
                    created_by_id=plan.admin_id,
                    created_at=utc(today - timedelta(days=1), time(15, 0)),
                )

    # --- the journal ------------------------------------------------------------------

    def add_journal(self, plan: SchoolPlan) -> None:
        """Lessons from 1 September to today with topics and homework, marks, absences,
        remarks; then the marks of the periods already over."""
        cal = self.calendar
        # (period, student, subject) → [(value or None, weight)] of current marks
        collected: Collected = defaultdict(list)
        for cls in plan.classes:
            ClassJournal(self, plan, cls).write(collected)
        self.add_final_marks(plan, collected, set(cal.finished_periods()))

    def add_final_marks(
        self,
        plan: SchoolPlan,
        collected: dict[tuple[int, int, str], list[tuple[int | None, int]]],
        finished: set[int],
    ) -> None:
        """Period marks of the periods over: the school's rule suggests, the teacher sets
        it, now and then one higher for an average just below the threshold."""
        w, rng, cal = self.w, self.rng, self.calendar
        rule = plan.rule
        by_student: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for period in sorted(finished):
            set_at = utc(cal.periods[period][1], time(15, 0))
            for cls in plan.classes:
                for pupil in cls.pupils:
                    for subject, teacher in cls.teacher_of.items():
                        marks = collected.get((period, pupil.id, subject))
                        if not marks:
                            continue
                        avg = average(marks, rule)
                        suggested = suggest(avg, rule)
                        value = suggested or "pass"
                        if suggested in ("2", "3", "4") and avg is not None:
                            step = rule.thresholds[str(int(suggested) + 1)] - avg
                            if step <= Decimal("0.10") and rng.random() < 0.5:
                                value = str(int(suggested) + 1)
                        by_student[pupil.id][subject].append(value)
                        w.add(
                            "final_mark",
                            (
                                w.id("final_mark"),
                                pupil.id,
                                self.subjects[subject],
                                plan.year_id,
                                plan.period_ids[period],
                                "period",
                                value,
                                avg,
                                suggested,
                                plan.policy_id,
                                False,
                                True,
                                None,
                                "",
                                teacher.id,
                                set_at,
                            ),
                        )
        if len(finished) < len(cal.periods):
            return
        # The year is over (a summer seed): year marks from the period marks.
        set_at = utc(cal.ends, time(15, 0))
        for cls in plan.classes:
            for pupil in cls.pupils:
                for subject, values in by_student[pupil.id].items():
                    numbers = [int(v) for v in values if v.isdigit()]
                    if numbers:
                        avg = (Decimal(sum(numbers)) / len(numbers)).quantize(
                            TWO_PLACES, rounding=ROUND_HALF_UP
                        )
                        value = str(int(avg.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
                    else:
                        avg, value = None, "pass"
                    w.add(
                        "final_mark",
                        (
                            w.id("final_mark"),
                            pupil.id,
                            self.subjects[subject],
                            plan.year_id,
                            None,
                            "year",
                            value,
                            avg,
                            value if avg else None,
                            plan.policy_id,
                            False,
                            True,
                            None,
                            "",
                            cls.teacher_of[subject].id,
                            set_at,
                        ),
                    )

    # --- the whole run ----------------------------------------------------------------

    def run(self) -> None:
        self.add_subjects()
        self.add_municipalities()
        self.add_department()
        specs = self.specs()
        with self.stage("Schools, staff, students, timetables", len(specs)) as step:
            for spec in specs:
                self.plans.append(self.add_school(spec))
                step()
        with self.stage("Lessons, homework, marks, attendance", len(self.plans)) as step:
            while self.plans:
                # A school's plan is let go once its journal is written.
                self.add_journal(self.plans.pop(0))
                step()
        self.w.finish()


Collected = dict[tuple[int, int, str], list[tuple[int | None, int]]]
ORDINARY_POOL = tuple(kind for kind, n in ORDINARY_KINDS.items() for _ in range(n))
PRACTICAL_POOL = tuple(kind for kind, n in PRACTICAL_KINDS.items() for _ in range(n))
# How a kind of work shifts a student's usual mark (control works are stricter).
KIND_SHIFT = {"control": -0.25, "dictation": -0.3, "homework": 0.2, "project": 0.3}


class ClassJournal:
    """One class's journal from 1 September to today."""

    def __init__(self, seed: RegionSeed, plan: SchoolPlan, cls: ClassPlan) -> None:
        self.seed, self.plan, self.cls = seed, plan, cls
        self.w, self.rng, self.calendar = seed.w, seed.rng, seed.calendar
        self.taught = self.calendar.school_days[: self.calendar.taught]
        self.finished = set(self.calendar.finished_periods())
        self.hours = CURRICULUM[cls.grade]
        self.topics = {subject: topics_for(subject, cls.grade) for subject in self.hours}
        self.counters: dict[str, int] = defaultdict(int)  # lessons given, per subject
        self.offsets: dict[tuple[int, str], float] = {}  # a student's knack for a subject
        self.subjects_on = {
            weekday: {entry[1] for entry in entries} for weekday, entries in cls.timetable.items()
        }
        self.bell_ends = [utc(date.today(), end).time() for _start, end in plan.bells]
        self.bell_starts = [utc(date.today(), start).time() for start, _end in plan.bells]
        # Chances per lesson of a control work for the whole class, or else the share of
        # the class marked: together about MARKS_PER_MONTH per student and subject.
        self.chances: dict[str, tuple[float, float]] = {}
        for subject, hours in self.hours.items():
            a_month = hours * 4.3
            control = 0.0 if subject in PRACTICAL else min(0.1, 1.0 / a_month)
            share = (MARKS_PER_MONTH - a_month * control) / (a_month * (1 - control))
            self.chances[subject] = (control, min(0.9, max(0.05, share)))
        self.recent: list[tuple[int, datetime, str, Teacher]] = []

    def write(self, collected: Collected) -> None:
        cls, plan = self.cls, self.plan
        away_days, away_lessons = self.absences()
        for index, day in enumerate(self.taught):
            period = self.calendar.period_of(day)
            closed = period in self.finished
            away_today = away_days.get(day, {})
            for number, subject, teacher, _room in cls.timetable.get(day.isoweekday(), []):
                change = plan.changes.get((cls.id, day, number))
                cancelled = day in cls.cancelled_days or (
                    change is not None and change[0] == "cancellation"
                )
                if change is not None and change[1] is not None:
                    teacher = change[1]  # the substitute gives the lesson
                lesson_id, written = self.lesson(day, number, subject, teacher, cancelled)
                if cancelled:
                    continue
                self.recent = [*self.recent[-39:], (lesson_id, written, subject, teacher)]
                if self.rng.random() < (0.15 if subject in PRACTICAL else 0.85):
                    self.homework(lesson_id, index, subject, teacher, written)
                away = {**away_today, **away_lessons.get((day, number), {})}
                self.attendance(lesson_id, day, number, away, teacher)
                if cls.grade >= 2:  # the first grade is taught without marks
                    self.marks(
                        lesson_id, subject, teacher, written, away, period, closed, collected
                    )
        if plan.demo and cls.name in self.seed.region.students and self.recent:
            # The demo student hears from a teacher: praise, and a note about homework.
            for (lesson_id, written, subject, teacher), kind in (
                (self.recent[-1], "praise"),
                (self.recent[len(self.recent) // 2], "preparation"),
            ):
                self.remark(cls.pupils[0].id, lesson_id, subject, teacher, written, kind)

    def absences(
        self,
    ) -> tuple[dict[date, dict[int, str]], dict[tuple[date, int], dict[int, str]]]:
        """Whole days away (ill: б; family reasons: у) and single lessons (skipped: н;
        late: оп): about 4 % of lessons missed."""
        rng, taught, cls = self.rng, self.taught, self.cls
        days: dict[date, dict[int, str]] = defaultdict(dict)
        lessons: dict[tuple[date, int], dict[int, str]] = defaultdict(dict)
        if not taught:
            return days, lessons
        months = len(taught) / TAUGHT_DAYS_PER_MONTH
        count = len(taught)
        for pupil in cls.pupils:
            for _ in range(poisson(rng, 0.2 * months)):
                start = rng.randrange(count)
                for day in taught[start : start + rng.randint(2, 6)]:
                    days[day][pupil.id] = "б"
            if rng.random() < 0.06 * months:
                days[taught[rng.randrange(count)]].setdefault(pupil.id, "у")
            for code, mean in (("н", 0.3), ("оп", 0.4)):
                for _ in range(poisson(rng, mean * months)):
                    day = taught[rng.randrange(count)]
                    entries = cls.timetable.get(day.isoweekday(), [])
                    if entries:
                        number = entries[0][0] if code == "оп" else rng.choice(entries)[0]
                        lessons[(day, number)].setdefault(pupil.id, code)
        return days, lessons

    def lesson(
        self, day: date, number: int, subject: str, teacher: Teacher, cancelled: bool
    ) -> tuple[int, datetime]:
        """The lesson row; returns its id and when the teacher filled it in."""
        lesson_id = self.w.id("lesson")
        minutes = 1 + int(self.rng.random() * 90)
        written = datetime.combine(day, self.bell_ends[number - 1]) + timedelta(minutes=minutes)
        topic = ""
        if not cancelled:
            # The topics run through the year: each takes its share of the year's lessons.
            topics = self.topics[subject]
            a_year = self.hours[subject] * WEEKS_A_YEAR
            topic = topics[min(len(topics) - 1, self.counters[subject] * len(topics) // a_year)]
            self.counters[subject] += 1
        self.w.add(
            "lesson",
            (
                lesson_id,
                self.cls.id,
                self.seed.subjects[subject],
                teacher.id,
                day,
                number,
                topic,
                None if cancelled else written,
                cancelled,
            ),
        )
        return lesson_id, written

    def homework(
        self, lesson_id: int, index: int, subject: str, teacher: Teacher, written: datetime
    ) -> None:
        """Homework, due at the subject's next lesson."""
        rng = self.rng
        due = None
        for later in self.calendar.school_days[index + 1 : index + 15]:
            if subject in self.subjects_on.get(later.isoweekday(), ()):
                due = later
                break
        n = rng.randint(10, 600)
        page = rng.randint(5, 200)
        text = rng.choice(HOMEWORK[subject]).format(
            p=self.counters[subject] // 2 + 1,
            n=n,
            n2=n + rng.randint(1, 5),
            n3=n + rng.randint(6, 9),
            a=page,
            b=page + rng.randint(2, 12),
            e=rng.randint(1, 12),
        )
        self.w.add("homework", (self.w.id("homework"), lesson_id, text, due, teacher.id, written))

    def attendance(
        self, lesson_id: int, day: date, number: int, away: dict[int, str], teacher: Teacher
    ) -> None:
        """Only departures from "present" are recorded, at the start of the lesson."""
        if not away:
            return
        noted = datetime.combine(day, self.bell_starts[number - 1]) + timedelta(
            minutes=self.rng.randint(0, 10)
        )
        for student_id, code in away.items():
            self.w.add(
                "attendance",
                (
                    self.w.id("attendance"),
                    lesson_id,
                    student_id,
                    code,
                    False,
                    True,
                    None,
                    "",
                    teacher.id,
                    noted,
                ),
            )

    def marks(
        self,
        lesson_id: int,
        subject: str,
        teacher: Teacher,
        written: datetime,
        away: dict[int, str],
        period: int,
        closed: bool,
        collected: Collected,
    ) -> None:
        """A control work for everyone present, or marks of ordinary kinds for some;
        the marks of a period already over are ``collected`` for its period marks."""
        rng, w, plan = self.rng, self.w, self.plan
        present = [p for p in self.cls.pupils if away.get(p.id) in (None, "оп")]
        control, share = self.chances[subject]
        if rng.random() < control:
            kind = self.control_kind(subject)
            chosen = present
        else:
            kind = ""
            count = round(len(present) * share + rng.uniform(-1.5, 1.5))
            chosen = rng.sample(present, min(len(present), max(0, count)))
        pool = PRACTICAL_POOL if subject in PRACTICAL else ORDINARY_POOL
        weights = plan.rule.weights
        for pupil in chosen:
            mark_kind = kind or pool[int(rng.random() * len(pool))]
            value = self.mark_value(pupil, subject, mark_kind)
            weight = int(weights.get(mark_kind, 1))
            comment = rng.choice(MARK_COMMENTS) if rng.random() < 0.03 else ""
            previous = None
            key = (pupil.id, subject)
            if key in plan.corrected or rng.random() < 0.002:
                # A mark entered wrong and corrected: the first version stays in history.
                plan.corrected.discard(key)
                previous = w.id("mark")
                wrong = {"5": "4", "4": "5", "3": "4", "2": "3", "1": "2"}.get(value, "fail")
                w.add(
                    "mark",
                    (
                        previous,
                        lesson_id,
                        pupil.id,
                        wrong,
                        mark_kind,
                        weight,
                        "",
                        False,
                        False,
                        None,
                        "",
                        teacher.id,
                        written,
                    ),
                )
            w.add(
                "mark",
                (
                    w.id("mark"),
                    lesson_id,
                    pupil.id,
                    value,
                    mark_kind,
                    weight,
                    comment,
                    False,
                    True,
                    previous,
                    rng.choice(CORRECTION_REASONS) if previous else "",
                    teacher.id,
                    written + timedelta(hours=20) if previous else written,
                ),
            )
            if closed:
                numeric = int(value) if value.isdigit() else None
                collected[(period, pupil.id, subject)].append((numeric, weight))
        # Now and then a remark to the parents.
        if present and rng.random() < 0.01:
            self.remark(rng.choice(present).id, lesson_id, subject, teacher, written)

    def remark(
        self,
        student_id: int,
        lesson_id: int,
        subject: str,
        teacher: Teacher,
        written: datetime,
        kind: str | None = None,
    ) -> None:
        kind = kind or self.rng.choice(list(REMARKS))
        self.w.add(
            "remark",
            (
                self.w.id("remark"),
                student_id,
                lesson_id,
                self.seed.subjects[subject],
                kind,
                self.rng.choice(REMARKS[kind]),
                teacher.id,
                written,
            ),
        )

    def control_kind(self, subject: str) -> str:
        roll = self.rng.random()
        if subject == "Русский язык" and self.cls.grade <= 9 and roll < 0.4:
            return "dictation"
        if subject in ("Физика", "Химия", "Биология") and roll < 0.4:
            return "lab"
        if subject == "Английский язык" and roll < 0.3:
            return "test"
        return "control"

    def mark_value(self, pupil: Pupil, subject: str, kind: str) -> str:
        """Around the student's usual level for the subject: most marks 4 and 5, some 3,
        a few 2, a 1 now and then; pass for a student exempt from PE."""
        if pupil.exempt_pe and subject == "Физкультура":
            return "pass"
        rng = self.rng
        key = (pupil.id, subject)
        offset = self.offsets.get(key)
        if offset is None:
            offset = self.offsets[key] = rng.gauss(0, 0.3)
        raw = pupil.ability + offset + KIND_SHIFT.get(kind, 0) + rng.gauss(0, 0.75)
        if raw >= 4.5:
            return "5"
        if raw >= 3.5:
            return "4"
        if raw >= 2.5:
            return "3"
        return "1" if raw < 1.2 and rng.random() < 0.2 else "2"


def school_count() -> int:
    table = db.metadata.tables["school"]
    return db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def seed_region(
    *,
    scale: str,
    key: str,
    schools: int | None = None,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    region: int = 1,
    progress: bool = True,
    full_year: bool = False,
) -> SeedReport | None:
    """Build demo region ``region`` (``REGIONS``) into the diary's database in one
    transaction. Returns what was written, or None (nothing done) when the database
    already has schools."""
    if scale not in SCALES:
        raise ValueError(scale)
    if region not in REGIONS:
        raise ValueError(region)
    if school_count():
        return None
    today = today or date.today()
    if full_year:
        # The whole academic year's lessons and marks, four quarters, as a region holds
        # them in late May (the pages still ask about the real today).
        today = Calendar.of(today).ends
    started = clock.perf_counter()
    try:
        writer = Writer(db.session.connection())
        writer.prepare()
        RegionSeed(
            writer,
            scale=scale,
            schools=schools or DEFAULT_SCHOOLS[scale],
            seed=seed,
            today=today,
            key=key,
            region=region,
            progress=progress,
        ).run()
        # The seed writes around the session: fill the reports' figures in its transaction.
        refresh_all(date.today())
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if scale == "region":
        analyze()
    return SeedReport(scale, dict(writer.counts), clock.perf_counter() - started)


def analyze() -> None:
    """Fresh planner statistics after a bulk load (SQLite and PostgreSQL alike)."""
    with db.engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()


@click.command("seed")
@click.option(
    "--scale",
    type=click.Choice(SCALES),
    default="small",
    show_default=True,
    help="small: 3 schools, what `make run` loads; region: ~450 schools for benchmarks.",
)
@click.option(
    "--schools",
    type=click.IntRange(1, 5000),
    default=None,
    help="How many schools (default: 3 for small, 450 for region).",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed: the same seed gives the same region.",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend today is this day (YYYY-MM-DD): lessons run up to it.",
)
@click.option(
    "--region",
    type=click.IntRange(1, len(REGIONS)),
    default=1,
    show_default=True,
    help="Which demo region: 1 «Демонстрационная область» (Пётр and the demo staff), "
    "2 «Заречная область» (Алиса).",
)
@click.option(
    "--full-year/--to-today",
    default=None,
    help="Lessons and marks for the whole academic year (default for --scale region), "
    "or up to today (default for small).",
)
@with_appcontext
def seed_command(
    scale: str,
    schools: int | None,
    seed_value: int,
    today: datetime | None,
    region: int,
    full_year: bool | None,
) -> None:
    """Load a deterministic demo region: schools, staff, students with Russian names,
    timetables, lessons, homework, marks and attendance (refused in production)."""
    if current_app.config["ENV"] == "production":
        raise click.ClickException("demo data is not loaded in production")
    report = seed_region(
        scale=scale,
        key=current_app.config["BLIND_INDEX_KEY"],
        schools=schools,
        seed=seed_value,
        today=today.date() if today else None,
        region=region,
        full_year=scale == "region" if full_year is None else full_year,
    )
    if report is None:
        click.echo(f"the region already has {school_count()} schools: nothing seeded")
        return
    counts = report.counts
    click.echo(
        f"demo region {region} «{REGIONS[region].name}» seeded (scale {scale}) "
        f"in {report.seconds:.1f} s "
        f"({report.rows:,} rows, {report.rows_per_second:,.0f} rows/s): "
        f"{counts['school']} schools, {counts['school_class']} classes, "
        f"{counts['student']:,} students, {counts['staff_member']:,} staff, "
        f"{counts['lesson']:,} lessons, {counts['homework']:,} homework, "
        f"{counts['mark']:,} marks, {counts['attendance']:,} absences, "
        f"{counts['final_mark']:,} period marks"
    )
