"""The demo schools' teachers, timetables and students, part of ``RegionSeed``: who
teaches what, each class's week placed without a teacher in two classes at once, the
students and their guardians."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from diary_service.demo.calendar import utc
from diary_service.demo.curriculum import (
    CURRICULUM,
    SPECIAL_ROOMS,
    SPECIALITIES,
    speciality_of,
)
from diary_service.demo.names import (
    ADULT_FEMALE_NAMES,
    BOY_NAMES,
    GIRL_NAMES,
    MALE_NAMES,
    SURNAMES,
    surname_for,
)
from diary_service.demo.people import DemoPerson
from diary_service.demo.plans import (
    TEACHER_LOAD,
    ClassPlan,
    Pupil,
    SchoolPlan,
    SchoolSpec,
    Teacher,
)


class StaffingSeed:
    """Methods of ``RegionSeed`` (diary_service.demo.region), which holds the state they use."""

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
