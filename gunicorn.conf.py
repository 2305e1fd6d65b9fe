"""gunicorn settings, read from the working directory by every starter (Procfile, Dockerfile,
docker-compose, the benchmarks), so they all serve the same way: those start `gunicorn orbit.wsgi`
with no flags, and every setting lives here. Sizes come from the environment.

Threaded workers (gthread): a client that sends its body a byte a second holds one thread, not a
whole worker. With two sync workers, three such clients stalled the site for as long as they
liked; with WEB_WORKERS x WEB_THREADS threads, a request still gets a free thread while fewer than
WEB_THREADS slow clients are connected (even if they all landed on one worker). More slow clients
than that need a buffering proxy in front (nginx buffers whole requests before passing them on).

Each thread keeps its own persistent Postgres connection (CONN_MAX_AGE), so up to
WEB_WORKERS x WEB_THREADS connections per web container: keep that, plus the Celery workers', below
Postgres' max_connections (100 by default), or put PgBouncer in between.
"""

import gc
import os

bind = os.environ.get("ORBIT_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "32"))
# A worker whose main loop stops answering for this long is restarted (a thread stuck in a slow
# request does not count: the main loop keeps beating).
timeout = 30
# Idle keep-alive connections are closed after this many seconds; they wait in the poller, not in a
# thread. Longer than a load balancer's idle timeout (60 s on the common ones), so the balancer, not
# gunicorn, closes an idle connection: otherwise a request sent as gunicorn closes it is lost.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))
# The request line and headers are bounded (gunicorn answers 400 past them); bodies are bounded by
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE (413, orbit/middleware.py).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# One line per request on stdout (the container's log, or honcho's under `make run`).
accesslog = "-"


def post_worker_init(worker):
    # Everything loaded at start (Django, DRF, every module) lives as long as the worker. Frozen,
    # it is left out of Python's full collections, which otherwise walk it all: 50-100 ms pauses
    # at the 99th percentile of For You in bench/feed.py.
    gc.collect()
    gc.freeze()
