"""Alembic environment: shared by every app (see shared/alembic_env.py)."""

from shared.alembic_env import run

run()
