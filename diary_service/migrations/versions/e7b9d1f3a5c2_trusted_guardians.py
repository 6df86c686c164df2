"""trusted guardians

Revision ID: e7b9d1f3a5c2
Revises: d2a4c6e8f0b1
Create Date: 2026-12-03 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e7b9d1f3a5c2"
down_revision = "d2a4c6e8f0b1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("guardian", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grant_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("sections", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("opens_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("valid_until", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_guardian_grant_id"), ["grant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("guardian", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardian_grant_id"))
        batch_op.drop_column("valid_until")
        batch_op.drop_column("opens_at")
        batch_op.drop_column("sections")
        batch_op.drop_column("grant_id")
