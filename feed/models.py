from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex, GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from markets.models import Asset, Fill


class PostType(models.Model):
    """A content type an author picks (education, analysis…); operators may add more in admin."""

    slug = models.SlugField(primary_key=True, max_length=32)
    name_en = models.CharField(_("English name"), max_length=60)
    name_zh = models.CharField(_("Chinese name"), max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("content type")
        verbose_name_plural = _("content types")

    def __str__(self):
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class Hashtag(models.Model):
    # Stored lower-case so #DeFi and #defi are one tag.
    name = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(name=Lower("name")), name="hashtag_lowercase"),
        ]
        verbose_name = _("hashtag")
        verbose_name_plural = _("hashtags")

    def __str__(self):
        return f"#{self.name}"


class Post(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published", _("Published")
        HIDDEN = "hidden", _("Hidden by moderation")
        DELETED = "deleted", _("Deleted by author")

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        CHINESE = "zh", _("Chinese")

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="posts", verbose_name=_("author")
    )
    content_type = models.ForeignKey(
        PostType,
        on_delete=models.PROTECT,
        db_column="content_type",
        related_name="+",
        verbose_name=_("content type"),
    )
    body = models.TextField(_("body (Markdown)"), max_length=10_000)
    # The sanitized rendering of `body`; rebuilt by `manage.py rerender_posts`.
    body_html = models.TextField(blank=True, db_default="")
    # Full-text search document, kept by Postgres itself: English words stemmed, and every run of
    # Chinese characters as overlapping two-character grams (Chinese has no spaces to split words on;
    # orbit_cjk_bigrams is defined in migration 0004).
    search_vector = models.GeneratedField(
        expression=SearchVector("body", config="english")
        + SearchVector(models.Func(F("body"), function="orbit_cjk_bigrams"), config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # Counters for feeds; the facts are Like and Comment rows (`manage.py recount_posts` rebuilds them).
    like_count = models.PositiveIntegerField(db_default=0, default=0)
    comment_count = models.PositiveIntegerField(db_default=0, default=0)
    repost_count = models.PositiveIntegerField(db_default=0, default=0)
    quote_count = models.PositiveIntegerField(db_default=0, default=0)
    # Views the server recorded, folded in batches from Redis (never counted from client claims).
    view_count = models.PositiveBigIntegerField(db_default=0, default=0)
    # A repost is a post with no text of its own that puts `repost_of` in the author's followers'
    # feeds; a quote is a post with its own text that embeds `quote_of`. Never both.
    repost_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="reposts", verbose_name=_("repost of")
    )
    quote_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes", verbose_name=_("quote of")
    )
    language = models.CharField(_("language"), max_length=8, choices=Language, default=Language.ENGLISH)
    status = models.CharField(_("status"), max_length=12, choices=Status, default=Status.PUBLISHED)
    assets = models.ManyToManyField(Asset, blank=True, related_name="posts")
    hashtags = models.ManyToManyField(Hashtag, blank=True, related_name="posts")
    created_at = models.DateTimeField(_("created at"), db_default=models.functions.Now())
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status="deleted", deleted_at__isnull=False) | ~Q(status="deleted"),
                name="post_deleted_has_time",
            ),
            models.CheckConstraint(
                condition=Q(repost_of__isnull=True) | Q(quote_of__isnull=True), name="post_repost_or_quote"
            ),
            # One live repost per person and post: concurrent clicks insert once.
            models.UniqueConstraint(
                fields=["author", "repost_of"],
                condition=Q(repost_of__isnull=False) & ~Q(status="deleted"),
                name="post_repost_once",
            ),
        ]
        indexes = [
            # Keyset pagination of the Latest feed: (created_at, id) descending.
            models.Index(
                F("created_at").desc(),
                F("id").desc(),
                name="post_latest_published",
                condition=Q(status="published"),
            ),
            # A creator's profile page and the Following feed.
            models.Index(F("author"), F("created_at").desc(), name="post_author_recent"),
            GinIndex(fields=["search_vector"], name="post_search_vector"),
        ]
        verbose_name = _("post")
        verbose_name_plural = _("posts")

    def __str__(self):
        return f"Post {self.pk} by {self.author_id}"


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comments")
    # One level of replies: a reply's parent is a top-level comment (checked in the service).
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies")
    body = models.TextField(max_length=2_000)
    like_count = models.PositiveIntegerField(db_default=0, default=0)
    created_at = models.DateTimeField(db_default=models.functions.Now())
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="comment_not_own_parent"),
        ]
        indexes = [models.Index(fields=["post", "created_at"], name="comment_post_time")]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self):
        return f"Comment {self.pk} on {self.post_id}"


