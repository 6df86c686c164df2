"""Service applications on the diary's side: the portal's signed ``application.submitted``
through the real endpoint, the term in working days, the school administrator's list
and page, taking into work, approving (the parent then sees the child's diary, whether
they had signed in before or sign in only afterwards) and refusing with a reason; each
step queued for the portal in the outbox; and everyone else refused. Pages are read in
Russian."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from diary_service.applications import arrival
from diary_service.applications import services as applications
from diary_service.auth import services as auth_services
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Application, Guardian
from diary_service.models.federation import PortalMessage
from portal.oidc.keys import active_key
from portal.oidc.server import issuer
from shared.errors import ValidationError
from shared.federation import sign_event
from shared.sessions import utcnow
from tests.diary_service.factories import World, build_world
from tests.diary_service.test_auth import CLIENT_ID, commit_portal, registered_diary
from tests.helpers import diary_csrf, text_of

FATHER_SNILS = "112-233-445 95"
PETR_SNILS = "050-234-316 00"
OTHER_SNILS = "016-103-396 00"
ZONE = "Europe/Moscow"


def submitted(school_id: int, /, **changes) -> dict:
    """An ``application.submitted`` message as the portal sends it: Сергей Иванов applies
    for his son Пётр (born 2014-09-02, as in the test world)."""
    data = {
        "id": str(uuid.uuid4()),
        "service": "diary-access",
        "submitted_at": "2026-12-03T09:15:00Z",
        "school_id": school_id,
        "applicant": {
            "sub": "sub-father",
            "family_name": "Иванов",
            "given_name": "Сергей",
            "middle_name": "Павлович",
            "snils": FATHER_SNILS,
            "phone": "+79165550199",
            "email": "father@example.ru",
        },
        "child": {
            "id": "portal-child-petr",
            "family_name": "Иванов",
            "given_name": "Пётр",
            "middle_name": "Сергеевич",
            "birthdate": "2014-09-02",
            "gender": "male",
            "snils": PETR_SNILS,
        },
    }
    for name, value in changes.items():
        if name in ("applicant", "child"):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return data


def index_of(app, snils: str) -> str:
    return auth_services.snils_index(snils, app.config["BLIND_INDEX_KEY"])


def receive(app, data: dict, now: datetime | None = None) -> dict:
    return arrival.receive_application(
        data, index_key=app.config["BLIND_INDEX_KEY"], zone=ZONE, now=now
    )


def application_of(portal_id: str) -> Application:
    db.session.expire_all()
    return db.session.execute(
        sa.select(Application).where(Application.portal_id == portal_id)
    ).scalar_one()


def messages_to_portal() -> list[PortalMessage]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(PortalMessage).order_by(PortalMessage.id)).scalars())


@pytest.fixture
def registered(world: World, diary) -> World:
    """Пётр on the school's roll with his SNILS (its keyed hash)."""
    world.one.students["petr"].snils_index = index_of(diary, PETR_SNILS)
    db.session.commit()
    return world


@pytest.fixture
def waiting(registered, diary) -> Application:
    """Сергей's application for Пётр in school 1, arrived today."""
    data = submitted(registered.one.school.id)
    receive(diary, data)
    return application_of(data["id"])


# --- through the real endpoint, signed by the portal ----------------------------------


