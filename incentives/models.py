"""Prize pools, the weekly settlement, payouts and the double-entry ledger.

Money is `Decimal` with two decimal places everywhere (`MONEY`): the pool, every payout and
every ledger leg are whole cents of the pool's currency.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 18, "decimal_places": 2}
CENT = Decimal("0.01")


class PrizePool(models.Model):
    """The amount a week pays out; weeks without a row use ORBIT_PRIZE_POOL_DEFAULT."""

    week = models.CharField(_("ISO week"), max_length=8, unique=True, help_text=_("For example 2026-W47."))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0.00"))])
    currency = models.CharField(_("currency"), max_length=10, default="USDT")
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="prize_pool_not_negative"),
            models.CheckConstraint(condition=Q(week__regex=r"^[0-9]{4}-W[0-9]{2}$"), name="prize_pool_week_format"),
        ]
        verbose_name = _("prize pool")
        verbose_name_plural = _("prize pools")

    def __str__(self):
        return f"{self.week}: {self.amount} {self.currency}"


class ActionWeight(models.Model):
    """What one counted interaction of a kind is worth, for a reader of full value."""

    class Action(models.IntegerChoices):
        # The values are feed.Engagement.Kind values, so SQL can join on them.
        VIEW = 1, _("view")
        TIME_SPENT = 2, _("time spent (per minute)")
        LIKE = 3, _("like")
        COMMENT = 5, _("comment")
        SHARE = 6, _("share")
        FOLLOW = 8, _("follow")
        TRADE_CLICK = 10, _("trade click")

    kind = models.PositiveSmallIntegerField(_("action"), choices=Action, primary_key=True)
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=3, validators=[MinValueValidator(Decimal("0"))]
    )
    # Only for time spent: one reader's time on one post counts up to this many seconds.
    per_view_cap_seconds = models.PositiveIntegerField(
        _("time counted per reader and post (seconds)"),
        default=300,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=0), name="action_weight_not_negative"),
            models.CheckConstraint(
                condition=Q(per_view_cap_seconds__gte=1, per_view_cap_seconds__lte=3600),
                name="action_weight_cap_range",
            ),
        ]
        verbose_name = _("action weight")
        verbose_name_plural = _("action weights")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.weight}"


class SingletonModel(models.Model):
    """One row (pk=1) of operator settings; `current()` creates it with the defaults."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @classmethod
    def current(cls):
        return cls.objects.get_or_create(pk=1)[0]


