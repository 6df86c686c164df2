"""gunicorn settings for the portal and the diary: the Docker image and `make bench` use
this file (`gunicorn --config config/gunicorn.py "portal:create_app()"`); `--bind` and
`WEB_CONCURRENCY` choose the address and the number of processes.

Why these values (measured with `make bench`, figures in the README):
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
"""

import os

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
