from django.urls import path

from . import views

app_name = "feed"

urlpatterns = [
    path("", views.latest, name="latest"),
    path("following/", views.following, name="following"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notifications, name="notifications"),
    path("compose/", views.compose, name="compose"),
    path("posts/<int:post_id>/", views.post_detail, name="post"),
    path("posts/<int:post_id>/edit/", views.edit, name="edit"),
    path("posts/<int:post_id>/delete/", views.delete, name="delete"),
    path("posts/<int:post_id>/like/", views.like, name="like"),
    path("posts/<int:post_id>/comment/", views.comment, name="comment"),
    path("posts/<int:post_id>/not-interested/", views.not_interested, name="not_interested"),
    path("posts/<int:post_id>/share/", views.share, name="share"),
    path("posts/<int:post_id>/report/", views.report, name="report"),
    path("posts/<int:post_id>/trade/", views.trade, name="trade"),
    path("demo/trade/<str:instrument>/", views.demo_trade, name="demo_trade"),
    path("s/<str:code>/", views.open_share, name="open_share"),
    path("beacon/dwell/", views.dwell_beacon, name="dwell_beacon"),
    path("assets/<str:symbol>/", views.asset, name="asset"),
    path("tags/<str:name>/", views.hashtag, name="hashtag"),
    path("@<str:username>/", views.profile, name="profile"),
    path("@<str:username>/calls/", views.profile_calls, name="profile_calls"),
]
