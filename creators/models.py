from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import names


class User(AbstractUser):
    """An Orbit account. Reading, posting and being paid all hang off this row."""

    # Suspension hides a user's content and zeroes their reader value; unlike
    # is_active it keeps the account able to log in and see why.
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    # Set by creators.privacy.delete_account: the row stays as an anonymous tombstone so the
    # engagement log and the ledger keep pointing at it, but every personal field is blank.
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)
    # When the password or the two-factor setup last changed: API tokens created before it are
    # refused (creators/tokens.py). Set by set_password, whatever calls it (allauth, admin,
    # changepassword), and by creators/signals.py when an authenticator is added or removed.
    credentials_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # creators.names.username_skeleton(username): unique, so that no two names look alike. Null
    # only for look-alikes that existed before the rule (migration 0009 lists them).
    username_skeleton = models.CharField(max_length=600, null=True, blank=True, editable=False)  # noqa: DJ001

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(fields=["username_skeleton"], name="user_username_skeleton_unique"),
        ]

    def __str__(self):
        return self.username

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._loaded_username = user.__dict__.get("username")
        return user

    def clean(self):
        super().clean()
        if self._state.adding or self.username != getattr(self, "_loaded_username", None):
            names.check_username_is_distinct(self.username, user_id=self.pk)

    def save(self, *args, **kwargs):
        # Only a new or renamed account gets its skeleton (re)computed, so that the legacy
        # look-alikes left without one can still save their other fields.
        if self._state.adding or self.username != getattr(self, "_loaded_username", None):
            self.username_skeleton = names.username_skeleton(self.username)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "username" in update_fields:
                kwargs["update_fields"] = {*update_fields, "username_skeleton"}
        super().save(*args, **kwargs)
        self._loaded_username = self.username

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.credentials_changed_at = timezone.now()


class CreatorTitle(models.Model):
    """A creator stage shown as a badge; operators set the names and the follower threshold."""

    slug = models.SlugField(primary_key=True, max_length=32)
    name_en = models.CharField(_("English name"), max_length=40)
    name_zh = models.CharField(_("Chinese name"), max_length=40)
    min_followers = models.PositiveIntegerField(_("followers needed"), default=0)
    # Score summed over the last RECENT_CONTRIBUTION_WEEKS settled weeks (see Profile.recent_contribution).
    min_recent_contribution = models.DecimalField(
        _("recent contribution needed"), max_digits=20, decimal_places=6, default=0, db_default=0
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["min_followers", "min_recent_contribution", "slug"]
        verbose_name = _("creator title")
        verbose_name_plural = _("creator titles")

    def __str__(self):
        return self.name_en


class Profile(models.Model):
    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        CHINESE = "zh-hans", _("Simplified Chinese")

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    bio = models.TextField(_("bio"), max_length=500, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/%Y/%m/", blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language, default=Language.ENGLISH)
    # Whether others may see the Performance tab (figures from the person's exchange fills);
    # private unless the person opts in (creators.performance.is_public).
    show_performance = models.BooleanField(_("show my trading performance"), default=False, db_default=False)
    # Earned, never chosen: set only by creators.services.refresh_creator_titles.
    title = models.ForeignKey(
        CreatorTitle, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    # Written by the weekly settlement: the creator's score over the recent settled weeks.
    recent_contribution = models.DecimalField(max_digits=20, decimal_places=6, default=0, db_default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self):
        return self.display_name or self.user.username


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_set")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_set")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Two racing "follow" clicks must leave one row, not two.
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_once_per_pair"),
            models.CheckConstraint(condition=~Q(follower=F("followee")), name="follow_not_self"),
        ]
        indexes = [
            # Follower lists and counts of a creator, newest first.
            models.Index(fields=["followee", "-created_at"], name="follow_followee_recent"),
        ]
        verbose_name = _("follow")
        verbose_name_plural = _("follows")

    def __str__(self):
        return f"{self.follower_id} → {self.followee_id}"


class Mute(models.Model):
    """`user` no longer sees `target`'s posts and comments; `target` is not told."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mutes")
    target = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "target"], name="mute_once_per_pair"),
            models.CheckConstraint(condition=~Q(user=F("target")), name="mute_not_self"),
        ]

    def __str__(self):
        return f"{self.user_id} mutes {self.target_id}"


class Block(models.Model):
    """Like a mute, and `target` can no longer follow, comment on or mention `user`."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks")
    target = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocked_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "target"], name="block_once_per_pair"),
            models.CheckConstraint(condition=~Q(user=F("target")), name="block_not_self"),
        ]

    def __str__(self):
        return f"{self.user_id} blocks {self.target_id}"


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

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="trading_profile")
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
    # When the exchange linked the account, and the time of the last event applied to each
    # state, so that an event delivered late never overwrites a newer one.
    linked_at = models.DateTimeField(null=True, blank=True)
    kyc_changed_at = models.DateTimeField(null=True, blank=True)
    frozen_changed_at = models.DateTimeField(null=True, blank=True)
    positions_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kyc_level__lte=3), name="trading_kyc_level_known"),
            models.CheckConstraint(condition=Q(volume_tier__lte=4), name="trading_volume_tier_known"),
            models.CheckConstraint(condition=Q(volume_30d_usd__gte=0), name="trading_volume_not_negative"),
        ]
        verbose_name = _("trading profile")
        verbose_name_plural = _("trading profiles")

    def __str__(self):
        return f"Trading profile of {self.user_id}"


# --- What the exchange tells us (creators/exchange.py applies it) ----------------------


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
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="fills")
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

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="positions")
    instrument = models.CharField(max_length=48)
    instrument_type = models.CharField(max_length=16, choices=TradingProfile.Instrument)
    asset = models.CharField(max_length=20)
    side = models.CharField(max_length=5, choices=Side)
    quantity = models.DecimalField(max_digits=32, decimal_places=12)
    entry_price = models.DecimalField(max_digits=32, decimal_places=12, null=True, blank=True)
    mark_price = models.DecimalField(max_digits=32, decimal_places=12, null=True, blank=True)
    taken_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "instrument", "side"], name="position_once_per_instrument"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="position_quantity_positive"),
        ]
        verbose_name = _("position")
        verbose_name_plural = _("positions")

    def __str__(self):
        return f"{self.side} {self.quantity} {self.instrument}"


class ApiToken(models.Model):
    """A key for the API (`Authorization: Token <key>`), one per client the person signs in with.

    Only a SHA-256 hash of the key is stored: a copy of the database opens no account. `prefix`,
    the key's first characters, lets the person tell their tokens apart in settings. A token
    works until it expires, is revoked, or its user's password or two-factor setup changes
    (User.credentials_changed_at); creators/tokens.py decides, in `refusal()`."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Written at most once a minute per token, so that a busy client does not write on every call.
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_recent")]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
