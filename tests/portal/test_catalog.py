"""The service catalog and the application "Access to the student's electronic diary".

The region's diary is stood in for by a tiny real HTTP server (its list of schools and its
``/federation/events`` endpoint, which keeps the signed messages it receives); the
diary's status messages reach the portal through its real ``/federation/events`` with
the Basic authentication of a registered client. Notifications land in the simulator's
inbox.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.wrappers import Request, Response

from portal.catalog import search, services
from portal.catalog.models import ApplicationEvent, ServiceApplication
from portal.extensions import db
from portal.family.models import Child, ParentLink
from portal.federation.models import FederationMessage
from portal.federation.services import deliver_due
from portal.oidc import services as oidc
from portal.oidc.keys import jwks
from portal.oidc.tokens import issuer
from portal.proofing.services import LevelTooLow
from shared.crypto import pii, seal
from shared.errors import ValidationError
from shared.sessions import utcnow
from shared.validators import normalize_snils
from shared.workdays import add_working_days
from tests.conftest import LiveServer, free_port
from tests.helpers import csrf_on, forms_of, portal_client_signed_in, submit, text_of
from tests.portal.oidc_helpers import basic

DEMO, SECOND = "diary-demo-region", "diary-demo-region-2"
SCHOOLS = [
    {"id": 1, "name": "СОШ № 1", "short_name": "СОШ № 1", "address": "ул. Школьная, 1"},
    {"id": 2, "name": "Гимназия № 2", "short_name": "Гимназия № 2", "address": None},
]
DIARY_TITLE = "Доступ к электронному дневнику учащегося"


class FakeDiary:
    """A region's diary as the portal sees it over HTTP."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.schools_up = True
        self.events_up = True
        self.tokens: list[str] = []
        self.answer: dict | None = None  # None: "received" now, with the term

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/federation/schools" and self.schools_up:
            response = Response(json.dumps({"schools": SCHOOLS}), mimetype="application/json")
        elif request.path == "/federation/events" and request.method == "POST" and self.events_up:
            self.tokens.append(request.get_data(as_text=True))
            response = Response(json.dumps(self._answer()), mimetype="application/json")
        else:
            response = Response("unavailable", status=503)
        return response(environ, start_response)

    def _answer(self) -> dict:
        if self.answer is not None:
            return self.answer
        now = datetime.now(UTC)
        return {
            "status": "received",
            "received_at": now.isoformat(),
            "deadline": services.expected_deadline(now.replace(tzinfo=None)).isoformat(),
        }


@pytest.fixture(scope="module")
def diary_server():
    fake = FakeDiary()
    with LiveServer(fake) as live:
        yield fake, live.url


@pytest.fixture
def diary(app, diary_server, monkeypatch):
    """The demo region answers; the second region's diary is not running at all."""
    fake, url = diary_server
    fake.reset()
    monkeypatch.setitem(
        app.config,
        "DIARY_REGIONS",
        [
            {"code": "demo", "name": "Демонстрационная область", "url": url, "client_id": DEMO},
            {
                "code": "zarechnaya",
                "name": "Заречная область",
                "url": f"http://127.0.0.1:{free_port()}/",
                "client_id": SECOND,
            },
        ],
    )
    return fake


@pytest.fixture
def clients(app) -> dict[str, str]:
    """The two diaries registered at the portal: client id → secret."""
    return {
        client_id: oidc.create_client(
            name=client_id, redirect_uris=["https://diary.example.ru/callback"], client_id=client_id
        ).secret
        for client_id in (DEMO, SECOND)
    }


def standard(make_citizen, snils: str = "112-233-445 95", **fields):
    citizen = make_citizen(patronymic="Петровна", snils=snils, **fields)
    citizen.level = "standard"
    db.session.commit()
    return citizen


