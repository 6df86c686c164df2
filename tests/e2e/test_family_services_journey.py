"""Issue 6's service application and trusted person, in a real browser.

Мария (standard, Пётр verified on the portal) finds «Доступ к электронному дневнику
учащегося» by the search on the portal's home page and applies through the wizard; the
diary (a live server, registered at the portal and configured as its region) receives
it. Ольга, the school's administrator there (the school knows her by her SNILS only),
signs in to the diary, takes the application into work and approves it. Мария's
«Мои заявления» shows the school's decision, and her diary shows Пётр. Then Мария makes
Ольга a trusted person for Пётр («Только расписание и домашние задания») and Ольга
accepts the invitation in her cabinet, where it waits for the opening delay.

The school's register has Пётр without his SNILS, so only the application links him.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from diary_service import create_app as create_diary
from diary_service.auth.services import snils_index
from diary_service.extensions import db as diary_db
from portal.extensions import db as portal_db
from portal.family import services as family
from portal.oidc import services as oidc
from tests.conftest import ROOT, LiveServer, database_url, migrate_app, wipe
from tests.diary_service.factories import build_world
from tests.diary_service.test_auth import CLIENT_ID, SCOPES, LaterApp, diary_config
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.test_diary_journey import (
    MARIA_PASSWORD,
    MARIA_PHONE,
    OLGA,
    OLGA_PASSPORT,
    OLGA_PASSWORD,
    OLGA_PHONE,
    OLGA_SNILS,
    sections,
    sign_in_through_portal,
)
from tests.portal.test_family import ORIGIN, PETR, verified
from tests.portal.test_proofing import make_standard, wait_for

pytestmark = pytest.mark.e2e


@dataclass
class Diary:
    url: str
    school_name: str


@pytest.fixture
def diary(app, portal_server, tmp_path, monkeypatch) -> Iterator[Diary]:
    """A live diary, the portal's only region, whose school 1 has Ольга (by SNILS) as
    its administrator and Пётр without a SNILS on record."""
    front = LaterApp()
    with LiveServer(front) as live:
        new = oidc.create_client(
            name="Электронный дневник: тестовая область",
            client_id=CLIENT_ID,
            redirect_uris=[live.url + "/auth/callback"],
            post_logout_redirect_uris=[live.url + "/"],
            backchannel_logout_uri=live.url + "/auth/backchannel-logout",
            scopes=SCOPES,
        )
        portal_db.session.commit()
        monkeypatch.setitem(
            app.config,
            "DIARY_REGIONS",
            [{"code": "test", "name": "Тестовая область", "url": live.url, "client_id": CLIENT_ID}],
        )
        database = database_url("TEST_DIARY_DATABASE_URL", tmp_path, "diary")
        front.app = create_diary(
            diary_config(
                portal_url=portal_server, public_url=live.url, secret=new.secret, database=database
            )
        )
        migrate_app(front.app, ROOT / "diary_service" / "migrations")
        with front.app.app_context():
            one = build_world().one
            admin = one.staff["admin"]
            admin.person_id = None
            admin.snils_index = snils_index(OLGA_SNILS, front.app.config["BLIND_INDEX_KEY"])
            one.students["petr"].snils_index = None
            diary_db.session.commit()
            school_name = one.school.name
            diary_db.session.remove()
        yield Diary(live.url, school_name)
    with front.app.app_context():
        diary_db.session.remove()
        wipe(diary_db)
        diary_db.engine.dispose()


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ru-RU", timezone_id="Europe/Moscow")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in_to_portal(page: Page, portal: str, phone: str, password: str) -> None:
    page.goto(portal + "/login")
    page.get_by_label("Телефон, электронная почта или СНИЛС").fill(phone)
    page.get_by_label("Пароль", exact=True).fill(password)
    page.locator("main").get_by_role("button", name="Войти").click()
    expect(page.locator("main")).to_contain_text("Уровень учётной записи")


def test_a_parent_applies_the_school_approves_and_a_trusted_person_accepts(
    proofing, portal_server, diary, page: Page, second_page: Page, make_citizen
):
    maria = make_standard(make_citizen, phone=MARIA_PHONE)
    family.add_child(maria, dict(PETR), ORIGIN)
    assert wait_for(lambda: verified(maria) == ["Иванов Пётр Сергеевич"])
    make_standard(
        make_citizen,
        profile=OLGA,
        snils=OLGA_SNILS,
        passport=OLGA_PASSPORT,
        phone=OLGA_PHONE,
        password=OLGA_PASSWORD,
    )
    portal_db.session.commit()

    # The parent finds the service from the portal's home page and applies.
    sign_in_to_portal(page, portal_server, MARIA_PHONE, MARIA_PASSWORD)
    page.goto(portal_server + "/")
    page.get_by_role("searchbox", name="Найти услугу").fill("электронный дневник")
    page.get_by_role("button", name="Найти").click()
    page.get_by_role("link", name="Доступ к электронному дневнику учащегося").click()
    expect(page.locator("main")).to_contain_text("3 рабочих дня")
    page.get_by_role("link", name="Подать заявление").click()
    page.get_by_label("Иванов Пётр Сергеевич").check()
    page.get_by_label("2. Регион").select_option(label="Тестовая область")
    page.get_by_role("button", name="Показать школы").click()
    school = page.locator("select#school option", has_text=diary.school_name)
    page.locator("select#school").select_option(school.get_attribute("value"))
    page.get_by_role("button", name="Далее").click()
    expect(page.locator("main")).to_contain_text(diary.school_name)
    page.get_by_role("button", name="Отправить заявление").click()
    expect(page.locator("main")).to_contain_text("получено школой")
    application_url = page.url

    # The school's administrator decides in the diary.
    sign_in_through_portal(second_page, diary.url, OLGA_PHONE, OLGA_PASSWORD)
    sections(second_page).get_by_role("link", name="Заявления").click()
    row = second_page.locator("tr").filter(has_text="Иванов Пётр Сергеевич")
    expect(row).to_contain_text("Иванова Мария Петровна")
    row.get_by_role("link").first.click()
    second_page.get_by_role("button", name="Взять в работу").click()
    second_page.locator("select[name=student]").select_option(index=1)
    second_page.get_by_role("button", name="Одобрить").click()
    expect(second_page.locator("main")).to_contain_text("одобрено")

    # The citizen sees the decision, and her diary shows Пётр.
    page.goto(application_url)
    expect(page.locator("main")).to_contain_text("исполнено: доступ предоставлен")
    # Already signed in at the portal: only the consent to this diary is asked.
    page.goto(diary.url + "/")
    page.get_by_role("link", name="Войти через Госуслуги").click()
    page.get_by_role("button", name="Разрешить").click()
    # Her start page is her children's diary.
    expect(page).to_have_url(diary.url + "/students/")
    expect(page.locator("main")).to_contain_text("Иванов Пётр")

    # Мария makes Ольга a trusted person; Ольга accepts in her cabinet.
    page.goto(portal_server + "/cabinet/trusted/")
    page.get_by_role("link", name="Дать доступ человеку").click()
    page.get_by_label("СНИЛС человека").fill(OLGA_SNILS)
    page.get_by_label("Только расписание и домашние задания").check()
    page.get_by_role("button", name="Отправить приглашение").click()
    expect(page.locator("main")).to_contain_text("Смирнова Ольга")
    second_page.goto(portal_server + "/cabinet/trusted/given-to-me")
    expect(second_page.locator("main")).to_contain_text("Иванов Пётр")
    second_page.get_by_role("button", name="Принять приглашение").click()
    expect(second_page.locator("main")).to_contain_text("Иванов Пётр")
    expect(second_page.locator("main")).to_contain_text("откроется")
