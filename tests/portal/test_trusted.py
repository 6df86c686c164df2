"""Trusted persons: a parent invites a relative to one child's diary, the relative accepts,
the ``trusted`` claim carries it to the diaries, and a parent revokes it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.family import services as family
from portal.family import trusted, trusted_queries
from portal.family.models import TrustedGrant
from portal.federation.models import FederationMessage
from portal.identity.models import SecurityEvent
from portal.oidc import claims
from shared.errors import NotFound, ValidationError
from tests.helpers import csrf_on, forms_of, portal_client_signed_in, region_today, submit, text_of
from tests.portal.factories import SERGEY, SERGEY_PASSPORT, make_standard, wait_for
from tests.portal.oidc_helpers import Browser, bearer, register, tokens
from tests.portal.test_family import ORIGIN, PETR, verified

PASSWORD = "violet-harbour-lamp"
MARIA_PHONE, OLGA_PHONE, SERGEY_PHONE, STRANGER_PHONE = (
    "+79161230001",
    "+79161230002",
    "+79161230003",
    "+79161230004",
)
OLGA_SNILS = "820-981-233 00"
OLGA = {
    "surname": "Смирнова",
    "given_name": "Ольга",
    "patronymic": "Викторовна",
    "gender": "F",
    "birth_date": date(1979, 7, 8),
    "birth_place": "г. Москва",
    "citizenship": "RUS",
    "registration_address": "г. Москва, ул. Тверская, д. 2, кв. 5",
}
OLGA_PASSPORT = {
    "series": "4503",
    "number": "111222",
    "issue_date": date(2004, 8, 10),
    "issuer": "ОВД",
    "issuer_code": "770-003",
}
EVERYTHING_BUT_MESSAGES = ["schedule", "homework", "marks", "attendance", "remarks"]


@pytest.fixture
def people(proofing, make_citizen):
    """Maria with her verified son Petr, and Olga (a standard account) to invite."""
    maria = make_standard(make_citizen, phone=MARIA_PHONE, email="maria@example.ru")
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
    return maria, olga, link.child_id


def invite(maria, child_id, **lookup):
    lookup = lookup or {"snils": OLGA_SNILS}
    return trusted.grant(maria, child_id, sections=EVERYTHING_BUT_MESSAGES, origin=ORIGIN, **lookup)


def grant_count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(TrustedGrant)).scalar_one()


def released(citizen) -> list[dict]:
    db.session.expire_all()
    return claims.claims_for(citizen, ["trusted"])["trusted"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("Смирнова", "Смирнова"), ("  смирнова ", "СМИРНОВА"), ("Федорова", "Фёдорова")],
)
def test_surnames_match_whatever_the_case_spacing_and_yo(typed, stored):
    assert trusted._fold(typed) == trusted._fold(stored)


def test_surnames_that_differ_do_not_match():
    assert trusted._fold("Смирнова") != trusted._fold("Смирнов")


def test_an_invitation_by_snils_is_accepted_and_released_after_the_delay(people, inbox):
    maria, olga, child_id = people
    grant = invite(maria, child_id)
    assert trusted.status_of(grant) == trusted.WAITING
    assert any("Иванова Мария" in m["body"] for m in inbox.wait_for("olga@example.ru"))
    assert released(olga) == []  # not accepted: nothing leaves the portal

    trusted.accept(olga, grant.public_id, ORIGIN)
    db.session.refresh(grant)
    assert grant.opens_at == grant.accepted_at + timedelta(seconds=86400)
    assert trusted.status_of(grant) == trusted.OPENS
    [entry] = released(olga)
    assert entry == {
        "grant": grant.public_id,
        "id": grant.child.public_id,
        "family_name": "Иванов",
        "given_name": "Пётр",
        "middle_name": "Сергеевич",
        "birthdate": "2014-09-02",
        "gender": "male",
        "snils": "050-234-316 00",
        "granted_by": maria.public_id,
        "sections": EVERYTHING_BUT_MESSAGES,
        "opens_at": grant.opens_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "until": None,
    }
    assert any("принял" in m["body"] for m in inbox.wait_for("maria@example.ru", count=4))
    kinds = set(db.session.execute(sa.select(SecurityEvent.kind)).scalars())
    assert {"trusted_granted", "trusted_accepted"} <= kinds


def test_an_invitation_by_phone_and_surname_ignores_the_case(people):
    maria, olga, child_id = people
    grant = invite(maria, child_id, phone="8 (916) 123-00-02", surname=" смирнова")
    assert grant.grantee_id == olga.id and grant.until is None


def test_refusals_explain_and_change_nothing(people, make_citizen):
    maria, _olga, child_id = people
    make_citizen(surname="Кузнецова", phone="+79161230009")  # simplified: not invitable
    tomorrow = region_today() + timedelta(days=2)
    nobody = "Не найден никто"
    cases = [
        ({"snils": "050-234-316 00"}, nobody),  # Petr's own SNILS: a child with no account
        ({"snils": "112-233-445 00"}, "контрольное число"),
        ({"phone": OLGA_PHONE, "surname": "Иванова"}, nobody),  # the phone is someone else's
        ({"phone": "+79161230009", "surname": "Кузнецова"}, nobody),  # below standard
        ({"phone": OLGA_PHONE}, "СНИЛС человека или его мобильный телефон"),
        ({"snils": "112-233-445 95"}, "самому себе"),
        ({"snils": OLGA_SNILS, "until": region_today()}, "в будущем"),
        ({"snils": OLGA_SNILS, "sections": []}, "Выберите, что будет видеть"),
        ({"snils": OLGA_SNILS, "sections": ["diary"]}, "Выберите, что будет видеть"),
    ]
    for lookup, message in cases:
        options = {"sections": ["schedule"], "until": tomorrow, **lookup}
        with pytest.raises(ValidationError) as error:
            trusted.grant(maria, child_id, origin=ORIGIN, **options)
        assert message in error.value.message, lookup
        assert "820" not in error.value.message and "Смирнова" not in error.value.message
    assert grant_count() == 0

    invite(maria, child_id)
    with pytest.raises(ValidationError) as error:
        invite(maria, child_id, phone=OLGA_PHONE, surname="Смирнова")
    assert "уже есть доступ" in error.value.message
    assert grant_count() == 1


def test_only_a_verified_parent_can_invite(people, make_citizen):
    _maria, olga, child_id = people
    with pytest.raises(NotFound):  # Olga is nobody's parent
        trusted.grant(olga, child_id, sections=["schedule"], snils="112-233-445 95", origin=ORIGIN)
    sergey = make_standard(
        make_citizen, profile=SERGEY, snils="987-654-321 83", passport=SERGEY_PASSPORT
    )
    family.add_child(sergey, PETR, ORIGIN)  # claimed, the registries have not answered yet
    with pytest.raises(NotFound):
        trusted.grant(sergey, child_id, sections=["schedule"], snils=OLGA_SNILS, origin=ORIGIN)
    assert grant_count() == 0


def test_a_declined_invitation_releases_nothing_and_can_be_sent_again(people, inbox):
    maria, olga, child_id = people
    grant = invite(maria, child_id)
    trusted.decline(olga, grant.public_id, ORIGIN)
    assert trusted.status_of(grant) == trusted.DECLINED and released(olga) == []
    assert any("отклонил" in m["body"] for m in inbox.wait_for("maria@example.ru", count=4))
    with pytest.raises(ValidationError):  # answered once
        trusted.accept(olga, grant.public_id, ORIGIN)
    again = invite(maria, child_id)
    assert again.public_id != grant.public_id and grant_count() == 2


def test_the_claim_reaches_the_relying_party_and_ends_with_the_grant(app, people):
    maria, olga, child_id = people
    rp = register(scopes=("openid", "profile", "trusted"))
    browser = Browser(app, OLGA_PHONE)
    browser.sign_in()

    def userinfo() -> dict:
        body = tokens(browser, rp, scope="openid trusted")
        response = browser.http.get("/oauth/userinfo", headers=bearer(body["access_token"]))
        assert response.status_code == 200
        return response.get_json()

    grant = invite(maria, child_id, phone=OLGA_PHONE, surname="Смирнова")
    assert userinfo()["trusted"] == []  # invited, not accepted
    trusted.accept(olga, grant.public_id, ORIGIN)
    [entry] = userinfo()["trusted"]
    assert entry["grant"] == grant.public_id and entry["snils"] == "050-234-316 00"
    assert entry["opens_at"] == grant.opens_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    # Past its last day the grant is no longer released (the diary ends it on time too).
    grant.until = region_today() - timedelta(days=1)
    db.session.commit()
    assert trusted.status_of(grant) == trusted.EXPIRED and userinfo()["trusted"] == []
    grant.until = region_today() + timedelta(days=30)
    db.session.commit()
    assert userinfo()["trusted"][0]["until"] == grant.until.isoformat()

    trusted.revoke(maria, grant.public_id, ORIGIN)
    assert userinfo()["trusted"] == []


def test_revoking_tells_every_region_and_the_trusted_person(app, people, inbox, monkeypatch):
    maria, olga, child_id = people
    # Two regions whose diaries are down: the messages wait in the outbox for a retry.
    monkeypatch.setitem(
        app.config,
        "DIARY_REGIONS",
        [
            {"code": "a", "name": "A", "url": "http://127.0.0.1:9/", "client_id": "diary-a"},
            {"code": "b", "name": "B", "url": "http://127.0.0.1:9/", "client_id": "diary-b"},
        ],
    )
    never_accepted = invite(maria, child_id)
    trusted.revoke(maria, never_accepted.public_id, ORIGIN)
    assert db.session.execute(sa.select(FederationMessage)).first() is None  # no diary knew it

    grant = invite(maria, child_id)
    trusted.accept(olga, grant.public_id, ORIGIN)
    trusted.revoke(maria, grant.public_id, ORIGIN)
    messages = db.session.execute(
        sa.select(FederationMessage).order_by(FederationMessage.target)
    ).scalars()
    assert [(m.event, m.target, m.payload) for m in messages] == [
        ("trusted.revoked", "diary-a", {"grant": grant.public_id}),
        ("trusted.revoked", "diary-b", {"grant": grant.public_id}),
    ]
    assert grant.revoked_reason == "parent" and trusted.status_of(grant) == trusted.REVOKED
    assert any("закончился" in m["body"] for m in inbox.wait_for("olga@example.ru", count=3))
    with pytest.raises(ValidationError):
        trusted.revoke(maria, grant.public_id, ORIGIN)


def test_an_invitation_nobody_answers_expires_and_can_be_sent_again(people):
    maria, olga, child_id = people
    old = invite(maria, child_id)
    old.created_at -= trusted.INVITATION_LIFETIME + timedelta(minutes=1)
    db.session.commit()
    assert trusted.status_of(old) == trusted.EXPIRED
    with pytest.raises(ValidationError):
        trusted.accept(olga, old.public_id, ORIGIN)
    assert trusted_queries.grants_for_invitee(olga)[0] == []  # no longer offered
    again = invite(maria, child_id)  # an expired invitation does not block a new one
    trusted.accept(olga, again.public_id, ORIGIN)
    assert [entry["grant"] for entry in released(olga)] == [again.public_id]


def test_the_trusted_person_may_give_up_an_access_they_accepted(app, people, inbox, monkeypatch):
    maria, olga, child_id = people
    monkeypatch.setitem(
        app.config,
        "DIARY_REGIONS",
        [{"code": "a", "name": "A", "url": "http://127.0.0.1:9/", "client_id": "diary-a"}],
    )
    grant = invite(maria, child_id)
    with pytest.raises(ValidationError):  # nothing accepted yet: decline instead
        trusted.give_up(olga, grant.public_id, ORIGIN)
    trusted.accept(olga, grant.public_id, ORIGIN)
    with pytest.raises(NotFound):  # only the trusted person themselves
        trusted.give_up(maria, grant.public_id, ORIGIN)
    assert [entry["grant"] for entry in released(olga)] == [grant.public_id]

    http = portal_client_signed_in(app, OLGA_PHONE)
    page = http.get("/cabinet/trusted/given-to-me")
    assert "Отказаться от доступа" in text_of(page)
    answer = http.post(
        f"/cabinet/trusted/{grant.public_id}/give-up",
        data={"csrf_token": csrf_on(http, "/cabinet/trusted/given-to-me")},
    )
    assert answer.status_code == 302
    db.session.refresh(grant)
    assert grant.revoked_reason == "trusted_person" and released(olga) == []
    (message,) = db.session.execute(sa.select(FederationMessage)).scalars()
    assert (message.event, message.payload) == ("trusted.revoked", {"grant": grant.public_id})
    assert any("отказался" in m["body"] for m in inbox.wait_for("maria@example.ru", count=2))
    with pytest.raises(ValidationError):
        trusted.give_up(olga, grant.public_id, ORIGIN)


def test_the_other_parent_may_revoke_and_losing_the_child_ends_the_grants(people, make_citizen):
    maria, olga, child_id = people
    sergey = make_standard(
        make_citizen, profile=SERGEY, snils="987-654-321 83", passport=SERGEY_PASSPORT
    )
    family.add_child(sergey, PETR, ORIGIN)
    assert wait_for(lambda: verified(sergey))
    first = invite(maria, child_id)
    trusted.accept(olga, first.public_id, ORIGIN)
    [(_child, views)] = trusted_queries.grants_for_parent(sergey)  # he sees what she granted
    assert [v.grant.public_id for v in views] == [first.public_id] and views[0].can_revoke
    trusted.revoke(sergey, first.public_id, ORIGIN)
    assert first.revoked_by_id == sergey.id and released(olga) == []

    second = invite(maria, child_id)
    trusted.accept(olga, second.public_id, ORIGIN)
    assert len(released(olga)) == 1
    # The link goes: the claim stops at once, and revoke_grants_of ends the grant for good.
    family.remove_child(maria, child_id, ORIGIN)
    assert released(olga) == []
    # remove_child ended the grant for good (revoke_grants_of); again, nothing more ends.
    assert trusted.revoke_grants_of(maria, child_id, trusted.LINK_REMOVED) == 0
    db.session.refresh(second)
    assert second.revoked_reason == "link_removed"


def test_strangers_cannot_see_answer_or_revoke_a_grant(app, people, make_citizen):
    maria, _olga, child_id = people
    grant = invite(maria, child_id)
    make_citizen(surname="Петрова", phone=STRANGER_PHONE)
    stranger = portal_client_signed_in(app, STRANGER_PHONE)
    token = csrf_on(stranger, "/cabinet/trusted/")
    assert "Иванов Пётр" not in text_of(stranger.get("/cabinet/trusted/"))
    assert "Иванов Пётр" not in text_of(stranger.get("/cabinet/trusted/given-to-me"))
    assert stranger.get(f"/cabinet/trusted/children/{child_id}/new").status_code == 404
    for action in ("accept", "decline", "revoke"):
        answer = stranger.post(
            f"/cabinet/trusted/{grant.public_id}/{action}", data={"csrf_token": token}
        )
        assert answer.status_code == 404, action
    invitee = portal_client_signed_in(app, OLGA_PHONE)  # the invitee may answer, not revoke
    token = csrf_on(invitee, "/cabinet/trusted/given-to-me")
    assert (
        invitee.post(
            f"/cabinet/trusted/{grant.public_id}/revoke", data={"csrf_token": token}
        ).status_code
        == 404
    )
    parent = portal_client_signed_in(app, MARIA_PHONE)  # the parent may revoke, not accept for them
    token = csrf_on(parent, "/cabinet/trusted/")
    assert (
        parent.post(
            f"/cabinet/trusted/{grant.public_id}/accept", data={"csrf_token": token}
        ).status_code
        == 404
    )
    db.session.refresh(grant)
    assert trusted.status_of(grant) == trusted.WAITING


def test_the_pages_refuse_anonymous_visitors(app, people):
    maria, _olga, child_id = people
    grant = invite(maria, child_id)
    anonymous = app.test_client()
    for url in (
        "/cabinet/trusted/",
        "/cabinet/trusted/given-to-me",
        f"/cabinet/trusted/children/{child_id}/new",
    ):
        answer = anonymous.get(url)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], url
    answer = anonymous.post(f"/cabinet/trusted/{grant.public_id}/accept")
    assert answer.status_code in (302, 400) and trusted.status_of(grant) == trusted.WAITING


def test_a_parent_invites_and_the_invitee_accepts_in_the_cabinet_in_russian(app, people):
    _maria, _olga, child_id = people
    parent = portal_client_signed_in(app, MARIA_PHONE)
    page = text_of(parent.get("/cabinet/trusted/"))
    assert "Доверенные лица" in page and "Иванов Пётр Сергеевич" in page
    assert "Доверенные лица" in text_of(parent.get("/cabinet/children/"))
    url = f"/cabinet/trusted/children/{child_id}/new"

    refused = submit(
        parent, url, {"phone": OLGA_PHONE, "surname": "Иванова", "preset": "everything"}
    )
    assert refused.status_code == 422
    assert "Не найден никто" in text_of(refused)
    bad_date = submit(parent, url, {"snils": OLGA_SNILS, "until": "31.02.2030"})
    assert bad_date.status_code == 422 and "ДД.ММ.ГГГГ" in text_of(bad_date)
    assert grant_count() == 0

    sent = submit(
        parent,
        url,
        {
            "phone": OLGA_PHONE,
            "surname": "смирнова",
            "preset": "schedule_homework",
            "until": "2099-06-01",
        },
        follow=True,
    )
    page = text_of(sent)
    assert "Смирнова Ольга Викторовна" in page and "Ожидает принятия" in page
    assert "расписание, домашние задания" in page and "по 1 июня 2099" in page

    invitee = portal_client_signed_in(app, OLGA_PHONE)
    given = invitee.get("/cabinet/trusted/given-to-me")
    assert "Иванова Мария Петровна приглашает" in text_of(given)
    [grant] = db.session.execute(sa.select(TrustedGrant)).scalars()
    accept = next(f for f in forms_of(given.get_data(as_text=True)) if f.action.endswith("/accept"))
    done = invitee.post(accept.action, data=accept.fields, follow_redirects=True)
    assert "Иванов Пётр Сергеевич" in text_of(done) and "откроется" in text_of(done)
    db.session.expire_all()
    assert grant.accepted_at is not None and grant.sections == ["schedule", "homework"]
    assert "откроется" in text_of(parent.get("/cabinet/trusted/"))

    revoke = next(
        f
        for f in forms_of(parent.get("/cabinet/trusted/").get_data(as_text=True))
        if f.action.endswith("/revoke")
    )
    revoked = text_of(parent.post(revoke.action, data=revoke.fields, follow_redirects=True))
    assert "Доступ отозван" in revoked and "Отозван" in revoked
    assert "Иванов Пётр" not in text_of(invitee.get("/cabinet/trusted/given-to-me"))


def test_searches_for_an_invitee_are_limited_per_parent(app, people, monkeypatch):
    _maria, _olga, child_id = people
    monkeypatch.setitem(app.config, "RATELIMIT_TRUSTED_LOOKUP", "2 per hour")
    parent = portal_client_signed_in(app, MARIA_PHONE)
    url = f"/cabinet/trusted/children/{child_id}/new"
    for _ in range(2):
        assert submit(parent, url, {"snils": "050-234-316 00"}).status_code == 422
    assert submit(parent, url, {"snils": OLGA_SNILS}).status_code == 429
    assert grant_count() == 0


def test_the_pages_speak_english_too(app, people):
    parent = portal_client_signed_in(app, MARIA_PHONE)
    parent.get("/lang/en")
    page = text_of(parent.get("/cabinet/trusted/"))
    assert "Trusted persons" in page and "Give access to a person" in page


def test_an_invitation_waits_on_the_invitees_start_page(app, people):
    """Issue 16: the cabinet starts from what needs doing; an invitation is one of them."""
    maria, olga, child_id = people
    grant = invite(maria, child_id)
    page = portal_client_signed_in(app, OLGA_PHONE).get("/cabinet/")
    assert (
        "Доступ к дневнику: Иванов Пётр Сергеевич ждёт вашего ответа "
        "Иванова Мария Петровна приглашает вас доверенным лицом. Ответить"
    ) in text_of(page)
    assert 'href="/cabinet/trusted/given-to-me"' in page.get_data(as_text=True)
    trusted.accept(olga, grant.public_id, ORIGIN)
    assert "ждёт вашего ответа" not in text_of(
        portal_client_signed_in(app, OLGA_PHONE).get("/cabinet/")
    )
    assert "ждёт вашего ответа" not in text_of(
        portal_client_signed_in(app, MARIA_PHONE).get("/cabinet/")
    )
