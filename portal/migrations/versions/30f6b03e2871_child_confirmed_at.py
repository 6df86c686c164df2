"""a child record's data confirmed by the civil registry

Revision ID: 30f6b03e2871
Revises: 73806bb4538a
Create Date: 2026-12-10 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "30f6b03e2871"
down_revision = "73806bb4538a"
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
