"""The simulated clock Orbit's services run under, and how rows the database stamps are moved to it.

A simulated community lives through days in seconds, and everything time-dependent in Orbit must
see the simulated moment: candidate windows and freshness, the interest profile's half-life,
trending, one view per reader, post and day, render tokens and the time spent they allow, the
times of follows. Three ways were weighed:

* passing the time in: only `feed.services.record_dwell` and `feed.render_tokens.issue` take
  `now=`; `publish_post`, `record_view`, `like_post`, `follow_user` and the others read the clock
  themselves;
* writing with the real clock, then moving the rows to simulated time in one UPDATE per day: the
  engagement log refuses UPDATE (its append-only trigger, the evidence payouts rest on), and
  services that read the clock while they run (`record_view`'s one view a day, `record_dwell`'s
  credited span) would have judged by the wrong time anyway;
* running with real timestamps spaced out: days cannot be waited for.

So the services run under this clock. While `running()` lasts, `django.utils.timezone.now` (which
services, `auto_now` fields and render tokens call) and every model field whose default is that
function (the engagement log's `occurred_at`, an account's `date_joined`) answer the simulated
moment. Every engagement row is written once, at its simulated time, and never changed.

What a Python clock cannot reach are times the database fills in itself (`now()`, the start of the
transaction): posts, likes, comments and shares (feed's current-state rows). The simulation moves
those to their simulated moments with `backdate`, one UPDATE per table and batch, right after
writing them and before anything reads them. Notifications keep the real time they were written
at: nothing the simulation measures reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection
from django.db.models import Model
from django.utils import timezone


class SimulatedClock:
    """A clock that moves only when told to."""

    def __init__(self, moment: datetime):
        self._moment = moment
        self._running = False

    def now(self) -> datetime:
        return self._moment

    def set(self, moment: datetime) -> None:
        self._moment = moment

    def advance(self, *, seconds: float) -> datetime:
        self._moment += timedelta(seconds=seconds)
        return self._moment

    @contextmanager
    def running(self) -> Iterator[SimulatedClock]:
        """Orbit's code reads this clock until the block ends (also when it raises)."""
        if self._running:
            raise RuntimeError("This simulated clock is already running.")
        real_now = timezone.now
        # Fields such as `default=timezone.now` hold the function itself, not the module attribute,
        # and Django caches the default getter per field (`_get_default`), so both are swapped.
        stamped = [
            field for model in apps.get_models() for field in model._meta.concrete_fields if field.default is real_now
        ]
        timezone.now = self.now
        for field in stamped:
            field.default = self.now
            field.__dict__.pop("_get_default", None)
        self._running = True
        try:
            yield self
        finally:
            self._running = False
            timezone.now = real_now
            for field in stamped:
                field.default = real_now
                field.__dict__.pop("_get_default", None)


def backdate(model: type[Model], rows: Sequence[tuple], *, key: Sequence[str] = ("id",)) -> int:
    """Set `created_at` of `model`'s rows to their simulated moments in one UPDATE.

    `rows` are tuples of the key columns' values (integers) followed by the moment, e.g.
    (post id, moment) or, with key=("user_id", "post_id"), (user id, post id, moment) for likes,
    whose service returns no row. Returns the rows changed."""
    if not rows:
        return 0
    table = model._meta.db_table
    column = model._meta.get_field("created_at").column
    arrays = [list(values) for values in zip(*rows, strict=True)]
    names = [f"k{position}" for position in range(len(key))]
    unnested = ", ".join(["%s::bigint[]"] * len(key) + ["%s::timestamptz[]"])
    matches = " AND ".join(f'row."{name}" = v.{alias}' for name, alias in zip(key, names, strict=True))
    # Table and column names come from model metadata and `key` from this package; values are parameters.
    sql = (
        f'UPDATE "{table}" AS row SET "{column}" = v.moment '  # noqa: S608
        f"FROM unnest({unnested}) AS v({', '.join(names)}, moment) WHERE {matches}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount
