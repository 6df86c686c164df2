"""The account's lockout: passwords, second-factor codes, recovery codes and the one-time
codes of recovery and contact change all count toward it, atomically."""

from __future__ import annotations

import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import changes, codes, factors, lockout, services
from portal.identity.models import Citizen, SecurityEvent
from shared.sessions import utcnow
from tests.helpers import forms_of, submit, text_of

ORIGIN = services.Origin(ip="127.0.0.1", user_agent="pytest")
PASSWORD = "violet-harbour-lamp"
LOCKED_NOTICE = "заблокирован"


def kinds(citizen) -> list[str]:
    db.session.commit()
    return [e.kind for e in services.recent_events(citizen, limit=500)]


def state(citizen) -> Citizen:
    db.session.commit()
    db.session.refresh(citizen)
    return citizen


def with_totp(citizen) -> tuple[str, list[str]]:
    secret = factors.new_totp_secret()
    recovery = changes.enable_totp(citizen, secret, pyotp.TOTP(secret).now(), ORIGIN)
    return secret, recovery


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_password_totp_sms_and_recovery_code_failures_add_up_to_one_lockout(
    app, inbox, make_citizen
):
    citizen = make_citizen(phone="+79161234567", email="maria@example.ru")
    secret, recovery = with_totp(citizen)
    inbox.clear()
    # 1: a wrong password.
    with pytest.raises(services.InvalidCredentials):
        services.authenticate(citizen.phone, "not-my-password", ORIGIN)
    # 2: the right password does not clear the count while a second factor is to come,
    # then a wrong TOTP code.
    services.authenticate(citizen.phone, PASSWORD, ORIGIN)
    assert state(citizen).failed_logins == 1
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(citizen, other_than(pyotp.TOTP(secret).now()), None, ORIGIN)
    # 3: a wrong recovery code.
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(citizen, "abcde-fghjk", None, ORIGIN)
    # 4: the account switches to SMS codes; a wrong SMS code.
    setup = changes.start_sms_setup(citizen)
    changes.enable_sms_factor(citizen, setup.public_id, inbox.last_code(citizen.phone), ORIGIN)
    inbox.clear()
    challenge = factors.start_sms_factor(citizen)
    sms = inbox.last_code(citizen.phone)
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(citizen, other_than(sms), challenge.public_id, ORIGIN)
    assert state(citizen).failed_logins == 4 and citizen.locked_until is None
    # 5: a wrong password locks the account for a minute, and the owner is told.
    with pytest.raises(services.InvalidCredentials):
        services.authenticate(citizen.phone, "not-my-password", ORIGIN)
    citizen = state(citizen)
    assert citizen.lockout_count == 1
    assert timedelta(seconds=50) < citizen.locked_until - utcnow() <= timedelta(seconds=60)
    assert "locked" in kinds(citizen)
    assert any(LOCKED_NOTICE in m["body"] for m in inbox.wait_for("maria@example.ru"))
    # While locked nothing is even checked: the right password, the right SMS code, a
    # fresh recovery code (it stays unused).
    with pytest.raises(services.InvalidCredentials):
        services.authenticate(citizen.phone, PASSWORD, ORIGIN)
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(citizen, sms, challenge.public_id, ORIGIN)
    left = factors.count_recovery_codes(citizen)
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(citizen, recovery[1], None, ORIGIN)
    assert factors.count_recovery_codes(citizen) == left
    assert kinds(citizen).count("login_blocked") == 3


def test_the_second_factor_clears_the_count_and_the_next_lockout_doubles(app, make_citizen):
    citizen = make_citizen()
    secret, _recovery = with_totp(citizen)
    for _ in range(4):
        with pytest.raises(factors.SecondFactorFailed):
            factors.verify_second_factor(citizen, "123-456", None, ORIGIN)
    assert state(citizen).failed_logins == 4
    # TOTP codes are single use per step; the app's next code passes.
    code = pyotp.TOTP(secret).at(utcnow().timestamp() + 30)
    assert factors.verify_second_factor(citizen, code, None, ORIGIN) == "otp"
    assert state(citizen).failed_logins == 0
    for _ in range(5):
        with pytest.raises(factors.SecondFactorFailed):
            factors.verify_second_factor(citizen, "123-456", None, ORIGIN)
    assert state(citizen).lockout_count == 1
    citizen.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for _ in range(5):
        with pytest.raises(services.InvalidCredentials):
            services.authenticate(citizen.phone, "wrong-password-1", ORIGIN)
    citizen = state(citizen)
    assert citizen.lockout_count == 2
    assert timedelta(seconds=110) < citizen.locked_until - utcnow() <= timedelta(seconds=120)


