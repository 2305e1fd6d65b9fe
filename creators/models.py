from django.contrib.auth.models import AbstractUser
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
            names.check_username_is_distinct(self.username, other_users=User.objects.exclude(pk=self.pk))

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
    # private unless the person opts in (markets.performance.is_public).
    show_performance = models.BooleanField(_("show my trading performance"), default=False, db_default=False)
    # Whether readers may tip this person from their exchange balance (incentives.tips).
    accepts_tips = models.BooleanField(_("accept tips from readers"), default=True, db_default=True)
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
