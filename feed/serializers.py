"""The API's shapes for posts, comments, reactions and notifications.

Input serializers check shape (types, lengths, choices, finite decimals); the rules (who may do
what, which instruments trade, what an image is) live in feed/services.py. Output serializers
only format what the selectors loaded: the list items are written out by hand, because a feed
page formats hundreds of fields and DRF's field-by-field machinery costs more than the query.
The declared fields document the shape in the OpenAPI schema, and the schema test holds the two
together.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.db import DatabaseError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.utils import html

from creators.serializers import UserCardSerializer, file_url
from orbit.api import NamedChoiceField, PageQuerySerializer

from . import render_tokens, verification
from .calls import HORIZON_DAYS
from .models import Call, Notification, Post, PostType, Report, TradeCard

MAX_ID = 2**63 - 1  # PostgreSQL bigint: larger ids cannot exist and must not reach a query
_datetime = serializers.DateTimeField()


def _decimal(value: Decimal | None) -> str | None:
    # format(…, "f"), not str(): str(Decimal("0.00000001")) is "1E-8".
    return None if value is None else format(value, "f")


def _moment(value) -> str | None:
    return None if value is None else _datetime.to_representation(value)


# --- Output ---------------------------------------------------------------------------


class QuoteSerializer(serializers.Serializer):
    symbol = serializers.CharField(help_text="The asset, priced in USDT.")
    last = serializers.DecimalField(max_digits=32, decimal_places=12, help_text="The latest stored price.")
    as_of = serializers.DateTimeField()
    change_24h_percent = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)

    def to_representation(self, quote):
        change = quote.change_24h_percent
        return {
            "symbol": quote.symbol,
            "last": _decimal(quote.last),
            "as_of": _moment(quote.as_of),
            "change_24h_percent": _decimal(None if change is None else change.quantize(Decimal("0.01"))),
        }


class CardPnlSerializer(serializers.Serializer):
    status = NamedChoiceField(enum_name="TradeStatusEnum", choices=[("open", "open"), ("closed", "closed")])
    entry_price = serializers.DecimalField(max_digits=32, decimal_places=12, help_text="The verified entry price.")
    exit_price = serializers.DecimalField(
        max_digits=32,
        decimal_places=12,
        help_text="The closing fills' price, with any part still open valued at market_price.",
    )
    closed_price = serializers.DecimalField(
        max_digits=32, decimal_places=12, allow_null=True, help_text="The closing fills' average; null before any."
    )
    market_price = serializers.DecimalField(
        max_digits=32, decimal_places=12, allow_null=True, help_text="The price the open part is valued at."
    )
    pnl_percent = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Unlevered: fills do not carry the leverage."
    )

    def to_representation(self, pnl):
        return {
            "status": pnl.status,
            "entry_price": _decimal(pnl.entry_price),
            "exit_price": _decimal(pnl.exit_price),
            "closed_price": _decimal(pnl.closed_price),
            "market_price": _decimal(pnl.market_price),
            "pnl_percent": _decimal(pnl.pnl_percent),
        }


class DisclosureSerializer(serializers.Serializer):
    asset = serializers.CharField()
    side = NamedChoiceField(enum_name="DisclosureSideEnum", choices=[("bought", "bought"), ("sold", "sold")])
    relation = NamedChoiceField(
        enum_name="DisclosureRelationEnum",
        choices=[("before", "before"), ("after", "after")],
        help_text="Before or after the post was published.",
    )
    days = serializers.IntegerField(help_text="Whole days between posting and the nearest of these fills.")
    first_filled_at = serializers.DateTimeField()
    last_filled_at = serializers.DateTimeField()

    def to_representation(self, disclosure):
        return {
            "asset": disclosure.asset,
            "side": disclosure.side,
            "relation": disclosure.relation,
            "days": disclosure.days,
            "first_filled_at": _moment(disclosure.first_filled_at),
            "last_filled_at": _moment(disclosure.last_filled_at),
        }


class TradeCardSerializer(serializers.Serializer):
    instrument = serializers.CharField(help_text="e.g. BTC-USDT or ETH-USDT-SWAP")
    side = serializers.ChoiceField(choices=TradeCard.Side.choices)
    entry_price = serializers.DecimalField(max_digits=24, decimal_places=8)
    exit_price = serializers.DecimalField(max_digits=24, decimal_places=8, allow_null=True)
    mark_price = serializers.DecimalField(max_digits=24, decimal_places=8, allow_null=True)
    leverage = serializers.DecimalField(max_digits=6, decimal_places=2)
    pnl_percent = serializers.DecimalField(
        max_digits=10, decimal_places=2, allow_null=True, help_text="Self-reported by the author."
    )
    verified = serializers.BooleanField(
        help_text="The author's own exchange fills match this card's instrument, side and entry price."
    )
    verified_at = serializers.DateTimeField(allow_null=True)
    verified_entry_price = serializers.DecimalField(
        max_digits=32,
        decimal_places=12,
        allow_null=True,
        help_text="The quantity-weighted average price of the matched fills; null when unverified.",
    )
    pnl = CardPnlSerializer(
        allow_null=True, help_text="Computed from the author's fills (verified cards only); null without a price."
    )
    quote = QuoteSerializer(allow_null=True, help_text="The market's latest price of the card's base asset.")

    def to_representation(self, card):
        # A page's cards come with the PnL attached (feed.verification.attach_card_pnl); a lone card
        # computes its own.
        pnl = card.pnl if hasattr(card, "pnl") else verification.card_pnl(card)
        quote = getattr(card, "quote", None)
        return {
            "instrument": card.instrument,
            "side": card.side,
            "entry_price": _decimal(card.entry_price),
            "exit_price": _decimal(card.exit_price),
            "mark_price": _decimal(card.mark_price),
            "leverage": _decimal(card.leverage),
            "pnl_percent": _decimal(card.pnl_percent),
            "verified": card.is_verified,
            "verified_at": _moment(card.verified_at),
            "verified_entry_price": _decimal(card.verified_entry_price),
            "pnl": CardPnlSerializer().to_representation(pnl) if pnl is not None else None,
            "quote": QuoteSerializer().to_representation(quote) if quote is not None else None,
        }


class CallSerializer(serializers.Serializer):
    asset = serializers.CharField(help_text="The asset's symbol, e.g. BTC (priced in USDT).")
    direction = NamedChoiceField(enum_name="CallDirectionEnum", choices=Call.Direction.choices)
    target_price = serializers.DecimalField(max_digits=32, decimal_places=12)
    entry_price = serializers.DecimalField(
        max_digits=32,
        decimal_places=12,
        allow_null=True,
        help_text="The market price when the call was made; null until market data has it.",
    )
    made_at = serializers.DateTimeField()
    horizon_at = serializers.DateTimeField(help_text="When the call is graded.")
    status = NamedChoiceField(enum_name="CallStatusEnum", choices=Call.Status.choices)
    return_percent = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        allow_null=True,
        help_text="Once hit or missed: the move from entry to outcome in the called direction, in percent.",
    )

    def to_representation(self, call):
        return {
            "asset": call.asset.symbol,
            "direction": call.direction,
            "target_price": _decimal(call.target_price),
            "entry_price": _decimal(call.entry_price),
            "made_at": _moment(call.made_at),
            "horizon_at": _moment(call.horizon_at),
            "status": call.status,
            "return_percent": _decimal(call.return_percent),
        }


class CallListItemSerializer(CallSerializer):
    post = serializers.IntegerField(help_text="The id of the post the call was made with.")

    def to_representation(self, call):
        return {**super().to_representation(call), "post": call.post_id}


class CallRecordSerializer(serializers.Serializer):
    graded = serializers.IntegerField(help_text="Hit and missed calls; void calls (no market data) count nowhere.")
    hits = serializers.IntegerField()
    missed = serializers.IntegerField()
    open = serializers.IntegerField(help_text="Calls whose horizon has not passed or that wait for market data.")
    hit_rate_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True, help_text="Hits out of graded calls; null before any."
    )
    average_return_percent = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="Over graded calls; null before any."
    )

    def to_representation(self, record):
        return {
            "graded": record.graded,
            "hits": record.hits,
            "missed": record.missed,
            "open": record.open,
            "hit_rate_percent": _decimal(record.hit_rate_percent),
            "average_return_percent": _decimal(record.average_return_percent),
        }


class CallPageSerializer(serializers.Serializer):
    record = CallRecordSerializer()
    results = CallListItemSerializer(many=True, source="items", help_text="Calls, newest first.")
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `?cursor=` for the next page; null on the last page."
    )


class PostImageSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The display size, at most 2048 pixels a side.")
    thumbnail_url = serializers.URLField(help_text="At most 640 pixels a side, for lists.")
    width = serializers.IntegerField(allow_null=True, help_text="Of the display size, in pixels.")
    height = serializers.IntegerField(allow_null=True)

    def to_representation(self, image):
        return {
            "url": file_url(image.image, self.context),
            "thumbnail_url": file_url(image.thumbnail or image.image, self.context),
            "width": image.width,
            "height": image.height,
        }


class PostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="The post's page in the browser.")
    author = UserCardSerializer()
    content_type = serializers.CharField(help_text="Slug of the content type, e.g. analysis.")
    language = NamedChoiceField(enum_name="PostLanguageEnum", choices=Post.Language.choices)
    status = serializers.ChoiceField(
        choices=Post.Status.choices, help_text="Always published, except an author's own post hidden by moderation."
    )
    body = serializers.CharField(help_text="The Markdown the author wrote.")
    body_html = serializers.CharField(help_text="Sanitized HTML rendering of the body; safe to display as is.")
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    liked = serializers.BooleanField(help_text="The viewer likes this post (false when signed out).")
    assets = serializers.ListField(child=serializers.CharField(), help_text="Cashtag symbols, e.g. BTC.")
    images = serializers.ListField(child=serializers.URLField(), help_text="Display-size URLs; see image_details.")
    image_details = PostImageSerializer(many=True, help_text="The same images, with thumbnails and sizes.")
    trade_card = TradeCardSerializer(allow_null=True)
    disclosures = DisclosureSerializer(
        many=True, help_text="The author's own trades of the assets the post names, around posting (exchange data)."
    )
    call = CallSerializer(allow_null=True, help_text="A graded market call, if the post makes one.")
    dwell_token = serializers.CharField(
        allow_null=True,
        help_text=(
            "This post's render token for this reader: send it back with the time spent on the post "
            "(`engagement/dwell/`). Good for 30 minutes; time spent counts at most the time since it was issued."
        ),
    )

    def to_representation(self, post):
        request = self.context.get("request")
        page = reverse("feed:post", args=[post.pk])
        card = getattr(post, "trade_card", None)
        call = getattr(post, "call", None)
        images = list(post.images.all())
        return {
            "id": post.pk,
            "url": request.build_absolute_uri(page) if request is not None else page,
            "author": UserCardSerializer(context=self.context).to_representation(post.author),
            "content_type": post.content_type_id,
            "language": post.language,
            "status": post.status,
            "body": post.body,
            "body_html": post.body_html,
            "created_at": _moment(post.created_at),
            "edited_at": _moment(post.edited_at),
            "like_count": post.like_count,
            "comment_count": post.comment_count,
            "liked": bool(getattr(post, "liked", False)),
            "assets": [asset.symbol for asset in post.assets.all()],
            "images": [file_url(image.image, self.context) for image in images],
            "image_details": [PostImageSerializer(context=self.context).to_representation(image) for image in images],
            "trade_card": TradeCardSerializer().to_representation(card) if card is not None else None,
            "disclosures": [DisclosureSerializer().to_representation(d) for d in getattr(post, "disclosures", [])],
            "call": CallSerializer().to_representation(call) if call is not None else None,
            # Per reader and moment: none in a card built without a request (the shared card cache).
            "dwell_token": (
                render_tokens.issue(reader=getattr(request, "user", None), post_id=post.pk)
                if request is not None
                else None
            ),
        }


class PostPageSerializer(serializers.Serializer):
    results = PostSerializer(many=True, source="items")
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `?cursor=` for the next page; null on the last page."
    )


class CommentReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = UserCardSerializer()
    body = serializers.CharField(help_text="Plain text: escape it before showing it as HTML.")
    parent = serializers.IntegerField(allow_null=True, help_text="The top-level comment this answers.")
    created_at = serializers.DateTimeField()

    def to_representation(self, comment):
        return {
            "id": comment.pk,
            "author": UserCardSerializer(context=self.context).to_representation(comment.author),
            "body": comment.body,
            "parent": comment.parent_id,
            "created_at": _moment(comment.created_at),
        }


class CommentSerializer(CommentReplySerializer):
    replies = CommentReplySerializer(many=True, help_text="Answers to this comment, oldest first (one level).")

    def to_representation(self, comment):
        reply = CommentReplySerializer(context=self.context)
        replies = comment.replies.all() if comment.parent_id is None else []
        return {**super().to_representation(comment), "replies": [reply.to_representation(r) for r in replies]}


class CommentListSerializer(serializers.Serializer):
    results = CommentSerializer(many=True, help_text="Top-level comments, oldest first.")
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `?cursor=` for the next comments; null on the last page."
    )


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    verb = serializers.ChoiceField(choices=Notification.Verb.choices)
    text = serializers.CharField(help_text="What happened, in the reader's language, e.g. 'liked your post'.")
    actor = UserCardSerializer()
    post = serializers.IntegerField(allow_null=True)
    comment = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()

    def to_representation(self, notification):
        return {
            "id": notification.pk,
            "verb": notification.verb,
            "text": str(notification.get_verb_display()),
            "actor": UserCardSerializer(context=self.context).to_representation(notification.actor),
            "post": notification.post_id,
            "comment": notification.comment_id,
            "created_at": _moment(notification.created_at),
            "read": notification.read_at is not None,
        }


class NotificationPageSerializer(serializers.Serializer):
    results = NotificationSerializer(many=True, source="items")
    next_cursor = serializers.CharField(allow_null=True)
    unread_count = serializers.IntegerField()


class LikeStateSerializer(serializers.Serializer):
    liked = serializers.BooleanField()
    like_count = serializers.IntegerField()


class ShareSerializer(serializers.Serializer):
    code = serializers.CharField()
    url = serializers.URLField(help_text="The share link; each opening is recorded and credits the sharer.")


class ReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    status = serializers.ChoiceField(choices=Report.Status.choices)


class TradeClickSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The exchange's trade page for the card's instrument; send the reader there.")


class ViewRecordedSerializer(serializers.Serializer):
    recorded = serializers.BooleanField(help_text="False when this viewer's view was already counted today.")


class DwellRecordedSerializer(serializers.Serializer):
    recorded = serializers.IntegerField(help_text="How many posts' time was recorded.")


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class SearchResultSerializer(serializers.Serializer):
    posts = PostSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `?cursor=` (with the same `q`) for more posts; null on the last page."
    )
    people = UserCardSerializer(many=True)


# --- Input ----------------------------------------------------------------------------


class SearchQuerySerializer(PageQuerySerializer):
    q = serializers.CharField(max_length=200, allow_blank=True, help_text="English words and/or Chinese text.")


class DecimalInputField(serializers.DecimalField):
    """A decimal sent as a string ("64250.5") or a JSON number. NaN and infinities are refused
    (by DRF's DecimalField; the JSON parser refuses the bare NaN and Infinity literals)."""


class DecimalInputFieldSchema(OpenApiSerializerFieldExtension):
    # DRF's own decimal schema lets an empty string match its pattern; document the exact form.
    target_class = DecimalInputField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        sign = "-?" if field.min_value is None or field.min_value < 0 else ""
        whole = field.max_digits - field.decimal_places
        return {
            "type": "string",
            "format": "decimal",
            "pattern": rf"^{sign}\d{{1,{whole}}}(\.\d{{1,{field.decimal_places}}})?$",
            "example": "1.5",
        }


PRICE = {
    "max_digits": 24,
    "decimal_places": 8,
    "min_value": Decimal("0.00000001"),
    "error_messages": {"min_value": gettext_lazy("Prices must be above zero.")},
}


class TradeCardInputSerializer(serializers.Serializer):
    instrument = serializers.CharField(max_length=32, help_text="A listed asset and a quote: BTC-USDT, ETH-USDT-SWAP.")
    side = serializers.ChoiceField(choices=TradeCard.Side.choices)
    entry_price = DecimalInputField(**PRICE)
    exit_price = DecimalInputField(**PRICE, required=False, allow_null=True)
    mark_price = DecimalInputField(**PRICE, required=False, allow_null=True)
    leverage = DecimalInputField(
        max_digits=6, decimal_places=2, min_value=Decimal(1), max_value=Decimal(200), required=False, default=Decimal(1)
    )
    pnl_percent = DecimalInputField(max_digits=10, decimal_places=2, required=False, allow_null=True)

    def get_value(self, dictionary):
        # In a multipart form the card arrives as one part holding JSON (OpenAPI's default encoding
        # of an object property); in a JSON body it is an object already.
        if html.is_html_input(dictionary) and isinstance(dictionary.get(self.field_name), str):
            raw = dictionary[self.field_name]
            try:
                return json.loads(raw) if raw.strip() else None
            except ValueError:
                return raw  # refused below as "expected a dictionary"
        return super().get_value(dictionary)


class CallInputSerializer(serializers.Serializer):
    asset = serializers.CharField(max_length=21, help_text="A listed asset's symbol, e.g. BTC.")
    direction = NamedChoiceField(enum_name="CallDirectionEnum", choices=Call.Direction.choices)
    target_price = DecimalInputField(
        max_digits=32,
        decimal_places=12,
        min_value=Decimal("0.000000000001"),
        error_messages={"min_value": gettext_lazy("The target price must be above zero.")},
        help_text="Above the current price for an up call, below it for a down call.",
    )
    horizon_days = serializers.ChoiceField(
        choices=HORIZON_DAYS,
        help_text="Graded this many days after posting.",
        error_messages={"invalid_choice": gettext_lazy("Choose a horizon of 1, 3, 7, 14, 30 or 90 days.")},
    )

    def get_value(self, dictionary):
        # Like the trade card: a JSON-encoded part in a multipart form, an object in a JSON body.
        if html.is_html_input(dictionary) and isinstance(dictionary.get(self.field_name), str):
            raw = dictionary[self.field_name]
            try:
                return json.loads(raw) if raw.strip() else None
            except ValueError:
                return raw  # refused as "expected a dictionary"
        return super().get_value(dictionary)


class ContentTypeField(serializers.CharField):
    """A content type slug. Operators add types in admin, so the service checks it against the
    database (its refusal lists the choices); the schema lists the active ones when it can."""

    def __init__(self, **kwargs):
        super().__init__(max_length=32, **kwargs)


class ContentTypeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = ContentTypeField

    def map_serializer_field(self, auto_schema, direction):
        try:
            slugs = list(PostType.objects.filter(is_active=True).values_list("slug", flat=True))
        except DatabaseError:  # the schema is also built without a database (manage.py check --deploy)
            slugs = []
        schema = {"type": "string", "maxLength": 32, "description": "e.g. analysis, education, trade_share"}
        return {**schema, "enum": slugs} if slugs else schema


class PostCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000, help_text="Markdown with $CASHTAGS, #hashtags and @mentions.")
    content_type = ContentTypeField()
    language = NamedChoiceField(
        enum_name="PostLanguageEnum",
        choices=Post.Language.choices,
        required=False,
        help_text="Guessed from the text when omitted.",
    )
    trade_card = TradeCardInputSerializer(required=False, allow_null=True)
    call = CallInputSerializer(required=False, allow_null=True, help_text="Make a graded call; it cannot be changed.")
    show_performance = serializers.BooleanField(
        required=False,
        default=False,
        help_text="With a trade card: also show your verified trading performance on your profile (opt-in; "
        "turn it off with PATCH /me/).",
    )


