"""The portal as a person sees it on a 390 px phone and a 1366 px laptop (issue 16).

Each journey runs at both widths; every page it visits passes ``tests/e2e/ui.py``'s
``check_page`` (no sideways scroll, header controls of 44 px, no serious or critical
axe-core violation) and, under ``make screenshots``, is saved to ``docs/screenshots/``.

- A visitor: the home page's search and popular services → the results → a service.
- A citizen: registration → the cabinet's start page → (documents verified, a child
  added) → sign-in → start page → documents as cards → children with their diaries →
  security → sign-out from the header's menu.
- A relying party's request: the consent page, and the error page of an unknown client,
  in Russian.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from portal.extensions import db
from portal.family import services as family
from portal.identity.models import Citizen
from portal.proofing import services as proofing_services
from tests.e2e.ui import (
    LAPTOP,
    PHONE,
    WIDTHS,
    assert_tap_targets,
    assert_visible_without_side_scroll,
    check_page,
    new_context,
    open_menu,
)
from tests.helpers import path_is
from tests.portal.oidc_helpers import authorization_params, register
from tests.portal.test_family import ORIGIN, PETR, verified
from tests.portal.test_proofing import MARIA, MARIA_PASSPORT, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.screens]

PHONE_NUMBER = "+79167654321"
PASSWORD = "sunny-meadow-walk-42"
REGIONS = [
    {
        "code": "demo",
        "name": "Демонстрационная область",
        "url": "http://127.0.0.1:9/",
        "client_id": "a",
    },
    {"code": "two", "name": "Заречная область", "url": "http://127.0.0.1:9/two/", "client_id": "b"},
]


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def page(request, browser: Browser):
    with new_context(browser, request.param) as context:
        yield context.new_page()


def assert_header_fits(page: Page) -> None:
    """The header is one bar: on a phone the sections wait behind «Меню», so the page's
    own content starts near the top; on a laptop they are shown inline."""
    header = page.locator("header.top")
    toggle = header.locator("summary", has_text="Меню")
    sections = header.get_by_role("navigation", name="Главное меню")
    if page.viewport_size["width"] == PHONE:
        expect(toggle).to_be_visible()
        expect(sections).to_be_hidden()
        assert header.bounding_box()["height"] <= 72
        open_menu(page)
        expect(sections).to_be_visible()
        assert_tap_targets(sections.get_by_role("link"))
        toggle.click()  # closed again
        expect(sections).to_be_hidden()
    else:
        expect(toggle).to_be_hidden()
        expect(sections).to_be_visible()
        assert header.bounding_box()["height"] <= 80


def go_to_section(page: Page, name: str) -> None:
    """A section of the header's menu, as a person reaches it at this width."""
    open_menu(page).get_by_role("link", name=name, exact=True).click()


def test_a_visitor_finds_a_service_from_the_home_page(page: Page, app, portal_server):
    page.goto(portal_server + "/")
    expect(page.locator("main h1")).to_have_text("Портал госуслуг")
    assert_header_fits(page)
    popular = page.locator("#popular-diary-access")
    assert_visible_without_side_scroll(popular.get_by_role("link"))
    expect(popular).to_contain_text("онлайн")
    expect(page.locator(".tile")).to_have_count(5)
    check_page(page, "01-home")

    page.get_by_role("searchbox", name="Найти услугу").fill("оценки")
    page.get_by_role("button", name="Найти").click()
    expect(page).to_have_url(re.compile(r"/services\?q="))
    found = page.locator("#service-diary-access")
    assert_visible_without_side_scroll(found)
    expect(page.locator("article.service")).to_have_count(1)
    check_page(page, "02-search")

    found.get_by_role("link", name="Доступ к электронному дневнику учащегося").click()
    expect(page.locator("main h1")).to_have_text("Доступ к электронному дневнику учащегося")
    assert_visible_without_side_scroll(page.locator("main").get_by_text("3 рабочих дня"))
    check_page(page, "03-service")


