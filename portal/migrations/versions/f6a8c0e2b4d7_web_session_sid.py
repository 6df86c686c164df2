"""web sessions: the OpenID session id in a column of its own

A refresh grant checks that the portal session its tokens were issued in is still alive.
The ``sid`` lived only in the session's JSON, so the check read every session of the
citizen and decoded each; as a column it is one indexed lookup, and the refresh grant's
claim can test it in the same statement.

Revision ID: f6a8c0e2b4d7
Revises: e2f4a6b8c0d3
Create Date: 2026-12-08 00:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f6a8c0e2b4d7"
down_revision = "e2f4a6b8c0d3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sid", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_web_session_sid"), ["sid"], unique=False)
    # Sessions open now keep working: their sid is copied out of their JSON.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE web_session SET sid = data::json ->> 'sid' WHERE data LIKE '%\"sid\"%'")
    else:
        op.execute(
            "UPDATE web_session SET sid = json_extract(data, '$.sid') WHERE data LIKE '%\"sid\"%'"
        )


def downgrade():
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_sid"))
        batch_op.drop_column("sid")
