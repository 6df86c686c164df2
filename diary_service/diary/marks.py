"""A student's marks page: each subject's marks of a period, its average, the suggested
mark and forecast, the chart, and the period and year marks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from diary_service.access import Reach
from diary_service.diary.chart import Chart, chart_of, formula_of, running_averages, weeks_of
from diary_service.diary.pages import FORECASTS_SHOWN, choose_year, years_of
from diary_service.extensions import db
from diary_service.journal.queries import (
    SubjectSummary,
    current_final_marks,
    current_policy,
    rule_of,
    student_summaries,
)
from diary_service.models.journal import (
    FinalMark,
    Lesson,
    MarkPolicy,
)
from diary_service.models.school import (
    AcademicYear,
    Period,
    Student,
    Subject,
)
from diary_service.school.policy import TWO_PLACES, Rule
from diary_service.school.timetable import period_on
from shared.errors import NotFound


@dataclass
class SubjectMarks:
    summary: SubjectSummary
    formula: str | None
    chart: Chart | None


@dataclass
class FinalRow:
    subject: Subject
    by_period: dict[int, FinalMark]
    year: FinalMark | None


@dataclass
class MarksPage:
    student: Student
    year: AcademicYear
    period: Period
    years: list[AcademicYear]
    policy: MarkPolicy | None
    rule: Rule
    subjects: list[SubjectMarks]
    overall: Chart | None
    overall_average: Decimal | None
    finals: list[FinalRow]


def choose_period(
    student: Student, period_id: int | None, today: date, reach: Reach, section: str = "marks"
) -> Period:
    """The period asked for (one of the student's years the viewer sees), or the
    current one (for the old school's staff: the one their last day with the student
    falls in)."""
    if period_id is not None:
        period = db.session.get(Period, period_id)
        shown = {y.id for y in years_of(student, reach, section)}
        if period is None or period.year_id not in shown:
            raise NotFound(_l("There is no such period."))
        return period
    year = choose_year(student, None, today, reach, section)
    if not year.periods:
        raise NotFound(_l("The school has not divided the year into periods yet."))
    return period_on(year, reach.day_shown(section, today)) or year.periods[0]


def marks_page(student: Student, period: Period, today: date, reach: Reach) -> MarksPage:
    """Per subject of the period: the marks, their average with its formula, the
    suggested and the set period mark, the forecast and the running-average chart; the
    student's overall running average; the year's period and year marks. Only the
    marks the ``reach`` covers count."""
    year = period.year
    policy = current_policy(year.school_id)
    rule = rule_of(policy)
    weeks = weeks_of(period)
    subjects = []
    running: list[list[Decimal | None]] = []
    within = reach.where("marks", Lesson.class_id, Lesson.on_date)
    finals = current_final_marks([student.id], year.id)
    summaries = student_summaries(
        student, period, within, reach.sees_final, rule=rule, year_finals=finals
    )
    for summary in summaries:
        values = running_averages(summary.marks, weeks, rule, today)
        running.append(values)
        summary.forecast = summary.forecast[:FORECASTS_SHOWN]
        subjects.append(
            SubjectMarks(
                summary=summary,
                formula=formula_of(summary.marks, rule),
                chart=chart_of(weeks, values, rule),
            )
        )
    overall_values = [_mean([values[i] for values in running]) for i in range(len(weeks))]
    return MarksPage(
        student=student,
        year=year,
        period=period,
        years=years_of(student, reach, "marks"),
        policy=policy,
        rule=rule,
        subjects=subjects,
        overall=chart_of(weeks, overall_values, rule),
        overall_average=next((v for v in reversed(overall_values) if v is not None), None),
        finals=_final_rows(finals, reach),
    )


def _mean(values: list[Decimal | None]) -> Decimal | None:
    """The student's overall average: the mean of the subjects' averages so far."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return (sum(present, Decimal(0)) / len(present)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def _final_rows(finals: list[FinalMark], reach: Reach) -> list[FinalRow]:
    rows: dict[int, FinalRow] = {}
    for final in finals:
        if not reach.sees_final(final):
            continue
        row = rows.setdefault(
            final.subject_id, FinalRow(subject=final.subject, by_period={}, year=None)
        )
        if final.kind == "year" or final.period_id is None:
            row.year = final
        else:
            row.by_period[final.period_id] = final
    return sorted(rows.values(), key=lambda row: row.subject.name)
