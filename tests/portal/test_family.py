"""Children verified by the civil registry and the Social Fund, through the real simulator."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.family import services
from portal.family.models import Child, ParentLink
from portal.proofing import checks
from portal.proofing import services as proofing_services
from portal.proofing.services import LevelTooLow
from shared.crypto import unseal
from shared.errors import ValidationError
from shared.sessions import utcnow
from tests.helpers import forms_of, submit, text_of
from tests.portal.factories import (
    MARIA,
    SERGEY,
    SERGEY_PASSPORT,
    api,
    make_standard,
    verified,
    wait_for,
)

ORIGIN = services.Origin(ip="127.0.0.1", user_agent="pytest")
PETR = {
    "surname": "Иванов",
    "given_name": "Пётр",
    "patronymic": "Сергеевич",
    "birth_date": date(2014, 9, 2),
    "gender": "M",
    "certificate_series": "iv-мю",
    "certificate_number": "512345",
    "certificate_issue_date": date(2014, 9, 20),
    "registry_office": "Отдел ЗАГС Пресненского района",
    "snils": "050-234-316 00",
}


def test_a_parent_adds_a_child_who_becomes_verified(proofing, make_citizen, inbox):
    maria = make_standard(make_citizen, email="maria@example.ru")
    link = services.add_child(maria, PETR, ORIGIN)
    assert wait_for(lambda: verified(maria) == ["Иванов Пётр Сергеевич"])
    child = db.session.get(Child, link.child_id)
    assert child.certificate_details["registry_office"] == "Отдел ЗАГС Пресненского района"
    assert (
        "512345" not in child.certificate_encrypted and "05023431600" not in child.snils_encrypted
    )
    assert any("Иванов Пётр" in m["body"] for m in inbox.messages(to="maria@example.ru"))


def test_both_parents_can_add_the_same_child_and_share_the_record(proofing, make_citizen):
    maria = make_standard(make_citizen)
    sergey = make_standard(
        make_citizen, profile=SERGEY, snils="987-654-321 83", passport=SERGEY_PASSPORT
    )
    services.add_child(maria, PETR, ORIGIN)
    services.add_child(sergey, PETR, ORIGIN)
    assert wait_for(lambda: verified(maria) and verified(sergey))
    assert db.session.execute(sa.select(sa.func.count()).select_from(Child)).scalar_one() == 1
    assert db.session.execute(sa.select(sa.func.count()).select_from(ParentLink)).scalar_one() == 2


def test_someone_not_named_on_the_certificate_is_refused(proofing, make_citizen):
    olga = make_standard(
        make_citizen,
        profile={
            **MARIA,
            "surname": "Смирнова",
            "given_name": "Ольга",
            "patronymic": "Викторовна",
            "birth_date": date(1979, 7, 8),
        },
        snils="820-981-233 00",
        passport={
            "series": "4503",
            "number": "111222",
            "issue_date": date(2004, 8, 10),
            "issuer": "ОВД",
            "issuer_code": "770-003",
        },
    )
    services.add_child(olga, PETR, ORIGIN)
    assert wait_for(
        lambda: (
            (c := checks.latest_check(olga.id, "child_relation", _child_id()))
            and c.status == "rejected"
        )
    )
    assert (
        checks.latest_check(olga.id, "child_relation", _child_id()).reason
        == "relation_not_confirmed"
    )
    assert verified(olga) == []


def _child_id() -> int:
    return db.session.execute(sa.select(Child.id)).scalar_one()


def test_a_simplified_account_cannot_add_children(proofing, make_citizen):
    with pytest.raises(LevelTooLow):
        services.add_child(make_citizen(), PETR, ORIGIN)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"certificate_series": "IV-MJ"}, "IV-МЮ"),
        ({"certificate_number": "12345"}, "6 цифр"),
        ({"snils": "050-234-316 01"}, "СНИЛС"),
        ({"birth_date": date(1990, 1, 1)}, "18"),
        ({"certificate_issue_date": date(2014, 9, 1)}, "не раньше"),
    ],
)
def test_bad_child_data_is_explained(proofing, make_citizen, change, message):
    maria = make_standard(make_citizen)
    with pytest.raises(ValidationError) as error:
        services.add_child(maria, {**PETR, **change}, ORIGIN)
    assert message in error.value.message
    assert db.session.execute(sa.select(sa.func.count()).select_from(Child)).scalar_one() == 0


def test_children_page_shows_checks_and_a_stranger_sees_nothing(proofing, app, make_citizen):
    maria = make_standard(make_citizen, phone="+79161234567")
    services.add_child(maria, PETR, ORIGIN)
    assert wait_for(lambda: verified(maria))
    parent = app.test_client()
    submit(parent, "/login", {"login": "+79161234567", "password": "violet-harbour-lamp"})
    page = text_of(parent.get("/cabinet/children/"))
    assert "Иванов Пётр Сергеевич" in page and "***-***-316 00" in page
    make_citizen(phone="+79161234599")
    stranger = app.test_client()
    submit(stranger, "/login", {"login": "+79161234599", "password": "violet-harbour-lamp"})
    assert "Иванов Пётр" not in text_of(stranger.get("/cabinet/children/"))
    token_page = stranger.get("/cabinet/children/")
    token = next(
        f for f in forms_of(token_page.get_data(as_text=True)) if f.method == "post"
    ).fields["csrf_token"]
    assert (
        stranger.post(
            f"/cabinet/children/{_child_id()}/remove", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert verified(maria) == ["Иванов Пётр Сергеевич"]


DIARIES = [
    {
        "code": "demo",
        "name": "Демонстрационная область",
        "url": "http://127.0.0.1:8001/",
        "client_id": "diary-demo-region",
    },
    {
        "code": "zarechnaya",
        "name": "Заречная область",
        "url": "http://127.0.0.1:8003",  # the trailing slash is added
        "client_id": "diary-demo-region-2",
    },
]


def diary_links(response) -> list[tuple[str, str]]:
    """The children page's links to diaries: (address, text)."""
    html = response.get_data(as_text=True)
    return re.findall(r'<a href="([^"]*)">(Открыть дневник[^<]*)</a>', html)