class IncentivePolicy(SingletonModel):
    """How a week's scores turn into money, and when a creator is held for review."""

    alpha = models.DecimalField(
        _("exponent α"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.10")), MaxValueValidator(Decimal("2.00"))],
        help_text=_("Payout ∝ score^α. Below 1 lifts smaller creators; 1 is plain proportion."),
    )
    max_share = models.DecimalField(
        _("largest share of the pool for one creator"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        default=Decimal("0.1000"),
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("1"))],
        help_text=_("For example 0.1 = 10%. The excess goes to the other creators. Empty: no cap."),
    )
    minimum_payout = models.DecimalField(
        _("minimum payout"),
        **MONEY,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
        help_text=_("Smaller amounts are not paid; they go to the other creators."),
    )
    daily_cap = models.PositiveSmallIntegerField(
        _("counted interactions per reader and creator per day"),
        default=20,
        validators=[MinValueValidator(1)],
    )
    reader_week_points = models.PositiveSmallIntegerField(
        _("points one reader gives in a week"),
        default=40,
        validators=[MinValueValidator(1)],
        help_text=_(
            "A reader's counted interactions in a week, weighed by action (a like 1, a comment 2...), "
            "count up to this many points, shared across the creators they engaged with."
        ),
    )
    reader_creator_share = models.DecimalField(
        _("largest share of a reader's week for one creator"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.250"),
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("1"))],
        help_text=_("For example 0.25: one creator gets at most a quarter of the points above from one reader."),
    )
    time_spent_week_minutes = models.PositiveSmallIntegerField(
        _("counted minutes per reader and creator per week"),
        default=15,
        validators=[MinValueValidator(1)],
    )
    post_earning_days = models.PositiveSmallIntegerField(
        _("days a post earns after publishing"), default=7, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    hold_severity = models.PositiveSmallIntegerField(
        _("hold payouts at flag severity"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text=_(
            "A creator with an integrity flag of at least this severity (1 low, 3 high) is held for "
            "review instead of paid. 4 holds nobody."
        ),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(alpha__gte=Decimal("0.1"), alpha__lte=2), name="policy_alpha_range"),
            models.CheckConstraint(
                condition=Q(max_share__isnull=True) | Q(max_share__gt=0, max_share__lte=1),
                name="policy_max_share_range",
            ),
            models.CheckConstraint(condition=Q(minimum_payout__gte=0), name="policy_minimum_not_negative"),
        ]
        verbose_name = _("payout policy")
        verbose_name_plural = _("payout policy")

    def __str__(self):
        return str(_("Payout policy"))


def _value_field(label, default, help_text=""):
    return models.DecimalField(
        label,
        max_digits=4,
        decimal_places=3,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=help_text,
    )


class ReaderValueRules(SingletonModel):
    """How much one reader's interactions weigh, from 0 (nothing) to `maximum`, as of the week.

    fee share = min(1, ln(1 + fees / `fee_scale_usd`) / ln(1 + `full_fees_usd` / `fee_scale_usd`)), fees
                being the dollar fees paid in the `fee_window_days` before the week ended
    tenure share = min(1, weeks with a fill among the `tenure_weeks` before the week ended / `tenure_weeks`)
    value = min(maximum, base + fee share * (KYC value + tenure bonus * tenure share)),
    times the new-account factor for accounts younger than `new_account_days`;
    0 for suspended, deactivated or frozen accounts and for signed-out readers. Only fills before
    the week's end count, so a trade made after it never raises that week's value.
    """

    base = _value_field(
        _("base value"),
        "0.000",
        _(
            "What every reader in good standing is worth, trading or not. 0 by default: a reader who "
            "pays no trading fees brings the exchange nothing, and an account costs nothing to open."
        ),
    )
    kyc_none = _value_field(_("KYC none"), "0.100", _("Added for a reader at this KYC level, times the fee share."))
    kyc_basic = _value_field(_("KYC basic"), "0.400", _("Added for a reader at this KYC level, times the fee share."))
    kyc_verified = _value_field(
        _("KYC verified"), "0.600", _("Added for a reader at this KYC level, times the fee share.")
    )
    kyc_advanced = _value_field(
        _("KYC advanced"), "0.700", _("Added for a reader at this KYC level, times the fee share.")
    )
    full_fees_usd = models.DecimalField(
        _("fees for the full fee share (USD)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("20.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "Trading fees paid in the fee window, in US dollars, at which the fee share reaches 1 "
            "(rebates count as nothing)."
        ),
    )
    fee_scale_usd = models.DecimalField(
        _("fee scale (USD)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "The fee share grows with the logarithm of the fees over this scale: fees well below it "
            "count almost nothing, and each doubling above it adds about the same."
        ),
    )
    fee_window_days = models.PositiveSmallIntegerField(
        _("fee window (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("Fees paid in this many days before the week ended count."),
    )
    tenure_bonus = _value_field(_("tenure bonus"), "0.300", _("Added times the fee share and the tenure share."))
    tenure_weeks = models.PositiveSmallIntegerField(
        _("tenure (weeks)"),
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(52)],
        help_text=_("The tenure share is the weeks with a trade among this many weeks before the week ended."),
    )
    new_account_days = models.PositiveSmallIntegerField(_("new account age (days)"), default=14)
    new_account_factor = _value_field(
        _("new account factor"), "0.250", _("Multiplies the value of accounts younger than the age above.")
    )
    maximum = _value_field(_("maximum"), "1.000")

    class Meta:
        verbose_name = _("reader-value rules")
        verbose_name_plural = _("reader-value rules")

    def __str__(self):
        return str(_("Reader-value rules"))


class Settlement(models.Model):
    """One ISO week's split of the prize pool. Draft → approved → paid; only a draft changes."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")

    week = models.CharField(_("ISO week"), max_length=8, unique=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.DRAFT)
    currency = models.CharField(max_length=10)
    pool_amount = models.DecimalField(_("pool"), **MONEY)
    # Money not paid out by earlier weeks (forfeited payouts, empty weeks) that this week adds.
    carried_in = models.DecimalField(_("carried in"), **MONEY, default=Decimal("0.00"))
    total_allocated = models.DecimalField(_("allocated"), **MONEY, default=Decimal("0.00"))
    # What the allocation could not give anyone (nobody reached the minimum); goes to a later week.
    carried_out = models.DecimalField(_("carried to a later week"), **MONEY, default=Decimal("0.00"))
    total_score = models.DecimalField(max_digits=24, decimal_places=6, default=Decimal("0"))
    creator_count = models.PositiveIntegerField(_("creator count"), default=0)
    # Every weight, rule and threshold the computation used, frozen with the result.
    parameters = models.JSONField(default=dict)
    computed_at = models.DateTimeField(_("computed at"))
    computation_ms = models.PositiveIntegerField(default=0)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_allocated__lte=models.F("pool_amount") + models.F("carried_in")),
                name="settlement_allocates_at_most_the_pool",
            ),
            models.CheckConstraint(
                condition=Q(total_allocated__gte=0, carried_out__gte=0, carried_in__gte=0, pool_amount__gte=0),
                name="settlement_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_at__isnull=False), name="settlement_approved_has_time"
            ),
            models.CheckConstraint(condition=~Q(status="paid") | Q(paid_at__isnull=False), name="settlement_paid_time"),
        ]
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")

    def __str__(self):
        return f"{self.week} ({self.get_status_display()})"

    @property
    def total_to_share(self) -> Decimal:
        return self.pool_amount + self.carried_in


class Contribution(models.Model):
    """What one creator brought in a settled week: raw and counted interactions, discounts, score."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="contributions")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contributions")
    # {"like": 120, ...}: every event in the log for this creator in the week, per action.
    raw_counts = models.JSONField(default=dict)
    # {"like": 80, ...}: interactions that counted, one per reader, post and action.
    counted_counts = models.JSONField(default=dict)
    counted_minutes = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    # {"self": 4, "daily_cap": 10, ...}: interactions that did not count, by reason.
    discounts = models.JSONField(default=dict)
    score = models.DecimalField(max_digits=20, decimal_places=6)
    # The exact fraction of the pool before rounding to the cent (0 when not paid).
    share = models.DecimalField(max_digits=14, decimal_places=12, default=Decimal("0"))
    rank = models.PositiveIntegerField()
    # Why no money: below the minimum payout, account suspended or frozen.
    excluded_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["settlement", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["settlement", "creator"], name="contribution_once_per_week"),
            models.CheckConstraint(condition=Q(score__gte=0), name="contribution_score_not_negative"),
        ]
        indexes = [models.Index(fields=["creator", "settlement"], name="contribution_creator")]
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")

    def __str__(self):
        return f"{self.creator_id} in {self.settlement_id}: {self.score}"


