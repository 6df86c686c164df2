"""One Celery setup for both apps.

With ``REDIS_URL`` configured, jobs go to Redis and a worker runs them
(``celery -A portal.worker worker``). Without it (the embedded default) Celery runs
each job in the calling process as soon as it is queued, so nothing else has to run.
Every task executes inside the Flask app context of the app that configured Celery.

A job carries the request id of the request that queued it in its message headers
(``shared.tracing``), and logs one line when it ends (``<app>.job``: task, outcome,
duration), so a worker's lines can be matched with the request's. The worker keeps the
apps' JSON logging: Celery is told not to set up its own.
"""

from __future__ import annotations

import logging
from time import perf_counter

import redis
from celery import Celery, Task
from celery.signals import setup_logging
from flask import Flask, current_app
from kombu.exceptions import OperationalError as BrokerUnreachable

from shared import tracing


def init_celery(app: Flask) -> Celery:
    job_logger = app.logger.getChild("job")

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            request_id = _request_id_of(self.request) or tracing.current_request_id()
            started = perf_counter()
            outcome = "failed"
            label = app.extensions.get("observability")
            with app.app_context(), tracing.bound(request_id, label, self.name):
                try:
                    result = self.run(*args, **kwargs)
                    outcome = "done"
                    return result
                finally:
                    job_logger.log(
                        logging.INFO if outcome == "done" else logging.WARNING,
                        "job %s %s",
                        self.name,
                        outcome,
                        extra={
                            "fields": {
                                "outcome": outcome,
                                "duration_ms": round((perf_counter() - started) * 1000, 2),
                            }
                        },
                    )

        def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, **options):
            request_id = tracing.current_request_id()
            if request_id:
                options["headers"] = {
                    **(options.get("headers") or {}),
                    tracing.JOB_HEADER: request_id,
                }
            return super().apply_async(args, kwargs, task_id, producer, **options)

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


def _request_id_of(request) -> str | None:
    """The request id a job's message carried: a worker puts custom headers among the
    request's fields, eager mode keeps them under ``headers``."""
    value = request.get(tracing.JOB_HEADER) or (request.get("headers") or {}).get(
        tracing.JOB_HEADER
    )
    return value if isinstance(value, str) and tracing.is_valid(value) else None


@setup_logging.connect(weak=False, dispatch_uid="shared.jobs.keep_json_logging")
def _keep_json_logging(loglevel=None, **_kwargs) -> None:
    """A worker keeps the JSON lines the app configured (``shared.logs``); ``--loglevel``
    applies to Celery's own loggers."""
    if loglevel:
        logging.getLogger("celery").setLevel(loglevel)


def enqueue(name: str, *args: object) -> None:
    """Queue the task ``name`` of the current app (run at once in the embedded default)."""
    current_app.extensions["celery"].tasks[name].delay(*args)


def nudge(name: str, *args: object) -> bool:
    """Queue the job that works off an outbox row already committed, whose periodic
    retry (Celery beat) would send it anyway: with the broker unreachable (Redis down)
    that is logged and the row waits for the retry, instead of failing the request that
    has already saved its work (issue 15's drill, redis-stop). False when not queued."""
    try:
        enqueue(name, *args)
    except BrokerUnreachable as error:
        current_app.logger.warning(
            "job %s not queued (%s): its outbox row waits for the periodic retry",
            name,
            type(error).__name__,
        )
        return False
    return True


def queue_name(app: Flask) -> str:
    return app.extensions["celery"].conf.task_default_queue


def redis_client(app: Flask) -> redis.Redis | None:
    """A client of the app's Redis (``REDIS_URL``) with one-second timeouts, for the
    readiness check and the queue depths; None when the app runs without Redis."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client = app.extensions.get("redis")
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        app.extensions["redis"] = client
    return client