def child_of(parent, snils: str = "050-234-316 00", verified: bool = True, **fields) -> Child:
    digits = normalize_snils(snils)
    child = Child(
        surname=fields.get("surname", "Иванов"),
        given_name=fields.get("given_name", "Пётр"),
        patronymic="Сергеевич",
        birth_date=date(2014, 9, 2),
        gender="M",
        snils_index=pii().blind_index(digits, field="snils"),
        certificate_details={"issue_date": "2014-09-20", "registry_office": "ЗАГС"},
        snils_verified_at=utcnow(),
    )
    db.session.add(child)
    seal(child, snils_encrypted=digits, certificate_encrypted="IV-МЮ 512345")
    db.session.add(
        ParentLink(
            parent_id=parent.id,
            child_id=child.id,
            relation_verified_at=utcnow() if verified else None,
        )
    )
    db.session.commit()
    return child


def count(model) -> int:
    db.session.commit()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def post_application(browser, child: str, region: str, school: str, confirmed: str = "yes"):
    """The confirmation page's form, as the browser sends it."""
    return browser.post(
        "/services/diary-access/apply",
        data={
            "csrf_token": csrf_on(browser, "/cabinet/service-applications"),
            "child": child,
            "region": region,
            "school": school,
            "confirmed": confirmed,
        },
    )


def apply(parent, child, school: int = 1):
    application = services.submit_application(parent, child.public_id, "demo", str(school))
    db.session.commit()
    return application


def report(app, secret: str, data: dict, client_id: str = DEMO):
    return app.test_client().post(
        "/federation/events",
        json={"event": "application.status", "data": data},
        headers=basic(client_id, secret),
    )


def at(minutes: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


# --- the catalog -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "дневник",
        "Электронный дневник",
        "ДОСТУП К ДНЕВНИКУ",
        "электронного дневника",
        "diary",
        "E-Diary",
        "access to the diary",
        "оценки",
    ],
)
def test_search_finds_the_diary_service(client, query):
    page = text_of(client.get("/services", query_string={"q": query}))
    assert DIARY_TITLE in page
    assert "Место в детском саду" not in page and "ничего не найдено" not in page


def test_search_in_english_shows_english_titles(client):
    page = text_of(
        client.get("/services", query_string={"q": "дневник"}, headers={"Accept-Language": "en"})
    )
    assert "Access to the student's electronic diary" in page


def test_search_with_nothing_found_says_so(client):
    page = text_of(client.get("/services", query_string={"q": "загранпаспорт"}))
    assert "По запросу «загранпаспорт» ничего не найдено" in page
    assert DIARY_TITLE not in page and "Показать все услуги" in page


def test_the_whole_catalog_without_a_query_is_honest_about_what_is_online(client):
    page = text_of(client.get("/services"))
    for title in (
        DIARY_TITLE,
        "Запись ребёнка в первый класс",
        "Место в детском саду",
        "Запись в кружки и на дополнительное образование",
        "Результаты государственной итоговой аттестации (ОГЭ, ЕГЭ)",
    ):
        assert title in page
    assert page.count("в этом демо онлайн недоступна") == 4
    assert [s.slug for s in search.search("образование")] == [s.slug for s in search.search("")]


def test_the_diary_card_reads_like_gosuslugi(client, diary):
    response = client.get("/services/diary-access")
    page = text_of(response)
    for text in (
        "Кто может подать заявление",
        "Онлайн на портале: выберите ребёнка, регион и школу.",
        "Лично в школе",
        "Стоимость Бесплатно",
        "3 рабочих дня со дня получения заявления школой",
        "Основания для отказа",
        "Ребёнок не учится в выбранной школе.",
        "Результат",
        "Демонстрационная область",
        "Заречная область",
        "войдите со стандартной учётной записью",
    ):
        assert text in page
    assert "/services/diary-access/apply" not in response.get_data(as_text=True)


def test_a_card_not_available_online_has_no_apply_button(app, client, make_citizen):
    response = client.get("/services/first-grade")
    assert "В этом демо услуга онлайн недоступна" in text_of(response)
    assert "/apply" not in response.get_data(as_text=True)
    browser = portal_client_signed_in(app, standard(make_citizen).phone)
    assert browser.get("/services/first-grade/apply").status_code == 404
    assert client.get("/services/no-such-service").status_code == 404


# --- who may apply -----------------------------------------------------------------------


