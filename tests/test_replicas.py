"""Reads on replicas (orbit/replicas.py): which requests read a replica, who reads the primary instead,
and a real streaming standby that lags and then stops (tests/replica.py starts it)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from creators.models import ApiToken, User
from feed.models import Post
from orbit import replicas
from tests import replica
from tests.factories import AssetFactory, PostFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = ["replica_1", "replica_2"]
router = replicas.ReplicaRouter()


@pytest.fixture(autouse=True)
def _replicas_trusted_again():
    """A test that fails a replica makes this process skip it for a few seconds; the next starts afresh."""
    replicas.health.forget()
    yield
    replicas.health.forget()


@pytest.fixture
def two_replicas(monkeypatch, settings):
    """Two configured replicas that answer and keep up, without servers behind them."""
    settings.DATABASE_ROUTERS = ["orbit.replicas.ReplicaRouter"]
    settings.REPLICA_PIN_SECONDS = 15
    settings.REPLICA_MAX_LAG_SECONDS = 30.0
    monkeypatch.setattr(replicas, "replica_aliases", lambda: list(REPLICAS))
    connected: list[str] = []
    monkeypatch.setattr(replicas, "_connect", connected.append)
    monkeypatch.setattr(replicas.health, "lag_seconds", lambda alias: 0.0)
    return connected


def _read_database(request, *, model: type[Model] = Post) -> tuple[str, HttpResponse]:
    """Runs `request` through the middleware; the response says where the view's read went."""
    seen = {}

    def view(request):
        seen["alias"] = router.db_for_read(model)
        return HttpResponse(status=302 if request.method == "POST" else 200)

    response = replicas.ReplicaReadsMiddleware(view)(request)
    return seen["alias"], response


def _signed_in(request, user: User | None = None):
    request.user = user or User(username="reader")
    return request


# --- Which requests read a replica --------------------------------------------------------------------


def test_a_get_of_a_page_reads_a_replica(two_replicas, rf: RequestFactory):
    alias, _ = _read_database(_signed_in(rf.get("/latest/")))
    assert alias in REPLICAS
    assert two_replicas == [alias]  # connected once, for the request's first read


def test_a_head_and_an_api_read_read_a_replica(two_replicas, rf: RequestFactory):
    assert _read_database(rf.head("/latest/"))[0] in REPLICAS
    assert _read_database(rf.get("/api/v1/posts/"))[0] in REPLICAS


def test_every_read_of_one_request_goes_to_the_same_replica(two_replicas, rf: RequestFactory):
    seen = []

    def view(request):
        seen.extend(router.db_for_read(Post) for _ in range(5))
        return HttpResponse()

    replicas.ReplicaReadsMiddleware(view)(rf.get("/latest/"))
    assert len(set(seen)) == 1 and seen[0] in REPLICAS
    assert len(two_replicas) == 1


def test_requests_are_spread_over_the_replicas(two_replicas, rf: RequestFactory):
    assert {_read_database(rf.get("/latest/"))[0] for _ in range(50)} == set(REPLICAS)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unsafe_requests_read_the_primary(two_replicas, rf: RequestFactory, method):
    alias, _ = _read_database(_signed_in(getattr(rf, method)("/compose/")))
    assert alias == DEFAULT_DB_ALIAS
    assert two_replicas == []  # no replica was even connected to


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/feed/post/", "/admin/operations/", "/api/v1/exchange/events/", "/accounts/login/"]
)
def test_admin_the_webhook_and_account_pages_read_the_primary(two_replicas, rf: RequestFactory, path):
    assert _read_database(_signed_in(rf.get(path)))[0] == DEFAULT_DB_ALIAS


def test_sessions_and_api_tokens_are_read_from_the_primary_even_on_a_page(two_replicas, rf: RequestFactory):
    assert _read_database(rf.get("/latest/"), model=Session)[0] == DEFAULT_DB_ALIAS
    assert _read_database(rf.get("/latest/"), model=ApiToken)[0] == DEFAULT_DB_ALIAS


