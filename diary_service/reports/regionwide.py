"""What the department's dashboard needs of the whole region besides the figures: every
school's current academic year with its periods, and the municipalities with their
schools, read with Core selects into small rows.

A region has 450 schools: loading their years, periods, municipalities and schools as
ORM instances (identity map, instance state, relationship collections) cost more than
the dashboard's two sums together (docs/performance.md), so nothing here builds an ORM
instance; three statements, each a few hundred to a few thousand tuples.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.models.school import AcademicYear, Municipality, Period, School
from diary_service.reports.base import Figures, year_for
from diary_service.school.timetable import period_on


@dataclass(slots=True)
class YearRow:
    """A school's academic year (what ``period_name`` and ``period_on`` read)."""

    id: int
    school_id: int
    name: str
    period_kind: str
    starts_on: date
    ends_on: date
    periods: list[PeriodRow] = field(default_factory=list)  # by number


@dataclass(slots=True)
class PeriodRow:
    id: int
    number: int
    starts_on: date
    ends_on: date
    year: YearRow


@dataclass(frozen=True, slots=True)
class Place:
    """A municipality or a school: its id and name, all a dashboard line shows."""

    id: int
    name: str


@dataclass
class SchoolLine:
    school: Place
    period: PeriodRow | None  # None: the school's year has no period of that number
    figures: Figures


@dataclass
class MunicipalityBlock:
    municipality: Place
    schools: list[SchoolLine]
    total: Figures


@dataclass
class RegionReport:
    period_number: int
    numbers: list[int]  # period numbers the schools' current years have
    municipalities: list[MunicipalityBlock]
    total: Figures


def current_years(today: date) -> dict[int, YearRow]:
    """Each school's current academic year (``base.year_for``) with its periods: one
    select of every year's dates, one of the chosen years' periods."""
    by_school: dict[int, list[YearRow]] = defaultdict(list)
    for row in db.session.execute(
        sa.select(
            AcademicYear.id,
            AcademicYear.school_id,
            AcademicYear.name,
            AcademicYear.period_kind,
            AcademicYear.starts_on,
            AcademicYear.ends_on,
        ).order_by(AcademicYear.school_id, AcademicYear.starts_on)
    ):
        by_school[row.school_id].append(YearRow(*row))
    chosen = {school_id: year_for(items, today) for school_id, items in by_school.items()}
    years = {school_id: year for school_id, year in chosen.items() if year is not None}
    by_id = {year.id: year for year in years.values()}
    if by_id:
        for row in db.session.execute(
            sa.select(Period.id, Period.number, Period.starts_on, Period.ends_on, Period.year_id)
            .where(Period.year_id.in_(list(by_id)))
            .order_by(Period.year_id, Period.number)
        ):
            year = by_id[row.year_id]
            year.periods.append(PeriodRow(row.id, row.number, row.starts_on, row.ends_on, year))
    return years


def period_numbers(years: Iterable[YearRow]) -> list[int]:
    return sorted({period.number for year in years for period in year.periods})


def default_period_number(years: Iterable[YearRow], today: date) -> int:
    """The number of the period most schools are in today."""
    numbers = Counter(
        period.number for year in years if (period := period_on(year, today)) is not None
    )
    return numbers.most_common(1)[0][0] if numbers else 1


def periods_numbered(years: dict[int, YearRow], number: int) -> dict[int, PeriodRow]:
    """School id → the period of that number in the school's current year."""
    return {
        school_id: period
        for school_id, year in years.items()
        for period in year.periods
        if period.number == number
    }


def municipalities() -> list[tuple[Place, list[Place]]]:
    """The municipalities by name, each with its schools by name, in one select."""
    found: dict[int, tuple[Place, list[Place]]] = {}
    for row in db.session.execute(
        sa.select(
            Municipality.id.label("municipality_id"),
            Municipality.name.label("municipality"),
            School.id.label("school_id"),
            School.name.label("school"),
        )
        .outerjoin(School, School.municipality_id == Municipality.id)
        .order_by(Municipality.name, Municipality.id, School.name, School.id)
    ):
        place = Place(row.municipality_id, row.municipality)
        _place, schools = found.setdefault(row.municipality_id, (place, []))
        if row.school_id is not None:
            schools.append(Place(row.school_id, row.school))
    return list(found.values())


def blocks_of(
    periods: dict[int, PeriodRow], figures_of: Callable[[int], Figures]
) -> tuple[list[MunicipalityBlock], Figures]:
    """The dashboard's lines, municipality by municipality, and the region's total."""
    blocks = []
    region = Figures()
    for municipality, schools in municipalities():
        lines = []
        subtotal = Figures()
        for school in schools:
            figures = figures_of(school.id)
            lines.append(SchoolLine(school=school, period=periods.get(school.id), figures=figures))
            subtotal.add(figures)
        blocks.append(MunicipalityBlock(municipality=municipality, schools=lines, total=subtotal))
        region.add(subtotal)
    return blocks, region
