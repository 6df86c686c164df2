"""Nothing lost (issue 15): after each scenario of the drill (``tests.drill.run``), the
load's ledger of acknowledged writes compared with the databases, the notifications'
outbox with the mail relay, and the registry checks with their answers.

The ledger (``ledger-*.jsonl``, one JSON line per write the apps confirmed, written by
``tests/drill/locustfile.py``) names each write by something the load wrote into it: a
mark by its comment token, an absence by its lesson and student, a message by its token,
an acknowledgement by child and week, a service application by the public id the
portal's page named. An application counts as found when it is in the portal's database
and has reached the diary (the portal's outbox delivered it): the drill waits for that
outbox to empty, then brings a retry still waiting for its time forward and runs
``flask --app portal federation send`` once, as an operator would.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from tests.drill.run import Row
    from tests.drill.stack import Stack

# In the diary's database, each kind of write the load acknowledged.
CHECKS = {
    "mark": "SELECT count(*) FROM mark WHERE comment = %(token)s",
    "absence": (
        "SELECT count(*) FROM attendance WHERE lesson_id = %(lesson_id)s "
        "AND student_id = %(student_id)s AND code = 'н' AND NOT deleted"
    ),
    "message": "SELECT count(*) FROM message WHERE body LIKE '%%' || %(token)s",
    "acknowledgement": (
        "SELECT count(*) FROM acknowledgement WHERE student_id = %(student_id)s "
        "AND week_start = %(week)s"
    ),
    # Reached the diary: the diary keeps it under the portal's id.
    "application": "SELECT count(*) FROM application WHERE portal_id = %(public_id)s",
}
# In the portal's database, the writes made there first.
PORTAL_CHECKS = {
    "application": "SELECT count(*) FROM service_application WHERE public_id = %(public_id)s",
}
UNDELIVERED = (
    "SELECT count(*) FROM federation_message WHERE delivered_at IS NULL AND gave_up_at IS NULL"
)


def settle_portal_outbox(stack: Stack, row: Row, drain_seconds: int) -> None:
    """Let the portal's messages to the diary go out: wait for its beat to deliver them,
    then bring any retry still waiting forward and send once by hand."""
    deadline = time.monotonic() + drain_seconds
    with psycopg.connect(stack.database_url("portal"), autocommit=True) as conn:
        while (waiting := conn.execute(UNDELIVERED).fetchone()[0]) and time.monotonic() < deadline:
            time.sleep(2)
        if waiting:
            conn.execute(
                "UPDATE federation_message SET next_attempt_at = now() AT TIME ZONE 'UTC' "
                "WHERE delivered_at IS NULL AND gave_up_at IS NULL"
            )
            sent = stack.flask("portal", "federation", "send").strip()
            left = conn.execute(UNDELIVERED).fetchone()[0]
            row.notes.append(
                f"portal outbox: {waiting} messages still waiting after {drain_seconds} s; "
                f"`federation send`: {sent}; {left} left"
            )


def check_ledger(stack: Stack, out: Path, row: Row) -> None:
    entries = [
        json.loads(line)
        for path in sorted(out.glob("ledger-*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    row.acknowledged = len(entries)
    row.applications = sum(1 for entry in entries if entry["kind"] == "application")
    lost = []
    with (
        psycopg.connect(stack.database_url("diary")) as diary,
        psycopg.connect(stack.database_url("portal")) as portal,
    ):
        for entry in entries:
            kind = entry["kind"]
            at_portal = (
                kind not in PORTAL_CHECKS
                or portal.execute(PORTAL_CHECKS[kind], entry).fetchone()[0]
            )
            at_diary = diary.execute(CHECKS[kind], entry).fetchone()[0]
            if kind == "application" and at_diary:
                row.applications_delivered += 1
            if at_portal and at_diary:
                row.found += 1
            else:
                lost.append({**entry, "at_portal": bool(at_portal), "at_diary": bool(at_diary)})
    row.lost = len(lost)
    if lost:
        (out / "lost.json").write_text(json.dumps(lost, ensure_ascii=False, indent=1))
        row.notes.append(f"lost writes listed in {out / 'lost.json'}")


def check_notifications(stack: Stack, row: Row, args: argparse.Namespace) -> None:
    """Every notification due is sent, and sent once: the outbox empties within
    ``--drain-seconds``, and the mail relay received as many of the diary's e-mails
    as the outbox says it sent."""
    due_sql = (
        "SELECT count(*) FROM notification WHERE sent_at IS NULL AND send_after <= now() "
        "AND attempts < 5"
    )
    deadline = time.monotonic() + args.drain_seconds
    with psycopg.connect(stack.database_url("diary"), autocommit=True) as conn:
        while True:
            due = conn.execute(due_sql).fetchone()[0]
            if due == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)
        sent = conn.execute(
            "SELECT count(*) FROM notification WHERE sent_at IS NOT NULL AND channel = 'email'"
        ).fetchone()[0]
    time.sleep(2)  # the relay stores what it was handed
    with psycopg.connect(stack.database_url("simulator")) as conn:
        received = conn.execute(
            "SELECT count(*) FROM inbox_message WHERE channel = 'email' "
            "AND sender LIKE '%%diary.localhost%%'"
        ).fetchone()[0]
    row.emails_sent, row.emails_received = sent, received
    row.notes.append(f"notifications: {sent} sent, {received} received, {due} still due")
    if due:
        row.failed.append(f"{due} notifications due and not sent after {args.drain_seconds} s")
    if received > sent:
        row.failed.append(f"{received - sent} notifications sent twice")
    if received < sent:
        row.failed.append(f"{sent - received} notifications marked sent never arrived")


def check_registry_checks(stack: Stack, row: Row, args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.drain_seconds
    with psycopg.connect(stack.database_url("portal"), autocommit=True) as conn:
        while True:
            open_ = conn.execute(
                "SELECT count(*) FROM verification_check WHERE status IN ('queued', 'pending')"
            ).fetchone()[0]
            if open_ == 0 or time.monotonic() > deadline:
                break
            time.sleep(3)
        done = conn.execute(
            "SELECT count(*) FROM verification_check c JOIN citizen z ON z.id = c.citizen_id "
            "WHERE z.email LIKE 'checks%%' AND c.status IN ('approved', 'rejected')"
        ).fetchone()[0]
    row.notes.append(f"registry checks: {done} answered, {open_} still open")
    if open_:
        row.failed.append(f"{open_} registry checks never finished")
