"""What every page a design journey visits must hold, at a phone's width (390 px) and a
laptop's (1366 px), and the pictures of those pages.

- ``assert_no_horizontal_overflow(page)``: the page never scrolls sideways (wide tables
  scroll inside their own region or stack into cards).
- ``assert_visible_without_side_scroll(locator)``: the key facts are on screen at this
  width, inside the viewport's left and right edges.
- ``assert_axe_clean(page)``: axe-core (``node_modules/axe-core``, pinned in
  ``package-lock.json`` and installed by ``make browser``), injected into the page, finds
  no serious or critical violation.
- ``assert_tap_targets(locator)``: each visible control is at least 44 × 44 px.
- ``check_page(page, name)``: all of the page-wide checks above for the header's
  controls, then ``screenshot``.
- ``screenshot(page, name)``: with ``SCREENSHOTS=1`` (``make screenshots``), the whole
  page as ``docs/screenshots/<width>/<name>.png`` at device scale 1; otherwise nothing.

The apps send a Content-Security-Policy without inline or foreign scripts, which would
refuse axe-core's script tag: ``new_context`` opens the browser with Playwright's
``bypass_csp``, a test-only switch (the pages themselves run no JavaScript).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.conftest import TIMEOUT_MS

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE, LAPTOP = 390, 1366
WIDTHS = (PHONE, LAPTOP)
HEIGHTS = {PHONE: 844, LAPTOP: 768}
TAP = 44  # px, WCAG 2.5.5 (and Apple's and Google's guidance)
SERIOUS = ("serious", "critical")


@contextmanager
def new_context(browser: Browser, width: int) -> Iterator[BrowserContext]:
    """A fresh profile of a Russian-speaking person at ``width`` (390 or 1366)."""
    context = browser.new_context(
        locale="ru-RU",
        timezone_id="Europe/Moscow",
        viewport={"width": width, "height": HEIGHTS.get(width, 800)},
        device_scale_factor=1,
        bypass_csp=True,  # lets the tests inject axe-core; see the module's docstring
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


def width_of(page: Page) -> int:
    return page.viewport_size["width"]


def assert_no_horizontal_overflow(page: Page) -> None:
    scroll_width, viewport = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.documentElement.clientWidth]"
    )
    if scroll_width <= viewport:
        return
    # Name the elements that stick out, for the failure message.
    culprits = page.evaluate(
        """(limit) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > limit + 1)
            .filter(e => !e.closest('.table-scroll'))
            .slice(0, 8)
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                 + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\\s+/g, '.') : '')
                 + ' right=' + Math.round(e.getBoundingClientRect().right))""",
        viewport,
    )
    pytest.fail(
        f"{page.url} scrolls sideways at {width_of(page)} px: the page is {scroll_width} px "
        f"wide; sticking out: {culprits}",
        pytrace=False,
    )


def assert_visible_without_side_scroll(locator: Locator) -> None:
    """Every element ``locator`` matches is visible and lies within the viewport's width."""
    expect(locator.first).to_be_visible()
    width = width_of(locator.page)
    for index in range(locator.count()):
        element = locator.nth(index)
        if not element.is_visible():
            continue
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= -0.5 and box["x"] + box["width"] <= width + 0.5, (
            f"{element.inner_text()[:60]!r} lies outside the {width} px viewport: {box}"
        )


def assert_tap_targets(locator: Locator, minimum: int = TAP) -> None:
    """Each visible element ``locator`` matches is at least ``minimum`` px wide and high."""
    small = []
    for index in range(locator.count()):
        element = locator.nth(index)
        if not element.is_visible():
            continue
        box = element.bounding_box()
        if box is None:
            continue
        if box["width"] < minimum - 0.5 or box["height"] < minimum - 0.5:
            label = (element.inner_text() or element.get_attribute("aria-label") or "").strip()
            small.append(f"{label[:40]!r} {round(box['width'])}×{round(box['height'])}")
    assert not small, f"tap targets under {minimum} px at {width_of(locator.page)} px: {small}"


def assert_axe_clean(page: Page) -> None:
    if not AXE.is_file():
        pytest.fail(
            f"{AXE.relative_to(ROOT)} is missing: run `make browser` (npm ci)", pytrace=False
        )
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            }));
        }"""
    )
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert not serious, f"axe-core at {width_of(page)} px on {page.url}:\n" + "\n".join(
        f"  {v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in serious
    )


def header_controls(page: Page) -> Locator:
    """The header's links, buttons and menu toggle that a person can see and tap now."""
    return page.locator("header.top").locator("a, button, summary")


def check_page(page: Page, name: str | None = None) -> None:
    """The checks every page of a journey passes, then its picture."""
    page.wait_for_load_state("load")
    assert_no_horizontal_overflow(page)
    assert_tap_targets(header_controls(page))
    assert_axe_clean(page)
    if name:
        screenshot(page, name)


def open_menu(page: Page) -> Locator:
    """The header's menu, opened where it is collapsed (phones); the menu's body."""
    menu = page.locator("header.top details.menu")
    toggle = menu.locator("summary")
    if toggle.is_visible() and menu.get_attribute("open") is None:
        toggle.click()
    body = menu.locator(".menu-body")
    expect(body).to_be_visible()
    return body


def screenshot(page: Page, name: str) -> Path | None:
    if os.environ.get("SCREENSHOTS") != "1":
        return None
    path = SCREENSHOTS / str(width_of(page)) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path
