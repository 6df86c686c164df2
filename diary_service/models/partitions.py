"""The journal's big tables by academic year.

On PostgreSQL ``mark`` and ``attendance`` are partitioned ``BY RANGE (school_year)``:
one partition a school year (``mark_y2026`` holds 2026/2027) and a DEFAULT partition
(``mark_default``) so that no insert ever fails for a year nobody has opened yet. Their
primary keys are ``(id, school_year)`` (PostgreSQL requires the partition key in every
unique key); ids still come from one sequence, so ``id`` alone stays unique and is the
ORM's identity. A correction names the version it replaces by ``(previous_id,
school_year)``: both versions are of the same lesson, hence of the same year. SQLite,
the embedded default, has the column and no partitions.

``school_year`` is the calendar year in which the academic year starts, taken from the
lesson's date: August to December belong to the year that starts then, January to July
to the one that started the year before. The rule is a pure function of the date, so
SQL (the migration's backfill) and Python (every write) compute the same key.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

# The tables partitioned by school year, on PostgreSQL.
PARTITIONED = ("mark", "attendance")
# The first month of a school year: August's meetings belong to the year they prepare.
FIRST_MONTH = 8


def school_year_of(day: date) -> int:
    """The year the academic year of ``day`` starts in: 2027-03-01 → 2026."""
    return day.year if day.month >= FIRST_MONTH else day.year - 1


def in_years(column: sa.ColumnElement[int], start: date, end: date) -> sa.ColumnElement[bool]:
    """``column`` (a ``school_year``) within the school years of ``start`` to ``end``: a
    condition PostgreSQL prunes partitions by when planning, so a query of dates reads
    only their years' partitions instead of probing every year's indexes."""
    return column.between(school_year_of(start), school_year_of(end))


def partition_name(table: str, year: int) -> str:
    return f"{table}_y{year}"


def default_name(table: str) -> str:
    return f"{table}_default"


def is_partition(name: str) -> bool:
    """Whether a table name is one of the partitions (never a model of its own)."""
    for table in PARTITIONED:
        rest = name.removeprefix(f"{table}_")
        if rest != name and (rest == "default" or (rest[:1] == "y" and rest[1:].isdigit())):
            return True
    return False


def is_partitioned(conn: sa.Connection, table: str) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    ).scalar()
    return kind == "p"


def open_year(conn: sa.Connection, year: int) -> dict[str, int]:
    """Make the partitions of school year ``year`` (idempotent; PostgreSQL only; a no-op
    elsewhere). Rows of that year already in a DEFAULT partition are moved into the new
    one. Returns, per table, how many rows were moved (absent: the partition existed)."""
    if not 1900 < year < 2200:
        raise ValueError(year)
    moved: dict[str, int] = {}
    for table in PARTITIONED:
        if not is_partitioned(conn, table):
            continue
        name = partition_name(table, year)
        if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": name}).scalar() is not None:
            continue
        # The names are this module's constants and an int, never input.
        bounds = f"FOR VALUES FROM ({year}) TO ({year + 1})"
        # No insert may reach the default partition between the count and the new
        # partition (journals wait for the lock; pages do not).
        conn.execute(sa.text(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE'))
        stray = conn.execute(
            sa.text(f'SELECT count(*) FROM "{default_name(table)}" WHERE school_year = :y'),  # noqa: S608
            {"y": year},
        ).scalar_one()
        if not stray:
            conn.execute(sa.text(f'CREATE TABLE "{name}" PARTITION OF "{table}" {bounds}'))
        else:
            # PostgreSQL refuses a partition while the default holds rows of its range:
            # take them out into the new table, then attach it (which builds its indexes
            # and checks its keys).
            conn.execute(sa.text(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS)'))
            conn.execute(
                sa.text(
                    f'WITH gone AS (DELETE FROM "{default_name(table)}" '  # noqa: S608
                    f"WHERE school_year = :y RETURNING *) "
                    f'INSERT INTO "{name}" SELECT * FROM gone'
                ),
                {"y": year},
            )
            conn.execute(sa.text(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" {bounds}'))
        moved[table] = stray
    return moved


def partitions_of(conn: sa.Connection, table: str) -> list[tuple[str, str]]:
    """The partitions of ``table`` with their bounds, in name order (PostgreSQL)."""
    if not is_partitioned(conn, table):
        return []
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass) ORDER BY c.relname"
        ),
        {"t": table},
    ).all()
    return [(name, bound) for name, bound in rows]


# --- what Alembic's comparison leaves out ----------------------------------------------


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """The partitions are PostgreSQL's own tables, never models: autogenerate must not
    propose to drop them."""
    return not (type_ == "table" and name is not None and is_partition(name))


def include_object(obj, _name, type_: str, _reflected: bool, _compare_to) -> bool:
    """The key from ``previous_id`` to the replaced version is ``(previous_id,
    school_year)`` on partitioned PostgreSQL (with a clone per partition) and
    ``previous_id`` on SQLite; the migration makes each, so it is not compared."""
    return not (
        type_ == "foreign_key_constraint"
        and obj.table.name in PARTITIONED
        and "previous_id" in obj.column_keys
    )