def test_a_simplified_account_gets_the_next_step_not_the_form(app, diary, make_citizen):
    citizen = make_citizen()
    child_of(citizen)  # even with a verified child (a level that dropped)
    browser = portal_client_signed_in(app, citizen.phone)
    card = browser.get("/services/diary-access")
    assert "Подтвердить учётную запись" in text_of(card)
    assert "/services/diary-access/apply" not in card.get_data(as_text=True)
    refused = browser.get("/services/diary-access/apply", follow_redirects=True)
    assert "нужна стандартная учётная запись" in text_of(refused)
    child = db.session.execute(sa.select(Child)).scalar_one()
    response = post_application(browser, child.public_id, "demo", "1")
    assert response.status_code == 302 and response.location.endswith("/services/diary-access")
    with pytest.raises(LevelTooLow):
        services.submit_application(citizen, child.public_id, "demo", "1")
    assert count(ServiceApplication) == 0 and diary.tokens == []


def test_a_stranger_cannot_apply_for_someone_elses_child(app, diary, make_citizen):
    parent = standard(make_citizen)
    child = child_of(parent)
    stranger = standard(make_citizen, snils="987-654-321 83")
    browser = portal_client_signed_in(app, stranger.phone)
    choose = browser.get(
        "/services/diary-access/apply", query_string={"child": child.public_id, "region": "demo"}
    )
    assert choose.status_code == 422
    assert "Иванов Пётр" not in text_of(choose) and "СОШ № 1" not in text_of(choose)
    response = post_application(browser, child.public_id, "demo", "1")
    assert response.status_code == 422
    assert "Выберите одного из своих детей, проверенных на портале." in text_of(response)
    assert "Иванов Пётр" not in text_of(response)
    with pytest.raises(ValidationError):
        services.submit_application(stranger, child.public_id, "demo", "1")
    assert count(ServiceApplication) == 0 and count(FederationMessage) == 0 and not diary.tokens


def test_a_child_not_yet_verified_for_this_parent_cannot_be_chosen(app, diary, make_citizen):
    parent = standard(make_citizen)
    child = child_of(parent, verified=False)
    browser = portal_client_signed_in(app, parent.phone)
    page = text_of(browser.get("/services/diary-access/apply"))
    assert "У вас пока нет проверенных детей" in page
    assert post_application(browser, child.public_id, "demo", "1").status_code == 422
    assert count(ServiceApplication) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"school": ""}, "Выберите школу."),
        ({"school": "999"}, "Выберите школу из списка."),
        ({"school": "один"}, "Выберите школу из списка."),
        ({"region": "atlantis"}, "Выберите регион из списка."),
        ({"child": ""}, "Выберите ребёнка."),
    ],
)
def test_bad_choices_are_explained_in_russian_and_change_nothing(
    app, diary, make_citizen, change, message
):
    parent = standard(make_citizen)
    child = child_of(parent)
    browser = portal_client_signed_in(app, parent.phone)
    chosen = {"child": child.public_id, "region": "demo", "school": "1", **change}
    response = post_application(browser, **chosen)
    assert response.status_code == 422
    assert message in text_of(response)
    assert count(ServiceApplication) == 0 and count(FederationMessage) == 0 and not diary.tokens


# --- applying ----------------------------------------------------------------------------


