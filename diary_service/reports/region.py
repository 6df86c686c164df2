"""The department's dashboard: every school's figures by municipality, aggregates only
(never one student's record)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from diary_service.extensions import db
from diary_service.journal.queries import rule_of
from diary_service.models.journal import MarkPolicy
from diary_service.models.school import (
    AcademicYear,
    Municipality,
    Period,
    School,
    SchoolClass,
)
from diary_service.reports.base import Figures, year_for
from diary_service.reports.figures import (
    attendance_counts,
    completeness_of,
    pairs_of,
    roll_counts,
    roster_of,
    span_for,
    student_figures,
)
from diary_service.school.policy import Rule
from diary_service.school.timetable import period_on
from shared.errors import NotFound


@dataclass
class SchoolLine:
    school: School
    period: Period | None  # None: the school's year has no period of that number
    figures: Figures


@dataclass
class MunicipalityBlock:
    municipality: Municipality
    schools: list[SchoolLine]
    total: Figures


@dataclass
class RegionReport:
    period_number: int
    numbers: list[int]  # period numbers the schools' current years have
    municipalities: list[MunicipalityBlock]
    total: Figures


def _current_years(today: date) -> dict[int, AcademicYear]:
    years: dict[int, list[AcademicYear]] = defaultdict(list)
    for year in db.session.execute(
        sa.select(AcademicYear)
        .options(selectinload(AcademicYear.periods))
        .order_by(AcademicYear.starts_on)
    ).scalars():
        years[year.school_id].append(year)
    found = {school_id: year_for(items, today) for school_id, items in years.items()}
    return {school_id: year for school_id, year in found.items() if year is not None}


def _rules(school_ids: Iterable[int]) -> dict[int, Rule]:
    """The rule in force at each school, in one query (``current_policy`` per school
    would be one query per school of the region)."""
    ids = list(school_ids)
    latest: dict[int, MarkPolicy] = {}
    for policy in db.session.execute(
        sa.select(MarkPolicy).where(MarkPolicy.school_id.in_(ids)).order_by(MarkPolicy.version)
    ).scalars():
        latest[policy.school_id] = policy
    return {school_id: rule_of(latest.get(school_id)) for school_id in ids}


def _default_period_number(years: Iterable[AcademicYear], today: date) -> int:
    """The number of the period most schools are in today."""
    numbers = Counter(
        period.number for year in years if (period := period_on(year, today)) is not None
    )
    return numbers.most_common(1)[0][0] if numbers else 1


def region_report(period_number: int | None, today: date) -> RegionReport:
    """Per municipality and school, for the period of that number in each school's
    current year: students, average, quality, success, attendance and journal
    completeness. Aggregates only."""
    years = _current_years(today)
    numbers = sorted({period.number for year in years.values() for period in year.periods})
    if period_number is None:
        period_number = _default_period_number(years.values(), today)
    elif period_number not in numbers:
        raise NotFound(_("There is no such period."))
    periods = [p for year in years.values() for p in year.periods if p.number == period_number]
    span = span_for(
        today,
        SchoolClass.year_id.in_([year.id for year in years.values()]),
        Period.number == period_number,
    )
    roster = roster_of(span)
    within = (
        (min(p.starts_on for p in periods), max(p.ends_on for p in periods))
        if periods
        else (today, today)
    )
    pairs = pairs_of(roster, _rules(years), within)
    by_school = student_figures(pairs, "school_id")
    rolls = roll_counts(roster, "school_id")
    attendance = attendance_counts(span, ("school_id",))
    completeness = completeness_of(span, "school_id")
    municipalities = list(
        db.session.execute(
            sa.select(Municipality)
            .options(selectinload(Municipality.schools))
            .order_by(Municipality.name)
        ).scalars()
    )
    blocks = []
    region = Figures()
    for municipality in municipalities:
        lines = []
        subtotal = Figures()
        for school in municipality.schools:
            year = years.get(school.id)
            period = next(
                (p for p in (year.periods if year else []) if p.number == period_number), None
            )
            figures = by_school.get(school.id, Figures())
            figures.students = rolls.get(school.id, 0)
            figures.add(attendance.get((school.id,), Figures()))
            figures.add(completeness.get(school.id, Figures()))
            lines.append(SchoolLine(school=school, period=period, figures=figures))
            subtotal.add(figures)
        blocks.append(MunicipalityBlock(municipality=municipality, schools=lines, total=subtotal))
        region.add(subtotal)
    return RegionReport(
        period_number=period_number, numbers=numbers, municipalities=blocks, total=region
    )
