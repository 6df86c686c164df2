"""One demo region's run (``RegionSeed``): the region-wide rows, then each school
(``schools``), its teachers, timetables and students (``staffing``), this week's changes
and notices (``notices``) and its journal (``journal``), all through one ``Writer``."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal

import click
import sqlalchemy as sa

from diary_service.auth.services import snils_index
from diary_service.demo.calendar import Calendar, utc
from diary_service.demo.curriculum import (
    SUBJECTS,
)
from diary_service.demo.journal import ClassJournal
from diary_service.demo.notices import NoticesSeed
from diary_service.demo.people import REGIONS, DemoPerson
from diary_service.demo.plans import (
    Collected,
    SchoolPlan,
)
from diary_service.demo.schools import SchoolsSeed
from diary_service.demo.staffing import StaffingSeed
from diary_service.demo.writer import Writer
from diary_service.extensions import db
from diary_service.school.policy import (
    TWO_PLACES,
    average,
    suggest,
)


class RegionSeed(SchoolsSeed, StaffingSeed, NoticesSeed):
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
