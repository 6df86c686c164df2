"""One Celery setup for both apps.

With ``REDIS_URL`` configured, jobs go to Redis and a worker runs them
(``celery -A portal.worker worker``). Without it (the embedded default) Celery runs
each job in the calling process as soon as it is queued, so nothing else has to run.
Every task executes inside the Flask app context of the app that configured Celery.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask, current_app


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    # Not the process-wide default: each Flask app keeps its own Celery and tasks, so
    # two apps in one process (tests, the dev stack) never run each other's jobs.
    celery = Celery(app.import_name, task_cls=FlaskTask, set_as_current=False)
    broker = app.config.get("REDIS_URL") or None
    celery.conf.update(
        broker_url=broker or "memory://",
        result_backend=None,
        task_ignore_result=True,
        task_always_eager=broker is None,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_default_queue=app.config.get("JOB_QUEUE", app.import_name),
        timezone="UTC",
    )
    app.extensions["celery"] = celery
    return celery


def enqueue(name: str, *args: object) -> None:
    """Queue the task ``name`` of the current app (run at once in the embedded default)."""
    current_app.extensions["celery"].tasks[name].delay(*args)