def test_wrong_totp_codes_at_the_sign_in_page_lock_and_the_right_one_is_then_refused(
    app, client, inbox, make_citizen
):
    """The finding: after the right password, 150 wrong codes all got 422 and the right
    one then signed in."""
    citizen = make_citizen(phone="+79161234567")
    secret, _recovery = with_totp(citizen)
    first = submit(client, "/login", {"login": "+79161234567", "password": PASSWORD})
    assert first.headers["Location"] == "/login/confirm"
    right = pyotp.TOTP(secret).at(utcnow().timestamp() + 30)
    for _ in range(8):
        wrong = submit(client, "/login/confirm", {"code": other_than(right)})
        assert wrong.status_code == 422
    refused = submit(client, "/login/confirm", {"code": right})
    assert refused.status_code == 422 and "Код неверный или срок" in text_of(refused)
    assert client.get("/cabinet/").status_code == 302
    assert state(citizen).locked_until is not None
    assert any(LOCKED_NOTICE in m["body"] for m in inbox.wait_for("+79161234567"))


def test_recovery_codes_count_and_a_locked_account_gets_no_recovery_code(
    app, client, inbox, make_citizen
):
    citizen = make_citizen(phone="+79161234567")
    for _ in range(3):
        with pytest.raises(services.InvalidCredentials):
            services.authenticate(citizen.phone, "not-my-password", ORIGIN)
    submit(client, "/recover", {"contact": "+79161234567"})
    code = inbox.last_code("+79161234567")
    for _ in range(2):
        assert submit(client, "/recover/code", {"code": other_than(code)}).status_code == 422
    assert state(citizen).locked_until is not None
    # The right code no longer passes, with the answer an exhausted code gets.
    refused = submit(client, "/recover/code", {"code": code})
    assert refused.status_code == 422 and "Слишком много неверных кодов" in text_of(refused)
    # Starting again looks the same to whoever asks, but no code goes out: the owner is
    # told why instead.
    inbox.clear()
    again = submit(app.test_client(), "/recover", {"contact": "+79161234567"})
    assert again.headers["Location"].endswith("/recover/code")
    [message] = inbox.wait_for("+79161234567")
    assert "код не отправлен" in message["body"]
    assert "code_failed" in kinds(citizen)


def test_a_wrong_contact_change_code_counts_toward_the_lockout(app, inbox, make_citizen):
    citizen = make_citizen(email="old@example.ru")
    for _ in range(4):
        with pytest.raises(services.InvalidCredentials):
            services.authenticate(citizen.email, "not-my-password", ORIGIN)
    challenge = changes.start_contact_change(citizen, "new@example.ru")
    code = inbox.last_code("new@example.ru")
    with pytest.raises(codes.WrongCode):
        changes.confirm_contact_change(citizen, challenge.public_id, other_than(code), ORIGIN)
    assert state(citizen).locked_until is not None
    with pytest.raises(lockout.AccountLocked):
        changes.confirm_contact_change(citizen, challenge.public_id, code, ORIGIN)
    assert state(citizen).email == "old@example.ru"


