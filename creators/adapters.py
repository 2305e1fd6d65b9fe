"""Orbit's hooks into django-allauth's sign-up."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from . import names
from .models import User


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username: str, shallow: bool = False) -> str:
        username = super().clean_username(username, shallow=shallow)
        # `shallow` is allauth generating a name to suggest: it skips database lookups too.
        if not shallow:
            try:
                # Reserved names bind sign-up only: operators may still create `support` in admin.
                names.check_username_is_distinct(
                    username, other_users=User.objects.all(), reserved=settings.ACCOUNT_USERNAME_BLACKLIST
                )
            except ValidationError as exc:
                raise forms.ValidationError(exc.message_dict["username"]) from None
        return username
