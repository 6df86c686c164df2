"""``flask --app portal checks resend``: send registry checks whose registry was down."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from portal.proofing import checks

checks_cli = AppGroup("checks", help="Registry checks.")


@checks_cli.command("resend")
@click.option(
    "--loop", "interval", type=float, default=0, help="Repeat every N seconds until stopped."
)
def resend_command(interval: float):
    """Send queued checks whose next attempt is due (Celery beat does this in production)."""
    while True:
        sent = checks.resend_due_checks()
        if sent or not interval:
            click.echo(f"sent {sent} queued check(s)")
        if not interval:
            return
        time.sleep(interval)
