"""Sign-in, second factor, recovery, sessions and the security log through the pages."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.identity.models import web_session
from shared.sessions import utcnow
from tests.helpers import CITIZEN_PASSWORD, forms_of, portal_sign_in, submit, text_of

PASSWORD = CITIZEN_PASSWORD
FIREFOX = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
ANDROID = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36"
}


def test_sign_in_shows_the_cabinet_and_a_new_session_id(app, client, make_citizen):
    citizen = make_citizen(surname="Сидорова", given_name="Елена", phone="+79161234567")
    client.get("/login")
    before = client.get_cookie("portal_session").value
    response = portal_sign_in(client, "+7 916 123-45-67")
    assert response.status_code == 302 and response.headers["Location"] == "/cabinet/"
    after = client.get_cookie("portal_session").value
    assert after != before and len(after) >= 43  # 256 random bits, url-safe
    page = client.get("/cabinet/")
    assert citizen.full_name in text_of(page)


def test_wrong_password_and_unknown_login_look_the_same(app, client, make_citizen):
    make_citizen(phone="+79161234567")
    wrong = portal_sign_in(client, "+79161234567", "not-my-password")
    unknown = portal_sign_in(client, "+79160000999", "not-my-password")
    assert wrong.status_code == unknown.status_code == 422
    assert "Неверный логин или пароль" in text_of(wrong)
    assert text_of(wrong).replace("+79161234567", "X") == text_of(unknown).replace(
        "+79160000999", "X"
    )


def test_lockout_through_the_login_page_then_it_ends(app, client, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567")
    for _ in range(5):
        portal_sign_in(client, "+79161234567", "not-my-password")
    locked = portal_sign_in(client, "+79161234567")
    assert locked.status_code == 422 and "Неверный логин или пароль" in text_of(locked)
    assert any("заблокирован" in m["body"] for m in inbox.messages(to="+79161234567"))
    citizen.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert portal_sign_in(client, "+79161234567").status_code == 302


def test_failed_sign_ins_from_one_address_are_limited_with_a_429(app, client, make_citizen):
    app.config["RATELIMIT_FAILURES_PER_IP"] = "3 per minute"
    try:
        for _ in range(3):
            assert portal_sign_in(client, "+79160000999", "x-y-z-w-1").status_code == 422
        limited = portal_sign_in(client, "+79160000998", "x-y-z-w-1")
        assert limited.status_code == 429
        assert "Слишком много запросов" in text_of(limited)
    finally:
        app.config["RATELIMIT_FAILURES_PER_IP"] = "60 per minute;600 per hour"


def test_rate_limit_per_account_across_addresses(app, make_citizen):
    make_citizen(phone="+79161234567")
    app.config["RATELIMIT_LOGIN_PER_ACCOUNT"] = "2 per minute"
    try:
        for n in range(2):
            c = app.test_client()
            assert (
                portal_sign_in(
                    c, "+79161234567", "wrong-pass", environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}
                ).status_code
                == 422
            )
        c = app.test_client()
        limited = portal_sign_in(
            c, "8 916 123-45-67", "wrong-pass", environ_base={"REMOTE_ADDR": "10.0.0.9"}
        )
        assert limited.status_code == 429
    finally:
        app.config["RATELIMIT_LOGIN_PER_ACCOUNT"] = "10 per minute;50 per hour"


def test_next_parameter_only_goes_to_this_site(app, client, make_citizen):
    make_citizen(phone="+79161234567")
    ok = portal_sign_in(client, "+79161234567", query_string={"next": "/cabinet/events"})
    assert ok.headers["Location"] == "/cabinet/events"
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        fresh = app.test_client()
        response = portal_sign_in(fresh, "+79161234567", query_string={"next": evil})
        assert response.headers["Location"] == "/cabinet/", evil


def test_totp_sign_in_through_the_pages(app, client, make_citizen):
    make_citizen(phone="+79161234567")
    portal_sign_in(client, "+79161234567")
    setup = client.get("/cabinet/security/totp")
    secret = setup.get_data(as_text=True).split('<code id="totp-secret">')[1].split("<")[0]
    enabled = submit(client, "/cabinet/security/totp", {"code": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 200
    recovery = [
        li.strip()
        for li in enabled.get_data(as_text=True)
        .split('id="recovery-codes">')[1]
        .split("</ul>")[0]
        .replace("<li>", "")
        .split("</li>")
        if li.strip()
    ]
    assert len(recovery) == 10
    other = app.test_client()
    first = portal_sign_in(other, "+79161234567")
    assert first.headers["Location"].endswith("/login/confirm")
    assert other.get("/cabinet/").status_code == 302  # not signed in before the second factor
    wrong = submit(other, "/login/confirm", {"code": "000000"})
    assert wrong.status_code == 422
    done = submit(other, "/login/confirm", {"code": recovery[0]})
    assert done.headers["Location"] == "/cabinet/"
    assert other.get("/cabinet/").status_code == 200


def test_sms_sign_in_through_the_pages(app, client, inbox, make_citizen):
    make_citizen(phone="+79161234567")
    portal_sign_in(client, "+79161234567")
    submit(client, "/cabinet/security", action="/cabinet/security/sms/send")
    submit(client, "/cabinet/security/sms", {"code": inbox.last_code("+79161234567")})
    inbox.clear()
    other = app.test_client()
    assert portal_sign_in(other, "+79161234567").headers["Location"].endswith("/login/confirm")
    done = submit(other, "/login/confirm", {"code": inbox.last_code("+79161234567")})
    assert done.headers["Location"] == "/cabinet/"


def test_recovery_sets_a_new_password_and_ends_every_session(app, inbox, make_citizen):
    make_citizen(phone="+79161234567")
    laptop, phone = app.test_client(), app.test_client()
    portal_sign_in(laptop, "+79161234567")
    portal_sign_in(phone, "+79161234567")
    stranger = app.test_client()
    submit(stranger, "/recover", {"contact": "8 916 123 45 67"})
    submit(stranger, "/recover/code", {"code": inbox.last_code("+79161234567")})
    done = submit(
        stranger,
        "/recover/password",
        {"password": "a-new-long-phrase", "confirm": "a-new-long-phrase"},
    )
    assert done.headers["Location"] == "/login"
    assert laptop.get("/cabinet/").status_code == 302
    assert phone.get("/cabinet/").status_code == 302
    assert portal_sign_in(stranger, "+79161234567", PASSWORD).status_code == 422
    assert portal_sign_in(stranger, "+79161234567", "a-new-long-phrase").status_code == 302


def test_recovery_page_does_not_reveal_whether_an_account_exists(app, client, make_citizen):
    make_citizen(phone="+79161234567")
    known = submit(client, "/recover", {"contact": "+79161234567"}, follow=True)
    unknown = submit(app.test_client(), "/recover", {"contact": "+79161234599"}, follow=True)
    assert text_of(known).replace("+79161234567", "X") == text_of(unknown).replace(
        "+79161234599", "X"
    )


def test_sessions_list_sign_out_one_and_everywhere(app, make_citizen):
    make_citizen(phone="+79161234567")
    laptop = app.test_client()
    phone = app.test_client()
    portal_sign_in(laptop, "+79161234567", headers=FIREFOX)
    portal_sign_in(phone, "+79161234567", headers=ANDROID)
    page = laptop.get("/cabinet/sessions", headers=FIREFOX)
    text = text_of(page)
    assert "Firefox, Linux" in text and "Chrome, Android" in text and "это устройство" in text
    # End the phone's session from the laptop.
    phone_row = db.session.execute(
        sa.select(web_session).where(web_session.c.user_agent.contains("Android"))
    ).one()
    action = f"/cabinet/sessions/{phone_row.public_id}/end"
    submit(laptop, "/cabinet/sessions", action=action, headers=FIREFOX)
    assert phone.get("/cabinet/").status_code == 302
    assert laptop.get("/cabinet/").status_code == 200
    # Sign out everywhere ends this session too.
    portal_sign_in(phone, "+79161234567", headers=ANDROID)
    out = submit(laptop, "/cabinet/sessions", action="/cabinet/sessions/end-all", headers=FIREFOX)
    assert out.headers["Location"] == "/login"
    assert laptop.get("/cabinet/").status_code == 302 and phone.get("/cabinet/").status_code == 302
    assert (
        db.session.execute(
            sa.select(sa.func.count())
            .select_from(web_session)
            .where(web_session.c.user_id.isnot(None))
        ).scalar_one()
        == 0
    )


def test_a_stranger_cannot_end_someone_elses_session(app, make_citizen):
    make_citizen(phone="+79161234567")
    make_citizen(phone="+79161234568")
    victim, stranger = app.test_client(), app.test_client()
    portal_sign_in(victim, "+79161234567")
    portal_sign_in(stranger, "+79161234568")
    victim_row = db.session.execute(
        sa.select(web_session).where(web_session.c.user_id.isnot(None))
    ).first()
    response = submit(stranger, "/cabinet/sessions", action="/cabinet/sessions/end-all")
    assert response.status_code == 302
    token = forms_of(stranger.get("/login").get_data(as_text=True))[0].fields["csrf_token"]
    portal_sign_in(stranger, "+79161234568")
    token = forms_of(stranger.get("/cabinet/sessions").get_data(as_text=True))[-1].fields[
        "csrf_token"
    ]
    refused = stranger.post(
        f"/cabinet/sessions/{victim_row.public_id}/end", data={"csrf_token": token}
    )
    assert refused.status_code == 404
    assert victim.get("/cabinet/").status_code == 200


def test_idle_and_absolute_timeouts(app, client, make_citizen):
    make_citizen(phone="+79161234567")
    portal_sign_in(client, "+79161234567")
    assert client.get("/cabinet/").status_code == 200
    db.session.execute(sa.update(web_session).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    assert client.get("/cabinet/").status_code == 302
    portal_sign_in(client, "+79161234567")
    db.session.execute(
        sa.update(web_session)
        .where(web_session.c.user_id.isnot(None))
        .values(authenticated_at=utcnow() - timedelta(hours=13))
    )
    db.session.commit()
    assert client.get("/cabinet/").status_code == 302


def test_recent_actions_show_sign_ins_failures_and_changes(app, client, make_citizen):
    make_citizen(phone="+79161234567")
    portal_sign_in(client, "+79161234567", "wrong-password-x")
    portal_sign_in(client, "+79161234567")
    submit(
        client,
        "/cabinet/password",
        {"current": PASSWORD, "password": "another-long-phrase", "confirm": "another-long-phrase"},
    )
    text = text_of(client.get("/cabinet/events"))
    for shown in ("Вход на портал", "Введён неверный пароль", "Пароль изменён"):
        assert shown in text


def test_cabinet_requires_sign_in(app, client):
    for url in (
        "/cabinet/",
        "/cabinet/sessions",
        "/cabinet/events",
        "/cabinet/security",
        "/cabinet/password",
        "/cabinet/contacts",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith(
            "/login?next="
        ), url


def test_forms_without_csrf_token_are_refused(app, client: FlaskClient, make_citizen):
    make_citizen(phone="+79161234567")
    response = client.post("/login", data={"login": "+79161234567", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/cabinet/").status_code == 302
