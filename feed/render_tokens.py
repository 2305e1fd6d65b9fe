"""Render tokens: proof that the server showed a post to a reader, and when.

Time spent is reported by the client, so on its own it proves nothing. Whenever a page or the API
shows a post, it hands out a token signed with the site's key (`django.core.signing`, under a salt
of its own) that binds the reader (0 when signed out), the post and the moment it was issued. The
time-spent beacon sends the token back with each post's milliseconds, and `record_dwell` credits at
most the time that passed on the server's clock between the token's issue and the beacon's arrival.
A token is good for LIFETIME after its issue: as long as one post's time spent can count.

A token is signed, not encrypted: the reader can read its three numbers, none of them secret.

See docs/using-orbit.md#reading-is-recorded and docs/incentives.md (time spent).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.utils import timezone

from creators.models import User

SALT = "feed.render-token"
LIFETIME = timedelta(minutes=30)
# Web servers' clocks may disagree a little: a token from a moment later than "now" still counts.
CLOCK_SKEW = timedelta(seconds=5)
MAX_TOKEN_CHARS = 200
_MILLISECOND = timedelta(milliseconds=1)


def _signer() -> signing.Signer:
    # Built per call: the key (SECRET_KEY, with SECRET_KEY_FALLBACKS while it rotates) is read now.
    return signing.Signer(salt=SALT)


def reader_key(reader: User | AnonymousUser | None) -> int:
    """Who a token is for: the user's id, or 0 for every signed-out reader."""
    return reader.pk if reader is not None and reader.is_authenticated else 0


def issue(*, reader: User | AnonymousUser | None, post_id: int, now: datetime | None = None) -> str:
    """A token saying that `reader` was shown post `post_id` at `now`."""
    issued_ms = _milliseconds(now or timezone.now())
    return _signer().sign(f"{reader_key(reader)}.{int(post_id)}.{issued_ms}")


def issued_at(token: object, *, reader: User | AnonymousUser | None, post_id: int, now: datetime) -> datetime | None:
    """When `token` was issued, if it is a good token for this reader and post at `now`; else None
    (forged, truncated, another reader's or another post's, expired, or not a string at all)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        return None
    parts = value.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    token_reader, token_post, issued_ms = (int(part) for part in parts)
    if token_reader != reader_key(reader) or token_post != post_id:
        return None
    age_ms = _milliseconds(now) - issued_ms
    if age_ms > LIFETIME // _MILLISECOND or -age_ms > CLOCK_SKEW // _MILLISECOND:
        return None
    return datetime.fromtimestamp(issued_ms / 1000, tz=UTC)


def _milliseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
