"""Signed answers: a class teacher's request, the parents' answers after a step-up
sign-in at the portal (confirmed level, ``max_age=0``), the results and who is refused.

Most tests drive the diary's test client with the session a sign-in would leave (the
``acr`` and ``auth_time`` the portal vouched for, the step-up's carried answer); the last
two walk the real step-up through the live portal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, timedelta
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa

from diary_service.access import viewer_for
from diary_service.answers import services
from diary_service.auth import oidc
from diary_service.extensions import db
from diary_service.models.answers import Answer, AnswerRequest
from portal.extensions import db as portal_db
from portal.identity.models import Citizen
from shared.errors import Forbidden, ValidationError
from shared.sessions import utcnow
from tests.diary_service.factories import build_world
from tests.diary_service.test_auth import (
    Browser,
    Diary,
    Page,
    registered_diary,
)
from tests.helpers import diary_csrf, forms_of, region_today, submit, text_of

CONFIRMED = "urn:gosdiary:acr:confirmed"
STANDARD = "urn:gosdiary:acr:standard"


@pytest.fixture
def world(diary):
    return build_world()


@pytest.fixture
def ask(world) -> AnswerRequest:
    """An open request to the parents of 6А (Пётр's parent, Маша's parent2)."""
    request = AnswerRequest(
        class_id=world.one.classes["6А"].id,
        title="Экскурсия в музей",
        text="Поездка 1 декабря",
        options=["Согласен", "Не согласен"],
        deadline=region_today() + timedelta(days=7),
        created_by_id=world.one.staff["teacher"].id,
    )
    db.session.add(request)
    db.session.commit()
    return request


def signed(client, acr: str = CONFIRMED, age: int = 10, carry: dict | None = None):
    """Leave in the client's session what a sign-in ``age`` seconds ago at ``acr`` would."""
    with client.session_transaction() as session:
        session["acr"] = acr
        session["auth_time"] = int(time.time()) - age
        if carry is not None:
            session[oidc.STEP_UP_CARRY] = carry
    return client


def answers() -> list[Answer]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(Answer).order_by(Answer.id)).scalars())


def answer_data(client, ask, student, choice="Согласен", comment="") -> dict:
    page = client.get(f"/answers/requests/{ask.id}")
    assert page.status_code == 200
    form = next(
        f
        for f in forms_of(page.get_data(as_text=True))
        if f.method == "post" and f.action == f"/answers/requests/{ask.id}"
    )
    return {**form.fields, "student": str(student.id), "choice": choice, "comment": comment}


# --- rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "age, fresh",
    [(0, True), (299, True), (301, False), (-30, True), (-120, False), (None, False)],
)
def test_a_sign_in_is_fresh_for_five_minutes(age, fresh):
    now = utcnow().replace(microsecond=0)
    # utcnow is naive UTC: read it as UTC, not as local time, to get the epoch seconds.
    stamp = None if age is None else int(now.replace(tzinfo=UTC).timestamp()) - age
    assert services.is_fresh(stamp, now) is fresh


def test_record_answer_rules(world, ask):
    parent = viewer_for(world.people["parent"])
    petr, masha = world.one.students["petr"], world.one.students["masha"]
    now, today = utcnow(), region_today()
    fresh = int(time.time())
    common = dict(comment="", now=now, today=today)
    with pytest.raises(Forbidden):  # not her child
        services.record_answer(
            parent,
            ask,
            student_id=masha.id,
            choice="Согласен",
            acr=CONFIRMED,
            auth_time=fresh,
            **common,
        )
    with pytest.raises(ValidationError):
        services.record_answer(
            parent,
            ask,
            student_id=petr.id,
            choice="Может быть",
            acr=CONFIRMED,
            auth_time=fresh,
            **common,
        )
    with pytest.raises(services.ConfirmedAccountNeeded):
        services.record_answer(
            parent,
            ask,
            student_id=petr.id,
            choice="Согласен",
            acr=STANDARD,
            auth_time=fresh,
            **common,
        )
    with pytest.raises(services.FreshSignInNeeded):
        services.record_answer(
            parent,
            ask,
            student_id=petr.id,
            choice="Согласен",
            acr=CONFIRMED,
            auth_time=fresh - 600,
            **common,
        )
    assert answers() == []
    given = services.record_answer(
        parent,
        ask,
        student_id=petr.id,
        choice="Согласен",
        acr=CONFIRMED,
        auth_time=fresh,
        **common,
    )
    assert (given.acr, given.person_id, given.student_id) == (
        CONFIRMED,
        world.people["parent"].id,
        petr.id,
    )
    with pytest.raises(services.AlreadyAnswered):
        services.record_answer(
            parent,
            ask,
            student_id=petr.id,
            choice="Не согласен",
            acr=CONFIRMED,
            auth_time=fresh,
            **common,
        )
    with pytest.raises(services.RequestClosed):
        services.record_answer(
            viewer_for(world.people["parent2"]),
            ask,
            student_id=masha.id,
            choice="Согласен",
            acr=CONFIRMED,
            auth_time=fresh,
            comment="",
            now=now,
            today=ask.deadline + timedelta(days=1),
        )
    assert len(answers()) == 1