class Like(models.Model):
    """The current like state; the history of likes and unlikes is in Engagement."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        constraints = [
            # Concurrent double-clicks insert once; the loser gets an IntegrityError.
            models.UniqueConstraint(fields=["user", "post"], name="like_once_per_user_post"),
        ]
        indexes = [models.Index(fields=["post", "created_at"], name="like_post_time")]
        verbose_name = _("like")
        verbose_name_plural = _("likes")

    def __str__(self):
        return f"{self.user_id} likes {self.post_id}"


class CommentLike(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_likes")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "comment"], name="comment_like_once")]
        verbose_name = _("comment like")
        verbose_name_plural = _("comment likes")

    def __str__(self):
        return f"{self.user_id} likes comment {self.comment_id}"


class Bookmark(models.Model):
    """A post saved for later; private to its owner."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="bookmark_once")]
        indexes = [models.Index(F("user"), F("created_at").desc(), F("id").desc(), name="bookmark_user_recent")]
        verbose_name = _("bookmark")
        verbose_name_plural = _("bookmarks")

    def __str__(self):
        return f"{self.user_id} saved {self.post_id}"


class AssetVote(models.Model):
    """A reader's bullish or bearish call on an asset for one day (UTC); one per reader, asset and
    day, changeable during the day."""

    class Direction(models.TextChoices):
        BULLISH = "bull", _("Bullish")
        BEARISH = "bear", _("Bearish")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="asset_votes")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="votes")
    day = models.DateField()
    direction = models.CharField(max_length=4, choices=Direction)
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "asset", "day"], name="asset_vote_once_a_day")]
        indexes = [models.Index(fields=["asset", "day", "direction"], name="asset_vote_split")]
        verbose_name = _("asset vote")
        verbose_name_plural = _("asset votes")

    def __str__(self):
        return f"{self.user_id} {self.direction} on {self.asset_id} {self.day}"


