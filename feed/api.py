"""API views for posts, reactions, feeds, notifications and search: thin over services and selectors.

Each view checks the shape of its input with a serializer, calls one service (writes) or
selector (reads), and formats the result. Errors raised by the services (ValidationError,
PermissionDenied, DoesNotExist) become JSON by orbit.api.exception_handler.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from creators.selectors import creator_profile
from markets.models import Asset
from orbit.api import USERNAME, OrbitAPIView, PageQuerySerializer, error_responses, page_query, valid
from orbit.fingerprints import app_fingerprint, beacon_fingerprint
from orbit.pagination import Page
from orbit.parsers import BoundedJSONParser

from . import calls, selectors, services
from .models import Hashtag, Post
from .serializers import (
    CallPageSerializer,
    CommentCreateSerializer,
    CommentListSerializer,
    CommentSerializer,
    DwellRecordedSerializer,
    DwellSerializer,
    LikeStateSerializer,
    MarkedReadSerializer,
    MarkReadSerializer,
    NotificationPageSerializer,
    PostCreateMultipartSerializer,
    PostCreateSerializer,
    PostPageSerializer,
    PostSerializer,
    PostUpdateSerializer,
    ReportCreateSerializer,
    ReportSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
    ShareCreateSerializer,
    ShareSerializer,
    TradeClickSerializer,
    ViewRecordedSerializer,
)

POST_ID = OpenApiParameter("post_id", int, OpenApiParameter.PATH, description="The post's id.")


def post_body(request, post_id: int) -> dict:
    """A post as the API shows it, loaded with everything its card needs."""
    post = selectors.post_page(post_id=post_id, viewer=request.user)
    return PostSerializer(post, context={"request": request}).data


def post_page_response(request, page: Page) -> Response:
    return Response(PostPageSerializer(page, context={"request": request}).data)


# --- Posts ------------------------------------------------------------------------------


class PostListView(OrbitAPIView):
    throttle_scope = "post"
    parser_classes = [BoundedJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="posts_list",
        summary="Latest posts",
        description="Published posts, newest first, without people you muted or blocked. Keyset pages.",
        parameters=[PageQuerySerializer],
        responses={200: PostPageSerializer, **error_responses(400)},
        tags=["posts"],
    )
    def get(self, request):
        return post_page_response(request, selectors.latest_posts(viewer=request.user, **page_query(request)))

    @extend_schema(
        summary="Publish a post",
        description=(
            "JSON, or multipart to attach images (then send `trade_card` and `call` as JSON-encoded parts). "
            "Throttled per user (scope `post`)."
        ),
        request={"application/json": PostCreateSerializer, "multipart/form-data": PostCreateMultipartSerializer},
        responses={201: PostSerializer, **error_responses(400, 401, 403, 429)},
        tags=["posts"],
    )
    def post(self, request):
        multipart = request.content_type.startswith("multipart/")
        data = valid(PostCreateMultipartSerializer if multipart else PostCreateSerializer, request.data)
        card = data.get("trade_card")
        call = data.get("call")
        post = services.publish_post(
            author=request.user,
            body=data["body"],
            content_type=data["content_type"],
            language=data.get("language"),
            images=data.get("images") or [],
            trade_card=services.TradeCardInput(**card) if card else None,
            call=services.CallInput(**call) if call else None,
            show_performance=data.get("show_performance", False),
        )
        return Response(post_body(request, post.pk), status=status.HTTP_201_CREATED)


class PostDetailView(OrbitAPIView):
    @extend_schema(
        summary="A post",
        parameters=[POST_ID],
        responses={200: PostSerializer, **error_responses(403, 404)},
        tags=["posts"],
    )
    def get(self, request, post_id: int):
        post = services.readable_post(viewer=request.user, post_id=post_id)
        return Response(post_body(request, post.pk))

    @extend_schema(
        summary="Edit your post",
        description=(
            "Send only what changes. The previous text and trade card are kept as a revision and the "
            "post is marked edited; a new trade card is verified again against your exchange fills."
        ),
        parameters=[POST_ID],
        request=PostUpdateSerializer,
        responses={200: PostSerializer, **error_responses(400, 401, 403, 404)},
        tags=["posts"],
    )
    def patch(self, request, post_id: int):
        data = valid(PostUpdateSerializer, request.data)
        body = data.get("body")
        if body is None:
            body = services.readable_post(viewer=request.user, post_id=post_id).body
        card = data.get("trade_card")
        services.edit_post(
            editor=request.user,
            post_id=post_id,
            body=body,
            content_type=data.get("content_type"),
            trade_card=services.TradeCardInput(**card) if card else None,
            remove_trade_card="trade_card" in data and card is None,
        )
        return Response(post_body(request, post_id))

    @extend_schema(
        summary="Delete your post",
        parameters=[POST_ID],
        responses={204: None, **error_responses(401, 403, 404)},
        tags=["posts"],
    )
    def delete(self, request, post_id: int):
        services.delete_post(actor=request.user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LikeView(OrbitAPIView):
    throttle_scope = "react"

    @staticmethod
    def _state(post_id: int, *, liked: bool) -> Response:
        count = Post.objects.filter(pk=post_id).values_list("like_count", flat=True).first() or 0
        return Response({"liked": liked, "like_count": count})

    @extend_schema(
        summary="Like a post",
        description="Liking twice counts once.",
        parameters=[POST_ID],
        request=None,
        responses={200: LikeStateSerializer, **error_responses(401, 403, 404, 429)},
        tags=["reactions"],
    )
    def post(self, request, post_id: int):
        services.like_post(user=request.user, post_id=post_id, fp=app_fingerprint(request))
        return self._state(post_id, liked=True)

    @extend_schema(
        summary="Unlike a post",
        parameters=[POST_ID],
        request=None,
        responses={200: LikeStateSerializer, **error_responses(401, 403, 404, 429)},
        tags=["reactions"],
    )
    def delete(self, request, post_id: int):
        services.unlike_post(user=request.user, post_id=post_id, fp=app_fingerprint(request))
        return self._state(post_id, liked=False)


class CommentsView(OrbitAPIView):
    throttle_scope = "comment"

    @extend_schema(
        summary="Comments on a post",
        description="Top-level comments oldest first, each with its replies (one level), a page at a time.",
        parameters=[POST_ID, PageQuerySerializer],
        responses={200: CommentListSerializer, **error_responses(403, 404)},
        tags=["reactions"],
    )
    def get(self, request, post_id: int):
        params = valid(PageQuerySerializer, request.query_params)
        post = services.readable_post(viewer=request.user, post_id=post_id)
        page = selectors.post_comments(
            post=post, viewer=request.user, cursor=params.get("cursor") or None, size=params["size"]
        )
        data = {"results": page.items, "next_cursor": page.next_cursor}
        return Response(CommentListSerializer(data, context={"request": request}).data)

    @extend_schema(
        summary="Comment on a post, or reply to a comment",
        description="Throttled per user (scope `comment`).",
        parameters=[POST_ID],
        request=CommentCreateSerializer,
        responses={201: CommentSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["reactions"],
    )
    def post(self, request, post_id: int):
        data = valid(CommentCreateSerializer, request.data)
        comment = services.comment_on_post(
            author=request.user,
            post_id=post_id,
            body=data["body"],
            parent_id=data.get("parent"),
            fp=app_fingerprint(request),
        )
        return Response(CommentSerializer(comment, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ShareView(OrbitAPIView):
    throttle_scope = "react"

    @extend_schema(
        summary="Make a share link",
        parameters=[POST_ID],
        request=ShareCreateSerializer,
        responses={201: ShareSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["reactions"],
    )
    def post(self, request, post_id: int):
        data = valid(ShareCreateSerializer, request.data)
        share = services.share_post(
            user=request.user, post_id=post_id, channel=data["channel"], fp=app_fingerprint(request)
        )
        url = request.build_absolute_uri(reverse("feed:open_share", args=[share.code]))
        return Response({"code": share.code, "url": url}, status=status.HTTP_201_CREATED)


class ReportView(OrbitAPIView):
    throttle_scope = "react"

    @extend_schema(
        summary="Report a post to the moderators",
        description="Once per post; your own posts cannot be reported.",
        parameters=[POST_ID],
        request=ReportCreateSerializer,
        responses={201: ReportSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["reactions"],
    )
    def post(self, request, post_id: int):
        data = valid(ReportCreateSerializer, request.data)
        report = services.report_post(
            reporter=request.user, post_id=post_id, reason=data["reason"], details=data["details"]
        )
        return Response(
            {"id": report.pk, "reason": report.reason, "status": report.status}, status=status.HTTP_201_CREATED
        )


class TradeClickView(OrbitAPIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Follow a trade card's Trade button",
        description=(
            "Records a trade click and returns the exchange's page for the card's instrument. "
            "Only listed instruments get a URL; there is no open redirect."
        ),
        parameters=[POST_ID],
        request=None,
        responses={200: TradeClickSerializer, **error_responses(400, 403, 404)},
        tags=["engagement"],
    )
    def post(self, request, post_id: int):
        url = services.trade_redirect_url(
            viewer=request.user, post_id=post_id, fp=beacon_fingerprint(request, device=app_fingerprint)
        )
        return Response({"url": url})


class HideView(OrbitAPIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "react"

    @extend_schema(
        summary="Not interested: show me fewer posts like this",
        description="Logged as negative feedback; For You leaves the post out and ranks its kind lower.",
        parameters=[POST_ID],
        request=None,
        responses={204: None, **error_responses(401, 403, 404, 429)},
        tags=["engagement"],
    )
    def post(self, request, post_id: int):
        services.hide_post_for_viewer(user=request.user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ViewView(OrbitAPIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Record that a post was seen",
        description=(
            "Counted at most once per viewer, post and day; signed out, once per network (IPv4 /24, IPv6 /64). "
            "A signed-out address over THROTTLE_ANON_BEACON is answered with recorded: false."
        ),
        parameters=[POST_ID],
        request=None,
        responses={200: ViewRecordedSerializer, **error_responses(403, 404)},
        tags=["engagement"],
    )
    def post(self, request, post_id: int):
        post = services.readable_post(viewer=request.user, post_id=post_id)
        recorded = services.record_view(
            viewer=request.user, post=post, fp=beacon_fingerprint(request, device=app_fingerprint)
        )
        return Response({"recorded": recorded})


class DwellView(OrbitAPIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Report time spent on posts",
        description=(
            "A batch of at most 50 items, each with the post's `dwell_token` from the API's post. Time counts "
            "only against a good token for this reader and post, and at most the time since the token was issued "
            "(server clock) less what was already counted: items without one, or with an expired (30 minutes), "
            "another reader's or another post's token, are skipped, as are unknown posts. Signed out, one report "
            "per network, post and day counts, and none once the address is over THROTTLE_ANON_BEACON."
        ),
        request=DwellSerializer,
        responses={200: DwellRecordedSerializer, **error_responses(400)},
        tags=["engagement"],
    )
    def post(self, request):
        data = valid(DwellSerializer, request.data)
        recorded = services.record_dwell(
            viewer=request.user, items=data["items"], fp=beacon_fingerprint(request, device=app_fingerprint)
        )
        return Response({"recorded": recorded})


# --- Feeds ------------------------------------------------------------------------------


class FollowingFeedView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Posts of people you follow",
        parameters=[PageQuerySerializer],
        responses={200: PostPageSerializer, **error_responses(400, 401)},
        tags=["feeds"],
    )
    def get(self, request):
        # Reposts are left out until PostSerializer can show one with its original.
        return post_page_response(
            request, selectors.following_posts(viewer=request.user, reposts=False, **page_query(request))
        )


class LatestFeedView(OrbitAPIView):
    @extend_schema(
        summary="Latest posts (the same as GET /posts/)",
        parameters=[PageQuerySerializer],
        responses={200: PostPageSerializer, **error_responses(400)},
        tags=["feeds"],
    )
    def get(self, request):
        return post_page_response(request, selectors.latest_posts(viewer=request.user, **page_query(request)))


class AssetPostsView(OrbitAPIView):
    @extend_schema(
        summary="Posts about an asset ($BTC)",
        parameters=[
            OpenApiParameter("symbol", str, OpenApiParameter.PATH, description="e.g. BTC"),
            PageQuerySerializer,
        ],
        responses={200: PostPageSerializer, **error_responses(400, 404)},
        tags=["feeds"],
    )
    def get(self, request, symbol: str):
        query = page_query(request)
        if not Asset.objects.filter(symbol=symbol.upper()).exists():
            raise Asset.DoesNotExist(_("There is no asset $%(symbol)s.") % {"symbol": symbol.upper()})
        return post_page_response(request, selectors.asset_posts(symbol=symbol, viewer=request.user, **query))


class HashtagPostsView(OrbitAPIView):
    @extend_schema(
        summary="Posts with a hashtag",
        parameters=[
            OpenApiParameter("name", str, OpenApiParameter.PATH, description="Without the #, e.g. defi"),
            PageQuerySerializer,
        ],
        responses={200: PostPageSerializer, **error_responses(400, 404)},
        tags=["feeds"],
    )
    def get(self, request, name: str):
        query = page_query(request)
        if not Hashtag.objects.filter(name=name.lower()).exists():
            raise Hashtag.DoesNotExist(_("No post uses #%(name)s yet.") % {"name": name.lower()})
        return post_page_response(request, selectors.hashtag_posts(name=name, viewer=request.user, **query))


# --- Notifications and search ---------------------------------------------------------------


class NotificationsView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your notifications",
        description="Likes, comments, replies, follows and mentions, newest first, with the unread count.",
        parameters=[PageQuerySerializer],
        responses={200: NotificationPageSerializer, **error_responses(400, 401)},
        tags=["notifications"],
    )
    def get(self, request):
        page = selectors.notifications_for(user=request.user, **page_query(request))
        unread = selectors.unread_notification_count(user=request.user)
        body = {"items": page.items, "next_cursor": page.next_cursor, "unread_count": unread}
        return Response(NotificationPageSerializer(body, context={"request": request}).data)


class NotificationsReadView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Mark notifications read",
        request=MarkReadSerializer,
        responses={200: MarkedReadSerializer, **error_responses(400, 401)},
        tags=["notifications"],
    )
    def post(self, request):
        data = valid(MarkReadSerializer, request.data)
        marked = services.mark_notifications_read(user=request.user, up_to=data.get("up_to"))
        return Response({"marked": marked, "unread_count": selectors.unread_notification_count(user=request.user)})


class SearchView(OrbitAPIView):
    @extend_schema(
        summary="Search posts and people",
        description="Posts matching every English word and Chinese phrase, best first, a page at a time "
        "(pass `next_cursor` as `?cursor=`); people by name.",
        parameters=[SearchQuerySerializer],
        responses={200: SearchResultSerializer, **error_responses(400)},
        tags=["search"],
    )
    def get(self, request):
        params = valid(SearchQuerySerializer, request.query_params)
        page = selectors.search_posts(
            query=params["q"], viewer=request.user, cursor=params.get("cursor") or None, size=params["size"]
        )
        results = {
            "posts": page.items,
            "next_cursor": page.next_cursor,
            "people": selectors.search_people(query=params["q"]),
        }
        return Response(SearchResultSerializer(results, context={"request": request}).data)


# --- A creator's posts and calls -----------------------------------------------------------


class UserPostsView(OrbitAPIView):
    @extend_schema(
        summary="A creator's posts",
        parameters=[USERNAME, PageQuerySerializer],
        responses={200: PostPageSerializer, **error_responses(400, 404)},
        tags=["people"],
    )
    def get(self, request, username: str):
        query = page_query(request)
        creator = creator_profile(username=username, viewer=request.user)
        return post_page_response(
            request, selectors.creator_posts(author=creator, viewer=request.user, reposts=False, **query)
        )


class UserCallsView(OrbitAPIView):
    @extend_schema(
        summary="A creator's calls and their record",
        description=(
            "The record (hit rate and average return over graded calls; void calls count nowhere) and "
            "the calls, newest first, in keyset pages. Empty when you muted or blocked each other."
        ),
        parameters=[USERNAME, PageQuerySerializer],
        responses={200: CallPageSerializer, **error_responses(400, 404)},
        tags=["people"],
    )
    def get(self, request, username: str):
        query = page_query(request)
        creator = creator_profile(username=username, viewer=request.user)
        hidden = calls.hides_calls_from_viewer(creator)
        page = Page(items=[], next_cursor=None) if hidden else calls.calls_of(author=creator, **query)
        body = {"record": calls.call_record(user=creator), "items": page.items, "next_cursor": page.next_cursor}
        return Response(CallPageSerializer(body, context={"request": request}).data)


# --- Reposts, quotes and bookmarks (the same services as the cards' buttons) ------------------------


class RepostStateSerializer(serializers.Serializer):
    reposted = serializers.BooleanField()
    repost_count = serializers.IntegerField()


class BookmarkStateSerializer(serializers.Serializer):
    bookmarked = serializers.BooleanField()


class QuoteCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000, help_text="Your own words above the quoted post (Markdown).")
    content_type = serializers.CharField(max_length=32, help_text="e.g. analysis, education, chat")
    language = serializers.ChoiceField(choices=Post.Language.choices, required=False)


class RepostView(OrbitAPIView):
    throttle_scope = "react"

    @staticmethod
    def _state(post_id: int, *, reposted: bool) -> Response:
        count = Post.objects.filter(pk=post_id).values_list("repost_count", flat=True).first() or 0
        return Response({"reposted": reposted, "repost_count": count})

    @extend_schema(
        summary="Repost a post to your followers",
        description="Reposting twice counts once. A repost cannot be reposted: repost the original.",
        parameters=[POST_ID],
        request=None,
        responses={200: RepostStateSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["reactions"],
    )
    def post(self, request, post_id: int):
        services.repost(user=request.user, post_id=post_id, fp=app_fingerprint(request))
        return self._state(post_id, reposted=True)

    @extend_schema(
        summary="Undo your repost",
        parameters=[POST_ID],
        request=None,
        responses={200: RepostStateSerializer, **error_responses(401, 404, 429)},
        tags=["reactions"],
    )
    def delete(self, request, post_id: int):
        services.undo_repost(user=request.user, post_id=post_id)
        return self._state(post_id, reposted=False)


class QuoteView(OrbitAPIView):
    throttle_scope = "post"

    @extend_schema(
        summary="Quote a post",
        description="Publish a post of your own that embeds this one. Throttled per user (scope `post`).",
        parameters=[POST_ID],
        request=QuoteCreateSerializer,
        responses={201: PostSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["reactions"],
    )
    def post(self, request, post_id: int):
        data = valid(QuoteCreateSerializer, request.data)
        created = services.quote(
            user=request.user,
            post_id=post_id,
            body=data["body"],
            content_type=data["content_type"],
            language=data.get("language"),
            fp=app_fingerprint(request),
        )
        return Response(post_body(request, created.pk), status=status.HTTP_201_CREATED)


class BookmarkView(OrbitAPIView):
    throttle_scope = "react"

    @extend_schema(
        summary="Save a post (private)",
        parameters=[POST_ID],
        request=None,
        responses={200: BookmarkStateSerializer, **error_responses(401, 403, 404, 429)},
        tags=["reactions"],
    )
    def post(self, request, post_id: int):
        services.bookmark(user=request.user, post_id=post_id)
        return Response({"bookmarked": True})

    @extend_schema(
        summary="Remove a post from your saved posts",
        parameters=[POST_ID],
        request=None,
        responses={200: BookmarkStateSerializer, **error_responses(401, 404, 429)},
        tags=["reactions"],
    )
    def delete(self, request, post_id: int):
        services.unbookmark(user=request.user, post_id=post_id)
        return Response({"bookmarked": False})


class BookmarksView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your saved posts",
        description="Most recently saved first; only ever your own. Keyset pages.",
        parameters=[PageQuerySerializer],
        responses={200: PostPageSerializer, **error_responses(400, 401)},
        tags=["feeds"],
    )
    def get(self, request):
        return post_page_response(request, selectors.bookmarked_posts(user=request.user, **page_query(request)))