# --- the class teacher -----------------------------------------------------------------


def test_the_class_teacher_asks_the_parents(world, login):
    teacher = login(world.people["teacher"])
    url = f"/answers/classes/{world.one.classes['6А'].id}/new"
    due = (region_today() + timedelta(days=5)).isoformat()
    bad = submit(teacher, url, {"title": "Медосмотр", "options": "Согласен", "deadline": due})
    assert bad.status_code == 400
    assert "Укажите хотя бы два варианта ответа" in text_of(bad)
    assert db.session.execute(sa.select(AnswerRequest)).first() is None
    done = submit(
        teacher,
        url,
        {
            "title": "Медосмотр",
            "text": "Плановый осмотр",
            "options": "Согласен\nНе согласен",
            "deadline": due,
        },
        follow=True,
    )
    assert done.status_code == 200 and "Запрос отправлен родителям класса" in text_of(done)
    (created,) = db.session.execute(sa.select(AnswerRequest)).scalars()
    assert created.options == ["Согласен", "Не согласен"]
    assert created.created_by_id == world.one.staff["teacher"].id
    # The results: every student of 6А with their guardian, nobody has answered yet.
    assert "Иванов Пётр Сергеевич" in text_of(done) and "Кузнецов Олег Ильич" in text_of(done)
    assert "ответа пока нет" in text_of(done)
    assert "Медосмотр" in text_of(teacher.get("/answers/"))


@pytest.mark.parametrize(
    "who, status",
    [
        ("teacher", 200),
        ("admin", 200),
        ("teacher2", 403),
        ("parent", 403),
        ("alisa", 403),
        ("two_teacher", 403),
        ("two_admin", 403),
        ("nobody", 403),
    ],
)
def test_who_may_ask_and_see_the_results(world, login, ask, who, status):
    client = login(world.people[who])
    assert client.get(f"/answers/classes/{ask.class_id}/new").status_code == status
    assert client.get(f"/answers/requests/{ask.id}/results").status_code == status


def test_unknown_ids_are_not_found(world, login, ask):
    teacher = login(world.people["teacher"])
    assert teacher.get("/answers/classes/999999/new").status_code == 404
    assert teacher.get("/answers/requests/999999").status_code == 404
    assert teacher.get("/answers/requests/999999/results").status_code == 404


# --- the parents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, status",
    [
        ("parent", 200),
        ("parent2", 200),
        ("teacher", 200),
        ("teacher2", 403),
        ("alisa", 403),
        ("two_parent", 403),
        ("nobody", 403),
    ],
)
def test_who_sees_the_request(world, login, ask, who, status):
    assert login(world.people[who]).get(f"/answers/requests/{ask.id}").status_code == status


def test_parents_list_their_open_requests(world, login, ask):
    assert "Экскурсия в музей" in text_of(login(world.people["parent"]).get("/answers/"))
    other = login(world.people["two_parent"]).get("/answers/")
    assert "Экскурсия в музей" not in text_of(other)
    assert "Открытых запросов для вас нет" in text_of(other)


def test_answering_from_a_standard_session_starts_a_step_up(world, login, ask, monkeypatch):
    started = []

    def fake_redirect(next_url, **kwargs):  # the live test below walks the real one
        started.append((next_url, kwargs))
        return "to the portal", 302, {"Location": "http://portal.test/oauth/authorize"}

    monkeypatch.setattr(oidc, "authorization_redirect", fake_redirect)
    parent = login(world.people["parent"])
    page = parent.get(f"/answers/requests/{ask.id}")
    assert "Для ответа нужна подтверждённая учётная запись" in text_of(page)
    petr = world.one.students["petr"]
    response = parent.post(
        f"/answers/requests/{ask.id}", data=answer_data(parent, ask, petr, comment="Заберу сам")
    )
    assert response.status_code == 302
    assert started == [
        (
            f"/answers/requests/{ask.id}/signed",
            {
                "acr_values": CONFIRMED,
                "max_age": 0,
                "carry": {
                    "purpose": "answer",
                    "request_id": ask.id,
                    "student_id": petr.id,
                    "choice": "Согласен",
                    "comment": "Заберу сам",
                },
            },
        )
    ]
    # A confirmed but old sign-in needs the step-up too.
    signed(parent, CONFIRMED, age=600)
    parent.post(f"/answers/requests/{ask.id}", data=answer_data(parent, ask, petr))
    assert len(started) == 2 and answers() == []


