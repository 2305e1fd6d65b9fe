"""The creator statement's API, included under /api/v1/ by orbit/api_urls.py (namespace `api`)."""

from django.urls import path

from . import api

urlpatterns = [
    path("me/earnings/", api.EarningsView.as_view(), name="earnings"),
    path("me/payouts/<int:id>/appeal/", api.AppealView.as_view(), name="payout_appeal"),
    path("tips/", api.TipsView.as_view(), name="tips"),
]
