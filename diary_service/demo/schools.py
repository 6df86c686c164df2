"""The demo region's schools, part of ``RegionSeed``: their specs (the fixed schools of
the demo people, city and village schools), their staff, and each school's rows (bells,
year, periods, classes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time, timedelta
from decimal import Decimal

from diary_service.demo.calendar import utc
from diary_service.demo.names import (
    ADULT_FEMALE_NAMES,
    MALE_NAMES,
    SURNAMES,
    surname_for,
)
from diary_service.demo.people import DemoPerson
from diary_service.demo.places import STREETS, VILLAGES
from diary_service.demo.plans import (
    BELL_SCHEDULES,
    LETTERS,
    POLICIES,
    ClassPlan,
    SchoolPlan,
    SchoolSpec,
)
from diary_service.school.policy import (
    DEFAULT_WEIGHTS,
    Rule,
)


class SchoolsSeed:
    """Methods of ``RegionSeed`` (diary_service.demo.region), which holds the state they use."""

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
