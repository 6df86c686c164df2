"""A school's calendar: academic years, their periods and holidays, and the bells (when
each lesson number starts and ends)."""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.models.journal import FinalMark
from diary_service.models.school import (
    PERIOD_KINDS,
    AcademicYear,
    Bell,
    Holiday,
    Period,
    SchoolClass,
    TimetableEntry,
)
from diary_service.school.base import (
    MAX_LESSONS,
    PERIODS_PER_YEAR,
    clean_text,
    commit,
    get,
    get_school,
    invalid,
)


def years_of(school_id: int) -> list[AcademicYear]:
    return list(
        db.session.execute(
            sa.select(AcademicYear)
            .where(AcademicYear.school_id == school_id)
            .order_by(AcademicYear.starts_on.desc())
        ).scalars()
    )


def current_year(school_id: int, on: date | None = None) -> AcademicYear | None:
    """The school's year containing ``on`` (today), else the next to begin, else the
    last one."""
    on = on or clock.today()
    years = sorted(years_of(school_id), key=lambda year: year.starts_on)
    for year in years:
        if year.starts_on <= on <= year.ends_on:
            return year
    upcoming = [year for year in years if year.starts_on > on]
    if upcoming:
        return upcoming[0]
    return years[-1] if years else None


def create_year(
    school_id: int, name: str, starts_on: date, ends_on: date, period_kind: str
) -> AcademicYear:
    if period_kind not in PERIOD_KINDS:
        raise invalid("period_kind", _l("Choose how the year is divided."))
    if ends_on <= starts_on:
        raise invalid("ends_on", _l("The end must come after the start."))
    if ends_on - starts_on > timedelta(days=366):
        raise invalid("ends_on", _l("An academic year lasts at most a year."))
    for other in years_of(school_id):
        if other.starts_on <= ends_on and starts_on <= other.ends_on:
            raise invalid(
                "starts_on",
                _l("The dates overlap the academic year %(name)s.", name=other.name),
            )
    year = AcademicYear(
        school_id=school_id,
        name=clean_text(name) or f"{starts_on.year}/{ends_on.year}",
        starts_on=starts_on,
        ends_on=ends_on,
        period_kind=period_kind,
    )
    db.session.add(year)
    commit()
    return year


def _check_span(year: AcademicYear, starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise invalid("ends_on", _l("The end must not come before the start."))
    if starts_on < year.starts_on or ends_on > year.ends_on:
        raise invalid(
            "starts_on",
            _l(
                "The dates must lie within the academic year (%(start)s – %(end)s).",
                start=year.starts_on.strftime("%d.%m.%Y"),
                end=year.ends_on.strftime("%d.%m.%Y"),
            ),
        )


def add_period(year_id: int, starts_on: date, ends_on: date) -> Period:
    """The year's next period (periods follow each other in order)."""
    year = get(AcademicYear, year_id)
    _check_span(year, starts_on, ends_on)
    periods = list(year.periods)
    if len(periods) >= PERIODS_PER_YEAR[year.period_kind]:
        raise invalid("", _l("The year already has all its periods."))
    if periods and starts_on <= periods[-1].ends_on:
        raise invalid("starts_on", _l("A period must start after the previous one ends."))
    period = Period(year_id=year.id, number=len(periods) + 1, starts_on=starts_on, ends_on=ends_on)
    db.session.add(period)
    commit()
    return period


def remove_period(period_id: int) -> None:
    """Remove the year's last period, unless final marks were set for it."""
    period = get(Period, period_id)
    if period.number != max(p.number for p in period.year.periods):
        raise invalid("", _l("Only the last period can be removed."))
    marked = db.session.execute(
        sa.select(FinalMark.id).where(FinalMark.period_id == period.id).limit(1)
    ).first()
    if marked:
        raise invalid("", _l("Period marks have been set for this period; it stays."))
    db.session.delete(period)
    commit()


def add_holiday(year_id: int, name: str, starts_on: date, ends_on: date) -> Holiday:
    year = get(AcademicYear, year_id)
    _check_span(year, starts_on, ends_on)
    holiday = Holiday(year_id=year.id, name=clean_text(name), starts_on=starts_on, ends_on=ends_on)
    db.session.add(holiday)
    commit()
    return holiday


def remove_holiday(holiday_id: int) -> None:
    db.session.delete(get(Holiday, holiday_id))
    commit()


def set_bell(school_id: int, number: int, starts_at: time, ends_at: time) -> Bell:
    """Set the times of lesson ``number`` (adding it if new): it must end after it
    starts and fit between the lessons before and after it."""
    if not 1 <= number <= MAX_LESSONS:
        raise invalid("number", _l("The lesson number is from 1 to %(max)s.", max=MAX_LESSONS))
    if ends_at <= starts_at:
        raise invalid("ends_at", _l("The lesson must end after it starts."))
    school = get_school(school_id)
    for other in school.bells:
        if other.number < number and other.ends_at > starts_at:
            raise invalid(
                "starts_at",
                _l("Lesson %(number)s ends later than this one starts.", number=other.number),
            )
        if other.number > number and other.starts_at < ends_at:
            raise invalid(
                "ends_at", _l("Lesson %(number)s starts before this one ends.", number=other.number)
            )
    bell = next((b for b in school.bells if b.number == number), None)
    if bell is None:
        bell = Bell(school_id=school.id, number=number)
        db.session.add(bell)
    bell.starts_at, bell.ends_at = starts_at, ends_at
    commit()
    return bell


def remove_bell(bell_id: int) -> None:
    bell = get(Bell, bell_id)
    used = db.session.execute(
        sa.select(TimetableEntry.id)
        .join(SchoolClass, SchoolClass.id == TimetableEntry.class_id)
        .where(SchoolClass.school_id == bell.school_id, TimetableEntry.lesson_number == bell.number)
        .limit(1)
    ).first()
    if used:
        raise invalid("", _l("The timetable has lessons at this number; remove them first."))
    db.session.delete(bell)
    commit()


def lesson_numbers(school_id: int) -> list[int]:
    return [bell.number for bell in get_school(school_id).bells]
