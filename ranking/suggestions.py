"""The content type the tagger would give a post, suggested while it is written.

The compose page asks as the author types (static/js/compose.js, debounced) and offers the type
with a one-click "Use it"; the author's own choice always wins, and publishing never looks here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language

from feed.models import PostType

from .tagging import TaggerUnavailable, active_tagger

MAX_TEXT_CHARS = 10_000  # a post's own limit (feed.services.MAX_POST_CHARS): more says nothing new


@dataclass(frozen=True)
class TypeSuggestion:
    content_type: str  # PostType slug
    name: str  # in the reader's language
    confidence: float  # the tagger's calibrated probability that the type is right (Tags.confidence)

    def as_dict(self) -> dict:
        return {"content_type": self.content_type, "name": self.name, "confidence": round(self.confidence, 3)}


def suggest_content_type(text: str) -> TypeSuggestion | None:
    """The active tagger's content type for `text` (cut to MAX_TEXT_CHARS), or None when there is no
    text, no active tagger, or the type it names is not one authors can choose (switched off)."""
    text = (text or "")[:MAX_TEXT_CHARS].strip()
    if not text:
        return None
    try:
        tags = active_tagger().tag([text])[0]
    except TaggerUnavailable:
        return None
    post_type = PostType.objects.filter(slug=tags.content_type, is_active=True).first()
    if post_type is None:
        return None
    name = post_type.name_zh if (get_language() or "").startswith("zh") else post_type.name_en
    return TypeSuggestion(content_type=post_type.slug, name=name, confidence=tags.confidence)
