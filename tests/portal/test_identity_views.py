"""Registration, sign-in and the cabinet through the real pages and forms (CSRF on)."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.identity.models import Citizen, Consent
from tests.helpers import submit, text_of

PASSWORD = "violet-harbour-lamp"
EXHAUSTED = "Слишком много неверных кодов"


def register(
    client, inbox, contact="+7 916 123-45-67", surname="Петрова", name="Анна", password=PASSWORD
):
    first = submit(
        client, "/register", {"surname": surname, "given_name": name, "contact": contact}
    )
    assert first.status_code == 302 and first.headers["Location"].endswith("/register/code")
    return first


def test_registration_by_phone_happy_path(client, inbox):
    register(client, inbox)
    code = inbox.last_code("+79161234567")
    page = submit(client, "/register/code", {"code": code})
    assert page.headers["Location"].endswith("/register/password")
    done = submit(
        client,
        "/register/password",
        {"password": PASSWORD, "confirm": PASSWORD, "consent": "y"},
        follow=True,
    )
    assert done.status_code == 200
    assert "Петрова Анна" in text_of(done)
    citizen = db.session.execute(sa.select(Citizen)).scalar_one()
    assert citizen.phone == "+79161234567" and citizen.phone_verified_at is not None
    assert citizen.password_hash.startswith("$argon2id$")
    consent = db.session.execute(sa.select(Consent)).scalar_one()
    assert consent.policy_version == "2026-11-01" and consent.accepted_at is not None


def test_registration_by_email(client, inbox):
    register(client, inbox, contact="Anna.Petrova@Example.RU")
    code = inbox.last_code("anna.petrova@example.ru")
    submit(client, "/register/code", {"code": code})
    done = submit(
        client, "/register/password", {"password": PASSWORD, "confirm": PASSWORD, "consent": "y"}
    )
    assert done.headers["Location"].endswith("/cabinet/")
    assert db.session.execute(sa.select(Citizen.email)).scalar_one() == "anna.petrova@example.ru"


def test_wrong_code_counts_attempts_and_then_blocks(client, inbox):
    register(client, inbox)
    code = inbox.last_code("+79161234567")
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        page = submit(client, "/register/code", {"code": wrong})
        assert page.status_code == 422
        assert f"Неверный код. Осталось попыток: {left}." in text_of(page)
    page = submit(client, "/register/code", {"code": wrong})
    assert page.status_code == 422
    assert EXHAUSTED in text_of(page)
    # Even the right code no longer works after five wrong ones.
    page = submit(client, "/register/code", {"code": code})
    assert page.status_code == 422 and EXHAUSTED in text_of(page)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Citizen)).scalar_one() == 0


def test_reused_code_is_refused(client, inbox):
    register(client, inbox)
    code = inbox.last_code("+79161234567")
    assert submit(client, "/register/code", {"code": code}).status_code == 302
    again = client.post(
        "/register/code", data={"code": code, "csrf_token": _csrf(client, "/register/password")}
    )
    # The confirmed step cannot be replayed: the code page refuses a second use.
    assert again.status_code == 422


def _csrf(client, url):
    from tests.helpers import forms_of

    page = client.get(url)
    return next(f for f in forms_of(page.get_data(as_text=True)) if f.method == "post").fields[
        "csrf_token"
    ]


def test_a_sign_in_gets_a_new_session_id_and_the_old_one_opens_nothing(app, client, make_citizen):
    """Session fixation: the id a visitor had before signing in (the sign-in form's CSRF
    token lives in it) is not the signed-in session's, and opens nothing afterwards."""
    make_citizen(phone="+79161234567")
    name = app.config["SESSION_COOKIE_NAME"]
    client.get("/login")
    before = client.get_cookie(name).value
    done = submit(client, "/login", {"login": "+79161234567", "password": PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/cabinet/")
    after = client.get_cookie(name).value
    assert after != before
    assert client.get("/cabinet/").status_code == 200
    stale = app.test_client()
    stale.set_cookie(name, before)
    page = stale.get("/cabinet/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
