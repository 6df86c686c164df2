"""``flask --app diary_service prune``: the append-only tables kept to their retention.

What grows without a natural end, and what is deleted here (days from config/diary.toml,
``DIARY_``-prefixed variables override them):

- ``student_access``, the "who looked at my child's data" log: rows older than
  ``RETENTION_ACCESS_LOG_DAYS`` (two school years by default: a parent can always see
  who looked this year and last; personal data is kept no longer than its purpose,
  152-FZ art. 5 part 7);
- ``notification``, the e-mail and SMS outbox: rows sent more than
  ``RETENTION_NOTIFICATIONS_DAYS`` ago, and unsent ones created that long ago (the
  sender gave up on them long before);
- ``portal_message``, the outbox to the portal: rows delivered or given up more than
  ``RETENTION_OUTBOX_DAYS`` ago;
- ``diary_session``: sessions expired (idle or absolute timeout) — a request would
  refuse them anyway, only a row is left;
- ``portal_session``: the portal sessions people signed in from, older than the
  absolute session timeout (no diary session can still belong to them) plus a day.

Each table is pruned in batches of ``--batch`` rows, one short transaction each
(``DELETE … WHERE id IN (SELECT id … LIMIT n)``), so a first prune of a year's log does
not hold locks for minutes or grow the WAL in one go. Safe to run while the diary
serves, and twice at once (a row deleted by the other run is simply not counted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from diary_service.extensions import db
from diary_service.models import diary_session
from diary_service.models.auth import PortalSession
from diary_service.models.family import StudentAccess
from diary_service.models.federation import PortalMessage
from diary_service.models.messages import Notification
from shared.sessions import utcnow


@dataclass(frozen=True)
class Rule:
    table: str
    key: Any  # the column batches are chosen by
    expired: Callable[[datetime], Any]  # now → the rows' condition


def rules(config: Any) -> list[Rule]:
    def days(name: str) -> timedelta:
        return timedelta(days=int(config[name]))

    absolute = timedelta(seconds=int(config["SESSION_ABSOLUTE_TIMEOUT"])) + timedelta(days=1)
    sessions = current_app.session_interface
    return [
        Rule(
            "student_access",
            StudentAccess.id,
            lambda now: StudentAccess.at < now - days("RETENTION_ACCESS_LOG_DAYS"),
        ),
        Rule(
            "notification",
            Notification.id,
            lambda now: sa.or_(
                Notification.sent_at < now - days("RETENTION_NOTIFICATIONS_DAYS"),
                sa.and_(
                    Notification.sent_at.is_(None),
                    Notification.created_at < now - days("RETENTION_NOTIFICATIONS_DAYS"),
                ),
            ),
        ),
        Rule(
            "portal_message",
            PortalMessage.id,
            lambda now: (
                sa.func.coalesce(PortalMessage.delivered_at, PortalMessage.gave_up_at)
                < now - days("RETENTION_OUTBOX_DAYS")
            ),
        ),
        Rule(
            "diary_session",
            diary_session.c.id_hash,
            lambda now: sessions.expired_clause(current_app, now),
        ),
        Rule(
            "portal_session",
            PortalSession.id,
            lambda now: PortalSession.created_at < now - absolute,
        ),
    ]


def prune_table(rule: Rule, now: datetime, batch: int, dry_run: bool = False) -> int:
    """Delete ``rule``'s expired rows, ``batch`` at a time, each batch committed; the
    number deleted (``dry_run``: the number that would be)."""
    table = rule.key.table
    if dry_run:
        count = db.session.execute(
            sa.select(sa.func.count()).select_from(table).where(rule.expired(now))
        ).scalar_one()
        db.session.rollback()
        return int(count)
    deleted = 0
    while True:
        chosen = sa.select(rule.key).where(rule.expired(now)).limit(batch).scalar_subquery()
        result = db.session.execute(sa.delete(table).where(rule.key.in_(chosen)))
        db.session.commit()
        deleted += max(result.rowcount or 0, 0)
        if (result.rowcount or 0) < batch:
            return deleted


def prune(now: datetime | None = None, batch: int = 5000, dry_run: bool = False) -> dict[str, int]:
    """Every table's expired rows; the count per table."""
    now = now or utcnow()
    return {
        rule.table: prune_table(rule, now, batch, dry_run) for rule in rules(current_app.config)
    }


@click.command("prune")
@click.option("--batch", type=click.IntRange(1, 100_000), default=5000, show_default=True)
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@with_appcontext
def prune_command(batch: int, dry_run: bool) -> None:
    """Delete what is past its retention from the append-only tables, in batches."""
    started = time.perf_counter()
    counts = prune(batch=batch, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for table, count in counts.items():
        click.echo(f"{table}: {verb} {count}")
    click.echo(f"in {time.perf_counter() - started:.1f} s")
