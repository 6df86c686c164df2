"""``make bench`` (portal part): the portal under gunicorn, real sign-ins over HTTP.

    .venv/bin/python -m tests.bench.bench_portal
    PORTAL_DATABASE_URL=postgresql://postgres@127.0.0.1/bench_portal \\
        .venv/bin/python -m tests.bench.bench_portal --seconds 20
    .venv/bin/python -m tests.bench.bench_portal --seconds 10 --only sso,refresh

The portal is migrated into a throwaway database (a temporary SQLite file, or the given
PostgreSQL database, which must be empty or hold an earlier bench's data), given a
hundred citizens and a confidential client, and served by gunicorn with the checked-in
configuration (``config/gunicorn.py``) on 127.0.0.1. A relying party is played by
Authlib's OAuth 2.0 client (authorization code with PKCE S256, nonce, state) over real
HTTP; a browser's part (the sign-in form, the consent page) by ``requests``.

What is measured, each at concurrency 1 and 4 for ``--seconds``:
- SSO sign-in: the portal session is already open; authorize → code → token → userinfo;
- password sign-in: a new browser; authorize → sign-in page → password → code → token →
  userinfo (consent already given);
- refresh grant: one refresh token exchange (rotation) per operation.

Each runs once per client signing algorithm (``--algs``: RS256, the OpenID default, and
ES256; the algorithm signs the client's ID and access tokens).

For each: operations per second, p50/p95/p99 latency of the whole operation, and the
server's CPU milliseconds per operation (utime + stime of gunicorn's process tree around
the run, from /proc). Then, in process against the same database, the SQL statements
each step sends. Speed goals live here, never in the tests.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.helpers import forms_of

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "bench-rp"
# The client's signing algorithm signs its ID and access tokens: RS256 (the OpenID default)
# costs about 0.9 ms of CPU a signature here, ES256 about 0.04 ms. ``--algs`` runs each.
ALGS = ("RS256", "ES256")


def client_id_for(alg: str) -> str:
    return CLIENT_ID if alg == "RS256" else f"{CLIENT_ID}-{alg.lower()}"


REDIRECT_URI = "http://127.0.0.1:9/callback"  # never opened: the code is read off the 302
PASSWORD = "bench-harbour-lamp-2026"
SCOPE = "openid profile"
CLK_TCK = os.sysconf("SC_CLK_TCK")
OPERATIONS = frozenset({"sso", "password", "refresh"})  # what ``--only`` may name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def portal_env(database_url: str, public_url: str, instance: Path) -> dict[str, str]:
    """The portal's settings: the embedded default's, with explicit secrets."""
    pii_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return {
        **os.environ,
        "ENV": "development",
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_PUBLIC_URL": public_url,
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
        "PORTAL_PII_KEYS": json.dumps({"b1": pii_key}),
        "PORTAL_PII_ACTIVE_KEY": "b1",
        "PORTAL_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "PORTAL_CODE_KEY": secrets.token_urlsafe(32),
        "PORTAL_REGISTRY_KEY": secrets.token_urlsafe(32),
        "PORTAL_REDIS_URL": "",
        # Nothing listens there: sign-in sends no mail or SMS, and nothing is checked.
        "PORTAL_SMTP_PORT": "9",
        "PORTAL_SMS_GATEWAY_URL": "http://127.0.0.1:9/",
    }


def python(env: dict[str, str], script: str, argument: object) -> dict:
    """Run ``script`` in a fresh interpreter with the portal's settings; the JSON it
    prints last."""
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(argument)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


SETUP = """
import json, sys
import sqlalchemy as sa
from portal import create_app
from portal.extensions import db
from portal.identity import services as identity
from portal.identity.models import Citizen
from portal.oidc import services as oidc
from portal.oidc.models import OAuthClient
from portal.oidc.keys import ensure_keys

users, password, client_ids, redirect_uri, scope = json.loads(sys.argv[1])
app = create_app()
with app.app_context():
    have = db.session.execute(sa.select(sa.func.count(Citizen.id))).scalar_one()
    for n in range(have, users):
        identity.create_citizen(
            password=password, surname="Нагрузкина", given_name="Анна",
            phone=f"+7999{n:07d}", email=f"bench{n}@example.ru")
    issued = {}
    for alg, client_id in client_ids.items():
        if db.session.execute(sa.select(OAuthClient).where(OAuthClient.client_id == client_id)).scalar_one_or_none() is None:
            issued[alg] = oidc.create_client(name=f"Bench RP {alg}", redirect_uris=[redirect_uri],
                                              scopes=scope.split(), client_id=client_id,
                                              id_token_alg=alg).secret
        else:
            issued[alg] = oidc.rotate_secret(client_id)
    ensure_keys()
    print(json.dumps({"secrets": issued}))
