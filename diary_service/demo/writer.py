"""Writing the demo rows: tuples buffered per table and written in batches, parents
first, by SQLAlchemy Core (PostgreSQL: COPY), with ids the seed assigns itself. COLUMNS
lists each table's columns in the order rows give them (tests/diary_service/test_demo.py
checks them against the models)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from diary_service.extensions import db

BATCH = 10_000


def columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# Columns of each table in the order rows are given; tables in an order that lets every
# row name rows written before it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "municipality": columns("id name"),
    "subject": columns("id name short_name"),
    "school": columns("id municipality_id name short_name address rating_enabled"),
    "bell": columns("id school_id number starts_at ends_at"),
    "academic_year": columns("id school_id name starts_on ends_on period_kind"),
    "period": columns("id year_id number starts_on ends_on"),
    "holiday": columns("id year_id name starts_on ends_on"),
    "staff_member": columns(
        "id school_id family_name given_name middle_name snils_index person_id position active"
    ),
    "staff_role": columns("id staff_id role"),
    "mark_policy": columns(
        "id school_id version weights average thresholds created_at created_by_id"
    ),
    "school_class": columns("id school_id year_id grade letter class_teacher_id"),
    "student": columns(
        "id school_id family_name given_name middle_name birth_date snils_index person_id"
    ),
    "enrolment": columns("id student_id class_id starts_on ends_on reason end_reason note"),
    "guardian": columns(
        "id student_id person_id snils_index family_name given_name middle_name "
        "kind source reason created_by_id created_at revoked_at revoked_by_id"
    ),
    "teaching_assignment": columns("id class_id subject_id teacher_id"),
    "timetable_entry": columns("id class_id weekday lesson_number subject_id teacher_id room"),
    "timetable_change": columns(
        "id class_id on_date lesson_number kind substitute_id room note created_by_id created_at"
    ),
    "notice": columns(
        "id school_id class_id kind title body starts_on ends_on created_by_id created_at"
    ),
    "parent_meeting": columns("id class_id held_at place agenda created_by_id created_at"),
    "lesson": columns(
        "id class_id subject_id teacher_id on_date lesson_number topic topic_updated_at cancelled"
    ),
    "homework": columns("id lesson_id text due_on updated_by_id updated_at"),
    "mark": columns(
        "id lesson_id student_id value kind weight comment deleted is_current "
        "previous_id reason author_id created_at school_year"
    ),
    "attendance": columns(
        "id lesson_id student_id code deleted is_current previous_id reason author_id "
        "created_at school_year"
    ),
    "final_mark": columns(
        "id student_id subject_id year_id period_id kind value average "
        "suggested policy_id deleted is_current previous_id reason author_id "
        "created_at"
    ),
    "remark": columns("id student_id lesson_id subject_id kind text author_id created_at"),
}


# JSON columns go through SQLAlchemy (it serialises them); everything else of size may
# be COPYed on PostgreSQL.
NOT_COPIED = {"mark_policy"}


# The big tables: on PostgreSQL their foreign keys and plain indexes are dropped for the
# load and made again after it, inside the same transaction (PostgreSQL's manual,
# "Populating a Database": checking each row's keys costs several times the COPY).
BULK_TABLES = (
    "student",
    "enrolment",
    "guardian",
    "lesson",
    "homework",
    "mark",
    "attendance",
    "final_mark",
    "remark",
)


class Writer:
    """Buffers rows per table and writes them in batches, parents first: a row may name
    any row added before it. Assigns ids (the next after the largest stored).

    On PostgreSQL a batch is one ``COPY``; elsewhere it is the table's Core ``insert()``,
    compiled once, run with ``executemany`` over values converted by SQLAlchemy's own
    bind processors (stored exactly as the ORM stores them, without building a
    parameter dictionary per row)."""

    def __init__(self, conn: sa.Connection, batch: int = BATCH) -> None:
        self.conn = conn
        self.batch = batch
        self.tables = {name: db.metadata.tables[name] for name in COLUMNS}
        self.buffers: dict[str, list[tuple]] = {name: [] for name in COLUMNS}
        self.counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        self.copy = conn.dialect.name == "postgresql"
        self.deferred: list[str] = []  # DDL to run once the rows are in (PostgreSQL)
        self.next_id = {
            name: (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
            for name, table in self.tables.items()
        }
        dialect = conn.dialect
        self.statements: dict[str, str] = {}
        self.processors: dict[str, list[tuple[int, Callable[[Any], Any]]]] = {}
        for name, table in self.tables.items():
            columns = COLUMNS[name]
            self.statements[name] = str(
                table.insert().compile(dialect=dialect, column_keys=list(columns))
            )
            processors = []
            for position, column in enumerate(columns):
                processor = table.c[column].type._cached_bind_processor(dialect)
                if processor is not None:
                    processors.append((position, processor))
            self.processors[name] = processors

    def id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def add(self, table: str, row: tuple) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.batch:
            self.flush()

    def row(self, table: str, **values: Any) -> int:
        """Add a row given by column names (the id is assigned); returns the id."""
        values.setdefault("id", self.id(table))
        self.add(table, tuple(values[column] for column in COLUMNS[table]))
        return values["id"]

    def flush(self) -> None:
        for name, rows in self.buffers.items():
            if not rows:
                continue
            if self.copy and name not in NOT_COPIED:
                self._copy(name, rows)
            else:
                self._insert(name, rows)
            self.counts[name] += len(rows)
            rows.clear()

    def _insert(self, name: str, rows: list[tuple]) -> None:
        columns = COLUMNS[name]
        if self.conn.dialect.paramstyle not in ("qmark", "format", "numeric"):
            # Named parameters (psycopg's, for the few rows not copied): plain Core.
            self.conn.execute(
                self.tables[name].insert(), [dict(zip(columns, row, strict=True)) for row in rows]
            )
            return
        processors = self.processors[name]
        if processors:
            converted = []
            for row in rows:
                values = list(row)
                for position, processor in processors:
                    if values[position] is not None:
                        values[position] = processor(values[position])
                converted.append(values)
            rows = converted
        cursor = self.conn.connection.driver_connection.cursor()
        try:
            cursor.executemany(self.statements[name], rows)
        finally:
            cursor.close()

    def _copy(self, name: str, rows: list[tuple]) -> None:
        columns = ", ".join(f'"{column}"' for column in COLUMNS[name])
        raw = self.conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)

    def prepare(self) -> None:
        """On PostgreSQL, set aside the big tables' foreign keys and plain indexes (their
        exact definitions are kept to make them again in ``finish``)."""
        if not self.copy:
            return
        for name in BULK_TABLES:
            keys = self.conn.execute(
                sa.text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' "
                    # A key to a partitioned table has a clone per partition: the parent's.
                    "AND conparentid = 0 ORDER BY conname"
                ),
                {"t": name},
            ).all()
            indexes = self.conn.execute(
                sa.text(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = CAST(:t AS regclass) "
                    "AND NOT x.indisprimary AND NOT x.indisunique ORDER BY i.relname"
                ),
                {"t": name},
            ).all()
            for key, definition in keys:
                self.conn.execute(sa.text(f'ALTER TABLE "{name}" DROP CONSTRAINT "{key}"'))
                self.deferred.append(f'ALTER TABLE "{name}" ADD CONSTRAINT "{key}" {definition}')
            for index, definition in indexes:
                self.conn.execute(sa.text(f'DROP INDEX "{index}"'))
                # A partitioned table's index reads "ON ONLY": made again, it must be
                # made on every partition as well.
                self.deferred.insert(0, definition.replace(" ON ONLY ", " ON ", 1))

    def finish(self) -> None:
        """Write what is left; on PostgreSQL make the indexes and foreign keys again and
        move the id sequences past the ids used."""
        self.flush()
        for statement in self.deferred:
            self.conn.execute(sa.text(statement))
        if self.copy:
            for name in COLUMNS:
                # The names are this module's constants, never input.
                statement = (
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{name}"), false)'
                )
                self.conn.execute(sa.text(statement))