def test_reads_after_a_write_in_the_same_request_go_to_the_primary(two_replicas, rf: RequestFactory):
    seen = []

    def view(request):
        seen.append(router.db_for_read(Post))
        assert router.db_for_write(Post) == DEFAULT_DB_ALIAS  # e.g. a page that records a view
        seen.append(router.db_for_read(Post))
        return HttpResponse()

    replicas.ReplicaReadsMiddleware(view)(rf.get("/posts/1/"))
    assert seen[0] in REPLICAS and seen[1] == DEFAULT_DB_ALIAS


def test_reads_inside_an_atomic_block_go_to_the_primary(two_replicas, rf: RequestFactory, monkeypatch):
    # transaction.atomic() on the primary sets this flag (the streaming test below opens a real block).
    primary = connections[DEFAULT_DB_ALIAS]
    seen = []

    def view(request):
        seen.append(router.db_for_read(Post))
        monkeypatch.setattr(primary, "in_atomic_block", True)
        seen.append(router.db_for_read(Post))
        monkeypatch.setattr(primary, "in_atomic_block", False)
        seen.append(router.db_for_read(Post))
        return HttpResponse()

    replicas.ReplicaReadsMiddleware(view)(rf.get("/latest/"))
    assert seen == [seen[0], DEFAULT_DB_ALIAS, seen[0]] and seen[0] in REPLICAS


def test_outside_a_request_everything_reads_and_writes_the_primary(two_replicas):
    # Celery tasks, management commands and the shell never pass through the middleware.
    assert router.db_for_read(Post) == DEFAULT_DB_ALIAS
    assert router.db_for_write(Post) == DEFAULT_DB_ALIAS
    assert two_replicas == []


def test_select_for_update_uses_the_primary_inside_a_replica_request(two_replicas):
    with replicas.reads_for_request(replica_allowed=True):
        assert Post.objects.all().db in REPLICAS
        # Django asks the router for the write database for these (QuerySet._for_write).
        assert Post.objects.select_for_update().db == DEFAULT_DB_ALIAS


def test_only_the_primary_is_migrated_and_relations_span_primary_and_replicas(two_replicas):
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "feed", "post") is True
    assert router.allow_migrate("replica_1", "feed", "post") is False
    from_replica, from_primary, elsewhere = User(), Post(), Post()
    from_replica._state.db, from_primary._state.db, elsewhere._state.db = "replica_2", "default", "archive"
    assert router.allow_relation(from_replica, from_primary) is True
    assert router.allow_relation(from_replica, elsewhere) is None


# --- Read-your-writes -----------------------------------------------------------------------------------


def test_a_signed_in_writer_is_pinned_to_the_primary_for_their_next_pages(two_replicas, rf: RequestFactory):
    _, response = _read_database(_signed_in(rf.post("/compose/")))
    assert response.status_code == 302
    cookie = response.cookies[replicas.PIN_COOKIE]
    assert cookie["max-age"] == 15 and cookie["httponly"]

    next_page = _signed_in(rf.get("/posts/1/"))
    next_page.COOKIES[replicas.PIN_COOKIE] = cookie.value
    assert _read_database(next_page)[0] == DEFAULT_DB_ALIAS
    # Another reader, without the cookie, still reads a replica.
    assert _read_database(_signed_in(rf.get("/posts/1/")))[0] in REPLICAS


def test_the_pin_ends_after_replica_pin_seconds(two_replicas, rf: RequestFactory, monkeypatch):
    sixteen_seconds_ago = signing.b62_encode(int(time.time()) - 16)
    with monkeypatch.context() as past:
        past.setattr(signing.TimestampSigner, "timestamp", lambda self: sixteen_seconds_ago)
        _, response = _read_database(_signed_in(rf.post("/compose/")))
    page = _signed_in(rf.get("/posts/1/"))
    page.COOKIES[replicas.PIN_COOKIE] = response.cookies[replicas.PIN_COOKIE].value
    assert _read_database(page)[0] in REPLICAS


