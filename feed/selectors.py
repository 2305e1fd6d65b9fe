from django.db.models import QuerySet

from .models import Post


def latest_posts(*, limit: int = 20) -> QuerySet[Post]:
    """Newest published posts with everything a post card shows, in two queries."""
    return (
        Post.objects.filter(status=Post.Status.PUBLISHED)
        .select_related("author__profile", "content_type")
        .prefetch_related("assets")
        .order_by("-created_at", "-id")[:limit]
    )
