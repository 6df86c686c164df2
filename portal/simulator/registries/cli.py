"""``flask --app portal.simulator population generate [--size N] [--seed S] [--reset]``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError, ProgrammingError

from portal.simulator.registries.lookup import count_people
from portal.simulator.registries.population import generate_population

NOT_MIGRATED = (
    "the simulator's database is not migrated: "
    "flask --app portal.simulator db upgrade -d portal/simulator/migrations"
)

population_cli = AppGroup("population", help="The registries' reference population.")


@population_cli.command("generate")
@click.option(
    "--size", type=click.IntRange(0, 100_000), help="People to generate (POPULATION_SIZE)."
)
@click.option("--seed", type=int, help="Random seed (POPULATION_SEED); same seed, same people.")
@click.option("--reset", is_flag=True, help="Replace the existing population.")
def generate_command(size: int | None, seed: int | None, reset: bool) -> None:
    """Generate the population (with the demo citizens' records) unless one exists."""
    config = current_app.config
    try:
        created = generate_population(
            config["POPULATION_SIZE"] if size is None else size,
            config["POPULATION_SEED"] if seed is None else seed,
            reset=reset,
        )
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(NOT_MIGRATED) from exc
    if created:
        click.echo(f"population: {created} people generated")
    else:
        click.echo(f"population: {count_people()} people already there (--reset replaces them)")
