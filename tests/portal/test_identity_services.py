"""Identity rules called directly, as views, commands and jobs call them."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity import changes, codes, factors, services
from portal.identity.models import Citizen, SecurityEvent
from portal.identity.passwords import WeakPassword, check_password_policy, hash_password
from shared.errors import ValidationError
from shared.sessions import utcnow

ORIGIN = services.Origin(ip="127.0.0.1", user_agent="pytest")


def events(citizen) -> list[str]:
    return [e.kind for e in services.recent_events(citizen)]


# --- codes --------------------------------------------------------------------------


def test_expired_code_is_refused(app, inbox):
    challenge = services.start_registration("Петрова", "Анна", "+79161234567", "ru")
    code = inbox.last_code("+79161234567")
    challenge.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(codes.CodeExpired):
        services.confirm_code(challenge.public_id, "register", code)


def test_resend_is_throttled_then_allowed_and_limited(app, inbox):
    challenge = services.start_registration("Петрова", "Анна", "+79161234567", "ru")
    first = inbox.last_code("+79161234567")
    with pytest.raises(codes.ResendTooSoon) as too_soon:
        services.resend_code(challenge.public_id, "register")
    assert 0 < too_soon.value.params["seconds"] <= 60
    assert len(inbox.messages(to="+79161234567")) == 1
    for sent in range(2, 6):
        challenge.last_sent_at = utcnow() - timedelta(seconds=61)
        db.session.commit()
        services.resend_code(challenge.public_id, "register")
        assert len(inbox.wait_for("+79161234567", count=sent)) == sent
    second = inbox.last_code("+79161234567")
    # A resend replaces the code: the first one no longer works.
    if first != second:
        with pytest.raises(codes.WrongCode):
            services.confirm_code(challenge.public_id, "register", first)
    challenge.last_sent_at = utcnow() - timedelta(seconds=61)
    db.session.commit()
    with pytest.raises(codes.ResendLimit):
        services.resend_code(challenge.public_id, "register")
    services.confirm_code(challenge.public_id, "register", second)


def test_codes_are_stored_hashed(app, inbox):
    challenge = services.start_registration("Петрова", "Анна", "+79161234567", "ru")
    code = inbox.last_code("+79161234567")
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64


# --- registration -------------------------------------------------------------------


def test_registering_a_taken_contact_tells_the_owner_not_the_registrant(app, inbox, make_citizen):
    owner = make_citizen(phone="+79161234567")
    challenge = services.start_registration("Чужой", "Человек", "8 916 123 45 67", "ru")
    # The registrant's flow looks the same: a challenge exists, a code page follows...
    assert challenge.public_id and challenge.destination == owner.phone
    # ...but the message that arrived is a warning to the owner, with no code in it.
    messages = inbox.wait_for(owner.phone)
    assert len(messages) == 1
    assert not re.search(r"\b\d{6}\b", messages[0]["body"])
    with pytest.raises(codes.WrongCode):
        services.confirm_code(challenge.public_id, "register", "123456")
    assert db.session.execute(sa.select(sa.func.count()).select_from(Citizen)).scalar_one() == 1


def test_registration_requires_consent_and_a_confirmed_code(app, inbox):
    challenge = services.start_registration("Петрова", "Анна", "anna@example.ru", "ru")
    with pytest.raises(services.RegistrationExpired):
        services.complete_registration(challenge.public_id, "violet-harbour-lamp", True, ORIGIN)
    services.confirm_code(challenge.public_id, "register", inbox.last_code("anna@example.ru"))
    with pytest.raises(services.ConsentRequired):
        services.complete_registration(challenge.public_id, "violet-harbour-lamp", False, ORIGIN)
    citizen = services.complete_registration(
        challenge.public_id, "violet-harbour-lamp", True, ORIGIN
    )
    assert citizen.level == "simplified" and events(citizen) == ["registered"]
    with pytest.raises(
        services.RegistrationExpired
    ):  # the same challenge cannot make a second account
        services.complete_registration(challenge.public_id, "violet-harbour-lamp", True, ORIGIN)


@pytest.mark.parametrize(
    ("contact", "message"),
    [
        ("12345", "в формате +7 912 345-67-89"),
        ("+7 495 123-45-67", "начинается с 9"),
        ("anna@", "в формате name@example.ru"),
    ],
)
def test_bad_contacts_are_explained(app, contact, message):
    with pytest.raises(ValidationError) as error:
        services.start_registration("Петрова", "Анна", contact, "ru")
    assert message in error.value.message


# --- passwords ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "short1",
        "password",
        "qwerty123",
        "12345678",
        "йцукенгш",
        "aaaaaaaaaaaa",
        "Petrova2026",
        "79161234567x",
    ],
)
def test_weak_passwords_are_refused(app, password):
    with pytest.raises(WeakPassword):
        check_password_policy(password, ["+79161234567", "petrova@example.ru", "Petrova", "Anna"])


@pytest.mark.parametrize(
    "password", ["violet-harbour-lamp", "x" * 3 + "Зелёный чай в 5 утра!", "a" + "bc" * 40]
)
def test_long_and_plain_passwords_are_accepted_without_composition_rules(app, password):
    check_password_policy(password, ["+79161234567"])


def test_passwords_are_argon2id_and_rehashed_when_parameters_change(app, make_citizen):
    citizen = make_citizen(phone="+79161234567")
    old = citizen.password_hash
    assert old.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    app.config["ARGON2_TIME_COST"] = 3
    try:
        services.authenticate("+79161234567", "violet-harbour-lamp", ORIGIN)
        db.session.refresh(citizen)
        assert citizen.password_hash.startswith("$argon2id$v=19$m=19456,t=3,p=1$")
        services.authenticate("+79161234567", "violet-harbour-lamp", ORIGIN)
    finally:
        app.config["ARGON2_TIME_COST"] = 2


# --- sign-in ------------------------------------------------------------------------


def test_sign_in_by_phone_email_or_snils(app, make_citizen):
    citizen = make_citizen(phone="+79161234567", email="maria@example.ru", snils="112-233-445 95")
    for login in (
        "8 (916) 123-45-67",
        "+79161234567",
        "MARIA@example.ru",
        "112-233-445 95",
        "11223344595",
    ):
        assert services.authenticate(login, "violet-harbour-lamp", ORIGIN).id == citizen.id
    row = db.session.execute(sa.text("SELECT snils_encrypted FROM citizen")).scalar_one()
    assert "11223344595" not in row and "445" not in row


def test_unknown_login_and_wrong_password_get_the_same_error(app, make_citizen):
    make_citizen(phone="+79161234567")
    with pytest.raises(services.InvalidCredentials) as unknown:
        services.authenticate("+79990000000", "violet-harbour-lamp", ORIGIN)
    with pytest.raises(services.InvalidCredentials) as wrong:
        services.authenticate("+79161234567", "not-the-password", ORIGIN)
    assert unknown.value.message == wrong.value.message


def test_lockout_grows_notifies_the_owner_and_ends(app, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567", email="maria@example.ru")
    for _ in range(5):
        with pytest.raises(services.InvalidCredentials):
            services.authenticate("+79161234567", "wrong-password-1", ORIGIN)
    db.session.refresh(citizen)
    first_lock = citizen.locked_until - utcnow()
    assert timedelta(seconds=50) < first_lock <= timedelta(seconds=60)
    assert "locked" in events(citizen)
    assert inbox.wait_for("maria@example.ru") and inbox.wait_for("+79161234567")
    # While locked, even the right password is refused with the same message.
    with pytest.raises(services.InvalidCredentials):
        services.authenticate("+79161234567", "violet-harbour-lamp", ORIGIN)
    # The lockout ends; the next five failures lock for twice as long.
    citizen.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for _ in range(5):
        with pytest.raises(services.InvalidCredentials):
            services.authenticate("+79161234567", "wrong-password-1", ORIGIN)
    db.session.refresh(citizen)
    assert timedelta(seconds=110) < citizen.locked_until - utcnow() <= timedelta(seconds=120)
    citizen.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert services.authenticate("+79161234567", "violet-harbour-lamp", ORIGIN).id == citizen.id
    db.session.refresh(citizen)
    assert citizen.failed_logins == 0 and citizen.lockout_count == 0


# --- second factor ------------------------------------------------------------------


def test_totp_second_factor_with_single_use_codes(app, inbox, make_citizen):
    citizen = make_citizen()
    secret = factors.new_totp_secret()
    with pytest.raises(factors.SecondFactorFailed):
        changes.enable_totp(citizen, secret, "000000", ORIGIN)
    # Digits of other scripts are no code (issue 11: "²" reached compare_digest, a 500).
    for code in ("²", "١٢٣٤٥٦", "１２３４５６"):
        with pytest.raises(factors.SecondFactorFailed):
            changes.enable_totp(citizen, secret, code, ORIGIN)
    recovery = changes.enable_totp(citizen, secret, pyotp.TOTP(secret).now(), ORIGIN)
    assert citizen.mfa_method == "totp" and len(recovery) == 10
    assert secret not in citizen.totp_secret_encrypted
    # The same TOTP code cannot be used twice (replay).
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(citizen, pyotp.TOTP(secret).now(), None, ORIGIN)
    # A recovery code works once.
    assert factors.verify_second_factor(citizen, recovery[0], None, ORIGIN) == "recovery"
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(citizen, recovery[0], None, ORIGIN)
    assert factors.count_recovery_codes(citizen) == 9


def test_sms_second_factor(app, inbox, make_citizen):
    citizen = make_citizen(phone="+79161234567")
    setup = changes.start_sms_setup(citizen)
    changes.enable_sms_factor(citizen, setup.public_id, inbox.last_code("+79161234567"), ORIGIN)
    assert citizen.mfa_method == "sms"
    inbox.clear()
    challenge = factors.start_sms_factor(citizen)
    code = inbox.last_code("+79161234567")
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(
            citizen, "000000" if code != "000000" else "111111", challenge.public_id, ORIGIN
        )
    assert factors.verify_second_factor(citizen, code, challenge.public_id, ORIGIN) == "sms"
    with pytest.raises(factors.SecondFactorFailed):  # single use
        factors.verify_second_factor(citizen, code, challenge.public_id, ORIGIN)


def test_another_citizens_sms_challenge_does_not_pass(app, inbox, make_citizen):
    alice = make_citizen(phone="+79161234567")
    bob = make_citizen(phone="+79161234568")
    for person in (alice, bob):
        person.mfa_method = "sms"
    db.session.commit()
    bobs = factors.start_sms_factor(bob)
    code = inbox.last_code("+79161234568")
    with pytest.raises(factors.SecondFactorFailed):
        factors.verify_second_factor(alice, code, bobs.public_id, ORIGIN)


# --- recovery and changes -----------------------------------------------------------


def test_recovery_for_unknown_contact_sends_nothing(app, inbox):
    challenge = services.start_recovery("+79161234567")
    assert challenge.public_id
    assert inbox.messages(to="+79161234567") == []


def test_change_password_keeps_this_session_only(app, make_citizen):
    citizen = make_citizen()
    with pytest.raises(services.InvalidCredentials):
        changes.change_password(citizen, "wrong", "a-brand-new-phrase", ORIGIN, None)
    changes.change_password(citizen, "violet-harbour-lamp", "a-brand-new-phrase", ORIGIN, None)
    assert services.authenticate(citizen.phone, "a-brand-new-phrase", ORIGIN).id == citizen.id
    assert "password_changed" in events(citizen)


def test_contact_change_needs_the_code_and_is_logged(app, inbox, make_citizen):
    citizen = make_citizen(email="old@example.ru")
    challenge = changes.start_contact_change(citizen, "New@Example.ru")
    changes.confirm_contact_change(
        citizen, challenge.public_id, inbox.last_code("new@example.ru"), ORIGIN
    )
    assert citizen.email == "new@example.ru"
    assert inbox.wait_for("old@example.ru")  # the old address is told
    assert "contact_changed" in events(citizen)


def test_contact_change_to_someone_elses_contact_reveals_nothing(app, inbox, make_citizen):
    citizen = make_citizen(email="mine@example.ru")
    other = make_citizen(email="theirs@example.ru")
    challenge = changes.start_contact_change(citizen, "theirs@example.ru")
    assert challenge.public_id
    with pytest.raises(codes.WrongCode):
        changes.confirm_contact_change(citizen, challenge.public_id, "123456", ORIGIN)
    assert other.email == "theirs@example.ru" and citizen.email == "mine@example.ru"


def test_security_log_never_holds_secrets(app, inbox, make_citizen):
    citizen = make_citizen(snils="112-233-445 95")
    with pytest.raises(services.InvalidCredentials):
        services.authenticate(citizen.phone, "my-secret-guess", ORIGIN)
    rows = db.session.execute(sa.select(SecurityEvent)).scalars().all()
    dumped = repr([(r.kind, r.detail, r.ip, r.user_agent) for r in rows]) + repr(citizen)
    assert "my-secret-guess" not in dumped and "11223344595" not in dumped
    assert hash_password("x") != hash_password("x")  # salted
