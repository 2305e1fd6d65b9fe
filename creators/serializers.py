"""The API's shapes for people: input serializers check shape, output serializers format.

Rules (who may change what) live in creators/services.py. Only the fields declared in
`MeUpdateSerializer` can ever be written through the API; staff flags, suspension and titles
are not among them, and a request that sends them is refused rather than half-applied.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from orbit.api import NamedChoiceField

from .models import Profile


def file_url(file, context) -> str | None:
    """Absolute URL of an uploaded file, or None when there is none."""
    if not file:
        return None
    request = context.get("request")
    return request.build_absolute_uri(file.url) if request is not None else file.url


class UserCardSerializer(serializers.Serializer):
    """A person as shown beside a post, a comment or in a list."""

    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.URLField(allow_null=True)

    # Hand-written for speed: a page formats many of these (declared fields document the shape).
    def to_representation(self, user):
        profile = getattr(user, "profile", None)
        return {
            "username": user.username,
            "display_name": (profile.display_name if profile is not None else "") or user.username,
            "avatar_url": file_url(profile.avatar, self.context) if profile is not None else None,
        }


class UserPageSerializer(serializers.Serializer):
    results = UserCardSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `?cursor=` for the next page; null on the last page."
    )


class CreatorTitleSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()


def _title(profile) -> dict | None:
    title = getattr(profile, "title", None)
    return None if title is None else {"slug": title.slug, "name_en": title.name_en, "name_zh": title.name_zh}


class ProfileSerializer(serializers.Serializer):
    """A creator's public profile with counts and the viewer's relation to them."""

    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.URLField(allow_null=True)
    bio = serializers.CharField()
    date_joined = serializers.DateTimeField()
    followers_count = serializers.IntegerField()
    following_count = serializers.IntegerField()
    title = CreatorTitleSerializer(allow_null=True, help_text="The creator stage earned by followers, if any.")
    is_following = serializers.BooleanField(help_text="The viewer follows this person (false when signed out).")
    is_muted = serializers.BooleanField(help_text="The viewer muted this person.")
    is_blocked = serializers.BooleanField(help_text="The viewer blocked this person.")

    def to_representation(self, user):
        profile = getattr(user, "profile", None)
        return {
            **UserCardSerializer(context=self.context).to_representation(user),
            "bio": profile.bio if profile is not None else "",
            "date_joined": serializers.DateTimeField().to_representation(user.date_joined),
            "followers_count": user.follower_count,
            "following_count": user.following_count,
            "title": _title(profile),
            "is_following": bool(getattr(user, "followed_by_viewer", False)),
            "is_muted": bool(getattr(user, "muted_by_viewer", False)),
            "is_blocked": bool(getattr(user, "blocked_by_viewer", False)),
        }


class MeSerializer(serializers.Serializer):
    """The signed-in account. Only display_name, bio, language, show_performance, accepts_tips and avatar can be
    changed."""

    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    bio = serializers.CharField(read_only=True)
    language = NamedChoiceField(enum_name="ProfileLanguageEnum", choices=Profile.Language.choices, read_only=True)
    avatar_url = serializers.URLField(read_only=True, allow_null=True)
    date_joined = serializers.DateTimeField(read_only=True)
    is_staff = serializers.BooleanField(read_only=True)
    is_suspended = serializers.BooleanField(read_only=True)
    show_performance = serializers.BooleanField(
        read_only=True, help_text="Others may see your trading performance (you always see your own)."
    )
    accepts_tips = serializers.BooleanField(
        read_only=True, help_text="Readers may tip you from their exchange balance."
    )

    def to_representation(self, user):
        profile = getattr(user, "profile", None)
        return {
            "username": user.username,
            "email": user.email,
            "display_name": profile.display_name if profile is not None else "",
            "bio": profile.bio if profile is not None else "",
            "language": profile.language if profile is not None else Profile.Language.ENGLISH,
            "avatar_url": file_url(profile.avatar, self.context) if profile is not None else None,
            "date_joined": serializers.DateTimeField().to_representation(user.date_joined),
            "is_staff": user.is_staff,
            "is_suspended": user.suspended_at is not None,
            "show_performance": profile.show_performance if profile is not None else False,
            "accepts_tips": profile.accepts_tips if profile is not None else True,
        }


class MeUpdateSerializer(serializers.Serializer):
    """The profile fields a JSON body may change."""

    display_name = serializers.CharField(max_length=50, allow_blank=True, required=False)
    bio = serializers.CharField(max_length=500, allow_blank=True, required=False)
    language = NamedChoiceField(enum_name="ProfileLanguageEnum", choices=Profile.Language.choices, required=False)
    show_performance = serializers.BooleanField(
        required=False, help_text="Show your trading performance (PnL, win rate, trades) to others."
    )
    accepts_tips = serializers.BooleanField(
        required=False, help_text="Let readers tip you from their exchange balance (off refuses new tips)."
    )

    def validate(self, attrs):
        # Refuse rather than silently drop: a client sending is_staff should learn it cannot.
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({field: [self._refusal(field)] for field in unknown})
        return attrs

    def _refusal(self, field: str) -> str:
        if field == "avatar":
            return _("Upload the avatar as a file in a multipart/form-data request.")
        return _("%(field)s cannot be changed here; you can change: %(writable)s.") % {
            "field": field,
            "writable": ", ".join(self.fields),
        }


class MeUpdateMultipartSerializer(MeUpdateSerializer):
    """The same fields, and the avatar, in a multipart form."""

    avatar = serializers.FileField(
        required=False,
        help_text="JPEG, PNG, GIF or WebP, at most 5 MB and 40 megapixels; stored re-encoded at 256 pixels a side.",
    )


class AccountDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}, help_text="Your current password."
    )


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    code = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="Required when the account has an authenticator app: its current code, or a recovery code.",
    )
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="What this token is for (e.g. the app and device), as listed in your settings.",
    )


class ApiTokenSerializer(serializers.Serializer):
    """A token as listed in settings: never its key, which only its creator saw, once."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The first characters of the key, to tell tokens apart.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="To the minute; null if never used.")
    expires_at = serializers.DateTimeField()


class TokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown only this once.")
    username = serializers.CharField()


class DeviceSerializer(serializers.Serializer):
    device = serializers.CharField(
        help_text="Send as `X-Orbit-Device: <device>` with every request from this install. Keep it; "
        "ask for a new one only after a reinstall."
    )


class FollowStateSerializer(serializers.Serializer):
    following = serializers.BooleanField()
    followers_count = serializers.IntegerField()


class MuteStateSerializer(serializers.Serializer):
    muted = serializers.BooleanField()


class BlockStateSerializer(serializers.Serializer):
    blocked = serializers.BooleanField()
