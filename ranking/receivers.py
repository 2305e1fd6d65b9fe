"""ranking listens to feed: a published or edited post is queued for tagging, nothing more."""

import logging

from django.dispatch import receiver

from feed.services import post_edited, post_published, post_removed

from . import cards, feeds, tasks

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


@receiver(post_edited, dispatch_uid="ranking.forget_edited_card")
@receiver(post_removed, dispatch_uid="ranking.forget_removed_card")
def forget_card(sender, *, post_id: int, **kwargs):
    # Readers must not see the old text or a removed post from the card cache.
    try:
        cards.forget_card(post_id, feeds.redis_client())
    except Exception as exc:  # the card expires within cards.CARD_SECONDS anyway
        logger.warning("Could not drop the cached card of post %s: %s", post_id, exc)