@dataclass
class Region:
    app: object
    url: str

    def post(self, token: str, content_type: str = "application/jwt") -> tuple[int, dict]:
        request = urllib.request.Request(
            self.url + "/federation/events",
            data=token.encode(),
            method="POST",
            headers={"Content-Type": content_type, "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)


@pytest.fixture
def region(app, portal_server, tmp_path) -> Iterator[Region]:
    """A diary of its own on a live server, registered at the live portal as
    ``CLIENT_ID``: it checks the portal's messages with the keys from the portal's JWKS."""
    with registered_diary(portal_server, tmp_path) as live:
        yield Region(live.app, live.url)


def signed(data: dict, audience: str = CLIENT_ID, event: str = "application.submitted") -> str:
    token = sign_event(
        active_key("RS256"), issuer=issuer(), audience=audience, event=event, data=data
    )
    commit_portal()
    return token


def test_the_portals_application_is_received_once_and_answered_with_its_term(region):
    with region.app.app_context():
        world = build_world()
        db.session.commit()
        school_id = world.one.school.id
        unknown_school = world.two.school.id + 1000
    data = submitted(school_id)

    status, answer = region.post(signed(data))
    assert status == 200
    assert answer["status"] == "received"
    received = datetime.fromisoformat(answer["received_at"].replace("Z", "+00:00"))
    expected = applications.deadline_for(received.replace(tzinfo=None), ZONE)
    assert answer["deadline"] == expected.isoformat()

    # The portal lost the answer and sends it again (a new token, the same application).
    again_status, again = region.post(signed(data))
    assert (again_status, again) == (200, answer)
    with region.app.app_context():
        (kept,) = db.session.execute(sa.select(Application)).scalars()
        assert kept.portal_id == data["id"] and kept.school_id == school_id
        assert kept.child_name == "Иванов Пётр Сергеевич"
        # Only blind indexes of the SNILS are kept.
        assert kept.applicant_snils_index == index_of(region.app, FATHER_SNILS)
        stored = json.dumps([str(getattr(kept, c.key)) for c in Application.__table__.columns])
        assert "112-233-445" not in stored and "11223344595" not in stored

    status, refused = region.post(signed(submitted(unknown_school)))
    assert status == 200
    assert refused == {
        "status": "refused",
        "reason": "В электронном дневнике региона нет такой школы. Подайте заявление снова "
        "и выберите школу из списка.",
    }
    with region.app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 1


def test_a_message_for_another_diary_or_a_malformed_one_is_refused_and_nothing_kept(region):
    with region.app.app_context():
        world = build_world()
        db.session.commit()
        school_id = world.one.school.id

    status, answer = region.post(signed(submitted(school_id), audience="diary-another-region"))
    assert status == 400 and answer["error"] == "invalid_request"

    broken = submitted(school_id, child={"birthdate": "02.09.2014"})
    status, answer = region.post(signed(broken))
    assert status == 400
    assert answer["error_description"] == "Заявление неполное или составлено неверно."
    with region.app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 0


# --- arrival, matching and the term ----------------------------------------------------


@pytest.mark.parametrize(
    ("arrived", "deadline"),
    [
        # Thursday 12:00 in Moscow: Friday, Monday, Tuesday.
        (datetime(2026, 12, 3, 9, 0), date(2026, 12, 8)),
        # Thursday 22:00 UTC is already Friday 01:00 in Moscow: the weekend is skipped.
        (datetime(2026, 12, 3, 22, 0), date(2026, 12, 9)),
        # 31 December 2026 is a day off by decree, then the New Year holidays to 10 January.
        (datetime(2026, 12, 30, 9, 0), date(2027, 1, 13)),
        # Friday before Victory Day: 11 May 2026 is the day off moved from Saturday 9 May.
        (datetime(2026, 5, 8, 9, 0), date(2026, 5, 14)),
    ],
)
def test_the_deadline_is_three_working_days_by_the_production_calendar(
    registered, diary, arrived, deadline
):
    data = submitted(registered.one.school.id)
    answer = receive(diary, data, now=arrived)
    assert answer == {
        "status": "received",
        "received_at": arrived.isoformat() + "Z",
        "deadline": deadline.isoformat(),
    }
    assert application_of(data["id"]).deadline == deadline


def test_working_days_left_counts_only_working_days():
    friday = date(2026, 12, 4)
    assert applications.working_days_left(friday, date(2026, 12, 9)) == 3  # Mon, Tue, Wed
    assert applications.working_days_left(friday, friday) == 0
    assert applications.working_days_left(date(2026, 12, 9), friday) == -3


def test_the_child_is_matched_by_snils_and_birth_date_within_the_school(registered, diary):
    one, two = registered.one, registered.two
    matched = submitted(one.school.id)
    receive(diary, matched)
    assert application_of(matched["id"]).student_id == one.students["petr"].id

    wrong_birthday = submitted(one.school.id, child={"birthdate": "2014-09-03"})
    receive(diary, wrong_birthday)
    assert application_of(wrong_birthday["id"]).student_id is None

    # The same child applied for at school 2 matches nobody there.
    elsewhere = submitted(two.school.id)
    receive(diary, elsewhere)
    assert application_of(elsewhere["id"]).student_id is None


@pytest.mark.parametrize(
    "broken",
    [
        {"id": "not-a-uuid"},
        {"school_id": "1"},
        {"submitted_at": "2026-12-03 09:15"},
        {"applicant": {"snils": None}},
        {"applicant": {"snils": "112-233-445 96"}},
        {"applicant": {"sub": ""}},
        {"child": {"gender": "boy"}},
        {"child": {"birthdate": None}},
        {"child": {"snils": "123"}},
    ],
    ids=repr,
)
def test_a_malformed_application_is_refused_and_changes_nothing(registered, diary, broken):
    data = submitted(registered.one.school.id, **broken)
    with pytest.raises(ValidationError):
        receive(diary, data)
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 0


def test_what_the_portal_may_leave_out_does_not_stop_an_application(registered, diary):
    data = submitted(
        registered.one.school.id,
        applicant={"middle_name": None, "phone": None, "email": None},
        child={"middle_name": None, "gender": None, "snils": None},
    )
    assert receive(diary, data)["status"] == "received"
    application = application_of(data["id"])
    assert (application.child_gender, application.child_snils_index) == ("", None)
    assert application.student_id is None  # no SNILS: the administrator chooses


def test_a_resubmission_tells_the_current_state(waiting, diary, registered):
    admin = registered.one.staff["admin"]
    applications.refuse(waiting, admin, "not_enrolled", "Переведён в другую школу.")
    data = submitted(registered.one.school.id, id=waiting.portal_id)
    answer = receive(diary, data)
    assert answer["status"] == "refused"
    assert answer["reason"] == "Ребёнок не обучается в этой школе. Переведён в другую школу."
    assert answer["deadline"] == waiting.deadline.isoformat()
    assert db.session.execute(sa.select(sa.func.count(Application.id))).scalar_one() == 1


# --- the school administrator's pages ----------------------------------------------------


def test_the_administrator_sees_the_schools_applications_new_first_overdue_marked(
    registered, diary, login
):
    one = registered.one
    old = submitted(one.school.id, child={"given_name": "Павел", "birthdate": "2013-01-01"})
    receive(diary, old, now=utcnow() - timedelta(days=30))
    new = submitted(one.school.id)
    receive(diary, new)
    # Another school's application is not on this list.
    receive(diary, submitted(registered.two.school.id, applicant={"family_name": "Чужой"}))

    page = login(registered.people["admin"]).get(f"/school/{one.school.id}/applications")
    assert page.status_code == 200
    text = text_of(page)
    assert "Заявления с портала" in text
    assert text.index("Иванов Пётр Сергеевич") < text.index("Иванов Павел Сергеевич")
    assert "Чужой" not in text
    assert "просрочено на" in text
    html = page.get_data(as_text=True)
    overdue_row = re.search(r'<tr class="school-bad">(.*?)</tr>', html, re.S).group(1)
    assert "Павел" in overdue_row
    fresh = application_of(new["id"])
    assert fresh.deadline.strftime("%d.%m.%Y") in text


def test_the_application_page_shows_the_applicant_the_child_and_the_term(
    waiting, registered, login
):
    admin = login(registered.people["admin"])
    text = text_of(admin.get(f"/applications/{waiting.id}"))
    assert f"Заявление № {waiting.id}" in text
    assert "Иванов Сергей Павлович" in text
    assert "Иванов Пётр Сергеевич" in text
    assert "02.09.2014" in text
    assert "Найден в данных школы по СНИЛС и дате рождения" in text
    assert waiting.deadline.strftime("%d.%m.%Y") in text
    assert re.search(r"остал(ся|ось) \d рабоч", text) or "сегодня последний день" in text
    assert "+79165550199" in text  # the school may call the applicant back
    # Never the SNILS itself.
    assert "112-233-445" not in text and "050-234-316" not in text
    # The menu counts what waits.
    assert re.search(r"Заявления\s*1\b", text)


def test_the_pages_work_in_english(waiting, registered, login):
    admin = login(registered.people["admin"])
    admin.set_cookie("lang", "en")
    text = text_of(admin.get(f"/applications/{waiting.id}"))
    assert "Application No." in text and "Take into work" in text


def test_taking_into_work_tells_the_portal(waiting, registered, login):
    admin = login(registered.people["admin"])
    token = diary_csrf(admin)
    page = admin.post(
        f"/applications/{waiting.id}/take", data={"csrf_token": token}, follow_redirects=True
    )
    assert page.status_code == 200
    assert "Заявление взято в работу" in text_of(page)
    application = application_of(waiting.portal_id)
    assert application.status == "in_progress"
    assert application.taken_by_id == registered.one.staff["admin"].id
    (message,) = messages_to_portal()
    assert message.event == "application.status"
    assert message.key == f"{waiting.portal_id}:in_progress"
    assert message.data == {
        "id": waiting.portal_id,
        "status": "in_progress",
        "reason": None,
        "at": application.taken_at.replace(microsecond=0).isoformat() + "Z",
    }

    again = admin.post(f"/applications/{waiting.id}/take", data={"csrf_token": token})
    assert again.status_code == 400
    assert "Заявление уже взято в работу." in text_of(again)
    assert len(messages_to_portal()) == 1


def approve_as_admin(registered, login, application: Application, **data):
    admin = login(registered.people["admin"])
    return admin.post(
        f"/applications/{application.id}/approve",
        data={"csrf_token": diary_csrf(admin), **data},
        follow_redirects=True,
    )


def test_approval_opens_the_childs_diary_to_a_parent_who_signed_in_before(
    waiting, registered, diary, login
):
    father = DiaryPerson(
        sub="sub-father",
        family_name="Иванов",
        given_name="Сергей",
        snils_index=index_of(diary, FATHER_SNILS),
    )
    db.session.add(father)
    db.session.commit()
    petr = registered.one.students["petr"]
    assert login(father).get(f"/students/{petr.id}/week").status_code == 403

    page = approve_as_admin(registered, login, waiting)
    assert page.status_code == 200
    assert "Одобрено" in text_of(page)
    application = application_of(waiting.portal_id)
    assert application.status == "done" and application.student_id == petr.id
    link = application.guardian
    assert (link.person_id, link.student_id, link.source, link.kind) == (
        father.id,
        petr.id,
        "application",
        "parent",
    )
    assert link.reason.startswith(f"заявление на услугу № {application.id} одобрено: Соколова")

    week = login(father).get(f"/students/{petr.id}/week")
    assert week.status_code == 200 and "Иванов Пётр Сергеевич" in text_of(week)
    (done,) = messages_to_portal()
    assert done.key == f"{waiting.portal_id}:done"
    assert done.data["status"] == "done" and done.data["reason"] is None


def test_approval_reaches_a_parent_who_signs_in_only_afterwards(waiting, registered, diary, login):
    approve_as_admin(registered, login, waiting)
    link = application_of(waiting.portal_id).guardian
    assert link.person_id is None
    assert link.snils_index == index_of(diary, FATHER_SNILS)

    father = auth_services.record_sign_in(
        auth_services.PortalIdentity(
            sub="sub-father",
            acr="urn:gosdiary:acr:standard",
            sid="sid-father",
            claims={"family_name": "Иванов", "given_name": "Сергей", "snils": FATHER_SNILS},
        ),
        index_key=diary.config["BLIND_INDEX_KEY"],
        forget_sessions_before=utcnow() - timedelta(hours=12),
    )
    petr = registered.one.students["petr"]
    week = login(father).get(f"/students/{petr.id}/week")
    assert week.status_code == 200 and "Иванов Пётр Сергеевич" in text_of(week)


def test_without_a_match_the_administrator_chooses_among_students_born_that_day(
    registered, diary, login
):
    one = registered.one
    data = submitted(one.school.id, child={"snils": OTHER_SNILS})
    receive(diary, data)
    application = application_of(data["id"])
    assert application.student_id is None
    admin = login(registered.people["admin"])
    text = text_of(admin.get(f"/applications/{application.id}"))
    assert "В данных школы нет ученика с СНИЛС и датой рождения ребёнка" in text
    assert "Иванов Пётр Сергеевич" in text and "Кузнецова Мария" not in text

    nobody = approve_as_admin(registered, login, application)
    assert nobody.status_code == 400
    assert "Выберите ученика, о котором заявление." in text_of(nobody)
    masha = approve_as_admin(registered, login, application, student=one.students["masha"].id)
    assert masha.status_code == 400
    assert application_of(data["id"]).status == "received"
    assert (
        db.session.execute(sa.select(Guardian).where(Guardian.source == "application")).first()
        is None
    )

    petr = approve_as_admin(registered, login, application, student=one.students["petr"].id)
    assert petr.status_code == 200
    assert application_of(data["id"]).student_id == one.students["petr"].id


def test_a_refusal_needs_a_ground_and_for_another_reason_the_schools_words(
    waiting, registered, login
):
    admin = login(registered.people["admin"])
    token = diary_csrf(admin)
    url = f"/applications/{waiting.id}/refuse"

    empty = admin.post(url, data={"csrf_token": token})
    assert empty.status_code == 400 and "Выберите основание для отказа." in text_of(empty)
    other = admin.post(url, data={"csrf_token": token, "ground": "other", "comment": "  "})
    assert other.status_code == 400 and "Напишите причину отказа." in text_of(other)
    made_up = admin.post(url, data={"csrf_token": token, "ground": "because"})
    assert made_up.status_code == 400
    assert application_of(waiting.portal_id).status == "received"
    assert messages_to_portal() == []

    done = admin.post(
        url,
        data={"csrf_token": token, "ground": "other", "comment": "Обратитесь в канцелярию."},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "В заявлении отказано" in text_of(done)
    application = application_of(waiting.portal_id)
    assert (application.status, application.refusal_ground, application.reason) == (
        "refused",
        "other",
        "Обратитесь в канцелярию.",
    )
    assert application.guardian_id is None
    (message,) = messages_to_portal()
    assert message.key == f"{waiting.portal_id}:refused"
    assert message.data["status"] == "refused"
    assert message.data["reason"] == "Обратитесь в канцелярию."


def test_a_decided_application_cannot_be_decided_again(waiting, registered, login):
    approve_as_admin(registered, login, waiting)
    admin = login(registered.people["admin"])
    token = diary_csrf(admin)
    refused = admin.post(
        f"/applications/{waiting.id}/refuse",
        data={"csrf_token": token, "ground": "not_enrolled"},
    )
    assert refused.status_code == 400
    assert "По этому заявлению уже принято решение" in text_of(refused)
    again = approve_as_admin(registered, login, waiting)
    assert again.status_code == 400
    taken = admin.post(f"/applications/{waiting.id}/take", data={"csrf_token": token})
    assert taken.status_code == 400
    assert application_of(waiting.portal_id).status == "done"
    assert [m.key for m in messages_to_portal()] == [f"{waiting.portal_id}:done"]
    assert (
        db.session.execute(
            sa.select(sa.func.count(Guardian.id)).where(Guardian.source == "application")
        ).scalar_one()
        == 1
    )


def test_of_two_administrators_deciding_at_once_only_one_decides(waiting, registered):
    """The second one's copy still says "received": the decision is claimed in the
    database, not on the copy."""
    stale = waiting
    db.session.execute(
        sa.update(Application)
        .where(Application.id == stale.id)
        .values(status="refused")
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    assert stale.status == "received"
    with pytest.raises(applications.AlreadyDecided):
        applications.approve(stale, registered.one.staff["admin"])
    assert (
        db.session.execute(sa.select(Guardian).where(Guardian.source == "application")).first()
        is None
    )


# --- who may ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["two_admin", "teacher", "teacher2", "nurse", "department", "parent", "nobody"]
)
def test_nobody_but_the_schools_administrators_sees_or_decides(waiting, registered, login, role):
    client = login(registered.people[role])
    token = diary_csrf(client)
    school_id = registered.one.school.id
    assert client.get(f"/applications/{waiting.id}").status_code == 403
    assert client.get(f"/school/{school_id}/applications").status_code == 403
    for step, data in (
        ("take", {}),
        ("approve", {}),
        ("refuse", {"ground": "not_enrolled"}),
    ):
        response = client.post(
            f"/applications/{waiting.id}/{step}", data={"csrf_token": token, **data}
        )
        assert response.status_code == 403
    assert application_of(waiting.portal_id).status == "received"
    assert messages_to_portal() == []
    if role != "two_admin":  # who administers another school has their own applications
        assert "Заявления" not in text_of(client.get("/"))


def test_a_signed_out_visitor_is_sent_to_sign_in_and_a_missing_one_is_404(
    waiting, registered, login
):
    response = login(None).get(f"/applications/{waiting.id}")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert login(registered.people["admin"]).get("/applications/999999").status_code == 404
