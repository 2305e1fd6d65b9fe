"""What the compose page offers while a post is written: the `$` and `@` autocomplete, the preview,
and trade cards filled in from the author's own recent fills.

Everything here only reads. Publishing stays feed.services.publish_post, which renders and
verifies a prefilled card exactly like a typed one (feed.verification): the picker only saves
typing, it never marks anything verified itself.

See docs/cards-and-calls.md#verified-trade-cards for how a card is matched to fills.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from creators.models import Block, Follow, User
from markets.models import Asset, Fill
from orbit.caching import cached

from . import services
from .models import TradeCard

SUGGESTIONS = 8  # rows an autocomplete list shows
# The whole asset table, cached: it is a few hundred rows that change when operators list a coin,
# and every `$` typed anywhere reads it. A newly listed asset shows up within this many seconds.
ASSET_LIST_KEY = "compose:assets:v1"
ASSET_LIST_SECONDS = 300
MAX_PREFIX = 30  # longer than any symbol or username people type before picking
# Case variants of a username prefix are looked up on the username index (LIKE 'Al%' OR LIKE 'al%'
# ...) up to this many leading letters; 2^4 = 16 index ranges at most, the rest is filtered after.
CASE_VARIANT_LETTERS = 4

RECENT_FILL_DAYS = 30
MAX_FILLS_READ = 500  # the newest fills read for the picker: a busy trader's month, not their history
MAX_FILL_GROUPS = 20
# Fills of one instrument and side closer together than this (with no fill of the other side
# between) are one entry: the partial fills of an order, or an entry scaled in over an hour.
GROUP_GAP = timedelta(hours=1)
ENTRY_PLACES = Decimal("1E-8")  # TradeCard.entry_price's decimal places
INSTRUMENT_MAX_LENGTH = 32  # TradeCard.instrument's (a fill's may be longer: options)


# --- `$` assets ----------------------------------------------------------------------------


def _asset_rows() -> list[tuple[str, str, bool]]:
    """(symbol, name, is_listed) of every asset, from the shared cache."""
    return cached(
        ASSET_LIST_KEY,
        lambda: list(Asset.objects.order_by("symbol").values_list("symbol", "name", "is_listed")),
        timeout=ASSET_LIST_SECONDS,
    )


def listed_symbols() -> set[str]:
    return {symbol for symbol, _name, is_listed in _asset_rows() if is_listed}


def asset_choices(prefix: str) -> list[dict]:
    """Up to SUGGESTIONS assets for `$<prefix>`: symbols starting with it, then names starting with
    it; listed assets before unlisted ones (their cashtags do not link), exact and short symbols first."""
    prefix = prefix.strip().lstrip("$").upper()[:MAX_PREFIX]
    if not prefix or not prefix.isalnum() or not prefix.isascii():
        return []
    ranked = []
    for symbol, name, is_listed in _asset_rows():
        if symbol.startswith(prefix):
            match = 0
        elif name.upper().startswith(prefix):
            match = 1
        else:
            continue
        ranked.append(((not is_listed, match, symbol != prefix, len(symbol), symbol), symbol, name, is_listed))
    ranked.sort(key=lambda row: row[0])
    return [
        {"symbol": symbol, "name": name, "listed": is_listed} for _key, symbol, name, is_listed in ranked[:SUGGESTIONS]
    ]


# --- `@` people ----------------------------------------------------------------------------


def _case_variants(prefix: str) -> set[str]:
    """`al` -> {al, aL, Al, AL}: each can use the username index (varchar_pattern_ops) as a LIKE prefix."""
    head, tail = prefix[:CASE_VARIANT_LETTERS], prefix[CASE_VARIANT_LETTERS:]
    options = [{char.lower(), char.upper()} for char in head]
    return {"".join(chars) + tail for chars in itertools.product(*options)}


def _mention_prefix(prefix: str) -> str:
    prefix = prefix.strip().lstrip("@")[:MAX_PREFIX]
    # A mention is ASCII letters, digits, "_", "." and "-" (feed.markdown.MENTION).
    if not prefix or not prefix.isascii() or not all(char.isalnum() or char in "_.-" for char in prefix):
        return ""
    return prefix


def people_choices(*, viewer: User, prefix: str) -> list[dict]:
    """Up to SUGGESTIONS people to mention for `@<prefix>`: people the viewer follows whose username
    or display name starts with it first, then anyone whose username does. Never the viewer, nor
    anyone they blocked or who blocked them (a blocked person cannot be mentioned anyway), nor
    suspended or closed accounts.

    Two small queries: the followed people through the follow index, everyone else through the
    username index (display names are matched among followed people only: they have no index)."""
    prefix = _mention_prefix(prefix)
    if not prefix:
        return []
    people = (
        User.objects.filter(is_active=True, suspended_at__isnull=True, deleted_at__isnull=True)
        .exclude(pk=viewer.pk)
        .exclude(pk__in=Block.objects.filter(user=viewer).values("target_id"))
        .exclude(pk__in=Block.objects.filter(target=viewer).values("user_id"))
        .select_related("profile")
    )
    followed = people.filter(
        Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("pk"))),
        Q(username__istartswith=prefix) | Q(profile__display_name__istartswith=prefix),
    ).order_by("username")[:SUGGESTIONS]
    by_username = Q()
    for variant in _case_variants(prefix):
        by_username |= Q(username__startswith=variant)
    anyone = people.filter(by_username, username__istartswith=prefix).order_by("username")[:SUGGESTIONS]
    chosen: dict[int, User] = {}
    for person in itertools.chain(followed, anyone):
        chosen.setdefault(person.pk, person)
    return [_person(person) for person in list(chosen.values())[:SUGGESTIONS]]


def _person(user: User) -> dict:
    profile = getattr(user, "profile", None)
    return {
        "username": user.username,
        "display_name": (profile.display_name if profile else "") or user.username,
        "avatar": profile.avatar.url if profile and profile.avatar else "",
    }


# --- Preview ---------------------------------------------------------------------------------


def preview_html(body: str) -> str:
    """The body as its post will show it: the same renderer and sanitizer as publishing
    (feed.services.render_body). Nothing is stored. Raises ValidationError for an oversized text."""
    body = (body or "").strip()
    if len(body) > services.MAX_POST_CHARS:
        raise ValidationError(
            _("That post is %(length)d characters long; the limit is %(limit)d.")
            % {"length": len(body), "limit": services.MAX_POST_CHARS}
        )
    if "\x00" in body:
        raise ValidationError(_("The text contains a NUL character; remove it and try again."))
    return services.render_body(body).html if body else ""


# --- Trade cards from the author's fills -----------------------------------------------------


@dataclass(frozen=True)
class FillGroup:
    """One way into (or out of) a position: consecutive fills of one instrument and side."""

    fill_ids: tuple[int, ...]  # oldest first
    instrument: str
    fill_side: str  # Fill.Side
    card_side: str  # TradeCard.Side the card would show
    quantity: Decimal
    entry_price: Decimal  # the fills' quantity-weighted average price, as a card stores it
    first_at: datetime
    last_at: datetime
    # Whether a card published now would be verified by these fills: they are the latest of their
    # run of same-side fills (verification matches a run's latest fills) and inside the window.
    verifiable: bool

    @property
    def key(self) -> int:
        """What the picker sends back: the group's newest fill id (the server finds the group again)."""
        return self.fill_ids[-1]

    @property
    def card_side_label(self) -> str:
        return str(TradeCard.Side(self.card_side).label)

    @property
    def count(self) -> int:
        return len(self.fill_ids)

    def card_fields(self) -> dict[str, str]:
        """The trade-card form fields this group fills in, as a person would type them."""
        text = f"{self.entry_price:f}"
        return {
            "instrument": self.instrument,
            "side": self.card_side,
            "entry_price": text.rstrip("0").rstrip(".") if "." in text else text,
        }


