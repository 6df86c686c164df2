"""Service applications and trusted persons across the federation, over real HTTP.

The portal (with the simulator's registries) and two regional diaries run on live
servers, as in ``test_federation``. Мария is a standard citizen with her son Пётр
verified; region 1's school has Пётр on its register without his SNILS, so signing in
does not link him. Мария finds the service in the portal's catalog and applies through
its pages; the application travels to region 1 as a signed message; the school's
administrator takes it into work and approves it; each status travels back and Мария's
cabinet shows it; her next page in the diary shows Пётр's marks. Then she makes Ольга
(a grandmother, here) a trusted person who sees the schedule and homework only: Ольга
accepts in her cabinet, her access opens after the configured delay without a new
sign-in, and ends at her next request once Мария revokes it on the portal.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from diary_service.applications import services as school_applications
from diary_service.extensions import db as diary_db
from diary_service.models.family import Application
from diary_service.models.school import StaffMember, StaffRole, Student
from portal.catalog.models import ServiceApplication
from portal.extensions import db as portal_db
from portal.family import services as family
from portal.family.models import Child, TrustedGrant
from portal.federation.models import FederationMessage
from tests.diary_service.test_auth import Browser
from tests.diary_service.test_federation import (
    build_school,
    guardians,
    linked_part,
    regions,  # noqa: F401  (the fixture)
)
from tests.portal.test_family import ORIGIN, PETR, verified
from tests.portal.test_proofing import make_standard, wait_for
from tests.portal.test_trusted import OLGA, OLGA_PASSPORT, OLGA_SNILS

MARIA_PHONE = "+79165550201"
OLGA_PHONE = "+79165550202"
PASSWORD = "violet-harbour-lamp"  # make_citizen's
OPENING_DELAY = 3  # seconds from acceptance to access, instead of the default 24 hours


@pytest.fixture
def federation(app, regions, monkeypatch):  # noqa: F811
    """The portal knows both live diaries as its regions."""
    one, two = regions
    monkeypatch.setitem(
        app.config,
        "DIARY_REGIONS",
        [
            {
                "code": "one",
                "name": "Область один",
                "url": one.url,
                "client_id": "diary-federation-region-1",
            },
            {
                "code": "two",
                "name": "Область два",
                "url": two.url,
                "client_id": "diary-federation-region-2",
            },
        ],
    )
    monkeypatch.setitem(app.config, "TRUSTED_ACCESS_DELAY", OPENING_DELAY)
    return one, two


def portal_status(public_id: str) -> str:
    portal_db.session.commit()  # see what the live servers committed
    return portal_db.session.execute(
        sa.select(ServiceApplication.status).where(ServiceApplication.public_id == public_id)
    ).scalar_one()


def administrator(school_id: int) -> StaffMember:
    """The school's administrator (the factories' world has one per school)."""
    return diary_db.session.execute(
        sa.select(StaffMember)
        .join(StaffRole, StaffRole.staff_id == StaffMember.id)
        .where(StaffMember.school_id == school_id, StaffRole.role == "school_admin")
    ).scalar_one()


def test_an_application_links_a_parent_and_a_trusted_person_comes_and_goes(
    proofing, portal_server, inbox, make_citizen, federation
):
    region1, region2 = federation
    school = build_school(region1, "petr", PETR["snils"], [("math", "5", "Дроби: заявление")])
    with region1.app.app_context():
        # The school's register has Пётр without his SNILS: no automatic link.
        diary_db.session.get(Student, school.student_id).snils_index = None
        diary_db.session.commit()
        school_name = diary_db.session.get(Student, school.student_id).school.name
        diary_db.session.remove()

    maria = make_standard(make_citizen, phone=MARIA_PHONE, email="maria@example.ru")
    child_id = family.add_child(maria, {**PETR}, ORIGIN).child_id
    assert wait_for(lambda: verified(maria) == ["Иванов Пётр Сергеевич"])
    olga = make_standard(
        make_citizen, profile=OLGA, snils=OLGA_SNILS, passport=OLGA_PASSPORT, phone=OLGA_PHONE
    )
    portal_db.session.commit()

    # 1. Region 1 does not find Пётр and says what to do next: apply on the portal.
    mother = Browser(portal_server, login=MARIA_PHONE, password=PASSWORD)
    home = mother.go(region1.url + "/auth/login")
    assert home.url == region1.url + "/"
    children = mother.go(region1.url + "/students/")
    assert "Иванов Пётр" not in linked_part(children.get_data(as_text=True))
    assert f"{portal_server}/services/diary-access" in children.get_data(as_text=True)
    assert mother.go(f"{region1.url}/students/{school.student_id}/marks").status == 403

    # 2. The portal's catalog finds the service; the card states its terms.
    found = mother.go(portal_server + "/services?q=" + quote("электронный дневник"))
    assert "Доступ к электронному дневнику" in found.text
    card = mother.go(portal_server + "/services/diary-access")
    assert "Бесплатно" in card.text and "3 рабочих дня" in card.text

    # 3. The application: child and region, then the region's schools (from its diary).
    child_public_id = portal_db.session.get(Child, child_id).public_id
    form = mother.go(
        f"{portal_server}/services/diary-access/apply?child={child_public_id}&region=one"
    )
    assert form.status == 200 and school_name in form.text
    with region1.app.app_context():
        school_id = diary_db.session.get(Student, school.student_id).school_id
        diary_db.session.remove()
    review = mother.submit(form, {"school": str(school_id)}, action="/services/diary-access/apply")
    assert review.status == 200 and school_name in review.text
    sent = mother.submit(review, {}, action="/services/diary-access/apply")
    assert sent.status == 302, sent.text[:500]
    public_id = sent.location.rstrip("/").rsplit("/", 1)[1]
    # Delivered at once over HTTP: region 1 has it, with its deadline.
    assert portal_status(public_id) == "received"
    page = mother.go(sent.location)
    assert "получено школой" in page.text

    # 4. The school's administrator takes it into work and approves it.
    with region1.app.app_context():
        application = diary_db.session.execute(
            sa.select(Application).where(Application.portal_id == public_id)
        ).scalar_one()
        assert application.status == "received"
        school_applications.take_into_work(application, administrator(application.school_id))
        diary_db.session.remove()
    assert portal_status(public_id) == "in_progress"
    with region1.app.app_context():
        application = diary_db.session.execute(
            sa.select(Application).where(Application.portal_id == public_id)
        ).scalar_one()
        school_applications.approve(
            application, administrator(application.school_id), school.student_id
        )
        diary_db.session.remove()
    assert portal_status(public_id) == "done"
    page = mother.go(sent.location)
    assert "исполнено: доступ предоставлен" in page.text
    # Told by e-mail that the school approved it.
    assert wait_for(
        lambda: any("одобрено" in m["body"] for m in inbox.messages(to="maria@example.ru"))
    )

    # 5. Her next page in the diary shows Пётр's marks: the approval made the link.
    assert guardians(region1, maria.public_id) == [(school.student_id, "application", "parent")]
    marks = mother.go(f"{region1.url}/students/{school.student_id}/marks?period={school.period_id}")
    assert marks.status == 200 and "Дроби: заявление" in marks.text
    assert guardians(region2, maria.public_id) == []  # region 2 knows nothing of it

    # 6. Мария makes Ольга a trusted person: schedule and homework only.
    invite = mother.go(f"{portal_server}/cabinet/trusted/children/{child_id}/new")
    made = mother.submit(invite, {"snils": OLGA_SNILS, "preset": "schedule_homework"}, action="")
    assert made.status == 302, made.text[:500]
    grandmother = Browser(portal_server, login=OLGA_PHONE, password=PASSWORD)
    offers = grandmother.go(portal_server + "/cabinet/trusted/given-to-me")
    assert "Иванов Пётр" in offers.text
    grant_id = portal_db.session.execute(sa.select(TrustedGrant.public_id)).scalar_one()
    accepted = grandmother.submit(offers, {}, action=f"/cabinet/trusted/{grant_id}/accept")
    assert accepted.status == 302, accepted.text[:500]
    opened_at = time.monotonic() + OPENING_DELAY

    # Signed in at once: the grant is known to the diary but not open yet.
    grandmother.go(region1.url + "/auth/login")
    week = f"{region1.url}/students/{school.student_id}/week"
    assert grandmother.go(week).status == 403
    assert "Иванов Пётр" not in linked_part(grandmother.go(region1.url + "/students/").text)
    # It opens on time, without a new sign-in: the schedule, not the marks.
    time.sleep(max(0.0, opened_at - time.monotonic()) + 0.5)
    page = grandmother.go(week)
    assert page.status == 200 and "Иванов Пётр" in page.text
    marks = grandmother.go(f"{region1.url}/students/{school.student_id}/marks")
    assert marks.status == 403
    assert [kind for _s, _src, kind in guardians(region1, olga.public_id)] == ["trusted"]

    # 7. Мария revokes on the portal; Ольга's very next request no longer shows Пётр.
    given = mother.go(portal_server + "/cabinet/trusted/")
    revoked = mother.submit(given, {}, action=f"/cabinet/trusted/{grant_id}/revoke")
    assert revoked.status == 302, revoked.text[:500]
    portal_db.session.commit()
    delivered = portal_db.session.execute(
        sa.select(FederationMessage.target, FederationMessage.answer).where(
            FederationMessage.event == "trusted.revoked"
        )
    ).all()
    assert sorted(delivered) == [
        ("diary-federation-region-1", {"revoked": 1}),
        ("diary-federation-region-2", {"revoked": 0}),
    ]
    assert grandmother.go(week).status == 403
    assert "Иванов Пётр" not in linked_part(grandmother.go(region1.url + "/students/").text)
    assert guardians(region1, olga.public_id) == []
    # Мария's own link is untouched.
    assert mother.go(week).status == 200