class PostCreateMultipartSerializer(PostCreateSerializer):
    """The same fields in a multipart form (the trade card as a JSON-encoded part), with images."""

    images = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        max_length=4,
        help_text="Up to four JPEG, PNG, GIF or WebP images of at most 5 MB each.",
    )


class PostUpdateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000, required=False)
    content_type = ContentTypeField(required=False)
    trade_card = TradeCardInputSerializer(
        required=False,
        allow_null=True,
        help_text="A whole new trade card, verified again against your fills; null removes the card.",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Send at least one of body, content_type and trade_card."))
        return attrs


class CommentCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=2_000, help_text="Plain text.")
    parent = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, help_text="Id of the comment this answers."
    )


class ShareCreateSerializer(serializers.Serializer):
    channel = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default="", help_text="Where it is shared, e.g. telegram."
    )


class ReportCreateSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    details = serializers.CharField(max_length=1_000, required=False, allow_blank=True, default="")


class DwellItemSerializer(serializers.Serializer):
    post = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    ms = serializers.IntegerField(min_value=0, max_value=2**31 - 1, help_text="Milliseconds; capped at 30 minutes.")
    token = serializers.CharField(
        max_length=render_tokens.MAX_TOKEN_CHARS,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "The post's `dwell_token`, as the API (or the page) gave it with the post. An item without a good "
            "token (missing, expired, another reader's or another post's) is not recorded."
        ),
    )


class DwellSerializer(serializers.Serializer):
    items = DwellItemSerializer(many=True, max_length=50)


class MarkReadSerializer(serializers.Serializer):
    up_to = serializers.DateTimeField(
        required=False, help_text="Mark only notifications created up to this moment (default: all)."
    )
