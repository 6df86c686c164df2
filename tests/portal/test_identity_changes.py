"""Sensitive changes: a fresh re-authentication first, a notice with an undo link to the
contacts the account had before, and the undo link itself."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import changes, factors, services
from portal.identity.models import Citizen, UndoLink, web_session
from shared.sessions import utcnow
from tests.helpers import portal_sign_in, submit, text_of

ORIGIN = services.Origin(ip="127.0.0.1", user_agent="pytest")
PASSWORD = "violet-harbour-lamp"
NEW_PASSWORD = "a-new-long-phrase"
UNDO = re.compile(r"https?://[^/\s]+(/account/undo/[A-Za-z0-9_-]+)")


def age_sessions(seconds: int = 600) -> None:
    """Move every signed-in session's last authentication into the past."""
    rows = db.session.execute(
        sa.select(web_session.c.id_hash, web_session.c.data).where(
            web_session.c.user_id.isnot(None)
        )
    ).all()
    for row in rows:
        data = json.loads(row.data)
        data["auth_time"] = int(time.time()) - seconds
        data.pop("reauth_at", None)
        db.session.execute(
            sa.update(web_session)
            .where(web_session.c.id_hash == row.id_hash)
            .values(data=json.dumps(data))
        )
    db.session.commit()


def fresh(citizen) -> Citizen:
    db.session.commit()
    db.session.refresh(citizen)
    return citizen


