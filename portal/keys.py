"""Re-encryption of personal data under the active key, across every room that stores it.

After adding a key to ``PORTAL_PII_KEYS`` and pointing ``PORTAL_PII_ACTIVE_KEY`` at it,
``flask --app portal pii reencrypt`` rewrites every value still under an older key; the
old key can be removed once it reports nothing left to do. Each value is decrypted and
encrypted again at its own place (table, column, row), so a value that was moved from
another row stops the command with that place named instead of being made valid.
"""

from __future__ import annotations

import json

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.family.models import Child
from portal.federation.models import FederationMessage
from portal.identity.models import Citizen
from portal.oidc.key_models import SigningKey
from portal.proofing.models import Document, LetterCode
from shared.crypto import pii, seal, unseal

# Every encrypted column of the portal: (model, column). The migration that bound values
# to their rows (d4e6f8a0b2c4) names the same columns.
ENCRYPTED: list[tuple[type, str]] = [
    (Citizen, "snils_encrypted"),
    (Citizen, "totp_secret_encrypted"),
    (Document, "number_encrypted"),
    (Child, "snils_encrypted"),
    (Child, "certificate_encrypted"),
    (LetterCode, "code_encrypted"),
    (SigningKey, "private_jwk_encrypted"),
    (FederationMessage, "sealed"),
]


def reencrypt_personal_data(batch: int = 500) -> int:
    """Re-encrypt every value not under the active key; return how many were changed."""
    cipher = pii()
    changed = 0
    for model, column in ENCRYPTED:
        last_id = 0
        while True:
            rows = list(
                db.session.execute(
                    sa.select(model).where(model.id > last_id).order_by(model.id).limit(batch)
                ).scalars()
            )
            if not rows:
                break
            for row in rows:
                stored = getattr(row, column)
                if stored and cipher.needs_reencryption(stored):
                    seal(row, **{column: unseal(row, column)})
                    changed += 1
            last_id = rows[-1].id
            db.session.commit()
    return changed


pii_cli = AppGroup("pii", help="Personal data encryption keys.")


@pii_cli.command("reencrypt")
def reencrypt_command():
    """Re-encrypt stored personal data under PORTAL_PII_ACTIVE_KEY (after adding a new key)."""
    changed = reencrypt_personal_data()
    click.echo(
        json.dumps({"reencrypted": changed, "active_key": current_app.extensions["pii"].active})
    )
