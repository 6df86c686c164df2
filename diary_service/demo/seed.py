"""``flask --app diary_service seed``: a deterministic demo region.

``--scale small`` (what ``make run`` loads) is three schools in two municipalities with a
term of lessons, homework, marks, attendance and the finished quarter's marks;
``--scale region`` is the size of an average Russian region (about 450 schools and
200 000 students, tens of millions of marks by the end of the year) for benchmarks.
The same arguments give the same region: everything comes from one
``random.Random(seed)``, and dates from the academic year containing today.

Both scales are built the same way, without ORM objects: rows are tuples written in
batches by SQLAlchemy Core ``insert()`` (PostgreSQL: ``COPY``), with ids the seed assigns
itself so a mark can name its lesson without reading it back. One transaction: an
interrupted seed leaves nothing behind. Nothing is seeded while the region has schools,
so ``make run`` can call it every time.

There are two demo regions (``--region``, ``REGIONS``), one per diary of ``make run``:
their places, schools and people differ. School 1 of each holds some of the portal's
demo people, matched by the keyed hash of their SNILS as the diary matches anyone at
sign-in (portal/demo.py, portal/simulator/registries/population.py). Region 1
(«Средняя общеобразовательная школа № 1» of its first municipality): Пётр in 6А, his
parents Мария and Сергей as guardians, Ольга (class teacher of 6А, mathematics in 6А
and 9Б), the administrator Николай, the nurse Вера, and Елена of the region's education
department; in 6А too, for the README's walk of issue 6, Ксения Соколова (her SNILS on
record, no guardians: her father's verified child links by itself, her mother by a
code) and Максим Кириллов (no SNILS on record, no guardians: his father applies through
the portal's catalog). Region 2 («Лицей № 1» of г. Заречный): Алиса in 9А with Мария as
her guardian, so one parent has children in two regions. Everyone else is generated and
carries a random 64-hex index that no SNILS hashes to, so no one signing in is ever
matched to them.
"""

from __future__ import annotations

import time
from datetime import date, datetime

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

import diary_service.clock as region_clock
from diary_service.demo.calendar import Calendar
from diary_service.demo.people import REGIONS
from diary_service.demo.plans import SeedReport
from diary_service.demo.region import RegionSeed
from diary_service.demo.writer import Writer
from diary_service.extensions import db
from diary_service.models.partitions import open_year
from diary_service.reports.aggregates import refresh_all

SCALES = ("small", "region")
DEFAULT_SEED = 20261123
DEFAULT_SCHOOLS = {"small": 3, "region": 450}


# --- the portal's demo people ----------------------------------------------------------


# --- the academic year -----------------------------------------------------------------


# --- writing rows ----------------------------------------------------------------------


# --- plans: what the journal needs to know of a school ---------------------------------


# --- the seed --------------------------------------------------------------------------


def school_count() -> int:
    table = db.metadata.tables["school"]
    return db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def seed_region(
    *,
    scale: str,
    key: str,
    schools: int | None = None,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    region: int = 1,
    progress: bool = True,
    full_year: bool = False,
) -> SeedReport | None:
    """Build demo region ``region`` (``REGIONS``) into the diary's database in one
    transaction. Returns what was written, or None (nothing done) when the database
    already has schools."""
    if scale not in SCALES:
        raise ValueError(scale)
    if region not in REGIONS:
        raise ValueError(region)
    if school_count():
        return None
    today = today or region_clock.today()
    if full_year:
        # The whole academic year's lessons and marks, four quarters, as a region holds
        # them in late May (the pages still ask about the real today).
        today = Calendar.of(today).ends
    started = time.perf_counter()
    try:
        # The year's partitions first (PostgreSQL): the seed is how a demo region's year
        # opens, and its rows belong in them rather than in the default partition.
        open_year(db.session.connection(), Calendar.of(today).starts.year)
        writer = Writer(db.session.connection())
        writer.prepare()
        RegionSeed(
            writer,
            scale=scale,
            schools=schools or DEFAULT_SCHOOLS[scale],
            seed=seed,
            today=today,
            key=key,
            region=region,
            progress=progress,
        ).run()
        # The seed writes around the session: fill the reports' figures in its transaction.
        # Planner statistics first, taken inside the transaction (it sees its own rows):
        # without them the tables just loaded look empty, and at a region's size the
        # figures' joins run as nested loops over millions of marks for hours.
        db.session.execute(sa.text("ANALYZE"))
        refresh_all(region_clock.today())
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if scale == "region":
        analyze()
    return SeedReport(scale, dict(writer.counts), time.perf_counter() - started)


def analyze() -> None:
    """Fresh planner statistics after a bulk load (SQLite and PostgreSQL alike), now that
    the rows are committed and every session sees them."""
    with db.engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()


@click.command("seed")
@click.option(
    "--scale",
    type=click.Choice(SCALES),
    default="small",
    show_default=True,
    help="small: 3 schools, what `make run` loads; region: ~450 schools for benchmarks.",
)
@click.option(
    "--schools",
    type=click.IntRange(1, 5000),
    default=None,
    help="How many schools (default: 3 for small, 450 for region).",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed: the same seed gives the same region.",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend today is this day (YYYY-MM-DD): lessons run up to it.",
)
@click.option(
    "--region",
    type=click.IntRange(1, len(REGIONS)),
    default=1,
    show_default=True,
    help="Which demo region: 1 «Демонстрационная область» (Пётр and the demo staff), "
    "2 «Заречная область» (Алиса).",
)
@click.option(
    "--full-year/--to-today",
    default=None,
    help="Lessons and marks for the whole academic year (default for --scale region), "
    "or up to today (default for small).",
)
@with_appcontext
def seed_command(
    scale: str,
    schools: int | None,
    seed_value: int,
    today: datetime | None,
    region: int,
    full_year: bool | None,
) -> None:
    """Load a deterministic demo region: schools, staff, students with Russian names,
    timetables, lessons, homework, marks and attendance (refused in production)."""
    if current_app.config["ENV"] == "production":
        raise click.ClickException("demo data is not loaded in production")
    report = seed_region(
        scale=scale,
        key=current_app.config["BLIND_INDEX_KEY"],
        schools=schools,
        seed=seed_value,
        today=today.date() if today else None,
        region=region,
        full_year=scale == "region" if full_year is None else full_year,
    )
    if report is None:
        click.echo(f"the region already has {school_count()} schools: nothing seeded")
        return
    counts = report.counts
    click.echo(
        f"demo region {region} «{REGIONS[region].name}» seeded (scale {scale}) "
        f"in {report.seconds:.1f} s "
        f"({report.rows:,} rows, {report.rows_per_second:,.0f} rows/s): "
        f"{counts['school']} schools, {counts['school_class']} classes, "
        f"{counts['student']:,} students, {counts['staff_member']:,} staff, "
        f"{counts['lesson']:,} lessons, {counts['homework']:,} homework, "
        f"{counts['mark']:,} marks, {counts['attendance']:,} absences, "
        f"{counts['final_mark']:,} period marks"
    )
