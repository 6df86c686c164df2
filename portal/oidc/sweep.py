"""The OpenID Provider's periodic upkeep, one sweep (Celery beat every ``SWEEP_INTERVAL``
seconds in production; ``flask --app portal oidc sweep --loop 30`` under ``make run``):

- portal sessions that timed out are ended like a sign-out, so their clients get
  back-channel logout even when the citizen never comes back
  (``portal.identity.expiry``);
- the ``jti`` of expired client assertions are forgotten (``client_auth``);
- the signing keys move on: the scheduled rotation, and retired keys past their
  publication window deleted (``keys``).

Every step is safe when two sweeps run at once.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import click
from celery import Celery
from flask.cli import AppGroup

from portal.identity.expiry import end_expired_sessions
from portal.oidc.client_auth import prune_used_assertions
from portal.oidc.keys import prune_keys, rotate_due_keys
from shared.sessions import utcnow

SWEEP = "portal.oidc_sweep"
SWEEP_INTERVAL = 30.0


@dataclass
class Swept:
    sessions_ended: int
    assertions_forgotten: int
    keys_rotated: bool
    keys_removed: int


def sweep() -> dict:
    """One pass of every step; what it did."""
    now = utcnow()
    return asdict(
        Swept(
            sessions_ended=end_expired_sessions(now),
            assertions_forgotten=prune_used_assertions(now),
            keys_rotated=rotate_due_keys(now) is not None,
            keys_removed=prune_keys(now),
        )
    )


def register_tasks(celery: Celery) -> None:
    celery.task(name=SWEEP)(sweep)
    celery.conf.beat_schedule = {
        **celery.conf.beat_schedule,
        "oidc-sweep": {"task": SWEEP, "schedule": SWEEP_INTERVAL},
    }


oidc_cli = AppGroup("oidc", help="The OpenID Provider's upkeep.")


@oidc_cli.command("sweep")
@click.option(
    "--loop", "interval", type=float, default=0, help="Repeat every N seconds until stopped."
)
def sweep_command(interval: float) -> None:
    """End timed-out sessions (with back-channel logout), forget expired assertion ids,
    rotate and remove signing keys when due (Celery beat does this in production)."""
    while True:
        done = sweep()
        if any(done.values()) or not interval:
            click.echo(" ".join(f"{name}={value}" for name, value in done.items()))
        if not interval:
            return
        time.sleep(interval)
