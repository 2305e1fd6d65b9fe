from django.urls import path

from . import views

app_name = "feed"

urlpatterns = [
    # "/" is ranking's home: For You to a signed-in reader, this to everyone else.
    path("latest/", views.latest, name="latest"),
    path("following/", views.following, name="following"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notifications, name="notifications"),
    path("rail/", views.rail, name="rail"),
    path("compose/", views.compose, name="compose"),
    path("compose/preview/", views.preview, name="preview"),
    path("compose/assets/", views.autocomplete_assets, name="autocomplete_assets"),
    path("compose/people/", views.autocomplete_people, name="autocomplete_people"),
    path("compose/from-fill/", views.compose_fill, name="compose_fill"),
    path("posts/<int:post_id>/", views.post_detail, name="post"),
    path("posts/<int:post_id>/edit/", views.edit, name="edit"),
    path("posts/<int:post_id>/delete/", views.delete, name="delete"),
    path("posts/<int:post_id>/like/", views.like, name="like"),
    path("posts/<int:post_id>/comment/", views.comment, name="comment"),
    path("comments/<int:comment_id>/like/", views.comment_like, name="comment_like"),
    path("posts/<int:post_id>/not-interested/", views.not_interested, name="not_interested"),
    path("posts/<int:post_id>/share/", views.share, name="share"),
    path("posts/<int:post_id>/repost/", views.repost, name="repost"),
    path("posts/<int:post_id>/quote/", views.quote, name="quote"),
    path("posts/<int:post_id>/bookmark/", views.bookmark, name="bookmark"),
    path("bookmarks/", views.bookmarks, name="bookmarks"),
    path("new-posts/", views.new_count, name="new_count"),
    path("posts/<int:post_id>/report/", views.report, name="report"),
    path("posts/<int:post_id>/trade/", views.trade, name="trade"),
    path("demo/trade/<str:instrument>/", views.demo_trade, name="demo_trade"),
    path("s/<str:code>/", views.open_share, name="open_share"),
    path("beacon/dwell/", views.dwell_beacon, name="dwell_beacon"),
    path("assets/<str:symbol>/", views.asset, name="asset"),
    path("assets/<str:symbol>/candles/", views.asset_candles, name="asset_candles"),
    path("assets/<str:symbol>/quote/", views.asset_quote, name="asset_quote"),
    path("assets/<str:symbol>/vote/", views.asset_vote, name="asset_vote"),
    path("tags/<str:name>/", views.hashtag, name="hashtag"),
    path("@<str:username>/", views.profile, name="profile"),
    path("@<str:username>/calls/", views.profile_calls, name="profile_calls"),
]
