"""The access table's POST rows (tests/diary_service/test_access_table.py says what the
table is): every role posts each of them, on a world of its own, since an allowed post
may change what the next row finds. Posts carry the session's CSRF token and an empty
form: this test is about who, the forms' own tests are about what."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.diary_service.test_access_table import (
    CROSS_POST,
    REFUSED,
    TABLE,
    build_objects,
    check_route,
    csrf_client,
)


@pytest.fixture
def objects(world) -> SimpleNamespace:
    return build_objects(world)


@pytest.fixture
def clients(world, diary):
    made = {}

    def client_of(role: str) -> tuple:
        if role not in made:
            who = None if role == "anonymous" else world.people[role]
            made[role] = csrf_client(diary, who)
        return made[role]

    return client_of


@pytest.mark.parametrize(
    "route", [route for route in TABLE if route.method == "POST"], ids=lambda route: route.id
)
def test_every_role_gets_what_the_table_says(route, objects, clients):
    check_route(route, objects, clients)


@pytest.mark.parametrize("path", CROSS_POST)
def test_an_administrator_cannot_act_on_another_schools_objects(path, objects, clients):
    client, token = clients("admin")
    response = client.post(path.format(o=objects), data={"csrf_token": token})
    assert response.status_code in REFUSED
