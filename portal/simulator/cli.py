"""``flask --app portal.simulator serve``: the whole simulator in one process."""

from __future__ import annotations

import signal

import click
from flask import current_app
from sqlalchemy.exc import OperationalError, ProgrammingError
from werkzeug.serving import make_server

from portal.simulator.inbox import start_smtp
from portal.simulator.registries.cli import NOT_MIGRATED
from portal.simulator.registries.dispatcher import start_dispatcher
from portal.simulator.registries.population import generate_population


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8002, show_default=True, type=int)
def serve_command(host: str, port: int) -> None:
    """Run the simulator: web console, registries and SMS gateway on HOST:PORT, the SMTP
    relay as configured, and the dispatcher that sends the registries' answers.

    On first start (an empty population) the reference population is generated."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        created = generate_population(app.config["POPULATION_SIZE"], app.config["POPULATION_SEED"])
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(NOT_MIGRATED) from exc
    if created:
        click.echo(f"simulator: reference population generated ({created} people)")
    smtp_host, smtp_port = app.config["SMTP_LISTEN_HOST"], int(app.config["SMTP_LISTEN_PORT"])
    controller = start_smtp(app, smtp_host, smtp_port)
    stop_dispatcher = start_dispatcher(app)
    click.echo(f"simulator: http://{host}:{port}  smtp://{smtp_host}:{smtp_port}")
    server = make_server(host, port, app, threaded=True)
    signal.signal(signal.SIGTERM, _interrupt)  # `make run` stops its children with SIGTERM
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        stop_dispatcher()
        controller.stop()
