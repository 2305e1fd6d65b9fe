"""What the exchange tells Orbit: assets, linked accounts' trading profiles, the events the signed
webhook applied, fills and positions, and candles from the market-data API.

The tables keep the names they had when these models lived in `creators` and `feed`."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Asset(models.Model):
    """A tradable asset named by a cashtag ($BTC)."""

    symbol = models.CharField(
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,20}$", _("Use 2 to 20 upper-case letters or digits."))],
    )
    name = models.CharField(max_length=80)
    is_listed = models.BooleanField(_("listed on the exchange"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "feed_asset"  # created by feed before Orbit had a markets app
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=Q(symbol__regex=r"^[A-Z0-9]{2,20}$"), name="asset_symbol_upper"),
        ]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")

    def __str__(self):
        return f"${self.symbol}"


# The shape of an exchange identity hash: 16 to 128 URL-safe characters (hex, base64url).
KYC_IDENTITY_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"


class TradingProfile(models.Model):
    """What the exchange reports about a user's trading; never edited by the user."""

    class KycLevel(models.IntegerChoices):
        NONE = 0, _("None")
        BASIC = 1, _("Basic")
        VERIFIED = 2, _("Verified")
        ADVANCED = 3, _("Advanced")

    class VolumeTier(models.IntegerChoices):
        INACTIVE = 0, _("No trading")
        LIGHT = 1, _("Light")
        REGULAR = 2, _("Regular")
        ACTIVE = 3, _("Active")
        WHALE = 4, _("Whale")

    class Instrument(models.TextChoices):
        SPOT = "spot", _("Spot")
        PERPETUAL = "perpetual", _("Perpetual")
        OPTIONS = "options", _("Options")
        EARN = "earn", _("Earn")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="trading_profile"
    )
    exchange_uid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    kyc_level = models.PositiveSmallIntegerField(choices=KycLevel, default=KycLevel.NONE)
    volume_tier = models.PositiveSmallIntegerField(choices=VolumeTier, default=VolumeTier.INACTIVE)
    # Upper-case symbols, most traded first.
    traded_assets = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    instruments = ArrayField(models.CharField(max_length=16, choices=Instrument), default=list, blank=True)
    volume_30d_usd = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    trades_30d = models.PositiveIntegerField(default=0)
    account_opened_at = models.DateTimeField(null=True, blank=True)
    last_trade_at = models.DateTimeField(null=True, blank=True)
    # 30-day traded volume in US dollars per asset symbol, as strings ("12345.67"); traded_assets
    # is its keys, largest first.
    volume_by_asset = models.JSONField(default=dict, blank=True)
    # A frozen exchange account earns nothing and its reading counts for nothing.
    is_frozen = models.BooleanField(default=False)
    # An opaque hash the exchange derives from the verified identity behind the account (never the
    # identity itself): accounts sharing it belong to one person, whose payouts are capped together.
    # Private: in the person's export, never on a page or in the API. Null when the exchange sent
    # none, never "": accounts without one must not all look like one person.
    kyc_identity = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    # When the exchange linked the account, and the time of the last event applied to each
    # state, so that an event delivered late never overwrites a newer one.
    linked_at = models.DateTimeField(null=True, blank=True)
    kyc_changed_at = models.DateTimeField(null=True, blank=True)
    kyc_identity_changed_at = models.DateTimeField(null=True, blank=True)
    frozen_changed_at = models.DateTimeField(null=True, blank=True)
    positions_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "creators_tradingprofile"  # created by creators before Orbit had a markets app
        constraints = [
            models.CheckConstraint(condition=Q(kyc_level__lte=3), name="trading_kyc_level_known"),
            models.CheckConstraint(condition=Q(volume_tier__lte=4), name="trading_volume_tier_known"),
            models.CheckConstraint(condition=Q(volume_30d_usd__gte=0), name="trading_volume_not_negative"),
            models.CheckConstraint(
                condition=Q(kyc_identity__isnull=True) | Q(kyc_identity__regex=KYC_IDENTITY_PATTERN),
                name="trading_kyc_identity_shape",
            ),
        ]
        indexes = [
            # The settlement groups this week's creators by identity; operators look up one identity.
            models.Index(fields=["kyc_identity"], condition=Q(kyc_identity__isnull=False), name="trading_kyc_identity"),
        ]
        verbose_name = _("trading profile")
        verbose_name_plural = _("trading profiles")

    def __str__(self):
        return f"Trading profile of {self.user_id}"


