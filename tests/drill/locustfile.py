"""The morning storm, as Locust users (run by ``tests.drill.run``; headless, loopback).

Parents (slots that bring one parent after another at a set rate): open the diary, sign in through the portal with the password (a third of them
with a TOTP code too), give consent the first time, see their child's week and marks;
one in five then sends the class teacher a message or acknowledges the week. Each parent
does this once. One parent in ten (those the seed gave a child verified at the portal)
then applies at the portal for diary access for the child (the catalog's form over HTTP).
Teachers (a fixed number) sign in once, then keep opening a
recent lesson of one of their classes and entering a mark and an absence.

Every write the apps acknowledged (the redirect that follows a saved form) goes to the
ledger (``DRILL_LEDGER``, one JSON line each) with a token written into the record (the
mark's comment, the absence's reason, the message's text), and ``tests.drill.ledger``
looks for each of them in the database afterwards.

Settings come from the environment: ``DRILL_PEOPLE`` (tests.drill.seed's file),
``DRILL_PORTAL_URL``, ``DRILL_DIARY_URL``, ``DRILL_LEDGER``, ``DRILL_TEACHERS``,
``DRILL_WRITE_SHARE`` (0.2), ``DRILL_TEACHER_PAUSE`` (seconds between lessons, 10).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pyotp
from locust import HttpUser, between, constant_pacing, events, task
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DIARY_ACCESS = "diary-access"  # the portal's service (portal/catalog/catalog.py)
PEOPLE = json.loads(open(os.environ["DRILL_PEOPLE"]).read())  # noqa: SIM115
PORTAL = os.environ["DRILL_PORTAL_URL"]
DIARY = os.environ["DRILL_DIARY_URL"]
WRITE_SHARE = float(os.environ.get("DRILL_WRITE_SHARE", "0.2"))
TEACHER_PAUSE = float(os.environ.get("DRILL_TEACHER_PAUSE", "10"))
PARENT_PACING = float(os.environ.get("DRILL_PARENT_PACING", "5"))
LEDGER_PATH = os.path.join(os.environ["DRILL_LEDGER"], f"ledger-{os.getpid()}.jsonl")
_ledger = open(LEDGER_PATH, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
_ledger_lock = threading.Lock()
_parents = itertools.count()
_teachers = itertools.count()

# The page the diary shows when the portal cannot be reached (auth/unavailable.html):
# in the portal-down scenario a new sign-in must end there, with 503 and Retry-After.
UNAVAILABLE = re.compile(r"Retry-After|недоступ|unavailable", re.IGNORECASE)


def acknowledged(kind: str, **values: object) -> None:
    with _ledger_lock:
        _ledger.write(json.dumps({"kind": kind, "at": time.time(), **values}) + "\n")


def refused(step: str) -> None:
    events.request.fire(
        request_type="REFUSED",
        name=f"sign-in refused at {step}: portal down (clear page)",
        response_time=0,
        response_length=0,
        exception=None,
        context={},
    )


def token() -> str:
    return "drill-" + uuid.uuid4().hex[:16]


# --- forms -----------------------------------------------------------------------------


class Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}


class FormParser(HTMLParser):
    """Forms with their inputs, textareas and selects (the selected or first option)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = Form(a.get("action") or "", (a.get("method") or "get").lower())
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type") or "text"
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.form.fields[a["name"]] = a.get("value") or "y"
            elif kind != "submit":
                self.form.fields[a["name"]] = a.get("value") or ""
        elif tag == "textarea" and a.get("name"):
            self.textarea = a["name"]
            self.form.fields[a["name"]] = ""
        elif tag == "select" and a.get("name"):
            self.select = a["name"]
            self.form.options[self.select] = []
        elif tag == "option" and self.select is not None:
            value = a.get("value") or ""
            self.form.options[self.select].append(value)
            if "selected" in a or self.select not in self.form.fields:
                self.form.fields[self.select] = value

    def handle_data(self, data):
        if self.textarea and self.form is not None:
            self.form.fields[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def forms_of(html: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    return [f for f in parser.forms if f.method == "post" and "logout" not in f.action]


def form_posting_to(html: str, fragment: str) -> Form | None:
    return next((f for f in forms_of(html) if fragment in f.action), None)


def form_with(html: str, name: str) -> Form | None:
    return next((f for f in forms_of(html) if name in f.fields), None)


# --- the users --------------------------------------------------------------------------


def problems_in(html: str) -> str:
    """The messages a refused form shows (``ul.errors``), for the failure list."""
    found = re.findall(r'<ul class="errors"[^>]*>(.*?)</ul>', html or "", re.S)
    return "; ".join(" ".join(re.sub(r"<[^>]+>", " ", text).split()) for text in found[:3])


class Person(HttpUser):
    abstract = True
    host = DIARY

    def on_start(self) -> None:
        # As a browser does (RFC 9112 §9.3.1), a GET whose kept-alive connection turns
        # out closed (a server process gone) is sent once more on a new one. A POST is
        # never repeated: its failure is counted.
        retry = Retry(
            total=1,
            connect=1,
            read=1,
            status=0,
            other=0,
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
        )
        self.client.mount("http://", HTTPAdapter(max_retries=retry))

    def get(self, url: str, name: str, ok=(200,)):
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code not in ok:
                response.failure(f"{response.status_code} at {response.url}")
            return response

    def post(self, url: str, data: dict, name: str, ok=(200,)):
        with self.client.post(url, data=data, name=name, catch_response=True) as response:
            if (
                response.status_code == 503
                and urlsplit(response.url).netloc == urlsplit(DIARY).netloc
                and UNAVAILABLE.search(response.text)
            ):
                # Mid-sign-in when the portal stopped: the diary's clear page, not an error.
                response.success()
                refused(name)
                return response
            if response.status_code not in ok:
                detail = problems_in(response.text) if response.status_code == 400 else ""
                response.failure(f"{response.status_code} at {response.url} {detail}".strip())
            return response

    def sign_in(self, person: dict) -> bool:
        """Diary → portal (password, TOTP, consent) → diary. True when signed in."""
        started = time.perf_counter()
        with self.client.get(
            DIARY + "/auth/login", name="sign-in 1: diary → portal form", catch_response=True
        ) as page:
            if page.status_code == 503 and UNAVAILABLE.search(page.text):
                # The portal is down: the diary says so clearly instead of failing.
                page.success()
                events.request.fire(
                    request_type="REFUSED",
                    name="sign-in refused: portal down (clear page)",
                    response_time=(time.perf_counter() - started) * 1000,
                    response_length=0,
                    exception=None,
                    context={},
                )
                return False
            login_form = form_with(page.text, "password") if page.status_code == 200 else None
            if login_form is None:
                page.failure(f"no sign-in form ({page.status_code} at {page.url})")
                return False
        data = {
            **login_form.fields,
            "login": person["login"],
            "password": PEOPLE["password"],
        }
        page = self.post(
            urljoin(page.url, login_form.action or page.url), data, "sign-in 2: password"
        )
        if page.status_code != 200:
            return False
        if "totp" in person:
            form = form_with(page.text, "code")
            if form is None:
                self.fail_event("sign-in 3: TOTP", f"no code form at {page.url}")
                return False
            data = {**form.fields, "code": pyotp.TOTP(person["totp"]).now()}
            page = self.post(urljoin(page.url, form.action), data, "sign-in 3: TOTP")
            if page.status_code != 200:
                return False
        if urlsplit(page.url).netloc == urlsplit(PORTAL).netloc:
            form = next((f for f in forms_of(page.text) if "decision" in page.text), None)
            if form is None:
                self.fail_event("sign-in 4: consent", f"stuck at {page.url}")
                return False
            data = {**form.fields, "decision": "allow"}
            page = self.post(urljoin(page.url, form.action or page.url), data, "sign-in 4: consent")
            if page.status_code != 200:
                return False
        if urlsplit(page.url).netloc != urlsplit(DIARY).netloc:
            self.fail_event("sign-in: back at the diary", f"ended at {page.url}")
            return False
        events.request.fire(
            request_type="FLOW",
            name="sign-in (whole, diary → portal → diary)",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None,
            context={},
        )
        return True

    def fail_event(self, name: str, message: str) -> None:
        events.request.fire(
            request_type="FLOW",
            name=name,
            response_time=0,
            response_length=0,
            exception=RuntimeError(message),
            context={},
        )


class Parent(Person):
    """A slot that signs one parent after another in, each with a new browser (no
    cookies), starting one every ``DRILL_PARENT_PACING`` seconds: the slots together
    give the arrival rate. When every parent has come, the slot idles."""

    weight = 1
    wait_time = constant_pacing(PARENT_PACING)

    @task
    def morning(self) -> None:
        n = next(_parents)
        everyone = PEOPLE["parents"]
        if n >= len(everyone):
            time.sleep(PARENT_PACING)
            return
        person = everyone[n]
        self.client.cookies.clear()
        if not self.sign_in(person):
            return
        sid = person["student_id"]
        week = self.get(f"{DIARY}/students/{sid}/week", "diary: week")
        self.get(f"{DIARY}/students/{sid}/marks", "diary: marks")
        if week.status_code == 200 and random.random() < WRITE_SHARE:
            if random.random() < 0.5:
                self.acknowledge(sid, week.text)
            else:
                self.message(sid)
        if "child" in person:
            self.apply(person["child"])

    def acknowledge(self, sid: int, html: str) -> None:
        form = form_posting_to(html, "/acknowledge")
        if form is None:
            return  # already acknowledged, or a week not to acknowledge
        page = self.post(urljoin(DIARY, form.action), form.fields, "diary: acknowledge week")
        if page.status_code == 200 and "/week" in page.url:
            acknowledged("acknowledgement", student_id=sid, week=form.fields.get("week"))

    def message(self, sid: int) -> None:
        page = self.get(f"{DIARY}/messages/new?student={sid}", "diary: new message form")
        form = form_posting_to(page.text, "") if page.status_code == 200 else None
        if form is None or not form.options.get("recipient"):
            return  # nobody to write to about this child
        text = token()
        recipients = [value for value in form.options["recipient"] if value]
        data = {
            **form.fields,
            "recipient": recipients[0],
            "subject": "Утро 1 сентября",
            "body": f"Добрый день! {text}",
        }
        page = self.post(urljoin(page.url, form.action or page.url), data, "diary: send message")
        if page.status_code == 200 and re.search(r"/messages/\d+", page.url):
            acknowledged("message", token=text, student_id=sid)

    def apply(self, child: str) -> None:
        """At the portal (signed in there by the sign-in): the service «access to the
        electronic diary» for the child, as its form goes: the child and the region,
        the schools the diary lists, the summary, «Send»."""
        form_url = f"{PORTAL}/services/{DIARY_ACCESS}/apply"
        page = self.get(form_url, "portal: application form")
        regions = re.findall(r'<option value="([^"]+)"', page.text)
        if page.status_code != 200 or not regions:
            self.fail_event("portal: application form", f"no region to choose at {page.url}")
            return
        query = {"child": child, "region": regions[0]}
        page = self.get(f"{form_url}?{urlencode(query)}", "portal: application schools")
        form = form_posting_to(page.text, "/apply") if page.status_code == 200 else None
        schools = [s for s in (form.options.get("school", []) if form else []) if s]
        if form is None or not schools:
            self.fail_event("portal: application schools", f"no school to choose at {page.url}")
            return
        data = {**form.fields, "school": random.choice(schools)}
        action = urljoin(page.url, form.action)
        page = self.post(action, data, "portal: application summary")
        form = form_with(page.text, "confirmed") if page.status_code == 200 else None
        if form is None:
            self.fail_event("portal: application summary", f"no summary at {page.url}")
            return
        page = self.post(action, form.fields, "portal: send application")
        sent = re.search(r"/cabinet/service-applications/([0-9a-f-]{36})$", page.url)
        if page.status_code == 200 and sent:
            acknowledged("application", public_id=sent.group(1))
        elif page.status_code == 200:
            self.fail_event("portal: send application", f"not sent: ended at {page.url}")


class Teacher(Person):
    fixed_count = int(os.environ.get("DRILL_TEACHERS", "10"))
    wait_time = between(TEACHER_PAUSE * 0.5, TEACHER_PAUSE * 1.5)

    def on_start(self) -> None:
        super().on_start()
        n = next(_teachers)
        everyone = PEOPLE["teachers"]
        self.person = everyone[n % len(everyone)]
        self.signed_in = False
        self.lessons: list[str] = []

    @task
    def enter_marks(self) -> None:
        if not self.signed_in:
            self.signed_in = self.sign_in(self.person)
            if not self.signed_in:
                return
        if not self.lessons:
            index = self.get(f"{DIARY}/journal/", "journal: index")
            grids = sorted(set(re.findall(r'href="(/journal/\d+/\d+)"', index.text)))
            if not grids:
                return
            grid = self.get(DIARY + random.choice(grids), "journal: grid")
            # Lessons already opened, neither cancelled nor in the future (a cancelled
            # lesson refuses marks with a clear 400, as it should).
            columns = re.findall(
                r'class="lesson-col([^"]*)"[^>]*>\s*<a href="(/journal/lessons/\d+)"', grid.text
            )
            self.lessons = [url for kind, url in columns if not kind.strip()][-5:]
            if not self.lessons:
                return
        url = DIARY + random.choice(self.lessons)
        page = self.get(url, "journal: lesson")
        form = form_posting_to(page.text, "/marks") if page.status_code == 200 else None
        if form is None:
            self.lessons = []
            return
        students = sorted(
            {int(m) for m in re.findall(r"^s(\d+)_value$", "\n".join(form.fields), re.M)}
        )
        if len(students) < 2:
            return
        present = [s for s in students if not form.fields.get(f"s{s}_attendance")]
        if not present:
            return
        absent = random.choice(present)
        marked = random.choice([s for s in students if s != absent])
        mark_token = token()
        # A first absence carries no reason (a reason explains a correction): the
        # ledger finds it by its lesson and student.
        data = {
            **form.fields,
            f"s{marked}_value": random.choice("2345"),
            f"s{marked}_comment": mark_token,
            f"s{absent}_attendance": "н",
        }
        page = self.post(urljoin(url, form.action), data, "journal: save marks and attendance")
        if page.status_code == 200 and "/journal/lessons/" in page.url and "error" not in page.url:
            lesson_id = int(url.rsplit("/", 1)[1])
            acknowledged("mark", token=mark_token, student_id=marked, lesson_id=lesson_id)
            acknowledged("absence", student_id=absent, lesson_id=lesson_id)
