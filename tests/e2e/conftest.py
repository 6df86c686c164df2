"""End-to-end fixtures: Debian's Chromium driven by Playwright (sync API) against the
portal served by a real HTTP server. No browser is ever downloaded: a missing
``/usr/bin/chromium`` fails the tests (CI installs it with ``make browser``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium tries to reach Google's services; the network here is closed.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"end-to-end tests need Debian's Chromium at {CHROMIUM}: "
            "run `make browser` or `apt-get install chromium` (no browser is downloaded)",
            pytrace=False,
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def portal_url(app, portal_app) -> Iterator[str]:
    """The portal on a real HTTP server; ``app`` empties its database after the test."""
    with LiveServer(portal_app) as live:
        yield live.url


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser profile (no cookies) of a Russian-speaking person."""
    context = browser.new_context(
        locale="ru-RU",
        timezone_id="Europe/Moscow",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()
