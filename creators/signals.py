"""Receivers that keep API tokens honest whatever path changed an account's two-factor setup.

Model signals rather than allauth's authenticator_added/removed: an operator deleting an
authenticator in admin (resetting someone's two-factor) sends only these.
"""

from allauth.mfa.models import Authenticator
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import tokens


@receiver(post_save, sender=Authenticator, dispatch_uid="creators.authenticator_added")
def authenticator_added(sender, instance, created, **kwargs):
    if created:  # later saves only record that a code was used
        tokens.mark_credentials_changed(user_id=instance.user_id)


@receiver(post_delete, sender=Authenticator, dispatch_uid="creators.authenticator_removed")
def authenticator_removed(sender, instance, **kwargs):
    tokens.mark_credentials_changed(user_id=instance.user_id)
