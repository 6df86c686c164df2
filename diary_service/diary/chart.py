"""A subject's marks over a period as a chart (the running average week by week) and the
formula of its average, as the marks page shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import format_decimal

from diary_service.diary.pages import monday_of
from diary_service.models.journal import Mark
from diary_service.models.school import Period
from diary_service.school.policy import Rule, average

CHART_LOW, CHART_HIGH = 2, 5


@dataclass
class ChartPoint:
    x: float
    y: float
    on: date
    value: Decimal


@dataclass
class Chart:
    """A running average drawn as an SVG polyline over the weeks of a period, on a
    fixed 2–5 scale (the marks' range that matters)."""

    points: list[ChartPoint]
    x_ticks: list[tuple[float, date]]
    y_ticks: list[tuple[float, int]]
    thresholds: list[tuple[float, str, Decimal]]
    width: int = 640
    height: int = 220
    left: int = 36
    right: int = 16
    top: int = 12
    bottom: int = 28

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def x_start(self) -> int:
        return self.left

    @property
    def x_end(self) -> int:
        return self.width - self.right

    @property
    def y_end(self) -> int:
        return self.height - self.bottom


def chart_of(weeks: list[date], values: list[Decimal | None], rule: Rule) -> Chart | None:
    """The chart of ``values`` (one per week, None before the first mark)."""
    if not any(v is not None for v in values):
        return None
    chart = Chart(points=[], x_ticks=[], y_ticks=[], thresholds=[])
    plot_w = chart.width - chart.left - chart.right
    plot_h = chart.height - chart.top - chart.bottom

    def x_of(i: int) -> float:
        return chart.left + (plot_w * i / (len(weeks) - 1) if len(weeks) > 1 else plot_w / 2)

    def y_of(v: Decimal | int) -> float:
        clamped = min(max(float(v), CHART_LOW), CHART_HIGH)
        return chart.top + plot_h * (CHART_HIGH - clamped) / (CHART_HIGH - CHART_LOW)

    chart.points = [
        ChartPoint(x=x_of(i), y=y_of(v), on=weeks[i], value=v)
        for i, v in enumerate(values)
        if v is not None
    ]
    chart.x_ticks = [(x_of(i), week) for i, week in enumerate(weeks)]
    chart.y_ticks = [(y_of(v), v) for v in range(CHART_LOW, CHART_HIGH + 1)]
    chart.thresholds = [
        (y_of(limit), mark, limit)
        for mark, limit in sorted(rule.thresholds.items())
        if CHART_LOW <= limit <= CHART_HIGH
    ]
    return chart


def weeks_of(period: Period) -> list[date]:
    weeks = []
    monday = monday_of(period.starts_on)
    while monday <= period.ends_on:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def running_averages(
    marks: list[Mark], weeks: list[date], rule: Rule, today: date
) -> list[Decimal | None]:
    """The average of the marks given up to the end of each week (None for the weeks
    still to come)."""
    return [
        average(
            [(m.numeric, m.weight) for m in marks if m.lesson.on_date < week + timedelta(days=7)],
            rule,
        )
        if week <= today
        else None
        for week in weeks
    ]


def formula_of(marks: list[Mark], rule: Rule) -> str | None:
    """The average spelled out with the actual numbers:
    ``(5×5 + 4×1) / (5+1) = 4.83``; an arithmetic rule weighs every mark 1:
    ``(5 + 4) / 2 = 4.50``, the average with the reader's decimal separator (``4,50`` in
    Russian). Pass/fail marks are not averaged."""
    pairs = [(m.numeric, m.weight) for m in marks if m.numeric is not None]
    avg = average(pairs, rule)
    if avg is None:
        return None
    if rule.average == "weighted":
        top = " + ".join(f"{value}×{weight}" for value, weight in pairs)
        bottom = "+".join(str(weight) for _value, weight in pairs)
        return f"({top}) / ({bottom}) = {format_decimal(avg, format='0.00')}"
    top = " + ".join(str(value) for value, _weight in pairs)
    return f"({top}) / {len(pairs)} = {format_decimal(avg, format='0.00')}"
