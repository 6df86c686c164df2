"""Single use under concurrency in the diary: an access code, a staff invitation, an
application's decision and a notification, each taken eight times at the same moment
(threads released together; real HTTP to the diary's live server where a person acts,
the job's own code where a worker does; PostgreSQL in CI's second pass), and exactly one
use counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from diary_service.extensions import db, limiter
from diary_service.family import links
from diary_service.messages import services as messages
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import AccessCode, Guardian, StaffInvitation
from diary_service.models.federation import PortalMessage
from diary_service.models.messages import Notification
from diary_service.models.school import StaffMember, StaffRole
from shared.sessions import utcnow
from tests.conftest import LiveServer
from tests.diary_service.factories import World, person
from tests.diary_service.test_applications import application_of, receive, submitted
from tests.diary_service.test_links import PETR_SNILS, index_of, issue
from tests.helpers import LiveBrowser, at_once

ONCE = 8  # how many requests carry the same value at the same moment


@pytest.fixture(scope="module")
def diary_server(diary_app) -> Iterator[str]:
    with LiveServer(diary_app) as live:
        yield live.url


@pytest.fixture(autouse=True)
def fresh_limits(diary):
    limiter.reset()
    yield
    limiter.reset()


def browser_of(diary, diary_server: str, who: DiaryPerson) -> LiveBrowser:
    """A browser of the live diary signed in as ``who`` (as the portal sign-in leaves
    the session; the ``login`` fixture's session, carried over)."""
    client = diary.test_client()
    with client.session_transaction() as session:
        session["user_id"] = who.id
        session["sub"] = who.sub
        session["acr"] = "urn:gosdiary:acr:standard"
        session["portal_sid"] = f"sid-{who.id}"
    name = diary.config["SESSION_COOKIE_NAME"]
    browser = LiveBrowser(diary_server)
    browser.set_cookie(name, client.get_cookie(name).value)
    return browser


def strangers(count: int) -> list[DiaryPerson]:
    people = [person(f"stranger{i}", "Чужов", f"Гость{i}") for i in range(count)]
    db.session.commit()
    return people


def enter_at_once(diary, diary_server: str, people: list[DiaryPerson], code: str) -> list:
    """Each person enters ``code`` in their own browser, all at the same moment."""
    browsers = [browser_of(diary, diary_server, who) for who in people]
    forms = [browser.form("/codes/enter") for browser in browsers]
    return at_once(
        len(people), lambda i: browsers[i].open("/codes/enter", {**forms[i], "code": code})
    )


def statuses(pages) -> list[int]:
    return sorted(page.status for page in pages)


# --- codes ----------------------------------------------------------------------------------


def test_one_access_code_entered_by_eight_people_at_once_links_one(
    world: World, diary, diary_server
):
    petr = world.one.students["petr"]
    issued = issue(world, diary, slot=2)
    pages = enter_at_once(diary, diary_server, strangers(ONCE), issued.code)
    assert statuses(pages) == [302] + [400] * (ONCE - 1)
    [won] = [page for page in pages if page.status == 302]
    assert won.location.endswith(f"/students/{petr.id}/week")
    db.session.commit()
    made = db.session.execute(sa.select(Guardian).where(Guardian.source == "code")).scalars().all()
    code = db.session.execute(sa.select(AccessCode)).scalar_one()
    assert [(link.student_id, link.slot, link.person_id) for link in made] == [
        (petr.id, 2, code.used_by_id)
    ]


def test_one_staff_invitation_entered_by_eight_people_at_once_ties_one(
    world: World, diary, diary_server
):
    member = StaffMember(
        school=world.one.school,
        family_name="Новикова",
        given_name="Анна",
        position="учитель истории",
        roles=[StaffRole(role="teacher")],
    )
    db.session.add(member)
    db.session.commit()
    key = diary.config["LINK_CODE_KEY"]
    issued = links.issue_invitation(member, world.today, None, key, world.today)
    pages = enter_at_once(diary, diary_server, strangers(ONCE), issued.code)
    assert statuses(pages) == [302] + [400] * (ONCE - 1)
    db.session.commit()
    db.session.refresh(member)
    invitation = db.session.execute(sa.select(StaffInvitation)).scalar_one()
    assert member.person_id is not None and member.person_id == invitation.used_by_id


# --- an application's decision --------------------------------------------------------------


def test_an_application_approved_eight_times_at_once_makes_one_link(
    world: World, diary, diary_server
):
    world.one.students["petr"].snils_index = index_of(diary, PETR_SNILS)
    db.session.commit()
    data = submitted(world.one.school.id)
    receive(diary, data)
    application = application_of(data["id"])
    path = f"/applications/{application.id}"
    admin = browser_of(diary, diary_server, world.people["admin"])
    form = {**admin.form(path, f"{path}/approve"), "student": world.one.students["petr"].id}
    pages = at_once(ONCE, lambda _: admin.open(f"{path}/approve", form))
    assert statuses(pages) == [302] + [400] * (ONCE - 1)
    assert all("уже принято решение" in page.text for page in pages if page.status == 400)
    db.session.commit()
    made = db.session.execute(sa.select(Guardian).where(Guardian.source == "application"))
    assert len(made.scalars().all()) == 1
    told = db.session.execute(sa.select(PortalMessage.key)).scalars().all()
    assert told == [f"{data['id']}:done"]


# --- the notification outbox ------------------------------------------------------------------


def test_a_notification_taken_by_eight_senders_at_once_goes_out_once(
    world: World, diary, inbox, monkeypatch
):
    """The sending job run by eight workers at the same moment: the parent gets one
    e-mail (the claim matches only a due row, so a sender that reads the row after
    another's claim finds it pushed back)."""
    monkeypatch.setitem(diary.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(diary.config, "SMTP_PORT", inbox.smtp_port)
    parent = world.people["parent"]
    db.session.add(
        Notification(
            person_id=parent.id,
            event="mark",
            channel="email",
            subject="Электронный дневник: новая оценка",
            body="Новая оценка: 5",
            send_after=utcnow(),
        )
    )
    db.session.commit()

    def send(_):
        with diary.app_context():
            return messages.send_due_notifications()

    assert sum(at_once(ONCE, send)) == 1
    assert len(inbox.messages(to=parent.email)) == 1
    db.session.commit()
    note = db.session.execute(sa.select(Notification)).scalar_one()
    assert note.sent_at is not None and note.attempts == 1
