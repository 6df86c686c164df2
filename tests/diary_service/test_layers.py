"""The diary's rooms stand in layers, lowest first, and imports only point down:

    extensions, signals, clock (the region's date)
    → models (every room's tables), metrics
    → access (who may see and change what; the access log's writing)
    → auth (who signed in)
    → federation (the portal's events)
    → school (structure, timetable, roster, the mark policy)
    → journal (lessons, marks, attendance, homework)
    → family (links, codes, trusted persons, the access log's page)
      diary (the student's pages: week, marks, chart, attendance, news)
      applications (service applications, which make links)
    → messages, answers, reports
    → api
    → views (the home page), demo (the demo regions), worker (the Celery entry point),
      housekeeping (pruning the append-only tables)

A lower room that must tell a higher one sends a signal (``diary_service/signals.py``):
a sign-in is heard by the family's links. The checker is ``tests/layers.py``; no module
of the diary grows past 500 lines (a room's files stay readable: split along sections)."""

from tests.layers import oversized, problems

LAYERS = [
    {"extensions", "signals", "clock"},
    {"models", "metrics"},
    {"access"},
    {"auth"},
    {"federation"},
    {"school"},
    {"journal"},
    {"family", "diary", "applications"},
    {"messages", "answers", "reports"},
    {"api"},
    {"views", "demo", "worker", "housekeeping"},
]


def test_the_diary_keeps_its_layers():
    assert problems("diary_service", LAYERS, tables=True, entry_points=["worker"]) == []


def test_no_diary_module_is_oversized():
    assert oversized("diary_service", limit=500) == []