class Share(models.Model):
    """A share link; each opening of it is an Engagement row of kind share_open."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="shares")
    code = models.CharField(max_length=16, unique=True)
    channel = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        indexes = [models.Index(fields=["post", "created_at"], name="share_post_time")]
        verbose_name = _("share")
        verbose_name_plural = _("shares")

    def __str__(self):
        return f"Share {self.code} of {self.post_id}"


class Report(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam or advertising")
        SCAM = "scam", _("Scam or phishing")
        MANIPULATION = "manipulation", _("Market manipulation or pump")
        ABUSE = "abuse", _("Harassment or hate")
        MISLEADING = "misleading", _("False or misleading")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACTIONED = "actioned", _("Actioned")
        DISMISSED = "dismissed", _("Dismissed")

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=16, choices=Reason)
    details = models.TextField(max_length=1_000, blank=True)
    status = models.CharField(max_length=12, choices=Status, default=Status.OPEN)
    created_at = models.DateTimeField(db_default=models.functions.Now())
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reporter", "post"], name="report_once_per_user_post"),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="report_open_queue", condition=Q(status="open")),
        ]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self):
        return f"Report {self.pk} on {self.post_id} ({self.reason})"


class Engagement(models.Model):
    """The append-only log of what people did; ranking and payouts both read it.

    Never updated or deleted (a database trigger refuses both); an undo such as
    an unlike is a new row.
    """

    class Kind(models.IntegerChoices):
        VIEW = 1, _("view")
        DWELL = 2, _("time spent")
        LIKE = 3, _("like")
        UNLIKE = 4, _("unlike")
        COMMENT = 5, _("comment")
        SHARE = 6, _("share")
        SHARE_OPEN = 7, _("share opened")
        FOLLOW = 8, _("follow")
        UNFOLLOW = 9, _("unfollow")
        TRADE_CLICK = 10, _("trade click")
        HIDE = 11, _("hide")
        REPORT = 12, _("report")

    id = models.BigAutoField(primary_key=True)
    # Null for a signed-out reader.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # Null for events about a person rather than a post (follow).
    post = models.ForeignKey(Post, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False)
    # The post's author (or the followed person): who the event is worth something to.
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.PositiveSmallIntegerField(choices=Kind)
    # For share_open: which share link was opened (credits the sharer).
    share = models.ForeignKey(
        "Share", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    dwell_ms = models.PositiveIntegerField(default=0)
    # Set in Python per event: the database's now() is the transaction's start, the
    # same for every event a transaction writes. The db_default serves bulk loads.
    occurred_at = models.DateTimeField(default=timezone.now, db_default=models.functions.Now())
    # Salted hash of IP and device id: links sybil accounts without storing either.
    fingerprint = models.CharField(max_length=32, blank=True)
    # Salted hash of the client's network prefix (IPv4 /24, IPv6 /48; orbit.fingerprints.network_prefix):
    # a second signal, shared by every device and address of one home, office or farm. Null where
    # unknown: rows from before it, seeded rows, events without an address.
    network_prefix = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__gte=1, kind__lte=12), name="engagement_kind_known"),
            models.CheckConstraint(condition=Q(kind=2) | Q(dwell_ms=0), name="engagement_dwell_only_on_dwell"),
            # Follows are about a person; everything else is about a post.
            models.CheckConstraint(
                condition=Q(kind__in=[8, 9], post__isnull=True) | (~Q(kind__in=[8, 9]) & Q(post__isnull=False)),
                name="engagement_post_matches_kind",
            ),
        ]
        indexes = [
            # Rows arrive in time order, so a BRIN index covers time-range scans at a tiny size.
            BrinIndex(fields=["occurred_at"], name="engagement_time_brin"),
            # Per-creator windows: weekly settlement and the creator statement.
            models.Index(fields=["creator", "occurred_at"], name="engagement_creator_time"),
            # Per-post windows: counts on a post, ranking signals.
            models.Index(fields=["post", "occurred_at"], name="engagement_post_time"),
            # Per-reader history: interest profiles, seen-post filtering, caps.
            models.Index(fields=["actor", "occurred_at"], name="engagement_actor_time"),
            # Has this reader followed this person before? The settlement asks for every follow of
            # the week, over all history; follow rows are a sliver of the log, so this stays small.
            models.Index(
                fields=["actor", "creator", "occurred_at"], condition=Q(kind=8), name="engagement_follow_pair"
            ),
        ]
        verbose_name = _("engagement")
        verbose_name_plural = _("engagement log")

    def __str__(self):
        return f"{self.get_kind_display()} by {self.actor_id} on {self.post_id}"


class PostRevision(models.Model):
    """The text (and trade card) a post had before an edit."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    content_type_id = models.CharField(max_length=32)
    # The card as readers saw it (feed.services.card_snapshot), so a card edited after the market
    # moved still shows what it first said; null when the post had no card.
    trade_card = models.JSONField(null=True, blank=True)
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-replaced_at"]

    def __str__(self):
        return f"Revision of {self.post_id} at {self.replaced_at:%Y-%m-%d %H:%M}"


