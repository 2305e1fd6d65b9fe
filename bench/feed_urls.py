"""Orbit's URLs plus the bare endpoint that bench/feed.py measures For You against.

The bare endpoint is the floor for any page of 20 posts: token authentication, one query for
20 posts by primary key, a plain ModelSerializer, the same middleware and the same gunicorn.
Whatever For You costs beyond it is ranking and post-card work.
"""

import random

from django.db.models import Max, Min
from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from feed.models import Post

PAGE_SIZE = 20
FIELDS = ["id", "author", "content_type", "language", "body", "created_at", "like_count", "comment_count"]


class BarePostSerializer(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = FIELDS


_id_range: tuple[int, int] | None = None


def _post_id_range() -> tuple[int, int]:
    # Read once per process: the seeded posts do not change while the bench runs.
    global _id_range
    if _id_range is None:
        bounds = Post.objects.aggregate(low=Min("pk"), high=Max("pk"))
        _id_range = (bounds["low"], bounds["high"])
    return _id_range


class BarePostsView(APIView):
    """20 posts picked at random from the seeded range, by primary key."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        low, high = _post_id_range()
        ids = random.sample(range(low, high + 1), min(PAGE_SIZE, high - low + 1))
        # Only the serialized columns: the search document is larger than the body and no page shows it.
        posts = Post.objects.filter(pk__in=ids).only(*FIELDS)
        return Response({"results": BarePostSerializer(posts, many=True).data})


urlpatterns = [
    path("bench/bare-posts/", BarePostsView.as_view(), name="bench_bare_posts"),
    path("", include("orbit.urls")),
]
