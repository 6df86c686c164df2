"""undo links of sensitive changes

Revision ID: 73806bb4538a
Revises: d4e6f8a0b2c4
Create Date: 2026-12-10 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "73806bb4538a"
down_revision = "d4e6f8a0b2c4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "undo_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
            name=op.f("fk_undo_link_citizen_id_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_undo_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_undo_link_token_hash")),
    )
    with op.batch_alter_table("undo_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_undo_link_citizen_id"), ["citizen_id"], unique=False)


def downgrade():
    with op.batch_alter_table("undo_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_undo_link_citizen_id"))
    op.drop_table("undo_link")