def test_after_the_step_up_the_answer_is_recorded_with_the_level(world, login, ask):
    petr = world.one.students["petr"]
    carry = {
        "purpose": "answer",
        "request_id": ask.id,
        "student_id": petr.id,
        "choice": "Не согласен",
        "comment": "Аллергия",
    }
    parent = signed(login(world.people["parent"]), CONFIRMED, age=3, carry=carry)
    page = parent.get(f"/answers/requests/{ask.id}/signed", follow_redirects=True)
    assert page.status_code == 200
    assert "на подтверждённом уровне" in text_of(page) and "Ваш ответ: Не согласен" in text_of(page)
    (given,) = answers()
    assert (given.choice, given.comment, given.acr) == ("Не согласен", "Аллергия", CONFIRMED)
    assert abs((utcnow() - given.auth_time).total_seconds()) < 10
    # Used up: coming back again records nothing more; a second answer is refused.
    parent.get(f"/answers/requests/{ask.id}/signed")
    again = parent.post(
        f"/answers/requests/{ask.id}",
        data={
            "csrf_token": diary_csrf(parent, "/answers/"),
            "student": str(petr.id),
            "choice": "Не согласен",
        },
        follow_redirects=True,
    )
    assert "Вы уже ответили" in text_of(again)
    assert len(answers()) == 1
    results = login(world.people["teacher"]).get(f"/answers/requests/{ask.id}/results")
    assert "Не согласен" in text_of(results) and "Аллергия" in text_of(results)
    assert "подтверждённая учётная запись" in text_of(results)


def test_a_confirmed_fresh_session_answers_at_once(world, login, ask):
    parent2 = signed(login(world.people["parent2"]), CONFIRMED, age=30)
    masha = world.one.students["masha"]
    page = parent2.post(
        f"/answers/requests/{ask.id}", data=answer_data(parent2, ask, masha), follow_redirects=True
    )
    assert "на подтверждённом уровне" in text_of(page)
    assert [(a.student_id, a.choice) for a in answers()] == [(masha.id, "Согласен")]


def test_a_portal_that_comes_back_below_confirmed_records_nothing(world, login, ask):
    petr = world.one.students["petr"]
    carry = {
        "purpose": "answer",
        "request_id": ask.id,
        "student_id": petr.id,
        "choice": "Согласен",
        "comment": "",
    }
    parent = signed(login(world.people["parent"]), STANDARD, age=2, carry=carry)
    page = parent.get(f"/answers/requests/{ask.id}/signed")
    assert page.status_code == 403
    assert "нужна подтверждённая учётная запись" in text_of(page)
    assert "заказного письма" in text_of(page) and "Ваш ответ не записан" in text_of(page)
    assert answers() == []


def test_a_carried_answer_is_checked_like_any_other(world, login, ask):
    masha = world.one.students["masha"]
    forged = {
        "purpose": "answer",
        "request_id": ask.id,
        "student_id": masha.id,
        "choice": "Согласен",
        "comment": "",
    }
    parent = signed(login(world.people["parent"]), CONFIRMED, carry=forged)
    assert parent.get(f"/answers/requests/{ask.id}/signed").status_code == 403
    stranger = signed(login(world.people["two_parent"]), CONFIRMED, carry=forged)
    assert stranger.get(f"/answers/requests/{ask.id}/signed").status_code == 403
    assert answers() == []


@pytest.mark.parametrize("who", ["alisa", "teacher2", "two_parent", "nobody"])
def test_students_and_strangers_cannot_answer(world, login, ask, who):
    client = signed(login(world.people[who]), CONFIRMED)
    response = client.post(
        f"/answers/requests/{ask.id}",
        data={
            "csrf_token": diary_csrf(client, "/answers/"),
            "student": str(world.one.students["petr"].id),
            "choice": "Согласен",
        },
    )
    assert response.status_code == 403
    assert answers() == []