def next_totp(secret: str, steps: int = 1) -> str:
    """The app's code a step or two ahead: each step is accepted once."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def undo_path(inbox, to: str) -> str:
    for message in inbox.wait_for(to):
        found = UNDO.search(message["body"])
        if found:
            return found.group(1)
    raise AssertionError(f"no undo link reached {to}")


# --- re-authentication before each sensitive action ---------------------------------


def enable_totp_now(citizen) -> tuple[str, list[str]]:
    secret = factors.new_totp_secret()
    return secret, changes.enable_totp(citizen, secret, pyotp.TOTP(secret).now(), ORIGIN)


def do_password(client, citizen, inbox, secret):
    done = submit(
        client,
        "/cabinet/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert done.headers["Location"] == "/cabinet/"
    assert services.authenticate(citizen.phone, NEW_PASSWORD, ORIGIN).id == citizen.id


def do_contacts(client, citizen, inbox, secret):
    started = submit(client, "/cabinet/contacts", {"contact": "new@example.ru"})
    assert started.headers["Location"] == "/cabinet/contacts/confirm"
    submit(client, "/cabinet/contacts/confirm", {"code": inbox.last_code("new@example.ru")})
    assert fresh(citizen).email == "new@example.ru"


def do_totp(client, citizen, inbox, secret):
    page = client.get("/cabinet/security/totp")
    own = page.get_data(as_text=True).split('<code id="totp-secret">')[1].split("<")[0]
    done = submit(client, "/cabinet/security/totp", {"code": pyotp.TOTP(own).now()})
    assert done.status_code == 200 and 'id="recovery-codes"' in done.get_data(as_text=True)
    assert fresh(citizen).mfa_method == "totp"


def do_sms(client, citizen, inbox, secret):
    inbox.clear()
    sent = submit(client, "/cabinet/security", action="/cabinet/security/sms/send")
    assert sent.headers["Location"] == "/cabinet/security/sms"
    submit(client, "/cabinet/security/sms", {"code": inbox.last_code(citizen.phone)})
    assert fresh(citizen).mfa_method == "sms"


def do_disable(client, citizen, inbox, secret):
    submit(client, "/cabinet/security", action="/cabinet/security/disable")
    assert fresh(citizen).mfa_method is None


def do_renew(client, citizen, inbox, secret):
    before = factors.count_recovery_codes(citizen)
    page = submit(client, "/cabinet/security", action="/cabinet/security/recovery-codes")
    assert page.status_code == 200 and 'id="recovery-codes"' in page.get_data(as_text=True)
    assert before == 9 and factors.count_recovery_codes(citizen) == 10


# (action, how it is started, where the re-authentication returns, second factor on?, do it)
ACTIONS = [
    ("password", "GET /cabinet/password", "/cabinet/password", False, do_password),
    ("contacts", "GET /cabinet/contacts", "/cabinet/contacts", False, do_contacts),
    ("totp on", "GET /cabinet/security/totp", "/cabinet/security/totp", False, do_totp),
    ("sms on", "POST /cabinet/security/sms/send", "/cabinet/security", False, do_sms),
    ("off", "POST /cabinet/security/disable", "/cabinet/security", True, do_disable),
    ("codes", "POST /cabinet/security/recovery-codes", "/cabinet/security", True, do_renew),
]


@pytest.mark.parametrize(
    ("name", "start", "back", "with_mfa", "act"), ACTIONS, ids=[a[0] for a in ACTIONS]
)
def test_a_sensitive_action_in_an_old_session_asks_to_reauthenticate_first(
    app, client, inbox, make_citizen, name, start, back, with_mfa, act
):
    citizen = make_citizen(phone="+79161234567", email="old@example.ru")
    secret = None
    if with_mfa:
        secret, recovery = enable_totp_now(citizen)
    submit(client, "/login", {"login": citizen.phone, "password": PASSWORD})
    if with_mfa:
        submit(client, "/login/confirm", {"code": recovery[0]})
    assert client.get("/cabinet/").status_code == 200
    age_sessions()
    method, url = start.split()
    sent = client.get(url) if method == "GET" else submit(client, "/cabinet/security", action=url)
    assert sent.status_code == 302
    location = urlsplit(sent.headers["Location"])
    assert location.path == "/cabinet/reauth" and parse_qs(location.query) == {"next": [back]}
    # Nothing changed on the way.
    assert fresh(citizen).email == "old@example.ru"
    assert citizen.mfa_method == ("totp" if with_mfa else None)
    page = client.get(sent.headers["Location"])
    assert "Подтвердите, что это вы" in text_of(page)
    # A wrong password does not pass; the right one (and the code, if on) returns.
    wrong = submit(client, sent.headers["Location"], {"password": "not-my-password"})
    assert wrong.status_code == 422 and "Неверный пароль" in text_of(wrong)
    answer = submit(client, sent.headers["Location"], {"password": PASSWORD})
    if with_mfa:
        assert answer.headers["Location"] == "/cabinet/reauth/code"
        # The password alone is not enough while the second factor is on.
        assert client.get("/cabinet/password").headers["Location"].startswith("/cabinet/reauth")
        answer = submit(client, "/cabinet/reauth/code", {"code": next_totp(secret)})
    assert answer.headers["Location"] == back
    act(client, citizen, inbox, secret)
    assert "reauthenticated" in [e.kind for e in services.recent_events(citizen)]


def test_the_code_step_of_reauthentication_needs_the_password_step(app, client, make_citizen):
    citizen = make_citizen(phone="+79161234567")
    secret, _recovery = enable_totp_now(citizen)
    portal_sign_in(client, citizen.phone, expect=302)
    submit(client, "/login/confirm", {"code": next_totp(secret)})
    assert client.get("/cabinet/reauth/code").headers["Location"] == "/cabinet/reauth"


def test_a_fresh_sign_in_counts_as_recent(app, client, make_citizen):
    portal_sign_in(client, make_citizen(phone="+79161234567").phone, expect=302)
    assert client.get("/cabinet/password").status_code == 200


# --- the notice to the old contact and its undo link --------------------------------


def test_the_old_email_gets_an_undo_link_that_restores_ends_sessions_and_works_once(
    app, inbox, make_citizen
):
    citizen = make_citizen(phone="+79161234567", email="old@example.ru")
    thief, owner = app.test_client(), app.test_client()
    portal_sign_in(thief, citizen.phone, expect=302)
    portal_sign_in(owner, citizen.phone, expect=302)
    submit(thief, "/cabinet/contacts", {"contact": "thief@example.ru"})
    submit(thief, "/cabinet/contacts/confirm", {"code": inbox.last_code("thief@example.ru")})
    assert fresh(citizen).email == "thief@example.ru"
    # The old address is told, with the link; the new one never sees it.
    path = undo_path(inbox, "old@example.ru")
    [notice] = [m for m in inbox.messages(to="old@example.ru") if "/account/undo/" in m["body"]]
    assert "Контакты вашей учётной записи изменены" in notice["body"]
    assert "7 дней" in notice["body"]
    assert not any("/account/undo/" in m["body"] for m in inbox.messages(to="thief@example.ru"))
    # Opening the link (as a mail scanner would) changes nothing; the button does.
    stranger = app.test_client()
    page = stranger.get(path)
    assert page.status_code == 200 and "изменён контакт" in text_of(page)
    assert fresh(citizen).email == "thief@example.ru"
    done = submit(stranger, path)
    assert done.status_code == 200 and "Изменение отменено" in text_of(done)
    assert "смените его сейчас" in text_of(done)
    citizen = fresh(citizen)
    assert citizen.email == "old@example.ru" and citizen.email_verified_at is not None
    assert thief.get("/cabinet/").status_code == 302 and owner.get("/cabinet/").status_code == 302
    assert (
        db.session.execute(
            sa.select(sa.func.count())
            .select_from(web_session)
            .where(web_session.c.user_id == citizen.id)
        ).scalar_one()
        == 0
    )
    # Once only.
    again = stranger.get(path)
    assert again.status_code == 404 and "уже воспользовались" in text_of(again)
    token = path.rsplit("/", 1)[1]
    with pytest.raises(changes.UndoLinkInvalid):
        changes.undo_change(token, ORIGIN)
    # Every step is in the security log.
    portal_sign_in(owner, "old@example.ru", expect=302)
    log = text_of(owner.get("/cabinet/events"))
    assert "Контакт изменён" in log
    assert "Изменение отменено по ссылке из уведомления; все сеансы завершены" in log


def test_the_old_phone_gets_the_undo_link_of_a_phone_change(app, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567", email=None)
    thief = app.test_client()
    portal_sign_in(thief, citizen.phone, expect=302)
    submit(thief, "/cabinet/contacts", {"contact": "+7 916 765-43-21"})
    submit(thief, "/cabinet/contacts/confirm", {"code": inbox.last_code("+79167654321")})
    path = undo_path(inbox, "+79161234567")
    submit(app.test_client(), path)
    assert fresh(citizen).phone == "+79161234567"


def test_undoing_a_second_factor_someone_turned_on_turns_it_off(app, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567", email="maria@example.ru")
    thief = app.test_client()
    portal_sign_in(thief, citizen.phone, expect=302)
    page = thief.get("/cabinet/security/totp")
    own = page.get_data(as_text=True).split('<code id="totp-secret">')[1].split("<")[0]
    submit(thief, "/cabinet/security/totp", {"code": pyotp.TOTP(own).now()})
    assert fresh(citizen).mfa_method == "totp"
    path = undo_path(inbox, "maria@example.ru")
    submit(app.test_client(), path)
    citizen = fresh(citizen)
    assert citizen.mfa_method is None and citizen.totp_secret_encrypted is None
    assert factors.count_recovery_codes(citizen) == 0
    assert thief.get("/cabinet/").status_code == 302
    # The owner signs in with the password alone again.
    assert (
        portal_sign_in(app.test_client(), citizen.phone, expect=302).headers["Location"]
        == "/cabinet/"
    )


def test_undoing_turning_off_the_second_factor_turns_the_same_one_back_on(app, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567", email="maria@example.ru")
    secret, _recovery = enable_totp_now(citizen)
    inbox.clear()
    changes.disable_second_factor(citizen, ORIGIN)
    path = undo_path(inbox, "maria@example.ru")
    submit(app.test_client(), path)
    citizen = fresh(citizen)
    assert citizen.mfa_method == "totp"
    assert factors.verify_second_factor(citizen, next_totp(secret), None, ORIGIN) == "otp"


def test_undoing_new_recovery_codes_withdraws_them(app, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567", email="maria@example.ru")
    enable_totp_now(citizen)
    inbox.clear()
    stolen = changes.renew_recovery_codes(citizen, ORIGIN)
    submit(app.test_client(), undo_path(inbox, "maria@example.ru"))
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(fresh(citizen), stolen[0], None, ORIGIN)


def test_undoing_a_password_change_ends_every_session(app, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567", email="maria@example.ru")
    thief = app.test_client()
    portal_sign_in(thief, citizen.phone, expect=302)
    submit(
        thief,
        "/cabinet/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    done = submit(app.test_client(), undo_path(inbox, "maria@example.ru"))
    assert 'href="/recover"' in done.get_data(as_text=True)
    assert thief.get("/cabinet/").status_code == 302


def test_an_expired_undo_link_does_nothing(app, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567", email="old@example.ru")
    challenge = changes.start_contact_change(citizen, "new@example.ru")
    changes.confirm_contact_change(
        citizen, challenge.public_id, inbox.last_code("new@example.ru"), ORIGIN
    )
    path = undo_path(inbox, "old@example.ru")
    db.session.execute(sa.update(UndoLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    client = app.test_client()
    assert client.get(path).status_code == 404
    token = path.rsplit("/", 1)[1]
    with pytest.raises(changes.UndoLinkInvalid):
        changes.undo_change(token, ORIGIN)
    assert fresh(citizen).email == "new@example.ru"
    stored = db.session.execute(sa.select(UndoLink.token_hash)).scalar_one()
    assert token not in stored  # only a hash of the token is kept


def test_reauthentication_with_an_sms_code(app, client, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567")
    setup = changes.start_sms_setup(citizen)
    changes.enable_sms_factor(citizen, setup.public_id, inbox.last_code(citizen.phone), ORIGIN)
    inbox.clear()
    portal_sign_in(client, citizen.phone, expect=302)
    submit(client, "/login/confirm", {"code": inbox.last_code(citizen.phone)})
    age_sessions()
    inbox.clear()
    sent = client.get("/cabinet/password")
    step = submit(client, sent.headers["Location"], {"password": PASSWORD})
    assert step.headers["Location"] == "/cabinet/reauth/code"
    [sms] = inbox.wait_for(citizen.phone)
    assert "подтверждает изменение настроек безопасности" in sms["body"]
    code = inbox.last_code(citizen.phone)
    wrong = submit(client, "/cabinet/reauth/code", {"code": "000000" if code != "000000" else "1"})
    assert wrong.status_code == 422
    done = submit(client, "/cabinet/reauth/code", {"code": code})
    assert done.headers["Location"] == "/cabinet/password"
    assert client.get("/cabinet/password").status_code == 200
