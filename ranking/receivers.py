"""ranking listens to feed: a published or edited post is queued for tagging, nothing more; to
creators: an account's export and deletion include its interest profile; and to its own weights:
a committed change of content-type weights queues the rebuild of the active users' lists."""

import logging

from django.db import transaction
from django.dispatch import receiver

from creators.privacy import account_erasing, account_exporting
from feed.services import post_edited, post_published, post_removed
from orbit.resilience import enqueue

from . import cards, feeds, tasks, weights
from .models import UserInterest

logger = logging.getLogger(__name__)


@receiver(weights.weights_changed, dispatch_uid="ranking.rebuild_feeds_for_new_weights")
def queue_feed_rebuild(sender, **kwargs):
    # The change is committed by then; a broker outage must not turn the operator's save into an
    # error. Lists catch up at their next refresh, their stale weights version showing meanwhile.
    enqueue(tasks.rebuild_active_feeds)


@receiver(post_published, dispatch_uid="ranking.tag_published_post")
@receiver(post_edited, dispatch_uid="ranking.tag_edited_post")
def queue_tagging(sender, *, post_id: int, **kwargs):
    # feed sends these after commit, so the worker finds the post. The post is already saved: a
    # broker outage must not turn the author's request into an error; the periodic sweep
    # (tag_untagged) tags it later.
    enqueue(tasks.tag_post, post_id)


@receiver(post_edited, dispatch_uid="ranking.forget_edited_card")
@receiver(post_removed, dispatch_uid="ranking.forget_removed_card")
def forget_card(sender, *, post_id: int, **kwargs):
    # Readers must not see the old text or a removed post from the card cache.
    try:
        cards.forget_card(post_id, feeds.redis_client())
    except Exception as exc:  # the card expires within cards.CARD_SECONDS anyway
        logger.warning("Could not drop the cached card of post %s: %s", post_id, exc)


@receiver(account_exporting, dispatch_uid="ranking.export_account")
def export_interests(sender, *, user, **kwargs) -> dict:
    interest = UserInterest.objects.filter(user=user).values("trading", "engagement", "updated_at").first()
    return {"interests": interest}


@receiver(account_erasing, dispatch_uid="ranking.erase_account")
def erase_interests(sender, *, user, **kwargs):
    UserInterest.objects.filter(user=user).delete()
    user_id = user.pk

    def drop():
        try:
            feeds.drop_list(user_id=user_id)
        except Exception as exc:  # an inactive account's list is never read, and it expires
            logger.warning("Could not drop the For You list of %s: %s", user_id, exc)

    transaction.on_commit(drop)