def test_a_verified_child_links_to_each_regional_diary(proofing, app, make_citizen, monkeypatch):
    monkeypatch.setitem(app.config, "DIARY_REGIONS", DIARIES)
    maria = make_standard(make_citizen, phone="+79161234567")
    link = services.add_child(maria, PETR, ORIGIN)
    assert wait_for(lambda: verified(maria))
    parent = app.test_client()
    submit(parent, "/login", {"login": "+79161234567", "password": "violet-harbour-lamp"})
    assert diary_links(parent.get("/cabinet/children/")) == [
        ("http://127.0.0.1:8001/", "Открыть дневник: Демонстрационная область"),
        ("http://127.0.0.1:8003/", "Открыть дневник: Заречная область"),
    ]
    # A child whose relation is no longer confirmed links nowhere; nor does any child
    # where no diary is configured (production until it is).
    db.session.get(ParentLink, link.id).relation_verified_at = None
    db.session.commit()
    page = parent.get("/cabinet/children/")
    assert "Иванов Пётр" in text_of(page) and diary_links(page) == []
    monkeypatch.setitem(app.config, "DIARY_REGIONS", [])
    db.session.get(ParentLink, link.id).relation_verified_at = utcnow()
    db.session.commit()
    assert diary_links(parent.get("/cabinet/children/")) == []


def test_a_child_of_14_with_their_own_account_is_linked_by_snils(proofing, make_citizen):
    maria = make_standard(make_citizen)
    alisa_record = {
        **PETR,
        "given_name": "Алиса",
        "surname": "Иванова",
        "patronymic": "Сергеевна",
        "gender": "F",
        "birth_date": date(2011, 5, 17),
        "certificate_series": "III-МЮ",
        "certificate_number": "401234",
        "certificate_issue_date": date(2011, 6, 1),
        "snils": "016-103-396 00",
    }
    link = services.add_child(maria, alisa_record, ORIGIN)
    assert wait_for(lambda: verified(maria))
    assert db.session.get(Child, link.child_id).account_id is None
    # Alisa (15) opens her own account, a separate one as the seeds insist; once the
    # Social Fund confirms her SNILS, her mother's record of her points to it.
    alisa = make_citizen(surname="Иванова", given_name="Алиса")
    profile = {
        **MARIA,
        "given_name": "Алиса",
        "patronymic": "Сергеевна",
        "birth_date": date(2011, 5, 17),
    }
    proofing_services.update_profile(alisa, profile, ORIGIN)
    proofing_services.set_snils(alisa, "016-103-396 00", ORIGIN)
    assert wait_for(lambda: db.session.get(Child, link.child_id).account_id == alisa.id)
    assert alisa.id != maria.id


# --- unconfirmed records are drafts ---------------------------------------------------

TYPO = {**PETR, "certificate_number": "512346"}


def relation(parent) -> str | None:
    db.session.commit()
    child_id = db.session.execute(sa.select(Child.id)).scalar_one_or_none()
    found = checks.latest_check(parent.id, "child_relation", child_id) if child_id else None
    return found.status if found else None


def certificate_on_record() -> str:
    db.session.commit()
    child = db.session.execute(sa.select(Child)).scalar_one()
    return unseal(child, "certificate_encrypted")


