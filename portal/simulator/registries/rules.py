"""The testers' rules per registry (default outcome, reason, delay, outage) and their
overrides for one number; the rule in force is read by ``services.get_rule``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext

from portal.simulator.models import db
from portal.simulator.registries.models import (
    NumberOverride,
    RegistryRule,
)
from portal.simulator.registries.services import (
    DOWN_MODES,
    MAX_DELAY,
    OVERRIDE_OUTCOMES,
    RULE_OUTCOMES,
    checked_reason,
    checked_verb,
    get_rule,
    override_key,
    require_registry,
)
from portal.simulator.registries.subjects import invalid
from shared.errors import NotFound, ValidationError

RULE_FIELDS = ("default_outcome", "reason", "reason_text", "delay_seconds", "down")


def set_rule(registry: str, **changes: Any) -> RegistryRule:
    """Change some of the rule's fields (the others keep their values)."""
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise ValidationError(gettext("Unknown fields: %(names)s.", names=", ".join(unknown)))
    rule = get_rule(registry)
    outcome = checked_verb(
        changes.get("default_outcome", rule.default_outcome), RULE_OUTCOMES, "default_outcome"
    )
    delay = changes.get("delay_seconds", rule.delay_seconds)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY:
        raise ValidationError(
            gettext("delay_seconds must be a whole number from 0 to %(max)d.", max=MAX_DELAY)
        )
    down = changes.get("down", rule.down)
    if down not in DOWN_MODES:
        raise ValidationError(
            gettext(
                "%(field)s must be one of: %(values)s.", field="down", values=", ".join(DOWN_MODES)
            )
        )
    reason, reason_text = None, None
    if outcome == "reject":
        reason, reason_text = checked_reason(
            changes.get("reason", rule.reason), changes.get("reason_text", rule.reason_text)
        )
    rule.default_outcome, rule.reason, rule.reason_text = outcome, reason, reason_text
    rule.delay_seconds, rule.down = delay, down
    db.session.add(rule)
    db.session.commit()
    return rule


def list_overrides(registry: str) -> list[NumberOverride]:
    return list(
        db.session.execute(
            sa.select(NumberOverride)
            .where(NumberOverride.registry_name == require_registry(registry))
            .order_by(NumberOverride.created_at.desc(), NumberOverride.id.desc())
        ).scalars()
    )


def set_override(
    registry: str, key: str, outcome: Any, reason: Any = None, reason_text: Any = None
) -> tuple[NumberOverride, bool]:
    """Add (or replace) the fixed answer for one number. Returns it and whether it is new."""
    require_registry(registry)
    if not isinstance(key, str):
        raise invalid("key")
    key = override_key(registry, key)
    verb = checked_verb(outcome, OVERRIDE_OUTCOMES, "outcome")
    reason, reason_text = checked_reason(reason, reason_text) if verb == "reject" else (None, None)
    override = db.session.execute(
        sa.select(NumberOverride).where(
            NumberOverride.registry_name == registry, NumberOverride.key == key
        )
    ).scalar_one_or_none()
    created = override is None
    if override is None:
        override = NumberOverride(registry_name=registry, key=key)
        db.session.add(override)
    override.outcome, override.reason, override.reason_text = verb, reason, reason_text
    db.session.commit()
    return override, created


def clear_overrides(registry: str) -> int:
    """Remove every override of the registry. Returns how many there were."""
    deleted = db.session.execute(
        sa.delete(NumberOverride).where(NumberOverride.registry_name == require_registry(registry))
    ).rowcount
    db.session.commit()
    return deleted


def delete_override(registry: str, key: str) -> None:
    require_registry(registry)
    try:
        key = override_key(registry, key)
    except ValidationError:
        raise NotFound(gettext("There is no override for this number.")) from None
    deleted = db.session.execute(
        sa.delete(NumberOverride).where(
            NumberOverride.registry_name == registry, NumberOverride.key == key
        )
    ).rowcount
    db.session.commit()
    if not deleted:
        raise NotFound(gettext("There is no override for this number."))
