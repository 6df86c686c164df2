"""Fixtures of the diary's own tests: an empty diary database per test, a small world
of two schools (``world``) and test clients signed in as any of its people."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from diary_service.extensions import db as diary_db
from diary_service.models.auth import DiaryPerson
from tests.conftest import wipe
from tests.diary_service.factories import World, build_world, signed_in


@pytest.fixture
def diary(diary_app) -> Iterator:
    """The diary with an empty database; the test runs inside its app context."""
    with diary_app.app_context():
        yield diary_app
        diary_db.session.remove()
        wipe(diary_db)


@pytest.fixture
def world(diary) -> World:
    return build_world()


@pytest.fixture
def login(diary) -> Callable[[DiaryPerson | None], FlaskClient]:
    """``login(person)``: a test client whose session is signed in as ``person`` (as
    the portal sign-in would leave it); ``login(None)``: a signed-out visitor."""

    def make(person: DiaryPerson | None) -> FlaskClient:
        return signed_in(diary, person)

    return make