def sergey_of(make_citizen):
    return make_standard(
        make_citizen, profile=SERGEY, snils="987-654-321 83", passport=SERGEY_PASSPORT
    )


@pytest.mark.parametrize("who", ["the same parent", "the other parent"])
def test_a_removed_typo_leaves_nothing_behind(proofing, app, make_citizen, who):
    """The finding: a parent mistyped the certificate number and removed the child; then
    neither they nor the other parent could add the child with the right data."""
    maria = make_standard(make_citizen, phone="+79161234567")
    services.add_child(maria, TYPO, ORIGIN)
    assert wait_for(lambda: relation(maria) == "rejected")
    browser = app.test_client()
    submit(browser, "/login", {"login": "+79161234567", "password": "violet-harbour-lamp"})
    submit(browser, "/cabinet/children/", action=f"/cabinet/children/{_child_id()}/remove")
    assert db.session.execute(sa.select(sa.func.count()).select_from(Child)).scalar_one() == 0
    parent = maria if who == "the same parent" else sergey_of(make_citizen)
    services.add_child(parent, PETR, ORIGIN)
    assert wait_for(lambda: verified(parent) == ["Иванов Пётр Сергеевич"])
    assert certificate_on_record() == "IV-МЮ 512345"


def test_the_other_parent_is_not_refused_by_an_unconfirmed_typo(proofing, make_citizen):
    maria = make_standard(make_citizen)
    sergey = sergey_of(make_citizen)
    services.add_child(maria, TYPO, ORIGIN)
    assert wait_for(lambda: relation(maria) == "rejected")
    services.add_child(sergey, PETR, ORIGIN)
    # Sergey's data are checked; Maria's claim is checked again against them, and she is
    # on the certificate too.
    assert wait_for(lambda: verified(sergey) and verified(maria))
    assert certificate_on_record() == "IV-МЮ 512345"
    assert db.session.execute(sa.select(sa.func.count()).select_from(Child)).scalar_one() == 1


def test_a_parent_corrects_their_own_typo_without_removing(proofing, make_citizen):
    maria = make_standard(make_citizen)
    services.add_child(maria, TYPO, ORIGIN)
    assert wait_for(lambda: relation(maria) == "rejected")
    services.add_child(maria, PETR, ORIGIN)
    assert wait_for(lambda: verified(maria) == ["Иванов Пётр Сергеевич"])


def test_someone_who_knows_the_snils_cannot_block_the_child(proofing, make_citizen):
    stranger = make_standard(
        make_citizen, profile=SERGEY, snils="987-654-321 83", passport=SERGEY_PASSPORT
    )
    services.add_child(
        stranger, {**PETR, "surname": "Петров", "certificate_number": "999999"}, ORIGIN
    )
    maria = make_standard(make_citizen, phone="+79161234599", email="maria@example.ru")
    services.add_child(maria, PETR, ORIGIN)
    assert wait_for(lambda: verified(maria) == ["Иванов Пётр Сергеевич"])


def test_a_confirmed_record_still_refuses_conflicting_data(proofing, make_citizen):
    maria = make_standard(make_citizen)
    sergey = sergey_of(make_citizen)
    link = services.add_child(maria, PETR, ORIGIN)
    assert wait_for(lambda: verified(maria))
    for wrong in (TYPO, {**PETR, "birth_date": date(2014, 9, 3)}, {**PETR, "given_name": "Павел"}):
        with pytest.raises(services.ChildDataMismatch):
            services.add_child(sergey, wrong, ORIGIN)
    # The confirmed record outlives its last link, and still refuses.
    services.remove_child(maria, link.child_id, ORIGIN)
    with pytest.raises(services.ChildDataMismatch):
        services.add_child(sergey, TYPO, ORIGIN)
    assert certificate_on_record() == "IV-МЮ 512345"
    services.add_child(sergey, PETR, ORIGIN)
    assert wait_for(lambda: verified(sergey) == ["Иванов Пётр Сергеевич"])


def test_a_child_being_checked_waits_on_the_start_page(proofing, app, make_citizen):
    """Issue 16: the cabinet starts from what needs doing, unverified children among it."""
    api(
        proofing,
        "PUT",
        "/api/registries/zags/rule",
        {"default_outcome": "hold", "delay_seconds": 0, "down": "none"},
    )
    maria = make_standard(make_citizen, phone="+79161234567")
    link = services.add_child(maria, PETR, ORIGIN)
    parent = app.test_client()
    submit(parent, "/login", {"login": "+79161234567", "password": "violet-harbour-lamp"})
    page = parent.get("/cabinet/")
    assert "Иванов Пётр Сергеевич на проверке ЗАГС и Социальный фонд проверяют данные." in text_of(
        page
    )
    assert f'href="/cabinet/children/#child-{link.child_id}"' in page.get_data(as_text=True)
