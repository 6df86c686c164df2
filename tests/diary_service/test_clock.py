"""Today is the region's date (``TIMEZONE``), not the server's UTC date."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

import diary_service.clock as clock
from diary_service.diary.pages import monday_of
from diary_service.extensions import db
from diary_service.journal.entries import (
    EntryErrors,
    MarkInput,
    StudentEntry,
    record_lesson_entries,
)
from diary_service.journal.queries import remarks_between
from diary_service.models.journal import Lesson, Remark


@pytest.mark.parametrize("zone", ["Asia/Yekaterinburg", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_today_is_the_date_in_the_regions_time_zone(diary, zone):
    diary.config["TIMEZONE"] = zone
    try:
        before = datetime.now(ZoneInfo(zone)).date()
        found = clock.today()
        after = datetime.now(ZoneInfo(zone)).date()
    finally:
        diary.config["TIMEZONE"] = "Europe/Moscow"
    assert found in (before, after)


def test_the_two_far_zones_see_different_days(diary):
    # UTC+14 and UTC−12 are 26 hours apart: never the same date.
    days = []
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        diary.config["TIMEZONE"] = zone
        days.append(clock.today())
    diary.config["TIMEZONE"] = "Europe/Moscow"
    assert days[0] - days[1] in (timedelta(days=1), timedelta(days=2))
    assert datetime.now(UTC).date() in (days[0], days[1], days[0] - timedelta(days=1))


def test_the_journal_takes_marks_for_lessons_held_by_the_regions_date(world, diary):
    """A lesson dated the region's today takes marks though the server's UTC date is
    the day before; one dated the server's today is refused where the region is still
    on the day before."""
    now = datetime.now(UTC)
    # UTC+14 is a day ahead from 10:00 UTC; UTC−12 a day behind until 12:00 UTC.
    if now.hour >= 12:
        zone, day, accepted = "Pacific/Kiritimati", now.date() + timedelta(days=1), True
    else:
        zone, day, accepted = "Etc/GMT+12", now.date(), False
    one = world.one
    teacher = one.staff["teacher"]
    lesson = Lesson(
        school_class=one.classes["6А"],
        subject=world.subjects["math"],
        teacher=teacher,
        on_date=day,
        lesson_number=8,
    )
    db.session.add(lesson)
    db.session.commit()
    entry = StudentEntry(
        key="e", student_id=one.students["petr"].id, marks=(MarkInput("a", "5", "oral"),)
    )
    diary.config["TIMEZONE"] = zone
    try:
        if accepted:
            assert record_lesson_entries(teacher, lesson.id, [entry]).marks
        else:
            with pytest.raises(EntryErrors):
                record_lesson_entries(teacher, lesson.id, [entry])
    finally:
        diary.config["TIMEZONE"] = "Europe/Moscow"


def test_a_remark_written_after_the_regions_midnight_belongs_to_the_regions_day(world, diary):
    """A remark tied to no lesson, written at 01:30 on a Monday in Moscow (22:30 UTC on
    the Sunday), is Monday's: the new week has it, the week before does not."""
    petr = world.one.students["petr"]
    monday = monday_of(world.today)
    written = datetime.combine(monday - timedelta(days=1), time(22, 30))  # naive UTC
    remark = Remark(
        student_id=petr.id,
        kind="preparation",
        text="Забыл форму",
        author_id=world.one.staff["teacher"].id,
        created_at=written,
    )
    db.session.add(remark)
    db.session.commit()
    this_week = remarks_between(petr.id, monday, monday + timedelta(days=5))
    last_week = remarks_between(petr.id, monday - timedelta(days=7), monday - timedelta(days=1))
    assert [row[0].id for row in this_week] == [remark.id]
    assert [row[0].id for row in last_week] == []
    assert clock.day_of(written) == monday
