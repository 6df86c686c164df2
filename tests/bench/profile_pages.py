"""The family and teacher pages in process: statements, CPU and a profile of each.

    DIARY_DATABASE_URL=postgresql://... .venv/bin/python -m tests.bench.profile_pages
    ... -m tests.bench.profile_pages --profile week --sort tottime

Against a region ``bench_pages`` seeded (the same people sign in: a parent of each of
``--samples`` random students, the teachers of random classes × subjects). Each page is
asked through the app's test client for every sample, round after round (``--rounds``),
after one unmeasured round; shown per page: SQL statements per request (SQLAlchemy's
``before_cursor_execute``), CPU per request (``time.process_time``, the test client
included) and its median over rounds. ``--profile PAGE`` prints a cProfile of that
page's requests instead (process-time clock).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from diary_service import create_app
from diary_service.demo.seed import DEFAULT_SEED
from diary_service.extensions import db
from tests.bench.bench_pages import pages

PAGES = {
    "week": "parent's week",
    "marks": "marks page",
    "grid": "teacher's journal grid",
    "lesson": "teacher's lesson page",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--only", default=",".join(PAGES), help="week,marks,grid,lesson")
    parser.add_argument("--profile", choices=list(PAGES))
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=45)
    parser.add_argument("--statements", action="store_true", help="print one request's SQL")
    parser.add_argument("--save", help="write each sample's page to this folder (to compare)")
    args = parser.parse_args(argv)
    url = os.environ.get("DIARY_DATABASE_URL", "")
    if not url:
        sys.exit("DIARY_DATABASE_URL: a region bench_pages seeded")
    os.environ["DIARY_REDIS_URL"] = ""
    app = create_app({"DATABASE_URL": url, "ENV": "development"})
    with app.app_context():
        chosen = {
            p.name: p for p in pages(app, random.Random(args.seed), args.samples, date.today())
        }
        db.session.remove()
        statements: list[str] = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    clients = {}

    def get(cookie: str, path: str):
        client = clients.get(cookie)
        if client is None:
            client = clients[cookie] = app.test_client()
            client.set_cookie(cookie_name, cookie)
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    wanted = [args.profile] if args.profile else args.only.split(",")
    for key in wanted:
        page = chosen[PAGES[key]]
        for cookie, path in page.urls:  # warm-up round
            get(cookie, path)
        if args.save:
            folder = Path(args.save)
            folder.mkdir(parents=True, exist_ok=True)
            for index, (cookie, path) in enumerate(page.urls):
                text = get(cookie, path).get_data(as_text=True)
                # CSRF tokens are signed with the time: the same page differs in them.
                text = re.sub(r'name="[^"]*csrf_token"[^>]*value="[^"]*"', "csrf", text)
                text = re.sub(r'value="[^"]*" name="csrf_token"', "csrf", text)
                (folder / f"{key}-{index:02d}.html").write_text(text)
            continue
        if args.statements:
            statements.clear()
            get(*page.urls[0])
            print(f"--- {key}: {page.urls[0][1]}: {len(statements)} statements")
            for sql in statements:
                print(" ".join(sql.split())[:300])
            continue
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(args.rounds):
                for cookie, path in page.urls:
                    get(cookie, path)
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats(args.sort).print_stats(args.lines)
            continue
        per_round, counts = [], []
        for _ in range(args.rounds):
            started = time.process_time()
            for cookie, path in page.urls:
                statements.clear()
                get(cookie, path)
                counts.append(len(statements))
            per_round.append((time.process_time() - started) * 1000 / len(page.urls))
        print(
            f"{key:<7} statements min/median/max {min(counts)}/{statistics.median(counts):.0f}/"
            f"{max(counts)}  CPU ms/request median {statistics.median(per_round):.1f} "
            f"(rounds {', '.join(f'{t:.1f}' for t in per_round)})  "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
