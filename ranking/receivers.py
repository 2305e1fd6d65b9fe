"""ranking listens to feed: a published or edited post is queued for tagging, nothing more."""

import logging

from django.dispatch import receiver

from feed.services import post_edited, post_published

from . import tasks

logger = logging.getLogger(__name__)


@receiver(post_published, dispatch_uid="ranking.tag_published_post")
@receiver(post_edited, dispatch_uid="ranking.tag_edited_post")
def queue_tagging(sender, *, post_id: int, **kwargs):
    # feed sends these after commit, so the worker finds the post. The post is already saved: a
    # broker outage must not turn the author's request into an error; the periodic sweep
    # (tag_untagged) tags it later.
    try:
        tasks.tag_post.apply_async(args=[post_id], retry=False)
    except Exception as exc:
        logger.warning("Could not queue tagging of post %s: %s", post_id, exc)