class Payout(models.Model):
    """One creator's money from one settlement."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending (settlement not paid yet)")
        HELD = "held", _("Held for review")
        PAID = "paid", _("Paid")
        FORFEITED = "forfeited", _("Forfeited after review")

    settlement = models.ForeignKey(
        Settlement, on_delete=models.CASCADE, related_name="payouts", verbose_name=_("settlement")
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts", verbose_name=_("creator")
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=10)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    hold_reason = models.CharField(_("hold reason"), max_length=200, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    appeal_message = models.TextField(_("appeal"), max_length=2_000, blank=True)
    appealed_at = models.DateTimeField(_("appealed at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    review_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-settlement__week", "-amount"]
        constraints = [
            # Paid once and only once: one payout per creator and week.
            models.UniqueConstraint(fields=["settlement", "creator"], name="payout_once_per_week"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_positive"),
            models.CheckConstraint(condition=~Q(status="paid") | Q(paid_at__isnull=False), name="payout_paid_time"),
        ]
        indexes = [
            models.Index(fields=["creator", "-id"], name="payout_creator_recent"),
            # The admin's review queue.
            models.Index(fields=["appealed_at"], name="payout_held_queue", condition=Q(status="held")),
        ]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")

    def __str__(self):
        return f"{self.amount} {self.currency} to {self.creator_id} ({self.status})"


class LedgerEntry(models.Model):
    """One leg of a transfer. Every transfer has legs summing to zero (a deferred trigger checks),
    so the ledger always balances; rows are never updated or deleted (a trigger refuses)."""

    transfer_id = models.UUIDField(db_index=True)
    # "pool:2026-W47", "creator:42", "held:2026-W47", "carryover", "treasury".
    account = models.CharField(max_length=40)
    amount = models.DecimalField(**MONEY)  # positive credits the account, negative debits it
    currency = models.CharField(max_length=10)
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, null=True, related_name="+")
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, null=True, related_name="+")
    memo = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_not_zero")]
        indexes = [models.Index(fields=["account", "id"], name="ledger_account")]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger")

    def __str__(self):
        return f"{self.account} {self.amount:+} {self.currency}"


class IntegrityFlag(models.Model):
    """Evidence that some interactions with a creator were not genuine; raised by a settlement."""

    class Rule(models.TextChoices):
        SAME_DEVICE = "same_device", _("Creator's own devices")
        SHARED_DEVICE = "shared_device", _("Accounts sharing a device")
        NEW_ACCOUNT_BURST = "new_account_burst", _("Burst of new non-trading accounts")
        LOCKSTEP = "lockstep", _("Accounts acting in lockstep")
        RECIPROCAL_RING = "reciprocal_ring", _("Reciprocal ring of creators")
        DENSE_BLOCK = "dense_block", _("Dense block of readers and creators")
        MACHINE_DWELL = "machine_dwell", _("Machine-like time spent")
        SHARED_NETWORK = "shared_network", _("Many accounts from one network")
        LOW_TRUST = "low_trust", _("Accounts the trusted community does not reach")

    class Severity(models.IntegerChoices):
        LOW = 1, _("low")
        MEDIUM = 2, _("medium")
        HIGH = 3, _("high")

    class Review(models.TextChoices):
        OPEN = "open", _("Open")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="flags")
    rule = models.CharField(max_length=24, choices=Rule)
    # Who benefited; `actors` are the accounts whose interactions were discounted.
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="integrity_flags")
    actors = ArrayField(models.BigIntegerField(), default=list)
    actor_count = models.PositiveIntegerField(default=0)
    discounted_interactions = models.PositiveIntegerField(default=0)
    evidence = models.JSONField(default=dict)
    severity = models.PositiveSmallIntegerField(choices=Severity)
    review = models.CharField(max_length=10, choices=Review, default=Review.OPEN)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-severity", "-discounted_interactions"]
        constraints = [
            models.UniqueConstraint(fields=["settlement", "rule", "creator"], name="flag_once_per_rule_creator"),
            models.CheckConstraint(condition=Q(severity__gte=1, severity__lte=3), name="flag_severity_range"),
        ]
        indexes = [models.Index(fields=["creator", "-id"], name="flag_creator_recent")]
        verbose_name = _("integrity flag")
        verbose_name_plural = _("integrity flags")

    def __str__(self):
        return f"{self.get_rule_display()} → {self.creator_id} (severity {self.severity})"


class ExchangeTransferRecord(models.Model):
    """What Orbit records of one instruction it sends to the exchange (a payout transfer, a tip):
    its attempts and last error, the exchange's id and refusal or failure code, and when each step
    happened. Each kind adds its idempotency key, its states and what it moves."""

    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    exchange_transfer_id = models.CharField(_("exchange transfer id"), max_length=64, blank=True)
    # The exchange's refusal or failure code (account_frozen, insufficient_funds …), or Orbit's own
    # reason for returning the money ("account_not_linked").
    failure_code = models.CharField(_("failure code"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # When the exchange says it completed (its event's time): the day reconciliation files it under.
    exchange_completed_at = models.DateTimeField(_("completed at the exchange"), null=True, blank=True)

    class Meta:
        abstract = True


class PayoutTransfer(ExchangeTransferRecord):
    """The money of one paid payout on its way to the creator's exchange account, sent exactly once.

    The idempotency key is stored before the first send and reused for every retry, so the exchange
    applies the instruction once however often it is sent (incentives/transfers.py)."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested (queued to send)")
        WAITING_FOR_ACCOUNT = "waiting_for_account", _("Waiting for a linked exchange account")
        SENT = "sent", _("Sent (the exchange holds it)")
        CONFIRMED = "confirmed", _("Confirmed by the exchange")
        RETURNED = "returned", _("Returned to the carry-over")
        STUCK = "stuck", _("Stuck (retries exhausted; needs an operator)")

    payout = models.OneToOneField(Payout, on_delete=models.PROTECT, related_name="transfer", verbose_name=_("payout"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.REQUESTED)
    # The exchange uid the money went to (empty until sent).
    to_uid = models.CharField(_("exchange uid"), max_length=64, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state__in=["sent", "confirmed"]) | (Q(sent_at__isnull=False) & ~Q(to_uid="")),
                name="payout_transfer_sent_has_time_and_uid",
            ),
            models.CheckConstraint(
                condition=~Q(state="confirmed") | Q(confirmed_at__isnull=False), name="payout_transfer_confirmed_time"
            ),
            models.CheckConstraint(
                condition=~Q(state="returned") | (Q(returned_at__isnull=False) & ~Q(failure_code="")),
                name="payout_transfer_returned_has_reason",
            ),
        ]
        indexes = [
            # The sweep and the operator's view: everything not finished yet.
            models.Index(
                fields=["state", "created_at"],
                name="payout_transfer_open",
                condition=Q(state__in=["requested", "waiting_for_account", "sent", "stuck"]),
            ),
            # Reconciliation reads one day of completions at a time.
            models.Index(fields=["exchange_completed_at"], name="payout_transfer_completed"),
        ]
        verbose_name = _("payout transfer")
        verbose_name_plural = _("payout transfers")

    def __str__(self):
        return f"{self.idempotency_key} ({self.state})"


