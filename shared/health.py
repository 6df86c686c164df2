"""Liveness and readiness, the same on every app.

``/healthz``: the process answers (a liveness probe: restart it when this fails).

``/readyz``: whether this instance should get traffic (a load balancer's probe):
``{"status": "ok"|"degraded"|"fail", "checks": {"database": "ok", "redis": "ok"|"down"|
"not configured", "portal": ...}}``. A check the app cannot work without (``required``:
its database) that is down answers 503 and ``fail``, and the balancer takes the instance
out. A check the app can do without answers 200 and ``degraded``: Redis (limits fall
back to memory, jobs wait in their outboxes) and the diary's portal (people already
signed in keep working, only new sign-ins wait). Every instance shares them, so taking
every instance out because one is down would turn a partial outage into a whole one.

Each check runs in a thread of its own and is given ``READINESS_TIMEOUT`` seconds (1):
one that has not answered by then is ``down``, so a probe never hangs on a black-holed
address. A check may cache its answer (``cache_seconds``: the diary asks the portal at
most every few seconds, however often it is probed). A change of a check's state is
logged once per process, not at every probe.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, jsonify

from shared import tracing
from shared.jobs import redis_client

OK, DOWN, NOT_CONFIGURED = "ok", "down", "not configured"


@dataclass
class Check:
    """One dependency: ``probe(app)`` returns ``OK`` or ``NOT_CONFIGURED`` or raises."""

    name: str
    probe: Callable[[Flask], str]
    required: bool = True
    cache_seconds: float = 0.0
    _cached: tuple[float, str] | None = field(default=None, repr=False)
    _last_logged: str | None = field(default=None, repr=False)


def database_check(engine_getter) -> Check:
    def probe(app: Flask) -> str:
        with app.app_context(), engine_getter().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return OK

    return Check("database", probe)


def _redis_probe(app: Flask) -> str:
    client = redis_client(app)
    if client is None:
        return NOT_CONFIGURED
    client.ping()
    return OK


def redis_check() -> Check:
    """Redis is the jobs' broker and the rate limits' storage, and every instance shares
    it. Without it the apps still serve (issue 15's drill, redis-stop: 0 errors): the
    rate limits fall back to the process's memory and a job that cannot be queued waits
    in its outbox for the periodic retry. So Redis down is ``degraded``, not ``fail``:
    taking every instance out for it would turn a slower night into an outage."""
    return Check("redis", _redis_probe, required=False)


def url_check(name: str, url_getter: Callable[[Flask], str], *, cache_seconds: float) -> Check:
    """Another service's readiness: its answer must be 200 (a 503 means it took itself
    out). Not required: reported, and the instance stays in."""

    def probe(app: Flask) -> str:
        timeout = float(app.config.get("READINESS_TIMEOUT", 1.0))
        req = urllib.request.Request(  # noqa: S310 (operator configuration)
            url_getter(app), headers={"Accept": "application/json", **tracing.outgoing_headers()}
        )
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            if response.status != 200:
                raise urllib.error.HTTPError(req.full_url, response.status, "not ready", {}, None)
        return OK

    return Check(name, probe, required=False, cache_seconds=cache_seconds)


# --- running the checks -------------------------------------------------------------------

_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """One small pool per process (made after gunicorn's fork: threads do not survive it)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz"))
        return _pool[1]


def _run(app: Flask, check: Check) -> str:
    try:
        return check.probe(app)
    except Exception as error:  # any failure of a dependency is "down", with its reason logged
        _note(app, check, DOWN, f"{type(error).__name__}: {error}")
        return DOWN


def _note(app: Flask, check: Check, state: str, reason: str = "") -> None:
    previous, check._last_logged = check._last_logged, state
    if previous == state:
        return
    if state == DOWN:
        app.logger.warning("readiness: %s is down (%s)", check.name, reason[:200])
    elif previous == DOWN:
        app.logger.info("readiness: %s is %s again", check.name, state)


def run_checks(app: Flask, checks: list[Check]) -> dict[str, str]:
    """Every check's state, at most ``READINESS_TIMEOUT`` seconds from now."""
    timeout = float(app.config.get("READINESS_TIMEOUT", 1.0))
    now = time.monotonic()
    results: dict[str, str] = {}
    pending = {}
    context = tracing.current()
    for check in checks:
        if check._cached is not None and now - check._cached[0] < check.cache_seconds:
            results[check.name] = check._cached[1]
            continue

        def run(check=check):
            with tracing.bound(context.request_id if context else None, context and context.app):
                return _run(app, check)

        pending[check.name] = (check, _executor().submit(run))
    if pending:
        wait_for([future for _, future in pending.values()], timeout=timeout)
    for name, (check, future) in pending.items():
        if future.done():
            state = future.result()
        else:
            _note(app, check, DOWN, f"no answer within {timeout:g} s")
            state = DOWN
        if state != DOWN:
            _note(app, check, state)
        check._cached = (now, state)
        results[name] = state
    return {check.name: results[check.name] for check in checks}


def health_blueprint(checks: list[Check]) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz():
        """The process answers."""
        return jsonify(status="ok")

    @bp.get("/readyz")
    def readyz():
        """Whether this instance can serve (see the module's docstring)."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        results = run_checks(app, checks)
        down = [check for check in checks if results[check.name] == DOWN]
        if any(check.required for check in down):
            return jsonify(status="fail", checks=results), 503
        return jsonify(status="degraded" if down else "ok", checks=results)

    return bp
