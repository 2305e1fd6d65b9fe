"""Verified trade cards: do the author's own exchange fills show the trade a card claims, and what
did that trade make according to those fills.

Matching (`verify_trade_card`). The candidates are the author's fills of the card's instrument (the
same instrument id, letter case aside) filled from ORBIT_TRADE_CARD_WINDOW_HOURS before the post was
published to FILL_GRACE after it, in time order. The card's side names the opening side: long and
buy cards open with buy fills, short and sell cards with sell fills. Fills of the other side split
the candidates into runs of opening fills; one run is one way into a position, however many orders
and partial fills it took. Runs are tried from the latest back. Within a run, the fills are summed
from its last back to its first, and the longest such tail whose quantity-weighted average price is
within ORBIT_TRADE_CARD_PRICE_TOLERANCE (relative) of the card's entry price is the match: the whole
run when the card shows the average of a scaled-in entry, only its latest fills when the author had
bought earlier at other prices and shows the latest entry. The first run with a match wins, so the
card is tied to the trade nearest its post, and the same fills always give the same match. An entry
that is neither the average of a run nor of its latest fills is not matched (a card cannot pick
flattering fills out of the middle of a history).

The card then keeps those fills, their total quantity and their weighted average price; a card that
no longer matches (its entry price was edited) loses all three. The quantity is never shown publicly.

PnL (`card_pnl`). Entry is the verified entry price. The exit is the author's closing fills (the
other side, same instrument, after the first matched fill) taken in time order up to the verified
quantity: all of it closed is a closed trade at their weighted average; otherwise the trade is open
and the rest is valued at the market's latest price of the base asset. The percent is unlevered:
fills do not carry the leverage the author states, so the card's leverage stays the author's claim.

See docs/cards-and-calls.md#verified-trade-cards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from markets import market_data
from markets.models import Fill
from orbit import locks
from orbit.locks import Namespace

from .models import Post, TradeCard

# Fills up to this long after the post still count: an author often posts the card while the order
# is still filling, and the exchange's clock and ours may disagree by a little.
FILL_GRACE = timedelta(minutes=15)
PRICE_PLACES = Decimal("1E-12")  # TradeCard.verified_entry_price's decimal places
PERCENT_PLACES = Decimal("0.01")
OPENING_SIDE = {
    TradeCard.Side.LONG: Fill.Side.BUY,
    TradeCard.Side.BUY: Fill.Side.BUY,
    TradeCard.Side.SHORT: Fill.Side.SELL,
    TradeCard.Side.SELL: Fill.Side.SELL,
}


def _lock_fills_of(user_ids) -> None:
    """Serialise verification per user until the transaction ends.

    A card published while the webhook stores its fills would otherwise be missed by both: the
    publishing transaction cannot see the uncommitted fills, and the webhook's re-check cannot see
    the uncommitted post. Whichever takes the lock second reads after the other has committed.
    Locks are taken in one order (lock_many's) so that two batches of several users cannot deadlock."""
    # One statement for a whole webhook batch.
    locks.lock_many(Namespace.CARD_VERIFICATION, user_ids)


def _weighted_average(fills: list[Fill]) -> tuple[Decimal, Decimal]:
    quantity = sum((fill.quantity for fill in fills), Decimal(0))
    value = sum((fill.quantity * fill.price for fill in fills), Decimal(0))
    return quantity, (value / quantity).quantize(PRICE_PLACES, rounding=ROUND_HALF_EVEN)


def matching_fills(card: TradeCard, *, author_id: int, posted_at) -> list[Fill]:
    """The author's fills that verify `card` (see the module docstring), oldest first; [] if none."""
    window = timedelta(hours=settings.ORBIT_TRADE_CARD_WINDOW_HOURS)
    candidates = Fill.objects.filter(
        user_id=author_id,
        instrument__iexact=card.instrument,
        filled_at__gte=posted_at - window,
        filled_at__lte=posted_at + FILL_GRACE,
    ).order_by("filled_at", "id")
    opening = OPENING_SIDE[card.side]
    runs: list[list[Fill]] = [[]]
    for fill in candidates:
        if fill.side == opening:
            runs[-1].append(fill)
        elif runs[-1]:
            runs.append([])
    limit = card.entry_price * settings.ORBIT_TRADE_CARD_PRICE_TOLERANCE
    for run in reversed(runs):
        quantity = value = Decimal(0)
        longest = 0
        for length, fill in enumerate(reversed(run), start=1):
            quantity += fill.quantity
            value += fill.quantity * fill.price
            if abs(value / quantity - card.entry_price) <= limit:
                longest = length
        if longest:
            return run[len(run) - longest :]
    return []


def verify_trade_card(card: TradeCard) -> bool:
    """Verify `card` against its author's fills, or take its verification away; True if verified.

    Called inside the transaction that saved the card (publish_post, edit_post) and by
    verify_pending_cards when new fills arrive."""
    post = card.post
    with transaction.atomic():
        _lock_fills_of([post.author_id])
        fills = matching_fills(card, author_id=post.author_id, posted_at=post.created_at)
        if fills:
            card.verified_quantity, card.verified_entry_price = _weighted_average(fills)
            card.verified_at = card.verified_at or timezone.now()
        else:
            card.verified_at = card.verified_quantity = card.verified_entry_price = None
        TradeCard.objects.filter(pk=card.pk).update(
            verified_at=card.verified_at,
            verified_quantity=card.verified_quantity,
            verified_entry_price=card.verified_entry_price,
        )
        card.fills.set(fills)
    return bool(fills)


def verify_pending_cards(*, user_ids) -> int:
    """Re-check the unverified cards these users posted within the matching window, now that more of
    their fills have arrived (a webhook may deliver them after the post). Returns how many were
    verified. The exchange webhook calls it after storing each batch of fills."""
    user_ids = set(user_ids)
    if not user_ids:
        return 0
    since = timezone.now() - timedelta(hours=settings.ORBIT_TRADE_CARD_WINDOW_HOURS) - FILL_GRACE
    verified = 0
    with transaction.atomic():
        _lock_fills_of(user_ids)
        pending = (
            TradeCard.objects.filter(
                post__author_id__in=user_ids, post__created_at__gte=since, verified_at__isnull=True
            )
            .exclude(post__status=Post.Status.DELETED)
            .select_related("post")
            .order_by("post_id")
        )
        for card in pending:
            verified += verify_trade_card(card)
    return verified


# --- PnL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardPnl:
    status: str  # "open" or "closed"
    entry_price: Decimal  # the verified entry: the matched fills' weighted average
    exit_price: Decimal  # what the whole verified quantity went (or would go) out at
    closed_price: Decimal | None  # weighted average of the closing fills so far; None before any
    market_price: Decimal | None  # the price the still-open part is valued at; None when closed
    pnl_percent: Decimal  # unlevered, 2 decimals

    @property
    def partly_closed(self) -> bool:
        return self.status == "open" and self.closed_price is not None


def _pnl(card: TradeCard, closing: list[tuple[Decimal, Decimal]], market_price: Decimal | None) -> CardPnl | None:
    """`closing`: (quantity, price) of the author's closing fills in time order."""
    entry, held = card.verified_entry_price, card.verified_quantity
    if entry is None or not held:
        return None
    closed = value = Decimal(0)
    for quantity, price in closing:
        taken = min(quantity, held - closed)
        closed += taken
        value += taken * price
        if closed == held:
            break
    closed_price = value / closed if closed else None
    if closed == held:
        exit_price, market_price, status = closed_price, None, "closed"
    elif market_price is None:
        return None
    else:
        exit_price, status = (value + (held - closed) * market_price) / held, "open"
    direction = 1 if OPENING_SIDE[card.side] == Fill.Side.BUY else -1
    percent = (exit_price - entry) / entry * 100 * direction
    return CardPnl(
        status=status,
        entry_price=entry,
        exit_price=exit_price.quantize(PRICE_PLACES, rounding=ROUND_HALF_EVEN),
        closed_price=None if closed_price is None else closed_price.quantize(PRICE_PLACES, rounding=ROUND_HALF_EVEN),
        market_price=market_price,
        pnl_percent=percent.quantize(PERCENT_PLACES, rounding=ROUND_HALF_EVEN),
    )


def _closing_fills(card_ids: list[int]) -> dict[int, list[tuple[Decimal, Decimal]]]:
    """Each verified card's closing fills, in one query: the author's fills of the other side and the
    same instrument after the card's first matched fill, oldest first."""
    if not card_ids:
        return {}
    sql = f"""
        SELECT card.post_id, fill.quantity, fill.price
        FROM {TradeCard._meta.db_table} card
        JOIN {Post._meta.db_table} post ON post.id = card.post_id
        CROSS JOIN LATERAL (
            SELECT MIN(matched.filled_at) AS opened_at
            FROM {TradeCard.fills.through._meta.db_table} link
            JOIN {Fill._meta.db_table} matched ON matched.id = link.fill_id
            WHERE link.tradecard_id = card.post_id
        ) opening
        JOIN {Fill._meta.db_table} fill
          ON fill.user_id = post.author_id
         AND UPPER(fill.instrument) = UPPER(card.instrument)
         AND fill.side = (CASE WHEN card.side IN ('long', 'buy') THEN 'sell' ELSE 'buy' END)
         AND fill.filled_at > opening.opened_at
        WHERE card.post_id = ANY(%s) AND card.verified_at IS NOT NULL
        ORDER BY card.post_id, fill.filled_at, fill.id
    """  # noqa: S608 (table names come from the models, values are parameters)
    closing: dict[int, list[tuple[Decimal, Decimal]]] = {card_id: [] for card_id in card_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(card_ids)])
        for card_id, quantity, price in cursor.fetchall():
            closing[card_id].append((quantity, price))
    return closing