class Tip(ExchangeTransferRecord):
    """A reader's tip to a creator (for one post, or for the creator), paid from the reader's exchange
    balance into the creator's, in whole units of the pool currency; Orbit keeps no cut.

    Money, not engagement: a tip never enters the engagement log or a contribution score. Shown on
    the post and in the creator's statement only once the exchange confirms it (incentives/tips.py)."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested (queued to send)")
        SENT = "sent", _("Sent (the exchange holds it)")
        CONFIRMED = "confirmed", _("Confirmed by the exchange")
        REFUSED = "refused", _("Refused by the exchange (nothing moved)")
        FAILED = "failed", _("Failed at the exchange (given back)")
        STUCK = "stuck", _("Stuck (retries exhausted; needs an operator)")

    tipper = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tips_given", verbose_name=_("tipper")
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tips_received", verbose_name=_("creator")
    )
    # Empty for a tip to the creator rather than to one of their posts.
    post = models.ForeignKey(
        "feed.Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="tips", verbose_name=_("post")
    )
    # Whole units of `currency`: tips are 1, 5, 20 USDT, never cents.
    amount = models.PositiveIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=10)
    # "tip:<tipper id>:<the form's one-time token>": a double submit is one tip, every retry one key.
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.REQUESTED)
    from_uid = models.CharField(_("tipper's exchange uid"), max_length=64)
    to_uid = models.CharField(_("creator's exchange uid"), max_length=64)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(tipper=models.F("creator")), name="tip_not_to_oneself"),
            models.CheckConstraint(condition=Q(amount__gte=1), name="tip_at_least_one_unit"),
            models.CheckConstraint(
                condition=~Q(state__in=["sent", "confirmed"]) | Q(sent_at__isnull=False), name="tip_sent_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(state="confirmed") | Q(confirmed_at__isnull=False), name="tip_confirmed_time"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["refused", "failed"]) | ~Q(failure_code=""), name="tip_refused_has_reason"
            ),
        ]
        indexes = [
            # The daily limit: a reader's tips of the last day.
            models.Index(fields=["tipper", "created_at"], name="tip_by_tipper_time"),
            # A post's confirmed tips, shown under it.
            models.Index(fields=["post", "state"], name="tip_by_post_state"),
            models.Index(fields=["creator", "state", "created_at"], name="tip_by_creator_state"),
            # The sweep (lost messages, silent sends) and reconciliation's day of completions.
            models.Index(
                fields=["state", "updated_at"], name="tip_open", condition=Q(state__in=["requested", "sent", "stuck"])
            ),
            models.Index(fields=["exchange_completed_at"], name="tip_completed"),
        ]
        verbose_name = _("tip")
        verbose_name_plural = _("tips")

    def __str__(self):
        return f"{self.idempotency_key} ({self.amount} {self.currency}, {self.state})"


class TransferReconciliation(models.Model):
    """One day's comparison of the transfers Orbit holds as confirmed with the exchange's report of
    the transfers it completed that day (UTC), payouts and tips alike (incentives/reconciliation.py)."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("Matched")
        DIFFERENCES = "differences", _("Differences found")
        UNAVAILABLE = "unavailable", _("Exchange report unavailable")

    day = models.DateField(_("day"), unique=True)
    status = models.CharField(_("status"), max_length=20, choices=Status)
    checked_at = models.DateTimeField(_("checked at"))
    exchange_count = models.PositiveIntegerField(_("transfers in the exchange's report"), default=0)
    orbit_count = models.PositiveIntegerField(_("transfers confirmed in Orbit"), default=0)
    # {"USDT": {"exchange": "123.45", "orbit": "123.45"}}: sums per currency, as strings (exact).
    totals = models.JSONField(_("totals"), default=dict, blank=True)
    # [{"idempotency_key", "kind", "problem", "orbit", "exchange"}], one per difference.
    differences = models.JSONField(_("differences"), default=list, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    # An operator looked at the differences and recorded what was done.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("transfer reconciliation")
        verbose_name_plural = _("transfer reconciliations")

    def __str__(self):
        return f"{self.day} ({self.status})"


# --- Engagement rollups (incentives/folding.py) --------------------------------------------------
# The settlement and the live estimate read these instead of grouping a raw week of feed_engagement.
# Plain integer ids, no foreign keys: the fold upserts tens of thousands of rows a second, and
# every row comes from the append-only log whose own keys are already checked.


class EngagementRollup(models.Model):
    """One week's events by reader, creator, post (or followed person) and action, with aggregates
    that merge (sums, minima, maxima): what `contributions` groups the raw week into, kept up to date."""

    week_starts_at = models.DateTimeField()  # Monday 00:00 in ORBIT_SETTLEMENT_TZ
    reader_id = models.BigIntegerField(null=True)  # null: signed out
    creator_id = models.BigIntegerField()
    post_id = models.BigIntegerField(null=True)  # null: a follow
    # The engagement kind, an unlike (4) folded into like (3) and an unfollow (9) into follow (8).
    kind = models.SmallIntegerField()
    events = models.IntegerField()  # the kind's own events, undos not counted
    net = models.IntegerField()  # events minus undos
    first_at = models.DateTimeField()
    # The latest event that is not an undo: an earlier week's interaction is a repeat only if one
    # falls inside the post's earning window.
    last_at = models.DateTimeField(null=True)
    dwell_ms = models.BigIntegerField()  # Σ per-event dwell, each capped at the week's dwell_cap_ms
    min_dwell_ms = models.IntegerField()
    fingerprint = models.BigIntegerField(null=True)  # smallest 64-bit hash of the device fingerprints
    other_fingerprint = models.BigIntegerField(null=True)  # largest
    network = models.BigIntegerField(null=True)  # smallest network-prefix hash

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week_starts_at", "reader_id", "creator_id", "post_id", "kind"],
                nulls_distinct=False,
                name="engagement_rollup_key",
            )
        ]
        indexes = [
            # Has this reader followed this person in an earlier week? (the settlement's repeats)
            models.Index(
                fields=["reader_id", "creator_id", "week_starts_at"],
                condition=Q(kind=8, post_id__isnull=True),
                name="engagement_rollup_follows",
            ),
        ]

    def __str__(self):
        return (
            f"{self.week_starts_at:%Y-%m-%d} kind {self.kind} by {self.reader_id} on {self.post_id or self.creator_id}"
        )


