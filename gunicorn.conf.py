"""gunicorn settings read from the working directory (the Procfile's web line runs there)."""

import gc


def post_worker_init(worker):
    # Everything loaded at start (Django, DRF, every module) lives as long as the worker. Frozen,
    # it is left out of Python's full collections, which otherwise walk it all: 50-100 ms pauses
    # at the 99th percentile of For You in bench/feed.py.
    gc.collect()
    gc.freeze()