def test_a_forged_pin_cookie_is_ignored(two_replicas, rf: RequestFactory):
    page = rf.get("/latest/")
    page.COOKIES[replicas.PIN_COOKIE] = "1"
    assert _read_database(page)[0] in REPLICAS


def test_a_failed_write_or_an_anonymous_one_without_a_session_pins_nobody(two_replicas, rf: RequestFactory):
    def refused(request):
        return HttpResponse(status=400)

    response = replicas.ReplicaReadsMiddleware(refused)(_signed_in(rf.post("/compose/")))
    assert replicas.PIN_COOKIE not in response.cookies
    anonymous_beacon = rf.post("/beacon/dwell/")
    anonymous_beacon.user = AnonymousUser()
    _, response = _read_database(anonymous_beacon)
    assert replicas.PIN_COOKIE not in response.cookies


def test_an_api_token_writer_is_pinned_without_cookies(two_replicas, rf: RequestFactory):
    token = {"HTTP_AUTHORIZATION": "Token orb_abc.secret"}
    _, response = _read_database(rf.post("/api/v1/posts/", **token))
    assert response.status_code == 302
    assert _read_database(rf.get("/api/v1/posts/", **token))[0] == DEFAULT_DB_ALIAS
    other = {"HTTP_AUTHORIZATION": "Token orb_def.secret"}
    assert _read_database(rf.get("/api/v1/posts/", **other))[0] in REPLICAS


# --- Replicas that fail -----------------------------------------------------------------------------------


def test_a_replica_that_refuses_connections_is_skipped_and_left_alone_for_a_while(
    two_replicas, rf: RequestFactory, monkeypatch
):
    attempts: list[str] = []

    def refuse(alias):
        attempts.append(alias)
        raise OperationalError("connection refused")

    monkeypatch.setattr(replicas, "_connect", refuse)
    assert _read_database(rf.get("/latest/"))[0] == DEFAULT_DB_ALIAS
    assert sorted(attempts) == REPLICAS  # both tried once
    assert _read_database(rf.get("/latest/"))[0] == DEFAULT_DB_ALIAS
    assert len(attempts) == 2  # and not again within RETRY_SECONDS


def test_a_replica_that_breaks_mid_request_is_answered_from_the_primary_not_with_an_error(
    two_replicas, rf: RequestFactory, monkeypatch
):
    monkeypatch.setattr(replicas, "_still_answers", lambda alias: False)
    attempts = []

    def view(request):
        alias = router.db_for_read(Post)
        attempts.append(alias)
        if alias != DEFAULT_DB_ALIAS:
            raise OperationalError("server closed the connection unexpectedly")
        return HttpResponse("from the primary")

    # Django's handler calls process_exception when the view raises; so does this stand-in.
    middleware = replicas.ReplicaReadsMiddleware(lambda request: _with_exception_hook(middleware, view, request))
    response = middleware(rf.get("/latest/"))
    assert response.content == b"from the primary"
    assert attempts[0] in REPLICAS and attempts[1] == DEFAULT_DB_ALIAS
    assert replicas.health.skipping(attempts[0])


def _with_exception_hook(middleware, view, request):
    try:
        return view(request)
    except Exception as exc:
        response = middleware.process_exception(request, exc)
        if response is None:
            raise
        return response


def test_an_error_on_a_replica_that_still_answers_is_not_retried(two_replicas, rf: RequestFactory, monkeypatch):
    monkeypatch.setattr(replicas, "_still_answers", lambda alias: True)

    def view(request):
        router.db_for_read(Post)
        raise OperationalError("canceling statement due to statement timeout")

    middleware = replicas.ReplicaReadsMiddleware(lambda request: _with_exception_hook(middleware, view, request))
    with pytest.raises(OperationalError):
        middleware(rf.get("/latest/"))


