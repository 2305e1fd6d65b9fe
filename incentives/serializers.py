"""The API's shapes for the creator statement: output serializers over incentives.selectors'
dataclasses, and the appeal's input. Labels come in the request's language; slugs stay stable."""

from __future__ import annotations

from rest_framework import serializers

from creators.serializers import CreatorTitleSerializer
from orbit.api import NamedChoiceField

from .models import Payout, Tip
from .selectors import RANK_BANDS, AppealState


class LineSerializer(serializers.Serializer):
    slug = serializers.CharField(help_text="A stable name: the action (`like`, …) or the reason.")
    label = serializers.CharField(help_text="The same in words, in the request's language.")
    count = serializers.IntegerField()


class EstimateSerializer(serializers.Serializer):
    """Coarse on purpose while the week runs; the settled week's payout carries the reasons."""

    week = serializers.CharField(help_text="The running ISO week, e.g. 2026-W47.")
    computed_at = serializers.DateTimeField(help_text="When the estimate was computed (every 15 minutes).")
    amount_low = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="What the week may pay if it ended now: the low end of the range."
    )
    amount_high = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="The high end of the range.")
    currency = serializers.CharField()
    rank_band = NamedChoiceField(enum_name="RankBandEnum", choices=list(RANK_BANDS.items()))
    rank_band_label = serializers.CharField()
    discounted_percent = serializers.IntegerField(
        help_text="About how many of this week's interactions did not count so far, in percent (steps of 10)."
    )
    excluded_reason = serializers.CharField(
        allow_blank=True, help_text="Why this week earns nothing (`account_suspended`, …); empty otherwise."
    )
    excluded_label = serializers.CharField(allow_blank=True)


class PayoutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    week = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField()
    status = NamedChoiceField(enum_name="PayoutStatusEnum", choices=Payout.Status.choices)
    status_label = serializers.CharField()
    hold_reason = serializers.CharField(
        allow_blank=True, help_text="Set when the payout was held for review; the same words for every hold."
    )
    score = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    counted = LineSerializer(many=True, help_text="The settled week's interactions that counted, per action.")
    discounts = LineSerializer(
        many=True, help_text="The settled week's interactions that did not count, per reason in plain words."
    )
    appeal_state = NamedChoiceField(enum_name="AppealStateEnum", choices=AppealState.CHOICES)
    appeal_state_label = serializers.CharField()
    can_appeal = serializers.BooleanField(help_text="Held and not appealed yet: POST …/appeal/ is open.")
    appealed_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    transfer_state = serializers.ChoiceField(
        choices=["", "on_its_way", "paid", "waiting", "returned", "delayed"],
        help_text="Where the money is: on_its_way, paid (into the exchange account), waiting (for a linked "
        "exchange account), returned (to the prize pool), delayed (retrying); empty before the week is paid.",
    )
    transfer_reference = serializers.CharField(
        allow_blank=True, help_text="The exchange's transfer id, once the exchange accepted the transfer."
    )
    transfer_paid_on = serializers.DateTimeField(allow_null=True, help_text="When the exchange completed it.")
    transfer_link_before = serializers.DateTimeField(
        allow_null=True, help_text="For a waiting payout: link an exchange account before this, or it returns."
    )
    transfer_return_reason = serializers.CharField(
        allow_blank=True, help_text="For a returned payout: why, in the request's language."
    )


class TitleProgressSerializer(serializers.Serializer):
    current = CreatorTitleSerializer(allow_null=True)
    next = CreatorTitleSerializer(allow_null=True, help_text="The next title up; null at the top.")
    followers = serializers.IntegerField()
    followers_needed = serializers.IntegerField(allow_null=True)
    recent_contribution = serializers.DecimalField(
        max_digits=20, decimal_places=6, help_text="Your score over the last four settled weeks."
    )
    contribution_needed = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)


class StatementSerializer(serializers.Serializer):
    estimate = EstimateSerializer(allow_null=True, help_text="Null until this week's first estimate has run.")
    payouts = PayoutSerializer(many=True, help_text="The last 12 weeks' payouts, newest first.")
    title = TitleProgressSerializer()


class AppealSerializer(serializers.Serializer):
    # Blank passes the shape check so that the settlement's own words say what is missing.
    message = serializers.CharField(
        max_length=2000, allow_blank=True, help_text="Why the payout should be released, for the reviewers."
    )


# --- Reader tips (incentives/tips.py) -------------------------------------------------------------


class TipRequestSerializer(serializers.Serializer):
    post_id = serializers.IntegerField(required=False, help_text="The post to tip; or give `creator` instead.")
    creator = serializers.CharField(
        required=False, max_length=150, help_text="The username of the creator to tip directly (no post)."
    )
    amount = serializers.CharField(
        max_length=12, help_text='Whole units of the tip currency, such as 5 or "5"; 1.5 is refused.'
    )
    token = serializers.UUIDField(
        help_text="A fresh UUID per tip, made by the client: sending the same token again returns the same tip."
    )

    def validate(self, attrs):
        if ("post_id" in attrs) == ("creator" in attrs):
            raise serializers.ValidationError("Give either post_id or creator.")
        return attrs


class TipSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = NamedChoiceField(enum_name="TipStateEnum", choices=Tip.State.choices)
    state_label = serializers.CharField(source="get_state_display")
    amount = serializers.IntegerField(help_text="Whole units of `currency`.")
    currency = serializers.CharField()
    post_id = serializers.IntegerField(allow_null=True)
    creator = serializers.CharField(source="creator.username")
    failure_code = serializers.CharField(allow_blank=True, help_text="Why the exchange refused or failed it.")
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True, help_text="Shown on the post from then on.")
