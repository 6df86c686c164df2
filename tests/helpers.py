"""Test helpers: real forms (with their CSRF tokens) and the dev inbox over HTTP."""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

# Where the test apps are: the diary's TIMEZONE (config/diary.toml) and the portal's
# default zone. "Today" for them is the date there, which differs from the machine's
# (UTC) date from 21:00 UTC: a test that wants the apps' today asks ``region_today``.
REGION_ZONE = ZoneInfo("Europe/Moscow")


def region_today() -> date:
    """Today in the apps' region, as the diary and the portal count days."""
    return datetime.now(REGION_ZONE).date()


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    checkboxes: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = Form(
                action=a.get("action") or "", method=(a.get("method") or "get").lower()
            )
            self.forms.append(self._current)
        elif tag in ("input", "textarea") and self._current is not None and a.get("name"):
            if a.get("type") == "checkbox":
                self._current.checkboxes[a["name"]] = a.get("value") or "y"
            elif a.get("type") != "submit":
                self._current.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms_of(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def submit(
    client,
    url: str,
    data: dict | None = None,
    *,
    action: str | None = None,
    follow: bool = False,
    **kw,
):
    """Open ``url`` as a person would, fill the form (the one posting to ``action`` if
    given, else the first POST form) and send it with its CSRF token."""
    page = client.get(url, **kw)
    assert page.status_code == 200, f"{url} answered {page.status_code}"
    candidates = [f for f in forms_of(page.get_data(as_text=True)) if f.method == "post"]
    if action is not None:
        candidates = [f for f in candidates if f.action == action]
    else:  # the page's own form, not the header's sign-out button
        path = urllib.parse.urlsplit(url).path
        candidates = [f for f in candidates if f.action in ("", path)] or candidates
    assert candidates, f"no POST form{' to ' + action if action else ''} on {url}"
    form = candidates[0]
    values = dict(form.fields)
    values.update(data or {})
    return client.post(form.action or url, data=values, follow_redirects=follow, **kw)


def text_of(response) -> str:
    """The visible text of a page, whitespace folded (what a person reads)."""
    return _visible(response.get_data(as_text=True))


def _visible(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"&#39;|&#x27;", "'", text).replace("&quot;", '"').replace("&amp;", "&")
    return " ".join(text.split())


class Inbox:
    """The simulator's dev inbox, read over its JSON API like a tester's script would."""

    def __init__(self, base_url: str, smtp_port: int):
        self.base_url = base_url
        self.smtp_port = smtp_port

    def messages(self, to: str | None = None, channel: str | None = None) -> list[dict]:
        query = urllib.parse.urlencode(
            {k: v for k, v in {"to": to, "channel": channel, "limit": 100}.items() if v}
        )
        with urllib.request.urlopen(f"{self.base_url}/api/inbox?{query}", timeout=10) as resp:
            return json.load(resp)["messages"]

    def clear(self) -> None:
        req = urllib.request.Request(f"{self.base_url}/api/inbox", method="DELETE")
        urllib.request.urlopen(req, timeout=10).close()

    def wait_for(self, to: str, count: int = 1, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(to=to)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def last_code(self, to: str) -> str:
        messages = self.wait_for(to)
        assert messages, f"no message reached {to}"
        match = re.search(r"\b(\d{6})\b", messages[0]["body"])
        assert match, f"no code in the last message to {to}: {messages[0]['body']!r}"
        return match.group(1)


# --- many requests at the same moment -------------------------------------------------


def at_once(count: int, action: Callable[[int], Any], timeout: float = 60.0) -> list[Any]:
    """Call ``action(0) … action(count - 1)`` from ``count`` threads released together
    by a barrier; their results, in the order of ``i``. An exception in any thread is
    raised here. The tests of single use fire the same value this way at a live server:
    a read-then-write lets several of them win."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout)
            results[i] = action(i)
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads), "a request did not finish"
    return results


@dataclass
class Page:
    status: int
    text: str  # the visible text (``text_of``)
    html: str
    location: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class LiveBrowser:
    """A browser of a live server (real HTTP, its own cookie jar); redirects are not
    followed, so a test sees each answer as it is. Several threads may share one: that
    is one person sending the same form from several tabs at once."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )

    def set_cookie(self, name: str, value: str) -> None:
        """Carry a cookie another client got (a session a test signed in)."""
        host = urllib.parse.urlsplit(self.base).hostname or ""
        self.cookies.set_cookie(
            http.cookiejar.Cookie(
                version=0,
                name=name,
                value=value,
                port=None,
                port_specified=False,
                domain=host,
                domain_specified=False,
                domain_initial_dot=False,
                path="/",
                path_specified=True,
                secure=False,
                expires=None,
                discard=True,
                comment=None,
                comment_url=None,
                rest={},
            )
        )

    def open(self, path: str, data: dict | None = None) -> Page:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                status, headers, raw = error.code, error.headers, error.read()
        html = raw.decode()
        return Page(status, _visible(html), html, headers.get("Location") or "")

    def follow(self, page: Page) -> Page:
        """The page a redirect leads to (on the same server)."""
        assert page.status in (302, 303), page.status
        return self.open(urllib.parse.urlsplit(page.location).path or "/")

    def form(self, path: str, action: str | None = None) -> dict[str, str]:
        """The hidden fields (the CSRF token) of the POST form on ``path`` that posts to
        ``action`` (or of the page's own form)."""
        page = self.open(path)
        assert page.status == 200, (path, page.status)
        forms = [f for f in forms_of(page.html) if f.method == "post"]
        wanted = (
            [f for f in forms if f.action == action]
            if action
            else [f for f in forms if f.action in ("", path)]
        )
        assert wanted, f"no POST form{' to ' + action if action else ''} on {path}"
        return dict(wanted[0].fields)

    def submit(self, path: str, data: dict, action: str | None = None) -> Page:
        """Fill the form on ``path`` and send it, as ``tests.helpers.submit`` does."""
        return self.open(action or path, {**self.form(path, action), **data})


# --- the diary's tests -----------------------------------------------------------------


def diary_csrf(client, path: str = "/") -> str:
    """A signed-in test client's CSRF token, from the sign-out form every diary page has
    (``path``: a page the client may open)."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# --- the portal's pages, for tests/portal and tests/e2e -------------------------------

CITIZEN_PASSWORD = "violet-harbour-lamp"  # make_citizen's default (tests/conftest.py)


def portal_sign_in(
    client, login: str, password: str = CITIZEN_PASSWORD, *, expect: int | None = None, **kw
):
    """Send the portal's sign-in form as a person does; the response (302 when it
    worked). ``expect``: the status code it must answer."""
    response = submit(client, "/login", {"login": login, "password": password}, **kw)
    assert expect is None or response.status_code == expect, text_of(response)
    return response


def portal_client_signed_in(app, login: str, password: str = CITIZEN_PASSWORD):
    """A test client of the portal, signed in as ``login``."""
    client = app.test_client()
    portal_sign_in(client, login, password, expect=302)
    return client


def csrf_on(client, url: str) -> str:
    """The CSRF token of the first POST form on the page at ``url``."""
    html = client.get(url).get_data(as_text=True)
    return next(f for f in forms_of(html) if f.method == "post").fields["csrf_token"]


def path_is(path: str) -> re.Pattern[str]:
    """A URL on any host whose path (and query, if given) is exactly ``path``."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"$")
