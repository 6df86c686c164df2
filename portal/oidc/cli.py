"""``flask --app portal oidc-client …``: register and manage relying parties."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from portal.oidc import services
from portal.oidc.keys import rotate_keys_command
from shared.errors import DomainError

client_cli = AppGroup("oidc-client", help="OpenID Connect clients (relying parties).")


def _describe(client) -> dict:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "scope": client.scope,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "disabled": client.disabled_at is not None,
    }


@client_cli.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--backchannel-logout-uri")
@click.option("--scope", "scopes", multiple=True, help="Repeat, or give one space-separated list.")
@click.option(
    "--auth-method",
    type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt"]),
    default="client_secret_basic",
    show_default=True,
)
@click.option("--public", is_flag=True, help="A public client (no secret; PKCE only).")
@click.option("--client-id", help="Choose the client id (letters, digits, - _ . ~).")
@click.option(
    "--id-token-alg", type=click.Choice(["RS256", "ES256"]), default="RS256", show_default=True
)
@click.option(
    "--jwks", "jwks_file", type=click.File(), help="The client's public JWKS (private_key_jwt)."
)
def create_command(
    name,
    redirect_uris,
    post_logout_redirect_uris,
    backchannel_logout_uri,
    scopes,
    auth_method,
    public,
    client_id,
    id_token_alg,
    jwks_file,
):
    """Register a client and print JSON with its client_id and client_secret."""
    scope_list = [s for item in scopes for s in item.split()] or None
    try:
        created = services.create_client(
            name=name,
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris),
            backchannel_logout_uri=backchannel_logout_uri,
            scopes=scope_list,
            auth_method="none" if public else auth_method,
            client_id=client_id,
            id_token_alg=id_token_alg,
            jwks=json.load(jwks_file) if jwks_file else None,
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(
        json.dumps(
            {**_describe(created.client), "client_secret": created.secret}, ensure_ascii=False
        )
    )


@client_cli.command("list")
def list_command():
    """Print every client as JSON (secrets are never shown again)."""
    click.echo(
        json.dumps([_describe(c) for c in services.list_clients()], ensure_ascii=False, indent=2)
    )


@client_cli.command("disable")
@click.argument("client_id")
def disable_command(client_id):
    """Stop a client from signing anyone in and revoke its tokens."""
    try:
        client = services.disable_client(client_id)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(json.dumps(_describe(client), ensure_ascii=False))


@client_cli.command("rotate-secret")
@click.argument("client_id")
def rotate_secret_command(client_id):
    """Issue a new client secret (the old one stops working at once)."""
    try:
        secret = services.rotate_secret(client_id)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))


__all__ = ["client_cli", "rotate_keys_command"]
