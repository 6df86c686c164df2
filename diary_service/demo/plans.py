"""What the seed plans before it writes: a school's spec, its classes, teachers and
pupils (what the journal needs to know of a school), and the report of a run."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, time

from diary_service.school.policy import DEFAULT_THRESHOLDS, Rule


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


LETTERS = "АБВГ"


BELL_SCHEDULES = [
    # hour, minute the lesson starts; hour, minute it ends
    [(8, 30, 9, 15), (9, 25, 10, 10), (10, 30, 11, 15), (11, 35, 12, 20), (12, 30, 13, 15),
     (13, 25, 14, 10), (14, 20, 15, 5)],
    [(8, 0, 8, 40), (8, 50, 9, 30), (9, 50, 10, 30), (10, 50, 11, 30), (11, 40, 12, 20),
     (12, 30, 13, 10), (13, 20, 14, 0)],
]  # fmt: skip


# A teacher's week, in lessons, before the school needs another one of the speciality.
TEACHER_LOAD = 22


MARKS_PER_MONTH = 2.9  # given per student and subject; absences make it about 2.5


TAUGHT_DAYS_PER_MONTH = 20


WEEKS_A_YEAR = 33


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count (Knuth's method: the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


Collected = dict[tuple[int, int, str], list[tuple[int | None, int]]]


# The period-mark rules schools choose: the default, «every mark weighs the same», and
# plain mathematical rounding (research: schools differ, ../shared/reference §2.2).
POLICIES: dict[str, tuple[str, dict[str, str]]] = {
    "weighted": ("weighted", dict(DEFAULT_THRESHOLDS)),
    "arithmetic": ("arithmetic", dict(DEFAULT_THRESHOLDS)),
    "rounding": ("weighted", {"5": "4.50", "4": "3.50", "3": "2.50"}),
}
