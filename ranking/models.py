from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex, GinIndex
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class TaggerModel(models.Model):
    """One trained tagger. The artifact lives in the database so every web and worker process,
    on any machine, loads exactly the model whose version it stamps on tag rows."""

    version = models.CharField(max_length=40, unique=True)
    trained_at = models.DateTimeField(auto_now_add=True)
    corpus_sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, help_text=_("Held-out metrics per head, as train_tagger printed them."))
    artifact = models.BinaryField(editable=False)
    is_active = models.BooleanField(default=False)
    # The promotion gate (ranking.teaching.retrain): both models scored on the frozen held-out set
    # (ranking/corpus/heldout.jsonl) in the same run, so the comparison is like for like.
    held_out_metrics = models.JSONField(
        default=dict, blank=True, help_text=_("This model's figures on the frozen held-out set.")
    )
    compared_with = models.CharField(
        max_length=40, blank=True, help_text=_("Version of the model that was active when this one was gated.")
    )
    compared_metrics = models.JSONField(
        default=dict, blank=True, help_text=_("The then-active model's figures on the same held-out set.")
    )
    # None: trained by `train_tagger`, not gated; True: promoted by the gate; False: refused.
    promoted = models.BooleanField(null=True, blank=True)
    refused_reason = models.TextField(blank=True)
    training_examples = models.JSONField(
        default=dict, blank=True, help_text=_("Corrections and authors' choices added to the corpus.")
    )

    class Meta:
        verbose_name = _("tagger model")
        verbose_name_plural = _("tagger models")
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_tagger"),
        ]

    def __str__(self):
        return self.version


class PostTags(models.Model):
    """What the tagger says a post is about; ranking's view of a post."""

    class Level(models.TextChoices):
        BEGINNER = "beginner", _("Beginner")
        INTERMEDIATE = "intermediate", _("Intermediate")
        ADVANCED = "advanced", _("Advanced")

    post = models.OneToOneField("feed.Post", on_delete=models.CASCADE, primary_key=True, related_name="tags")
    content_type = models.CharField(max_length=32)
    level = models.CharField(max_length=12, choices=Level)
    topics = ArrayField(models.CharField(max_length=24), default=list, blank=True)
    assets = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    language = models.CharField(max_length=8)
    quality = models.FloatField()
    model_version = models.CharField(max_length=40)
    # The tagger's calibrated probability of its content type; 1.0 for rows tagged before it had
    # one and for rows an operator corrected.
    confidence = models.FloatField(default=1.0, db_default=1.0)
    # An operator's TagCorrection holds the content type and assets; retagging keeps them.
    corrected = models.BooleanField(default=False, db_default=False)
    tagged_at = models.DateTimeField(auto_now=True)
    # Refreshed every few minutes from recent engagement with time decay (ranking.trending).
    trending = models.FloatField(default=0.0, db_default=0.0)

    class Meta:
        verbose_name = _("post tags")
        verbose_name_plural = _("post tags")
        constraints = [
            models.CheckConstraint(condition=Q(quality__gte=0, quality__lte=1), name="post_tags_quality_unit"),
            models.CheckConstraint(condition=Q(confidence__gte=0, confidence__lte=1), name="post_tags_confidence_unit"),
        ]
        indexes = [
            # Candidate generation asks "posts about any of these assets/topics" with && on the arrays.
            GinIndex(fields=["assets"], name="post_tags_assets"),
            GinIndex(fields=["topics"], name="post_tags_topics"),
            models.Index(F("trending").desc(), name="post_tags_trending", condition=Q(trending__gt=0)),
            models.Index(fields=["model_version"], name="post_tags_model_version"),
        ]

    def __str__(self):
        return f"tags of post {self.post_id}"


class TagReview(PostTags):
    """The tag review queue in admin: tags the tagger was unsure of or the author disagrees with
    (ranking.teaching.review_queue)."""

    class Meta:
        proxy = True
        verbose_name = _("tag review queue item")
        verbose_name_plural = _("tag review queue")