def test_the_current_password_field_is_no_oracle(app, client, make_citizen):
    """The finding: 25 wrong guesses in the cabinet's "current password", no limit."""
    citizen = make_citizen(phone="+79161234567")
    submit(client, "/login", {"login": "+79161234567", "password": PASSWORD})
    for _ in range(5):
        page = submit(
            client,
            "/cabinet/password",
            {
                "current": "a-guess-at-it",
                "password": "a-new-long-phrase",
                "confirm": "a-new-long-phrase",
            },
        )
        assert page.status_code == 422 and "Текущий пароль указан неверно" in text_of(page)
    refused = submit(
        client,
        "/cabinet/password",
        {"current": PASSWORD, "password": "a-new-long-phrase", "confirm": "a-new-long-phrase"},
    )
    assert refused.status_code == 422 and "Слишком много неверных попыток" in text_of(refused)
    with pytest.raises(services.InvalidCredentials):
        services.authenticate(citizen.phone, PASSWORD, ORIGIN)
    citizen.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert services.authenticate(citizen.phone, PASSWORD, ORIGIN).id == citizen.id


def test_the_reauthentication_page_shares_the_lockout(app, client, make_citizen):
    citizen = make_citizen(phone="+79161234567")
    submit(client, "/login", {"login": "+79161234567", "password": PASSWORD})
    for _ in range(5):
        page = submit(client, "/cabinet/reauth", {"password": "a-guess-at-it"})
        assert page.status_code == 422 and "Неверный пароль" in text_of(page)
    refused = submit(client, "/cabinet/reauth", {"password": PASSWORD})
    assert refused.status_code == 422 and "Слишком много неверных попыток" in text_of(refused)
    assert state(citizen).lockout_count == 1


def test_a_sign_in_with_the_right_password_clears_the_failures(app, make_citizen):
    """Without a second factor the right password ends the count: four more failures
    after it do not lock the account (seven in a row would have)."""
    citizen = make_citizen(phone="+79161234567")

    def sign_in(password: str):
        return submit(app.test_client(), "/login", {"login": "+79161234567", "password": password})

    for _ in range(3):
        assert sign_in("a-guess-at-it").status_code == 422
    assert sign_in(PASSWORD).status_code == 302
    for _ in range(4):
        assert sign_in("a-guess-at-it").status_code == 422
    signed_in = sign_in(PASSWORD)
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/cabinet/")
    assert state(citizen).failed_logins == 0 and "locked" not in kinds(citizen)


# --- concurrency, against a live server ---------------------------------------------


class LiveBrowser:
    """urllib with its own cookie jar, posting the portal's real forms."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def open(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def token(self, path: str) -> str:
        status, html = self.open(path)
        assert status == 200, (path, status)
        return next(f for f in forms_of(html) if f.method == "post" and not f.action).fields[
            "csrf_token"
        ]


def test_simultaneous_wrong_codes_are_all_counted(app, portal_server, make_citizen):
    """Eight browsers past the password send a wrong TOTP code at the same moment: the
    counter counts eight (a read-then-write would lose some) and the account locks."""
    citizen = make_citizen(phone="+79161234567")
    secret, _recovery = with_totp(citizen)
    app.config["LOCKOUT_THRESHOLD"] = 8
    try:
        browsers = [LiveBrowser(portal_server) for _ in range(8)]
        forms = []
        for browser in browsers:
            status, _ = browser.open(
                "/login",
                {
                    "csrf_token": browser.token("/login"),
                    "login": citizen.phone,
                    "password": PASSWORD,
                },
            )
            assert status == 200  # followed to the code page
            forms.append({"csrf_token": browser.token("/login/confirm")})
        wrong = other_than(pyotp.TOTP(secret).now())
        start = threading.Barrier(len(browsers))
        answers: list[int] = []

        def guess(browser, form):
            start.wait()
            answers.append(browser.open("/login/confirm", {**form, "code": wrong})[0])

        threads = [
            threading.Thread(target=guess, args=pair) for pair in zip(browsers, forms, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert answers == [422] * 8
        citizen = state(citizen)
        assert citizen.lockout_count == 1 and citizen.failed_logins == 0
        assert citizen.locked_until is not None and citizen.locked_until > utcnow()
        failed = db.session.execute(
            sa.select(sa.func.count())
            .select_from(SecurityEvent)
            .where(
                SecurityEvent.citizen_id == citizen.id, SecurityEvent.kind == "second_factor_failed"
            )
        ).scalar_one()
        assert failed == 8
        assert kinds(citizen).count("locked") == 1
    finally:
        app.config["LOCKOUT_THRESHOLD"] = 5
