"""Orbit settings, read from the environment (see the table in README.md).

Production is the default: DEBUG is off, SECRET_KEY must be given and the
security middleware is strict. `make test` sets DEBUG=1 for a developer machine;
`make run` sets ORBIT_DEMO=1 instead: production behaviour on plain-HTTP localhost.
"""

from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _
from django_celery_beat.tzcrontab import TzAwareCrontab

from orbit import queues

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# `make run`'s demo: production behaviour (DEBUG off: Orbit's error pages, collected static files)
# on a developer's plain-HTTP localhost, with published development secrets and no outside calls.
# Never set it in production.
ORBIT_DEMO = env.bool("ORBIT_DEMO", default=False)
# A developer's own machine (DEBUG or the demo): published secrets and plain HTTP are acceptable.
_LOCAL_MACHINE = DEBUG or ORBIT_DEMO

# A fixed key is acceptable only on a developer machine; production must set its own.
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    "django-insecure-orbit-development-only-key-do-not-use-in-production" if _LOCAL_MACHINE else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set SECRET_KEY (required when DEBUG and ORBIT_DEMO are off).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if _LOCAL_MACHINE else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "csp",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "orbit",
    "creators",
    "markets",
    "feed",
    "ranking",
    "incentives",
    "insights",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last: it must see the outcome of authentication to count failures.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orbit.urls"
WSGI_APPLICATION = "orbit.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "feed.context_processors.site",
                "orbit.context_processors.theme",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/orbit")}
# Persistent connections with health checks: opening a connection per request
# costs ~10 ms of CPU here and cuts throughput tenfold.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Streaming replicas for page and API reads (orbit/replicas.py), comma-separated database URLs, each
# becoming the alias replica_1, replica_2…; none (the default) leaves everything on the primary.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
# After a write, the writer reads the primary this long: longer than the replicas' normal lag.
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=15)
# A replica further behind than this is skipped until it catches up.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
if REPLICA_PIN_SECONDS < 1 or not REPLICA_MAX_LAG_SECONDS > 0:
    raise environ.ImproperlyConfigured(
        "REPLICA_PIN_SECONDS must be at least 1 and REPLICA_MAX_LAG_SECONDS positive (seconds)."
    )
for _number, _replica_url in enumerate(DATABASE_REPLICA_URLS, start=1):
    _replica = environ.Env.db_url_config(_replica_url)
    if _replica.get("ENGINE") != DATABASES["default"]["ENGINE"]:
        raise environ.ImproperlyConfigured(
            f"DATABASE_REPLICA_URLS entry {_number} must be a database URL of the primary's kind, "
            "e.g. postgres://orbit@replica-1:5432/orbit."
        )
    _replica["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    _replica["CONN_HEALTH_CHECKS"] = True
    # A replica that does not answer is given up on quickly, and the request reads the primary.
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Tests see one database: a replica is the test database itself, never a copy of its own.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_number}"] = _replica
if DATABASE_REPLICA_URLS:
    DATABASE_ROUTERS = ["orbit.replicas.ReplicaRouter"]
    # Around everything that reads for the page (authentication included), inside the session's save.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "orbit.replicas.ReplicaReadsMiddleware",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "creators.User"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        # Django's Redis cache, acting as an empty cache while Redis is down (orbit/resilience.py).
        "BACKEND": "orbit.resilience.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="orbit"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# --- Celery ------------------------------------------------------------------
# Delivery is at least once; every task must be idempotent (see README, "Background jobs").

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# A task whose worker dies is redelivered instead of lost: acknowledge after it ran...
CELERY_TASK_ACKS_LATE = True
# ...and give it back to the queue when the worker process is killed mid-task.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis redelivers an unacknowledged task after the visibility timeout; every
# time limit stays below it, or a slow task would run twice at once.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
# Publishing gives up after one quick retry rather than kombu's default of retrying for the
# connect timeout: a web request that queues work after its commit must not hang on a dead broker
# (orbit.resilience.enqueue). The worker's own reconnecting is governed by broker_connection_retry.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
    "socket_connect_timeout": 2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