def test_a_replica_too_far_behind_is_skipped(two_replicas, rf: RequestFactory, monkeypatch):
    lags = {"replica_1": 120.0, "replica_2": 0.5}
    monkeypatch.setattr(replicas.health, "lag_seconds", lags.__getitem__)
    assert {_read_database(rf.get("/latest/"))[0] for _ in range(10)} == {"replica_2"}
    lags["replica_2"] = 45.0
    assert _read_database(rf.get("/latest/"))[0] == DEFAULT_DB_ALIAS


# --- Settings -----------------------------------------------------------------------------------------------


def _settings_with(**environ) -> subprocess.CompletedProcess:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({'databases': settings.DATABASES, 'routers': settings.DATABASE_ROUTERS, "
        "'middleware': settings.MIDDLEWARE}, default=str))"
    )
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_REPLICA_URLS"}}
    env.update(DJANGO_SETTINGS_MODULE="orbit.settings", DEBUG="1", **environ)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_replica_urls_become_mirrored_aliases_with_the_router_and_middleware():
    result = _settings_with(
        DATABASE_REPLICA_URLS="postgres://orbit@replica-a:5432/orbit,postgres://orbit@replica-b:6432/orbit",
        CONN_MAX_AGE="120",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    first, second = loaded["databases"]["replica_1"], loaded["databases"]["replica_2"]
    assert (first["HOST"], second["HOST"], second["PORT"]) == ("replica-a", "replica-b", 6432)
    assert first["CONN_MAX_AGE"] == 120 and first["CONN_HEALTH_CHECKS"] is True
    assert first["TEST"]["MIRROR"] == "default"
    assert loaded["routers"] == ["orbit.replicas.ReplicaRouter"]
    assert "orbit.replicas.ReplicaReadsMiddleware" in loaded["middleware"]


def test_without_replica_urls_nothing_changes():
    result = _settings_with()
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert list(loaded["databases"]) == ["default"]
    assert loaded["routers"] == []
    assert "orbit.replicas.ReplicaReadsMiddleware" not in loaded["middleware"]


def test_a_replica_url_of_another_kind_is_refused():
    result = _settings_with(DATABASE_REPLICA_URLS="mysql://orbit@replica-a/orbit")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URLS entry 1 must be a database URL" in result.stderr


def test_without_postgresql_binaries_the_streaming_test_says_why_it_is_skipped(monkeypatch, tmp_path):
    monkeypatch.setattr(replica, "PG_BIN", tmp_path)
    reason = replica.why_unavailable()
    assert reason is not None and str(tmp_path) in reason and "pg_basebackup" in reason


# --- A real streaming replica --------------------------------------------------------------------------


@pytest.fixture
def streaming_pair(db, django_db_blocker):
    """A throwaway primary with a copy of the test database and a standby streaming from it, Django's
    `default` and `replica_1` pointed at them (tests/replica.py). The test database itself sits
    untouched in its test transaction meanwhile, and comes back afterwards."""
    reason = replica.why_unavailable()
    if reason:
        pytest.skip(reason)
    source = dict(connections[DEFAULT_DB_ALIAS].settings_dict)
    with replica.streaming_pair(source=source) as pair:
        databases = {
            DEFAULT_DB_ALIAS: pair.database_settings(source, port=pair.primary_port),
            "replica_1": pair.database_settings(source, port=pair.standby_port),
        }
        # Django's test case refuses connections to aliases it was not told about (`databases`), and
        # cannot be told about one that appears mid-test: these are servers of the test's own.
        with django_db_blocker.unblock(), replica.databases_pointed_at(databases):
            yield pair


def _with_replica_middleware(middleware: list[str]) -> list[str]:
    at = middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1
    return [*middleware[:at], "orbit.replicas.ReplicaReadsMiddleware", *middleware[at:]]


@pytest.mark.slow
def test_a_real_standby_serves_readers_while_writers_read_their_writes_and_its_outage_falls_back(
    streaming_pair, settings
):
    settings.DATABASE_ROUTERS = ["orbit.replicas.ReplicaRouter"]
    settings.MIDDLEWARE = _with_replica_middleware(settings.MIDDLEWARE)
    settings.REPLICA_PIN_SECONDS = 15
    settings.REPLICA_MAX_LAG_SECONDS = 600.0  # the paused replay below is lag on purpose
    author, reader = UserFactory(username="author"), UserFactory(username="reader")
    author_browser, reader_browser = Client(), Client()
    author_browser.force_login(author)
    reader_browser.force_login(reader)
    streaming_pair.wait_until_replayed()

    # 0. Within a request that may read the standby, an atomic block reads the primary.
    with replicas.reads_for_request(replica_allowed=True):
        assert Post.objects.all().db == "replica_1"
        assert replicas.read_connection(Post).alias == "replica_1"  # for raw SQL reads
        with transaction.atomic():
            assert Post.objects.all().db == DEFAULT_DB_ALIAS
            assert replicas.read_connection(Post).alias == DEFAULT_DB_ALIAS
        assert Post.objects.all().db == "replica_1"

    # 1. A reader's pages are read from the standby: every query of each page but the session's,
    # raw SQL included (the trade disclosures of Latest's posts, the interest profile and card facts
    # of For You, an asset's chart). (A post's own page records a view: a write, then the primary.)
    AssetFactory(symbol="BTC", name="Bitcoin")
    PostFactory(author=author, body="Watching $BTC into the close.")
    streaming_pair.wait_until_replayed()
    read_elsewhere = {}
    for page in [reverse("feed:latest"), reverse("ranking:home"), reverse("feed:asset", args=["BTC"])]:
        with (
            CaptureQueriesContext(connections["replica_1"]) as on_replica,
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
        ):
            assert reader_browser.get(page).status_code == 200, page
        assert len(on_replica) >= 2, page
        read_elsewhere[page] = [query["sql"] for query in on_primary if '"django_session"' not in query["sql"]]
    assert read_elsewhere == {page: [] for page in read_elsewhere}
    with connections["replica_1"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone()[0] is True  # the connection the router picked is the standby

    # 2. The standby lags (replay paused). The author posts; their next page shows the post (primary),
    # while a reader, on the standby, does not find it yet.
    streaming_pair.pause_replay()
    body = "Replicas lag; my post does not"
    posted = author_browser.post(reverse("feed:compose"), {"body": body, "content_type": "analysis"})
    assert posted.status_code == 302, posted.content.decode()[:500]
    assert replicas.PIN_COOKIE in posted.cookies
    post = Post.objects.get(body="Replicas lag; my post does not")
    post_page = reverse("feed:post", kwargs={"post_id": post.pk})
    assert posted["Location"] == post_page
    with CaptureQueriesContext(connections["replica_1"]) as on_replica:
        seen_by_author = author_browser.get(post_page)
    assert seen_by_author.status_code == 200 and "Replicas lag; my post does not" in seen_by_author.content.decode()
    assert len(on_replica) == 0
    assert reader_browser.get(post_page).status_code == 404  # not replayed on the standby yet

    # 3. Lag past REPLICA_MAX_LAG_SECONDS: the standby is skipped and the reader finds the post.
    settings.REPLICA_MAX_LAG_SECONDS = 0.5
    replicas.health.forget()  # measure the lag now, not at the next periodic check
    time.sleep(1.0)
    assert reader_browser.get(post_page).status_code == 200

    # 4. Replay resumes: the reader reads the standby again and finds the post there.
    streaming_pair.resume_replay()
    streaming_pair.wait_until_replayed()
    settings.REPLICA_MAX_LAG_SECONDS = 600.0
    replicas.health.forget()
    with CaptureQueriesContext(connections["replica_1"]) as on_replica:
        assert reader_browser.get(post_page).status_code == 200
    assert len(on_replica) >= 1

    # 5. The standby stops: the reader's kept connection breaks mid-request; pages come from the primary.
    streaming_pair.stop_standby()
    started = time.monotonic()
    for _ in range(3):
        page = reader_browser.get(post_page)
        assert page.status_code == 200 and "Replicas lag; my post does not" in page.content.decode()
    assert replicas.health.skipping("replica_1")
    assert time.monotonic() - started < 5