def test_a_parent_applies_and_the_diary_receives_the_signed_message(
    app, diary, make_citizen, inbox
):
    parent = standard(make_citizen, email="maria@example.ru")
    child = child_of(parent)
    browser = portal_client_signed_in(app, parent.phone)

    card = browser.get("/services/diary-access")
    assert "/services/diary-access/apply" in card.get_data(as_text=True)
    first = text_of(browser.get("/services/diary-access/apply"))
    assert "Иванов Пётр Сергеевич, 02.09.2014" in first and "СОШ № 1" not in first
    schools = browser.get(
        "/services/diary-access/apply", query_string={"child": child.public_id, "region": "demo"}
    )
    assert "СОШ № 1 (ул. Школьная, 1)" in text_of(schools) and "Гимназия № 2" in text_of(schools)
    review = submit(
        browser,
        f"/services/diary-access/apply?child={child.public_id}&region=demo",
        {"school": "2"},
        action="/services/diary-access/apply",
    )
    assert review.status_code == 200
    summary = text_of(review)
    assert "Проверьте заявление" in summary and "Гимназия № 2" in summary
    assert "Демонстрационная область" in summary and "112-233-445 95" not in summary
    assert count(ServiceApplication) == 0  # nothing is sent before the parent confirms
    [confirm] = [
        f for f in forms_of(review.get_data(as_text=True)) if f.fields.get("confirmed") == "yes"
    ]
    assert (confirm.fields["child"], confirm.fields["region"], confirm.fields["school"]) == (
        child.public_id,
        "demo",
        "2",
    )
    response = browser.post(confirm.action, data=confirm.fields)
    assert response.status_code == 302
    application = db.session.execute(sa.select(ServiceApplication)).scalar_one()
    assert response.location.endswith(f"/cabinet/service-applications/{application.public_id}")
    assert (application.citizen_id, application.child_id) == (parent.id, child.id)
    assert (application.region_code, application.client_id) == ("demo", DEMO)
    assert (application.school_id, application.school_name) == (2, "Гимназия № 2")
    # The diary answered at once: received, with the term by the production calendar.
    assert application.status == "received"
    moscow_today = datetime.now(UTC).astimezone(services.TERM_TIMEZONE).date()
    assert application.deadline == add_working_days(moscow_today, 3)
    assert [e.status for e in application.events] == ["sent", "received"]

    message = db.session.execute(sa.select(FederationMessage)).scalar_one()
    assert (message.event, message.target, message.key) == (
        "application.submitted",
        DEMO,
        application.public_id,
    )
    assert message.delivered_at is not None
    [token] = diary.tokens
    decoded = jwt.decode(token, KeySet.import_key_set(jwks()))
    assert decoded.header["typ"] == "federation+jwt"
    claims = decoded.claims
    assert (claims["iss"], claims["aud"], claims["event"]) == (
        issuer(),
        DEMO,
        "application.submitted",
    )
    data = claims["data"]
    assert data["submitted_at"].endswith("Z")
    assert data == {
        "id": application.public_id,
        "service": "diary-access",
        "submitted_at": data["submitted_at"],
        "school_id": 2,
        "applicant": {
            "sub": parent.public_id,
            "family_name": "Иванова",
            "given_name": "Мария",
            "middle_name": "Петровна",
            "snils": "112-233-445 95",
            "phone": parent.phone,
            "email": "maria@example.ru",
        },
        "child": {
            "id": child.public_id,
            "family_name": "Иванов",
            "given_name": "Пётр",
            "middle_name": "Сергеевич",
            "birthdate": "2014-09-02",
            "gender": "male",
            "snils": "050-234-316 00",
        },
    }

    told = inbox.wait_for("maria@example.ru")
    assert any("Школа получила заявление" in m["body"] for m in told)
    assert all("445 95" not in m["body"] for m in told)
    deadline = application.deadline.strftime("%d.%m.%Y")
    assert any(f"до {deadline}" in m["body"] for m in told)

    listing = text_of(browser.get("/cabinet/service-applications"))
    for text in (
        DIARY_TITLE,
        "Иванов Пётр Сергеевич",
        "Демонстрационная область",
        "Гимназия № 2",
        "получено школой",
        f"решение до {deadline} (3 рабочих дня)",
    ):
        assert text in listing
    detail = text_of(browser.get(f"/cabinet/service-applications/{application.public_id}"))
    assert f"Заявление № {application.number}" in detail
    assert "отправлено" in detail and "получено школой" in detail


def test_the_diary_refusing_an_unknown_school_in_its_answer(app, diary, make_citizen, inbox):
    parent = standard(make_citizen, email="maria@example.ru")
    child = child_of(parent)
    diary.answer = {"status": "refused", "reason": "Школа не ведёт приём заявлений."}
    application = apply(parent, child)
    assert application.status == "refused"
    assert application.reason == "Школа не ведёт приём заявлений."
    assert application.deadline is None
    assert any(
        "Школа отказала" in m["body"] and "не ведёт приём" in m["body"]
        for m in inbox.wait_for("maria@example.ru")
    )


