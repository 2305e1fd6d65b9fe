"""Post counters are a cache of facts (Like and Comment rows); these rebuild them."""

from django.db import connection

RECOUNT = """
UPDATE feed_post AS p
SET like_count = coalesce(l.n, 0), comment_count = coalesce(c.n, 0)
FROM feed_post AS q
LEFT JOIN (SELECT post_id, count(*) AS n FROM feed_like WHERE post_id >= %(first)s GROUP BY post_id) AS l
    ON l.post_id = q.id
LEFT JOIN (
    SELECT post_id, count(*) AS n FROM feed_comment
    WHERE post_id >= %(first)s AND deleted_at IS NULL GROUP BY post_id
) AS c ON c.post_id = q.id
WHERE p.id = q.id AND q.id >= %(first)s
  AND (p.like_count <> coalesce(l.n, 0) OR p.comment_count <> coalesce(c.n, 0))
"""


def recount_posts(*, first_id: int = 0) -> int:
    """Set like_count and comment_count of posts with id >= first_id from the rows; returns posts fixed."""
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT, {"first": first_id})
        return cursor.rowcount
