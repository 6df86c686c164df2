"""This week's changes of the demo timetables, and the schools' notices and parent
meetings, part of ``RegionSeed``."""

from __future__ import annotations

from datetime import date, time, timedelta

from diary_service.demo.calendar import utc, weekday_on_or_after
from diary_service.demo.plans import (
    ClassPlan,
    SchoolPlan,
    Teacher,
)
from diary_service.demo.texts import (
    EVENTS,
    MEETING_AGENDAS,
    NEWS,
)


class NoticesSeed:
    """Methods of ``RegionSeed`` (diary_service.demo.region), which holds the state they use."""

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
