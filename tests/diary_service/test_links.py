"""Linking people to students and staff records beyond what the school types in: the
portal's verified children matched by SNILS and birth date at sign-in, one-time access
codes the school prints for parents, and invitations for staff. Every way in, and every
refusal; pages are read in Russian."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from diary_service.access import can_view_student, viewer_for
from diary_service.auth import services as auth_services
from diary_service.extensions import db, limiter
from diary_service.family import links
from diary_service.models.auth import PortalChild
from diary_service.models.family import AccessCode, Guardian, StaffInvitation
from diary_service.models.school import StaffMember, StaffRole
from diary_service.school import services as school_services
from shared.errors import ValidationError
from shared.sessions import utcnow
from tests.diary_service.factories import World
from tests.helpers import submit, text_of

PETR_SNILS = "123-456-789 64"
MASHA_SNILS = "234-567-890 99"
UNKNOWN_SNILS = "345-678-901 23"
CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}\b")
INVALID = "Код недействителен"


@pytest.fixture(autouse=True)
def fresh_limits(diary):
    """Every test starts (and leaves) with no attempts counted against anybody."""
    limiter.reset()
    yield
    limiter.reset()


def index_of(diary, snils: str) -> str:
    return auth_services.snils_index(snils, diary.config["BLIND_INDEX_KEY"])


def kid(portal_id: str, snils: str | None, birthdate: str | None, given: str = "Пётр") -> dict:
    return {
        "id": portal_id,
        "family_name": "Иванов",
        "given_name": given,
        "birthdate": birthdate,
        "snils": snils,
    }


def sign_in(diary, sub: str, *kids: dict, **claims):
    """A sign-in through the portal with these verified children (the ``kids`` claim)."""
    identity = auth_services.PortalIdentity(
        sub=sub,
        acr="urn:gosdiary:acr:standard",
        sid=f"sid-{sub}",
        claims={"family_name": "Иванова", "given_name": "Мария", "kids": list(kids), **claims},
    )
    return auth_services.record_sign_in(
        identity,
        index_key=diary.config["BLIND_INDEX_KEY"],
        forget_sessions_before=utcnow() - timedelta(hours=12),
    )


def links_of(person_id: int, *, active: bool = True) -> list[Guardian]:
    query = sa.select(Guardian).where(Guardian.person_id == person_id).order_by(Guardian.id)
    if active:
        query = query.where(Guardian.revoked_at.is_(None))
    return list(db.session.execute(query).scalars())


@pytest.fixture
def registered(world: World, diary) -> World:
    """Пётр and Маша with the SNILS the school recorded (as its keyed hash)."""
    world.one.students["petr"].snils_index = index_of(diary, PETR_SNILS)
    world.one.students["masha"].snils_index = index_of(diary, MASHA_SNILS)
    db.session.commit()
    return world


# --- the portal's verified children -------------------------------------------------------


def test_a_verified_child_matching_snils_and_birth_date_is_linked_with_its_reason(
    registered, diary, login
):
    petr = registered.one.students["petr"]
    maria = sign_in(diary, "portal-maria", kid("kid-petr", PETR_SNILS, "2014-09-02"))

    [link] = links_of(maria.id)
    assert (link.student_id, link.kind, link.source) == (petr.id, "parent", "portal")
    assert link.reason == (
        "подтверждено порталом: совпали СНИЛС и дата рождения (ребёнок на портале kid-petr)"
    )
    assert can_view_student(viewer_for(maria), petr, "marks")
    [child] = maria.children
    assert child.student_id == petr.id and child.birth_date == date(2014, 9, 2)
    assert child.snils_index == index_of(diary, PETR_SNILS)  # the hash, never the number
    row = db.session.execute(sa.select(PortalChild.__table__)).one()
    assert not any("123" in str(value) and "456" in str(value) for value in row)

    client = login(maria)
    index = client.get("/students/")
    assert index.status_code == 302 and index.location.endswith(f"/students/{petr.id}/week")
    assert "Иванов Пётр Сергеевич" in text_of(client.get(f"/students/{petr.id}/week"))


def test_linking_is_idempotent_across_sign_ins(registered, diary):
    for _ in range(3):
        maria = sign_in(diary, "portal-maria", kid("kid-petr", PETR_SNILS, "2014-09-02"))
    assert len(links_of(maria.id, active=False)) == 1


def test_a_child_nobody_matches_is_shown_with_the_next_step(registered, diary, login):
    maria = sign_in(
        diary,
        "portal-maria",
        kid("kid-unknown", UNKNOWN_SNILS, "2015-01-01", given="Иван"),
        # Пётр's SNILS with another birth date: not him.
        kid("kid-wrong-date", PETR_SNILS, "2014-09-03", given="Павел"),
        kid("kid-no-snils", None, "2014-09-02", given="Фёдор"),
    )

    assert links_of(maria.id, active=False) == []
    assert all(child.student_id is None for child in maria.children)
    page = login(maria).get("/students/")
    assert page.status_code == 200
    text = text_of(page)
    for name in ("Иванов Иван", "Иванов Павел", "Иванов Фёдор"):
        assert f"{name} ещё не привязан" in text
    assert "не нашёл этого ребёнка среди учеников региона" in text
    assert "введите код доступа от школы" in text
    assert "подайте на портале заявление" in text
    assert 'href="/codes/enter"' in page.get_data(as_text=True)


def test_one_linked_child_and_one_not_found_shows_both(registered, diary, login):
    maria = sign_in(
        diary,
        "portal-maria",
        kid("kid-petr", PETR_SNILS, "2014-09-02"),
        kid("kid-unknown", UNKNOWN_SNILS, "2015-01-01", given="Иван"),
    )
    page = login(maria).get("/students/")
    assert page.status_code == 200  # not sent straight to Пётр's week: Иван needs a step
    text = text_of(page)
    assert "Иванов Пётр Сергеевич" in text and "Иванов Иван ещё не привязан" in text


def test_a_child_removed_on_the_portal_is_unlinked_and_school_links_stay(registered, diary):
    parent = registered.people["parent"]  # the school linked her to Пётр and Алиса
    masha = registered.one.students["masha"]
    sign_in(diary, parent.sub, kid("kid-masha", MASHA_SNILS, "2014-04-11", given="Мария"))
    assert masha.id in viewer_for(parent).guardian_of

    sign_in(diary, parent.sub)  # the portal lists no children any more

    viewer = viewer_for(parent)
    assert masha.id not in viewer.guardian_of
    [ended] = [link for link in links_of(parent.id, active=False) if link.source == "portal"]
    assert ended.revoked_at is not None and ended.revoked_by_id is None
    school = {(link.student_id, link.source) for link in links_of(parent.id)}
    petr, alisa = registered.one.students["petr"], registered.one.students["alisa"]
    assert school == {(petr.id, "school"), (alisa.id, "school")}

    # Back on the portal: linked again, as a new link (the ended one stays as history).
    sign_in(diary, parent.sub, kid("kid-masha", MASHA_SNILS, "2014-04-11", given="Мария"))
    assert masha.id in viewer_for(parent).guardian_of
    assert len([g for g in links_of(parent.id, active=False) if g.source == "portal"]) == 2


def test_a_student_already_linked_by_the_school_gets_no_second_link(registered, diary):
    parent = registered.people["parent"]
    sign_in(diary, parent.sub, kid("kid-petr", PETR_SNILS, "2014-09-02"))
    petr = registered.one.students["petr"]
    assert [g.source for g in links_of(parent.id) if g.student_id == petr.id] == ["school"]


def test_a_link_the_school_ended_is_not_made_again_at_sign_in(registered, diary, login):
    maria = sign_in(diary, "portal-maria", kid("kid-petr", PETR_SNILS, "2014-09-02"))
    [link] = links_of(maria.id)
    school_services.revoke_guardian(link.id, registered.one.staff["admin"].id)

    maria = sign_in(diary, "portal-maria", kid("kid-petr", PETR_SNILS, "2014-09-02"))

    assert links_of(maria.id) == []
    text = text_of(login(maria).get("/students/"))
    assert "связь прекращена школой" in text and "обратитесь в школу" in text


# --- access codes: issuing ---------------------------------------------------------------


def test_the_administrator_prints_slips_for_the_whole_class(world, login, diary):
    cls = world.one.classes["6А"]
    until = (world.today + timedelta(days=14)).isoformat()
    client = login(world.people["admin"])
    page = client.get(f"/codes/classes/{cls.id}")
    assert page.status_code == 200
    assert "Класс 6А: коды доступа для родителей" in text_of(page)

    slips = submit(
        client,
        f"/codes/classes/{cls.id}",
        {"slots": "both", "valid_until": until, "only_unlinked": ""},
    )

    assert slips.status_code == 200 and slips.headers["Cache-Control"] == "no-store"
    text = text_of(slips)
    codes = CODE.findall(text)
    assert len(codes) == 4 == len(set(codes))  # Пётр and Маша, two parents each
    assert "Иванов Пётр Сергеевич" in text and "Кузнецова Мария Олеговна" in text
    assert f"Действует до {(world.today + timedelta(days=14)):%d.%m.%Y} включительно" in text
    enter_url = diary.config["PUBLIC_URL"].rstrip("/") + "/codes/enter"
    assert f"Откройте «Ввести код доступа»: {enter_url}" in text
    stored = list(db.session.execute(sa.select(AccessCode)).scalars())
    assert len(stored) == 4
    assert {row.issued_by_id for row in stored} == {world.one.staff["admin"].id}
    assert not {code.replace("-", "") for code in codes} & {row.code_hash for row in stored}
    # Shown once: the class page tells the state, not the codes.
    after = text_of(client.get(f"/codes/classes/{cls.id}"))
    assert "код выдан, действует до" in after and not CODE.search(after)


def test_students_with_a_parent_linked_are_left_out_by_default(world, login):
    cls = world.one.classes["6А"]
    slips = submit(
        login(world.people["teacher"]),
        f"/codes/classes/{cls.id}",
        {"slots": "1", "only_unlinked": "y"},
    )
    assert slips.status_code == 200
    text = text_of(slips)
    assert not CODE.search(text)
    assert "2 места родителей пропущены" in text


def test_the_class_teacher_prints_one_slip_and_a_new_code_stops_the_old(world, login, diary):
    petr = world.one.students["petr"]
    client = login(world.people["teacher"])
    first = submit(
        client,
        f"/codes/classes/{world.one.classes['6А'].id}",
        {"slot": "2"},
        action=f"/codes/students/{petr.id}",
    )
    assert first.status_code == 200
    text = text_of(first)
    [old] = CODE.findall(text)
    assert "Иванов Пётр Сергеевич" in text and "Место родителя 2" in text

    second = submit(
        client,
        f"/codes/classes/{world.one.classes['6А'].id}",
        {"slot": "2"},
        action=f"/codes/students/{petr.id}",
    )
    [new] = CODE.findall(text_of(second))
    assert new != old
    rows = list(db.session.execute(sa.select(AccessCode).order_by(AccessCode.id)).scalars())
    assert [row.revoked_at is not None for row in rows] == [True, False]
    assert rows[1].issued_by_id == world.one.staff["teacher"].id


@pytest.mark.parametrize("who", ["teacher2", "parent", "nurse", "two_admin", "two_teacher"])
def test_others_cannot_issue_codes(world, login, who):
    petr, cls = world.one.students["petr"], world.one.classes["6А"]
    client = login(world.people[who])
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)
    ).group(1)
    assert client.get(f"/codes/classes/{cls.id}").status_code == 403
    for url, data in (
        (f"/codes/classes/{cls.id}", {"slots": "both", "valid_until": "2030-01-01"}),
        (f"/codes/students/{petr.id}", {"slot": "1"}),
    ):
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403
    assert db.session.execute(sa.select(sa.func.count(AccessCode.id))).scalar_one() == 0


def test_issuing_refuses_a_past_expiry_and_a_taken_place(world, diary):
    petr = world.one.students["petr"]
    key, today = diary.config["LINK_CODE_KEY"], world.today
    with pytest.raises(ValidationError):
        links.issue_code(petr, 1, today - timedelta(days=1), None, key, today)
    issued = links.issue_code(petr, 1, today, None, key, today)
    links.redeem_code(issued.code, world.people["nobody"], key, today)
    with pytest.raises(ValidationError) as taken:
        links.issue_code(petr, 1, today + timedelta(days=5), None, key, today)
    assert "Место родителя 1 у этого ученика занято" in taken.value.message


def test_a_lost_slip_is_stopped(world, login, diary):
    petr = world.one.students["petr"]
    key = diary.config["LINK_CODE_KEY"]
    issued = links.issue_code(petr, 1, world.today, None, key, world.today)
    client = login(world.people["admin"])
    stopped = submit(
        client,
        f"/codes/classes/{world.one.classes['6А'].id}",
        action=f"/codes/students/{petr.id}/slots/1/revoke",
        follow=True,
    )
    assert "Код больше не действует" in text_of(stopped)
    entered = submit(login(world.people["nobody"]), "/codes/enter", {"code": issued.code})
    assert entered.status_code == 400 and INVALID in text_of(entered)


# --- access codes: entering ----------------------------------------------------------------


def issue(world: World, diary, student: str = "petr", slot: int = 1, **kw):
    return links.issue_code(
        world.one.students[student],
        slot,
        kw.get("expires_on", world.today + timedelta(days=30)),
        world.one.staff["admin"].id,
        diary.config["LINK_CODE_KEY"],
        world.today,
    )


def enter(client, code: str, follow: bool = False):
    return submit(client, "/codes/enter", {"code": code}, follow=follow)


def test_a_parent_enters_a_valid_code_and_sees_the_week(world, diary, login):
    petr = world.one.students["petr"]
    issued = issue(world, diary, slot=2)
    nobody = world.people["nobody"]
    client = login(nobody)

    # Typed by hand: small letters, no dash, spaces around.
    entered = enter(client, f"  {issued.code.replace('-', '').lower()} ")

    assert entered.status_code == 302
    assert entered.location.endswith(f"/students/{petr.id}/week")
    week = client.get(entered.location)
    assert week.status_code == 200
    assert "Готово: теперь вы видите дневник ученика Иванов Пётр Сергеевич" in text_of(week)
    [link] = links_of(nobody.id)
    assert (link.student_id, link.source, link.slot) == (petr.id, "code", 2)
    assert link.reason == f"одноразовый код, выдан {world.today:%d.%m.%Y} (Соколова Н. А.)"
    assert link.created_by_id == world.one.staff["admin"].id
    code = db.session.execute(sa.select(AccessCode)).scalar_one()
    assert code.used_by_id == nobody.id and code.used_at is not None


def test_a_code_typed_with_russian_letters_works(world, diary, login):
    issued = issue(world, diary)
    # The Cyrillic look-alikes a Russian keyboard layout types.
    typed = issued.code.translate(str.maketrans("ABEKMHPCTXY", "АВЕКМНРСТХУ"))
    assert enter(login(world.people["nobody"]), typed).status_code == 302


def test_every_unusable_code_gets_the_same_answer(world, diary, login):
    key = diary.config["LINK_CODE_KEY"]
    used = issue(world, diary, "petr", 1)
    links.redeem_code(used.code, world.people["nobody"], key, world.today)
    expired = issue(world, diary, "masha", 1, expires_on=world.today)
    db.session.execute(
        sa.update(AccessCode)
        .where(AccessCode.student_id == world.one.students["masha"].id)
        .values(expires_on=world.today - timedelta(days=1))
    )
    db.session.commit()
    revoked = issue(world, diary, "alisa", 1)
    issue(world, diary, "alisa", 1)  # the new code stops the first
    before = db.session.execute(sa.select(sa.func.count(Guardian.id))).scalar_one()

    client = login(world.people["two_parent"])
    answers = set()
    for code in (used.code, expired.code, revoked.code, "ABCDE-FGHJK", "что-то не то"):
        response = enter(client, code)
        assert response.status_code == 400
        [error] = re.findall(r'<ul class="errors"[^>]*>(.*?)</ul>', response.get_data(as_text=True))
        answers.add(error)
    assert len(answers) == 1 and INVALID in answers.pop()
    after = db.session.execute(sa.select(sa.func.count(Guardian.id))).scalar_one()
    assert after == before


def test_trying_codes_is_rate_limited_and_changes_nothing(world, diary, login):
    issued = issue(world, diary)
    client = login(world.people["nobody"])
    for _ in range(5):
        assert enter(client, "ABCDE-FGHJK").status_code == 400
    limited = enter(client, issued.code)  # even the right code, once over the limit
    assert limited.status_code == 429
    assert "Слишком много" in text_of(limited)
    assert links_of(world.people["nobody"].id) == []
    assert db.session.execute(sa.select(AccessCode.used_at)).scalar_one() is None
    # Another person is counted on their own.
    assert enter(login(world.people["parent2"]), issued.code).status_code == 302


def test_a_place_another_parent_holds_is_refused(world, diary, login):
    petr = world.one.students["petr"]
    first = issue(world, diary, slot=1)
    assert enter(login(world.people["nobody"]), first.code).status_code == 302
    # A code for the same place that was already out (issued before the place was taken).
    late = links.new_code()
    db.session.add(
        AccessCode(
            student_id=petr.id,
            slot=1,
            code_hash=links.code_hash(late, diary.config["LINK_CODE_KEY"], links.ACCESS_CODE),
            expires_on=world.today,
        )
    )
    db.session.commit()

    refused = enter(login(world.people["two_parent"]), late)

    assert refused.status_code == 400
    assert "Это место уже занял по коду другой родитель" in text_of(refused)
    assert petr.id not in viewer_for(world.people["two_parent"]).guardian_of


def test_a_parent_already_linked_keeps_the_code_unused(world, diary, login):
    issued = issue(world, diary)
    refused = enter(login(world.people["parent"]), issued.code)  # already Пётр's parent
    assert refused.status_code == 400 and "Вы уже видите дневник" in text_of(refused)
    assert db.session.execute(sa.select(AccessCode.used_at)).scalar_one() is None


# --- staff invitations -------------------------------------------------------------------


@pytest.fixture
def newcomer(world: World) -> StaffMember:
    """A teacher the school added without a SNILS the diary could match."""
    member = StaffMember(
        school=world.one.school,
        family_name="Новикова",
        given_name="Анна",
        position="учитель истории",
        roles=[StaffRole(role="teacher")],
    )
    db.session.add(member)
    db.session.commit()
    return member


def test_a_staff_member_joins_with_an_invitation(world, newcomer, login):
    admin = login(world.people["admin"])
    page = admin.get(f"/codes/schools/{world.one.school.id}/staff")
    assert page.status_code == 200 and "Новикова Анна" in text_of(page)

    slip = submit(
        admin, f"/codes/schools/{world.one.school.id}/staff", action=f"/codes/staff/{newcomer.id}"
    )

    assert slip.status_code == 200
    text = text_of(slip)
    [code] = CODE.findall(text)
    assert "Приглашение в электронный дневник" in text and "Новикова Анна" in text
    nobody = world.people["nobody"]
    client = login(nobody)
    joined = enter(client, code, follow=True)
    assert "вы присоединились к школе" in text_of(joined)
    assert viewer_for(nobody).staff_ids == {newcomer.id}
    invitation = db.session.execute(sa.select(StaffInvitation)).scalar_one()
    assert invitation.used_by_id == nobody.id

    again = enter(login(world.people["two_parent"]), code)  # used: like any wrong code
    assert again.status_code == 400 and INVALID in text_of(again)


def test_an_invitation_is_only_for_a_record_nobody_holds(world, newcomer, login, diary):
    admin = login(world.people["admin"])
    staff_page = admin.get(f"/codes/schools/{world.one.school.id}/staff")
    teacher2 = world.one.staff["teacher2"]  # signed in already: no button for her
    assert f'action="/codes/staff/{teacher2.id}"' not in staff_page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', staff_page.get_data(as_text=True))
    refused = admin.post(
        f"/codes/staff/{teacher2.id}", data={"csrf_token": token.group(1)}, follow_redirects=True
    )
    assert "Сотрудник уже пользуется дневником" in text_of(refused)
    assert db.session.execute(sa.select(sa.func.count(StaffInvitation.id))).scalar_one() == 0

    # A second invitation stops the first.
    key = diary.config["LINK_CODE_KEY"]
    first = links.issue_invitation(newcomer, world.today, None, key, world.today)
    links.issue_invitation(newcomer, world.today, None, key, world.today)
    stale = enter(login(world.people["nobody"]), first.code)
    assert stale.status_code == 400 and INVALID in text_of(stale)


@pytest.mark.parametrize("who", ["teacher", "parent", "two_admin"])
def test_only_the_schools_administrator_invites(world, newcomer, login, who):
    client = login(world.people[who])
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)
    ).group(1)
    assert client.get(f"/codes/schools/{world.one.school.id}/staff").status_code == 403
    posted = client.post(f"/codes/staff/{newcomer.id}", data={"csrf_token": token})
    assert posted.status_code == 403


def test_the_codes_page_lists_what_the_viewer_issues(world, login):
    admin = text_of(login(world.people["admin"]).get("/codes/"))
    assert "6А" in admin and "9Б" in admin and "Приглашения для сотрудников" in admin
    teacher = text_of(login(world.people["teacher"]).get("/codes/"))
    assert "6А" in teacher and "9Б" not in teacher
    assert "Приглашения для сотрудников" not in teacher
