"""Reports: what a class, a school and the region achieved in a period. One module a
report: base (the figures and periods; its docstring defines every figure), figures (the
SQL they share), class_report, school_report, region (the department's dashboard),
printable (the printable journal), overview (what a viewer may open); this module
re-exports them for the views."""

from __future__ import annotations

from diary_service.reports.base import (
    FAILING_MARKS,
    GOOD_MARKS,
    HUNDREDTH,
    MISSED_CODES,
    NUMERIC_MARKS,
    TENTH,
    Figures,
    as_int,
    class_period,
    current_year,
    default_period,
    mean_of_cents,
    percent,
    period_name,
    school_period,
    year_for,
)
from diary_service.reports.class_report import (
    Cell,
    ClassReport,
    Place,
    StudentRow,
    class_report,
    rating_enabled_for,
    student_place,
)
from diary_service.reports.figures import (
    attendance_counts,
    ceil_cents,
    completeness_of,
    held_counts,
    pairs_of,
    per_school,
    roll_counts,
    roster_of,
    span_for,
    student_figures,
    subject_figures,
)
from diary_service.reports.overview import Overview, overview
from diary_service.reports.printable import JournalSheet, SheetRow, journal_sheet
from diary_service.reports.region import MunicipalityBlock, RegionReport, SchoolLine, region_report
from diary_service.reports.school_report import SchoolReport, school_report

__all__ = [
    "FAILING_MARKS",
    "GOOD_MARKS",
    "HUNDREDTH",
    "MISSED_CODES",
    "NUMERIC_MARKS",
    "TENTH",
    "Cell",
    "ClassReport",
    "Figures",
    "JournalSheet",
    "MunicipalityBlock",
    "Overview",
    "Place",
    "RegionReport",
    "SchoolLine",
    "SchoolReport",
    "SheetRow",
    "StudentRow",
    "as_int",
    "attendance_counts",
    "ceil_cents",
    "class_period",
    "class_report",
    "completeness_of",
    "current_year",
    "default_period",
    "held_counts",
    "journal_sheet",
    "mean_of_cents",
    "overview",
    "pairs_of",
    "per_school",
    "percent",
    "period_name",
    "rating_enabled_for",
    "region_report",
    "roll_counts",
    "roster_of",
    "school_period",
    "school_report",
    "span_for",
    "student_figures",
    "student_place",
    "subject_figures",
    "year_for",
]
