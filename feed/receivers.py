"""feed's side of what happens between people: follows land in the engagement log and the inbox."""

from django.dispatch import receiver

from creators.services import user_followed, user_unfollowed

from .models import Engagement, Notification


@receiver(user_followed, dispatch_uid="feed.log_follow")
def log_follow(sender, *, follower, followee, fp="", **kwargs):
    Engagement.objects.create(kind=Engagement.Kind.FOLLOW, actor=follower, creator=followee, fingerprint=fp)
    Notification.objects.create(recipient=followee, actor=follower, verb=Notification.Verb.FOLLOW)


@receiver(user_unfollowed, dispatch_uid="feed.log_unfollow")
def log_unfollow(sender, *, follower, followee, fp="", **kwargs):
    Engagement.objects.create(kind=Engagement.Kind.UNFOLLOW, actor=follower, creator=followee, fingerprint=fp)
