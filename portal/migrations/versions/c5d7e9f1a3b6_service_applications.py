"""service applications

Revision ID: c5d7e9f1a3b6
Revises: b8e2d4f6a1c3
Create Date: 2026-12-03 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c5d7e9f1a3b6"
down_revision = "b8e2d4f6a1c3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=40), nullable=False),
        sa.Column("region_name", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("school_name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_service_application_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
            name=op.f("fk_service_application_citizen_id_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_application")),
        sa.UniqueConstraint("public_id", name=op.f("uq_service_application_public_id")),
    )
    with op.batch_alter_table("service_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_application_child_id"), ["child_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_application_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_application_status"), ["status"], unique=False)
        # One open application per parent, child and school (the model's partial index).
        batch_op.create_index(
            "ix_service_application_open",
            ["citizen_id", "child_id", "region_code", "school_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('sent', 'received', 'in_progress')"),
            postgresql_where=sa.text("status IN ('sent', 'received', 'in_progress')"),
        )

    op.create_table(
        "application_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["service_application.id"],
            name=op.f("fk_application_event_application_id_service_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_event")),
    )
    with op.batch_alter_table("application_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_event_application_id"), ["application_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("application_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_event_application_id"))
    op.drop_table("application_event")
    with op.batch_alter_table("service_application", schema=None) as batch_op:
        batch_op.drop_index("ix_service_application_open")
        batch_op.drop_index(batch_op.f("ix_service_application_status"))
        batch_op.drop_index(batch_op.f("ix_service_application_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_service_application_child_id"))
    op.drop_table("service_application")
