"""a child record's data confirmed by the civil registry

Revision ID: e5f7a9b1c3d5
Revises: d4e6f8a0b2c4
Create Date: 2026-12-10 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5f7a9b1c3d5"
down_revision = "d4e6f8a0b2c4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
    # Records whose relation ЗАГС already confirmed for some parent are confirmed since then.
    op.execute(
        "UPDATE child SET confirmed_at = (SELECT MIN(parent_link.relation_verified_at) "
        "FROM parent_link WHERE parent_link.child_id = child.id)"
    )


def downgrade():
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_column("confirmed_at")
