"""``make drill``: the September 1 drill (issue 15).

    .venv/bin/python -m tests.drill.run                       # every scenario
    .venv/bin/python -m tests.drill.run --scenarios storm,worker-kill --parents 300 --minutes 2

Starts the production shape on 127.0.0.1 (``tests.drill.stack``: its own PostgreSQL and
Redis, the portal and one regional diary under gunicorn, Celery workers and beats, the
simulator), seeds a region and the citizens the load needs (``tests.drill.seed``), then
runs each scenario as its own Locust run (``tests/drill/locustfile.py``, headless,
bounded by ``--minutes`` and the number of parents) with its fault injected a third of
the way in, and afterwards (``tests.drill.ledger``) compares the load's ledger of
acknowledged writes (marks, absences, messages, acknowledgements, service applications)
with the databases and checks that every notification due was sent once. Prints a table and
exits non-zero on a lost write, a doubled notification or errors over the scenario's
goal. Everything it started is stopped by process id, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from tests.drill.ledger import (
    check_ledger,
    check_notifications,
    check_registry_checks,
    settle_portal_outbox,
)
from tests.drill.stack import ROOT, Stack, cpu_seconds, http_ok, redis_ping, wait_for

SCENARIOS = {
    "storm": "the morning storm",
    "worker-kill": "a gunicorn worker of each app SIGKILLed",
    "pg-restart": "PostgreSQL restarted",
    "redis-stop": "Redis stopped (--redis-seconds)",
    "celery-kill": "Celery workers SIGKILLed with jobs queued",
    "portal-down": "the portal stopped (--portal-seconds)",
    "registry-down": "the registries down, then slow",
}
# Errors allowed, as a share of requests: none in the storm; a fault may fail the
# requests that were in flight at its moment, never more than this.
ERROR_GOAL = {"storm": 0.0, "default": 0.01}


@dataclass
class Row:
    scenario: str
    requests: int = 0
    errors: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    acknowledged: int = 0
    applications: int = 0
    applications_delivered: int = 0
    emails_sent: int = 0
    emails_received: int = 0
    found: int = 0
    lost: int = 0
    sign_ins: int = 0
    refused: int = 0
    cpu_ms_per_sign_in: float = 0.0
    portal_cpu_ms_per_sign_in: float = 0.0
    sign_in_p95: float = 0.0
    week_p95: float = 0.0
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def school_timezone() -> str:
    """A fixed-offset zone where it is now between 10:00 and 18:00, so the drill's
    notifications are never held back by the quiet hours (21:00–08:00) whatever the
    hour the drill runs at. Etc/GMT signs are inverted: Etc/GMT-3 is UTC+3."""
    hour = datetime.now(UTC).hour
    offset = (13 - hour + 12) % 24 - 12
    offset = max(-12, min(14, offset))
    name = f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"
    ZoneInfo(name)
    return name


# --- the stack ---------------------------------------------------------------------------


def build(stack: Stack, args: argparse.Namespace) -> Path:
    print(f"drill: files in {stack.tmp}", flush=True)
    stack.make_keys()
    stack.start_postgres()
    stack.create_databases("portal", "diary", "simulator")
    stack.start_redis()
    stack.tz = school_timezone()
    print(f"drill: PostgreSQL :{stack.pg_port}, Redis :{stack.redis_port}", flush=True)
    stack.migrate()
    started = time.monotonic()
    scale = (
        ["--scale", "small"]
        if not args.schools
        else ["--scale", "region", "--schools", str(args.schools)]
    )
    stack.flask("diary", "seed", *scale, "--region", "1", env=diary_env(stack))
    people = stack.tmp / "people.json"
    python(
        stack,
        "diary",
        "tests.drill.seed",
        "diary",
        str(people),
        str(args.parents),
        str(args.teachers),
    )
    python(
        stack,
        "portal",
        "tests.drill.seed",
        "portal",
        str(people),
        stack.keys["client_secret"],
        stack.diary_url,
    )
    print(
        f"drill: region and {args.parents} parents, {args.teachers} teachers seeded "
        f"in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    stack.flask("simulator", "population", "generate")
    stack.simulator()
    stack.gunicorn("portal")
    stack.gunicorn("diary", env=diary_env(stack))
    start_jobs(stack)
    print(
        f"drill: portal {stack.portal_url}, diary {stack.diary_url}, "
        f"simulator {stack.simulator_url}",
        flush=True,
    )
    return people


def diary_env(stack: Stack) -> dict[str, str]:
    return stack.env("diary", timezone=stack.tz)


def start_jobs(stack: Stack, only: str | None = None) -> None:
    for app in ("portal", "diary"):
        env = diary_env(stack) if app == "diary" else None
        for role in ("worker", "beat"):
            name = f"{app}-{role}"
            if only and only != role:
                continue
            if name not in stack.processes:
                stack.celery(app, role, env=env)


def python(stack: Stack, app: str, module: str, *args: str) -> None:
    env = diary_env(stack) if app == "diary" else stack.env(app)
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {args[0]} failed:\n{done.stdout}{done.stderr[-4000:]}")


# --- faults --------------------------------------------------------------------------------


def gunicorn_workers(stack: Stack, app: str) -> list[int]:
    from tests.drill.stack import children_of

    return children_of(stack.processes[app].pid)


def fault(stack: Stack, scenario: str, args: argparse.Namespace, log: list[str]) -> None:
    def note(text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        log.append(f"{stamp} {text}")
        print(f"drill: {stamp} {text}", flush=True)

    if scenario == "worker-kill":
        for app in ("portal", "diary"):
            pid = gunicorn_workers(stack, app)[0]
            os.kill(pid, signal.SIGKILL)
            note(f"SIGKILL to {app}'s gunicorn worker {pid}")
    elif scenario == "pg-restart":
        started = time.monotonic()
        stack.restart_postgres()
        note(f"PostgreSQL restarted ({time.monotonic() - started:.1f} s down)")
    elif scenario == "redis-stop":
        stack.stop("redis")
        note(f"Redis stopped for {args.redis_seconds} s")
        time.sleep(args.redis_seconds)
        stack.start_redis()
        note("Redis started again (its append-only file kept the queues)")
    elif scenario == "celery-kill":
        depth = queue_depth(stack)
        for name in ("portal-worker", "diary-worker"):
            stack.stop(name, sig=signal.SIGKILL, timeout=5)
        note(f"Celery workers SIGKILLed ({depth} jobs queued in Redis)")
        time.sleep(15)
        note(f"{queue_depth(stack)} jobs queued while no worker ran; workers started again")
        start_jobs(stack, only="worker")
    elif scenario == "portal-down":
        stack.stop("portal")
        note(f"portal stopped for {args.portal_seconds} s")
        time.sleep(args.portal_seconds)
        stack.gunicorn("portal")
        note("portal started again")
    elif scenario == "registry-down":
        registry_rule(stack, {"down": "error", "delay_seconds": 0})
        citizens = stack.tmp / "checks.json"
        python(stack, "portal", "tests.drill.checks", "start", str(citizens), str(args.checks))
        note(f"registries down; {args.checks} citizens sent their SNILS and passport")
        time.sleep(60)
        registry_rule(stack, {"down": "none", "delay_seconds": 3})
        note("registries back, answering after 3 s")


def registry_rule(stack: Stack, rule: dict) -> None:
    for registry in ("sfr", "mvd"):
        response = requests.put(
            f"{stack.simulator_url}/api/registries/{registry}/rule", json=rule, timeout=10
        )
        if response.status_code != 200:
            raise RuntimeError(f"{registry} rule: {response.status_code} {response.text[:300]}")


def queue_depth(stack: Stack) -> int:
    import redis

    total = 0
    for db, queue in ((0, "portal"), (1, "diary_service")):
        with contextlib.suppress(redis.RedisError):
            total += redis.Redis.from_url(f"{stack.redis_url}/{db}").llen(queue)
    return total


# --- one scenario --------------------------------------------------------------------------


def run_scenario(stack: Stack, people: Path, scenario: str, args: argparse.Namespace) -> Row:
    row = Row(scenario)
    out = stack.tmp / scenario
    out.mkdir()
    seconds = int(args.minutes * 60)
    parents = args.parents
    env = {
        **os.environ,
        "DRILL_PEOPLE": str(people),
        "DRILL_PORTAL_URL": stack.portal_url,
        "DRILL_DIARY_URL": stack.diary_url,
        "DRILL_LEDGER": str(out),
        "DRILL_TEACHERS": str(args.teachers),
        "PYTHONPATH": str(ROOT),
    }
    # The parents arrive at an even rate over most of the run (after the slots' ramp
    # of a tenth), each slot bringing one every `pacing` seconds; the teachers work
    # throughout.
    rate = parents / (seconds * 0.75)
    slots = max(4, min(parents, math.ceil(rate * 8)))
    pacing = slots / rate
    env["DRILL_PARENT_PACING"] = f"{pacing:.3f}"
    users = slots + args.teachers
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "tests" / "drill" / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        f"{users / max(1.0, seconds * 0.1):.2f}",
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "30",
        "--csv",
        str(out / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    print(
        f"drill: scenario {scenario}: {parents} parents ({rate:.1f}/s, {slots} slots), "
        f"{args.teachers} teachers, {seconds} s",
        flush=True,
    )
    log: list[str] = []
    cpu_before = cpu_seconds(stack.server_pids())
    portal_before = cpu_seconds([stack.processes["portal"].pid])
    locust = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=(out / "locust.log").open("wb"), stderr=subprocess.STDOUT
    )
    injector = None
    if scenario != "storm":

        def inject() -> None:
            time.sleep(seconds / 3)
            try:
                fault(stack, scenario, args, log)
            except Exception as error:  # reported in the row, the drill goes on
                log.append(f"fault failed: {error!r}")
                print(f"drill: fault failed: {error!r}", flush=True)

        injector = threading.Thread(target=inject, daemon=True)
        injector.start()
    try:
        locust.wait(timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        locust.send_signal(signal.SIGINT)
        locust.wait(timeout=30)
    finally:
        if locust.poll() is None:
            locust.kill()
            locust.wait()
    if injector is not None:
        injector.join(timeout=300)
    cpu = cpu_seconds(stack.server_pids()) - cpu_before
    # The portal's own (a restarted portal's new processes count from zero).
    portal_cpu = max(0.0, cpu_seconds([stack.processes["portal"].pid]) - portal_before)
    if scenario in ("portal-down", "worker-kill", "celery-kill", "redis-stop", "pg-restart"):
        # A process that ended took its CPU figures with it: no honest total here.
        cpu = float("nan")
    if scenario in ("portal-down", "worker-kill"):
        portal_cpu = float("nan")
    row.notes.extend(log)
    read_stats(out / "locust_stats.csv", row)
    row.cpu_ms_per_sign_in = cpu * 1000 / max(row.sign_ins, 1)
    row.portal_cpu_ms_per_sign_in = portal_cpu * 1000 / max(row.sign_ins, 1)
    recover(stack, row)
    settle_portal_outbox(stack, row, args.drain_seconds)
    check_ledger(stack, out, row)
    check_notifications(stack, row, args)
    if scenario == "registry-down":
        check_registry_checks(stack, row, args)
    if scenario == "portal-down" and not row.refused:
        row.failed.append("no new sign-in got the diary's page saying the portal is down")
    goal = ERROR_GOAL.get(scenario, ERROR_GOAL["default"])
    allowed = goal * row.requests
    if scenario != "storm":
        # A fault may fail the requests in flight at its moment: at most every thread of
        # every gunicorn process of both apps.
        in_flight = 2 * args.workers * int(os.environ.get("GUNICORN_THREADS", "4"))
        allowed = max(allowed, in_flight)
    if row.errors > allowed:
        row.failed.append(
            f"{row.errors} errors, over the goal of {allowed:.0f} "
            f"(the larger of {goal:.0%} of {row.requests} and the requests in flight)"
        )
    if row.lost:
        row.failed.append(f"{row.lost} acknowledged writes lost")
    if scenario == "storm" or args.goals_always:
        if row.sign_in_p95 > 1000:
            row.failed.append(f"sign-in p95 {row.sign_in_p95:.0f} ms > 1000 ms")
        if row.week_p95 > 300:
            row.notes.append(f"week page p95 {row.week_p95:.0f} ms > goal 300 ms")
    return row


def read_stats(path: Path, row: Row) -> None:
    with path.open() as fh:
        for line in csv.DictReader(fh):
            name, kind = line["Name"], line["Type"]
            count, failures = int(line["Request Count"]), int(line["Failure Count"])
            if name == "Aggregated":
                continue
            if kind == "FLOW" and name.startswith("sign-in (whole"):
                row.sign_ins = count - failures
                row.sign_in_p95 = float(line["95%"] or 0)
                continue
            if kind == "REFUSED":
                row.refused += count
                continue
            if kind == "FLOW":
                row.errors += failures
                continue
            row.requests += count
            row.errors += failures
            if name == "diary: week":
                row.week_p95 = float(line["95%"] or 0)
    with path.open() as fh:
        for line in csv.DictReader(fh):
            if line["Name"] == "Aggregated":
                row.p50 = float(line["50%"] or 0)
                row.p95 = float(line["95%"] or 0)
                row.p99 = float(line["99%"] or 0)


def recover(stack: Stack, row: Row) -> None:
    """After a fault: every process back (a gunicorn master respawns its workers by
    itself; the drill restarts only what it stopped) and the apps ready."""
    for url in (stack.portal_url, stack.diary_url):
        wait_for(lambda url=url: http_ok(url + "/readyz"), f"{url}/readyz", timeout=120)
    wait_for(lambda: redis_ping(stack.redis_url), "redis", timeout=30)


# --- the table --------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | requests | errors | p50 ms | p95 ms | p99 ms | sign-ins (refused) "
        "| sign-in p95 ms | week p95 ms | acknowledged writes | of them applications "
        "(at the diary) | found | lost | e-mails marked sent / received "
        "| server CPU ms per sign-in: all (portal) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.requests} | {r.errors} | {r.p50:.0f} | {r.p95:.0f} "
            f"| {r.p99:.0f} | {r.sign_ins} ({r.refused}) | {r.sign_in_p95:.0f} "
            f"| {r.week_p95:.0f} | {r.acknowledged} "
            f"| {r.applications} ({r.applications_delivered}) | {r.found} | {r.lost} "
            f"| {r.emails_sent} / {r.emails_received} "
            f"| {r.cpu_ms_per_sign_in:.0f} ({r.portal_cpu_ms_per_sign_in:.0f}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = os.environ.get
    parser.add_argument("--scenarios", default=env("DRILL_SCENARIOS", ",".join(SCENARIOS)))
    parser.add_argument("--parents", type=int, default=int(env("DRILL_PARENTS", "10000")))
    parser.add_argument("--teachers", type=int, default=int(env("DRILL_TEACHERS", "300")))
    parser.add_argument("--minutes", type=float, default=float(env("DRILL_MINUTES", "10")))
    parser.add_argument(
        "--schools",
        type=int,
        default=int(env("DRILL_SCHOOLS", "0")),
        help="seed a region of this many schools (0: the small scale)",
    )
    parser.add_argument("--workers", type=int, default=int(env("DRILL_WORKERS", "2")))
    parser.add_argument("--redis-seconds", type=int, default=60)
    parser.add_argument(
        "--portal-seconds", type=int, default=int(env("DRILL_PORTAL_SECONDS", "120"))
    )
    parser.add_argument("--checks", type=int, default=20)
    parser.add_argument("--drain-seconds", type=int, default=120)
    parser.add_argument("--goals-always", action="store_true")
    args = parser.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    rows: list[Row] = []
    started = time.monotonic()
    with Stack(workers=args.workers) as stack:
        try:
            people = build(stack, args)
            for scenario in scenarios:
                rows.append(run_scenario(stack, people, scenario, args))
                print(table(rows[-1:]), flush=True)
        except (Exception, KeyboardInterrupt) as error:
            print(f"drill: stopped: {error!r}", file=sys.stderr, flush=True)
            for name in list(stack.processes):
                tail = stack.log_tail(name, 15)
                if tail:
                    print(f"--- {name}\n{tail}", file=sys.stderr)
            return 1
        finally:
            print("drill: stopping everything it started", flush=True)
    print()
    print(
        f"Drill of {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"{args.parents} parents and {args.teachers} teachers over {args.minutes:g} min "
        f"per scenario, gunicorn {args.workers} workers per app "
        f"({time.monotonic() - started:.0f} s in all):"
    )
    print(table(rows))
    for row in rows:
        for note in row.notes:
            print(f"  {row.scenario}: {note}")
        for failure in row.failed:
            print(f"  {row.scenario}: FAILED: {failure}")
    failed = sum(1 for row in rows if row.failed)
    # One scenario, one verdict; the closing line CI reads.
    print(f"drill: {len(rows) - failed} passed, {failed} failed")
    return 1 if failed or len(rows) < len(scenarios) else 0


if __name__ == "__main__":
    sys.exit(main())
