"""Browser forms for people: shape only; creators.services decides what may change."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Profile


class ProfileForm(forms.Form):
    # Only what its owner may change: no staff flag, title or balance can arrive through here.
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False)
    bio = forms.CharField(label=_("Bio"), widget=forms.Textarea(attrs={"rows": 4}), max_length=1000, required=False)
    avatar = forms.FileField(
        label=_("Avatar"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    language = forms.ChoiceField(label=_("Language"), choices=Profile.Language.choices)
    show_performance = forms.BooleanField(
        label=_("Show my verified trading performance on my profile"),
        help_text=_(
            "PnL, win rate and trades from your exchange fills, on your Performance tab. Off: only you see them."
        ),
        required=False,
    )
    accepts_tips = forms.BooleanField(
        label=_("Accept tips from readers"),
        help_text=_(
            "Readers can tip your posts from their exchange balance; all of it reaches your exchange account. "
            "Off: nobody can send you new tips."
        ),
        required=False,
    )


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        required=False,
        help_text=_("What the token is for, such as the app and device, so you can tell your tokens apart."),
    )
