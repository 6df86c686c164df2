"""Numbers and dates from addresses, query strings and forms (``shared/web.py``,
``shared/forms.py``): what a database or ``date`` cannot hold is a 404 or a 400 in the
user's language, never a 500 (issue 11)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from diary_service import create_app as create_diary
from portal import create_app as create_portal
from portal.simulator import create_app as create_simulator
from shared.errors import register_error_handlers
from shared.forms import DATE_FORMATS, DateField, DateTimeLocalField, IntegerField, coerce_id
from shared.i18n import SHARED_TRANSLATIONS, init_i18n
from shared.validators import MAX_ID
from shared.web import IdConverter, date_arg, init_web, int_arg
from tests.conftest import SECRETS


@pytest.fixture(scope="module")
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRETS["SECRET_KEY"], WTF_CSRF_ENABLED=False)
    init_i18n(app, SHARED_TRANSLATIONS)
    init_web(app)
    register_error_handlers(app)

    @app.get("/api/things/<int:thing_id>")
    def thing(thing_id: int):
        return {"id": thing_id}

    @app.get("/api/pages")
    def pages():
        return {"page": int_arg("page", 1)}

    @app.get("/api/days")
    def days():
        day = date_arg("on")
        return {"on": day.isoformat() if day else None}

    return app


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/things/1", 200),
        (f"/api/things/{MAX_ID}", 200),
        ("/api/things/000000000042", 200),
        (f"/api/things/{MAX_ID + 1}", 404),
        (f"/api/things/{2**64}", 404),
        ("/api/things/" + "9" * 5000, 404),
        ("/api/things/-1", 404),
    ],
)
def test_an_id_in_the_path_beyond_an_integer_column_matches_no_route(app, path, status):
    assert app.test_client().get(path).status_code == status


def test_every_apps_int_route_parts_are_bounded():
    apps = [
        create_portal({"ENV": "test", **SECRETS, "DATABASE_URL": "sqlite://"}),
        create_diary({"ENV": "test", "SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"}),
        create_simulator({"ENV": "test", "SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"}),
    ]
    for app in apps:
        converters = [
            converter
            for rule in app.url_map.iter_rules()
            for converter in rule._converters.values()
            if isinstance(converter, IntegerConverter)
        ]
        assert converters or app.name == "portal.simulator"
        assert all(isinstance(c, IdConverter) and c.max == MAX_ID for c in converters)


@pytest.mark.parametrize(
    ("query", "page"),
    [("", 1), ("?page=", 1), ("?page=3", 3), (f"?page={MAX_ID}", MAX_ID)],
)
def test_a_whole_number_parameter(app, query, page):
    assert app.test_client().get("/api/pages" + query).json == {"page": page}


@pytest.mark.parametrize("value", [str(2**31), str(2**63), "-1", "abc", "1e3", "١٢٣", "9" * 40])
@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("ru", "Параметр page должен быть целым числом."),
        ("en", "The page parameter must be a whole number."),
    ],
)
def test_other_numbers_are_a_400_in_the_users_language(app, value, lang, text):
    response = app.test_client().get(
        "/api/pages", query_string={"page": value}, headers={"Accept-Language": lang}
    )
    assert response.status_code == 400
    assert response.json == {"error": "invalid_request", "error_description": text}


def test_a_date_parameter(app):
    client = app.test_client()
    assert client.get("/api/days").json == {"on": None}
    assert client.get("/api/days?on=2026-12-07").json == {"on": "2026-12-07"}


@pytest.mark.parametrize(
    "value", ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01", "2026-02-30", "tomorrow"]
)
@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("ru", "Параметр on должен быть датой в виде ГГГГ-ММ-ДД между 1900 и 2100 годами."),
        ("en", "The on parameter must be a date as YYYY-MM-DD between the years 1900 and 2100."),
    ],
)
def test_other_dates_are_a_400_in_the_users_language(app, value, lang, text):
    response = app.test_client().get(
        "/api/days", query_string={"on": value}, headers={"Accept-Language": lang}
    )
    assert response.status_code == 400
    assert response.json["error_description"] == text


class BoundedForm(FlaskForm):
    day = DateField(validators=[Optional()])
    # DataRequired empties the errors of a field without data: the range is still said.
    due = DateField(validators=[DataRequired("Fill in the date.")])
    count = IntegerField(validators=[Optional()])
    held_at = DateTimeLocalField(format="%Y-%m-%dT%H:%M", validators=[Optional()])
    student = SelectField(coerce=coerce_id, choices=[SelectChoice(1, "one")], validate_choice=False)


def errors_of(app: Flask, data: dict, lang: str = "ru") -> dict:
    with app.test_request_context("/", method="POST", data=data, headers={"Accept-Language": lang}):
        form = BoundedForm()
        form.validate()
        return form.errors


def test_form_fields_take_what_fits(app):
    data = {
        "day": "2026-12-07",
        "due": "2100-12-31",
        "count": str(-MAX_ID),
        "held_at": "2100-12-31T23:59",
    }
    assert errors_of(app, {**data, "student": str(MAX_ID)}) == {}
    with app.test_request_context("/", method="POST", data={**data, "student": "1"}):
        form = BoundedForm()
        assert form.validate()
        assert form.day.data == date(2026, 12, 7)
        assert form.held_at.data == datetime(2100, 12, 31, 23, 59)
        assert form.student.data == 1


@pytest.mark.parametrize(
    ("lang", "date_text", "number_text"),
    [
        ("ru", "Введите дату между 1900 и 2100 годами.", "Слишком большое число."),
        ("en", "Enter a date between the years 1900 and 2100.", "The number is too large."),
    ],
)
def test_form_fields_refuse_what_does_not_fit_in_the_users_language(
    app, lang, date_text, number_text
):
    errors = errors_of(
        app,
        {
            "day": "9999-12-31",
            "due": "1899-12-31",
            "count": str(2**31),
            "held_at": "0001-01-01T00:00",
        },
        lang,
    )
    assert errors["day"] == errors["due"] == [date_text]
    assert errors["held_at"] == [date_text]
    assert errors["count"] == [number_text]


def test_an_id_select_refuses_what_does_not_fit(app):
    assert "student" in errors_of(app, {"due": "2026-12-07", "student": str(2**31)})
    assert "student" in errors_of(app, {"due": "2026-12-07", "student": "-1"})


# --- dates and numbers as Russians write them (issue 16) ----------------------------------


@pytest.mark.parametrize(
    ("value", "lang", "shown"),
    [
        (date(2014, 9, 2), "ru", "02.09.2014"),
        (date(2014, 9, 2), "en", "02.09.2014"),  # the site is Russian; so are its dates
        ("2005-04-01", "ru", "01.04.2005"),  # as documents keep them (JSON)
        (datetime(2026, 12, 31, 22, 30), "ru", "01.01.2027"),  # UTC, shown in Moscow
        (None, "ru", ""),
        ("", "ru", ""),
        ("не дата", "ru", "не дата"),
    ],
)
def test_the_day_filter(app, value, lang, shown):
    with app.test_request_context(headers={"Accept-Language": lang}):
        assert app.jinja_env.filters["day"](value) == shown


@pytest.mark.parametrize(
    ("value", "lang", "shown"),
    [
        (4.5, "ru", "4,5"),
        (4.5, "en", "4.5"),
        (3.666, "ru", "3,67"),
        (1234567, "ru", "1\xa0234\xa0567"),
        (5, "ru", "5"),
        (None, "ru", ""),
    ],
)
def test_the_number_filter(app, value, lang, shown):
    with app.test_request_context(headers={"Accept-Language": lang}):
        assert app.jinja_env.filters["number"](value) == shown


@pytest.mark.parametrize("typed", ["02.09.2014", "2014-09-02"])
def test_a_date_field_takes_both_ways_and_shows_the_russian_one(app, typed):
    class Form(FlaskForm):
        day = DateField(format=DATE_FORMATS)

    with app.test_request_context(method="POST", data={"day": typed}):
        form = Form()
        assert form.validate() and form.day.data == date(2014, 9, 2)
    with app.test_request_context():
        assert Form(data={"day": date(2014, 9, 2)}).day._value() == "02.09.2014"
