"""trusted persons

Revision ID: b8e2d4f6a1c3
Revises: a3f1c9e2b7d4
Create Date: 2026-12-03 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b8e2d4f6a1c3"
down_revision = "a3f1c9e2b7d4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "trusted_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("granter_id", sa.Integer(), nullable=False),
        sa.Column("grantee_id", sa.Integer(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("declined_at", sa.DateTime(), nullable=True),
        sa.Column("opens_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=16), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_trusted_grant_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granter_id"],
            ["citizen.id"],
            name=op.f("fk_trusted_grant_granter_id_citizen"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grantee_id"],
            ["citizen.id"],
            name=op.f("fk_trusted_grant_grantee_id_citizen"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["citizen.id"],
            name=op.f("fk_trusted_grant_revoked_by_id_citizen"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_grant")),
        sa.UniqueConstraint("public_id", name=op.f("uq_trusted_grant_public_id")),
    )
    with op.batch_alter_table("trusted_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trusted_grant_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_trusted_grant_granter_id"), ["granter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_trusted_grant_grantee_id"), ["grantee_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("trusted_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trusted_grant_grantee_id"))
        batch_op.drop_index(batch_op.f("ix_trusted_grant_granter_id"))
        batch_op.drop_index(batch_op.f("ix_trusted_grant_child_id"))

    op.drop_table("trusted_grant")
