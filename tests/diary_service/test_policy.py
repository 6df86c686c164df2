"""How period marks are computed (diary_service/school/policy.py): averages, the
suggested mark under the school's thresholds, the forecast, and rule validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from diary_service.school.policy import (
    DEFAULT_RULE,
    Forecast,
    Rule,
    average,
    forecast,
    suggest,
    validate_rule,
)

ARITHMETIC = Rule(
    weights=DEFAULT_RULE.weights, thresholds=DEFAULT_RULE.thresholds, average="arithmetic"
)
HALF = Rule(
    weights=DEFAULT_RULE.weights,
    thresholds={"5": Decimal("4.50"), "4": Decimal("3.50"), "3": Decimal("2.50")},
)


@pytest.mark.parametrize(
    ("marks", "rule", "expected"),
    [
        ([(5, 2), (3, 1)], DEFAULT_RULE, Decimal("4.33")),  # the reference's worked example
        ([(5, 5), (4, 1)], DEFAULT_RULE, Decimal("4.83")),
        ([(5, 5), (4, 1)], ARITHMETIC, Decimal("4.50")),
        ([(4, 1), (5, 1), (None, 3)], DEFAULT_RULE, Decimal("4.50")),  # pass/fail skipped
        ([(2, 1), (3, 1), (3, 1)], DEFAULT_RULE, Decimal("2.67")),  # half up
        ([], DEFAULT_RULE, None),
        ([(None, 1)], DEFAULT_RULE, None),
    ],
)
def test_average(marks, rule, expected):
    assert average(marks, rule) == expected


@pytest.mark.parametrize(
    ("avg", "rule", "expected"),
    [
        (Decimal("4.60"), DEFAULT_RULE, "5"),
        (Decimal("4.59"), DEFAULT_RULE, "4"),
        (Decimal("3.60"), DEFAULT_RULE, "4"),
        (Decimal("3.50"), DEFAULT_RULE, "3"),
        (Decimal("3.50"), HALF, "4"),  # the same average, another school's rule
        (Decimal("2.59"), DEFAULT_RULE, "2"),
        (None, DEFAULT_RULE, None),
    ],
)
def test_suggested_mark_follows_the_thresholds(avg, rule, expected):
    assert suggest(avg, rule) == expected


def test_forecast_names_the_fewest_fives_per_kind_heaviest_first():
    marks = [(4, 1), (4, 1), (5, 1), (4, 5)]  # 33/8 = 4.13 → suggests 4; a 5 needs 4.60
    result = forecast(marks, DEFAULT_RULE, kinds=["homework", "control"])
    # one control five: 58/13 = 4.46, two: 83/18 = 4.61; homework fives: 83/18 after ten
    assert result == [
        Forecast(target="5", kind="control", count=2, average=Decimal("4.61")),
        Forecast(target="5", kind="homework", count=10, average=Decimal("4.61")),
    ]


def test_no_forecast_above_five_and_a_two_aims_at_three():
    assert forecast([(5, 1)], DEFAULT_RULE) == []
    towards_three = forecast([(2, 5)], DEFAULT_RULE, kinds=["control"])
    assert towards_three == [Forecast(target="3", kind="control", count=1, average=Decimal("3.50"))]


@pytest.mark.parametrize(
    ("weights", "thresholds", "avg", "problem"),
    [
        ({"control": 0}, {"5": "4.6", "4": "3.6", "3": "2.6"}, "weighted", "weight"),
        ({"control": 11}, {"5": "4.6", "4": "3.6", "3": "2.6"}, "weighted", "weight"),
        ({"control": 5}, {"5": "5.1", "4": "3.6", "3": "2.6"}, "weighted", "threshold"),
        ({"control": 5}, {"5": "3.5", "4": "3.6", "3": "2.6"}, "weighted", "threshold order"),
        ({"control": 5}, {"5": "4.6", "4": "3.6", "3": "2.6"}, "median", "average"),
    ],
)
def test_invalid_rules_are_refused(weights, thresholds, avg, problem):
    with pytest.raises(ValueError, match=problem):
        validate_rule(weights, thresholds, avg)


def test_a_valid_rule_is_normalised():
    rule = validate_rule({"control": "4"}, {"5": "4.5", "4": "3.5", "3": "2.5"}, "arithmetic")
    assert rule.weights == {"control": 4}
    assert rule.thresholds["5"] == Decimal("4.50")
