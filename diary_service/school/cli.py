"""``flask --app diary_service roster ...``: a school's roster from the command line.

``roster import --school ID --kind students|staff|classes FILE`` checks and imports a CSV
file exactly as the school administrator's import page does (all of it or nothing), with a
progress bar; ``roster template --kind KIND`` prints an empty file's header;
``roster add-staff`` adds one staff member, the way to give a new school its first
administrator or the region its education department staff.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext

from diary_service.school import roster, services
from shared.errors import DomainError

roster_cli = AppGroup("roster", help="A school's roster: classes, staff and students.")


@roster_cli.command("import")
@click.option("--school", "school_id", type=int, required=True, help="The school's id.")
@click.option("--kind", type=click.Choice(roster.KINDS), required=True, help="What FILE holds.")
@click.argument("file", type=click.File("rb"))
def import_command(school_id: int, kind: str, file) -> None:
    """Import FILE (CSV, UTF-8, «;» or «,») into the school: every line or none."""
    try:
        services.get_school(school_id)
    except DomainError as exc:
        raise click.ClickException(gettext("There is no school %(id)s.", id=school_id)) from exc
    report = roster.read_csv(kind, file.read())
    try:
        with click.progressbar(
            length=2 * len(report.lines) or 1, label=gettext("Checking and importing")
        ) as bar:
            report = roster.import_lines(school_id, report, progress=bar.update)
    except roster.RosterRejected as rejected:
        for message in rejected.report.file_errors:
            click.echo(str(message), err=True)
        for line in rejected.report.bad_lines:
            for message in line.errors:
                click.echo(
                    gettext("Line %(number)s: %(problem)s", number=line.number, problem=message),
                    err=True,
                )
        raise click.ClickException(rejected.message) from rejected
    click.echo(gettext("Imported: %(count)s.", count=report.written))


@roster_cli.command("template")
@click.option("--kind", type=click.Choice(roster.KINDS), required=True)
def template_command(kind: str) -> None:
    """Print the header row of an import file of KIND."""
    click.echo(roster.template_csv(kind).decode().lstrip("\ufeff"), nl=False)


@roster_cli.command("add-staff")
@click.option("--school", "school_id", type=int, help="The school's id; none: the department.")
@click.option("--family-name", required=True)
@click.option("--given-name", required=True)
@click.option("--middle-name", default="")
@click.option("--snils", prompt=True, hide_input=True, help="Asked for when not given.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice((*services.SCHOOL_ROLES, "department")),
    required=True,
)
@click.option("--position", default="")
def add_staff_command(school_id, family_name, given_name, middle_name, snils, roles, position):
    """Add a staff member to a school (or, without --school, to the education department)."""
    try:
        member = services.add_staff(
            school_id, family_name, given_name, middle_name, snils, roles, position
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(gettext("Staff member %(id)s added.", id=member.id))
