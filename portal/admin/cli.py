"""``flask --app portal admin create``: make a citizen a portal administrator."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from portal.admin import services
from portal.identity.cli import citizen_for_role

admin_cli = AppGroup("admin", help="Portal administrators (they manage OpenID Connect clients).")


@admin_cli.command("create")
@click.option("--phone", required=True, help="The administrator's mobile phone (their sign-in).")
@click.option("--password", help="Needed only when the citizen does not exist yet.")
@click.option("--name", "full_name", default="Админов Администратор", show_default=True)
def create_admin_command(phone, password, full_name):
    """Grant the administrator role to the citizen with PHONE (creating the citizen if needed)."""
    citizen = citizen_for_role(phone, password, full_name)
    services.make_administrator(citizen)
    click.echo(
        json.dumps(
            {"id": citizen.public_id, "phone": citizen.phone, "administrator": True},
            ensure_ascii=False,
        )
    )