class TagCorrection(models.Model):
    """An operator's word on a post's content type and assets. One per post (a second correction
    replaces the first); it overrides the tagger on the post's tags and trains the next tagger."""

    post = models.OneToOneField("feed.Post", on_delete=models.CASCADE, related_name="tag_correction")
    content_type = models.CharField(max_length=32)
    assets = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    # What the tags said before this correction, to measure what operators fix.
    previous_content_type = models.CharField(max_length=32, blank=True)
    previous_assets = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    previous_model_version = models.CharField(max_length=40, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    corrected_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("tag correction")
        verbose_name_plural = _("tag corrections")
        ordering = ["-corrected_at", "-id"]

    def __str__(self):
        return f"correction of post {self.post_id}: {self.content_type}"


class ContentTypeWeight(models.Model):
    """Operator-set weight of a content type in For You, with the multiplier the daily rebalance sets."""

    post_type = models.OneToOneField(
        "feed.PostType", on_delete=models.CASCADE, primary_key=True, related_name="ranking_weight"
    )
    base_weight = models.DecimalField(
        _("base weight"),
        max_digits=5,
        decimal_places=2,
        default=1,
        help_text=_("Multiplies every score of this type; 1 is neutral."),
    )
    target_share = models.DecimalField(
        _("target share"),
        max_digits=4,
        decimal_places=3,
        default=0,
        help_text=_("Share of feed items this type should have (0 to 1); the daily rebalance steers towards it."),
    )
    min_multiplier = models.DecimalField(_("minimum multiplier"), max_digits=5, decimal_places=2, default=1)
    max_multiplier = models.DecimalField(_("maximum multiplier"), max_digits=5, decimal_places=2, default=1)
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=5,
        decimal_places=2,
        default=1,
        help_text=_(
            "Set daily: from supply against target and average quality, or, while a learned ranker is "
            "active, from For You's exposure against target."
        ),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive types keep a neutral weight of 1.")
    )
    rebalanced_at = models.DateTimeField(_("rebalanced at"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("content type weight")
        verbose_name_plural = _("content type weights")
        ordering = ["post_type__position"]
        constraints = [
            models.CheckConstraint(condition=Q(base_weight__gte=0), name="weight_base_not_negative"),
            models.CheckConstraint(condition=Q(target_share__gte=0, target_share__lte=1), name="weight_share_unit"),
            models.CheckConstraint(condition=Q(min_multiplier__gt=0), name="weight_min_positive"),
            models.CheckConstraint(condition=Q(min_multiplier__lte=F("max_multiplier")), name="weight_bounds_ordered"),
            models.CheckConstraint(
                condition=Q(multiplier__gte=F("min_multiplier"), multiplier__lte=F("max_multiplier")),
                name="weight_multiplier_in_bounds",
            ),
        ]

    def __str__(self):
        return f"weight of {self.post_type_id}"

    @property
    def effective(self) -> float:
        return float(self.base_weight * self.multiplier) if self.is_active else 1.0


class ContentTypeWeightChange(models.Model):
    """Audit trail: one row per changed field, by an operator or by the daily rebalance (changed_by empty)."""

    weight = models.ForeignKey(ContentTypeWeight, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=32)
    old_value = models.CharField(max_length=40)
    new_value = models.CharField(max_length=40)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("content type weight change")
        verbose_name_plural = _("content type weight changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["weight", "changed_at"], name="weight_change_time")]

    def __str__(self):
        return f"{self.weight.post_type_id}.{self.field}: {self.old_value} → {self.new_value}"


class ContentMixDay(models.Model):
    """One UTC day of one content type: what was published (supply) and what For You served
    (exposure). The operator dashboard charts both against the target shares from this small table
    instead of grouping posts and page views on every look; ranking.content_mix keeps it current."""

    day = models.DateField()
    post_type = models.ForeignKey("feed.PostType", on_delete=models.CASCADE, related_name="+")
    # Published that day, each post counted as much as the tagger is sure of its type: the same
    # count the daily rebalance steers by (ranking.weights.supply_by_type).
    posts = models.FloatField(default=0)
    # For You items served that day (every page a reader loaded, each item once per page).
    impressions = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "post_type"], name="content_mix_one_row_per_day_type")]
        ordering = ["day", "post_type"]
        verbose_name = _("content mix of a day")
        verbose_name_plural = _("content mix by day")

    def __str__(self):
        return f"{self.post_type_id} on {self.day}"