"""


@dataclass
class Stack:
    url: str
    secrets: dict[str, str]  # by signing algorithm
    pid: int


@contextmanager
def gunicorn(
    env: dict[str, str], port: int, workers: int, worker_class: str | None = None
) -> Iterator[int]:
    """The portal under gunicorn with the checked-in configuration; stopped by pid."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (read only if gunicorn fails to start)
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
            *(["--worker-class", worker_class] if worker_class else []),
            "portal:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                sys.exit("gunicorn did not start:\n" + log.read().decode(errors="replace"))
            time.sleep(0.2)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# --- the server's CPU -------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its descendants: the live ones, and those that
    ended and were waited for (a worker gunicorn recycled after ``max_requests``: its
    time moves to the master's cutime + cstime when the master reaps it)."""
    total = 0.0
    for one in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        if one == pid:
            total += (int(fields[13]) + int(fields[14])) / CLK_TCK
    return total


# --- a relying party and a browser --------------------------------------------------------


class Browser:
    """A person's browser: a cookie jar that fills in forms."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def follow_to_callback(self, url: str) -> str:
        """Follow redirects until the portal sends the browser back to the RP; fill in
        the sign-in form and the consent page on the way."""
        for _ in range(10):
            response = self.http.get(url, allow_redirects=False, timeout=30)
            while response.status_code in (301, 302, 303):
                location = urljoin(url, response.headers["Location"])
                if location.startswith(REDIRECT_URI):
                    return location
                url = location
                response = self.http.get(url, allow_redirects=False, timeout=30)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            url = self.submit(url, response.text)
            if url.startswith(REDIRECT_URI):
                return url
        raise RuntimeError("too many pages on the way to the client")

    login: str = ""

    def submit(self, url: str, html: str) -> str:
        forms = [f for f in forms_of(html) if f.method == "post" and "logout" not in f.action]
        if not forms:
            raise RuntimeError(f"no form on {url}")
        form = forms[0]
        data = dict(form.fields)
        if "password" in data:
            data.update(login=self.login, password=PASSWORD)
        if "decision" in html:
            data["decision"] = "allow"
        response = self.http.post(
            urljoin(url, form.action or url), data=data, allow_redirects=False, timeout=30
        )
        if response.status_code not in (301, 302, 303):
            raise RuntimeError(f"{url}: the form answered {response.status_code}")
        return urljoin(url, response.headers["Location"])


@dataclass
class RelyingParty:
    base: str
    secret: str
    alg: str = "RS256"
    session: OAuth2Session = field(init=False)

    def __post_init__(self) -> None:
        self.session = OAuth2Session(
            client_id_for(self.alg),
            self.secret,
            scope=SCOPE,
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
        )

    def sign_in(self, browser: Browser) -> dict:
        verifier = secrets.token_urlsafe(48)
        url, state = self.session.create_authorization_url(
            self.base + "/oauth/authorize",
            code_verifier=verifier,
            nonce=secrets.token_urlsafe(16),
        )
        assert create_s256_code_challenge(verifier) in url
        callback = browser.follow_to_callback(url)
        query = parse_qs(urlsplit(callback).query)
        if "code" not in query:
            raise RuntimeError(f"no code: {callback}")
        token = self.session.fetch_token(
            self.base + "/oauth/token",
            authorization_response=callback,
            code_verifier=verifier,
            state=state,
        )
        info = self.session.get(self.base + "/oauth/userinfo", timeout=30)
        info.raise_for_status()
        return token

    def refresh(self, refresh_token: str) -> dict:
        return self.session.refresh_token(
            self.base + "/oauth/token", refresh_token=refresh_token, timeout=30
        )


# --- runs -----------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    concurrency: int
    ops: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu_ms_per_op: float

    def row(self) -> str:
        lat = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, round(p * (len(lat) - 1)))]

        return (
            f"| {self.name} | {self.concurrency} | {self.ops} | {self.errors} "
            f"| {self.ops / self.seconds:.1f} | {statistics.median(lat):.1f} | {pct(0.95):.1f} "
            f"| {pct(0.99):.1f} | {self.cpu_ms_per_op:.1f} |"
        )


def run_for(
    name: str,
    concurrency: int,
    seconds: float,
    pid: int,
    make_worker: Callable[[int], Callable[[], None]],
) -> Result:
    """Each of ``concurrency`` threads repeats its operation for ``seconds``."""
    workers = [make_worker(i) for i in range(concurrency)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def loop(operation: Callable[[], None]) -> None:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                operation()
            except Exception as error:  # a failed operation is counted, not fatal
                with lock:
                    errors.append(repr(error))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)

    cpu_before = tree_cpu_seconds(pid)
    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = tree_cpu_seconds(pid) - cpu_before
    if errors:
        print(f"  {name} x{concurrency}: {len(errors)} errors, first: {errors[0]}", file=sys.stderr)
    ops = len(latencies)
    return Result(name, concurrency, ops, len(errors), elapsed, latencies, cpu * 1000 / max(ops, 1))


def user_login(n: int) -> str:
    return f"+7999{n:07d}"


def http_benchmarks(
    stack: Stack,
    users: int,
    seconds: float,
    only: frozenset[str] = OPERATIONS,
    algs: tuple[str, ...] = ALGS,
) -> list[Result]:
    results = []
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def next_user() -> int:
        with counter_lock:
            return next(counter) % users

    def party(alg: str) -> RelyingParty:
        return RelyingParty(stack.url, stack.secrets[alg], alg)

    # Everyone consents once to each client (the first sign-in), so the runs below
    # measure returning people, as on a school morning.
    for alg in algs:
        for n in range(users):
            browser = Browser(stack.url)
            browser.login = user_login(n)
            party(alg).sign_in(browser)

    for alg, concurrency in ((alg, c) for alg in algs for c in (1, 4)):

        def sso_worker(i: int, alg: str = alg) -> Callable[[], None]:
            browser = Browser(stack.url)
            browser.login = user_login(next_user())
            rp = party(alg)
            rp.sign_in(browser)  # opens the portal session (not measured)
            return lambda: rp.sign_in(browser)

        def password_worker(i: int, alg: str = alg) -> Callable[[], None]:
            def operation() -> None:
                browser = Browser(stack.url)
                browser.login = user_login(next_user())
                party(alg).sign_in(browser)

            return operation

        def refresh_worker(i: int, alg: str = alg) -> Callable[[], None]:
            browser = Browser(stack.url)
            browser.login = user_login(next_user())
            rp = party(alg)
            state = {"token": rp.sign_in(browser)}

            def operation() -> None:
                state["token"] = rp.refresh(state["token"]["refresh_token"])

            return operation

        workers = {
            "sso": ("SSO sign-in", sso_worker),
            "password": ("password sign-in", password_worker),
            "refresh": ("refresh grant", refresh_worker),
        }
        for key in ("sso", "password", "refresh"):
            if key in only:
                name, make = workers[key]
                results.append(run_for(f"{name}, {alg}", concurrency, seconds, stack.pid, make))
    return results


# --- SQL statements per step, in process ------------------------------------------------------


STATEMENTS = """
import json, re, secrets, sys
from urllib.parse import parse_qs, urlsplit
import sqlalchemy as sa
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from portal import create_app
from portal.extensions import db
from tests.helpers import forms_of

client_id, secret, redirect_uri, password, login_first, login_again = json.loads(sys.argv[1])
app = create_app()
app.config["RATELIMIT_ENABLED"] = False
counts = {"n": 0}

def count(*args):
    counts["n"] += 1

with app.app_context():
    sa.event.listen(db.engine, "before_cursor_execute", count)

def counted(fn):
    counts["n"] = 0
    result = fn()
    return counts["n"], result

def authorize_url():
    verifier = secrets.token_urlsafe(48)
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "scope": "openid profile", "state": "s", "nonce": secrets.token_urlsafe(8),
             "code_challenge": create_s256_code_challenge(verifier),
             "code_challenge_method": "S256"}
    from urllib.parse import urlencode
    return "/oauth/authorize?" + urlencode(query), verifier

