"""``flask --app portal admin create``: make a citizen a portal administrator."""

from __future__ import annotations

import json

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.admin import services
from portal.extensions import db
from portal.identity import services as identity
from portal.identity.models import Citizen
from shared.errors import DomainError
from shared.validators import normalize_phone

admin_cli = AppGroup("admin", help="Portal administrators (they manage OpenID Connect clients).")


@admin_cli.command("create")
@click.option("--phone", required=True, help="The administrator's mobile phone (their sign-in).")
@click.option("--password", help="Needed only when the citizen does not exist yet.")
@click.option("--name", "full_name", default="Админов Администратор", show_default=True)
def create_admin_command(phone, password, full_name):
    """Grant the administrator role to the citizen with PHONE (creating the citizen if needed)."""
    try:
        normalised = normalize_phone(phone)
    except ValueError as exc:
        raise click.BadParameter("not a mobile number", param_hint="--phone") from exc
    citizen = db.session.execute(
        sa.select(Citizen).where(Citizen.phone == normalised)
    ).scalar_one_or_none()
    if citizen is None:
        if not password:
            raise click.UsageError("no citizen with this phone: give --password to create one")
        parts = full_name.split()
        if not parts:
            raise click.BadParameter("give at least a surname", param_hint="--name")
        try:
            citizen = identity.create_citizen(
                surname=parts[0],
                given_name=parts[1] if len(parts) > 1 else parts[0],
                patronymic=" ".join(parts[2:]) or None,
                phone=normalised,
                password=password,
            )
        except DomainError as error:
            raise click.ClickException(error.message) from error
    services.make_administrator(citizen)
    click.echo(
        json.dumps(
            {"id": citizen.public_id, "phone": citizen.phone, "administrator": True},
            ensure_ascii=False,
        )
    )
