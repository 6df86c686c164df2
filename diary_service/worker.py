"""Celery entry point for the diary's jobs (sending notifications):
``celery -A diary_service.worker worker`` and, exactly once per region, ``… beat``.

Celery looks for an attribute named ``app`` first, so the Flask app goes by another name.
"""

from diary_service import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
