"""A new citizen's first visit, in a real browser: registration with an SMS code read
from the dev inbox page, the cabinet, signing out and in, English, and signing out
everywhere."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import path_is

SURNAME = "Соколова"
GIVEN_NAME = "Анна"
PHONE_TYPED = "+7 916 765-43-21"  # as a person types it
PHONE = "+79167654321"  # as the portal stores it and the SMS gateway receives it
PASSWORD = "sunny-meadow-walk-42"


def read_code_from_inbox_page(page: Page, inbox_url: str, phone: str) -> str:
    """Open the dev inbox page and read the code in the newest SMS to ``phone``."""
    page.goto(f"{inbox_url}/inbox")
    rows = page.locator("tr.message").filter(
        has=page.locator("td.recipient", has_text=re.compile("^" + re.escape(phone) + "$"))
    )
    newest = rows.first  # the page lists the newest first
    expect(newest).to_be_visible()
    expect(newest).to_contain_text("SMS")
    body = newest.locator(".body").inner_text()
    match = re.search(r"\b(\d{6})\b", body)
    assert match, f"no 6-digit code in the newest SMS to {phone}: {body!r}"
    return match.group(1)


@pytest.mark.e2e
def test_citizen_registers_signs_in_switches_language_and_signs_out_everywhere(
    page: Page, portal_url: str, inbox, tmp_path
):
    main = page.locator("main")
    header = page.locator("header")
    h1 = page.locator("main h1")

    # 1. The home page, in Russian; the person registers with a mobile phone.
    page.goto(f"{portal_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(h1).to_have_text("Портал госуслуг")
    main.get_by_role("link", name="Зарегистрироваться").click()
    expect(page).to_have_url(path_is("/register"))
    expect(h1).to_have_text("Регистрация")
    page.get_by_label("Фамилия").fill(SURNAME)
    page.get_by_label("Имя", exact=True).fill(GIVEN_NAME)
    page.get_by_label("Мобильный телефон или электронная почта").fill(PHONE_TYPED)
    main.get_by_role("button", name="Продолжить").click()
    expect(page).to_have_url(path_is("/register/code"))
    expect(h1).to_have_text("Введите код")
    expect(main).to_contain_text(PHONE)

    # 2. The code, as a tester reads it: from the dev inbox page, in a second tab.
    inbox_tab = page.context.new_page()
    code = read_code_from_inbox_page(inbox_tab, inbox.base_url, PHONE)
    inbox_tab.close()

    # 3. Back on the portal: the code, a password, the consent, and the account exists.
    page.bring_to_front()
    page.get_by_label("Код").fill(code)
    main.get_by_role("button", name="Подтвердить").click()
    expect(page).to_have_url(path_is("/register/password"))
    expect(h1).to_have_text("Придумайте пароль")
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Повторите пароль").fill(PASSWORD)
    page.get_by_label("Даю согласие на обработку моих персональных данных").check()
    main.get_by_role("button", name="Создать учётную запись").click()
    expect(page).to_have_url(path_is("/cabinet/"))
    expect(page.locator(".flash")).to_contain_text("Учётная запись создана.")
    expect(h1).to_have_text(f"{SURNAME} {GIVEN_NAME}")
    expect(header).to_contain_text("Личный кабинет")
    expect(main).to_contain_text("Уровень учётной записи: упрощённая")
    expect(main).to_contain_text(PHONE_TYPED)

    # 4. Sign out from the header, then sign in with the phone and the password.
    header.get_by_role("button", name="Выйти").click()
    expect(page).to_have_url(path_is("/"))
    expect(page.locator(".flash")).to_contain_text("Вы вышли из учётной записи.")
    expect(header).not_to_contain_text("Личный кабинет")
    header.get_by_role("link", name="Войти").click()
    expect(page).to_have_url(path_is("/login"))
    page.get_by_label("Телефон, электронная почта или СНИЛС").fill(PHONE_TYPED)
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    main.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(path_is("/cabinet/"))
    expect(h1).to_have_text(f"{SURNAME} {GIVEN_NAME}")
    expect(main).to_contain_text("Уровень учётной записи")

    # 5. English, through the header's switcher; the page stays the cabinet.
    header.get_by_role("link", name="EN", exact=True).click()
    expect(page).to_have_url(path_is("/cabinet/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(header).to_contain_text("My cabinet")
    expect(h1).to_have_text(f"{SURNAME} {GIVEN_NAME}")
    expect(main).to_contain_text("Account level: simplified")
    expect(main).not_to_contain_text("Уровень учётной записи")

    # 6. Active sessions (from the cabinet's sections: the header keeps the main ones):
    # sign out everywhere, and the cabinet is closed.
    main.get_by_role("link", name=re.compile("^Active sessions")).click()
    expect(page).to_have_url(path_is("/cabinet/sessions"))
    expect(h1).to_have_text("Active sessions")
    expect(main.locator("tr.session-row", has_text="this device")).to_have_count(1)
    main.get_by_role("button", name="Sign out everywhere").click()
    expect(page).to_have_url(path_is("/login"))
    expect(h1).to_have_text("Sign in")
    expect(page.locator(".flash")).to_contain_text("You have signed out on all devices.")
    expect(header).not_to_contain_text("My cabinet")

    page.goto(f"{portal_url}/cabinet/")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)cabinet(/|%2F)$"))
    expect(h1).to_have_text("Sign in")

    page.screenshot(path=str(tmp_path / "signed-out-everywhere.png"), full_page=True)