def _card_side(instrument: str, fill_side: str) -> str:
    """A perpetual's buys open a long and its sells a short; spot trades are buys and sells."""
    if instrument.endswith("-SWAP"):
        return TradeCard.Side.LONG if fill_side == Fill.Side.BUY else TradeCard.Side.SHORT
    return TradeCard.Side.BUY if fill_side == Fill.Side.BUY else TradeCard.Side.SELL


def _carded_instrument(instrument: str, listed: set[str]) -> str | None:
    """The instrument as a card names it, or None when a card cannot show it (options, futures,
    other quotes, assets no longer listed)."""
    instrument = instrument.upper()
    match = services.INSTRUMENT.match(instrument)
    if not match or match["base"] not in listed or len(instrument) > INSTRUMENT_MAX_LENGTH:
        return None
    return instrument


def _group(fills: list[Fill], instrument: str, *, verifiable: bool) -> FillGroup:
    quantity = sum((fill.quantity for fill in fills), Decimal(0))
    value = sum((fill.quantity * fill.price for fill in fills), Decimal(0))
    return FillGroup(
        fill_ids=tuple(fill.pk for fill in fills),
        instrument=instrument,
        fill_side=fills[0].side,
        card_side=_card_side(instrument, fills[0].side),
        quantity=quantity.normalize(),
        entry_price=(value / quantity).quantize(ENTRY_PLACES, rounding=ROUND_HALF_EVEN),
        first_at=fills[0].filled_at,
        last_at=fills[-1].filled_at,
        verifiable=verifiable,
    )


