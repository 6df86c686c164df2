"""``flask --app diary_service reports ...``: the maintained figures from the command line.

``reports recompute`` rewrites them from the journal (the backfill after an upgrade or a
bulk load; ``--current`` only the periods running today, the nightly job that moves the
roll's day); ``reports check`` recomputes without writing and lists every difference
from what is stored, exiting with status 1 when there is any (drift means something
wrote the journal around the session, see ``reports/aggregates.py``).
"""

from __future__ import annotations

import time

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from diary_service.extensions import db
from diary_service.models.reports import ClassTally
from diary_service.reports import aggregates, drift

BATCH = 25  # schools per transaction

reports_cli = AppGroup("reports", help="The reports' maintained figures.")


def _schools(school_id: int | None) -> list[int]:
    ids = aggregates.school_ids()
    if school_id is None:
        return ids
    if school_id not in ids:
        raise click.ClickException(f"there is no school {school_id}")
    return [school_id]


@reports_cli.command("recompute")
@click.option("--school", "school_id", type=int, default=None, help="Only this school.")
@click.option("--current", is_flag=True, help="Only the periods running today.")
@click.option("--if-empty", is_flag=True, help="Only when no figures are stored yet.")
def recompute_command(school_id: int | None, current: bool, if_empty: bool) -> None:
    """Rewrite the figures from the journal, a batch of schools per transaction."""
    if if_empty and db.session.execute(sa.select(ClassTally.class_id).limit(1)).first():
        click.echo("the figures are there: nothing recomputed")
        return
    started = time.perf_counter()
    schools = _schools(school_id)
    for index in range(0, len(schools), BATCH):
        aggregates.refresh_schools(schools[index : index + BATCH], current_only=current)
        db.session.commit()
    click.echo(
        f"recomputed the figures of {len(schools)} schools in {time.perf_counter() - started:.1f} s"
    )


@reports_cli.command("check")
@click.option("--school", "school_id", type=int, default=None, help="Only this school.")
@click.option("--limit", type=int, default=20, show_default=True, help="Differences shown.")
def check_command(school_id: int | None, limit: int) -> None:
    """Recompute the figures without writing; exit 1 if any stored row differs."""
    started = time.perf_counter()
    schools = _schools(school_id)
    found = []
    for sid in schools:
        found += drift.check_school(sid)
        db.session.rollback()
    for item in found[:limit]:
        click.echo(str(item))
    if len(found) > limit:
        click.echo(f"… and {len(found) - limit} more")
    seconds = time.perf_counter() - started
    if found:
        click.echo(f"drift: {len(found)} rows differ ({len(schools)} schools, {seconds:.1f} s)")
        raise SystemExit(1)
    click.echo(f"no drift ({len(schools)} schools checked in {seconds:.1f} s)")
