"""A school's mark policy, kept in versions (a final mark names the version it was
computed with), and whether the school shows the class rating."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.models.journal import MarkPolicy
from diary_service.models.school import School
from diary_service.school.base import commit, get_school, invalid
from diary_service.school.policy import validate_rule

POLICY_PROBLEMS = {
    "average": ("average", _l("Choose how the average is taken.")),
    "weight": ("", _l("Each weight is a whole number from 1 to 10.")),
    "threshold": ("", _l("Each threshold lies above 1 and at most 5.")),
    "threshold order": ("threshold_4", _l("The thresholds must fall from «5» to «3».")),
}


def policies_of(school_id: int) -> list[MarkPolicy]:
    """The school's policy versions, newest first."""
    return list(
        db.session.execute(
            sa.select(MarkPolicy)
            .where(MarkPolicy.school_id == school_id)
            .order_by(MarkPolicy.version.desc())
        ).scalars()
    )


def new_policy(
    school_id: int,
    weights: Mapping[str, int],
    average: str,
    thresholds: Mapping[str, Decimal | str],
    created_by_id: int | None = None,
) -> MarkPolicy:
    """A new version of the school's mark policy; earlier versions stay as they were
    (final marks name the version they were set under)."""
    get_school(school_id)
    try:
        rule = validate_rule(weights, thresholds, average)
    except (ValueError, KeyError, ArithmeticError) as exc:
        field, message = POLICY_PROBLEMS.get(str(exc), POLICY_PROBLEMS["threshold"])
        raise invalid(field, message) from exc
    latest = db.session.execute(
        sa.select(sa.func.max(MarkPolicy.version)).where(MarkPolicy.school_id == school_id)
    ).scalar_one()
    policy = MarkPolicy(
        school_id=school_id,
        version=(latest or 0) + 1,
        weights=dict(rule.weights),
        average=rule.average,
        thresholds={mark: str(value) for mark, value in rule.thresholds.items()},
        created_by_id=created_by_id,
    )
    db.session.add(policy)
    commit()
    return policy


def set_rating(school_id: int, enabled: bool) -> School:
    school = get_school(school_id)
    school.rating_enabled = enabled
    commit()
    return school
