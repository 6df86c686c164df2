"""federation outbox

Revision ID: d2a4c6e8f0b1
Revises: 59e1793a3240
Create Date: 2026-12-03 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d2a4c6e8f0b1"
down_revision = "59e1793a3240"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "portal_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("gave_up_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_message")),
        sa.UniqueConstraint("event", "target", "key", name=op.f("uq_portal_message_event")),
    )
    with op.batch_alter_table("portal_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_message_next_attempt_at"), ["next_attempt_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("portal_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_message_next_attempt_at"))
    op.drop_table("portal_message")
