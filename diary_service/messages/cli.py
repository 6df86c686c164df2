"""``flask --app diary_service notifications send``: send the notification outbox."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from diary_service.messages import services

notifications_cli = AppGroup("notifications", help="E-mail and SMS notifications.")


@notifications_cli.command("send")
@click.option(
    "--loop", "interval", type=float, default=0, help="Repeat every N seconds until stopped."
)
@click.option("--limit", type=int, default=100, show_default=True, help="At most N per round.")
def send_command(interval: float, limit: int):
    """Send the notifications that are due (Celery beat does this in production)."""
    while True:
        sent = services.send_due_notifications(limit=limit)
        if sent or not interval:
            click.echo(f"sent {sent} notification(s)")
        if not interval:
            return
        time.sleep(interval)