class PostImage(models.Model):
    """Re-encoded by orbit.images under a random name: `image` is the display size (the post page),
    `thumbnail` the one lists show. Rows stored before thumbnails existed have neither size nor thumbnail."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="posts/%Y/%m/")
    thumbnail = models.ImageField(upload_to="posts/thumbs/%Y/%m/", blank=True)
    width = models.PositiveSmallIntegerField(null=True, blank=True)
    height = models.PositiveSmallIntegerField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["post", "position"], name="post_image_position_unique"),
            models.CheckConstraint(condition=Q(position__lt=4), name="post_image_at_most_four"),
        ]

    def __str__(self):
        return f"Image {self.position} of {self.post_id}"

    @property
    def thumbnail_url(self) -> str:
        return (self.thumbnail or self.image).url


class TradeCard(models.Model):
    """A position or trade the author shows; the Trade button goes through Orbit's redirect."""

    class Side(models.TextChoices):
        LONG = "long", _("Long")
        SHORT = "short", _("Short")
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    post = models.OneToOneField(Post, on_delete=models.CASCADE, primary_key=True, related_name="trade_card")
    instrument = models.CharField(max_length=32)
    side = models.CharField(max_length=5, choices=Side)
    entry_price = models.DecimalField(max_digits=24, decimal_places=8)
    exit_price = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    mark_price = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    leverage = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    pnl_percent = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # Set only by feed.verification from the author's own exchange fills; the author's figures
    # above are shown as self-reported until then.
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    fills = models.ManyToManyField(Fill, blank=True, related_name="trade_cards", editable=False)
    verified_quantity = models.DecimalField(max_digits=32, decimal_places=12, null=True, blank=True, editable=False)
    verified_entry_price = models.DecimalField(max_digits=32, decimal_places=12, null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(entry_price__gt=0), name="trade_card_entry_positive"),
            models.CheckConstraint(condition=Q(leverage__gte=1, leverage__lte=200), name="trade_card_leverage_range"),
            models.CheckConstraint(
                condition=Q(exit_price__isnull=True) | Q(exit_price__gt=0), name="trade_card_exit_positive"
            ),
            models.CheckConstraint(
                condition=Q(mark_price__isnull=True) | Q(mark_price__gt=0), name="trade_card_mark_positive"
            ),
        ]

    def __str__(self):
        return f"{self.side} {self.instrument}"

    @property
    def base_asset(self) -> str:
        return self.instrument.split("-")[0]

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class Call(models.Model):
    """A structured market call attached to a post, graded by the market when its horizon passes.
    Nobody edits it after publishing: the record on a creator's profile is built from these."""

    class Direction(models.TextChoices):
        UP = "up", _("Up")
        DOWN = "down", _("Down")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        HIT = "hit", _("Hit")
        MISSED = "missed", _("Missed")
        VOID = "void", _("Void (no market data)")

    post = models.OneToOneField(Post, on_delete=models.CASCADE, primary_key=True, related_name="call")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calls")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="calls")
    direction = models.CharField(max_length=4, choices=Direction)
    target_price = models.DecimalField(max_digits=32, decimal_places=12)
    # The market price when the call was made (the close of the bar holding that moment).
    entry_price = models.DecimalField(max_digits=32, decimal_places=12, null=True, blank=True)
    made_at = models.DateTimeField()
    horizon_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status, default=Status.OPEN)
    graded_at = models.DateTimeField(null=True, blank=True)
    # The price the grade used: the target when it was reached, else the close at the horizon.
    outcome_price = models.DecimalField(max_digits=32, decimal_places=12, null=True, blank=True)
    return_percent = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(target_price__gt=0), name="call_target_positive"),
            models.CheckConstraint(condition=Q(horizon_at__gt=F("made_at")), name="call_horizon_after_made"),
            models.CheckConstraint(
                condition=Q(status="open", graded_at__isnull=True) | (~Q(status="open") & Q(graded_at__isnull=False)),
                name="call_graded_when_closed",
            ),
        ]
        indexes = [
            # The grading task: open calls whose horizon has passed.
            models.Index(fields=["horizon_at"], name="call_open_due", condition=Q(status="open")),
            models.Index(fields=["author", "-made_at"], name="call_author_recent"),
        ]
        verbose_name = _("call")
        verbose_name_plural = _("calls")

    def __str__(self):
        return f"{self.direction} {self.asset_id} → {self.target_price}"


class Notification(models.Model):
    class Verb(models.TextChoices):
        LIKE = "like", _("liked your post")
        COMMENT = "comment", _("commented on your post")
        REPLY = "reply", _("replied to your comment")
        FOLLOW = "follow", _("followed you")
        MENTION = "mention", _("mentioned you")
        WARNING = "warning", _("sent you a moderation warning")
        REPOST = "repost", _("reposted your post")
        QUOTE = "quote", _("quoted your post")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verb = models.CharField(max_length=10, choices=Verb)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(F("recipient"), F("created_at").desc(), F("id").desc(), name="notification_inbox"),
            # The unread badge on every page: a tiny partial index.
            models.Index(fields=["recipient"], name="notification_unread", condition=Q(read_at__isnull=True)),
        ]
        constraints = [
            # Liking, unliking and liking again notifies the author once (feed.services.like_post).
            models.UniqueConstraint(
                fields=["recipient", "actor", "post"], condition=Q(verb="like"), name="notification_one_like_per_actor"
            ),
        ]

    def __str__(self):
        return f"{self.actor_id} {self.verb} → {self.recipient_id}"


class ModerationAction(models.Model):
    """Every step a moderator takes, kept for the record."""

    class Action(models.TextChoices):
        HIDE_POST = "hide_post", _("Hide post")
        RESTORE_POST = "restore_post", _("Restore post")
        WARN = "warn", _("Warn user")
        SUSPEND = "suspend", _("Suspend user")
        UNSUSPEND = "unsuspend", _("Lift suspension")
        DISMISS = "dismiss", _("Dismiss report")

    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=Action)
    target_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    report = models.ForeignKey(Report, on_delete=models.PROTECT, null=True, blank=True, related_name="actions")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("moderation action")
        verbose_name_plural = _("moderation actions")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.action} on {self.target_user_id} by {self.moderator_id}"
