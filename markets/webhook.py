"""The exchange's webhook endpoint: HTTP in front of markets/exchange.py.

See docs/exchange.md#1-the-webhook.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from orbit.api import ErrorSerializer

from . import exchange


class ExchangeEventResultSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(["applied", "duplicate", "outdated", "refused"])
    code = serializers.CharField(required=False, help_text="Why, as a stable code (not for applied events).")
    reason = serializers.CharField(required=False, help_text="Why, in words.")


class ExchangeEventsView(APIView):
    # Signed by the exchange, not logged in: the HMAC is the authentication. The raw body is read
    # as sent, since the signature covers its exact bytes.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes: list = []

    @extend_schema(
        summary="Receive a batch of signed exchange events",
        description=(
            'Body: `{"events": [{"id", "type", "occurred_at", "data"}, ...]}`; types: '
            + ", ".join(exchange.EVENT_TYPES)
            + ". Signed with `X-Orbit-Signature: sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>'>` and "
            "`X-Orbit-Timestamp: <Unix seconds>`. Each event gets a result in order; a redelivered id is "
            "`duplicate` and changes nothing. See docs/exchange.md."
        ),
        parameters=[
            OpenApiParameter(exchange.TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(exchange.SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True),
        ],
        request={"application/json": {"type": "object"}},
        responses={
            200: inline_serializer(
                "ExchangeBatchResult",
                {
                    "results": ExchangeEventResultSerializer(many=True),
                    "applied": serializers.IntegerField(),
                    "duplicate": serializers.IntegerField(),
                    "outdated": serializers.IntegerField(),
                    "refused": serializers.IntegerField(),
                },
            ),
            400: OpenApiResponse(ErrorSerializer, description="The body is not a JSON batch of events."),
            401: OpenApiResponse(ErrorSerializer, description="Unsigned, wrongly signed, or outside the time window."),
            413: OpenApiResponse(ErrorSerializer, description="More events than one batch may hold."),
            503: OpenApiResponse(ErrorSerializer, description="No webhook secret is configured."),
        },
        tags=["exchange"],
    )
    def post(self, request):
        try:
            outcome = exchange.receive(
                body=request.body,
                timestamp=request.headers.get(exchange.TIMESTAMP_HEADER),
                signature=request.headers.get(exchange.SIGNATURE_HEADER),
            )
        except exchange.WebhookRefused as refused:
            body = {"message": refused.message, "status": refused.status, "code": refused.code}
            return Response(body, status=refused.status)
        return Response({"results": [result.as_dict() for result in outcome.results], **outcome.counts()})
