"""Who a signed-in person is in the region: records the school created with their SNILS
(staff, their own student record, guardian links made before their first sign-in) are
tied to them at sign-in by the SNILS's keyed hash, and never to anyone else."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from diary_service.access import can_view_student, viewer_for
from diary_service.auth import services as auth_services
from diary_service.extensions import db
from diary_service.models.family import Guardian
from diary_service.models.school import StaffMember, StaffRole
from shared.sessions import utcnow

KEY = "embedded-test-blind-index-key-not-for-production"  # config/diary.toml [test]
MARIA = "112-233-445 95"
OLGA = "820-981-233 00"


def sign_in(sub: str, snils: str | None, **claims):
    identity = auth_services.PortalIdentity(
        sub=sub,
        acr="urn:gosdiary:acr:standard",
        sid=f"sid-{sub}",
        claims={"family_name": "Иванова", "given_name": "Мария", "snils": snils, **claims},
    )
    return auth_services.record_sign_in(
        identity, index_key=KEY, forget_sessions_before=utcnow() - timedelta(hours=12)
    )


def test_records_made_with_the_snils_are_tied_to_the_person_at_sign_in(world):
    petr = world.one.students["petr"]
    index = auth_services.snils_index(MARIA, KEY)
    db.session.add(
        Guardian(student=petr, snils_index=index, family_name="Иванова", given_name="Мария")
    )
    teacher = StaffMember(
        school=world.one.school,
        family_name="Смирнова",
        given_name="Ольга",
        snils_index=auth_services.snils_index(OLGA, KEY),
        roles=[StaffRole(role="teacher")],
    )
    db.session.add(teacher)
    db.session.commit()

    maria = sign_in("portal-maria", "11223344595")
    olga = sign_in("portal-olga", OLGA, given_name="Ольга", family_name="Смирнова")

    assert can_view_student(viewer_for(maria), petr, "marks")
    assert viewer_for(olga).staff_ids == {teacher.id}
    assert not viewer_for(olga).guardian_of


def test_a_record_someone_holds_stays_theirs_and_no_snils_ties_nothing(world):
    petr = world.one.students["petr"]
    index = auth_services.snils_index(MARIA, KEY)
    db.session.add(Guardian(student=petr, snils_index=index, person_id=world.people["parent"].id))
    db.session.commit()

    impostor = sign_in("portal-other", MARIA)  # the same SNILS, a different portal person
    unverified = sign_in("portal-simplified", None)

    assert petr.id not in viewer_for(impostor).guardian_of
    assert not viewer_for(unverified).is_family
    holders = db.session.execute(
        sa.select(Guardian.person_id).where(Guardian.snils_index == index)
    ).scalars()
    assert list(holders) == [world.people["parent"].id]


def test_contacts_are_kept_only_when_the_portal_confirmed_them(diary):
    person = sign_in(
        "portal-contacts",
        None,
        email="maria@example.ru",
        email_verified=True,
        phone_number="+79160000001",
        phone_number_verified=False,
    )
    assert person.email == "maria@example.ru"
    assert person.phone is None
