"""The project's Celery app with one task more, which marks in Redis when it starts and when it has
finished, and sleeps between: a stand-in for a long feed build in tests of how a worker stops."""

import os
import time

import redis

from orbit.celery import app


@app.task(name="tests.sleep_and_mark")
def sleep_and_mark(key: str, seconds: float) -> None:
    marks = redis.Redis.from_url(os.environ["REDIS_URL"])
    marks.set(f"{key}:started", 1, ex=600)
    time.sleep(seconds)
    marks.set(f"{key}:finished", 1, ex=600)
