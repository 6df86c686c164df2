"""The weekly timetable made concrete (diary_service/school/timetable.py): dated slots
on study days only, with substitutions, cancellations and room changes applied."""

from __future__ import annotations

from datetime import timedelta

from diary_service.access import can_view_journal, can_write_journal, viewer_for
from diary_service.extensions import db
from diary_service.models.school import Holiday, TimetableChange
from diary_service.school.timetable import period_on, slots
from tests.diary_service.factories import monday_of


def test_a_week_has_two_lessons_a_weekday_and_none_at_the_weekend(world):
    cls = world.one.classes["6А"]
    monday = monday_of(world.one.periods[1].starts_on + timedelta(days=7))
    week = slots(cls, monday, monday + timedelta(days=6))
    assert [(s.on_date.isoweekday(), s.lesson_number, s.subject.name) for s in week][:2] == [
        (1, 1, "Математика"),
        (1, 2, "Русский язык"),
    ]
    assert len(week) == 10
    assert {s.on_date.isoweekday() for s in week} == {1, 2, 3, 4, 5}
    assert str(week[0].starts_at) == "08:30:00"


def test_holidays_and_days_outside_the_year_have_no_lessons(world):
    cls = world.one.classes["6А"]
    year = world.one.year
    monday = monday_of(world.one.periods[1].starts_on + timedelta(days=14))
    db.session.add(
        Holiday(year=year, name="Каникулы", starts_on=monday, ends_on=monday + timedelta(days=1))
    )
    db.session.commit()
    week = slots(cls, monday, monday + timedelta(days=4))
    assert {s.on_date for s in week} == {monday + timedelta(days=n) for n in (2, 3, 4)}
    assert slots(cls, year.ends_on + timedelta(days=1), year.ends_on + timedelta(days=7)) == []


def test_changes_of_the_day_are_applied(world):
    cls = world.one.classes["6А"]
    monday = monday_of(world.one.periods[1].starts_on + timedelta(days=7))
    substitute = world.one.staff["teacher2"]
    db.session.add_all(
        [
            TimetableChange(
                class_id=cls.id,
                on_date=monday,
                lesson_number=1,
                kind="substitution",
                substitute_id=substitute.id,
            ),
            TimetableChange(class_id=cls.id, on_date=monday, lesson_number=2, kind="cancellation"),
            TimetableChange(
                class_id=cls.id,
                on_date=monday + timedelta(days=1),
                lesson_number=1,
                kind="room_change",
                room="спортзал",
            ),
        ]
    )
    db.session.commit()
    first, second, tuesday = slots(cls, monday, monday + timedelta(days=1))[:3]
    assert first.teacher.id == substitute.id
    assert first.regular_teacher.id == world.one.staff["teacher"].id
    assert second.cancelled and not first.cancelled
    assert tuesday.room == "спортзал"


def test_the_period_of_a_day(world):
    year = world.one.year
    q1, q2 = world.one.periods[:2]
    assert period_on(year, q1.starts_on) == q1
    assert period_on(year, q2.starts_on + timedelta(days=3)) == q2
    # in the autumn holidays between the quarters: the one just ended
    assert period_on(year, q1.ends_on + timedelta(days=2)) == q1


def test_a_substitution_opens_only_its_own_subjects_journal(world):
    cls = world.one.classes["6А"]
    monday = monday_of(world.one.periods[1].starts_on + timedelta(days=7))
    outsider = world.one.staff["admin"]  # no teaching of their own
    db.session.add(
        TimetableChange(
            class_id=cls.id,
            on_date=monday,
            lesson_number=1,
            kind="substitution",
            substitute_id=outsider.id,
        )
    )
    db.session.commit()
    outsider.roles = []  # only the substitution, not the administrator's rights
    db.session.commit()
    viewer = viewer_for(world.people["admin"])
    assert can_view_journal(viewer, cls, world.subjects["math"].id)  # lesson 1 is maths
    assert not can_view_journal(viewer, cls, world.subjects["russian"].id)
    assert can_write_journal(viewer, cls, world.subjects["math"].id, monday, 1)
    assert not can_write_journal(viewer, cls, world.subjects["math"].id, monday, 2)
