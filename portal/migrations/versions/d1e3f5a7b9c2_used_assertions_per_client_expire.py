"""used client assertions: one per client and jti, kept until they expire

Revision ID: d1e3f5a7b9c2
Revises: 30f6b03e2871
Create Date: 2026-12-10 10:00:00

"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d1e3f5a7b9c2"
down_revision = "30f6b03e2871"
branch_labels = None
depends_on = None

# A jti recorded before this migration had no expiry: keep it an hour, by which time any
# assertion that could still pass the new lifetime check (five minutes) has expired.
CARRIED_OVER = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def upgrade():
    old = sa.table(
        "used_assertion",
        sa.column("jti", sa.String),
        sa.column("client_id", sa.String),
        sa.column("seen_at", sa.DateTime),
    )
    rows = op.get_bind().execute(sa.select(old.c.jti, old.c.client_id, old.c.seen_at)).all()
    op.drop_table("used_assertion")
    new = op.create_table(
        "used_assertion",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_used_assertion")),
    )
    with op.batch_alter_table("used_assertion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_assertion_expires_at"), ["expires_at"], unique=False)
    until = _now() + CARRIED_OVER
    if rows:
        op.bulk_insert(
            new,
            [
                {"client_id": client_id, "jti": jti, "seen_at": seen_at, "expires_at": until}
                for jti, client_id, seen_at in rows
            ],
        )


def downgrade():
    old = sa.table(
        "used_assertion",
        sa.column("jti", sa.String),
        sa.column("client_id", sa.String),
        sa.column("seen_at", sa.DateTime),
    )
    rows = op.get_bind().execute(sa.select(old.c.jti, old.c.client_id, old.c.seen_at)).all()
    with op.batch_alter_table("used_assertion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_assertion_expires_at"))
    op.drop_table("used_assertion")
    table = op.create_table(
        "used_assertion",
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_used_assertion")),
    )
    seen = {}
    for jti, client_id, seen_at in rows:  # jti was unique across clients before
        seen.setdefault(jti, {"jti": jti, "client_id": client_id, "seen_at": seen_at})
    if seen:
        op.bulk_insert(table, list(seen.values()))
