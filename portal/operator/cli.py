"""``flask --app portal operator create``: make a citizen a service-centre operator."""

from __future__ import annotations

import json

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.identity import services
from portal.identity.models import Citizen, Operator
from shared.errors import DomainError
from shared.validators import normalize_phone

operator_cli = AppGroup("operator", help="Service-centre operators.")


@operator_cli.command("create")
@click.option("--phone", required=True, help="The operator's mobile phone (their sign-in).")
@click.option("--centre", required=True, help='Service centre, e.g. "МФЦ Пресненский".')
@click.option("--password", help="Needed only when the citizen does not exist yet.")
@click.option("--name", "full_name", default="Операторов Оператор", show_default=True)
def create_operator_command(phone, centre, password, full_name):
    """Grant the operator role to the citizen with PHONE (creating the citizen if needed)."""
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
        try:
            citizen = services.create_citizen(
                surname=parts[0],
                given_name=parts[1] if len(parts) > 1 else parts[0],
                patronymic=" ".join(parts[2:]) or None,
                phone=normalised,
                password=password,
            )
        except DomainError as error:
            raise click.ClickException(error.message) from error
    if citizen.operator is None:
        db.session.add(Operator(citizen_id=citizen.id, service_centre=centre))
    else:
        citizen.operator.service_centre = centre
    db.session.commit()
    click.echo(
        json.dumps(
            {"id": citizen.public_id, "phone": citizen.phone, "operator": centre},
            ensure_ascii=False,
        )
    )
