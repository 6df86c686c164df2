"""Re-encryption of personal data under the active key, across every room that stores it.

After adding a key to ``PORTAL_PII_KEYS`` and pointing ``PORTAL_PII_ACTIVE_KEY`` at it,
``flask --app portal pii reencrypt`` rewrites every value still under an older key; the
old key can be removed once it reports nothing left to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.family.models import Child
from portal.federation.models import SEALED_FIELD, FederationMessage
from portal.identity.models import Citizen
from portal.oidc.key_models import SigningKey
from portal.proofing.models import Document, LetterCode
from shared.crypto import pii

# (model, column, the field its value is bound to: a name or a function of the row)
ENCRYPTED: list[tuple[type, str, str | Callable[[object], str]]] = [
    (Citizen, "snils_encrypted", "snils"),
    (Citizen, "totp_secret_encrypted", "totp"),
    (Document, "number_encrypted", lambda row: f"document:{row.kind}"),
    (Child, "snils_encrypted", "snils"),
    (Child, "certificate_encrypted", "birth_certificate"),
    (LetterCode, "code_encrypted", "letter"),
    (SigningKey, "private_jwk_encrypted", "signing_key"),
    (FederationMessage, "sealed", SEALED_FIELD),
]


def reencrypt_personal_data(batch: int = 500) -> int:
    """Re-encrypt every value not under the active key; return how many were changed."""
    cipher = pii()
    changed = 0
    for model, column, field in ENCRYPTED:
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
                    name = field(row) if callable(field) else field
                    setattr(
                        row, column, cipher.encrypt(cipher.decrypt(stored, field=name), field=name)
                    )
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
