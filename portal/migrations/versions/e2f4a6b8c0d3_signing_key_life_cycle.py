"""signing keys: a next key per algorithm, published before it signs

Revision ID: e2f4a6b8c0d3
Revises: d1e3f5a7b9c2
Create Date: 2026-12-10 11:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e2f4a6b8c0d3"
down_revision = "d1e3f5a7b9c2"
branch_labels = None
depends_on = None

NOT_RETIRED = "retired_at IS NULL"
IS_ACTIVE = "activated_at IS NOT NULL AND retired_at IS NULL"
IS_NEXT = "activated_at IS NULL"


def upgrade():
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(), nullable=True))
        batch_op.drop_index(
            "uq_signing_key_active_alg",
            sqlite_where=sa.text(NOT_RETIRED),
            postgresql_where=sa.text(NOT_RETIRED),
        )
    # Every key so far signed from its creation (active or since retired).
    op.execute("UPDATE signing_key SET activated_at = created_at")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.create_index(
            "uq_signing_key_active_alg",
            ["alg"],
            unique=True,
            sqlite_where=sa.text(IS_ACTIVE),
            postgresql_where=sa.text(IS_ACTIVE),
        )
        batch_op.create_index(
            "uq_signing_key_next_alg",
            ["alg"],
            unique=True,
            sqlite_where=sa.text(IS_NEXT),
            postgresql_where=sa.text(IS_NEXT),
        )


def downgrade():
    # Next keys never signed: they go.
    op.execute("DELETE FROM signing_key WHERE activated_at IS NULL")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_signing_key_next_alg",
            sqlite_where=sa.text(IS_NEXT),
            postgresql_where=sa.text(IS_NEXT),
        )
        batch_op.drop_index(
            "uq_signing_key_active_alg",
            sqlite_where=sa.text(IS_ACTIVE),
            postgresql_where=sa.text(IS_ACTIVE),
        )
        batch_op.drop_column("activated_at")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.create_index(
            "uq_signing_key_active_alg",
            ["alg"],
            unique=True,
            sqlite_where=sa.text(NOT_RETIRED),
            postgresql_where=sa.text(NOT_RETIRED),
        )
