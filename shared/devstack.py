"""``make run``: start the portal, the simulator (dev inboxes) and the diary on 127.0.0.1,
print where they are and who can sign in, and stop them all on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

HOST = "127.0.0.1"
SERVICES = [
    # name, flask app, port (None: no server), extra args
    ("simulator", "portal.simulator", 8002, ["serve", "--host", HOST, "--port", "8002"]),
    (
        "portal",
        "portal",
        8000,
        ["run", "--host", HOST, "--port", "8000", "--no-reload", "--no-debugger"],
    ),
    (
        "diary",
        "diary_service",
        8001,
        ["run", "--host", HOST, "--port", "8001", "--no-reload", "--no-debugger"],
    ),
    # What Celery beat does in production: send registry checks whose registry was down.
    ("checks", "portal", None, ["checks", "resend", "--loop", "5"]),
    # ... and back-channel logouts whose client was down.
    ("logouts", "portal", None, ["logout-deliveries", "resend", "--loop", "5"]),
    # ... and the diary's e-mail and SMS notifications (quiet hours hold some back).
    ("notifications", "diary_service", None, ["notifications", "send", "--loop", "5"]),
]

BANNER = """
  Portal (citizens):        http://{host}:8000
  Diary (region):           http://{host}:8001
  Dev inboxes (SMS/e-mail): http://{host}:8002

  Demo citizens (phone / e-mail / password), and who they are in the demo diary:
    +7 916 000-00-01  maria.ivanova@example.ru    Demo-Parent-2026      parent of Пётр (6А) and Алиса (9Б)
    +7 916 000-00-02  sergey.petrov@example.ru    Demo-Parent-2026      parent of Пётр (6А)
    +7 916 000-00-03  olga.smirnova@example.ru    Demo-Teacher-2026     teacher, class teacher of 6А
    +7 916 000-00-04  —                           Demo-Grandma-2026     passport lost: refused
    +7 916 000-00-05  alisa.ivanova@example.ru    Demo-Student-2026     student of 9Б
    +7 916 000-00-06  nikolay.orlov@example.ru    Demo-Admin-2026       administrator of СОШ № 1
    +7 916 000-00-07  elena.morozova@example.ru   Demo-Department-2026  education department
    +7 916 000-00-08  vera.belova@example.ru      Demo-Nurse-2026       health worker of СОШ № 1
  Service-centre operator: +7 916 000-00-09 / Demo-Operator-2026  → http://{host}:8000/operator/
  Registries for testers: http://{host}:8002/registries/sfr (also mvd, zags, post)

  Press Ctrl-C to stop.
"""


def main() -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    children: list[tuple[str, subprocess.Popen]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, app, _port, args in SERVICES:
        children.append((name, subprocess.Popen([flask, "--app", app, *args], env=env)))  # noqa: S603
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


if __name__ == "__main__":
    sys.exit(main())
