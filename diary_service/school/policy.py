"""A school's mark policy and how period marks are computed from it: pure functions
over marks and the policy. The school sets the policy (its settings page); the journal,
the diary pages and the reports apply it.

The average is Σ(mark × weight) / Σ(weight) over the five-point marks of the period
(pass/fail marks are not averaged); an "arithmetic" policy weighs every mark 1. The
suggested mark is the highest whose threshold the average reaches, computed on the
average rounded to two decimals, as families see it. A forecast says how many fives of
one kind of work would lift the suggestion to the next mark.
(../shared/reference/school-diaries.md §2.2: weights and thresholds are the school's.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# The policy a new school starts with: weights 1–5, «in the student's favour» thresholds
# as the Novosibirsk ministry described them, rounded to the usual 4.60/3.60/2.60.
DEFAULT_WEIGHTS: dict[str, int] = {
    "control": 5,
    "test": 3,
    "independent": 3,
    "dictation": 3,
    "lab": 2,
    "project": 3,
    "oral": 2,
    "classwork": 1,
    "homework": 1,
}
DEFAULT_THRESHOLDS: dict[str, str] = {"5": "4.60", "4": "3.60", "3": "2.60"}
AVERAGES = ("weighted", "arithmetic")
TWO_PLACES = Decimal("0.01")
MAX_FORECAST_MARKS = 10  # more fives than this is no forecast, it is a different term


@dataclass(frozen=True)
class Rule:
    """A policy as the computation needs it (a ``MarkPolicy`` row converts to one)."""

    weights: Mapping[str, int]
    thresholds: Mapping[str, Decimal]
    average: str = "weighted"

    @classmethod
    def of(cls, policy: Any) -> Rule:
        return cls(
            weights={kind: int(weight) for kind, weight in policy.weights.items()},
            thresholds={mark: Decimal(str(value)) for mark, value in policy.thresholds.items()},
            average=policy.average,
        )

    def weight_of(self, kind: str) -> int:
        return int(self.weights.get(kind, 1))


DEFAULT_RULE = Rule(
    weights=DEFAULT_WEIGHTS,
    thresholds={mark: Decimal(value) for mark, value in DEFAULT_THRESHOLDS.items()},
)


@dataclass(frozen=True)
class Forecast:
    """``count`` more fives for ``kind`` would make the average ``average`` and the
    suggested mark ``target``."""

    target: str
    kind: str
    count: int
    average: Decimal


def validate_rule(weights: Mapping[str, Any], thresholds: Mapping[str, Any], average: str) -> Rule:
    """A rule from a form, or ``ValueError`` naming what is wrong: weights are whole
    numbers 1–10, thresholds lie between 1 and 5 and fall from «5» to «3»."""
    if average not in AVERAGES:
        raise ValueError("average")
    clean_weights: dict[str, int] = {}
    for kind, raw in weights.items():
        weight = int(raw)
        if not 1 <= weight <= 10:
            raise ValueError("weight")
        clean_weights[kind] = weight
    clean_thresholds = {}
    for mark in ("5", "4", "3"):
        value = Decimal(str(thresholds[mark])).quantize(TWO_PLACES)
        if not Decimal(1) < value <= Decimal(5):
            raise ValueError("threshold")
        clean_thresholds[mark] = value
    if not clean_thresholds["5"] > clean_thresholds["4"] > clean_thresholds["3"]:
        raise ValueError("threshold order")
    return Rule(weights=clean_weights, thresholds=clean_thresholds, average=average)


def _terms(marks: Iterable[tuple[int | None, int]], rule: Rule) -> tuple[int, int]:
    total = weights = 0
    for value, weight in marks:
        if value is None:
            continue
        w = weight if rule.average == "weighted" else 1
        total += value * w
        weights += w
    return total, weights


def average(marks: Iterable[tuple[int | None, int]], rule: Rule = DEFAULT_RULE) -> Decimal | None:
    """The average of ``(value, weight)`` pairs, rounded half up to two decimals; None
    without any five-point mark. ``value`` None (pass/fail) is skipped."""
    total, weights = _terms(marks, rule)
    if not weights:
        return None
    return (Decimal(total) / Decimal(weights)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def suggest(avg: Decimal | None, rule: Rule = DEFAULT_RULE) -> str | None:
    """The period mark the average suggests under the rule's thresholds."""
    if avg is None:
        return None
    for mark in ("5", "4", "3"):
        if avg >= rule.thresholds[mark]:
            return mark
    return "2"


def forecast(
    marks: Iterable[tuple[int | None, int]],
    rule: Rule = DEFAULT_RULE,
    kinds: Iterable[str] | None = None,
) -> list[Forecast]:
    """For the next mark above the current suggestion, the fewest fives of each kind of
    work (heaviest first) that would reach it. Empty when already a 5 or out of reach."""
    marks = list(marks)
    total, weights = _terms(marks, rule)
    current = suggest(average(marks, rule), rule)
    if current == "5":
        return []
    target = "3" if current in (None, "2") else str(int(current) + 1)
    threshold = rule.thresholds[target]
    kinds = list(kinds) if kinds is not None else list(rule.weights)
    results = []
    for kind in sorted(set(kinds), key=lambda k: (-rule.weight_of(k), k)):
        w = rule.weight_of(kind) if rule.average == "weighted" else 1
        for count in range(1, MAX_FORECAST_MARKS + 1):
            new = (Decimal(total + 5 * w * count) / Decimal(weights + w * count)).quantize(
                TWO_PLACES, rounding=ROUND_HALF_UP
            )
            if new >= threshold:
                results.append(Forecast(target=target, kind=kind, count=count, average=new))
                break
    return results
