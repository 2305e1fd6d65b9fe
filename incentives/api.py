"""API views for the creator statement and payout appeals: thin over incentives.selectors and
settlement.appeal_payout. Errors become JSON by orbit.api.exception_handler."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from creators.selectors import creator_profile
from orbit.api import OrbitAPIView, error_response, error_responses, valid

from . import selectors, settlement, tips
from .models import Payout
from .serializers import AppealSerializer, PayoutSerializer, StatementSerializer, TipRequestSerializer, TipSerializer
from .views import recently_authenticated

PAYOUT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The payout's id.")


class EarningsView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your creator statement",
        description=(
            "The running week's estimate, coarse on purpose (an amount range, the rank band and the share "
            "of interactions that did not count), your payouts of the last 12 weeks with what counted and "
            "why the rest did not, and their appeal state, and your progress towards the next title. "
            "`estimate` is null until the week's first estimate ran."
        ),
        responses={200: StatementSerializer, **error_responses(401)},
        tags=["earnings"],
    )
    def get(self, request):
        return Response(StatementSerializer(selectors.creator_statement(request.user)).data)


class AppealView(OrbitAPIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "comment"

    @extend_schema(
        summary="Appeal a payout held for review",
        description=(
            "Once per payout, and only while it is held. A reviewer reads the message, then releases "
            "or forfeits the payout. Throttled per user (scope `comment`)."
        ),
        parameters=[PAYOUT_ID],
        request=AppealSerializer,
        responses={200: PayoutSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["earnings"],
    )
    def post(self, request, id: int):  # `id`: the path's name for it
        data = valid(AppealSerializer, request.data)
        try:
            settlement.appeal_payout(payout_id=id, creator=request.user, message=data["message"])
        except Payout.DoesNotExist:
            raise Payout.DoesNotExist(selectors.NO_SUCH_PAYOUT) from None
        except settlement.SettlementError as exc:
            return error_response(str(exc))
        return Response(PayoutSerializer(selectors.statement_payout(user=request.user, payout_id=id)).data)


class TipsView(OrbitAPIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "comment"

    @extend_schema(
        summary="Tip a post or a creator from your exchange balance",
        description=(
            "Whole units of the tip currency, at least TIP_MINIMUM and at most TIP_DAILY_LIMIT per rolling "
            "24 hours. The tip is sent to the exchange after this answer (`state` `requested`) and shows on "
            "the post once the exchange confirms it; the creator receives all of it. Your first tip, and any "
            "of TIP_REAUTH_AT or more, needs a recent password entry in a browser session: otherwise 403 "
            'with `code` "reauthentication_required". The same `token` again returns the same tip.'
        ),
        request=TipRequestSerializer,
        responses={201: TipSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["tips"],
    )
    def post(self, request):
        data = valid(TipRequestSerializer, request.data)
        if "post_id" in data:
            target = {"post": tips.tippable_post(viewer=request.user, post_id=data["post_id"])}
        else:
            target = {"creator": creator_profile(username=data["creator"], viewer=request.user)}
        try:
            tip = tips.request_tip(
                tipper=request.user,
                amount=data["amount"],
                token=str(data["token"]),
                recently_authenticated=recently_authenticated(request._request),
                **target,
            )
        except tips.ReauthenticationNeeded as needed:
            body = {"message": str(needed), "status": status.HTTP_403_FORBIDDEN, "code": needed.code}
            return Response(body, status=status.HTTP_403_FORBIDDEN)
        return Response(TipSerializer(tip).data, status=status.HTTP_201_CREATED)