# Long tasks (settlement, feed builds) must not sit reserved behind each other.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues by workload (orbit/queues.py); every name carries the prefix, so that test runs and benches
# on the same Redis keep to their own queues.
CELERY_QUEUE_PREFIX = env.str("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = queues.queue_name(queues.DEFAULT, prefix=CELERY_QUEUE_PREFIX)
CELERY_TASK_ROUTES = queues.task_routes(prefix=CELERY_QUEUE_PREFIX)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "refresh-trending": {"task": "ranking.tasks.refresh_trending", "schedule": 300.0, "options": {"expires": 300}},
    "refresh-active-feeds": {
        "task": "ranking.tasks.refresh_active_feeds",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    "tag-untagged-posts": {"task": "ranking.tasks.tag_untagged", "schedule": 600.0, "options": {"expires": 600}},
    # The operators' dashboard charts the content mix from this rollup (ranking/content_mix.py).
    "roll-up-content-mix": {
        "task": "ranking.tasks.roll_up_content_mix",
        "schedule": 600.0,
        "options": {"expires": 600},
    },
    # For You impressions from their Redis queue into Postgres (ranking/impressions.py).
    "store-impressions": {"task": "ranking.tasks.store_impressions", "schedule": 15.0, "options": {"expires": 15}},
    "purge-impressions": {
        "task": "ranking.tasks.purge_impressions",
        "schedule": crontab(hour=2, minute=40),
        "options": {"expires": 3600},
    },
    # A For You ranker trained on the impression log, activated only if it beats the active one.
    "retrain-ranker": {
        "task": "ranking.tasks.retrain_ranker",
        "schedule": crontab(hour=4, minute=10),
        "options": {"expires": 6 * 3600},
    },
    "rebalance-content-type-weights": {
        "task": "ranking.tasks.rebalance_content_type_weights",
        "schedule": crontab(hour=3, minute=0),
    },
    "refresh-creator-titles": {"task": "creators.tasks.refresh_creator_titles", "schedule": 3600.0},
    # The engagement log's weekly partitions, four weeks ahead (feed/partitions.py): daily, so a
    # day it cannot get its lock leaves four weeks of retries before a week is missing.
    "ensure-engagement-partitions": {
        "task": "feed.tasks.ensure_engagement_partitions",
        "schedule": crontab(hour=1, minute=20),
        "options": {"expires": 3600},
    },
    "worker-heartbeat": {
        "task": "orbit.tasks.record_worker_heartbeat",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
}
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise environ.ImproperlyConfigured(
        "CELERY_TASK_TIME_LIMIT must be below CELERY_VISIBILITY_TIMEOUT, or Redis redelivers running tasks."
    )

# Every worker says which queues it consumes this often (orbit/health.py); a queue whose consumers
# all fell silent for three periods has none, so /healthz turns red within 30 s of a crash.
ORBIT_QUEUE_LIVENESS_INTERVAL = env.float("ORBIT_QUEUE_LIVENESS_INTERVAL", default=10.0)
# Per queue, the longest a message may wait before /healthz calls the queue down, e.g. "feeds=1200,health=90".
try:
    ORBIT_QUEUE_MAX_WAIT = {
        **queues.MAX_WAIT_SECONDS,
        **env.dict("ORBIT_QUEUE_MAX_WAIT", cast={"value": float}, default={}),
    }
except ValueError:
    ORBIT_QUEUE_MAX_WAIT = {}
if (
    ORBIT_QUEUE_LIVENESS_INTERVAL <= 0
    or set(ORBIT_QUEUE_MAX_WAIT) != set(queues.QUEUES)
    or min(ORBIT_QUEUE_MAX_WAIT.values()) <= 0
):
    raise environ.ImproperlyConfigured(
        "ORBIT_QUEUE_LIVENESS_INTERVAL must be positive, and ORBIT_QUEUE_MAX_WAIT give positive seconds "
        f"for some of the queues {', '.join(queues.QUEUES)}, e.g. feeds=1200,health=90."
    )

# Per pipeline, how far behind it may fall before /healthz calls it down, e.g. "engagement_folding=300".
try:
    ORBIT_PIPELINE_MAX_LAG = {
        **queues.PIPELINE_MAX_LAG_SECONDS,
        **env.dict("ORBIT_PIPELINE_MAX_LAG", cast={"value": float}, default={}),
    }
except ValueError:
    ORBIT_PIPELINE_MAX_LAG = {}
if set(ORBIT_PIPELINE_MAX_LAG) != set(queues.PIPELINE_MAX_LAG_SECONDS) or min(ORBIT_PIPELINE_MAX_LAG.values()) <= 0:
    raise environ.ImproperlyConfigured(
        "ORBIT_PIPELINE_MAX_LAG must give positive seconds for some of the pipelines "
        f"{', '.join(queues.PIPELINE_MAX_LAG_SECONDS)}, e.g. engagement_folding=300."
    )

# The health listener (orbit/health_listener.py, gunicorn_health.conf.py) checks that the web server
# accepts connections here: the address the web process binds (gunicorn.conf.py reads ORBIT_BIND too).
ORBIT_WEB_ADDRESS = env.str("ORBIT_BIND", default="0.0.0.0:8000")

# --- Product settings ----------------------------------------------------------

# Ranking (README, "For You"). Engagement older than the half-life counts half in interests.
ORBIT_INTEREST_HALF_LIFE_DAYS = env.float("ORBIT_INTEREST_HALF_LIFE_DAYS", default=14.0)
ORBIT_FOR_YOU_PAGE_SIZE = env.int("ORBIT_FOR_YOU_PAGE_SIZE", default=20)
ORBIT_FOR_YOU_MAX_PER_AUTHOR = env.int("ORBIT_FOR_YOU_MAX_PER_AUTHOR", default=3)
ORBIT_FOR_YOU_MAX_PER_TYPE = env.int("ORBIT_FOR_YOU_MAX_PER_TYPE", default=8)
ORBIT_FOR_YOU_EXPLORE_PER_PAGE = env.int("ORBIT_FOR_YOU_EXPLORE_PER_PAGE", default=2)
ORBIT_FOR_YOU_LIST_LENGTH = env.int("ORBIT_FOR_YOU_LIST_LENGTH", default=300)
ORBIT_FOR_YOU_LIST_TTL = env.int("ORBIT_FOR_YOU_LIST_TTL", default=2 * 86400)
ORBIT_FOR_YOU_MAX_AGE = env.int("ORBIT_FOR_YOU_MAX_AGE", default=30 * 60)
ORBIT_FOR_YOU_ACTIVE_DAYS = env.int("ORBIT_FOR_YOU_ACTIVE_DAYS", default=7)
if ORBIT_INTEREST_HALF_LIFE_DAYS <= 0 or ORBIT_FOR_YOU_PAGE_SIZE < 1 or ORBIT_FOR_YOU_MAX_PER_AUTHOR < 1:
    raise environ.ImproperlyConfigured(
        "ORBIT_INTEREST_HALF_LIFE_DAYS must be positive, ORBIT_FOR_YOU_PAGE_SIZE and "
        "ORBIT_FOR_YOU_MAX_PER_AUTHOR at least 1."
    )
# The share of For You places given to exploration: a post new to the reader (creator, type or
# assets), drawn at random with its probability logged (ranking.scoring.add_exploration).
ORBIT_FOR_YOU_EXPLORE_SHARE = env.float("ORBIT_FOR_YOU_EXPLORE_SHARE", default=0.05)
# The share of readers' days whose For You impressions are logged (ranking.impressions), and how
# long they are kept.
ORBIT_IMPRESSION_SAMPLE = env.float("ORBIT_IMPRESSION_SAMPLE", default=1.0)
ORBIT_IMPRESSION_RETENTION_DAYS = env.int("ORBIT_IMPRESSION_RETENTION_DAYS", default=90)
if not (0 <= ORBIT_FOR_YOU_EXPLORE_SHARE <= 0.5 and 0 <= ORBIT_IMPRESSION_SAMPLE <= 1):
    raise environ.ImproperlyConfigured(
        "ORBIT_FOR_YOU_EXPLORE_SHARE must be between 0 and 0.5, ORBIT_IMPRESSION_SAMPLE between 0 and 1."
    )
if ORBIT_IMPRESSION_RETENTION_DAYS < 1:
    raise environ.ImproperlyConfigured("ORBIT_IMPRESSION_RETENTION_DAYS must be at least 1.")

ORBIT_SETTLEMENT_TZ = env.str("ORBIT_SETTLEMENT_TZ", default="UTC")
try:
    ZoneInfo(ORBIT_SETTLEMENT_TZ)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise environ.ImproperlyConfigured(
        f"ORBIT_SETTLEMENT_TZ={ORBIT_SETTLEMENT_TZ!r} is not an IANA time zone (e.g. UTC, Asia/Singapore)."
    ) from exc
# Incentives (README, "Creator payouts"). A week without its own PrizePool row pays this.
ORBIT_PRIZE_POOL_CURRENCY = env.str("ORBIT_PRIZE_POOL_CURRENCY", default="USDT")
try:
    ORBIT_PRIZE_POOL_DEFAULT = Decimal(env.str("ORBIT_PRIZE_POOL_DEFAULT", default="10000.00"))
except InvalidOperation:
    ORBIT_PRIZE_POOL_DEFAULT = Decimal("NaN")
if (
    not ORBIT_PRIZE_POOL_DEFAULT.is_finite()
    or ORBIT_PRIZE_POOL_DEFAULT < 0
    or (ORBIT_PRIZE_POOL_DEFAULT.quantize(Decimal("0.01")) != ORBIT_PRIZE_POOL_DEFAULT)
):
    raise environ.ImproperlyConfigured(
        "ORBIT_PRIZE_POOL_DEFAULT must be an amount of at least 0 with at most two decimals, e.g. 10000.00."
    )
# The finished week's draft settlement: Monday 00:10 in the settlement time zone.
CELERY_BEAT_SCHEDULE["draft-weekly-settlement"] = {
    "task": "incentives.tasks.draft_finished_week",
    "schedule": TzAwareCrontab(minute=10, hour=0, day_of_week=1, tz=ZoneInfo(ORBIT_SETTLEMENT_TZ)),
}
# The creator statement's live estimate of the running week.
# Payout transfers whose send was never attempted (a lost message) or that wait for a linked
# exchange account are queued again; waiting ones past their limit go back to the carry-over.
CELERY_BEAT_SCHEDULE["sweep-payout-transfers"] = {
    "task": "incentives.tasks.sweep_payout_transfers",
    "schedule": crontab(minute=25),
}
# Yesterday's (UTC) transfers against the exchange's report (incentives/reconciliation.py); late
# enough that yesterday's last confirmations have arrived.
CELERY_BEAT_SCHEDULE["reconcile-transfers"] = {
    "task": "incentives.tasks.reconcile_transfers",
    "schedule": crontab(hour=2, minute=40),
}
# The engagement that arrived since the last fold, into the settlement's rollups (incentives/folding.py).
# Every 30 s, so nothing written waits more than a minute to be folded, fold time included (a fold
# with nothing new is one index probe).
CELERY_BEAT_SCHEDULE["fold-engagement"] = {
    "task": "incentives.tasks.fold_engagement",
    "schedule": 30.0,
    "options": {"expires": 30},
}
CELERY_BEAT_SCHEDULE["estimate-current-week"] = {
    "task": "incentives.tasks.estimate_current_week",
    "schedule": 900.0,
    "options": {"expires": 900},
}

# --- Exchange integration ------------------------------------------------------
# The shared secret the exchange signs webhook events with. Without it the webhook refuses
# everything (503); development and the demo get a fixed, published one so they can be driven by hand.
EXCHANGE_WEBHOOK_SECRET = env.str(
    "EXCHANGE_WEBHOOK_SECRET", default="orbit-dev-webhook-secret" if _LOCAL_MACHINE else ""
)
# Rotating the secret: set the new one above and the old one here until the exchange signs with
# the new one (the log says when a request still uses the old), then empty this.
EXCHANGE_WEBHOOK_PREVIOUS_SECRET = env.str("EXCHANGE_WEBHOOK_PREVIOUS_SECRET", default="")
# How far a request's timestamp may be from our clock, in seconds, before it counts as a replay.
EXCHANGE_WEBHOOK_TOLERANCE = env.int("EXCHANGE_WEBHOOK_TOLERANCE", default=300)
EXCHANGE_WEBHOOK_MAX_EVENTS = env.int("EXCHANGE_WEBHOOK_MAX_EVENTS", default=5000)
# The exchange's money API, where Orbit sends payouts and tips (markets/exchange_api.py). Empty turns
# transfers off: nothing leaves Orbit's ledger. Development and the demo talk to the fake exchange
# (tools/fake_exchange.py, started by `make run`) with its fixed, published key and secret.
_DEV_EXCHANGE_API_SECRET = "orbit-dev-api-secret"  # noqa: S105 (published, refused in production below)
EXCHANGE_API_URL = env.str("EXCHANGE_API_URL", default="http://127.0.0.1:8766" if _LOCAL_MACHINE else "").rstrip("/")
EXCHANGE_API_KEY = env.str("EXCHANGE_API_KEY", default="orbit-dev" if _LOCAL_MACHINE else "")
EXCHANGE_API_SECRET = env.str("EXCHANGE_API_SECRET", default=_DEV_EXCHANGE_API_SECRET if _LOCAL_MACHINE else "")
# Seconds to wait for the exchange's answer (connecting waits at most 3); past it a transfer's
# outcome is unknown and it is retried under the same idempotency key.
EXCHANGE_API_TIMEOUT = env.float("EXCHANGE_API_TIMEOUT", default=10.0)
if EXCHANGE_API_URL and not (EXCHANGE_API_KEY and EXCHANGE_API_SECRET):
    raise environ.ImproperlyConfigured("EXCHANGE_API_URL is set: set EXCHANGE_API_KEY and EXCHANGE_API_SECRET too.")
if EXCHANGE_API_SECRET == _DEV_EXCHANGE_API_SECRET and not _LOCAL_MACHINE:
    raise environ.ImproperlyConfigured("EXCHANGE_API_SECRET is the published development secret: set your own.")
# Money instructions travel over TLS; plain HTTP only to the fake exchange on a developer's machine.
if EXCHANGE_API_URL and not EXCHANGE_API_URL.startswith(("https://", "http://") if _LOCAL_MACHINE else "https://"):
    raise environ.ImproperlyConfigured(
        "EXCHANGE_API_URL must be an https:// base URL (plain http:// only with DEBUG=1 or ORBIT_DEMO=1), "
        "or empty to turn transfers off."
    )
if EXCHANGE_API_TIMEOUT <= 0:
    raise environ.ImproperlyConfigured("EXCHANGE_API_TIMEOUT must be a positive number of seconds.")
# Reader tips (incentives/tips.py), in whole units of TIP_CURRENCY: the smallest tip, what one reader
# may tip in any 24 hours, and the amount from which a tip asks for the password again.
TIP_CURRENCY = env.str("TIP_CURRENCY", default=ORBIT_PRIZE_POOL_CURRENCY)
TIP_MINIMUM = env.int("TIP_MINIMUM", default=1)
TIP_DAILY_LIMIT = env.int("TIP_DAILY_LIMIT", default=500)
TIP_REAUTH_AT = env.int("TIP_REAUTH_AT", default=100)
if not 1 <= TIP_MINIMUM <= TIP_DAILY_LIMIT or TIP_REAUTH_AT < 1:
    raise environ.ImproperlyConfigured(
        "Tips need 1 <= TIP_MINIMUM <= TIP_DAILY_LIMIT and TIP_REAUTH_AT >= 1 (whole units of TIP_CURRENCY)."
    )
# A trade card is verified by the author's own fills of its instrument and side, at a price
# within this fraction of the card's entry, in the hours before it was posted.
try:
    ORBIT_TRADE_CARD_PRICE_TOLERANCE = Decimal(env.str("ORBIT_TRADE_CARD_PRICE_TOLERANCE", default="0.005"))
except InvalidOperation:
    ORBIT_TRADE_CARD_PRICE_TOLERANCE = Decimal("NaN")
ORBIT_TRADE_CARD_WINDOW_HOURS = env.int("ORBIT_TRADE_CARD_WINDOW_HOURS", default=72)
# A post naming an asset discloses the author's trades of it this many days either side of posting.
ORBIT_DISCLOSURE_DAYS = env.int("ORBIT_DISCLOSURE_DAYS", default=7)
# Market data: an OKX v5-compatible REST API (GET /api/v5/market/candles), polled for the assets
# people are discussing. Empty turns polling off (pages then show no prices). "simulated" (the
# demo's default) continues the stored candles by a random walk instead (markets/simulated_market.py).
ORBIT_MARKET_DATA_URL = env.str(
    "ORBIT_MARKET_DATA_URL", default="simulated" if ORBIT_DEMO else "https://www.okx.com"
).rstrip("/")
ORBIT_MARKET_DATA_TIMEOUT = env.float("ORBIT_MARKET_DATA_TIMEOUT", default=5.0)
ORBIT_MARKET_DATA_RETRIES = env.int("ORBIT_MARKET_DATA_RETRIES", default=3)
ORBIT_MARKET_POLL_SECONDS = env.int("ORBIT_MARKET_POLL_SECONDS", default=60)
if ORBIT_MARKET_DATA_URL == "simulated":
    if not _LOCAL_MACHINE:
        raise environ.ImproperlyConfigured(
            "ORBIT_MARKET_DATA_URL=simulated invents prices: only with ORBIT_DEMO=1 or DEBUG=1."
        )
elif ORBIT_MARKET_DATA_URL and not ORBIT_MARKET_DATA_URL.startswith(("https://", "http://")):
    raise environ.ImproperlyConfigured(
        "ORBIT_MARKET_DATA_URL must be an http(s):// base URL such as https://www.okx.com, "
        "empty to turn polling off, or simulated (demo only)."
    )
_tolerance_ok = ORBIT_TRADE_CARD_PRICE_TOLERANCE.is_finite() and 0 < ORBIT_TRADE_CARD_PRICE_TOLERANCE < 1
if EXCHANGE_WEBHOOK_TOLERANCE < 1 or not _tolerance_ok or ORBIT_MARKET_DATA_TIMEOUT <= 0:
    raise environ.ImproperlyConfigured(
        "EXCHANGE_WEBHOOK_TOLERANCE must be at least 1 second, ORBIT_TRADE_CARD_PRICE_TOLERANCE a fraction "
        "between 0 and 1 (0.005 is 0.5%), ORBIT_MARKET_DATA_TIMEOUT positive."
    )
CELERY_BEAT_SCHEDULE["poll-market-data"] = {
    "task": "feed.tasks.poll_market_data",
    "schedule": float(ORBIT_MARKET_POLL_SECONDS),
    "options": {"expires": ORBIT_MARKET_POLL_SECONDS},
}
CELERY_BEAT_SCHEDULE["grade-due-calls"] = {
    "task": "feed.tasks.grade_due_calls",
    "schedule": 300.0,
    "options": {"expires": 300},
}
# The 30-day window slides every day even without new fills.
CELERY_BEAT_SCHEDULE["refresh-trading-profiles"] = {
    "task": "markets.tasks.refresh_trading_profiles",
    "schedule": crontab(hour=0, minute=20),
}
_PLACEHOLDER_TRADE_URL = "https://www.example-exchange.com/trade/{instrument}"
EXCHANGE_TRADE_URL = env.str("EXCHANGE_TRADE_URL", default=_PLACEHOLDER_TRADE_URL)
# The demo's Trade button opens Orbit's own demo ticket (/demo/trade/<instrument>/) instead of the
# placeholder exchange, which does not exist; with a real EXCHANGE_TRADE_URL it goes there.
ORBIT_DEMO_TRADE_TICKET = env.bool(
    "ORBIT_DEMO_TRADE_TICKET", default=ORBIT_DEMO and EXCHANGE_TRADE_URL == _PLACEHOLDER_TRADE_URL
)
if ORBIT_DEMO_TRADE_TICKET and not _LOCAL_MACHINE:
    raise environ.ImproperlyConfigured("ORBIT_DEMO_TRADE_TICKET is for the demo: only with ORBIT_DEMO=1 or DEBUG=1.")
if "{instrument}" not in EXCHANGE_TRADE_URL or not EXCHANGE_TRADE_URL.startswith("https://"):
    raise environ.ImproperlyConfigured(
        "EXCHANGE_TRADE_URL must be an https:// URL containing {instrument}, e.g. https://exchange.example/trade/{instrument}."
    )
# Salt for engagement fingerprints (hash of IP and device id); defaults to the secret key.
ORBIT_FINGERPRINT_SALT = env.str("ORBIT_FINGERPRINT_SALT", default=SECRET_KEY)

# --- Auth --------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out client before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "ranking:home"  # For You once signed in
LOGOUT_REDIRECT_URL = "ranking:home"

# Accounts (django-allauth): username or e-mail to log in, e-mail optional to verify.
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # the changer stays in; every other session of theirs ends
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_USERNAME_BLACKLIST = ["admin", "administrator", "operator", "orbit", "support", "staff", "root"]
ACCOUNT_LOGOUT_ON_GET = False  # a GET shows the confirmation form; only its POST signs out
# allauth's own limit on failed sign-ins stays looser than axes' lockout (below), so that axes
# answers first for one name from one address; allauth's per-name limit still slows an attack
# spread over many addresses, and its per-address limit one that tries many names.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,10/5m/key", "signup": "20/h/ip", "reset_password": "20/h/ip"}
# Changing e-mail addresses or two-factor asks for the password (or an authenticator code) again
# unless the person gave it within the timeout; signing in does not count. The password change
# form always asks for the current password.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("ACCOUNT_REAUTHENTICATION_TIMEOUT", default=300)
# A notice to the account's address on a password change, and to the old address when the
# primary one changes, so a hijacked session cannot swap the address unnoticed.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Refuses look-alike and invisible-character usernames at sign-up (creators/names.py).
ACCOUNT_ADAPTER = "creators.adapters.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Orbit"

# API tokens (creators/tokens.py) stop working this many days after they were issued.
ORBIT_API_TOKEN_DAYS = env.int("ORBIT_API_TOKEN_DAYS", default=30)
if ORBIT_API_TOKEN_DAYS < 1:
    raise environ.ImproperlyConfigured("ORBIT_API_TOKEN_DAYS must be at least 1 (days an API token lasts).")

# Brute force (django-axes): lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=8)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# HTTP 429 and a page saying when to try again (orbit/security.py).
AXES_LOCKOUT_CALLABLE = "orbit.security.lockout_response"

# E-mail (password reset, verification): printed to the console in development.
# django-environ's documented way: EMAIL_URL sets EMAIL_BACKEND, EMAIL_HOST and friends.
vars().update(env.email_url("EMAIL_URL", default="consolemail://" if _LOCAL_MACHINE else "smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Orbit <no-reply@orbit.example>")

# Avatars and post images.
ORBIT_MAX_IMAGE_BYTES = env.int("ORBIT_MAX_IMAGE_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024

# --- i18n --------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Chinese dates and numbers as exchange apps write them (12月7日, 96,000), English "3 Mar": orbit/formats/.
FORMAT_MODULE_PATH = ["orbit.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# The language choice is read only by the server (scripts use <html lang>); Secure in production, below.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static and media --------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
# In development WhiteNoise serves straight from the apps' static folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        # The demo hashes names as production does but does not compress: brotli over every file
        # on each `make run` start costs minutes on a small machine.
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        if ORBIT_DEMO
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Uploads live on the filesystem (MEDIA_ROOT; a volume in production) or in an S3-compatible
# object store (MinIO in docker-compose). Either way /media/ is served by orbit.media.serve_media.
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
if MEDIA_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "orbit.media_storage.S3MediaStorage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            # MinIO answers path-style requests (http://minio:9000/bucket/key) out of the box.
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path"),
            # Private objects; readers get them through /media/. Names are random (orbit.images).
            "default_acl": None,
            "querystring_auth": False,
            "file_overwrite": False,
        },
    }
elif MEDIA_STORAGE != "filesystem":
    raise environ.ImproperlyConfigured(f"MEDIA_STORAGE must be 'filesystem' or 's3', not {MEDIA_STORAGE!r}.")

# --- API ---------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: an anonymous write gets 401 with a `WWW-Authenticate: Token` challenge
    # (session first would make it a 403). Orbit's own tokens expire and can be revoked.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "creators.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orbit.api.exception_handler",
    # JSON nested too deep or with infinite numbers is a 400 (orbit/json_input.py).
    "DEFAULT_PARSER_CLASSES": ["orbit.parsers.BoundedJSONParser"],
    "DEFAULT_THROTTLE_RATES": {
        "post": env.str("THROTTLE_POST", default="30/hour"),
        "comment": env.str("THROTTLE_COMMENT", default="120/hour"),
        "react": env.str("THROTTLE_REACT", default="600/hour"),
        "follow": env.str("THROTTLE_FOLLOW", default="200/hour"),
        # Signed-out beacons (view, time spent, trade click, share open) per client address; over
        # it they are answered as usual but not recorded (feed.services.signed_out_fingerprint).
        "anon_beacon": env.str("THROTTLE_ANON_BEACON", default="120/hour"),
        # New device tokens (POST /api/v1/devices/) per client address (IPv6: per /64), so one
        # machine cannot mint itself a device per fake reader.
        "device": env.str("THROTTLE_DEVICE", default="20/hour"),
        # The composer's helpers (type suggestion, preview, $ and @ autocomplete) per author.
        "compose_assist": env.str("THROTTLE_COMPOSE_ASSIST", default="1200/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Orbit API",
    "DESCRIPTION": "Posts, reactions, follows, feeds and search of the Orbit community.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Posts and reports both have a "status"; name their enums instead of letting hashes do it.
    "ENUM_NAME_OVERRIDES": {
        "PostStatusEnum": "feed.models.Post.Status",
        "ReportStatusEnum": "feed.models.Report.Status",
    },
}

# --- Content-Security-Policy (django-csp) ---------------------------------------
# Exactly what Orbit's pages use, nothing by default. No page has an inline script or style
# (htmx runs with includeIndicatorStyles, allowEval and allowScriptTags off), so there is no
# nonce: scripts and styles are our static files. Images are ours (uploads too: /media/ is served
# by Orbit whichever storage holds them) and data: URIs (the TOTP QR code); htmx and the
# time-spent beacon talk only to us; forms post only to us (a trade button's redirect adds the
# exchange, feed/views.py). The API's Redoc page adds what it needs (orbit/api_urls.py).
# Where browsers report violations (e.g. https://reports.example/csp); empty sends no reports.
# (Not a CSP_* setting: django-csp 4 refuses to start beside its 3.x setting names.)
_csp_report_uri = env.str("CSP_REPORT_URI", default="")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "report-uri": [_csp_report_uri] if _csp_report_uri else None,
    },
}

# --- Security (production) -----------------------------------------------------

# A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 before it is read (orbit/middleware.py).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.locale.LocaleMiddleware") + 1, "orbit.middleware.RequestSizeMiddleware"
)
# Logs every refused request (HTTP 403) with user, IP and time; needs request.user.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "orbit.security.AuditMiddleware",
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
# The demo runs without DEBUG but on plain HTTP on localhost: no HTTPS redirect, HSTS or Secure cookies.
if not _LOCAL_MACHINE:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # An HTTPS-only site: browsers fetch a stray http:// URL in a page over https instead of refusing it.
    # (Not on plain HTTP, e.g. docker-compose on localhost: there it would break every page.)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"] = SECURE_SSL_REDIRECT
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP by container health checks and load balancers.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# --- Logging -------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
