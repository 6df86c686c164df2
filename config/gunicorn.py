"""gunicorn settings for the portal and the diary: the Docker image and `make bench` use
this file (`gunicorn --config config/gunicorn.py "portal:create_app()"`); `--bind` and
`WEB_CONCURRENCY` choose the address and the number of processes.

Why these values (measured with `make bench`, figures in docs/performance.md):
- gthread workers: a request spends much of its time waiting on PostgreSQL, Redis or a
  diary's back-channel endpoint; threads let one process serve others meanwhile, without
  the monkey-patching of gevent. Two processes per core keep the GIL from being the limit.
- preload_app: the app is built once in the master and forked, so workers start fast and
  share the imported code's memory. The factories open no connection (STYLE.md: the
  factory only wires), so nothing is shared across the fork.
- max_requests with jitter: a slow leak in any library cannot grow a worker forever, and
  the workers do not all restart at the same moment.
- graceful_timeout below Docker's stop_grace_period (30 s): requests in flight finish
  before the container is killed.
- Prometheus metrics across processes (shared/metrics.py): every worker writes its values
  to files in PROMETHEUS_MULTIPROC_DIR and /metrics sums them. The directory must be
  named before prometheus_client is imported (here, before the app is preloaded): a
  fresh one is made when the variable is unset; one given is emptied at start, since
  values left by an earlier run would be added to this one's (so give each gunicorn its
  own). A worker that exits has its live gauges removed (child_exit); its counters stay
  in the sums, as they must.
- Logs: the apps write JSON lines (shared/logs.py); gunicorn's own lines are JSON too.
"""

import glob
import os
import shutil
import tempfile

_MADE_HERE = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _MADE_HERE:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="prometheus-",
        dir="/dev/shm" if os.path.isdir("/dev/shm") else None,  # noqa: S108
    )

# After the variable is set: prometheus_client reads it when first imported.
from gunicorn import glogging  # noqa: E402
from prometheus_client import multiprocess  # noqa: E402

from shared.logs import JsonFormatter  # noqa: E402

wsgi_app = None  # given on the command line
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
preload_app = True
max_requests = 5000
max_requests_jitter = 500
timeout = 30
graceful_timeout = 25
keepalive = 5
# Heartbeat files in memory: a disk under load must not make the master kill busy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
accesslog = None  # the apps log requests themselves


class JsonLogger(glogging.Logger):
    """gunicorn's own lines (starting, a worker timed out) as JSON like the apps'. Its
    access log stays off: the apps log each request, without the query string."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


logger_class = JsonLogger


def on_starting(server):
    """Values of an earlier run must not be summed into this one's."""
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _MADE_HERE:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