class ExchangeEvent(models.Model):
    """An exchange event that was applied, kept under its idempotency key: a redelivery of the
    same key finds this row and changes nothing. Refused events are never stored."""

    key = models.CharField(max_length=128, primary_key=True)
    type = models.CharField(max_length=32)
    exchange_uid = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField()

    class Meta:
        db_table = "creators_exchangeevent"  # created by creators before Orbit had a markets app
        indexes = [BrinIndex(fields=["received_at"], name="exchange_event_received_brin")]
        verbose_name = _("exchange event")
        verbose_name_plural = _("exchange events")

    def __str__(self):
        return f"{self.type} {self.key}"


class Fill(models.Model):
    """A trade filled on the exchange for a linked account: the fact behind trading profiles,
    verified trade cards, the Performance tab and conflict-of-interest disclosures."""

    class Side(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    # The exchange's own trade id: one fill is stored once whatever the event that carried it.
    fill_id = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fills")
    # OKX-style instrument id: BTC-USDT (spot), BTC-USDT-SWAP (perpetual), BTC-USD-261225-100000-C (option).
    instrument = models.CharField(max_length=48)
    instrument_type = models.CharField(max_length=16, choices=TradingProfile.Instrument)
    asset = models.CharField(max_length=20)
    quote = models.CharField(max_length=20)
    side = models.CharField(max_length=4, choices=Side)
    quantity = models.DecimalField(max_digits=32, decimal_places=12)
    price = models.DecimalField(max_digits=32, decimal_places=12)
    # Positive is paid, negative a maker rebate; in `fee_currency`.
    fee = models.DecimalField(max_digits=32, decimal_places=12, default=0)
    fee_currency = models.CharField(max_length=20, blank=True)
    # quantity × price in US dollars; null when the quote is not a dollar stablecoin.
    notional_usd = models.DecimalField(max_digits=24, decimal_places=2, null=True, blank=True)
    filled_at = models.DateTimeField()

    class Meta:
        db_table = "creators_fill"  # created by creators before Orbit had a markets app
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_positive"),
        ]
        indexes = [
            # Trading profiles (30-day window) and performance replays, per user in time order.
            models.Index(fields=["user", "filled_at"], name="fill_user_time"),
            # Trade-card verification and disclosures: one user's fills of one asset around a moment.
            models.Index(fields=["user", "asset", "filled_at"], name="fill_user_asset_time"),
        ]
        verbose_name = _("fill")
        verbose_name_plural = _("fills")

    def __str__(self):
        return f"{self.side} {self.quantity} {self.instrument} @ {self.price}"


class Position(models.Model):
    """An open position from the exchange's latest snapshot of an account (replaced whole by a
    newer snapshot). Private: it feeds instruments used, never a public page."""

    class Side(models.TextChoices):
        LONG = "long", _("Long")
        SHORT = "short", _("Short")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="positions")
    instrument = models.CharField(max_length=48)
    instrument_type = models.CharField(max_length=16, choices=TradingProfile.Instrument)
    asset = models.CharField(max_length=20)
    side = models.CharField(max_length=5, choices=Side)
    quantity = models.DecimalField(max_digits=32, decimal_places=12)
    entry_price = models.DecimalField(max_digits=32, decimal_places=12, null=True, blank=True)
    mark_price = models.DecimalField(max_digits=32, decimal_places=12, null=True, blank=True)
    taken_at = models.DateTimeField()

    class Meta:
        db_table = "creators_position"  # created by creators before Orbit had a markets app
        constraints = [
            models.UniqueConstraint(fields=["user", "instrument", "side"], name="position_once_per_instrument"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="position_quantity_positive"),
        ]
        verbose_name = _("position")
        verbose_name_plural = _("positions")

    def __str__(self):
        return f"{self.side} {self.quantity} {self.instrument}"


class Candle(models.Model):
    """One OHLC bar of an instrument from the market-data API (markets.market_data), upserted by time."""

    instrument = models.CharField(max_length=48)
    bar = models.CharField(max_length=8)
    opened_at = models.DateTimeField()
    open = models.DecimalField(max_digits=32, decimal_places=12)
    high = models.DecimalField(max_digits=32, decimal_places=12)
    low = models.DecimalField(max_digits=32, decimal_places=12)
    close = models.DecimalField(max_digits=32, decimal_places=12)
    volume = models.DecimalField(max_digits=40, decimal_places=12, default=0)
    # False while the bar is still open (OKX's "confirm" flag); a later poll overwrites it.
    is_closed = models.BooleanField(default=True)

    class Meta:
        db_table = "feed_candle"  # created by feed before Orbit had a markets app
        constraints = [
            models.UniqueConstraint(fields=["instrument", "bar", "opened_at"], name="candle_once_per_bar"),
            models.CheckConstraint(condition=Q(low__gt=0) & Q(low__lte=F("high")), name="candle_prices_sane"),
        ]
        verbose_name = _("candle")
        verbose_name_plural = _("candles")

    def __str__(self):
        return f"{self.instrument} {self.bar} {self.opened_at:%Y-%m-%d %H:%M}"
