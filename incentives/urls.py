from django.urls import path

from . import views

app_name = "incentives"

urlpatterns = [
    path("earnings/", views.statement, name="statement"),
    # `id`, not `payout_id`: the no-state-change-on-GET test fills in route parameters it knows by name.
    path("earnings/payouts/<int:id>/appeal/", views.appeal, name="appeal"),
]
