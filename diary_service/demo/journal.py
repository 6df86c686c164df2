"""One class's journal of the demo term: lessons, homework, attendance, marks and
remarks, written as the teachers would have, from the seed's random generator."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Protocol

from diary_service.demo.calendar import Calendar, utc
from diary_service.demo.curriculum import (
    CURRICULUM,
    ORDINARY_KINDS,
    PRACTICAL,
    PRACTICAL_KINDS,
)
from diary_service.demo.people import DemoRegion
from diary_service.demo.plans import (
    MARKS_PER_MONTH,
    TAUGHT_DAYS_PER_MONTH,
    WEEKS_A_YEAR,
    ClassPlan,
    Collected,
    Pupil,
    SchoolPlan,
    Teacher,
    poisson,
)
from diary_service.demo.texts import (
    CORRECTION_REASONS,
    HOMEWORK,
    MARK_COMMENTS,
    REMARKS,
)
from diary_service.demo.topics import topics_for
from diary_service.demo.writer import Writer
from diary_service.models.partitions import school_year_of

ORDINARY_POOL = tuple(kind for kind, n in ORDINARY_KINDS.items() for _ in range(n))


PRACTICAL_POOL = tuple(kind for kind, n in PRACTICAL_KINDS.items() for _ in range(n))


# How a kind of work shifts a student's usual mark (control works are stricter).
KIND_SHIFT = {"control": -0.25, "dictation": -0.3, "homework": 0.2, "project": 0.3}


class SeedRun(Protocol):
    """What a class's journal reads of the region's run (``demo.region.RegionSeed``)."""

    w: Writer
    rng: random.Random
    calendar: Calendar
    region: DemoRegion
    subjects: dict[str, int]


class ClassJournal:
    """One class's journal from 1 September to today."""

    def __init__(self, seed: SeedRun, plan: SchoolPlan, cls: ClassPlan) -> None:
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
                    school_year_of(day),
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
        year = school_year_of(written.date())
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
                        year,
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
                    year,
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
