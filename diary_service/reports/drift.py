"""``reports check``: recompute a school's figures without writing them and list how the
stored rows differ (drift: something wrote the journal around the session)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.models.reports import ClassSubjectTally, ClassTally, SchoolDayTally
from diary_service.reports.aggregates import classes_of, school_years
from diary_service.reports.tallies import (
    DAY_COUNTS,
    JUDGED,
    SUBJECT_COUNTS,
    Row,
    class_rows,
    day_rows,
    today,
)


@dataclass(frozen=True)
class Drift:
    table: str
    key: tuple
    stored: Row | None
    expected: Row | None

    def __str__(self) -> str:
        if self.stored is None:
            return f"{self.table} {self.key}: missing, expected {self.expected}"
        if self.expected is None:
            return f"{self.table} {self.key}: not expected, stored {self.stored}"
        differ = {
            name: (self.stored.get(name), value)
            for name, value in self.expected.items()
            if self.stored.get(name) != value
        }
        return f"{self.table} {self.key}: " + ", ".join(
            f"{name} stored {old} expected {new}" for name, (old, new) in differ.items()
        )


def _stored(model: Any, keys: tuple[str, ...], names: Iterable[str], where: Any) -> dict:
    columns = [getattr(model, name) for name in (*keys, *names)]
    found = {}
    for row in db.session.execute(sa.select(*columns).where(where)).all():
        values = dict(zip((*keys, *names), row, strict=True))
        found[tuple(values.pop(k) for k in keys)] = values
    return found


def _compare(table: str, stored: dict, expected: dict) -> Iterator[Drift]:
    for key in sorted(set(stored) | set(expected), key=str):
        old, new = stored.get(key), expected.get(key)
        if old is None and new is not None and not any(new.values()):
            continue  # an all-zero day or subject is as good as no row
        if old != new:
            yield Drift(table, key, old, new)


def check_school(school_id: int, on: date | None = None) -> list[Drift]:
    """Recompute the school's figures without writing them; the differences from what
    is stored."""
    on = on or today()
    found: list[Drift] = []
    for year in school_years(school_id):
        classes = classes_of(year)
        for period in year.periods:
            per_class, per_subject = class_rows(classes, period, on)
            found += _compare(
                "report_class",
                _stored(
                    ClassTally,
                    ("class_id", "period_id"),
                    ("school_id", "students", "as_of", *JUDGED),
                    sa.and_(ClassTally.period_id == period.id, ClassTally.class_id.in_(classes)),
                ),
                per_class,
            )
            found += _compare(
                "report_class_subject",
                _stored(
                    ClassSubjectTally,
                    ("class_id", "subject_id", "period_id"),
                    SUBJECT_COUNTS,
                    sa.and_(
                        ClassSubjectTally.period_id == period.id,
                        ClassSubjectTally.class_id.in_(classes),
                    ),
                ),
                per_subject,
            )
        found += _compare(
            "report_school_day",
            _stored(
                SchoolDayTally,
                ("school_id", "on_date"),
                DAY_COUNTS,
                sa.and_(
                    SchoolDayTally.school_id == school_id,
                    SchoolDayTally.on_date >= year.starts_on,
                    SchoolDayTally.on_date <= year.ends_on,
                ),
            ),
            day_rows(school_id, year.starts_on, year.ends_on),
        )
    return found