def test_a_second_open_application_for_the_child_and_school_is_refused(
    app, diary, make_citizen, clients
):
    parent = standard(make_citizen)
    child = child_of(parent)
    apply(parent, child)
    browser = portal_client_signed_in(app, parent.phone)
    response = post_application(browser, child.public_id, "demo", "1")
    assert response.status_code == 422
    assert "У вас уже есть заявление по этому ребёнку в эту школу" in text_of(response)
    assert count(ServiceApplication) == 1 and len(diary.tokens) == 1
    assert count(FederationMessage) == 1


def test_two_sends_at_once_file_one_application(app, diary, make_citizen, monkeypatch):
    parent = standard(make_citizen)
    child = child_of(parent)
    apply(parent, child)
    # The second request checked before the first one was stored: the database refuses.
    monkeypatch.setattr(services, "_open_application", lambda *args: None)
    with pytest.raises(services.DuplicateApplication):
        apply(parent, child)
    assert count(ServiceApplication) == 1 and count(FederationMessage) == 1
    assert len(diary.tokens) == 1


def test_after_a_refusal_the_parent_may_apply_again(app, diary, make_citizen, clients):
    parent = standard(make_citizen)
    child = child_of(parent)
    first = apply(parent, child)
    # Another school is another application; once refused, the first may be filed anew.
    apply(parent, child, school=2)
    assert status_from_diary(app, clients[DEMO], first, "refused", "Нет мест.") == 200
    apply(parent, child)
    assert count(ServiceApplication) == 3


def test_an_unanswering_diary_keeps_the_choices_and_sends_nothing(app, diary, make_citizen):
    parent = standard(make_citizen)
    child = child_of(parent)
    browser = portal_client_signed_in(app, parent.phone)
    page = browser.get(
        "/services/diary-access/apply",
        query_string={"child": child.public_id, "region": "zarechnaya"},
    )
    html = page.get_data(as_text=True)
    assert "Список школ региона «Заречная область» сейчас недоступен" in text_of(page)
    assert f'value="{child.public_id}" checked' in html
    assert 'value="zarechnaya" selected' in html
    diary.schools_up = False
    response = post_application(browser, child.public_id, "demo", "1")
    assert response.status_code == 503
    assert "Список школ региона «Демонстрационная область» сейчас недоступен" in text_of(response)
    assert f'value="{child.public_id}" checked' in response.get_data(as_text=True)
    assert count(ServiceApplication) == 0 and not diary.tokens


def test_an_application_the_diary_never_receives_ends_undelivered(app, diary, make_citizen, inbox):
    parent = standard(make_citizen, email="maria@example.ru")
    child = child_of(parent)
    diary.events_up = False
    application = apply(parent, child)
    assert application.status == "sent"
    message = db.session.execute(sa.select(FederationMessage)).scalar_one()
    assert message.delivered_at is None and message.next_attempt_at is not None
    # A week of retries later (the diary still down), the portal gives up.
    message.created_at -= timedelta(days=8)
    message.next_attempt_at = utcnow()
    db.session.commit()
    deliver_due()
    db.session.commit()
    db.session.refresh(application)
    assert application.status == "undelivered"
    assert any("не удалось доставить" in m["body"] for m in inbox.wait_for("maria@example.ru"))
    browser = portal_client_signed_in(app, parent.phone)
    assert "не доставлено" in text_of(browser.get("/cabinet/service-applications"))


# --- statuses from the diary ---------------------------------------------------------------


def statuses(application) -> list[str]:
    db.session.commit()
    return list(
        db.session.execute(
            sa.select(ApplicationEvent.status)
            .where(ApplicationEvent.application_id == application.id)
            .order_by(ApplicationEvent.id)
        ).scalars()
    )


def status_from_diary(app, secret, application, status, reason=None, minutes=0) -> int:
    data = {"id": application.public_id, "status": status, "reason": reason, "at": at(minutes)}
    return report(app, secret, data).status_code


