"""``make bench`` (the diary's pages): real HTTP pages served by gunicorn to signed-in
people, at a seeded region's scale.

    .venv/bin/python -m tests.bench.bench_pages --schools 20
    DIARY_DATABASE_URL=postgresql://... .venv/bin/python -m tests.bench.bench_pages

The region is seeded (``seed --scale region``) into a throwaway SQLite file, or into
``DIARY_DATABASE_URL`` (a database that already holds a region is used as it is). Then
people sign in the way the diary knows them after a portal sign-in: a parent of each of
a few random students, the teachers of random classes × subjects, and someone of the
region's education department, each with a server-side session (rows added to the
database: a ``diary_person``, a guardian link, a staff member's ``person_id``).

The diary runs under gunicorn with the checked-in ``config/gunicorn.py``; requests go
one at a time over keep-alive connections. Each page is asked ``--samples`` times for
random students, classes and schools (after one unmeasured warm-up request each), and
two times are shown: the client's (request to last byte) and the server's
(``duration_ms`` of the diary's own request log line, from the first byte in to the
last byte out of the app). Goals (docs/performance.md): family and teacher pages p95
≤ 30 ms server time, reports ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import requests
import sqlalchemy as sa
from flask_migrate import upgrade

from diary_service import create_app
from diary_service.demo.seed import DEFAULT_SEED, seed_region
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Guardian
from diary_service.models.journal import Lesson
from diary_service.models.school import (
    Enrolment,
    SchoolClass,
    StaffMember,
    StaffRole,
    TeachingAssignment,
)

ROOT = Path(__file__).resolve().parents[2]
GOALS = {"family": 30.0, "teacher": 30.0, "report": 300.0}


@dataclass(frozen=True)
class Page:
    name: str
    endpoint: str  # the request log's endpoint, to find the server's time
    kind: str  # family / teacher / report (the goal)
    urls: list[tuple[str, str]]  # (cookie, path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- people signed in --------------------------------------------------------------------


def signed_in(app, person: DiaryPerson) -> str:
    """A server-side session for ``person``, as the portal sign-in leaves it; its cookie."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = person.id
        session["sub"] = person.sub
        session["acr"] = "urn:gosdiary:acr:standard"
        session["portal_sid"] = f"bench-{person.id}"
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def person(tag: str) -> DiaryPerson:
    found = db.session.execute(
        sa.select(DiaryPerson).where(DiaryPerson.sub == f"bench-{tag}")
    ).scalar_one_or_none()
    if found is None:
        found = DiaryPerson(sub=f"bench-{tag}", family_name="Замерова", given_name="Анна")
        db.session.add(found)
        db.session.flush()
    return found


def as_staff(member_id: int, tag: str) -> DiaryPerson:
    someone = person(tag)
    member = db.session.get(StaffMember, member_id)
    if member.person_id is None:
        member.person_id = someone.id
        return someone
    return db.session.get(DiaryPerson, member.person_id)


