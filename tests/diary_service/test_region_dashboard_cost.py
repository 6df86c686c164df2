"""The department's dashboard at a region's size: what it costs does not grow with the
number of schools (issue 14). Its frame (each school's current year and periods, the
municipalities and their schools) is read with Core selects into tuples: no ORM
instance per school, year or period (450 schools' worth of them was most of the page's
time, and the allocation burst in which a gunicorn worker died, docs/performance.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, format_decimal
from sqlalchemy import event
from sqlalchemy.orm import Session

from diary_service.extensions import db
from diary_service.models.school import AcademicYear, Municipality, Period, School
from diary_service.reports import exports, maintained
from diary_service.school.timetable import period_on
from tests.helpers import region_today, text_of

EXTRA_SCHOOLS = 40


@contextmanager
def counted() -> Iterator[dict[str, int]]:
    """Statements sent to the database and ORM instances loaded meanwhile."""
    counts = {"statements": 0, "instances": 0}

    def statement(*_args) -> None:
        counts["statements"] += 1

    def instance(*_args) -> None:
        counts["instances"] += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(Session, "loaded_as_persistent", instance)
    try:
        yield counts
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(Session, "loaded_as_persistent", instance)


def year_shape(year: AcademicYear) -> tuple[dict, list[dict]]:
    """A year's values and its periods', to copy (read before the session is emptied)."""
    values = {
        "name": year.name,
        "starts_on": year.starts_on,
        "ends_on": year.ends_on,
        "period_kind": year.period_kind,
    }
    periods = [
        {"number": p.number, "starts_on": p.starts_on, "ends_on": p.ends_on} for p in year.periods
    ]
    return values, periods


def add_schools(count: int, like: tuple[dict, list[dict]]) -> list[int]:
    """``count`` more schools in a new municipality, each with a year shaped like
    ``like`` (same dates and periods), inserted in bulk: a region's frame, cheaply."""
    year, periods = like
    municipality_id = db.session.execute(
        sa.insert(Municipality).values(name="Яковлевский район").returning(Municipality.id)
    ).scalar_one()
    school_ids = []
    for index in range(count):
        school_id = db.session.execute(
            sa.insert(School)
            .values(
                municipality_id=municipality_id,
                name=f"Школа № {100 + index}",
                short_name=f"№ {100 + index}",
                address="",
            )
            .returning(School.id)
        ).scalar_one()
        year_id = db.session.execute(
            sa.insert(AcademicYear).values(school_id=school_id, **year).returning(AcademicYear.id)
        ).scalar_one()
        db.session.execute(
            sa.insert(Period),
            [{"year_id": year_id, **period} for period in periods],
        )
        # And an earlier year, which is not the current one.
        db.session.execute(
            sa.insert(AcademicYear).values(
                school_id=school_id,
                name="старый",
                starts_on=year["starts_on"] - timedelta(days=365),
                ends_on=year["starts_on"] - timedelta(days=100),
                period_kind="semester",
            )
        )
        school_ids.append(school_id)
    db.session.commit()
    return school_ids


def dashboard_cost(today: date) -> dict[str, int]:
    db.session.expunge_all()
    with counted() as counts:
        maintained.region_report(None, today)
    return counts


def test_the_dashboard_loads_no_orm_instance_and_its_statements_do_not_grow(world):
    today = region_today()
    like = year_shape(world.one.year)
    small = dashboard_cost(today)
    assert small["instances"] == 0
    add_schools(EXTRA_SCHOOLS, like)
    large = dashboard_cost(today)
    assert large == small
    assert large["statements"] <= 5


def test_many_schools_show_with_their_period_on_the_page_and_in_the_file(world, login):
    school_ids = add_schools(EXTRA_SCHOOLS, year_shape(world.one.year))
    number = (period_on(world.one.year, region_today()) or world.one.periods[0]).number
    department = login(world.people["department"])
    page = department.get(f"/reports/region?period_number={number}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Яковлевский район" in text
    assert f"Школа № {100 + EXTRA_SCHOOLS - 1}" in text
    period_ids = db.session.execute(
        sa.select(Period.id)
        .join(AcademicYear, AcademicYear.id == Period.year_id)
        .where(AcademicYear.school_id == school_ids[-1], Period.number == number)
    ).scalars()
    assert f"/reports/schools/{school_ids[-1]}?period={period_ids.one()}" in page.text
    csv = department.get(f"/reports/region.csv?period_number={number}")
    assert csv.status_code == 200
    line = next(row for row in csv.text.splitlines() if f"Школа № {100 + EXTRA_SCHOOLS - 1}" in row)
    assert "Яковлевский район" in line
    assert world.one.year.name in line  # the period's name: «… четверть 2026/2027»


def pattern(value: Decimal) -> str:
    """Babel's pattern for the value's places: 0, 0.0, 0.00..."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return "0." + "0" * places if places else "0"


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_pages_numbers_read_as_babel_writes_them(diary, language):
    values = [
        Decimal("0"),
        Decimal("0.0"),
        Decimal("3.33"),
        Decimal("-1.5"),
        Decimal("100.0"),
        Decimal("12345.67"),
        Decimal("1E+1"),
        7,
    ]
    with diary.test_request_context("/"), force_locale(language):
        fast = exports.number_formatter()
        for value in values:
            expected = (
                format_decimal(value, format=pattern(value))
                if isinstance(value, Decimal)
                else str(value)
            )
            assert fast(value) == exports.number(value) == expected