def follow(browser, url, login):
    for _ in range(12):
        r = browser.get(url)
        while r.status_code in (302, 303):
            url = r.headers["Location"]
            if url.startswith(redirect_uri):
                return url
            r = browser.get(url)
        form = [f for f in forms_of(r.get_data(as_text=True)) if f.method == "post" and "logout" not in f.action][0]
        data = dict(form.fields)
        if "password" in data:
            data.update(login=login, password=password)
        if "decision" in r.get_data(as_text=True):
            data["decision"] = "allow"
        r = browser.post(form.action or url, data=data)
        url = r.headers["Location"]
        if url.startswith(redirect_uri):
            return url
    raise RuntimeError("no callback")

def sign_in(browser, login):
    url, verifier = authorize_url()
    steps = {}
    steps["authorize (with sign-in and consent pages)"], callback = counted(lambda: follow(browser, url, login))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    # The relying party's own calls carry no cookie of the person's browser.
    steps["token"], token = counted(lambda: app.test_client().post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "code_verifier": verifier}, auth=(client_id, secret)).get_json())
    steps["userinfo"], _ = counted(lambda: app.test_client().get(
        "/oauth/userinfo", headers={"Authorization": "Bearer " + token["access_token"]}))
    return steps, token

out = {}
first = app.test_client()
out["first sign-in (password, consent)"], _ = sign_in(first, login_first)
again = app.test_client()
out["returning sign-in (password)"], token = sign_in(again, login_again)
out["SSO sign-in (session open)"], token = sign_in(again, login_again)
n, _ = counted(lambda: app.test_client().post("/oauth/token", data={
    "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}, auth=(client_id, secret)))
out["refresh grant"] = {"token": n}
print(json.dumps(out))
"""


def statement_counts(env: dict[str, str], users: int) -> dict[str, dict[str, int]]:
    first = user_login(users)  # a citizen made for this: no consent yet
    secret = python(env, SETUP, [users + 1, PASSWORD, {"RS256": CLIENT_ID}, REDIRECT_URI, SCOPE])[
        "secrets"
    ]["RS256"]
    return python(
        env, STATEMENTS, [CLIENT_ID, secret, REDIRECT_URI, PASSWORD, first, user_login(0)]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("PORTAL_DATABASE_URL", ""))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--worker-class", help="override config/gunicorn.py's (sync, gthread) to compare"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument(
        "--only",
        default=",".join(sorted(OPERATIONS)),
        help="operations to run, comma-separated: sso, password, refresh (default all)",
    )
    parser.add_argument(
        "--algs",
        default=",".join(ALGS),
        help="the clients' signing algorithms to run each operation with (RS256, ES256)",
    )
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    try:
        database_url = args.database_url or f"sqlite:///{tmp / 'portal.db'}"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = portal_env(database_url, url, tmp)
        shown = re.sub(r"//[^@/]*@", "//", database_url)
        kind = args.worker_class or "gthread (config/gunicorn.py)"
        print(
            f"portal on {shown}, gunicorn with {args.workers} {kind} workers, "
            f"{os.cpu_count()} cores"
        )
        flask(env, "db", "upgrade", "-d", str(ROOT / "portal" / "migrations"))
        algs = tuple(alg for alg in args.algs.split(",") if alg in ALGS)
        clients = {alg: client_id_for(alg) for alg in algs}
        secrets_by_alg = python(env, SETUP, [args.users, PASSWORD, clients, REDIRECT_URI, SCOPE])[
            "secrets"
        ]
        with gunicorn(env, port, args.workers, args.worker_class) as pid:
            only = frozenset(args.only.split(",")) & OPERATIONS
            results = http_benchmarks(
                Stack(url, secrets_by_alg, pid), args.users, args.seconds, only, algs
            )
        print()
        print(
            "| operation | concurrency | ops | errors | per second | p50 ms | p95 ms | p99 ms | server CPU ms/op |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for result in results:
            print(result.row())
        counts = statement_counts(env, args.users)
        print()
        print("| SQL statements | " + " | ".join(["step", "count"]) + " |")
        print("|---|---|---|")
        for flow, steps in counts.items():
            total = sum(steps.values())
            detail = ", ".join(f"{k} {v}" for k, v in steps.items())
            print(f"| {flow} | {detail} | **{total}** |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
