"""The region's own records: its municipalities, schools and subjects (the department's
pages)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.models.journal import MarkPolicy
from diary_service.models.school import (
    Municipality,
    School,
    Subject,
)
from diary_service.school.base import clean_text, commit, invalid, is_named
from diary_service.school.policy import DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS


def municipalities() -> list[Municipality]:
    return list(db.session.execute(sa.select(Municipality).order_by(Municipality.name)).scalars())


def subjects() -> list[Subject]:
    return list(db.session.execute(sa.select(Subject).order_by(Subject.name)).scalars())


def add_municipality(name: str) -> Municipality:
    name = clean_text(name)
    if is_named(sa.select(Municipality.name), name):
        raise invalid("name", _l("The region already has a municipality with this name."))
    municipality = Municipality(name=name)
    db.session.add(municipality)
    commit()
    return municipality


def add_school(municipality_id: int, name: str, short_name: str, address: str = "") -> School:
    """A new school of the region, with the default mark policy as its version 1."""
    if db.session.get(Municipality, municipality_id) is None:
        raise invalid("municipality_id", _l("Choose a municipality from the list."))
    name = clean_text(name)
    if is_named(sa.select(School.name).where(School.municipality_id == municipality_id), name):
        raise invalid("name", _l("The municipality already has a school with this name."))
    school = School(
        municipality_id=municipality_id,
        name=name,
        short_name=clean_text(short_name) or name,
        address=clean_text(address),
    )
    db.session.add(school)
    db.session.flush()
    db.session.add(
        MarkPolicy(
            school_id=school.id,
            version=1,
            weights=dict(DEFAULT_WEIGHTS),
            thresholds=dict(DEFAULT_THRESHOLDS),
        )
    )
    commit()
    return school


def add_subject(name: str, short_name: str = "") -> Subject:
    """A subject of the region's curriculum (shared by all its schools)."""
    name = clean_text(name)
    if is_named(sa.select(Subject.name), name):
        raise invalid("name", _l("The region already has this subject."))
    subject = Subject(name=name, short_name=clean_text(short_name))
    db.session.add(subject)
    commit()
    return subject
