"""The API under /api/v1/: the OpenAPI schema, its docs, and every endpoint."""

from csp.constants import NONCE
from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from creators import api as people
from feed import api as feed
from markets import api as markets
from markets.webhook import ExchangeEventsView
from ranking import api as ranking

from .api import not_found

app_name = "api"

# Swagger UI and Redoc come from our static files (drf-spectacular-sidecar). The templates load
# their page styles from files and the init scripts are requests of their own (Swagger's from the
# split view, Redoc's static/api/redoc-init.js), so Swagger runs under the site's policy as it is.
# Redoc needs more, and only its page allows it: <style> elements, the ones its styled-components
# write with the response's nonce and the two its bundle writes while loading, before it can know
# the nonce, by their hashes (an empty element, then perfect-scrollbar's CSS; drf-spectacular-sidecar
# pins the bundle, tests/browser/test_csp_in_browser.py notices a change); and its search index in a
# worker started from a blob: URL. Its "API docs by Redocly" logo from cdn.redoc.ly stays refused
# (Redoc then leaves the logo out).
REDOC_LOADING_STYLES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
]
docs = SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html")
redoc = csp_update({"style-src": [NONCE, *REDOC_LOADING_STYLES], "worker-src": ["blob:"]})(
    SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")
)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs, name="docs"),
    path("redoc/", redoc, name="redoc"),
    # Accounts and people
    path("auth/token/", people.TokenView.as_view(), name="token"),
    path("auth/tokens/", people.TokenListView.as_view(), name="tokens"),
    path("auth/tokens/<int:token_id>/", people.TokenDetailView.as_view(), name="token-detail"),
    path("devices/", people.DeviceView.as_view(), name="devices"),
    path("me/", people.MeView.as_view(), name="me"),
    path("me/export/", people.MeExportView.as_view(), name="me_export"),
    path("users/<str:username>/", people.UserDetailView.as_view(), name="user"),
    path("users/<str:username>/posts/", feed.UserPostsView.as_view(), name="user_posts"),
    path("users/<str:username>/performance/", markets.UserPerformanceView.as_view(), name="user_performance"),
    path("users/<str:username>/calls/", feed.UserCallsView.as_view(), name="user_calls"),
    path("users/<str:username>/followers/", people.FollowersView.as_view(), name="followers"),
    path("users/<str:username>/following/", people.FollowingView.as_view(), name="following"),
    path("users/<str:username>/follow/", people.FollowView.as_view(), name="follow"),
    path("users/<str:username>/mute/", people.MuteView.as_view(), name="mute"),
    path("users/<str:username>/block/", people.BlockView.as_view(), name="block"),
    # Posts and reactions
    path("posts/", feed.PostListView.as_view(), name="posts"),
    path("posts/<int:post_id>/", feed.PostDetailView.as_view(), name="post"),
    path("posts/<int:post_id>/like/", feed.LikeView.as_view(), name="like"),
    path("posts/<int:post_id>/comments/", feed.CommentsView.as_view(), name="comments"),
    path("posts/<int:post_id>/share/", feed.ShareView.as_view(), name="share"),
    path("posts/<int:post_id>/repost/", feed.RepostView.as_view(), name="repost"),
    path("posts/<int:post_id>/quote/", feed.QuoteView.as_view(), name="quote"),
    path("posts/<int:post_id>/bookmark/", feed.BookmarkView.as_view(), name="bookmark"),
    path("me/bookmarks/", feed.BookmarksView.as_view(), name="bookmarks"),
    path("posts/<int:post_id>/report/", feed.ReportView.as_view(), name="report"),
    path("posts/<int:post_id>/trade-click/", feed.TradeClickView.as_view(), name="trade_click"),
    path("posts/<int:post_id>/view/", feed.ViewView.as_view(), name="view"),
    path("posts/<int:post_id>/hide/", feed.HideView.as_view(), name="hide"),
    path("engagement/dwell/", feed.DwellView.as_view(), name="dwell"),
    # Feeds
    path("feed/latest/", feed.LatestFeedView.as_view(), name="latest"),
    path("feed/following/", feed.FollowingFeedView.as_view(), name="following_feed"),
    path("feed/for-you/", ranking.ForYouFeedView.as_view(), name="for_you"),
    path("assets/<str:symbol>/posts/", feed.AssetPostsView.as_view(), name="asset_posts"),
    path("hashtags/<str:name>/posts/", feed.HashtagPostsView.as_view(), name="hashtag_posts"),
    # Notifications and search
    path("notifications/", feed.NotificationsView.as_view(), name="notifications"),
    path("notifications/read/", feed.NotificationsReadView.as_view(), name="notifications_read"),
    path("search/", feed.SearchView.as_view(), name="search"),
    # The exchange's signed webhook (HMAC, not a login)
    path("exchange/events/", ExchangeEventsView.as_view(), name="exchange_events"),
    path("", include("incentives.api_urls")),  # the creator statement: me/earnings/, me/payouts/…
    re_path(r"^.*$", not_found),
]
