"""Browser forms: they check the shape of what was typed; the rules live in feed.services."""

from decimal import Decimal

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import services
from .calls import HORIZON_DAYS
from .models import Call, PostType, Report, TradeCard

CALL_HORIZON_LABELS = {
    1: _("1 day"),
    3: _("3 days"),
    7: _("7 days"),
    14: _("14 days"),
    30: _("30 days"),
    90: _("90 days"),
}


class PostTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, post_type):
        return post_type.name_zh if (get_language() or "").startswith("zh") else post_type.name_en


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Up to four files in one input; whether each is an image Orbit accepts is the service's check."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _content_types():
    return PostType.objects.filter(is_active=True)


class PostBodyForm(forms.Form):
    body = forms.CharField(
        label=_("Post"),
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": _("What is moving the market? Markdown works.")}),
        # The service enforces the limit with its own message; this only stops absurd uploads early.
        max_length=services.MAX_POST_CHARS * 2,
        required=False,
        strip=False,
    )
    # No default: the author picks one (compose.js suggests the tagger's guess, never picks it).
    content_type = PostTypeChoiceField(
        label=_("Content type"),
        queryset=_content_types(),
        to_field_name="slug",
        empty_label=_("Choose a type"),
        error_messages={
            "required": _("Choose a content type: it tells readers what kind of post this is."),
            "invalid_choice": _("Choose one of the content types in the list."),
        },
    )


class TradeCardFields(forms.Form):
    """The trade card's fields, shared by composing and editing a post."""

    instrument = forms.CharField(
        label=_("Instrument"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "BTC-USDT", "autocapitalize": "characters"}),
    )
    side = forms.ChoiceField(label=_("Side"), choices=[("", "—"), *TradeCard.Side.choices], required=False)
    entry_price = forms.DecimalField(label=_("Entry price"), required=False, max_digits=24, decimal_places=8)
    exit_price = forms.DecimalField(label=_("Exit price"), required=False, max_digits=24, decimal_places=8)
    mark_price = forms.DecimalField(label=_("Mark price"), required=False, max_digits=24, decimal_places=8)
    leverage = forms.DecimalField(label=_("Leverage"), required=False, max_digits=6, decimal_places=2)
    pnl_percent = forms.DecimalField(label=_("PnL %"), required=False, max_digits=10, decimal_places=2)

    TRADE_FIELDS = ("instrument", "side", "entry_price", "exit_price", "mark_price", "leverage", "pnl_percent")

    def trade_card(self) -> services.TradeCardInput | None:
        """The card typed in, or None when every field is empty."""
        data = self.cleaned_data
        if not any(data.get(name) not in (None, "") for name in self.TRADE_FIELDS):
            return None
        return services.TradeCardInput(
            instrument=data.get("instrument") or "",
            side=data.get("side") or "",
            entry_price=data.get("entry_price"),
            exit_price=data.get("exit_price"),
            mark_price=data.get("mark_price"),
            leverage=data.get("leverage") or 1,
            pnl_percent=data.get("pnl_percent"),
        )


class ComposeForm(TradeCardFields, PostBodyForm):
    images = MultipleImageField(label=_("Images (up to four)"), required=False)
    # Asked only of authors who keep their performance private (the page leaves it out otherwise).
    show_performance = forms.BooleanField(
        label=_("Show my verified trading performance on my profile"),
        help_text=_("Readers of a trade card often want the record behind it. Off: only you see it."),
        required=False,
    )

    # A graded call (feed.calls): named call_* so they never meet the trade card's fields.
    call_asset = forms.CharField(
        label=_("Asset"),
        max_length=21,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "BTC", "autocapitalize": "characters"}),
    )
    call_direction = forms.ChoiceField(
        label=_("Direction"), choices=[("", "—"), *Call.Direction.choices], required=False
    )
    call_target_price = forms.DecimalField(label=_("Target price"), required=False, max_digits=32, decimal_places=12)
    call_horizon_days = forms.TypedChoiceField(
        label=_("Horizon"),
        choices=[("", "—"), *((days, CALL_HORIZON_LABELS[days]) for days in HORIZON_DAYS)],
        coerce=int,
        empty_value=None,
        required=False,
    )

    CALL_FIELDS = ("call_asset", "call_direction", "call_target_price", "call_horizon_days")

    def call(self) -> services.CallInput | None:
        data = self.cleaned_data
        if not any(data.get(name) not in (None, "") for name in self.CALL_FIELDS):
            return None
        return services.CallInput(
            asset=data.get("call_asset") or "",
            direction=data.get("call_direction") or "",
            target_price=data.get("call_target_price"),
            horizon_days=data.get("call_horizon_days"),
        )


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Add a comment")}),
        max_length=services.MAX_COMMENT_CHARS * 2,
        required=False,
    )
    parent = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=Report.Reason.choices)
    details = forms.CharField(
        label=_("Details (optional)"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000, required=False
    )


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        max_length=200,
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": _("Search posts and people")}),
    )


class EditForm(TradeCardFields, PostBodyForm):
    """Editing a post: its text, and its trade card (clearing every card field takes the card off)."""

    @staticmethod
    def initial_for(post) -> dict:
        initial = {"body": post.body, "content_type": post.content_type_id}
        card = getattr(post, "trade_card", None)
        if card is not None:
            initial.update({name: _plain(getattr(card, name)) for name in TradeCardFields.TRADE_FIELDS})
        return initial

    def card_changed(self) -> bool:
        # Compared with the stored card as typed values, so 64000 and 64000.00000000 are the same.
        return any(name in self.changed_data for name in self.TRADE_FIELDS)


def _plain(value):
    """A stored decimal as a person would type it: 64000.00000000 is shown as 64000."""
    if not isinstance(value, Decimal):
        return value
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
