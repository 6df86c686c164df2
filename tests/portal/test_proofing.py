"""Identity proofing with the real simulator: the portal's jobs post to the registries
over HTTP and their signed answers come back over HTTP to the portal's live server."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.identity.models import Citizen, Operator
from portal.proofing import checks, confirmation, services
from portal.proofing.models import Document, LetterCode, VerificationCheck
from shared.crypto import unseal
from shared.errors import Forbidden, ValidationError
from shared.sessions import utcnow
from shared.signing import sign
from tests.helpers import forms_of, submit, text_of
from tests.portal.factories import (
    MARIA,
    MARIA_PASSPORT,
    ORIGIN,
    api,
    level,
    make_standard,
    status,
    wait_for,
)


def test_snils_and_passport_verified_make_the_account_standard(proofing, make_citizen, inbox):
    citizen = make_standard(make_citizen, email="maria@example.ru")
    assert status(citizen, "snils") == status(citizen, "passport") == "approved"
    assert inbox.wait_for("maria@example.ru", count=2)  # told when each check ended
    # Stored encrypted, found by the blind index; the table never holds the number.
    raw = db.session.execute(sa.text("SELECT number_encrypted, number_index FROM document")).one()
    assert "123456" not in raw[0] and "123456" not in raw[1]
    assert (
        "11223344595"
        not in db.session.execute(sa.text("SELECT snils_encrypted FROM citizen")).scalar_one()
    )


def test_an_answer_that_arrives_before_the_sending_is_recorded_is_kept(
    proofing, make_citizen, monkeypatch
):
    """A fast registry answers (the callback, another request on the portal's server)
    before ``submit`` has returned. Recording the sending afterwards must not turn the
    answered check back into a pending one (it did: the account never became standard)."""
    real_submit = checks.registry.submit

    def answered(public_id: str) -> bool:
        return db.session.execute(
            sa.select(VerificationCheck.status).where(VerificationCheck.public_id == public_id)
        ).scalar_one() in ("approved", "rejected")

    def submit_and_wait_for_the_answer(registry_code, public_id, subject):
        real_submit(registry_code, public_id, subject)
        assert wait_for(lambda: answered(public_id))

    monkeypatch.setattr(checks.registry, "submit", submit_and_wait_for_the_answer)
    citizen = make_standard(make_citizen)
    assert status(citizen, "snils") == status(citizen, "passport") == "approved"


def test_name_mismatch_is_rejected_with_a_reason_the_citizen_can_act_on(
    proofing, client, make_citizen
):
    citizen = make_citizen(surname="Иванова", given_name="Марина", phone="+79161234567")
    services.update_profile(citizen, {**MARIA, "given_name": "Марина"}, ORIGIN)
    services.set_snils(citizen, "112-233-445 95", ORIGIN)
    assert wait_for(lambda: status(citizen, "snils") == "rejected")
    check = checks.latest_check(citizen.id, "snils")
    assert check.reason == "name_mismatch" and level(citizen) == "simplified"
    submit(client, "/login", {"login": "+79161234567", "password": "violet-harbour-lamp"})
    page = text_of(client.get("/cabinet/level"))
    assert "не совпадает" in page and "упрощённая" in page


def test_lost_passport_is_rejected(proofing, make_citizen):
    citizen = make_citizen(surname="Кузнецова", given_name="Анна")
    services.update_profile(
        citizen,
        {
            **MARIA,
            "surname": "Кузнецова",
            "given_name": "Анна",
            "patronymic": "Сергеевна",
            "birth_date": date(1950, 2, 20),
        },
        ORIGIN,
    )
    services.set_passport(
        citizen,
        {
            **MARIA_PASSPORT,
            "series": "4501",
            "number": "999888",
            "issue_date": date(2000, 3, 1),
            "issuer_code": "770-004",
        },
        ORIGIN,
    )
    assert wait_for(lambda: status(citizen, "passport") == "rejected")
    assert checks.latest_check(citizen.id, "passport").reason == "passport_lost"


def test_registry_down_leaves_checks_pending_then_they_complete(proofing, make_citizen):
    api(
        proofing,
        "PUT",
        "/api/registries/sfr/rule",
        {"default_outcome": "auto", "delay_seconds": 0, "down": "error"},
    )
    citizen = make_citizen(surname="Иванова", given_name="Мария")
    services.update_profile(citizen, MARIA, ORIGIN)
    services.set_snils(citizen, "112-233-445 95", ORIGIN)
    check = checks.latest_check(citizen.id, "snils")
    assert check.status == "queued" and check.next_attempt_at is not None and check.attempts == 1
    assert checks.resend_due_checks(now=utcnow() + timedelta(minutes=1)) == 0  # still down
    db.session.refresh(check)
    assert check.status == "queued" and check.attempts == 2
    assert check.next_attempt_at - utcnow() > timedelta(seconds=15)  # the backoff grows
    api(
        proofing,
        "PUT",
        "/api/registries/sfr/rule",
        {"default_outcome": "auto", "delay_seconds": 0, "down": "none"},
    )
    assert checks.resend_due_checks(now=utcnow() + timedelta(minutes=5)) == 1
    assert wait_for(lambda: status(citizen, "snils") == "approved")


def test_registry_timing_out_is_retried_not_rejected(proofing, portal_app, make_citizen):
    api(
        proofing,
        "PUT",
        "/api/registries/mvd/rule",
        {"default_outcome": "auto", "delay_seconds": 0, "down": "timeout"},
    )
    portal_app.config["REGISTRY_TIMEOUT"] = 0.5
    try:
        citizen = make_citizen(surname="Иванова", given_name="Мария")
        services.update_profile(citizen, MARIA, ORIGIN)
        services.set_passport(citizen, MARIA_PASSPORT, ORIGIN)
        check = checks.latest_check(citizen.id, "passport")
        assert check.status == "queued" and "unreachable" in check.last_error
    finally:
        portal_app.config["REGISTRY_TIMEOUT"] = 5


def test_held_request_decided_by_a_tester(proofing, make_citizen):
    api(
        proofing,
        "PUT",
        "/api/registries/sfr/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    citizen = make_citizen(surname="Иванова", given_name="Мария")
    services.update_profile(citizen, MARIA, ORIGIN)
    services.set_snils(citizen, "112-233-445 95", ORIGIN)
    check = checks.latest_check(citizen.id, "snils")
    assert check.status == "pending"
    time.sleep(0.5)
    db.session.commit()
    assert status(citizen, "snils") == "pending"
    api(
        proofing,
        "POST",
        f"/api/registries/sfr/requests/{check.public_id}/decision",
        {
            "outcome": "rejected",
            "reason": "other",
            "reason_text": "Данные на проверке в территориальном органе",
        },
    )
    assert wait_for(lambda: status(citizen, "snils") == "rejected")
    assert (
        services.reason_text(checks.latest_check(citizen.id, "snils"))
        == "Данные на проверке в территориальном органе"
    )


def test_forged_replayed_and_duplicate_callbacks_change_nothing(
    proofing, portal_server, make_citizen
):
    api(
        proofing,
        "PUT",
        "/api/registries/sfr/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    citizen = make_citizen(surname="Иванова", given_name="Мария")
    services.update_profile(citizen, MARIA, ORIGIN)
    services.set_snils(citizen, "112-233-445 95", ORIGIN)
    check = checks.latest_check(citizen.id, "snils")
    answer = {
        "callback_id": "cb-1",
        "request_id": check.public_id,
        "registry": "sfr",
        "outcome": "approved",
        "reason": None,
        "reason_text": None,
        "answered_at": "2026-11-23T10:00:00Z",
    }

    def post(key, payload, body_headers=None):
        body, headers = body_headers or sign(key, payload)
        req = urllib.request.Request(
            f"{portal_server}/registry-callbacks", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    assert post("not-the-registry-key", answer)[0] == 401
    db.session.commit()
    assert status(citizen, "snils") == "pending"
    signed = sign("test-registry-key-0001", answer)
    assert post(None, None, signed) == (200, {"status": "approved"})
    assert post(None, None, signed) == (200, {"status": "replayed"})
    rejected = {**answer, "callback_id": "cb-2", "outcome": "rejected", "reason": "not_found"}
    assert post("test-registry-key-0001", rejected) == (200, {"status": "already_answered"})
    unknown = {**answer, "callback_id": "cb-3", "request_id": "no-such-request"}
    assert post("test-registry-key-0001", unknown)[0] == 404
    db.session.commit()
    assert status(citizen, "snils") == "approved"


def test_changing_a_verified_field_sends_it_back_to_checking(proofing, make_citizen):
    citizen = make_standard(make_citizen)
    api(
        proofing,
        "PUT",
        "/api/registries/mvd/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    services.set_passport(citizen, {**MARIA_PASSPORT, "number": "123457"}, ORIGIN)
    assert level(citizen) == "simplified" and status(citizen, "passport") == "pending"
    # A new surname re-checks both documents.
    api(
        proofing,
        "PUT",
        "/api/registries/mvd/rule",
        {"default_outcome": "auto", "delay_seconds": 0, "down": "none"},
    )
    services.set_passport(citizen, MARIA_PASSPORT, ORIGIN)
    assert wait_for(lambda: level(citizen) == "standard")
    services.update_profile(citizen, {**MARIA, "surname": "Петрова"}, ORIGIN)
    assert level(citizen) == "simplified"
    assert wait_for(
        lambda: status(citizen, "snils") == "rejected" and status(citizen, "passport") == "rejected"
    )


def test_one_snils_one_account_without_revealing_the_other(proofing, make_citizen):
    make_standard(make_citizen)
    other = make_citizen(surname="Сидорова", given_name="Елена")
    services.update_profile(other, {**MARIA, "surname": "Сидорова", "given_name": "Елена"}, ORIGIN)
    with pytest.raises(services.DuplicateSnils) as error:
        services.set_snils(other, "11223344595", ORIGIN)
    assert "Забыли пароль" in error.value.message and "Иванова" not in error.value.message
    assert db.session.get(Citizen, other.id).snils_index is None


def test_documents_are_masked_until_the_owner_reveals_them(proofing, client, make_citizen):
    make_standard(make_citizen, phone="+79161234567")
    submit(client, "/login", {"login": "+79161234567", "password": "violet-harbour-lamp"})
    page = client.get("/cabinet/documents").get_data(as_text=True)
    assert "***-***-445 95" in page and "112-233-445 95" not in page and "123456" not in page
    revealed = submit(client, "/cabinet/documents", action="/cabinet/documents/reveal").get_data(
        as_text=True
    )
    assert "112-233-445 95" in revealed and "4510 123456" in revealed


def test_bad_document_input_is_explained_and_nothing_is_lost(proofing, client, make_citizen):
    citizen = make_citizen(phone="+79161234567")
    services.update_profile(citizen, MARIA, ORIGIN)
    submit(client, "/login", {"login": "+79161234567", "password": "violet-harbour-lamp"})
    bad = submit(
        client, "/cabinet/documents", {"snils": "112-233-445 96"}, action="/cabinet/documents/snils"
    )
    assert bad.status_code == 422 and "контрольное число" in text_of(bad)
    early = submit(
        client,
        "/cabinet/documents",
        {
            "series": "4510",
            "number": "123456",
            "issue_date": "1995-01-01",
            "issuer": "ОВД",
            "issuer_code": "770-001",
        },
        action="/cabinet/documents/passport",
    )
    assert early.status_code == 422 and "14" in text_of(early)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Document)).scalar_one() == 0
    assert (
        db.session.execute(sa.select(sa.func.count()).select_from(VerificationCheck)).scalar_one()
        == 0
    )


def test_operator_confirms_identity_and_a_stranger_cannot(proofing, app, make_citizen):
    citizen = make_standard(make_citizen)
    operator = make_citizen(surname="Операторова", given_name="Ирина", phone="+79160000009")
    db.session.add(Operator(citizen_id=operator.id, service_centre="МФЦ Пресненский"))
    db.session.commit()
    stranger = make_citizen(surname="Чужой", given_name="Человек", phone="+79160000008")
    with pytest.raises(Forbidden):
        confirmation.find_for_operator(stranger, "112-233-445 95")
    browser = app.test_client()
    submit(browser, "/login", {"login": "+79160000008", "password": "violet-harbour-lamp"})
    assert browser.get("/operator/").status_code == 403
    desk = app.test_client()
    submit(desk, "/login", {"login": "+79160000009", "password": "violet-harbour-lamp"})
    card = submit(desk, "/operator/", {"snils": "112-233-445 95"})
    assert "Иванова Мария Петровна" in text_of(card) and "4510 123456" in text_of(card)
    confirm_action = f"/operator/citizens/{citizen.public_id}/confirm"
    form = next(f for f in forms_of(card.get_data(as_text=True)) if f.action == confirm_action)
    done = desk.post(confirm_action, data=form.fields, follow_redirects=True)
    assert "подтверждена" in text_of(done)
    assert level(citizen) == "confirmed"
    assert db.session.get(Citizen, citizen.id).confirmed_method == "operator"


def test_letter_code_confirms_identity(proofing, make_citizen):
    citizen = make_standard(make_citizen)
    with pytest.raises(ValidationError):
        confirmation.confirm_by_letter(citizen, "AAAA-BBBB", ORIGIN)
    confirmation.request_letter(citizen, ORIGIN)
    letters = wait_for(
        lambda: [
            letter
            for letter in api(proofing, "GET", "/api/post/letters")["letters"]
            if letter["recipient"] == "Иванова Мария Петровна"
        ]
    )
    code = letters[0]["code"]
    with pytest.raises(ValidationError):
        confirmation.confirm_by_letter(citizen, "WRONG123", ORIGIN)
    confirmation.confirm_by_letter(citizen, code.lower(), ORIGIN)
    assert level(citizen) == "confirmed"


def test_letter_code_expires(proofing, make_citizen):
    citizen = make_standard(make_citizen)
    letter = confirmation.request_letter(citizen, ORIGIN)
    code = unseal(letter, "code_encrypted")
    letter.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(ValidationError):
        confirmation.confirm_by_letter(citizen, code, ORIGIN)
    assert level(citizen) == "standard" and db.session.get(LetterCode, letter.id).used_at is None


def test_a_simplified_account_cannot_ask_for_a_letter(proofing, make_citizen):
    citizen = make_citizen()
    with pytest.raises(services.LevelTooLow):
        confirmation.request_letter(citizen, ORIGIN)


# --- the cabinet's start page, documents as cards, dates as Russians write them (issue 16)


def start_tasks(browser) -> str:
    """The text of «Что нужно сделать» on the cabinet's start page."""
    html = browser.get("/cabinet/").get_data(as_text=True)
    section = html[html.index("Что нужно сделать") : html.index('<nav class="card"')]
    return text_of_html(section)


def text_of_html(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def signed_in_browser(app, phone: str):
    browser = app.test_client()
    response = submit(browser, "/login", {"login": phone, "password": "violet-harbour-lamp"})
    assert response.status_code == 302
    return browser


def test_the_start_page_says_what_to_do_next_at_each_level(proofing, app, make_citizen):
    citizen = make_citizen(phone="+79161234567")
    browser = signed_in_browser(app, "+79161234567")
    assert "Личные данные не заполнены" in start_tasks(browser)
    assert 'href="/cabinet/profile"' in browser.get("/cabinet/").get_data(as_text=True)

    api(
        proofing,
        "PUT",
        "/api/registries/mvd/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    services.update_profile(citizen, MARIA, ORIGIN)
    services.set_passport(citizen, MARIA_PASSPORT, ORIGIN)
    tasks = start_tasks(browser)
    assert "Личные данные" not in tasks
    assert "СНИЛС (Социальный фонд) не указан" in tasks  # not entered yet: add it
    assert "Паспорт (МВД России) на проверке" in tasks

    api(
        proofing,
        "POST",
        f"/api/registries/mvd/requests/{checks.latest_check(citizen.id, 'passport').public_id}/decision",
        {"outcome": "rejected", "reason": "other", "reason_text": "Паспорт недействителен"},
    )
    assert wait_for(lambda: status(citizen, "passport") == "rejected")
    tasks = start_tasks(browser)
    assert "Паспорт (МВД России) не подтверждено Паспорт недействителен Исправить" in tasks

    db.session.get(Citizen, citizen.id).level = "confirmed"
    db.session.commit()
    assert start_tasks(browser).endswith("Сейчас от вас ничего не требуется.")


def test_an_operator_signs_in_to_the_console(app, make_citizen):
    operator = make_citizen(surname="Операторова", given_name="Ирина", phone="+79160000009")
    db.session.add(Operator(citizen_id=operator.id, service_centre="МФЦ Пресненский"))
    db.session.commit()
    make_citizen(phone="+79160000008")
    desk = app.test_client()
    signed = submit(desk, "/login", {"login": "+79160000009", "password": "violet-harbour-lamp"})
    assert signed.headers["Location"] == "/operator/"
    assert 'href="/operator/"' in desk.get("/cabinet/").get_data(as_text=True)  # the menu
    citizen = app.test_client()
    signed = submit(citizen, "/login", {"login": "+79160000008", "password": "violet-harbour-lamp"})
    assert signed.headers["Location"] == "/cabinet/"
    assert 'href="/operator/"' not in citizen.get("/cabinet/").get_data(as_text=True)
    # A sign-in that came from somewhere goes back there, operator or not.
    back = submit(
        app.test_client(),
        "/login?next=/cabinet/documents",
        {"login": "+79160000009", "password": "violet-harbour-lamp"},
    )
    assert back.headers["Location"] == "/cabinet/documents"


def test_documents_are_cards_and_their_forms_only_change_them(proofing, app, make_citizen):
    """A verified document is a card with its masked number; its form waits behind
    «Изменить». A missing one is its form."""
    citizen = make_citizen(phone="+79161234567")
    services.update_profile(citizen, MARIA, ORIGIN)
    browser = signed_in_browser(app, "+79161234567")
    empty = browser.get("/cabinet/documents").get_data(as_text=True)
    snils_card = empty[empty.index('id="doc-snils"') : empty.index('id="doc-passport"')]
    assert 'name="snils"' in snils_card and "<details" not in snils_card

    services.set_snils(citizen, "112-233-445 95", ORIGIN)
    services.set_passport(citizen, MARIA_PASSPORT, ORIGIN)
    assert wait_for(lambda: level(citizen) == "standard")
    html = browser.get("/cabinet/documents").get_data(as_text=True)
    snils_card = html[html.index('id="doc-snils"') : html.index('id="doc-passport"')]
    assert '<p class="number">***-***-445 95</p>' in snils_card
    assert '<span class="badge current">подтверждено</span>' in snils_card
    details = snils_card.index('<details class="change">')
    assert details < snils_card.index('name="snils"')  # the form, folded
    passport_card = html[html.index('id="doc-passport"') : html.index('id="other-documents"')]
    assert "Дата выдачи" in passport_card and "01.04.2005" in passport_card
    assert "2005-04-01" not in html
    # A mistake in a change opens its form again, with the message.
    bad = submit(
        browser,
        "/cabinet/documents",
        {"snils": "112-233-445 96"},
        action="/cabinet/documents/snils",
    )
    assert bad.status_code == 422 and '<details class="change" open>' in bad.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["14.03.1985", "1985-03-14"])
def test_dates_are_typed_and_shown_as_russians_write_them(app, make_citizen, typed):
    make_citizen(phone="+79161234567")
    browser = signed_in_browser(app, "+79161234567")
    form = browser.get("/cabinet/profile").get_data(as_text=True)
    field = re.search(r'<input[^>]*id="birth_date"[^>]*>', form).group(0)
    assert 'inputmode="numeric"' in field and 'placeholder="ДД.ММ.ГГГГ"' in field
    assert 'type="date"' not in field
    profile = {**MARIA, "birth_date": typed, "actual_address": ""}
    assert submit(browser, "/cabinet/profile", profile).status_code == 302
    again = browser.get("/cabinet/profile").get_data(as_text=True)
    assert 'value="14.03.1985"' in again
    wrong = submit(browser, "/cabinet/profile", {**profile, "birth_date": "14/03/85"})
    assert wrong.status_code == 422 and "Введите дату в формате ДД.ММ.ГГГГ." in text_of(wrong)
