"""The family room's rules without HTTP: the average spelled out, the progress chart's
geometry, whose children a viewer has, and the weekly acknowledgement."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from diary_service.access import viewer_for
from diary_service.diary import services
from diary_service.extensions import db
from diary_service.models.family import Acknowledgement
from diary_service.models.journal import Mark
from diary_service.school.policy import DEFAULT_RULE, Rule
from shared.errors import ValidationError
from tests.helpers import region_today

ARITHMETIC = Rule(
    weights=DEFAULT_RULE.weights, thresholds=DEFAULT_RULE.thresholds, average="arithmetic"
)


def marks(*pairs: tuple[str, int]) -> list[Mark]:
    return [Mark(value=value, weight=weight, kind="oral") for value, weight in pairs]


@pytest.mark.parametrize(
    ("pairs", "rule", "expected"),
    [
        ([("5", 5), ("4", 1)], DEFAULT_RULE, "(5×5 + 4×1) / (5+1) = 4,83"),
        ([("4", 5), ("5", 3)], DEFAULT_RULE, "(4×5 + 5×3) / (5+3) = 4,38"),
        ([("5", 5), ("4", 1)], ARITHMETIC, "(5 + 4) / 2 = 4,50"),
        # pass/fail marks are not averaged and do not appear in the formula
        ([("pass", 1), ("3", 2)], DEFAULT_RULE, "(3×2) / (2) = 3,00"),
        ([("pass", 1)], DEFAULT_RULE, None),
        ([], DEFAULT_RULE, None),
    ],
)
def test_formula_spells_out_the_average(diary, pairs, rule, expected):
    with diary.test_request_context():  # Russian, the default: a decimal comma
        refresh()
        assert services.formula_of(marks(*pairs), rule) == expected
    with diary.test_request_context(headers={"Cookie": "lang=en"}):
        refresh()  # the locale is kept on the app context the fixture holds
        english = services.formula_of(marks(*pairs), rule)
    assert english == (expected.replace(",", ".") if expected else None)


def test_chart_places_averages_on_a_two_to_five_scale():
    weeks = [date(2026, 11, 2) + timedelta(days=7 * n) for n in range(4)]
    chart = services.chart_of(
        weeks, [None, Decimal("5.00"), Decimal("2.00"), Decimal("1.50")], DEFAULT_RULE
    )
    assert chart is not None
    top, bottom = chart.top, chart.height - chart.bottom
    assert [p.on for p in chart.points] == weeks[1:]
    assert chart.points[0].y == pytest.approx(top)  # 5 at the top
    assert chart.points[1].y == pytest.approx(bottom)  # 2 at the bottom
    assert chart.points[2].y == pytest.approx(bottom)  # below 2 is clamped
    assert chart.points[0].x < chart.points[1].x < chart.points[2].x
    assert [value for _y, value in chart.y_ticks] == [2, 3, 4, 5]
    assert {mark for _y, mark, _limit in chart.thresholds} == {"3", "4", "5"}
    assert len(chart.polyline.split()) == 3
    assert services.chart_of(weeks, [None] * 4, DEFAULT_RULE) is None


def test_children_of_a_parent_a_student_and_a_stranger(world):
    parent = services.children_of(viewer_for(world.people["parent"]))
    assert [(c.student.given_name, c.school_class.name, c.is_self) for c in parent] == [
        ("Пётр", "6А", False),  # by family name: Иванов before Иванова
        ("Алиса", "9Б", False),
    ]
    alisa = services.children_of(viewer_for(world.people["alisa"]))
    assert [(c.student.given_name, c.is_self) for c in alisa] == [("Алиса", True)]
    assert services.children_of(viewer_for(world.people["nobody"])) == []


def test_acknowledging_twice_keeps_one_row(world):
    petr = world.one.students["petr"]
    person_id = world.people["parent"].id
    today = region_today()
    first = services.acknowledge(person_id, petr, today, today)
    again = services.acknowledge(person_id, petr, today - timedelta(days=today.weekday()), today)
    assert again.id == first.id
    assert first.week_start == services.monday_of(today)
    assert db.session.execute(sa.select(sa.func.count(Acknowledgement.id))).scalar_one() == 1
    with pytest.raises(ValidationError):
        services.acknowledge(person_id, petr, today + timedelta(days=7), today)
    reads = services.class_acknowledgements(world.one.classes["6А"], today)
    assert [(r.student.given_name, r.acknowledged) for r in reads] == [
        ("Пётр", True),
        ("Мария", False),
    ]