def pages(app, rng: random.Random, samples: int, today: date) -> list[Page]:
    """The pages and, for each, ``samples`` (cookie, path) pairs of random people."""
    students = db.session.execute(
        sa.select(Enrolment.student_id)
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(Enrolment.ends_on.is_(None), SchoolClass.grade >= 2)
    ).scalars()
    students = rng.sample(list(students), samples)
    family = []
    for student_id in students:
        parent = person(f"parent-{student_id}")
        if not db.session.execute(
            sa.select(Guardian.id).where(
                Guardian.student_id == student_id, Guardian.person_id == parent.id
            )
        ).first():
            db.session.add(
                Guardian(
                    student_id=student_id,
                    person_id=parent.id,
                    family_name="Замерова",
                    given_name="Анна",
                    reason="make bench",
                )
            )
        family.append((parent, student_id))
    assignments = db.session.execute(
        sa.select(
            TeachingAssignment.class_id,
            TeachingAssignment.subject_id,
            TeachingAssignment.teacher_id,
        )
        .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
        .where(SchoolClass.grade >= 2)
    ).all()
    teaching = []
    for class_id, subject_id, teacher_id in rng.sample(assignments, samples):
        teacher = as_staff(teacher_id, f"teacher-{teacher_id}")
        lesson_ids = db.session.execute(
            sa.select(Lesson.id).where(
                Lesson.class_id == class_id,
                Lesson.subject_id == subject_id,
                Lesson.on_date <= today,
                Lesson.cancelled.is_(False),
            )
        ).scalars()
        lesson_id = rng.choice(list(lesson_ids) or [0])
        teaching.append((teacher, class_id, subject_id, lesson_id))
    department_id = db.session.execute(
        sa.select(StaffRole.staff_id).where(StaffRole.role == "department").limit(1)
    ).scalar_one()
    department = as_staff(department_id, "department")
    schools = list(db.session.execute(sa.text("SELECT id FROM school")).scalars())
    db.session.commit()
    cookies = {}

    def cookie(someone: DiaryPerson) -> str:
        if someone.id not in cookies:
            cookies[someone.id] = signed_in(app, someone)
        return cookies[someone.id]

    boss = cookie(department)
    return [
        Page(
            "parent's week",
            "family.week",
            "family",
            [(cookie(p), f"/students/{s}/week") for p, s in family],
        ),
        Page(
            "marks page",
            "family.marks",
            "family",
            [(cookie(p), f"/students/{s}/marks") for p, s in family],
        ),
        Page(
            "teacher's journal grid",
            "journal.grid",
            "teacher",
            [(cookie(t), f"/journal/{c}/{s}") for t, c, s, _ in teaching],
        ),
        Page(
            "teacher's lesson page",
            "journal.lesson",
            "teacher",
            [(cookie(t), f"/journal/lessons/{lesson}") for t, _, _, lesson in teaching if lesson],
        ),
        Page(
            "school report",
            "reports.school_report",
            "report",
            [(boss, f"/reports/schools/{rng.choice(schools)}") for _ in range(samples)],
        ),
        Page(
            "region dashboard",
            "reports.region",
            "report",
            [(boss, "/reports/region") for _ in range(max(3, samples // 2))],
        ),
    ]


# --- gunicorn -----------------------------------------------------------------------------


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[int]:
    """The diary under gunicorn with the checked-in configuration; stopped by pid."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(ROOT / "config" / "gunicorn.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "diary_service:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("gunicorn did not start:\n" + log.read_text(errors="replace")[-4000:])
            time.sleep(0.3)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_times(log: Path) -> dict[str, list[float]]:
    """``duration_ms`` of each request the diary logged, by endpoint, in order."""
    found: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text(errors="replace").splitlines():
        if '"duration_ms"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("status") == 200 and "endpoint" in record:
            found[record["endpoint"]].append(float(record["duration_ms"]))
    return found


class PageFailed(Exception):
    """A page did not answer 200 (the server's log tail is shown)."""


def measure(base: str, page: Page) -> list[float]:
    """Client milliseconds for each of the page's requests (after one warm-up)."""
    times = []
    sessions: dict[str, requests.Session] = {}
    for index, (cookie, path) in enumerate([page.urls[0], *page.urls]):
        http = sessions.get(cookie)
        if http is None:
            http = sessions[cookie] = requests.Session()
            http.cookies.set("diary_session", cookie, domain="127.0.0.1")
        started = time.perf_counter()
        try:
            response = http.get(base + path, timeout=120, allow_redirects=False)
        except requests.RequestException as error:
            raise PageFailed(f"{page.name}: {path}: {error}") from error
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise PageFailed(f"{page.name}: {path} answered {response.status_code}")
        if index:
            times.append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=20, help="schools in the region")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the region's seed")
    parser.add_argument("--samples", type=int, default=30, help="requests of each page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument(
        "--full-year", action="store_true", help="seed the whole year's marks (4 quarters)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DIARY_DATABASE_URL", ""),
        help="an empty (or already seeded) database; default: a temporary SQLite file",
    )
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="diary-pages-"))
    url = args.database_url or f"sqlite:///{scratch / 'bench.db'}"
    env = {
        **os.environ,
        "ENV": "development",
        "DIARY_DATABASE_URL": url,
        "DIARY_REDIS_URL": "",
        "WEB_CONCURRENCY": str(args.workers),
    }
    os.environ.update({"DIARY_DATABASE_URL": url, "DIARY_REDIS_URL": ""})
    app = create_app({"DATABASE_URL": url})
    try:
        with app.app_context():
            shown = url.split("@")[-1] if "@" in url else url  # never print a password
            print(f"database: {shown}", flush=True)
            upgrade(directory=str(ROOT / "diary_service" / "migrations"))
            if app.config["ENV"] == "production":
                print("refused: the benchmark seeds demo data", file=sys.stderr)
                return 1
            report = seed_region(
                scale="region",
                key=app.config["BLIND_INDEX_KEY"],
                schools=args.schools,
                seed=args.seed,
                full_year=args.full_year,
            )
            if report is not None:
                counts = report.counts
                print(
                    f"seeded {counts['school']} schools, {counts['student']:,} students, "
                    f"{counts['mark']:,} marks in {report.seconds:.0f} s",
                    flush=True,
                )
            rng = random.Random(args.seed)
            chosen = pages(app, rng, args.samples, date.today())
        port = free_port()
        log = scratch / "gunicorn.log"
        try:
            with gunicorn(env, port, args.workers, log):
                client = {page.name: measure(f"http://127.0.0.1:{port}", page) for page in chosen}
        except PageFailed as failed:
            tail = [line for line in log.read_text(errors="replace").splitlines() if line][-5:]
            print(f"{failed}\nthe server's last lines:\n" + "\n".join(tail), file=sys.stderr)
            return 1
        server = server_times(log)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(
        f"{'page':<26}{'runs':>5}{'server p50':>12}{'p95':>8}{'client p50':>12}{'p95':>8}"
        f"{'goal p95':>10}"
    )
    missed = 0
    for page in chosen:
        times = client[page.name]
        # The warm-up request is the first the server logged for the endpoint.
        logged = server.get(page.endpoint, [])[1 : 1 + len(times)]
        goal = GOALS[page.kind]
        p95 = percentile(logged, 0.95) if logged else float("nan")
        missed += p95 > goal
        print(
            f"{page.name:<26}{len(times):>5}"
            f"{statistics.median(logged) if logged else float('nan'):>12.1f}{p95:>8.1f}"
            f"{statistics.median(times):>12.1f}{percentile(times, 0.95):>8.1f}"
            f"{goal:>10.0f}{'' if p95 <= goal else '  missed'}"
        )
    print("(milliseconds; server: the diary's request log; client: to the last byte)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
