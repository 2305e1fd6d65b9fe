"""Readers tip creators from their exchange balance, exactly once, and Orbit keeps no cut.

A tip is whole units of TIP_CURRENCY, sent to the exchange as one signed `tip` transfer from the
reader's uid to the creator's under the key "tip:<tipper id>:<the form's one-time token>", reused on
every retry. Its ledger moves, each a balanced transfer of its own (no platform account ever appears):

  sent        tipper:<id>      → tips:in_flight    the exchange accepted it (and took the reader's money)
  confirmed   tips:in_flight   → tips:<creator id> the exchange says the creator has it
  failed      tips:in_flight   → tipper:<id>       failed after acceptance: the exchange gave it back
  refused     (nothing)                            refused at once: nothing ever moved

A tip shows on the post and in the creator's statement only once confirmed. It is money, not
engagement: it never enters the engagement log, so it never counts toward a contribution score.
The daily limit is a rolling 24 hours of the reader's tips that are not refused or failed, summed
and inserted under a lock on the reader's user row, so concurrent requests never pass it together.
See docs/incentives.md (Tips).
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from creators.models import Profile, User
from creators.services import ensure_can_act, is_blocked_between
from feed.models import Post
from feed.services import readable_post
from markets import exchange_api
from markets.models import TradingProfile
from orbit import celery_app

from . import ledger
from .models import Tip

logger = logging.getLogger(__name__)

State = Tip.State
# Queued by name, like payouts: the tasks module imports this one.
SEND_TASK = "incentives.tasks.send_tip"
# Retries after an unknown outcome: 30 s × 2^n up to about an hour, then the tip is stuck.
MAX_RETRIES = 8
RETRY_BASE_SECONDS = 30
DAY = timedelta(hours=24)
# The sweep: a requested tip untouched this long lost its task message; a sent one silent this long
# is asked about; at most SWEEP_BATCH of each per run.
LOST_AFTER = timedelta(minutes=15)
SILENT_AFTER = timedelta(minutes=30)
SWEEP_BATCH = 200
# What still counts toward the daily limit: everything the exchange did not turn down.
NOT_COUNTED = (State.REFUSED, State.FAILED)
OPEN_TO_SEND = (State.REQUESTED, State.STUCK)
FINAL = (State.CONFIRMED, State.REFUSED, State.FAILED)


class ReauthenticationNeeded(Exception):
    """The reader must enter their password again (first tip ever, or a large one) before this tip."""

    code = "reauthentication_required"

    def __init__(self, amount: int):
        super().__init__(_("Confirm it is you: enter your password again to send this tip."))
        self.amount = amount


class Attempt(enum.StrEnum):
    """What one call of `send_tip` did."""

    SENT = "sent"
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    FAILED = "failed"
    UNKNOWN = "unknown"  # nothing is known to have moved: retry the same key
    NOTHING_TO_DO = "nothing_to_do"  # final already, or another worker holds it


@dataclass(frozen=True)
class TipSummary:
    count: int
    total: int
    currency: str


def currency() -> str:
    return settings.TIP_CURRENCY


def idempotency_key(tipper_id: int, token: str) -> str:
    return f"tip:{tipper_id}:{token}"


def retry_delay(retries: int) -> int:
    return RETRY_BASE_SECONDS * 2**retries


def new_token() -> str:
    """The one-time token a tip form carries: a double submit of that form is one tip."""
    return str(uuid.uuid4())


def parse_amount(raw: object) -> int:
    """A tip's amount as whole units; a ValidationError a reader can act on otherwise."""
    text = str(raw).strip() if raw is not None else ""
    if isinstance(raw, bool) or not text.lstrip("-").isdigit():
        raise ValidationError(
            {"amount": _("Tip a whole number of %(currency)s, such as 5.") % {"currency": currency()}},
            code="whole_units",
        )
    amount = int(text)
    if amount <= 0:
        raise ValidationError({"amount": _("A tip must be more than zero.")}, code="not_positive")
    if amount < settings.TIP_MINIMUM:
        raise ValidationError(
            {
                "amount": _("The smallest tip is %(minimum)s %(currency)s.")
                % {"minimum": settings.TIP_MINIMUM, "currency": currency()}
            },
            code="below_minimum",
        )
    return amount


def needs_reauthentication(*, tipper: User, amount: int) -> bool:
    """The first tip ever and every large one ask for the password again (if not entered lately)."""
    return amount >= settings.TIP_REAUTH_AT or not Tip.objects.filter(tipper=tipper).exists()


