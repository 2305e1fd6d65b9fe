"""Locust clients for bench/feed.py: each requests one URL back to back, as one user after another.

bench/feed.py runs this headless in one process (gevent: the clients cost little CPU, which the
web server needs on a small machine) and passes, in the environment:

  BENCH_FEED_PATH      the URL path to GET
  BENCH_FEED_TOKENS    a file of API tokens, one a line; the clients take them in turn
  BENCH_FEED_SAMPLES   where to write, at exit, when all clients were running and then every
                       request's end time, milliseconds and outcome (locust's own statistics
                       round percentiles; the bench computes exact ones from these)

A 200 whose body is not a non-empty page ({"results": [{...}, ...]}) counts as an error.
"""

import itertools
import os
import time
from pathlib import Path

from locust import FastHttpUser, constant, events, task

PATH = os.environ["BENCH_FEED_PATH"]
TOKENS = Path(os.environ["BENCH_FEED_TOKENS"]).read_text().split()
SAMPLES = Path(os.environ["BENCH_FEED_SAMPLES"])
PAGE_START = b'{"results":[{'

# The clients are greenlets in one thread: sharing the iterator and the list needs no lock.
_next_token = itertools.cycle(TOKENS).__next__
_samples: list[tuple[float, float, int]] = []
_all_running_since = [time.time()]


@events.spawning_complete.add_listener
def _all_running(user_count, **kwargs):
    _all_running_since[0] = time.time()


@events.request.add_listener
def _record(response_time, exception, **kwargs):
    _samples.append((time.time(), response_time, 0 if exception is None else 1))


@events.quitting.add_listener
def _write_samples(environment, **kwargs):
    lines = [f"{_all_running_since[0]:.6f}"]
    lines.extend(f"{ended:.6f},{milliseconds:.3f},{failed}" for ended, milliseconds, failed in _samples)
    SAMPLES.write_text("\n".join(lines) + "\n")


class FeedClient(FastHttpUser):
    wait_time = constant(0)

    @task
    def get_page(self):
        headers = {"Authorization": f"Token {_next_token()}"}
        with self.client.get(PATH, headers=headers, name=PATH, catch_response=True) as response:
            if response.status_code == 200 and not (response.content or b"").startswith(PAGE_START):
                response.failure("200 without posts")
