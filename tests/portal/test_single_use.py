"""Single use under concurrency: every value the portal lets be used once, or counts, is
fired eight times at the same moment at the live server (threads released together,
real HTTP; PostgreSQL in CI's second pass) and exactly one use succeeds.

Authorization codes, refresh tokens and client assertions are tested beside their
endpoints (``test_oidc_rfc9700.py``, ``test_oidc_client_auth.py``), the lockout's
counter in ``test_identity_lockout.py``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.family import services as family
from portal.family import trusted
from portal.family.models import TrustedGrant
from portal.identity import changes, codes, factors, services
from portal.identity.models import CodeChallenge, Operator, RecoveryCode, SecurityEvent
from portal.oidc.models import ClientConsent
from portal.proofing import checks, confirmation
from portal.proofing import services as proofing_services
from portal.proofing.models import LetterCode
from shared.crypto import unseal
from shared.sessions import utcnow
from shared.signing import sign
from tests.conftest import SECRETS
from tests.helpers import LiveBrowser, at_once, forms_of
from tests.portal.factories import MARIA, api, make_standard, status, wait_for
from tests.portal.oidc_helpers import authorization_params, consent_form, register
from tests.portal.test_family import ORIGIN, PETR, verified
from tests.portal.test_identity_changes import undo_path
from tests.portal.test_trusted import (
    OLGA,
    OLGA_PASSPORT,
    OLGA_PHONE,
    OLGA_SNILS,
    invite,
)

PASSWORD = "violet-harbour-lamp"
MARIA_PHONE, MARIA_EMAIL = "+79161230001", "maria@example.ru"
ONCE = 8  # how many requests carry the same value at the same moment

USED = "Этот код уже использован"
EXHAUSTED = "Слишком много неверных кодов"


def signed_in(portal_server: str, login: str) -> LiveBrowser:
    browser = LiveBrowser(portal_server)
    page = browser.submit("/login", {"login": login, "password": PASSWORD})
    assert page.status == 302, page.text[:300]
    return browser


def events(kind: str) -> int:
    db.session.commit()  # see what the live server committed
    return db.session.execute(
        sa.select(sa.func.count()).select_from(SecurityEvent).where(SecurityEvent.kind == kind)
    ).scalar_one()


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def same_form_at_once(browser: LiveBrowser, path: str, data: dict) -> list:
    """One person sends the same form from ``ONCE`` tabs at the same moment."""
    form = {**browser.form(path), **data}
    return at_once(ONCE, lambda _: browser.open(path, form))


def statuses(pages) -> list[int]:
    return sorted(page.status for page in pages)


# --- one-time codes --------------------------------------------------------------------


def registering(portal_server: str, inbox, contact: str = "anna@example.ru"):
    browser = LiveBrowser(portal_server)
    page = browser.submit(
        "/register", {"surname": "Петрова", "given_name": "Анна", "contact": contact}
    )
    assert page.status == 302 and page.location.endswith("/register/code")
    return browser, inbox.last_code(contact)


def test_a_registration_code_sent_eight_times_at_once_confirms_once(app, portal_server, inbox):
    browser, code = registering(portal_server, inbox)
    pages = same_form_at_once(browser, "/register/code", {"code": code})
    assert statuses(pages) == [302] + [422] * (ONCE - 1)
    [won] = [page for page in pages if page.status == 302]
    assert won.location.endswith("/register/password")
    assert all(USED in page.text for page in pages if page.status == 422)


def test_eight_wrong_codes_at_once_are_all_counted(app, portal_server, inbox):
    """The attempts are counted by one UPDATE each: eight wrong codes at once use up the
    five attempts (a read-then-write would count fewer and leave the code working)."""
    browser, code = registering(portal_server, inbox)
    pages = same_form_at_once(browser, "/register/code", {"code": other_than(code)})
    assert statuses(pages) == [422] * ONCE
    assert sum(EXHAUSTED in page.text for page in pages) >= ONCE - 5
    db.session.commit()
    challenge = db.session.execute(sa.select(CodeChallenge)).scalar_one()
    assert challenge.attempts == app.config["CODE_MAX_ATTEMPTS"] == 5
    assert challenge.verified_at is None
    right = browser.submit("/register/code", {"code": code})
    assert right.status == 422 and EXHAUSTED in right.text


def test_a_code_replaced_by_a_resend_meanwhile_no_longer_works(app, inbox):
    """A request read the challenge, then a resend (another request) replaced the code:
    the old code is compared with the hash the counting UPDATE returns, not the copy."""
    challenge = services.start_registration("Петрова", "Анна", "anna@example.ru", "ru")
    old = inbox.last_code("anna@example.ru")
    stale = codes.get(challenge.public_id, "register")
    db.session.execute(
        sa.update(CodeChallenge)
        .where(CodeChallenge.id == stale.id)
        .values(code_hash=codes._hash(other_than(old)))
        .execution_options(synchronize_session=False)
    )
    assert stale.code_hash == codes._hash(old)  # the copy this request holds
    assert codes.try_code(stale, old) is False


def test_a_recovery_code_and_the_new_password_each_count_once(
    app, portal_server, inbox, make_citizen
):
    make_citizen(phone=MARIA_PHONE, email=MARIA_EMAIL)
    browser = LiveBrowser(portal_server)
    assert browser.submit("/recover", {"contact": MARIA_EMAIL}).status == 302
    code = inbox.last_code(MARIA_EMAIL)

    pages = same_form_at_once(browser, "/recover/code", {"code": code})
    assert statuses(pages) == [302] + [422] * (ONCE - 1)
    assert all(USED in page.text for page in pages if page.status == 422)

    # The new password, sent from eight tabs at once, is set once: one event, one notice.
    inbox.clear()
    new = "quiet-meadow-lantern-42"
    pages = same_form_at_once(browser, "/recover/password", {"password": new, "confirm": new})
    assert statuses(pages) == [302] + [422] * (ONCE - 1)
    assert all("Время на восстановление истекло" in p.text for p in pages if p.status == 422)
    assert events("password_recovered") == 1
    assert len(inbox.wait_for(MARIA_EMAIL)) == 1
    assert services.authenticate(MARIA_EMAIL, new, ORIGIN) is not None


def test_a_contact_change_code_sent_eight_times_at_once_changes_it_once(
    app, portal_server, inbox, make_citizen
):
    citizen = make_citizen(phone=MARIA_PHONE, email=MARIA_EMAIL)
    browser = signed_in(portal_server, MARIA_PHONE)
    started = browser.submit("/cabinet/contacts", {"contact": "new@example.ru"})
    assert started.location.endswith("/cabinet/contacts/confirm")
    code = inbox.last_code("new@example.ru")
    inbox.clear()

    pages = same_form_at_once(browser, "/cabinet/contacts/confirm", {"code": code})
    assert statuses(pages) == [302] + [422] * (ONCE - 1)
    assert all(USED in page.text for page in pages if page.status == 422)
    assert events("contact_changed") == 1
    db.session.refresh(citizen)
    assert citizen.email == "new@example.ru"
    # The old address is told once, with one undo link.
    assert len(inbox.wait_for(MARIA_EMAIL)) == 1


def test_consent_given_from_eight_tabs_at_once_is_one_consent(app, portal_server, make_citizen):
    """ "Allow" pressed in eight tabs at once: every tab goes back to the client with its
    code, and the portal keeps one consent (no error for the tabs that lost the insert)."""
    make_citizen(phone=MARIA_PHONE)
    rp = register()
    browser = signed_in(portal_server, MARIA_PHONE)
    params, _verifier = authorization_params(rp)
    page = browser.open("/oauth/authorize?" + urlencode(params))
    form = consent_form(page.html)
    assert page.status == 200 and form is not None
    allow = {**form.fields, "decision": "allow"}
    pages = at_once(ONCE, lambda _: browser.open(urlsplit(form.action).path, allow))
    assert [page.status for page in pages] == [302] * ONCE, [p.text[:200] for p in pages]
    assert all(page.location.startswith(rp.redirect_uri + "?code=") for page in pages)
    db.session.commit()
    consents = db.session.execute(sa.select(ClientConsent)).scalars().all()
    assert [consent.scope for consent in consents] == ["openid"]


def test_an_undo_link_followed_eight_times_at_once_undoes_once(
    app, portal_server, inbox, make_citizen
):
    citizen = make_citizen(phone=MARIA_PHONE, email=MARIA_EMAIL)
    challenge = changes.start_contact_change(citizen, "new@example.ru")
    code = inbox.last_code("new@example.ru")
    changes.confirm_contact_change(citizen, challenge.public_id, code, ORIGIN)
    path = undo_path(inbox, MARIA_EMAIL)
    browser = LiveBrowser(portal_server)
    pages = same_form_at_once(browser, path, {})
    assert statuses(pages) == [200] + [404] * (ONCE - 1)
    assert events("change_undone") == 1
    db.session.refresh(citizen)
    assert citizen.email == MARIA_EMAIL


# --- the second factor -------------------------------------------------------------------


@pytest.fixture
def with_totp(app, make_citizen, monkeypatch):
    """Maria with a TOTP app and her recovery codes; the lockout is set out of the way
    (seven failures at once would lock the account, which is tested on its own)."""
    monkeypatch.setitem(app.config, "LOCKOUT_THRESHOLD", 100)
    citizen = make_citizen(phone=MARIA_PHONE)
    secret = factors.new_totp_secret()
    recovery = changes.enable_totp(citizen, secret, pyotp.TOTP(secret).now(), ORIGIN)
    citizen.totp_last_step = None  # enabling used the current step; let sign-in use it
    db.session.commit()
    return citizen, secret, recovery


def at_second_factor(portal_server: str) -> list[tuple[LiveBrowser, dict]]:
    """``ONCE`` browsers past the password, each with its code form."""
    browsers = []
    for _ in range(ONCE):
        browser = LiveBrowser(portal_server)
        page = browser.submit("/login", {"login": MARIA_PHONE, "password": PASSWORD})
        assert page.status == 302 and page.location.endswith("/login/confirm")
        browsers.append((browser, browser.form("/login/confirm")))
    return browsers


def sign_in_at_once(browsers, code: str) -> list:
    return at_once(
        ONCE, lambda i: browsers[i][0].open("/login/confirm", {**browsers[i][1], "code": code})
    )


def test_one_recovery_code_used_by_eight_sign_ins_at_once_signs_in_one(
    app, portal_server, with_totp
):
    citizen, _secret, recovery = with_totp
    pages = sign_in_at_once(at_second_factor(portal_server), recovery[0])
    assert statuses(pages) == [302] + [422] * (ONCE - 1)
    assert factors.count_recovery_codes(citizen) == 9
    assert events("recovery_code_used") == 1
    used = db.session.execute(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.used_at.is_not(None))
    ).scalar_one()
    assert used == 1


def test_one_totp_code_sent_by_eight_sign_ins_at_once_is_accepted_once(
    app, portal_server, with_totp
):
    _citizen, secret, _recovery = with_totp
    browsers = at_second_factor(portal_server)
    pages = sign_in_at_once(browsers, pyotp.TOTP(secret).now())
    assert statuses(pages) == [302] + [422] * (ONCE - 1)
    assert events("login") == 1
    assert events("second_factor_failed") == ONCE - 1


# --- the registered letter ---------------------------------------------------------------


@pytest.fixture
def letter(proofing, make_citizen, inbox):
    """Maria at the standard level, with a letter waiting for its code: the code."""
    citizen = make_standard(make_citizen, phone=MARIA_PHONE, email=MARIA_EMAIL)
    sent = confirmation.request_letter(citizen, ORIGIN)
    code = unseal(sent, "code_encrypted")
    db.session.commit()
    return citizen, code


def enter_letter_code_at_once(portal_server: str, code: str) -> list[str]:
    """``ONCE`` signed-in browsers enter the code at the same moment; what each reads."""
    action = "/cabinet/level/letter/code"
    browsers = [signed_in(portal_server, MARIA_PHONE) for _ in range(ONCE)]
    forms = [browser.form("/cabinet/level", action) for browser in browsers]
    pages = at_once(ONCE, lambda i: browsers[i].open(action, {**forms[i], "code": code}))
    assert [page.status for page in pages] == [302] * ONCE
    return [browser.follow(page).text for browser, page in zip(browsers, pages, strict=True)]


def test_a_letter_code_entered_eight_times_at_once_confirms_once(letter, portal_server, inbox):
    citizen, code = letter
    inbox.clear()
    texts = enter_letter_code_at_once(portal_server, code)
    assert sum("Ваша личность подтверждена." in text for text in texts) == 1
    assert sum("Нет письма, код из которого ожидает ввода" in text for text in texts) == ONCE - 1
    assert events("identity_confirmed") == 1
    db.session.refresh(citizen)
    assert citizen.level == "confirmed" and citizen.confirmed_method == "letter"
    told = [m for m in inbox.wait_for(MARIA_EMAIL) if "Ваша личность подтверждена" in m["body"]]
    assert len(told) == 1


def test_eight_wrong_letter_codes_at_once_are_all_counted(letter, portal_server):
    citizen, code = letter
    texts = enter_letter_code_at_once(portal_server, "WRONG234")
    assert sum("Неверный код. Сверьте его" in text for text in texts) == 5
    assert sum("Слишком много неверных кодов" in text for text in texts) == ONCE - 5
    db.session.commit()
    assert db.session.execute(sa.select(LetterCode.attempts)).scalar_one() == 5
    with pytest.raises(proofing_services.ValidationError):
        confirmation.confirm_by_letter(citizen, code, ORIGIN)
    db.session.refresh(citizen)
    assert citizen.level == "standard"


def test_an_operators_confirm_button_pressed_eight_times_at_once_confirms_once(
    proofing, portal_server, make_citizen, inbox
):
    citizen = make_standard(make_citizen, phone=MARIA_PHONE, email=MARIA_EMAIL)
    operator = make_citizen(surname="Операторова", given_name="Ирина", phone="+79160000009")
    db.session.add(Operator(citizen_id=operator.id, service_centre="МФЦ Пресненский"))
    db.session.commit()
    desk = signed_in(portal_server, "+79160000009")
    card = desk.submit("/operator/", {"snils": "112-233-445 95"})
    action = f"/operator/citizens/{citizen.public_id}/confirm"
    [form] = [f for f in forms_of(card.html) if f.action == action]
    inbox.clear()
    pages = at_once(ONCE, lambda _: desk.open(action, form.fields))
    assert [page.status for page in pages] == [302] * ONCE
    assert events("identity_confirmed") == events("operator_confirmed_citizen") == 1
    told = [m for m in inbox.wait_for(MARIA_EMAIL) if "Ваша личность подтверждена" in m["body"]]
    assert len(told) == 1


# --- registry answers --------------------------------------------------------------------


def post_callback(portal_server: str, signed: tuple[bytes, dict]) -> tuple[int, dict]:
    body, headers = signed
    request = urllib.request.Request(
        f"{portal_server}/registry-callbacks", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


@pytest.mark.parametrize("same_callback", [True, False], ids=["replayed", "eight-answers"])
def test_eight_registry_answers_at_once_apply_one(
    proofing, portal_server, make_citizen, inbox, same_callback
):
    """One answer (sent eight times), or eight answers of one check, at the same moment:
    the check is answered once and the citizen told once."""
    api(
        proofing,
        "PUT",
        "/api/registries/sfr/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    citizen = make_citizen(surname="Иванова", given_name="Мария", email=MARIA_EMAIL)
    proofing_services.update_profile(citizen, MARIA, ORIGIN)
    proofing_services.set_snils(citizen, "112-233-445 95", ORIGIN)
    check = checks.latest_check(citizen.id, "snils")
    db.session.commit()
    inbox.clear()
    signed = [
        sign(
            SECRETS["REGISTRY_KEY"],
            {
                "callback_id": "cb-1" if same_callback else f"cb-{i}",
                "request_id": check.public_id,
                "registry": "sfr",
                "outcome": "approved",
                "reason": None,
                "reason_text": None,
                "answered_at": "2026-11-23T10:00:00Z",
            },
        )
        for i in range(ONCE)
    ]
    answers = at_once(ONCE, lambda i: post_callback(portal_server, signed[i]))
    assert [code for code, _ in answers] == [200] * ONCE, answers
    outcomes = sorted(body["status"] for _, body in answers)
    later = "replayed" if same_callback else "already_answered"
    assert outcomes == sorted(["approved"] + [later] * (ONCE - 1))
    db.session.commit()
    assert status(citizen, "snils") == "approved"
    told = [m for m in inbox.wait_for(MARIA_EMAIL) if "СНИЛС" in m["body"]]
    assert len(told) == 1


def test_a_due_check_taken_by_eight_senders_at_once_is_sent_once(
    proofing, portal_app, make_citizen
):
    """The resend job run by eight workers at the same moment: one claims the attempt,
    the registry is asked once and the attempt is counted once."""
    api(
        proofing,
        "PUT",
        "/api/registries/sfr/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "error"},
    )
    citizen = make_citizen(surname="Иванова", given_name="Мария")
    proofing_services.update_profile(citizen, MARIA, ORIGIN)
    proofing_services.set_snils(citizen, "112-233-445 95", ORIGIN)  # the registry is down
    check = checks.latest_check(citizen.id, "snils")
    assert check.status == "queued" and check.attempts == 1
    db.session.commit()
    api(
        proofing,
        "PUT",
        "/api/registries/sfr/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    later = utcnow() + timedelta(minutes=1)

    def resend(_):
        with portal_app.app_context():
            return checks.resend_due_checks(now=later)

    assert sum(at_once(ONCE, resend)) == 1
    db.session.commit()
    db.session.refresh(check)
    assert check.status == "pending" and check.attempts == 2


# --- trusted persons ---------------------------------------------------------------------


@pytest.fixture
def invitation(proofing, make_citizen, inbox):
    """Maria (verified son Petr) has invited Olga: ``(maria, olga, grant)``."""
    maria = make_standard(make_citizen, phone=MARIA_PHONE, email=MARIA_EMAIL)
    link = family.add_child(maria, PETR, ORIGIN)
    olga = make_standard(
        make_citizen,
        profile=OLGA,
        snils=OLGA_SNILS,
        passport=OLGA_PASSPORT,
        phone=OLGA_PHONE,
        email="olga@example.ru",
    )
    assert wait_for(lambda: verified(maria))
    grant = invite(maria, link.child_id)
    db.session.commit()
    return maria, olga, grant


def answer_at_once(portal_server: str, login: str, grant: TrustedGrant, actions: list[str]):
    """``ONCE`` browsers of one person press the buttons ``actions`` (accept, decline,
    revoke…) of the grant at the same moment; what each reads after."""
    page = "/cabinet/trusted/given-to-me" if login == OLGA_PHONE else "/cabinet/trusted/"
    browsers = [signed_in(portal_server, login) for _ in actions]
    targets = [f"/cabinet/trusted/{grant.public_id}/{action}" for action in actions]
    forms = [browser.form(page, target) for browser, target in zip(browsers, targets, strict=True)]
    pages = at_once(len(actions), lambda i: browsers[i].open(targets[i], forms[i]))
    assert [p.status for p in pages] == [302] * len(actions)
    return [browser.follow(p).text for browser, p in zip(browsers, pages, strict=True)]


def test_an_invitation_accepted_eight_times_at_once_is_accepted_once(
    invitation, portal_server, inbox
):
    _maria, _olga, grant = invitation
    inbox.clear()
    texts = answer_at_once(portal_server, OLGA_PHONE, grant, ["accept"] * ONCE)
    assert sum("Приглашение принято" in text for text in texts) == 1
    assert sum("Это приглашение больше не ждёт ответа" in text for text in texts) == ONCE - 1
    assert events("trusted_accepted") == 1
    assert len(inbox.wait_for(MARIA_EMAIL)) == 1  # Maria is told once


def test_accept_and_decline_at_once_have_one_outcome(invitation, portal_server, inbox):
    _maria, _olga, grant = invitation
    inbox.clear()
    texts = answer_at_once(portal_server, OLGA_PHONE, grant, ["accept", "decline"] * (ONCE // 2))
    answered = [t for t in texts if "Приглашение принято" in t or "Приглашение отклонено" in t]
    assert len(answered) == 1
    assert events("trusted_accepted") + events("trusted_declined") == 1
    db.session.refresh(grant)
    assert (grant.accepted_at is None) != (grant.declined_at is None)
    assert len(inbox.wait_for(MARIA_EMAIL)) == 1


def test_a_grant_revoked_eight_times_at_once_is_revoked_once(invitation, portal_server, inbox):
    maria, olga, grant = invitation
    trusted.accept(olga, grant.public_id, ORIGIN)
    inbox.clear()
    texts = answer_at_once(portal_server, MARIA_PHONE, grant, ["revoke"] * ONCE)
    assert sum("Доступ отозван" in text for text in texts) == 1
    assert sum("Этот доступ уже закончился" in text for text in texts) == ONCE - 1
    assert events("trusted_revoked") == 1
    assert len(inbox.wait_for("olga@example.ru")) == 1  # Olga is told once
    db.session.refresh(grant)
    assert grant.revoked_by_id == maria.id