def test_a_citizen_registers_signs_in_and_walks_the_cabinet(
    page: Page, app, portal_server, proofing, inbox, monkeypatch
):
    monkeypatch.setitem(app.config, "DIARY_REGIONS", REGIONS)
    main, h1 = page.locator("main"), page.locator("main h1")

    # Registration, as on a phone: the code arrives by SMS.
    page.goto(portal_server + "/register")
    check_page(page, "04-register")
    page.get_by_label("Фамилия").fill(MARIA["surname"])
    page.get_by_label("Имя", exact=True).fill(MARIA["given_name"])
    page.get_by_label("Мобильный телефон или электронная почта").fill("+7 916 765-43-21")
    main.get_by_role("button", name="Продолжить").click()
    page.get_by_label("Код").fill(inbox.last_code(PHONE_NUMBER))
    main.get_by_role("button", name="Подтвердить").click()
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Повторите пароль").fill(PASSWORD)
    page.get_by_label("Даю согласие на обработку моих персональных данных").check()
    main.get_by_role("button", name="Создать учётную запись").click()

    # The start page says what to do first.
    expect(page).to_have_url(path_is("/cabinet/"))
    expect(h1).to_have_text("Иванова Мария")
    todo = main.locator("section", has=page.get_by_role("heading", name="Что нужно сделать"))
    task = todo.locator("li.task", has_text="Личные данные")
    expect(task).to_contain_text("не заполнены")
    assert_visible_without_side_scroll(task.get_by_role("link", name=re.compile("^Заполнить")))
    check_page(page, "05-cabinet-new")

    # Meanwhile her documents are checked and her son added (the registries answer).
    citizen = db.session.execute(
        sa.select(Citizen).where(Citizen.phone == PHONE_NUMBER)
    ).scalar_one()
    proofing_services.update_profile(citizen, MARIA, ORIGIN)
    proofing_services.set_snils(citizen, "112-233-445 95", ORIGIN)
    proofing_services.set_passport(citizen, MARIA_PASSPORT, ORIGIN)
    assert wait_for(lambda: db.session.get(Citizen, citizen.id).level == "standard")
    family.add_child(citizen, dict(PETR), ORIGIN)
    assert wait_for(lambda: verified(citizen) == ["Иванов Пётр Сергеевич"])

    # Sign out from the header's menu, and in again.
    open_menu(page).get_by_role("button", name="Выйти").click()
    expect(page).to_have_url(path_is("/"))
    expect(page.locator(".flash")).to_contain_text("Вы вышли из учётной записи.")
    go_to_section(page, "Войти")
    check_page(page, "06-login")
    page.get_by_label("Телефон, электронная почта или СНИЛС").fill(PHONE_NUMBER)
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    main.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(path_is("/cabinet/"))
    expect(h1).to_have_text("Иванова Мария Петровна")
    expect(main).to_contain_text("Уровень учётной записи: стандартная")
    expect(todo.locator("li.task", has_text="Личные данные")).to_have_count(0)
    check_page(page, "07-cabinet")

    # Documents: cards with masked numbers; the forms wait behind «Изменить».
    go_to_section(page, "Документы")
    expect(h1).to_have_text("Документы")
    snils = page.locator("#doc-snils")
    assert_visible_without_side_scroll(snils.get_by_text("***-***-445 95"))
    expect(snils.locator(".badge")).to_have_text("подтверждено")
    expect(page.locator("input#snils")).to_be_hidden()
    passport = page.locator("#doc-passport")
    expect(passport).to_contain_text("01.04.2005")  # the issue date as Russians write it
    check_page(page, "08-documents")
    snils.locator("summary", has_text="Изменить").click()
    expect(page.locator("input#snils")).to_be_visible()

    # Children: the diaries, labelled where the portal cannot know the school.
    go_to_section(page, "Дети")
    child = page.locator("article.child", has_text="Иванов Пётр Сергеевич")
    expect(child).to_contain_text("02.09.2014")
    link = child.get_by_role("link", name="Открыть дневник: Демонстрационная область")
    assert_visible_without_side_scroll(link)
    expect(child.get_by_text("если ребёнок учится в этом регионе")).to_have_count(2)
    check_page(page, "09-children")

    # Security, from the start page's list of the cabinet's sections.
    go_to_section(page, "Личный кабинет")
    main.get_by_role("link", name=re.compile("^Безопасность")).click()
    expect(page).to_have_url(path_is("/cabinet/security"))
    check_page(page, "10-security")

    open_menu(page).get_by_role("button", name="Выйти").click()
    expect(page.locator(".flash")).to_contain_text("Вы вышли из учётной записи.")
    check_page(page)


def test_consent_and_an_error_of_a_service_speak_russian(
    page: Page, app, portal_server, make_citizen
):
    rp = register(name="Электронный дневник: тестовая область")
    make_citizen(phone=PHONE_NUMBER, password=PASSWORD)
    db.session.commit()
    query, _verifier = authorization_params(rp, scope="openid profile phone")

    page.goto(portal_server + "/oauth/authorize?" + urlencode(query))
    page.get_by_label("Телефон, электронная почта или СНИЛС").fill(PHONE_NUMBER)
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Войти").click()
    expect(page.locator("main h1")).to_contain_text("Электронный дневник: тестовая область")
    assert_visible_without_side_scroll(page.get_by_role("button", name="Разрешить"))
    assert_visible_without_side_scroll(page.get_by_role("button", name="Отказать"))
    check_page(page, "11-oauth-consent")

    unknown, _verifier = authorization_params(rp)
    unknown["client_id"] = "no-such-client"
    page.goto(portal_server + "/oauth/authorize?" + urlencode(unknown))
    main = page.locator("main")
    expect(main.locator("h1")).to_have_text("Не удалось войти в сервис")
    expect(main).to_contain_text("не зарегистрирован на портале или отключён")
    expect(main).to_contain_text("invalid_client")
    expect(main).not_to_contain_text("does not exist")
    check_page(page, "12-oauth-error")

    # A request without its redirect URI: the parameter is named, the text is Russian.
    missing, _verifier = authorization_params(rp, redirect_uri=None)
    page.goto(portal_server + "/oauth/authorize?" + urlencode(missing))
    expect(main).to_contain_text("Сервис передал неполный или неверный запрос")
    expect(main.locator("dl")).to_contain_text("redirect_uri")
    expect(main).not_to_contain_text("Missing")
    assert page.viewport_size["width"] in (PHONE, LAPTOP)
