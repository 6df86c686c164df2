"""Commands: ``flask --app portal citizen create`` and ``flask --app portal seed``."""

from __future__ import annotations

import json

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.identity import services
from portal.identity.models import Citizen
from shared.errors import DomainError
from shared.validators import normalize_phone

citizen_cli = AppGroup("citizen", help="Manage citizen accounts.")


def _split_name(full: str) -> tuple[str, str, str | None]:
    parts = full.split()
    if len(parts) < 2:
        raise click.BadParameter("give at least a surname and a name", param_hint="--name")
    return parts[0], parts[1], " ".join(parts[2:]) or None


@citizen_cli.command("create")
@click.option("--phone", help="Mobile phone, e.g. +79161234567.")
@click.option("--email", help="E-mail address.")
@click.option("--password", required=True, help="The password (the policy applies).")
@click.option(
    "--name", "full_name", default="Тестов Тест", show_default=True, help='"Фамилия Имя Отчество".'
)
@click.option("--snils", help="SNILS, e.g. 112-233-445 95.")
def create_citizen_command(phone, email, password, full_name, snils):
    """Create a citizen with confirmed contacts and print JSON with its id."""
    surname, given_name, patronymic = _split_name(full_name)
    try:
        citizen = services.create_citizen(
            surname=surname,
            given_name=given_name,
            patronymic=patronymic,
            phone=phone,
            email=email,
            password=password,
            snils=snils,
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(
        json.dumps(
            {
                "id": citizen.public_id,
                "phone": citizen.phone,
                "email": citizen.email,
                "level": citizen.level,
            }
        )
    )


def citizen_for_role(phone: str, password: str | None, full_name: str) -> Citizen:
    """The citizen a role command (operator, administrator) is about: found by phone, or
    created with ``password`` when there is none yet. Errors are click errors."""
    try:
        normalised = normalize_phone(phone)
    except ValueError as exc:
        raise click.BadParameter("not a mobile number", param_hint="--phone") from exc
    citizen = db.session.execute(
        sa.select(Citizen).where(Citizen.phone == normalised)
    ).scalar_one_or_none()
    if citizen is not None:
        return citizen
    if not password:
        raise click.UsageError("no citizen with this phone: give --password to create one")
    surname, given_name, patronymic = _split_name(
        full_name if len(full_name.split()) > 1 else f"{full_name} {full_name}"
    )
    try:
        return services.create_citizen(
            surname=surname,
            given_name=given_name,
            patronymic=patronymic,
            phone=normalised,
            password=password,
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
