"""Bookmarks: saved once however fast one clicks, private to their owner, listed newest first on
/bookmarks/ without posts that were removed since or whose authors the owner hid."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from feed import services
from feed.models import Bookmark, Post
from tests.concurrency import race
from tests.factories import BlockFactory, BookmarkFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def reader(client):
    user = UserFactory(username="reader")
    client.force_login(user)
    return user


def test_saving_twice_keeps_one_bookmark_and_unsaving_removes_it():
    post, reader = PostFactory(), UserFactory()

    assert services.bookmark(user=reader, post_id=post.pk) is True
    assert services.bookmark(user=reader, post_id=post.pk) is False
    assert Bookmark.objects.filter(user=reader, post=post).count() == 1

    assert services.unbookmark(user=reader, post_id=post.pk) is True
    assert services.unbookmark(user=reader, post_id=post.pk) is False
    assert not Bookmark.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_saving_from_eight_threads_saves_once():
    post, reader = PostFactory(), UserFactory()
    race(lambda: services.bookmark(user=reader, post_id=post.pk), racers=8)
    assert Bookmark.objects.filter(user=reader, post=post).count() == 1


def test_a_hidden_post_or_one_across_a_block_cannot_be_saved():
    hidden, reader = PostFactory(status=Post.Status.HIDDEN), UserFactory()
    blocked = PostFactory()
    BlockFactory(user=blocked.author, target=reader)

    with pytest.raises(Post.DoesNotExist):
        services.bookmark(user=reader, post_id=hidden.pk)
    with pytest.raises(PermissionDenied):
        services.bookmark(user=reader, post_id=blocked.pk)
    assert not Bookmark.objects.exists()


def test_the_bookmark_button_toggles_with_htmx_and_says_its_state(client, reader):
    post = PostFactory()
    url = reverse("feed:bookmark", args=[post.pk])

    saved = client.post(url, {"action": "save"}, headers=HTMX).content.decode()
    assert 'aria-pressed="true"' in saved and Bookmark.objects.filter(user=reader, post=post).exists()

    removed = client.post(url, {"action": "remove"}, headers=HTMX).content.decode()
    assert 'aria-pressed="false"' in removed and not Bookmark.objects.exists()


def test_the_saved_page_lists_my_bookmarks_newest_first(client, reader):
    older, newer = PostFactory(body="Saved first"), PostFactory(body="Saved second")
    services.bookmark(user=reader, post_id=older.pk)
    services.bookmark(user=reader, post_id=newer.pk)
    PostFactory(body="Never saved")

    page = client.get(reverse("feed:bookmarks")).content.decode()

    assert page.index("Saved second") < page.index("Saved first")
    assert "Never saved" not in page
    assert 'aria-pressed="true"' in page


def test_the_saved_page_pages_with_a_cursor(client, reader):
    posts = [PostFactory(body=f"numbered save {n:02d}") for n in range(23)]
    for post in posts:
        services.bookmark(user=reader, post_id=post.pk)

    first = client.get(reverse("feed:bookmarks"))
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("feed:bookmarks"), {"cursor": cursor}, headers=HTMX)

    seen = [post.pk for post in first.context["page"].items] + [post.pk for post in second.context["page"].items]
    assert sorted(seen) == sorted(post.pk for post in posts) and len(set(seen)) == 23


def test_the_saved_page_leaves_out_posts_removed_since_or_by_people_i_blocked(client, reader):
    kept, hidden, deleted, blocked = (
        PostFactory(body=f"{name} post") for name in ("Kept", "Hidden", "Deleted", "Blocked")
    )
    for post in (kept, hidden, deleted, blocked):
        BookmarkFactory(user=reader, post=post)
    Post.objects.filter(pk=hidden.pk).update(status=Post.Status.HIDDEN)
    services.delete_post(actor=deleted.author, post_id=deleted.pk)
    BlockFactory(user=reader, target=blocked.author)

    page = client.get(reverse("feed:bookmarks")).content.decode()

    assert "Kept post" in page
    assert "Hidden post" not in page and "Deleted post" not in page and "Blocked post" not in page


def test_nobody_sees_anyone_elses_bookmarks(client, reader):
    someone = UserFactory()
    secret = PostFactory(body="Someone's secret save")
    BookmarkFactory(user=someone, post=secret)

    mine = client.get(reverse("feed:bookmarks")).content.decode()
    card = client.get(reverse("feed:latest")).content.decode()

    assert "Someone's secret save" not in mine
    # The card says nothing about other people's saves: no count, not pressed for me.
    assert (
        f'id="bookmark-{secret.pk}"' in card
        and 'aria-pressed="true"' not in card.split(f'id="bookmark-{secret.pk}"')[1].split("</form>")[0]
    )


def test_the_saved_page_needs_a_login(client):
    response = client.get(reverse("feed:bookmarks"))
    assert response.status_code == 302 and "login" in response["Location"]