class UserInterest(models.Model):
    """A user's sparse interest profile. Keys are "asset:BTC", "topic:defi", "type:education",
    "creator:42" and "level:beginner"; values are non-negative weights."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="interest"
    )
    trading = models.JSONField(default=dict, help_text=_("From the exchange trading profile."))
    engagement = models.JSONField(default=dict, help_text=_("Decayed sums from the engagement log."))
    # Incremental refresh folds in only engagement rows after this id, decaying the stored sums
    # from engagement_as_of to now first.
    last_engagement_id = models.BigIntegerField(default=0)
    engagement_as_of = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("user interests")
        verbose_name_plural = _("user interests")

    def __str__(self):
        return f"interests of user {self.user_id}"


class Impression(models.Model):
    """One post a reader was shown in a ranked list: where, why and how likely the list was to put it
    there. Written in batches from a Redis queue (ranking.impressions), never by the page itself; a
    sampled share of readers' days (ORBIT_IMPRESSION_SAMPLE) is kept, every page of a kept day.

    The propensity makes the log usable for unbiased evaluation: a ranked item has 1 - the
    exploration share, an exploration item the share times its part of the pool it was drawn from
    (ranking.scoring.add_exploration)."""

    class Surface(models.TextChoices):
        FOR_YOU = "for_you", _("For You")

    class Source(models.TextChoices):
        RANKED = "ranked", _("Ranked by score")
        EXPLORE = "explore", _("Exploration (drawn at random)")
        PUSHED = "pushed", _("New post of a followed creator, put on top")
        LATEST = "latest", _("Latest, when too little was relevant")

    served_at = models.DateTimeField()
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    post = models.ForeignKey("feed.Post", on_delete=models.PROTECT, related_name="+", db_index=False)
    surface = models.CharField(max_length=16, choices=Surface)
    # One page request; with `position` it names a slot, so a batch stored twice is stored once.
    page = models.UUIDField()
    position = models.PositiveIntegerField(help_text=_("Place in the list as the reader scrolls it, from 0."))
    source = models.CharField(max_length=16, choices=Source)
    score = models.FloatField(null=True, blank=True)
    propensity = models.FloatField(
        help_text=_("Probability that the list put this post in this place, given the places before it.")
    )
    model_version = models.CharField(max_length=40)
    # The list's exploration share: with the propensity, how large the pool of a drawn post was.
    explore_share = models.FloatField(default=0.0)
    # When the list was ranked: what the ranker knew (ranking.offline asks other rankers as of then).
    list_built_at = models.DateTimeField()

    class Meta:
        verbose_name = _("impression")
        verbose_name_plural = _("impressions")
        constraints = [
            models.UniqueConstraint(fields=["page", "position"], name="impression_one_per_slot"),
            models.CheckConstraint(
                condition=Q(propensity__gt=0, propensity__lte=1), name="impression_propensity_probability"
            ),
        ]
        indexes = [
            # An engagement's impression: the reader's latest showing of the post before it.
            models.Index(fields=["reader", "post", "served_at"], name="impression_reader_post_time"),
            BrinIndex(fields=["served_at"], name="impression_time"),
        ]

    def __str__(self):
        return f"post {self.post_id} at {self.position} for user {self.reader_id}"


class RankingModel(models.Model):
    """One trained For You ranker (ranking.learned): per action a logistic regression over the
    features, as JSON. Activated only when it beats the active ranker on the held-out exploration
    places (ranking.offline); with none active, the heuristic of ranking.scoring ranks."""

    version = models.CharField(max_length=40, unique=True)
    trained_at = models.DateTimeField(auto_now_add=True)
    artifact = models.JSONField(editable=False)
    metrics = models.JSONField(
        default=dict, blank=True, help_text=_("Per action: positives, base rate and held-out AUC.")
    )
    # The gate: the candidate and the then-active ranker, estimated on the same held-out lists.
    evaluation = models.JSONField(default=dict, blank=True)
    compared_with = models.CharField(max_length=40, blank=True)
    # None: stored, not gated; True: promoted by the gate; False: refused.
    promoted = models.BooleanField(null=True, blank=True)
    refused_reason = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("ranking model")
        verbose_name_plural = _("ranking models")
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_ranker"),
        ]

    def __str__(self):
        return self.version


class ActionValue(models.Model):
    """What one predicted action is worth in the learned ranker's score (ranking.learned): For You
    ranks by the sum of each action's probability times its value. Negative actions take away."""

    class Action(models.TextChoices):
        READ = "read", _("Reads 10 s or more")
        LIKE = "like", _("Likes")
        COMMENT = "comment", _("Comments")
        SHARE = "share", _("Shares")
        TRADE = "trade", _("Clicks through to trade")
        HIDE = "hide", _("Hides (not interested)")
        REPORT = "report", _("Reports")

    action = models.CharField(max_length=16, choices=Action, unique=True)
    value = models.DecimalField(max_digits=6, decimal_places=2)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("action value")
        verbose_name_plural = _("action values")
        ordering = ["action"]

    def __str__(self):
        return f"{self.action}: {self.value}"
