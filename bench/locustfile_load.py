"""Locust users for bench/load.py: people reading, liking, commenting, posting and sending beacons.

bench/load.py runs this headless in one process against the stack it started and passes, in the
environment:

  BENCH_LOAD_CONFIG    a JSON file: "api" (API tokens), "web" (pairs of session id and CSRF secret
                       of signed-in browsers), "posts" (post ids to open, like and comment on)
  BENCH_LOAD_SAMPLES   where to write, at exit: when all users were running, then every request's
                       name, end time, milliseconds and outcome (the bench computes exact percentiles)
  BENCH_LOAD_FAILURES  where to write, at exit, each failure's name and message with its count (JSON)
  BENCH_LOAD_THINK     seconds between one user's requests, "low-high" (default "1-4")

Four kinds of user, each with an account of its own (taken in turn from the config):
  Browser   a signed-in browser (session cookie, CSRF token, HTMX): For You, Latest and Following
            pages, a post page (then the time-spent beacon with the render token that page gave),
            like and unlike, a comment.
  ApiReader the mobile app (API token): the For You, Latest and Following lists, a post, the
            time-spent beacon with the lists' dwell tokens, like and unlike, a comment, and
            rarely a new post.
  Bare      the bare DRF endpoint (bench/feed_urls.py), the floor, measured in the same run.
Any status of 400 or more, or a 200 that is not the expected page, is a failure.
"""

import json
import os
import random
import re
import time
from collections import Counter
from http.cookiejar import Cookie
from itertools import count
from pathlib import Path

from locust import FastHttpUser, between, events, task

CONFIG = json.loads(Path(os.environ["BENCH_LOAD_CONFIG"]).read_text())
SAMPLES = Path(os.environ["BENCH_LOAD_SAMPLES"])
FAILURES = Path(os.environ["BENCH_LOAD_FAILURES"])
_low, _high = (float(part) for part in os.environ.get("BENCH_LOAD_THINK", "1-4").split("-"))
POSTS: list[int] = CONFIG["posts"]
PAGE_START = b'{"results":['
DWELL_TOKEN = re.compile(r'data-dwell-token="([^"]+)"')

# Greenlets in one thread: the counters and lists need no lock.
_api_account = count()
_web_account = count()
_samples: list[tuple[str, float, float, int]] = []
_failures: Counter = Counter()
_all_running_since = [time.time()]


@events.spawning_complete.add_listener
def _all_running(user_count, **kwargs):
    _all_running_since[0] = time.time()


@events.request.add_listener
def _record(request_type, name, response_time, exception, **kwargs):
    _samples.append((f"{request_type} {name}", time.time(), response_time, 0 if exception is None else 1))
    if exception is not None:
        _failures[f"{request_type} {name}: {str(exception)[:200]}"] += 1


@events.quitting.add_listener
def _write_samples(environment, **kwargs):
    lines = [f"{_all_running_since[0]:.6f}"]
    lines.extend(f"{name}\t{ended:.6f}\t{ms:.3f}\t{failed}" for name, ended, ms, failed in _samples)
    SAMPLES.write_text("\n".join(lines) + "\n")
    FAILURES.write_text(json.dumps(dict(_failures.most_common())))


def _check(response, *, page: bool = False) -> None:
    """A failure for any status >= 400 (locust's own rule) and for a 200 list that is no page."""
    if response.status_code < 400 and page and not (response.content or b"").startswith(PAGE_START):
        response.failure(f"{response.status_code} without a page: {(response.content or b'')[:80]!r}")


def _cookie(name: str, value: str) -> Cookie:
    return Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None, None, {})


