"""The department's dashboard computed from the journal (the definition the maintained
dashboard, ``maintained.region_report``, is held equal to): every school's figures by
municipality, aggregates only (never one student's record)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from diary_service.extensions import db
from diary_service.journal.queries import rule_of
from diary_service.models.journal import MarkPolicy
from diary_service.models.school import Period, SchoolClass
from diary_service.reports.base import Figures
from diary_service.reports.figures import (
    attendance_counts,
    completeness_of,
    pairs_of,
    roll_counts,
    roster_of,
    span_for,
    student_figures,
)
from diary_service.reports.regionwide import (
    MunicipalityBlock,
    RegionReport,
    SchoolLine,
    blocks_of,
    current_years,
    default_period_number,
    period_numbers,
    periods_numbered,
)
from diary_service.school.policy import Rule
from shared.errors import NotFound

__all__ = ["MunicipalityBlock", "RegionReport", "SchoolLine", "region_report", "rules"]


def rules(school_ids: Iterable[int]) -> dict[int, Rule]:
    """The rule in force at each school, in one query (``current_policy`` per school
    would be one query per school of the region)."""
    ids = list(school_ids)
    latest: dict[int, MarkPolicy] = {}
    for policy in db.session.execute(
        sa.select(MarkPolicy).where(MarkPolicy.school_id.in_(ids)).order_by(MarkPolicy.version)
    ).scalars():
        latest[policy.school_id] = policy
    return {school_id: rule_of(latest.get(school_id)) for school_id in ids}


def region_report(period_number: int | None, today: date) -> RegionReport:
    """Per municipality and school, for the period of that number in each school's
    current year: students, average, quality, success, attendance and journal
    completeness. Aggregates only."""
    years = current_years(today)
    numbers = period_numbers(years.values())
    if period_number is None:
        period_number = default_period_number(years.values(), today)
    elif period_number not in numbers:
        raise NotFound(_("There is no such period."))
    periods = periods_numbered(years, period_number)
    span = span_for(
        today,
        SchoolClass.year_id.in_([year.id for year in years.values()]),
        Period.number == period_number,
    )
    roster = roster_of(span)
    within = (
        (
            min(p.starts_on for p in periods.values()),
            max(p.ends_on for p in periods.values()),
        )
        if periods
        else (today, today)
    )
    pairs = pairs_of(roster, rules(years), within)
    by_school = student_figures(pairs, "school_id")
    rolls = roll_counts(roster, "school_id")
    attendance = attendance_counts(span, ("school_id",))
    completeness = completeness_of(span, "school_id")

    def figures_of(school_id: int) -> Figures:
        figures = by_school.get(school_id, Figures())
        figures.students = rolls.get(school_id, 0)
        figures.add(attendance.get((school_id,), Figures()))
        figures.add(completeness.get(school_id, Figures()))
        return figures

    blocks, total = blocks_of(periods, figures_of)
    return RegionReport(
        period_number=period_number, numbers=numbers, municipalities=blocks, total=total
    )
