"""Marks and attendance by school year: the ``school_year`` column everywhere, and on
PostgreSQL the tables partitioned by it (one partition a year + a DEFAULT one).

PostgreSQL: a partitioned table is made beside each old one, with a partition for every
school year the lessons hold, the current and the next, and the default; the rows move
by one INSERT … SELECT that takes the year from the lesson's date; the old table is
dropped and the new one takes its name, its id sequence, then its primary key
``(id, school_year)``, indexes and foreign keys (``previous_id`` with ``school_year``:
a referenced key must include the partition key). The rule for the year is
``diary_service/models/partitions.py``'s ``school_year_of``, written out here in SQL
(a migration never imports the app). SQLite: the column only, filled the same way.

Revision ID: c6e8a0b2d4f1
Revises: a3c5e7f9b1d4
Create Date: 2026-12-08 00:10:00
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "c6e8a0b2d4f1"
down_revision = "a3c5e7f9b1d4"
branch_labels = None
depends_on = None

TABLES = ("mark", "attendance")
# The school year of a lesson's date: August to December start it, January to July
# belong to the one that started the year before (models/partitions.py).
YEAR_OF = (
    "CAST(CASE WHEN EXTRACT(MONTH FROM {d}) >= 8 THEN EXTRACT(YEAR FROM {d}) "
    "ELSE EXTRACT(YEAR FROM {d}) - 1 END AS SMALLINT)"
)
INDEXES = {
    "ix_{t}_student_current": "student_id, is_current",
    "ix_{t}_lesson_current": "lesson_id, is_current",
    "ix_{t}_previous_id": "previous_id",
}


def _school_year(today: date) -> int:
    return today.year if today.month >= 8 else today.year - 1


def _foreign_keys(t: str) -> list[str]:
    return [
        f"ALTER TABLE {t} ADD CONSTRAINT fk_{t}_author_id_staff_member "
        "FOREIGN KEY (author_id) REFERENCES staff_member (id)",
        f"ALTER TABLE {t} ADD CONSTRAINT fk_{t}_lesson_id_lesson "
        "FOREIGN KEY (lesson_id) REFERENCES lesson (id) ON DELETE CASCADE",
        f"ALTER TABLE {t} ADD CONSTRAINT fk_{t}_student_id_student "
        "FOREIGN KEY (student_id) REFERENCES student (id) ON DELETE CASCADE",
        f"ALTER TABLE {t} ADD CONSTRAINT fk_{t}_previous_id_{t} "
        f"FOREIGN KEY (previous_id, school_year) REFERENCES {t} (id, school_year)",
    ]


def _partition(t: str) -> None:
    years = {
        row[0]
        for row in op.get_bind().execute(
            sa.text(f"SELECT DISTINCT {YEAR_OF.format(d='on_date')} FROM lesson")  # noqa: S608
        )
    }
    this_year = _school_year(date.today())
    years |= {this_year, this_year + 1}
    op.execute(
        f"CREATE TABLE {t}_by_year (LIKE {t} INCLUDING DEFAULTS, school_year SMALLINT NOT NULL) "
        "PARTITION BY RANGE (school_year)"
    )
    for year in sorted(years):
        op.execute(
            f"CREATE TABLE {t}_y{year} PARTITION OF {t}_by_year "
            f"FOR VALUES FROM ({year}) TO ({year + 1})"
        )
    op.execute(f"CREATE TABLE {t}_default PARTITION OF {t}_by_year DEFAULT")
    op.execute(
        f"INSERT INTO {t}_by_year SELECT x.*, {YEAR_OF.format(d='l.on_date')} "  # noqa: S608
        f"FROM {t} x JOIN lesson l ON l.id = x.lesson_id"
    )
    op.execute(f"ALTER SEQUENCE {t}_id_seq OWNED BY {t}_by_year.id")
    op.execute(f"DROP TABLE {t}")
    op.execute(f"ALTER TABLE {t}_by_year RENAME TO {t}")
    op.execute(f"ALTER TABLE {t} ADD CONSTRAINT pk_{t} PRIMARY KEY (id, school_year)")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name.format(t=t)} ON {t} ({columns})")
    for statement in _foreign_keys(t):
        op.execute(statement)


def _unpartition(t: str) -> None:
    op.execute(f"CREATE TABLE {t}_plain (LIKE {t} INCLUDING DEFAULTS)")
    op.execute(f"ALTER TABLE {t}_plain DROP COLUMN school_year")
    columns = ", ".join(
        row[0]
        for row in op.get_bind().execute(
            sa.text(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
            ),
            {"t": f"{t}_plain"},
        )
    )
    op.execute(f"INSERT INTO {t}_plain ({columns}) SELECT {columns} FROM {t}")  # noqa: S608
    op.execute(f"ALTER SEQUENCE {t}_id_seq OWNED BY {t}_plain.id")
    op.execute(f"DROP TABLE {t}")  # its partitions go with it
    op.execute(f"ALTER TABLE {t}_plain RENAME TO {t}")
    op.execute(f"ALTER TABLE {t} ADD CONSTRAINT pk_{t} PRIMARY KEY (id)")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name.format(t=t)} ON {t} ({columns})")
    for statement in _foreign_keys(t)[:3]:
        op.execute(statement)
    op.execute(
        f"ALTER TABLE {t} ADD CONSTRAINT fk_{t}_previous_id_{t} "
        f"FOREIGN KEY (previous_id) REFERENCES {t} (id)"
    )


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for t in TABLES:
            _partition(t)
        return
    for t in TABLES:
        # A plain ADD COLUMN (SQLite needs a default for NOT NULL): batch mode would copy
        # the table, and with foreign keys on, dropping the old copy checks every row's
        # self-reference against the unindexed new copy (quadratic: minutes for 88 000).
        # The default stays in SQLite's schema; every write sets the year anyway.
        op.add_column(
            t, sa.Column("school_year", sa.SmallInteger(), nullable=False, server_default="0")
        )
        op.execute(
            f"UPDATE {t} SET school_year = (SELECT CASE "  # noqa: S608
            "WHEN CAST(strftime('%m', l.on_date) AS INTEGER) >= 8 "
            "THEN CAST(strftime('%Y', l.on_date) AS INTEGER) "
            "ELSE CAST(strftime('%Y', l.on_date) AS INTEGER) - 1 END "
            f"FROM lesson l WHERE l.id = {t}.lesson_id)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for t in TABLES:
            _unpartition(t)
        return
    for t in TABLES:
        op.execute(f"ALTER TABLE {t} DROP COLUMN school_year")  # SQLite 3.35+, no copy
