from django.urls import path

from . import views

app_name = "incentives"

urlpatterns = [
    path("earnings/", views.statement, name="statement"),
    # `id`, not `payout_id`: the no-state-change-on-GET test fills in route parameters it knows by name.
    path("earnings/payouts/<int:id>/appeal/", views.appeal, name="appeal"),
    path("tips/posts/<int:post_id>/", views.tip_post, name="tip_post"),
    path("tips/posts/<int:post_id>/box/", views.tip_box, name="tip_box"),
    path("tips/creators/<str:username>/", views.tip_creator, name="tip_creator"),
]