def test_the_school_considers_then_approves(app, diary, make_citizen, clients, inbox):
    parent = standard(make_citizen, email="maria@example.ru")
    child = child_of(parent)
    application = apply(parent, child)
    secret = clients[DEMO]
    response = report(app, secret, {"id": application.public_id, "status": "in_progress"})
    assert (response.status_code, response.get_json()) == (200, {"ok": True})
    assert status_from_diary(app, secret, application, "in_progress") == 200  # a repeat
    assert statuses(application) == ["sent", "received", "in_progress"]
    assert status_from_diary(app, secret, application, "done", minutes=1) == 200
    assert statuses(application) == ["sent", "received", "in_progress", "done"]
    # Final is final: neither an older status nor a refusal changes it.
    assert status_from_diary(app, secret, application, "in_progress") == 200
    assert status_from_diary(app, secret, application, "refused", "Поздно", minutes=2) == 200
    db.session.refresh(application)
    assert (application.status, application.reason) == ("done", None)
    assert statuses(application) == ["sent", "received", "in_progress", "done"]
    bodies = [m["body"] for m in inbox.wait_for("maria@example.ru", count=3)]
    assert any("Школа рассматривает заявление" in body for body in bodies)
    assert any("одобрено" in body and "Демонстрационная область" in body for body in bodies)
    browser = portal_client_signed_in(app, parent.phone)
    page = text_of(browser.get(f"/cabinet/service-applications/{application.public_id}"))
    assert "исполнено: доступ предоставлен" in page and "решение до" not in page


def test_a_refusal_carries_the_schools_reason(app, diary, make_citizen, clients, inbox):
    parent = standard(make_citizen, email="maria@example.ru")
    child = child_of(parent)
    application = apply(parent, child)
    reason = "Ребёнок не числится в школе."
    assert status_from_diary(app, clients[DEMO], application, "refused", reason) == 200
    db.session.refresh(application)
    assert (application.status, application.reason) == ("refused", reason)
    assert status_from_diary(app, clients[DEMO], application, "done", minutes=1) == 200
    db.session.refresh(application)
    assert application.status == "refused"
    assert any(reason in m["body"] for m in inbox.wait_for("maria@example.ru", count=2))
    browser = portal_client_signed_in(app, parent.phone)
    listing = text_of(browser.get("/cabinet/service-applications"))
    assert "отказано" in listing and f"Причина: {reason}" in listing
    english = browser.get("/cabinet/service-applications", headers={"Accept-Language": "en"})
    assert "refused" in text_of(english) and f"Reason: {reason}" in text_of(english)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"status": "refused", "reason": " "}, 400),  # a refusal without a reason
        ({"status": "received"}, 400),  # not something the diary reports by message
        ({"status": "done", "at": "yesterday"}, 400),
        ({"status": "done", "id": "00000000-0000-0000-0000-000000000000"}, 404),
    ],
)
def test_bad_status_messages_are_refused(app, diary, make_citizen, clients, data, status):
    parent = standard(make_citizen)
    application = apply(parent, child_of(parent))
    response = report(app, clients[DEMO], {"id": application.public_id, "at": at(), **data})
    assert response.status_code == status
    db.session.refresh(application)
    assert application.status == "received"


def test_only_the_diary_the_application_went_to_may_report(app, diary, make_citizen, clients):
    parent = standard(make_citizen)
    application = apply(parent, child_of(parent))
    message = {"id": application.public_id, "status": "done", "at": at()}
    other = report(app, clients[SECOND], message, client_id=SECOND)
    assert other.status_code == 404
    assert report(app, "wrong-secret", message).status_code == 401
    anonymous = app.test_client().post(
        "/federation/events", json={"event": "application.status", "data": message}
    )
    assert anonymous.status_code == 401
    db.session.refresh(application)
    assert application.status == "received"


# --- the cabinet ---------------------------------------------------------------------------


