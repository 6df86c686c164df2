"""service applications: the portal's applications for access to a student's diary,
as the school's administrators take them into work and decide them

Revision ID: f4c6e8a0b2d3
Revises: e7b9d1f3a5c2
Create Date: 2026-12-03 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f4c6e8a0b2d3"
down_revision = "e7b9d1f3a5c2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_id", sa.String(length=36), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("applicant_sub", sa.String(length=64), nullable=False),
        sa.Column("applicant_family_name", sa.String(length=100), nullable=False),
        sa.Column("applicant_given_name", sa.String(length=100), nullable=False),
        sa.Column("applicant_middle_name", sa.String(length=100), nullable=True),
        sa.Column("applicant_snils_index", sa.String(length=64), nullable=False),
        sa.Column("applicant_phone", sa.String(length=20), nullable=True),
        sa.Column("applicant_email", sa.String(length=254), nullable=True),
        sa.Column("child_portal_id", sa.String(length=64), nullable=False),
        sa.Column("child_family_name", sa.String(length=100), nullable=False),
        sa.Column("child_given_name", sa.String(length=100), nullable=False),
        sa.Column("child_middle_name", sa.String(length=100), nullable=True),
        sa.Column("child_birth_date", sa.Date(), nullable=False),
        sa.Column("child_gender", sa.String(length=10), nullable=False),
        sa.Column("child_snils_index", sa.String(length=64), nullable=True),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("refusal_ground", sa.String(length=30), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("guardian_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_application_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_application_student_id_student"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_id"],
            ["staff_member.id"],
            name=op.f("fk_application_taken_by_id_staff_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_member.id"],
            name=op.f("fk_application_decided_by_id_staff_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardian.id"],
            name=op.f("fk_application_guardian_id_guardian"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
        sa.UniqueConstraint("portal_id", name=op.f("uq_application_portal_id")),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index("ix_application_school_status", ["school_id", "status"], unique=False)


def downgrade():
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index("ix_application_school_status")

    op.drop_table("application")