_UNSET = object()


def _attached_price(card: TradeCard):
    """The market price from the quote feed.prices.attach_quotes put on the card; _UNSET if it put none."""
    quote = getattr(card, "quote", _UNSET)
    if quote is _UNSET:
        return _UNSET
    return None if quote is None else quote.last


def card_pnl(card: TradeCard, *, market_price: Decimal | None = None) -> CardPnl | None:
    """The PnL of a verified card from its author's fills; None when unverified, or when an open trade
    has no market price. `market_price` defaults to the card's quote, else the latest stored close."""
    if not card.is_verified:
        return None
    if market_price is None:
        market_price = _attached_price(card)
        if market_price is _UNSET:
            market_price = market_data.latest_close(card.base_asset)
    return _pnl(card, _closing_fills([card.pk])[card.pk], market_price)


def attach_card_pnl(posts: list) -> None:
    """Sets `post.trade_card.pnl` (a CardPnl or None) on each post with a card, in one query for the
    closing fills of the page's verified cards (none when there is none) and, for cards without an
    attached quote, one for their market prices."""
    cards = [post.trade_card for post in posts if getattr(post, "trade_card", None) is not None]
    for card in cards:
        card.pnl = None
    verified = [card for card in cards if card.is_verified]
    if not verified:
        return
    closing = _closing_fills([card.pk for card in verified])
    unpriced = {card.base_asset for card in verified if _attached_price(card) is _UNSET}
    closes = market_data.latest_closes(unpriced) if unpriced else {}
    for card in verified:
        price = _attached_price(card)
        if price is _UNSET:
            price = closes.get(card.base_asset.upper())
        card.pnl = _pnl(card, closing[card.pk], price)