class Browser(FastHttpUser):
    """A signed-in browser: the site's pages and its HTMX buttons, CSRF in the header as base.html sets it."""

    weight = 8
    wait_time = between(_low, _high)

    def on_start(self):
        web = CONFIG["web"]
        session_id, self.csrf = web[next(_web_account) % len(web)]
        self.client.cookiejar.set_cookie(_cookie("sessionid", session_id))
        self.client.cookiejar.set_cookie(_cookie("csrftoken", self.csrf))
        self.htmx = {"HX-Request": "true", "X-CSRFToken": self.csrf}
        self.liked: set[int] = set()

    @task(6)
    def for_you_page(self):
        self.client.get("/", name="/ (For You page)")

    @task(4)
    def latest_page(self):
        self.client.get("/latest/", name="/latest/")

    @task(2)
    def following_page(self):
        self.client.get("/following/", name="/following/")

    @task(4)
    def post_page_and_beacon(self):
        post_id = random.choice(POSTS)
        with self.client.get(f"/posts/{post_id}/", name="/posts/[id]/", catch_response=True) as response:
            found = DWELL_TOKEN.search(response.text or "") if response.status_code == 200 else None
            if response.status_code == 200 and not found:
                response.failure("post page without a render token")
        if found:
            # What static/orbit.js sends with navigator.sendBeacon when the page hides.
            items = json.dumps([{"post": post_id, "ms": random.randint(2_000, 60_000), "token": found.group(1)}])
            self.client.post(
                "/beacon/dwell/",
                data={"items": items, "csrfmiddlewaretoken": self.csrf},
                name="/beacon/dwell/ (web beacon)",
            )

    @task(2)
    def like_or_unlike(self):
        # Half the time take back a like given earlier (an unlike is a new engagement row too).
        if self.liked and random.random() < 0.5:
            post_id, action = self.liked.pop(), "unlike"
        else:
            post_id, action = random.choice(POSTS), "like"
            self.liked.add(post_id)
        self.client.post(
            f"/posts/{post_id}/like/", data={"action": action}, headers=self.htmx, name=f"/posts/[id]/like/ ({action})"
        )

    @task(1)
    def comment(self):
        post_id = random.choice(POSTS)
        body = f"Load test comment {random.randint(1, 10**9)}: watching $BTC here."
        self.client.post(
            f"/posts/{post_id}/comment/", data={"body": body}, headers=self.htmx, name="/posts/[id]/comment/ (HTMX)"
        )


class ApiReader(FastHttpUser):
    """The app: token authentication, JSON lists, beacons with the lists' dwell tokens."""

    weight = 8
    wait_time = between(_low, _high)

    def on_start(self):
        tokens = CONFIG["api"]
        self.auth = {"Authorization": f"Token {tokens[next(_api_account) % len(tokens)]}"}
        self.shown: list[tuple[int, str]] = []  # (post, dwell token) of the last list seen
        self.liked: set[int] = set()

    def _list(self, path: str) -> None:
        with self.client.get(path, headers=self.auth, name=path, catch_response=True) as response:
            _check(response, page=True)
            if response.status_code == 200:
                try:
                    results = response.json()["results"]
                except (ValueError, KeyError, TypeError):
                    results = []
                self.shown = [(item["id"], item["dwell_token"]) for item in results if item.get("dwell_token")]

    @task(6)
    def for_you(self):
        self._list("/api/v1/feed/for-you/")

    @task(4)
    def latest(self):
        self._list("/api/v1/feed/latest/")

    @task(2)
    def following(self):
        self._list("/api/v1/feed/following/")

    @task(2)
    def post(self):
        self.client.get(f"/api/v1/posts/{random.choice(POSTS)}/", headers=self.auth, name="/api/v1/posts/[id]/")

    @task(3)
    def dwell_beacon(self):
        if not self.shown:
            return
        items = [
            {"post": post_id, "ms": random.randint(1_000, 20_000), "token": token}
            for post_id, token in random.sample(self.shown, min(5, len(self.shown)))
        ]
        self.client.post("/api/v1/engagement/dwell/", json={"items": items}, headers=self.auth)

    @task(2)
    def like_or_unlike(self):
        name = "/api/v1/posts/[id]/like/"
        if self.liked and random.random() < 0.5:
            post_id = self.liked.pop()
            self.client.delete(f"/api/v1/posts/{post_id}/like/", headers=self.auth, name=name)
        else:
            post_id = random.choice(POSTS)
            self.liked.add(post_id)
            self.client.post(f"/api/v1/posts/{post_id}/like/", headers=self.auth, name=name)

    @task(1)
    def comment(self):
        post_id = random.choice(POSTS)
        body = f"Load test comment {random.randint(1, 10**9)} on the funding rate."
        self.client.post(
            f"/api/v1/posts/{post_id}/comments/",
            json={"body": body},
            headers=self.auth,
            name="/api/v1/posts/[id]/comments/",
        )

    @task(1)
    def publish(self):
        # About one request in twenty: much rarer than reading, as on the site.
        if random.random() < 0.5:
            return
        body = f"Load test post {random.randint(1, 10**9)}: $BTC holding the range, #ta"
        self.client.post("/api/v1/posts/", json={"body": body, "content_type": "chat"}, headers=self.auth)


class Bare(FastHttpUser):
    """The bare DRF endpoint, the floor for a page of 20 posts, under the same load."""

    weight = 2
    wait_time = between(_low, _high)

    def on_start(self):
        tokens = CONFIG["api"]
        self.auth = {"Authorization": f"Token {tokens[next(_api_account) % len(tokens)]}"}

    @task
    def bare(self):
        name = "/bench/bare-posts/ (bare DRF endpoint)"
        with self.client.get("/bench/bare-posts/", headers=self.auth, name=name, catch_response=True) as response:
            _check(response, page=True)
