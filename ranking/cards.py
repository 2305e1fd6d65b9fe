"""How a For You page turns post ids into what the reader sees, minus what they must not see.

Two renderers with one contract, `visible(ids) -> {post id: item}` and `with_reason(item, reason)`:
- `PostObjects` (the browser): Post rows with everything the card template needs.
- `CachedCards` (the API): the post's JSON card, shared by every reader and kept in Redis for
  CARD_SECONDS, plus one query for what is this reader's own (muted and blocked people, posts
  hidden or reported since the list was built, likes). A ready list then costs one Redis round
  trip for the ids, one for the cards and one small query, instead of rebuilding twenty cards
  (author, profile, title, assets, images, trade card) per request.
A card may show counts up to CARD_SECONDS old; an edited or removed post's card is dropped at once.
"""

from __future__ import annotations

import json

from django.conf import settings

from creators.models import User
from creators.selectors import hidden_authors_sql
from feed import render_tokens, selectors
from feed.models import Engagement, Like
from feed.serializers import PostSerializer
from orbit.replicas import read_connection

CARD_SECONDS = 30


def card_key(post_id: int) -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:card:{post_id}"


class PostObjects:
    def __init__(self, *, user):
        self.user = user

    def visible(self, ids: list[int], client=None) -> dict[int, object]:
        if not ids:
            return {}
        rejected = set(
            Engagement.objects.filter(
                actor=self.user, kind__in=[Engagement.Kind.HIDE, Engagement.Kind.REPORT], post_id__in=ids
            ).values_list("post_id", flat=True)
        )
        posts = selectors.post_cards_in_order(ids=[pk for pk in ids if pk not in rejected], viewer=self.user)
        return {post.pk: post for post in posts}

    @staticmethod
    def with_reason(post, reason):
        post.why = reason
        return post


# What is the reader's own about these posts, in one round trip: usernames they must not see
# (muted, blocked, blocking them), posts they hid or reported, posts they like.
_VIEWER_FACTS_SQL = f"""
SELECT 'hidden', u.username FROM (
    {hidden_authors_sql("%(me)s")}
) people JOIN {User._meta.db_table} u ON u.id = people.author_id
UNION ALL
SELECT 'rejected', post_id::text FROM {Engagement._meta.db_table}
WHERE actor_id = %(me)s AND kind IN ({int(Engagement.Kind.HIDE)}, {int(Engagement.Kind.REPORT)})
  AND post_id = ANY(%(ids)s)
UNION ALL
SELECT 'liked', post_id::text FROM {Like._meta.db_table} WHERE user_id = %(me)s AND post_id = ANY(%(ids)s)
"""


class CachedCards:
    def __init__(self, *, user, request):
        self.user = user
        self.request = request

    def visible(self, ids: list[int], client=None) -> dict[int, dict]:
        if not ids:
            return {}
        cards = self._cards(ids, client)
        with read_connection(Engagement).cursor() as cursor:
            cursor.execute(_VIEWER_FACTS_SQL, {"me": self.user.pk, "ids": ids})
            facts = cursor.fetchall()
        hidden = {value for kind, value in facts if kind == "hidden"}
        rejected = {int(value) for kind, value in facts if kind == "rejected"}
        liked = {int(value) for kind, value in facts if kind == "liked"}
        return {
            pk: self._for_reader(card, liked=pk in liked)
            for pk, card in cards.items()
            if pk not in rejected and card["author"]["username"] not in hidden
        }

    @staticmethod
    def with_reason(card, reason):
        return {**card, "why": {"code": reason.code, "text": reason.text()}}

    def _cards(self, ids: list[int], client) -> dict[int, dict]:
        """Cards from Redis; the missing ones built (published posts only) and stored."""
        cached = client.mget([card_key(pk) for pk in ids]) if client is not None else [None] * len(ids)
        cards = {pk: json.loads(raw) for pk, raw in zip(ids, cached, strict=True) if raw}
        missing = [pk for pk in ids if pk not in cards]
        if missing:
            # Built without a request: URLs stay relative in the cache and are made absolute per reader.
            serializer = PostSerializer(context={})
            built = {
                post.pk: serializer.to_representation(post)
                for post in selectors.post_cards_in_order(ids=missing, viewer=None)
            }
            if client is not None and built:
                pipe = client.pipeline(transaction=False)
                for pk, card in built.items():
                    pipe.set(card_key(pk), json.dumps(card), ex=CARD_SECONDS)
                pipe.execute()
            cards.update(built)
        return cards

    def _for_reader(self, card: dict, *, liked: bool) -> dict:
        absolute = self.request.build_absolute_uri
        author = card["author"]
        return {
            **card,
            "url": absolute(card["url"]),
            "liked": liked,
            "author": {**author, "avatar_url": absolute(author["avatar_url"]) if author["avatar_url"] else None},
            "images": [absolute(url) for url in card["images"]],
            # The shared card has none: a render token is this reader's, issued now.
            "dwell_token": render_tokens.issue(reader=self.user, post_id=card["id"]),
        }


def forget_card(post_id: int, client) -> None:
    client.delete(card_key(post_id))