class EngagementRollupWeek(models.Model):
    """What the rollups of one week were folded with, and the latest event they hold."""

    week_starts_at = models.DateTimeField(primary_key=True)
    week = models.CharField(max_length=8)  # "2026-W47", for people
    # Null when rows folded under different caps are mixed (a closed week when the cap changed):
    # the settlement then reads that week from the raw log.
    dwell_cap_ms = models.IntegerField(null=True)
    last_occurred_at = models.DateTimeField()
    events = models.BigIntegerField()  # rows folded into the week, undos included

    def __str__(self):
        return self.week


class FoldedTradeClick(models.Model):
    """A signed-in reader's trade click: a conversion needs the click's own time before the fill."""

    reader_id = models.BigIntegerField()
    post_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["reader_id", "post_id", "occurred_at"], name="folded_click_reader_post")]

    def __str__(self):
        return f"trade click by {self.reader_id} on {self.post_id}"


class FoldWatermark(models.Model):
    """The one row saying what has been folded: every engagement row the stored snapshot could see
    (and the rows of PartlyFoldedTransaction). The fold locks it, so two folds never overlap."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    # pg_current_snapshot() of the statement that read the last batch, as text; null before any fold.
    snapshot = models.TextField(null=True)  # noqa: DJ001 - null means "never folded", not ""
    dwell_cap_ms = models.IntegerField(null=True)  # the per-event dwell cap the open weeks hold
    folded_at = models.DateTimeField(null=True)
    events_folded = models.BigIntegerField(default=0)

    def __str__(self):
        return f"folded up to {self.snapshot}"


class PartlyFoldedTransaction(models.Model):
    """A transaction whose rows a fold read while it was still open (the fold ran inside it): rows up
    to `folded_up_to_id` are folded, later ones are not. Forgotten once the watermark sees it."""

    xact = models.BigIntegerField(primary_key=True)
    folded_up_to_id = models.BigIntegerField()

    def __str__(self):
        return f"transaction {self.xact} folded up to row {self.folded_up_to_id}"
