"""The demo seed writes rows as tuples in its own column order
(``diary_service/demo/writer.py``: ``COLUMNS``), not through the models: these lists are
copies of the models' columns and must follow them when a model changes."""

import pytest

import diary_service.models  # noqa: F401  (every room's tables in the metadata)
from diary_service.demo.writer import BULK_TABLES, COLUMNS, NOT_COPIED
from diary_service.extensions import db


@pytest.mark.parametrize("name", list(COLUMNS))
def test_each_copied_column_list_matches_its_model(name):
    table = db.metadata.tables[name]
    listed = COLUMNS[name]
    assert len(set(listed)) == len(listed), "a column is listed twice"
    assert set(listed) <= set(table.c.keys()), "a listed column is not in the model"
    left_out = [column for column in table.c if column.name not in listed]
    # What the seed leaves out it leaves NULL: only optional columns may be left out.
    assert [c.name for c in left_out if not c.nullable] == []


def test_tables_are_written_parents_first():
    order = list(COLUMNS)
    for position, name in enumerate(order):
        for key in db.metadata.tables[name].foreign_keys:
            parent = key.column.table.name
            if parent in COLUMNS and parent != name:
                assert order.index(parent) < position, f"{name} is written before {parent}"


def test_the_bulk_and_not_copied_tables_are_seeded_tables():
    assert set(BULK_TABLES) <= set(COLUMNS)
    assert set(NOT_COPIED) <= set(COLUMNS)
