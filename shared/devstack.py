"""``make run``: start the portal, the simulator (dev inboxes) and two regional diaries on
127.0.0.1, print where they are and who can sign in, and stop them all on Ctrl-C.

The second diary is the same code as the first with other settings (``region_2_env``):
its own database, address, client at the portal, session cookie and keys, as a second
region's deployment would have. ``python -m shared.devstack region2 ARGS…`` runs
``flask --app diary_service ARGS…`` as that diary (``make migrate`` and ``make seed``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from types import SimpleNamespace

from shared.config import CONFIG_DIR, dev_secrets

HOST = "127.0.0.1"
# The apps' instance folder (Flask's, for packages run from a checkout): where the
# development databases and generated secrets live.
INSTANCE = Path(__file__).resolve().parents[1] / "instance"
REGION_2_PORT = 8003
REGION_2_URL = f"http://{HOST}:{REGION_2_PORT}"


def region_2_client_secret() -> str:
    """The embedded-default secret `flask --app portal seed` registers the client
    diary-demo-region-2 with (the portal's [development] DEMO_DIARY_REGION_2_CLIENT_SECRET);
    read from there, or from the variable that overrides it, so the two sides cannot
    drift apart. Never used in production."""
    if os.environ.get("PORTAL_DEMO_DIARY_REGION_2_CLIENT_SECRET"):
        return os.environ["PORTAL_DEMO_DIARY_REGION_2_CLIENT_SECRET"]
    with (CONFIG_DIR / "portal.toml").open("rb") as fh:
        return tomllib.load(fh)["development"]["DEMO_DIARY_REGION_2_CLIENT_SECRET"]


def region_2_env(instance: Path | None = None) -> dict[str, str]:
    """The second region's diary: ``DIARY_`` variables over the development defaults
    (its files in ``instance``, by default the apps' instance folder)."""
    instance = instance or INSTANCE
    # Its own SECRET_KEY and BLIND_INDEX_KEY, generated once like the first diary's
    # (instance/diary-dev-secrets.json) but in a file of its own: one secret per purpose,
    # and two regions' SNILS indexes must not be comparable.
    keys = dev_secrets(
        SimpleNamespace(instance_path=str(instance)),
        "diary-region2",
        ["SECRET_KEY", "BLIND_INDEX_KEY"],
    )
    return {
        "DIARY_DATABASE_URL": f"sqlite:///{instance / 'diary-region2.db'}",
        "DIARY_PUBLIC_URL": REGION_2_URL,
        "DIARY_OIDC_CLIENT_ID": "diary-demo-region-2",
        "DIARY_OIDC_CLIENT_SECRET": region_2_client_secret(),
        "DIARY_REGION_NAME": "Заречная область",
        "DIARY_SITE_NAME": "Электронный дневник Заречной области",
        "DIARY_MAIL_FROM": "Электронный дневник Заречной области <no-reply@diary2.localhost>",
        # Browsers keep cookies per host, not per port: with the first diary's cookie
        # name each diary on 127.0.0.1 would overwrite the other's session (and with it
        # the sign-in state, nonce and CSRF token kept there).
        "DIARY_SESSION_COOKIE_NAME": "diary2_session",
        "DIARY_SECRET_KEY": keys["SECRET_KEY"],
        "DIARY_BLIND_INDEX_KEY": keys["BLIND_INDEX_KEY"],
    }


def services(region_2: dict[str, str]) -> list[tuple[str, str, int | None, list[str], dict]]:
    """name, flask app, port (None: no server), arguments, extra environment."""

    def server(port: int) -> list[str]:
        return ["run", "--host", HOST, "--port", str(port), "--no-reload", "--no-debugger"]

    return [
        ("simulator", "portal.simulator", 8002, ["serve", "--host", HOST, "--port", "8002"], {}),
        ("portal", "portal", 8000, server(8000), {}),
        ("diary", "diary_service", 8001, server(8001), {}),
        ("diary-2", "diary_service", REGION_2_PORT, server(REGION_2_PORT), region_2),
        # What Celery beat does in production: send registry checks whose registry was down.
        ("checks", "portal", None, ["checks", "resend", "--loop", "5"], {}),
        # ... and back-channel logouts whose client was down.
        ("logouts", "portal", None, ["logout-deliveries", "resend", "--loop", "5"], {}),
        # ... and the OpenID Provider's upkeep: timed-out sessions end with back-channel
        # logout, used assertion ids expire, signing keys rotate when due.
        ("oidc-sweep", "portal", None, ["oidc", "sweep", "--loop", "30"], {}),
        # ... and each diary's e-mail and SMS notifications (quiet hours hold some back).
        ("notifications", "diary_service", None, ["notifications", "send", "--loop", "5"], {}),
        (
            "notifications-2",
            "diary_service",
            None,
            ["notifications", "send", "--loop", "5"],
            region_2,
        ),
        # ... and the messages between the portal and the diaries (service applications,
        # their statuses, trusted-person revocations) whose other side was down.
        ("federation", "portal", None, ["federation", "send", "--loop", "5"], {}),
        ("federation-diary", "diary_service", None, ["federation", "send", "--loop", "5"], {}),
        (
            "federation-diary-2",
            "diary_service",
            None,
            ["federation", "send", "--loop", "5"],
            region_2,
        ),
    ]


BANNER = """
  Portal (citizens):                  http://{host}:8000
  Diary (Демонстрационная область):   http://{host}:8001
  Diary (Заречная область):           http://{host}:8003
  Dev inboxes (SMS/e-mail):           http://{host}:8002

  Demo citizens (phone / e-mail / password), and who they are in the demo diaries:
    +7 916 000-00-01  maria.ivanova@example.ru    Demo-Parent-2026      parent of Пётр (6А, :8001) and Алиса (9А, :8003)
    +7 916 000-00-02  sergey.petrov@example.ru    Demo-Parent-2026      parent of Пётр (6А, :8001)
    +7 916 000-00-03  olga.smirnova@example.ru    Demo-Teacher-2026     teacher, class teacher of 6А (:8001)
    +7 916 000-00-04  —                           Demo-Grandma-2026     passport lost: refused
    +7 916 000-00-05  alisa.ivanova@example.ru    Demo-Student-2026     student of 9А, Лицей № 1 (:8003)
    +7 916 000-00-06  nikolay.orlov@example.ru    Demo-Admin-2026       administrator of СОШ № 1 (:8001)
    +7 916 000-00-07  elena.morozova@example.ru   Demo-Department-2026  education department (:8001)
    +7 916 000-00-08  vera.belova@example.ru      Demo-Nurse-2026       health worker of СОШ № 1 (:8001)
  Service-centre operator: +7 916 000-00-09 / Demo-Operator-2026  → http://{host}:8000/operator/
  Registries for testers: http://{host}:8002/registries/sfr (also mvd, zags, post)

  Press Ctrl-C to stop.
"""


def flask_command() -> str:
    return os.path.join(os.path.dirname(sys.executable), "flask")


def run_region_2(args: list[str]) -> int:
    """``flask --app diary_service ARGS…`` as the second region's diary."""
    env = {**os.environ, **region_2_env()}
    return subprocess.call([flask_command(), "--app", "diary_service", *args], env=env)  # noqa: S603


def run_stack() -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    flask = flask_command()
    children: list[tuple[str, subprocess.Popen]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, app, _port, args, extra in services(region_2_env()):
        children.append(
            (name, subprocess.Popen([flask, "--app", app, *args], env={**env, **extra}))  # noqa: S603
        )
    print(BANNER.format(host=HOST), flush=True)
    code = 0
    while not stopping:
        for name, proc in children:
            if proc.poll() is not None:
                print(
                    f"{name} stopped (exit {proc.returncode}); stopping the stack", file=sys.stderr
                )
                code = proc.returncode or 1
                stopping = True
        time.sleep(0.5)
    for _name, proc in children:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 10
    for _name, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    print("stack stopped", flush=True)
    return code


def main(argv: list[str]) -> int:
    if argv[:1] == ["region2"]:
        return run_region_2(argv[1:])
    if argv:
        print("usage: python -m shared.devstack [region2 FLASK-ARGS…]", file=sys.stderr)
        return 2
    return run_stack()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
