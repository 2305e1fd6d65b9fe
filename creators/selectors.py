"""Reads about people: who may see whom, profiles, and follow lists.

The visibility rule lives here and nowhere else. A viewer never sees what is written by:
- people the viewer muted,
- people the viewer blocked,
- people who blocked the viewer.
`HIDING_RELATIONS` states that rule once; the ORM helpers and the SQL fragment builders below are
all derived from it, so adding or dropping a relation is one edit and every caller (feeds, For
You, its cached cards, the offline evaluation) follows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from orbit.pagination import PAGE_SIZE, Page, count_of, keyset_page

from .models import Block, Follow, Mute, User

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class HidingRelation(NamedTuple):
    """Rows of `model` whose `viewer_field` is the viewer hide the person in `author_field`."""

    model: type[Mute] | type[Block]
    viewer_field: str
    author_field: str


HIDING_RELATIONS: tuple[HidingRelation, ...] = (
    HidingRelation(Mute, "user", "target"),  # the viewer muted them
    HidingRelation(Block, "user", "target"),  # the viewer blocked them
    HidingRelation(Block, "target", "user"),  # they blocked the viewer
)


def _viewer_pk(viewer: User | int) -> int:
    return viewer if isinstance(viewer, int) else viewer.pk


def hidden_author_ids(viewer: User | int) -> QuerySet:
    """Ids of the people `viewer` (a user or a user id) must not see, as one lazy query.

    Use it as a subquery (`.exclude(author__in=hidden_author_ids(viewer))`) so it costs no extra
    round trip, or `set(...)` it for one query that returns the ids."""
    viewer_id = _viewer_pk(viewer)
    first, *rest = (
        relation.model.objects.filter(**{f"{relation.viewer_field}_id": viewer_id}).values_list(
            f"{relation.author_field}_id", flat=True
        )
        for relation in HIDING_RELATIONS
    )
    return first.union(*rest) if rest else first


def hidden_author_id_set(viewer: User | int) -> set[int]:
    """The same ids, read now in one query."""
    return set(hidden_author_ids(viewer))


def hidden_authors_sql(viewer_param: str) -> str:
    """SQL for the ids (column `author_id`) of the people one viewer must not see.

    `viewer_param` is the placeholder that carries the viewer's id, e.g. `"%(me)s"`."""
    return "\n    UNION ".join(
        _select(relation, with_viewer=False, viewer_condition=f"= {viewer_param}") for relation in HIDING_RELATIONS
    )


def hidden_pairs_sql(viewers_param: str) -> str:
    """SQL for (user_id, author_id) pairs: for each viewer in an array parameter, whom they must not
    see. `viewers_param` is the array placeholder, e.g. `"%(users)s"`."""
    return "\n    UNION ".join(
        _select(relation, with_viewer=True, viewer_condition=f"= ANY({viewers_param})") for relation in HIDING_RELATIONS
    )


def _select(relation: HidingRelation, *, with_viewer: bool, viewer_condition: str) -> str:
    # Only table and column names from the models and the caller's placeholder are interpolated;
    # every value stays a query parameter.
    table = relation.model._meta.db_table
    viewer, author = _column(relation.model, relation.viewer_field), _column(relation.model, relation.author_field)
    columns = f"{viewer} AS user_id, {author} AS author_id" if with_viewer else f"{author} AS author_id"
    return f"SELECT {columns} FROM {table} WHERE {viewer} {viewer_condition}"  # noqa: S608


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.ForeignKey), f"{model.__name__}.{name} is not a person"
    return field.column


# --- Profiles and follow lists ------------------------------------------------------------


def creator_profile(*, username: str, viewer: User | AnonymousUser | None = None) -> WithAnnotations[User]:
    """An active user by username with follower and following counts and, for a signed-in
    viewer, whether they follow, mute or block them (or are blocked by them), in one query."""
    queryset = (
        User.objects.filter(username__iexact=username, is_active=True)
        .select_related("profile__title")
        .annotate(
            follower_count=count_of(Follow.objects.filter(followee=OuterRef("pk")), "followee"),
            following_count=count_of(Follow.objects.filter(follower=OuterRef("pk")), "follower"),
        )
    )
    if viewer is not None and viewer.is_authenticated:
        queryset = queryset.annotate(
            followed_by_viewer=Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("pk"))),
            muted_by_viewer=Exists(Mute.objects.filter(user=viewer, target=OuterRef("pk"))),
            blocked_by_viewer=Exists(Block.objects.filter(user=viewer, target=OuterRef("pk"))),
            blocks_viewer=Exists(Block.objects.filter(user=OuterRef("pk"), target=viewer)),
        )
    creator = queryset.first()
    if creator is None:
        raise User.DoesNotExist(_("There is no one called @%(username)s.") % {"username": username})
    return creator


def followers_of(*, user: User, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """Follow rows of people following `user`, newest first, each with the follower's profile."""
    return keyset_page(
        Follow.objects.filter(followee=user).select_related("follower__profile"), cursor=cursor, size=size
    )


def followed_by(*, user: User, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """Follow rows of people `user` follows, newest first, each with the followee's profile."""
    return keyset_page(
        Follow.objects.filter(follower=user).select_related("followee__profile"), cursor=cursor, size=size
    )
