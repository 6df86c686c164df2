"""Celery entry point for the portal's jobs: ``celery -A portal.worker worker``."""

from portal import create_app

app = create_app()
celery = app.extensions["celery"]