def tipped_last_day(*, tipper_id: int, now: datetime) -> int:
    total = (
        Tip.objects.filter(tipper_id=tipper_id, created_at__gt=now - DAY)
        .exclude(state__in=NOT_COUNTED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or 0


def exchange_uid(user_id: int) -> str | None:
    return (
        TradingProfile.objects.filter(user_id=user_id, exchange_uid__isnull=False)
        .exclude(exchange_uid="")
        .values_list("exchange_uid", flat=True)
        .first()
    )


def tippable_post(*, viewer: User | None, post_id: int) -> Post:
    """A published post `viewer` may read (hidden, deleted and blocked pairs raise)."""
    post = readable_post(viewer=viewer, post_id=post_id)
    if post.status != Post.Status.PUBLISHED:
        raise PermissionDenied(_("This post no longer takes tips."))
    return post


def accepts_tips(creator: User) -> bool:
    accepts = Profile.objects.filter(user=creator).values_list("accepts_tips", flat=True).first()
    return accepts is not False  # no profile row yet: the default, on


def check_may_tip(*, tipper: User, creator: User) -> tuple[str, str]:
    """Everything about the two people that refuses a tip, before any amount is looked at (the tip
    box asks it too, so a reader learns before writing an amount). Returns their exchange uids."""
    ensure_can_act(tipper)
    if tipper.pk == creator.pk:
        raise ValidationError(_("You cannot tip yourself."), code="self_tip")
    if not creator.is_active or creator.deleted_at is not None or creator.suspended_at is not None:
        raise PermissionDenied(_("This creator cannot receive tips."))
    if is_blocked_between(tipper, creator):
        raise PermissionDenied(_("You cannot tip this creator."))
    if not accepts_tips(creator):
        raise ValidationError(_("This creator has turned tips off."), code="tips_off")
    from_uid = exchange_uid(tipper.pk)
    if not from_uid:
        raise ValidationError(
            _(
                "Link your exchange account to tip: open Orbit from your exchange account's settings "
                "(Connect Orbit), then try again."
            ),
            code="tipper_not_linked",
        )
    to_uid = exchange_uid(creator.pk)
    if not to_uid:
        raise ValidationError(_("This creator cannot receive tips yet."), code="creator_not_linked")
    return from_uid, to_uid


def request_tip(
    *,
    tipper: User,
    amount: object,
    token: str,
    post: Post | None = None,
    creator: User | None = None,
    recently_authenticated: bool = False,
    now: datetime | None = None,
) -> Tip:
    """Checks a reader's tip of `post` (or of `creator`) and stores it to be sent after commit.

    Returns the tip; the same `token` again returns the tip it made the first time (a double
    submit is one tip). Raises ValidationError or PermissionDenied with a message for the reader,
    or ReauthenticationNeeded when the password must be entered again first."""
    now = now or timezone.now()
    if post is not None:
        post = tippable_post(viewer=tipper, post_id=post.pk)
        creator = post.author
    if creator is None:
        raise ValueError("A tip is for a post or for a creator.")
    try:
        token = str(uuid.UUID(str(token)))
    except ValueError:
        raise ValidationError(
            _("This tip form is out of date; reload the page and try again."), code="bad_token"
        ) from None
    key = idempotency_key(tipper.pk, token)
    already = Tip.objects.filter(idempotency_key=key).first()
    if already is not None:
        return already
    from_uid, to_uid = check_may_tip(tipper=tipper, creator=creator)
    amount = parse_amount(amount)
    if not recently_authenticated and needs_reauthentication(tipper=tipper, amount=amount):
        raise ReauthenticationNeeded(amount)
    with transaction.atomic():
        # The reader's row, locked: the last day's sum and the insert below happen one request at
        # a time per reader, so concurrent tips can never pass the daily limit together. (NO KEY:
        # rows that merely reference the reader, such as their likes, are not held up.)
        User.objects.select_for_update(no_key=True).filter(pk=tipper.pk).values_list("pk", flat=True).get()
        already = Tip.objects.filter(idempotency_key=key).first()
        if already is not None:
            return already
        left = settings.TIP_DAILY_LIMIT - tipped_last_day(tipper_id=tipper.pk, now=now)
        if amount > left:
            raise ValidationError(
                {
                    "amount": _(
                        "That is over your daily tip limit of %(limit)s %(currency)s; you can tip up to "
                        "%(left)s %(currency)s more in the next 24 hours."
                    )
                    % {"limit": settings.TIP_DAILY_LIMIT, "left": max(left, 0), "currency": currency()}
                },
                code="daily_limit",
            )
        try:
            with transaction.atomic():
                tip = Tip.objects.create(
                    tipper=tipper,
                    creator=creator,
                    post=post,
                    amount=amount,
                    currency=currency(),
                    idempotency_key=key,
                    from_uid=from_uid,
                    to_uid=to_uid,
                )
        except IntegrityError:
            # Only the key can collide here (the checks above hold the rest), and its first tip wins.
            return Tip.objects.get(idempotency_key=key)
        transaction.on_commit(lambda: queue_send(tip.pk))
    return tip


def queue_send(tip_id: int) -> None:
    """Queues the tip's send; call after commit (the worker must see the row)."""
    celery_app.send_task(SEND_TASK, args=[tip_id])


def send_tip(*, tip_id: int, now: datetime | None = None) -> Attempt:
    """Sends one tip if it is still to be sent, and records what the exchange answered."""
    now = now or timezone.now()
    with transaction.atomic():
        # skip_locked: another worker is sending this tip right now and will record the answer.
        tip = Tip.objects.select_for_update(skip_locked=True).filter(pk=tip_id).first()
        if tip is None or tip.state not in OPEN_TO_SEND:
            return Attempt.NOTHING_TO_DO
        tip.attempts += 1
        try:
            # Inside the lock, bounded by EXCHANGE_API_TIMEOUT: the same key is never in flight twice.
            answer = exchange_api.send_transfer(
                idempotency_key=tip.idempotency_key,
                kind="tip",
                amount=Decimal(tip.amount),
                currency=tip.currency,
                to_uid=tip.to_uid,
                from_uid=tip.from_uid,
                reference=tip.idempotency_key,
                memo="Orbit tip" + (f" for post {tip.post_id}" if tip.post_id else ""),
            )
        except exchange_api.TransferRefused as refused:
            # Definite, and nothing moved: no ledger rows at all.
            tip.state, tip.failure_code = State.REFUSED, (refused.code or "refused")[:32]
            tip.last_error = str(refused)[:500]
            tip.save()
            return Attempt.REFUSED
        except exchange_api.ExchangeError as problem:
            tip.last_error = f"{type(problem).__name__}: {problem}"[:500]
            tip.save(update_fields=["attempts", "last_error", "updated_at"])
            logger.warning("Tip %s: %s", tip.idempotency_key, tip.last_error)
            return Attempt.UNKNOWN
        _record_sent(tip, exchange_transfer_id=answer.transfer_id, now=now)
        if answer.status == "completed":
            _confirm(tip, now=now)
            return Attempt.CONFIRMED
        if answer.status == "failed":
            _fail(tip, code=answer.failure_code or "failed", now=now)
            return Attempt.FAILED
        return Attempt.SENT


def mark_stuck(*, tip_id: int) -> bool:
    """Retries are exhausted: the tip waits for an operator, who sends it again with `send_tip`
    (same key: the exchange replays whatever it already did). It still counts toward the limit."""
    return bool(
        Tip.objects.filter(pk=tip_id, state=State.REQUESTED).update(state=State.STUCK, updated_at=timezone.now())
    )


def lost_tips(*, now: datetime | None = None, older_than: timedelta = LOST_AFTER) -> list[int]:
    """Requested tips never attempted: their task message was lost (a tip in its task's retries has
    attempts, and a second chain would only duplicate it). The sweep queues them again."""
    now = now or timezone.now()
    lost = Tip.objects.filter(state=State.REQUESTED, attempts=0, updated_at__lt=now - older_than)
    return list(lost.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])


def query_silent_tips(*, now: datetime | None = None, older_than: timedelta = SILENT_AFTER) -> dict[str, int]:
    """Sent tips the exchange has said nothing about for `older_than`: asked about once each, and a
    final answer applied as the webhook would (so the event arriving later is a duplicate). Stops at
    the first unanswered question, as the payouts' status query does. Counts by outcome."""
    now = now or timezone.now()
    outcomes: dict[str, int] = {}
    silent = (
        Tip.objects.filter(state=State.SENT, sent_at__lt=now - older_than)
        .order_by("sent_at")
        .values_list("idempotency_key", "to_uid")[:SWEEP_BATCH]
    )
    for key, to_uid in silent:
        try:
            answer = exchange_api.transfer_status(key)
        except exchange_api.TransferRefused as refused:
            logger.error("Tip %s is sent, but the exchange says it refused it: %s", key, refused)
            outcome = "refused"
        except exchange_api.ExchangeError as problem:
            logger.warning("Tip %s: status query failed: %s", key, problem)
            outcomes["unavailable"] = outcomes.get("unavailable", 0) + 1
            break
        else:
            if answer is None:
                logger.error("Tip %s is sent, but the exchange has no transfer under its key.", key)
                outcome = "not_sent"
            elif answer.status not in ("completed", "failed"):
                outcome = "pending"
            else:
                outcome = (
                    apply_confirmation(
                        idempotency_key=key,
                        exchange_transfer_id=answer.transfer_id,
                        outcome=answer.status,
                        failure_code=answer.failure_code,
                        to_uid=to_uid,
                        completed_at=answer.completed_at,
                        now=now,
                    )
                    or "nothing_to_do"
                )
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def apply_confirmation(
    *,
    idempotency_key: str,
    exchange_transfer_id: str,
    outcome: str,
    failure_code: str | None,
    to_uid: str,
    completed_at: datetime | None = None,
    now: datetime | None = None,
) -> str | None:
    """The exchange's `tip.completed` / `tip.failed`: "applied", or "duplicate" when the tip is
    final already (nothing changes). None when the key is not a tip's."""
    if not idempotency_key.startswith("tip:"):
        return None
    now = now or timezone.now()
    with transaction.atomic():
        # Not skip_locked: a worker still recording the send's answer is waited for, then built on.
        tip = Tip.objects.select_for_update().filter(idempotency_key=idempotency_key).first()
        if tip is None:
            return None
        if tip.state in FINAL:
            if (tip.state == State.CONFIRMED) != (outcome == "completed"):
                logger.error("Tip %s is %s, but the exchange now says %s.", idempotency_key, tip.state, outcome)
            return "duplicate"
        if tip.state != State.SENT:
            # The confirmation overtook the send's answer (or the worker died before recording it).
            _record_sent(tip, exchange_transfer_id=exchange_transfer_id, now=now)
        tip.exchange_completed_at = completed_at or now
        if outcome == "completed":
            _confirm(tip, now=now)
        else:
            tip.last_error = f"the exchange reported the tip failed: {failure_code}"[:500]
            _fail(tip, code=failure_code or "failed", now=now)
        return "applied"


# --- Reads ------------------------------------------------------------------------------------


def _summary(tips: QuerySet[Tip]) -> TipSummary:
    figures = tips.filter(state=State.CONFIRMED).aggregate(count=Count("pk"), total=Sum("amount"))
    return TipSummary(count=figures["count"], total=figures["total"] or 0, currency=currency())


def tips_on_post(post_id: int) -> TipSummary:
    """The post's confirmed tips: what is shown under it."""
    return _summary(Tip.objects.filter(post_id=post_id))


def tips_to_creator(creator_id: int, *, since: datetime | None = None) -> TipSummary:
    """A creator's confirmed tips (of every post and to them directly), since `since` if given."""
    tips = Tip.objects.filter(creator_id=creator_id)
    if since is not None:
        tips = tips.filter(confirmed_at__gte=since)
    return _summary(tips)


def recent_tips_by(tipper: User, *, limit: int = 10) -> list[Tip]:
    """The reader's own latest tips with their states (shown to them only)."""
    return list(
        Tip.objects.filter(tipper=tipper).select_related("creator__profile", "post").order_by("-created_at")[:limit]
    )


def daily_allowance_left(tipper: User, *, now: datetime | None = None) -> int:
    return max(settings.TIP_DAILY_LIMIT - tipped_last_day(tipper_id=tipper.pk, now=now or timezone.now()), 0)


# --- Steps (inside the caller's transaction, with the row locked) ------------------------------


def _move(tip: Tip, *, source: str, destination: str, memo: str) -> None:
    ledger.transfer(
        source=source,
        destination=destination,
        amount=Decimal(tip.amount),
        currency=tip.currency,
        memo=f"tip {memo}, {tip.idempotency_key}"[:200],
    )


def _record_sent(tip: Tip, *, exchange_transfer_id: str, now: datetime) -> None:
    _move(tip, source=ledger.tipper_account(tip.tipper_id), destination=ledger.TIPS_IN_FLIGHT, memo="sent")
    tip.state, tip.sent_at = State.SENT, now
    tip.exchange_transfer_id = exchange_transfer_id[:64]
    tip.last_error = ""
    tip.save()


def _confirm(tip: Tip, *, now: datetime) -> None:
    _move(
        tip,
        source=ledger.TIPS_IN_FLIGHT,
        destination=ledger.tips_received_account(tip.creator_id),
        memo="confirmed by the exchange",
    )
    tip.state, tip.confirmed_at = State.CONFIRMED, now
    tip.exchange_completed_at = tip.exchange_completed_at or now
    tip.save()


def _fail(tip: Tip, *, code: str, now: datetime) -> None:
    # The exchange accepted, then failed it and gave the reader's money back: so does the ledger.
    _move(tip, source=ledger.TIPS_IN_FLIGHT, destination=ledger.tipper_account(tip.tipper_id), memo=f"failed ({code})")
    tip.state, tip.failure_code = State.FAILED, code[:32]
    tip.save()
