"""``flask --app portal operator create``: make a citizen a service-centre operator."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.identity.cli import citizen_for_role
from portal.identity.models import Operator

operator_cli = AppGroup("operator", help="Service-centre operators.")


@operator_cli.command("create")
@click.option("--phone", required=True, help="The operator's mobile phone (their sign-in).")
@click.option("--centre", required=True, help='Service centre, e.g. "МФЦ Пресненский".')
@click.option("--password", help="Needed only when the citizen does not exist yet.")
@click.option("--name", "full_name", default="Операторов Оператор", show_default=True)
def create_operator_command(phone, centre, password, full_name):
    """Grant the operator role to the citizen with PHONE (creating the citizen if needed)."""
    citizen = citizen_for_role(phone, password, full_name)
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