def _all_fill_groups(user: User, *, now: datetime) -> list[FillGroup]:
    # One query on fill_user_time: the user's newest fills of the last RECENT_FILL_DAYS.
    newest = list(
        Fill.objects.filter(user=user, filled_at__gte=now - timedelta(days=RECENT_FILL_DAYS), filled_at__lte=now)
        .only("pk", "instrument", "side", "quantity", "price", "filled_at")
        .order_by("-filled_at", "-pk")[:MAX_FILLS_READ]
    )
    listed = listed_symbols()
    by_instrument: dict[str, list[Fill]] = {}
    for fill in reversed(newest):
        instrument = _carded_instrument(fill.instrument, listed)
        if instrument is not None:
            by_instrument.setdefault(instrument, []).append(fill)
    window_start = now - timedelta(hours=settings.ORBIT_TRADE_CARD_WINDOW_HOURS)
    groups: list[FillGroup] = []
    for instrument, fills in by_instrument.items():
        current: list[Fill] = []
        for position, fill in enumerate(fills):
            current.append(fill)
            following = fills[position + 1] if position + 1 < len(fills) else None
            if (
                following is not None
                and following.side == fill.side
                and following.filled_at - fill.filled_at <= GROUP_GAP
            ):
                continue
            # The group ends here. It is its run's latest entry unless more fills of this side follow.
            latest_of_run = following is None or following.side != fill.side
            groups.append(
                _group(current, instrument, verifiable=latest_of_run and current[0].filled_at >= window_start)
            )
            current = []
    groups.sort(key=lambda group: (group.last_at, group.key), reverse=True)
    return groups


def recent_fill_groups(*, user: User, now: datetime | None = None) -> list[FillGroup]:
    """The author's recent entries a trade card can show, newest first (at most MAX_FILL_GROUPS)."""
    return _all_fill_groups(user, now=now or timezone.now())[:MAX_FILL_GROUPS]


def fill_group(*, user: User, fill_id: int | str, now: datetime | None = None) -> FillGroup:
    """The group holding the fill `fill_id`, looked up among `user`'s own fills only: an id of
    someone else's fill (or a made-up one) raises Fill.DoesNotExist, whatever the client claims."""
    try:
        fill_pk = int(fill_id)
    except (TypeError, ValueError):
        fill_pk = 0
    if not 0 < fill_pk < 2**63 or not Fill.objects.filter(pk=fill_pk, user=user).exists():
        raise Fill.DoesNotExist(_("That is not one of your trades."))
    for group in _all_fill_groups(user, now=now or timezone.now()):
        if fill_pk in group.fill_ids:
            return group
    raise Fill.DoesNotExist(
        _("That trade is older than %(days)d days or cannot be shown on a trade card.") % {"days": RECENT_FILL_DAYS}
    )
