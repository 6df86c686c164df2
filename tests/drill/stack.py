"""The production shape on 127.0.0.1, without Docker, for the drill (``make drill``).

Everything here is the drill's own: a PostgreSQL cluster made with ``initdb`` in a
temporary directory and a ``redis-server``, both on free ports, so that restarting or
stopping them never touches the machine's shared PostgreSQL (5432) and Redis (6379).
On them: the portal and one regional diary under gunicorn with ``config/gunicorn.py``,
the portal's and the diary's Celery workers and beats, and the simulator as the
registries, the SMS gateway and the mail relay.

Every process is started by this module and stopped by its process id
(``Stack.close``, also on Ctrl-C and on failure: ``with Stack(...) as stack``).
"""

from __future__ import annotations

import base64
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
CLIENT_ID = "diary-drill-region"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def postgres_bin(name: str) -> str:
    """``initdb``, ``pg_ctl``: Debian keeps them out of PATH, per major version."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        sys.exit(f"the drill needs PostgreSQL's {name} (apt-get install postgresql)")
    return candidates[-1]


def as_postgres() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes and their live children (gunicorn's workers)."""
    total = 0.0
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        one = todo.pop()
        if one in seen:
            continue
        seen.add(one)
        todo.extend(children_of(one))
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


@dataclass
class Stack:
    """The drill's stack. ``workers``: gunicorn processes per app."""

    workers: int = 2
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="drill-")))
    processes: dict[str, Process] = field(default_factory=dict)
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    portal_port: int = field(default_factory=free_port)
    diary_port: int = field(default_factory=free_port)
    simulator_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    keys: dict[str, str] = field(default_factory=dict)

    # --- addresses ----------------------------------------------------------------------

    @property
    def pg_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.pg_port}"

    def database_url(self, name: str) -> str:
        return f"{self.pg_url}/{name}"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}"

    @property
    def portal_url(self) -> str:
        return f"http://{HOST}:{self.portal_port}"

    @property
    def diary_url(self) -> str:
        return f"http://{HOST}:{self.diary_port}"

    @property
    def simulator_url(self) -> str:
        return f"http://{HOST}:{self.simulator_port}"

    # --- lifetime ------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        self._previous = {
            sig: signal.signal(sig, self._interrupted) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.close()
        finally:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)

    def _interrupted(self, signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def close(self) -> None:
        """Stop every process this stack started, by its id, then the databases."""
        for name in reversed(list(self.processes)):
            self.stop(name)
        self.stop_postgres()
        if os.environ.get("DRILL_KEEP"):  # the logs and the ledgers, to read a failure
            print(f"drill: kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- the data stores -----------------------------------------------------------------

    def start_postgres(self) -> None:
        data = self.tmp / "pg"
        if not data.exists():
            data.mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.tmp, "postgres")
                shutil.chown(data, "postgres")
            run(
                [
                    *as_postgres(),
                    postgres_bin("initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                "initdb",
            )
        options = (
            f"-p {self.pg_port} -c listen_addresses={HOST} -k {data} "
            "-c max_connections=200 -c shared_buffers=128MB"
        )
        run(
            [
                *as_postgres(),
                postgres_bin("pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(data / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            "pg_ctl start",
        )

    def postgres_pid(self) -> int | None:
        try:
            return int((self.tmp / "pg" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop_postgres(self) -> None:
        pid = self.postgres_pid()
        if pid is None:
            return
        # Fast shutdown of the postmaster by its id (SIGINT), as `pg_ctl -m fast` does.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.2)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def restart_postgres(self) -> None:
        self.stop_postgres()
        self.start_postgres()

    def create_databases(self, *names: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg_url}/postgres", autocommit=True) as conn:
            for name in names:
                conn.execute(f'CREATE DATABASE "{name}"')

    def start_redis(self) -> None:
        data = self.tmp / "redis"
        data.mkdir(exist_ok=True)
        # Append-only, as docker-compose.yml runs it: queued jobs survive a restart.
        self.spawn(
            "redis",
            [
                "redis-server",
                "--bind",
                HOST,
                "--port",
                str(self.redis_port),
                "--dir",
                str(data),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--protected-mode",
                "no",
            ],
            env=os.environ.copy(),
        )
        wait_for(lambda: redis_ping(self.redis_url), "redis")

    # --- the apps ----------------------------------------------------------------------

    def make_keys(self) -> None:
        pii_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        self.keys = {
            "pii": json.dumps({"d1": pii_key}),
            **{
                name: secrets.token_urlsafe(32)
                for name in (
                    "portal_secret",
                    "portal_blind",
                    "portal_code",
                    "registry",
                    "client_secret",
                    "diary_secret",
                    "diary_blind",
                    "diary_link",
                    "simulator_secret",
                )
            },
        }

    def env(self, app: str, timezone: str = "Europe/Moscow") -> dict[str, str]:
        """The environment of each app: ENV=development (plain HTTP on loopback, so no
        Secure cookies), with PostgreSQL, Redis, explicit secrets and the drill's ports."""
        base = {
            **os.environ,
            "ENV": "development",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
        }
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if app == "portal":
            return {
                **base,
                "PORTAL_DATABASE_URL": self.database_url("portal"),
                "PORTAL_REDIS_URL": f"{self.redis_url}/0",
                "PORTAL_PUBLIC_URL": self.portal_url,
                "PORTAL_SECRET_KEY": self.keys["portal_secret"],
                "PORTAL_PII_KEYS": self.keys["pii"],
                "PORTAL_PII_ACTIVE_KEY": "d1",
                "PORTAL_BLIND_INDEX_KEY": self.keys["portal_blind"],
                "PORTAL_CODE_KEY": self.keys["portal_code"],
                "PORTAL_REGISTRY_KEY": self.keys["registry"],
                "PORTAL_REGISTRY_URL": self.simulator_url,
                "PORTAL_SMTP_HOST": HOST,
                "PORTAL_SMTP_PORT": str(self.smtp_port),
                "PORTAL_SMS_GATEWAY_URL": f"{self.simulator_url}/sms-gateway/messages",
                "PORTAL_DEMO_DIARY_CLIENT_SECRET": self.keys["client_secret"],
                "PORTAL_DIARY_REGIONS": json.dumps(
                    [
                        {
                            "code": "drill",
                            "name": "Демонстрационная область",
                            "url": self.diary_url + "/",
                            "client_id": CLIENT_ID,
                        }
                    ]
                ),
                "PORTAL_LOG_LEVEL": "WARNING",
            }
        if app == "diary":
            return {
                **base,
                "DIARY_DATABASE_URL": self.database_url("diary"),
                "DIARY_REDIS_URL": f"{self.redis_url}/1",
                "DIARY_PUBLIC_URL": self.diary_url,
                "DIARY_PORTAL_URL": self.portal_url,
                "DIARY_OIDC_CLIENT_ID": CLIENT_ID,
                "DIARY_OIDC_CLIENT_SECRET": self.keys["client_secret"],
                "DIARY_SECRET_KEY": self.keys["diary_secret"],
                "DIARY_BLIND_INDEX_KEY": self.keys["diary_blind"],
                "DIARY_LINK_CODE_KEY": self.keys["diary_link"],
                "DIARY_SMTP_HOST": HOST,
                "DIARY_SMTP_PORT": str(self.smtp_port),
                "DIARY_SMS_GATEWAY_URL": f"{self.simulator_url}/sms-gateway/messages",
                "DIARY_NOTIFY_TIMEZONE": timezone,
                "DIARY_LOG_LEVEL": "WARNING",
            }
        if app == "simulator":
            return {
                **base,
                "SIMULATOR_DATABASE_URL": self.database_url("simulator"),
                "SIMULATOR_SECRET_KEY": self.keys["simulator_secret"],
                "SIMULATOR_REGISTRY_KEY": self.keys["registry"],
                "SIMULATOR_SMTP_LISTEN_HOST": HOST,
                "SIMULATOR_SMTP_LISTEN_PORT": str(self.smtp_port),
                "SIMULATOR_LOG_LEVEL": "WARNING",
            }
        raise ValueError(app)

    def flask(self, app: str, *args: str, env: dict[str, str] | None = None) -> str:
        module = {"portal": "portal", "diary": "diary_service", "simulator": "portal.simulator"}
        return run(
            [sys.executable, "-m", "flask", "--app", module[app], *args],
            f"flask --app {module[app]} {' '.join(args)}",
            env=env or self.env(app),
        )

    def migrate(self) -> None:
        self.flask("portal", "db", "upgrade", "-d", str(ROOT / "portal" / "migrations"))
        self.flask(
            "simulator", "db", "upgrade", "-d", str(ROOT / "portal" / "simulator" / "migrations")
        )
        self.flask("diary", "db", "upgrade", "-d", str(ROOT / "diary_service" / "migrations"))

    def gunicorn(self, app: str, env: dict[str, str] | None = None) -> None:
        port = self.portal_port if app == "portal" else self.diary_port
        factory = "portal:create_app()" if app == "portal" else "diary_service:create_app()"
        metrics = self.tmp / f"metrics-{app}"
        metrics.mkdir(exist_ok=True)
        env = {**(env or self.env(app)), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        self.spawn(
            app,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(ROOT / "config" / "gunicorn.py"),
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(self.workers),
                factory,
            ],
            env=env,
        )
        url = self.portal_url if app == "portal" else self.diary_url
        wait_for(lambda: http_ok(url + "/healthz"), app, self.processes[app])

    def celery(self, app: str, role: str, env: dict[str, str] | None = None) -> None:
        module = "portal.worker" if app == "portal" else "diary_service.worker"
        args = [sys.executable, "-m", "celery", "-A", module, role, "--loglevel", "WARNING"]
        if role == "worker":
            args += ["--concurrency", "2", "--hostname", f"{app}-drill@%h"]
        else:
            args += ["--schedule", str(self.tmp / f"beat-{app}")]
        self.spawn(f"{app}-{role}", args, env=env or self.env(app))

    def simulator(self) -> None:
        self.spawn(
            "simulator",
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "portal.simulator",
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.simulator_port),
            ],
            env=self.env("simulator"),
        )
        wait_for(
            lambda: http_ok(self.simulator_url + "/healthz"),
            "simulator",
            self.processes["simulator"],
        )

    # --- processes -----------------------------------------------------------------------

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> Process:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                args,
                cwd=self.tmp,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the drill, which stops them in order
            )
        process = Process(name, popen, log)
        self.processes[name] = process
        return process

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.popen.poll() is not None:
            return
        process.popen.send_signal(sig)
        try:
            process.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.tmp / f"{name}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def server_pids(self) -> list[int]:
        """The processes whose CPU counts as the servers': the apps, their workers and
        beats, the simulator, PostgreSQL and Redis (not the load generator)."""
        pids = [p.pid for p in self.processes.values()]
        pg = self.postgres_pid()
        return pids + ([pg] if pg else [])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run(args: list[str], what: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


def http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def redis_ping(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def wait_for(ready, what: str, process: Process | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.popen.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {process.popen.returncode}:\n"
                + process.log.read_text(errors="replace")[-3000:]
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.3)
