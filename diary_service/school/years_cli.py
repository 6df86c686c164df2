"""``flask --app diary_service years ...``: the region's school years in the database.

``years open 2027`` makes the partitions of the school year 2027/2028 of the journal's
big tables (``mark``, ``attendance``) on PostgreSQL, before 1 September: idempotent, and
rows of that year that already landed in the DEFAULT partition move into the new ones.
``years list`` shows the partitions. On SQLite (no partitions) both say so and do
nothing. Each school still creates its own academic year (dates, periods) on its pages.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext

from diary_service.extensions import db
from diary_service.models.partitions import PARTITIONED, open_year, partitions_of

years_cli = AppGroup("years", help="School years: the partitions of marks and attendance.")


@years_cli.command("open")
@click.argument("year", type=click.IntRange(2000, 2100))
def open_command(year: int) -> None:
    """Make the partitions of the school year that starts in YEAR (2027: 2027/2028)."""
    with db.engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            click.echo(gettext("No partitions on this database: nothing to do."))
            return
        moved = open_year(conn, year)
    for table in PARTITIONED:
        if table in moved:
            click.echo(
                gettext(
                    "%(table)s: partition for %(year)s made, %(count)s rows moved into it "
                    "from the default partition.",
                    table=table,
                    year=f"{year}/{year + 1}",
                    count=moved[table],
                )
            )
        else:
            click.echo(
                gettext(
                    "%(table)s: the partition for %(year)s is already there.",
                    table=table,
                    year=f"{year}/{year + 1}",
                )
            )


@years_cli.command("list")
def list_command() -> None:
    """List the partitions of marks and attendance with their bounds."""
    with db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            click.echo(gettext("No partitions on this database: nothing to do."))
            return
        for table in PARTITIONED:
            for name, bound in partitions_of(conn, table):
                click.echo(f"{table}\t{name}\t{bound}")
