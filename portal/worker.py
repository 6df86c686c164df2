"""Celery entry point for the portal's jobs: ``celery -A portal.worker worker``.

Celery looks for an attribute named ``app`` first, so the Flask app goes by another name.
"""

from portal import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
