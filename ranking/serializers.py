from rest_framework import serializers

from feed.serializers import PostSerializer


class ReasonSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["follow", "trade", "asset", "topic", "type", "creator", "trending", "boost", "explore", "latest"],
        help_text="What put the post in your feed.",
    )
    text = serializers.CharField(help_text="The reason in words, in the request's language.")


class ForYouPostSerializer(PostSerializer):
    why = ReasonSerializer(help_text="Why you see this post.")


class ForYouPageSerializer(serializers.Serializer):
    results = ForYouPostSerializer(many=True, source="items")
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `?cursor=` for the next page; null on the last page."
    )
