"""Post and comment counters are a cache of facts (Like, Comment and CommentLike rows, live reposts
and quotes); these rebuild them."""

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


# A repost or quote counts while it is not deleted (feed.services.undo_repost and delete_post take
# it off); one hidden by moderation still counts, as the services leave it.
RECOUNT_SHARES = """
UPDATE feed_post AS p
SET repost_count = coalesce(r.n, 0), quote_count = coalesce(qu.n, 0)
FROM feed_post AS q
LEFT JOIN (
    SELECT repost_of_id AS post_id, count(*) AS n FROM feed_post
    WHERE repost_of_id >= %(first)s AND status <> 'deleted' GROUP BY repost_of_id
) AS r ON r.post_id = q.id
LEFT JOIN (
    SELECT quote_of_id AS post_id, count(*) AS n FROM feed_post
    WHERE quote_of_id >= %(first)s AND status <> 'deleted' GROUP BY quote_of_id
) AS qu ON qu.post_id = q.id
WHERE p.id = q.id AND q.id >= %(first)s
  AND (p.repost_count <> coalesce(r.n, 0) OR p.quote_count <> coalesce(qu.n, 0))
"""


# Comments of the posts with id >= first_id.
RECOUNT_COMMENT_LIKES = """
UPDATE feed_comment AS c
SET like_count = coalesce(l.n, 0)
FROM feed_comment AS d
LEFT JOIN (
    SELECT comment_id, count(*) AS n FROM feed_commentlike
    WHERE comment_id IN (SELECT id FROM feed_comment WHERE post_id >= %(first)s) GROUP BY comment_id
) AS l ON l.comment_id = d.id
WHERE c.id = d.id AND d.post_id >= %(first)s AND c.like_count <> coalesce(l.n, 0)
"""


def recount_posts(*, first_id: int = 0) -> int:
    """Set the like, comment, repost and quote counts of posts with id >= first_id, and the like
    counts of their comments, from the rows; returns how many counters rows were wrong (a post wrong
    in both post statements counts twice)."""
    fixed = 0
    with connection.cursor() as cursor:
        for statement in (RECOUNT, RECOUNT_SHARES, RECOUNT_COMMENT_LIKES):
            cursor.execute(statement, {"first": first_id})
            fixed += cursor.rowcount
    return fixed
