"""bind encrypted personal data to its row

Every encrypted value was bound (AES-GCM associated data) to its column only, so two
citizens' SNILS ciphertexts could be swapped in the database undetected. From here on a
value is bound to ``<table>.<column>#<primary key>`` and stored as
``v2:<key id>:<body>`` (shared/crypto.py). This migration decrypts each old value
(``<key id>:<body>``, bound to its field name) and encrypts it again at its row, under the
active key; the downgrade does the reverse.

It needs the PII keys, which it takes from the portal's configuration: run it as
``flask --app portal db upgrade`` with the same ``PORTAL_PII_KEYS`` the portal uses (as
the compose stack's ``migrate`` service does). The crypto is written out here rather
than imported, so that later changes to shared/crypto.py cannot change what this
migration reads and writes. A value that does not decrypt stops the migration (nothing
is changed on PostgreSQL, where the migration is one transaction) with its place named.

Revision ID: d4e6f8a0b2c4
Revises: c5d7e9f1a3b6
Create Date: 2026-12-10 10:00:00

"""

import base64
import os

import sqlalchemy as sa
from alembic import context, op
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

# revision identifiers, used by Alembic.
revision = "d4e6f8a0b2c4"
down_revision = "c5d7e9f1a3b6"
branch_labels = None
depends_on = None

BATCH = 500

# (table, column, the field name the old form was bound to: text, or a function of the row)
COLUMNS = [
    ("citizen", "snils_encrypted", "snils"),
    ("citizen", "totp_secret_encrypted", "totp"),
    ("document", "number_encrypted", lambda row: f"document:{row.kind}"),
    ("child", "snils_encrypted", "snils"),
    ("child", "certificate_encrypted", "birth_certificate"),
    ("letter_code", "code_encrypted", "letter"),
    ("signing_key", "private_jwk_encrypted", "signing_key"),
    ("federation_message", "sealed", "federation"),
]


class NotConverted(RuntimeError):
    pass


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _keys():
    if context.is_offline_mode():
        raise NotConverted(
            "this migration re-encrypts personal data and cannot be written out as SQL: "
            "run `flask --app portal db upgrade` against the database"
        )
    cipher = current_app.extensions["pii"]
    return cipher.keys, cipher.active


def _open(keys, kid, body, aad, place):
    if kid not in keys:
        raise NotConverted(f"{place} is encrypted under key {kid!r}, not in PORTAL_PII_KEYS")
    raw = _b64decode(body)
    try:
        return AESGCM(keys[kid]).decrypt(raw[:12], raw[12:], aad)
    except InvalidTag as exc:
        raise NotConverted(f"{place} does not decrypt: it was altered or moved") from exc


def _close(keys, active, plaintext, aad):
    nonce = os.urandom(12)
    return _b64encode(nonce + AESGCM(keys[active]).encrypt(nonce, plaintext, aad))


def _row_aad(table, column, row_id):
    return f"{table}.{column}#{row_id}".encode()


def _to_row_bound(keys, active, table, column, field, row, stored):
    parts = stored.split(":")
    if len(parts) == 3 and parts[0] == "v2":
        return None  # already converted
    if len(parts) != 2:
        raise NotConverted(f"{table}.{column} of row {row.id} holds no encrypted value")
    name = field(row) if callable(field) else field
    place = f"{table}.{column} of row {row.id}"
    plaintext = _open(keys, parts[0], parts[1], name.encode(), place)
    aad = _row_aad(table, column, row.id)
    return f"v2:{active}:{_close(keys, active, plaintext, aad)}"


def _to_column_bound(keys, active, table, column, field, row, stored):
    parts = stored.split(":")
    if len(parts) != 3:
        return None  # already in the old form
    name = field(row) if callable(field) else field
    place = f"{table}.{column} of row {row.id}"
    plaintext = _open(keys, parts[1], parts[2], _row_aad(table, column, row.id), place)
    return f"{active}:{_close(keys, active, plaintext, name.encode())}"


def _convert(transform):
    keys, active = _keys()
    conn = op.get_bind()
    for table_name, column, field in COLUMNS:
        names = ["id", column] + (["kind"] if table_name == "document" else [])
        table = sa.table(table_name, *(sa.column(name) for name in names))
        value = table.c[column]
        last_id = 0
        while True:
            rows = conn.execute(
                sa.select(*table.c)
                .where(table.c.id > last_id, value.is_not(None), value != "")
                .order_by(table.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            updates = []
            for row in rows:
                new = transform(keys, active, table_name, column, field, row, row[1])
                if new is not None:
                    updates.append({"row_id": row.id, "new_value": new})
            if updates:
                conn.execute(
                    sa.update(table)
                    .where(table.c.id == sa.bindparam("row_id"))
                    .values({column: sa.bindparam("new_value")}),
                    updates,
                )
            last_id = rows[-1].id


def upgrade():
    _convert(_to_row_bound)


def downgrade():
    _convert(_to_column_bound)
