"""Ids beyond what an integer column holds and dates beyond 1900…2100 in the diary's addresses, query strings
and forms: a 404 or a 400 that says what is wrong, in the user's language, and nothing
written (issue 11: each was a 500)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.models.school import Holiday, Notice
from tests.diary_service.factories import World
from tests.helpers import diary_csrf, text_of

HUGE = str(2**31)  # PostgreSQL's integer ends at 2^31 − 1
DATE_TEXT = "Введите дату между 1900 и 2100 годами."


def number_text(name: str) -> str:
    return f"Параметр {name} должен быть целым числом."


def date_text(name: str) -> str:
    return f"Параметр {name} должен быть датой в виде ГГГГ-ММ-ДД между 1900 и 2100 годами."


# (who, address with {petr}/{cls}/{math}/{school} filled in, status, words on the page)
CASES = [
    ("parent", "/students/{petr}/week?date=9999-12-31", 400, DATE_TEXT),
    ("parent", "/students/{petr}/week?date=0001-01-01", 400, DATE_TEXT),
    ("parent", "/students/{petr}/week/print?date=9999-12-31", 200, ""),
    ("parent", "/students/{petr}/marks?period=" + HUGE, 400, number_text("period")),
    ("parent", "/students/{petr}/attendance?year=" + HUGE, 400, number_text("year")),
    ("parent", "/students/{petr}/access-log?page=" + HUGE, 400, number_text("page")),
    ("parent", "/messages/new?student=" + HUGE, 400, number_text("student")),
    ("parent", "/students/" + HUGE + "/week", 404, "Страница не найдена"),
    ("parent", f"/students/{2**64}/marks", 404, "Страница не найдена"),
    ("teacher", "/journal/{cls}/{math}?period=" + HUGE, 400, number_text("period")),
    ("teacher", "/journal/{cls}/{math}/final?period=" + HUGE, 400, number_text("period")),
    ("teacher", "/journal/{cls}/{math}/on/9999-12-31/1", 404, "Страница не найдена"),
    ("teacher", "/journal/{cls}/{math}/on/0001-01-01/1", 404, "Страница не найдена"),
    ("teacher", "/classes/{cls}/acknowledgements?week=9999-12-31", 400, DATE_TEXT),
    ("teacher", "/reports/classes/{cls}?period=" + HUGE, 404, "Страница не найдена"),
    ("teacher", "/reports/students/{petr}/rating?period=" + HUGE, 404, "Страница не найдена"),
    ("admin", "/reports/schools/{school}?period=" + HUGE, 404, "Страница не найдена"),
    ("admin", "/school/{school}/attendance?from=0001-01-01", 400, date_text("from")),
    ("admin", "/school/{school}/attendance?to=9999-12-31", 400, date_text("to")),
    ("admin", "/school/{school}/changes?on=9999-12-31", 400, date_text("on")),
    ("department", "/reports/region?period_number=" + HUGE, 404, "Страница не найдена"),
]


@pytest.mark.parametrize(("who", "path", "status", "words"), CASES)
def test_out_of_range_ids_and_dates_in_addresses(world: World, login, who, path, status, words):
    one = world.one
    url = path.format(
        petr=one.students["petr"].id,
        cls=one.classes["6А"].id,
        math=world.subjects["math"].id,
        school=one.school.id,
    )
    response = login(world.people[who]).get(url)
    assert response.status_code == status
    assert words in text_of(response)


def test_the_week_in_english_says_which_years(world: World, login):
    client = login(world.people["parent"])
    client.set_cookie("lang", "en")
    response = client.get(f"/students/{world.one.students['petr'].id}/week?date=9999-12-31")
    assert response.status_code == 400
    assert "Enter a date between the years 1900 and 2100." in text_of(response)


def count(model) -> int:
    db.session.commit()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize(
    ("starts_on", "ends_on"), [("9999-12-31", ""), ("2026-12-01", "0001-01-01")]
)
def test_a_notice_with_an_extreme_date_is_refused_and_not_saved(
    world: World, login, starts_on, ends_on
):
    admin = login(world.people["admin"])
    before = count(Notice)
    response = admin.post(
        f"/school/{world.one.school.id}/notices",
        data={
            "csrf_token": diary_csrf(admin),
            "kind": "news",
            "title": "Каникулы",
            "starts_on": starts_on,
            "ends_on": ends_on,
        },
    )
    assert response.status_code < 500
    assert DATE_TEXT in text_of(response)
    assert count(Notice) == before


def test_a_holiday_in_year_9999_is_refused_and_not_saved(world: World, login):
    admin = login(world.people["admin"])
    before = count(Holiday)
    response = admin.post(
        f"/school/{world.one.school.id}/years/{world.one.year.id}/holidays",
        data={
            "csrf_token": diary_csrf(admin),
            "name": "Вечные каникулы",
            "starts_on": date(2026, 12, 28).isoformat(),
            "ends_on": "9999-12-31",
        },
    )
    assert response.status_code < 500
    assert count(Holiday) == before
