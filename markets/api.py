"""API view of a creator's trading performance (markets/performance.py), from exchange fills only."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from creators.selectors import creator_profile
from orbit.api import USERNAME, ErrorSerializer, OrbitAPIView, error_responses

from . import performance


class PerformanceWindowSerializer(serializers.Serializer):
    days = serializers.IntegerField(help_text="The window: the last 7, 30 or 90 days.")
    trades = serializers.IntegerField(help_text="Fills that reduced or closed a position in the window.")
    pnl_percent = serializers.DecimalField(
        max_digits=None, decimal_places=2, allow_null=True, help_text="Null when the window has no trade."
    )
    win_rate_percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    max_drawdown_percent = serializers.DecimalField(max_digits=None, decimal_places=2, allow_null=True)

    def to_representation(self, window):
        return {
            "days": window.days,
            "trades": window.trades,
            "pnl_percent": _percent(window.pnl_percent),
            "win_rate_percent": _percent(window.win_rate),
            "max_drawdown_percent": _percent(window.max_drawdown_percent),
        }


class PerformanceSerializer(serializers.Serializer):
    username = serializers.CharField()
    linked = serializers.BooleanField(help_text="The person has linked an exchange account.")
    as_of = serializers.DateTimeField(help_text="When the figures were computed (they are cached for minutes).")
    windows = PerformanceWindowSerializer(many=True)


def _percent(value) -> str | None:
    return None if value is None else format(value, "f")


class UserPerformanceView(OrbitAPIView):
    @extend_schema(
        summary="A creator's trading performance",
        description=(
            "PnL %, win rate and max drawdown over the last 7, 30 and 90 days, computed from the "
            "person's exchange fills only (the creator cannot edit them); see the README for the method. "
            "Private unless the person opted in (`show_performance` on `PATCH /me/`): anyone else then "
            "gets 403 with a message; the person always sees their own."
        ),
        parameters=[USERNAME],
        responses={
            200: PerformanceSerializer,
            **error_responses(404),
            403: OpenApiResponse(ErrorSerializer, description="The person keeps their performance private."),
        },
        tags=["people"],
    )
    def get(self, request, username: str):
        creator = creator_profile(username=username, viewer=request.user)
        if not performance.is_public(creator, request.user):
            raise PermissionDenied(
                _("@%(username)s keeps their trading performance private.") % {"username": creator.username}
            )
        figures = performance.performance_of(user=creator)
        body = {
            "username": creator.username,
            "linked": performance.is_linked(creator),
            "as_of": figures.as_of,
            "windows": figures.windows,
        }
        return Response(PerformanceSerializer(body, context={"request": request}).data)