def test_only_the_applicant_sees_their_applications(app, diary, make_citizen):
    parent = standard(make_citizen)
    application = apply(parent, child_of(parent))
    stranger = portal_client_signed_in(app, standard(make_citizen, snils="987-654-321 83").phone)
    assert "Иванов Пётр" not in text_of(stranger.get("/cabinet/service-applications"))
    assert "У вас пока нет заявлений." in text_of(stranger.get("/cabinet/service-applications"))
    assert stranger.get(f"/cabinet/service-applications/{application.public_id}").status_code == 404
    anonymous = app.test_client().get(f"/cabinet/service-applications/{application.public_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_the_cabinet_links_to_the_catalog_and_my_applications(app, make_citizen):
    browser = portal_client_signed_in(app, make_citizen().phone)
    html = browser.get("/cabinet/").get_data(as_text=True)
    assert 'href="/services"' in html and 'href="/cabinet/service-applications"' in html
    assert 'href="/services"' in app.test_client().get("/").get_data(as_text=True)


# --- the cabinet's start page and the children's diaries (issue 16) ---------------------


def tasks_of(browser) -> list[str]:
    """The items of «Что нужно сделать» on the cabinet's start page, as text."""
    html = browser.get("/cabinet/").get_data(as_text=True)
    return [_visible_text(item) for item in re.findall(r'<li class="task">(.*?)</li>', html, re.S)]


def _visible_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_start_page_lists_applications_waiting_for_the_school(
    app, diary, make_citizen, clients
):
    parent = standard(make_citizen)
    application = apply(parent, child_of(parent))
    browser = portal_client_signed_in(app, parent.phone)
    [task] = [t for t in tasks_of(browser) if "Заявление №" in t]
    assert f"Заявление № {application.number}: {DIARY_TITLE}" in task
    assert "получено школой" in task
    assert f"решение — до {application.deadline.strftime('%d.%m.%Y')}" in task
    assert f'href="/cabinet/service-applications/{application.public_id}"' in browser.get(
        "/cabinet/"
    ).get_data(as_text=True)
    # Once the school has decided, nothing is left to wait for.
    assert status_from_diary(app, clients[DEMO], application, "done") == 200
    assert not [t for t in tasks_of(browser) if "Заявление №" in t]


def diary_links_of(page) -> dict[str, str]:
    """The children page's diary links of the one child: region → the text after it."""
    html = page.get_data(as_text=True)
    return {
        region: _visible_text(after).split("Открыть дневник")[0].strip()
        for region, after in re.findall(r">Открыть дневник: ([^<]+)</a>(.*?)</li>", html, re.S)
    }


def test_a_childs_diary_links_go_where_the_parent_applied(app, diary, make_citizen, clients):
    """The portal keeps no record of schools: before any application each region's
    diary is offered «если ребёнок учится в этом регионе»; after one, the region applied
    to comes first, without the caveat, and the others wait under «Другие регионы»."""
    parent = standard(make_citizen)
    child = child_of(parent)
    browser = portal_client_signed_in(app, parent.phone)
    caveat = "если ребёнок учится в этом регионе"
    before = browser.get("/cabinet/children/")
    assert diary_links_of(before) == {
        "Демонстрационная область": caveat,
        "Заречная область": caveat,
    }
    assert "Портал не знает, где учится ребёнок" in text_of(before)

    application = apply(parent, child)
    after = browser.get("/cabinet/children/")
    assert diary_links_of(after) == {
        "Демонстрационная область": "заявление рассматривается",
        "Заречная область": caveat,
    }
    html = after.get_data(as_text=True)
    assert html.index("Демонстрационная область") < html.index("Другие регионы")
    assert html.index("Другие регионы") < html.index("Открыть дневник: Заречная область")

    assert status_from_diary(app, clients[DEMO], application, "done") == 200
    assert diary_links_of(browser.get("/cabinet/children/"))["Демонстрационная область"] == ""
    # A refused application tells nothing about the school: back to the caveat.
    db.session.refresh(application)
    application.status = "refused"
    db.session.commit()
    assert diary_links_of(browser.get("/cabinet/children/")) == {
        "Демонстрационная область": caveat,
        "Заречная область": caveat,
    }