def test_after_the_deadline_answers_are_refused(world, login, ask):
    ask.deadline = region_today() - timedelta(days=1)
    db.session.commit()
    parent = signed(login(world.people["parent"]), CONFIRMED)
    page = parent.get(f"/answers/requests/{ask.id}")
    assert "Срок ответа истёк" in text_of(page) and not [
        f for f in forms_of(page.get_data(as_text=True)) if f.action.startswith("/answers/")
    ]
    assert "Экскурсия в музей" not in text_of(parent.get("/answers/"))


# --- live: the step-up through the real portal ------------------------------------------


@pytest.fixture
def live_diary(app, portal_server, tmp_path) -> Iterator[Diary]:
    """A diary on a live server registered at the portal (as ``test_auth``'s), with the
    answers room and the small world in its database."""
    with registered_diary(portal_server, tmp_path) as live:
        yield live


class StepUpBrowser(Browser):
    """``Browser`` that, signed in at the portal already, sends the login form rather
    than the header's sign-out form on the portal's login page (a step-up's re-login)."""

    def submit(self, page, values, action=None):
        if action is None and "password" in values:
            forms = [
                f
                for f in forms_of(page.get_data(as_text=True))
                if f.method == "post" and "password" in f.fields
            ]
            action = forms[0].action if forms else None
        return super().submit(page, values, action=action)


def at_level(citizen, level: str) -> None:
    """Set the portal account's level directly: how it is reached (registries, letter,
    operator) is tests/portal/test_proofing.py's business; here only the acr matters."""
    row = portal_db.session.get(Citizen, citizen.id)
    row.level = level
    if level == "confirmed":
        row.confirmed_at, row.confirmed_method = utcnow(), "operator"
    portal_db.session.commit()


def test_signed_answers_through_the_portal(live_diary, portal_server, make_citizen):
    confirmed = make_citizen(surname="Иванова", given_name="Мария", phone="+79161112201")
    standard = make_citizen(surname="Кузнецов", given_name="Олег", phone="+79161112202")
    at_level(confirmed, "standard")  # confirmed at a service centre later, below
    at_level(standard, "standard")
    subs = confirmed.public_id, standard.public_id  # read while the portal's context is on
    with live_diary.app.app_context():
        world = build_world()
        # The world's parents of 6А are these two portal accounts.
        world.people["parent"].sub, world.people["parent2"].sub = subs
        ask = AnswerRequest(
            class_id=world.one.classes["6А"].id,
            title="Экскурсия в музей",
            options=["Согласен", "Не согласен"],
            deadline=region_today() + timedelta(days=3),
        )
        db.session.add(ask)
        db.session.commit()
        url = f"{live_diary.url}/answers/requests/{ask.id}"
        petr, masha = world.one.students["petr"].id, world.one.students["masha"].id
        db.session.remove()

    def open_request(browser: Browser) -> Page:
        page = browser.go(url)  # signs in first (login, consent)
        assert page.status == 200, page.text[:300]
        return page

    def answer(browser: Browser, page: Page, student_id: int) -> Page:
        path = urlsplit(url).path
        form = next(f for f in forms_of(page.get_data(as_text=True)) if f.action == path)
        return browser.go(
            urljoin(url, form.action),
            {**form.fields, "student": str(student_id), "choice": "Согласен"},
        )

    # A standard parent: the portal asks for a fresh sign-in, then refuses the level.
    oleg = StepUpBrowser(portal_server, login="+79161112202")
    page = open_request(oleg)
    assert "Для ответа нужна подтверждённая учётная запись" in page.text
    refused = answer(oleg, page, masha)
    assert oleg.pages == ["login", "consent", "login"]
    assert refused.status == 403 and refused.url.startswith(portal_server)
    assert "Нужен более высокий уровень учётной записи" in refused.text
    assert "заказного письма" in refused.text

    # A parent signed in at the standard level, confirmed since: the answer's fresh
    # sign-in brings the confirmed level, and the answer is recorded with it.
    maria = StepUpBrowser(portal_server, login="+79161112201")
    page = open_request(maria)
    at_level(confirmed, "confirmed")
    asked_at = utcnow().replace(microsecond=0)
    done = answer(maria, page, petr)
    assert maria.pages == ["login", "consent", "login"]
    assert done.status == 200 and done.url == url
    assert "на подтверждённом уровне" in done.text and "Ваш ответ: Согласен" in done.text

    with live_diary.app.app_context():
        (given,) = db.session.execute(sa.select(Answer)).scalars()
        assert (given.student_id, given.choice, given.acr) == (petr, "Согласен", CONFIRMED)
        assert given.auth_time >= asked_at  # the step-up's sign-in, not the first one
        db.session.remove()
