"""Reposts and quotes: once per person and post however fast they click, counted, logged as a share
of the original, shown in Following and on profiles with the original's card, never as an empty post."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from creators.models import Follow
from feed import selectors, services
from feed.models import Engagement, Notification, Post
from tests.concurrency import race
from tests.factories import BlockFactory, MuteFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def shares_of(post) -> int:
    return Engagement.objects.filter(post=post, kind=Engagement.Kind.SHARE).count()


def counts(post) -> tuple[int, int]:
    post.refresh_from_db()
    return post.repost_count, post.quote_count


# --- Services ---------------------------------------------------------------------------------


def test_a_repost_is_a_post_with_no_text_that_counts_and_logs_a_share_of_the_original():
    post, reader = PostFactory(), UserFactory()

    assert services.repost(user=reader, post_id=post.pk) is True

    row = Post.objects.get(author=reader, repost_of=post)
    assert row.body == "" and row.status == Post.Status.PUBLISHED
    assert counts(post) == (1, 0)
    share = Engagement.objects.get(post=post, kind=Engagement.Kind.SHARE)
    assert (share.actor_id, share.creator_id) == (reader.pk, post.author_id)


def test_reposting_twice_keeps_one_repost_and_one_share():
    post, reader = PostFactory(), UserFactory()
    services.repost(user=reader, post_id=post.pk)

    assert services.repost(user=reader, post_id=post.pk) is False
    assert Post.objects.filter(repost_of=post).count() == 1
    assert counts(post) == (1, 0)
    assert shares_of(post) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_person_reposting_from_eight_threads_reposts_once():
    post, reader = PostFactory(), UserFactory()

    race(lambda: services.repost(user=reader, post_id=post.pk), racers=8)

    assert Post.objects.filter(repost_of=post).count() == 1
    assert counts(post) == (1, 0)
    assert shares_of(post) == 1


def test_undoing_a_repost_keeps_the_row_as_deleted_and_takes_the_count_back():
    post, reader = PostFactory(), UserFactory()
    services.repost(user=reader, post_id=post.pk)

    assert services.undo_repost(user=reader, post_id=post.pk) is True
    assert services.undo_repost(user=reader, post_id=post.pk) is False

    row = Post.objects.get(author=reader, repost_of=post)
    assert row.status == Post.Status.DELETED and row.deleted_at is not None
    assert counts(post) == (0, 0)


def test_reposting_again_after_undoing_counts_again_but_logs_no_second_share():
    post, reader = PostFactory(), UserFactory()
    services.repost(user=reader, post_id=post.pk)
    services.undo_repost(user=reader, post_id=post.pk)

    assert services.repost(user=reader, post_id=post.pk) is True

    assert counts(post) == (1, 0)
    assert shares_of(post) == 1  # cycling repost/undo earns the author nothing more


def test_a_repost_cannot_be_reposted_or_quoted():
    post, reader = PostFactory(), UserFactory()
    services.repost(user=UserFactory(), post_id=post.pk)
    row = Post.objects.get(repost_of=post)

    with pytest.raises(ValidationError, match="original"):
        services.repost(user=reader, post_id=row.pk)
    with pytest.raises(ValidationError, match="original"):
        services.quote(user=reader, post_id=row.pk, body="look", content_type="chat")


def test_a_hidden_or_deleted_post_cannot_be_reposted():
    hidden = PostFactory(status=Post.Status.HIDDEN)
    deleted = PostFactory(status=Post.Status.DELETED)

    with pytest.raises(Post.DoesNotExist):
        services.repost(user=UserFactory(), post_id=hidden.pk)
    with pytest.raises(Post.DoesNotExist):
        services.repost(user=UserFactory(), post_id=deleted.pk)
    with pytest.raises(PermissionDenied):
        services.repost(user=hidden.author, post_id=hidden.pk)  # the author still sees it, but it takes no reposts
    assert not Post.objects.filter(repost_of__isnull=False).exists()


@pytest.mark.parametrize("who_blocks", ["author", "reader"])
def test_a_post_cannot_be_reposted_across_a_block(who_blocks):
    post, reader = PostFactory(), UserFactory()
    if who_blocks == "author":
        BlockFactory(user=post.author, target=reader)
    else:
        BlockFactory(user=reader, target=post.author)

    with pytest.raises(PermissionDenied):
        services.repost(user=reader, post_id=post.pk)
    with pytest.raises(PermissionDenied):
        services.quote(user=reader, post_id=post.pk, body="nope", content_type="chat")


def test_reposting_your_own_post_is_allowed():
    post = PostFactory()
    assert services.repost(user=post.author, post_id=post.pk) is True
    assert counts(post) == (1, 0)


def test_a_quote_is_a_published_post_of_its_own_that_embeds_the_original():
    PostFactory(author=UserFactory(username="carol"))
    post, reader = PostFactory(), UserFactory()

    created = services.quote(
        user=reader, post_id=post.pk, body="Agree with @carol on $BTC **here**", content_type="chat"
    )

    created.refresh_from_db()
    assert created.quote_of_id == post.pk and created.repost_of_id is None
    assert "<strong>here</strong>" in created.body_html  # rendered and sanitized like any post
    assert 'href="/@carol/"' in created.body_html or "@carol" in created.body_html
    assert counts(post) == (0, 1)
    assert shares_of(post) == 1


def test_an_empty_quote_is_refused_and_changes_nothing():
    post = PostFactory()
    with pytest.raises(ValidationError):
        services.quote(user=UserFactory(), post_id=post.pk, body="  ", content_type="chat")
    assert counts(post) == (0, 0)
    assert shares_of(post) == 0


def test_deleting_a_quote_or_a_repost_takes_its_count_back():
    post, reader = PostFactory(), UserFactory()
    created = services.quote(user=reader, post_id=post.pk, body="mine", content_type="chat")
    services.repost(user=reader, post_id=post.pk)

    services.delete_post(actor=reader, post_id=created.pk)
    services.delete_post(actor=reader, post_id=Post.objects.get(repost_of=post).pk)

    assert counts(post) == (0, 0)


def test_recount_posts_rebuilds_repost_and_quote_counts():
    post = PostFactory()
    for reader in UserFactory.create_batch(2):
        services.repost(user=reader, post_id=post.pk)
    services.quote(user=UserFactory(), post_id=post.pk, body="quoted", content_type="chat")
    services.undo_repost(user=Post.objects.filter(repost_of=post).first().author, post_id=post.pk)
    Post.objects.filter(pk=post.pk).update(repost_count=7, quote_count=0)

    call_command("recount_posts", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert counts(post) == (1, 1)


# --- Feeds ---------------------------------------------------------------------------------------


@pytest.fixture
def reader(client):
    user = UserFactory(username="reader")
    client.force_login(user)
    return user


def test_following_shows_a_followed_persons_repost_with_the_originals_card(client, reader):
    friend = UserFactory(username="friend")
    Follow.objects.create(follower=reader, followee=friend)
    original = PostFactory(body="The original analysis of funding rates")
    services.repost(user=friend, post_id=original.pk)

    page = client.get(reverse("feed:following")).content.decode()

    assert "Friend reposted" in page
    assert "The original analysis of funding rates" in page
    assert f'id="post-{original.pk}"' in page
    assert page.count('<article class="post"') == 1


def test_latest_and_for_you_candidates_never_show_a_repost_row(client, reader):
    original = PostFactory(body="Only once please")
    services.repost(user=UserFactory(), post_id=original.pk)

    page = selectors.latest_posts(viewer=reader)

    assert [post.pk for post in page.items] == [original.pk]
    assert client.get(reverse("feed:latest")).content.decode().count('<article class="post"') == 1


def test_a_profile_shows_the_persons_reposts_as_reposts(client, reader):
    friend = UserFactory(username="friend")
    original = PostFactory(body="Worth a repost")
    services.repost(user=friend, post_id=original.pk)

    page = client.get(reverse("feed:profile", args=["friend"])).content.decode()

    assert "Friend reposted" in page and "Worth a repost" in page


@pytest.mark.parametrize("removal", ["hidden", "deleted", "blocked", "muted"])
def test_a_repost_of_a_post_the_reader_may_not_see_is_left_out(client, reader, removal):
    friend = UserFactory(username="friend")
    Follow.objects.create(follower=reader, followee=friend)
    original = PostFactory(body="Gone soon")
    services.repost(user=friend, post_id=original.pk)
    if removal in ("hidden", "deleted"):
        Post.objects.filter(pk=original.pk).update(status=removal, deleted_at=timezone.now())
    elif removal == "blocked":
        BlockFactory(user=original.author, target=reader)
    else:
        MuteFactory(user=reader, target=original.author)

    page = selectors.following_posts(viewer=reader)

    assert page.items == []
    assert "Gone soon" not in client.get(reverse("feed:following")).content.decode()


def test_the_same_post_reposted_twice_shows_once_in_following(reader):
    original = PostFactory()
    for name in ("ann", "ben"):
        friend = UserFactory(username=name)
        Follow.objects.create(follower=reader, followee=friend)
        services.repost(user=friend, post_id=original.pk)

    page = selectors.following_posts(viewer=reader)

    assert len(page.items) == 1 and page.items[0].original.pk == original.pk


def test_a_quote_shows_the_quoted_post_as_a_mini_card(client, reader):
    original = PostFactory(body="The quoted words", author=UserFactory(username="source"))
    services.quote(user=UserFactory(), post_id=original.pk, body="My take on it", content_type="chat")

    page = client.get(reverse("feed:latest")).content.decode()

    assert 'class="quoted-post"' in page and "The quoted words" in page and "@source" in page


@pytest.mark.parametrize("removal", ["deleted", "blocked"])
def test_a_quote_of_a_removed_or_blocked_post_says_it_is_unavailable(client, reader, removal):
    original = PostFactory(body="Secret words")
    services.quote(user=UserFactory(), post_id=original.pk, body="My take on it", content_type="chat")
    if removal == "deleted":
        services.delete_post(actor=original.author, post_id=original.pk)
    else:
        BlockFactory(user=reader, target=original.author)

    page = client.get(reverse("feed:latest")).content.decode()

    assert "My take on it" in page
    assert "This post is unavailable." in page and "Secret words" not in page


def test_a_repost_row_opens_the_original_posts_page(client, reader):
    original = PostFactory()
    services.repost(user=UserFactory(), post_id=original.pk)
    row = Post.objects.get(repost_of=original)

    response = client.get(reverse("feed:post", args=[row.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("feed:post", args=[original.pk])


# --- The buttons --------------------------------------------------------------------------------


def test_the_repost_button_reposts_and_undoes_with_htmx(client, reader):
    post = PostFactory()
    url = reverse("feed:repost", args=[post.pk])

    pressed = client.post(url, {"action": "repost"}, headers={"HX-Request": "true"}).content.decode()
    assert 'aria-pressed="true"' in pressed and '<span class="count">1</span>' in pressed

    undone = client.post(url, {"action": "undo"}, headers={"HX-Request": "true"}).content.decode()
    assert 'aria-pressed="false"' in undone and '<span class="count">0</span>' in undone


def test_reposting_needs_a_post_request_and_a_login(client):
    post = PostFactory()
    url = reverse("feed:repost", args=[post.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302  # to the login page
    assert not Post.objects.filter(repost_of=post).exists()


def test_the_quote_page_publishes_a_quote_and_refuses_an_empty_one(client, reader):
    post = PostFactory(body="Quote me")
    url = reverse("feed:quote", args=[post.pk])
    assert "Quote me" in client.get(url).content.decode()

    assert client.post(url, {"body": "", "content_type": "chat"}).status_code == 400
    response = client.post(url, {"body": "Quoting this", "content_type": "chat"})

    created = Post.objects.get(quote_of=post)
    assert response.status_code == 302 and response["Location"] == reverse("feed:post", args=[created.pk])


def test_muting_someone_leaves_the_other_posts_and_reposts_of_following_in_place(client, reader):
    friend = UserFactory(username="friend")
    Follow.objects.create(follower=reader, followee=friend)
    MuteFactory(user=reader, target=UserFactory())
    own = PostFactory(author=friend, body="My own words")
    services.repost(user=friend, post_id=PostFactory(body="Shared words").pk)

    page = selectors.following_posts(viewer=reader)

    assert len(page.items) == 2 and own in page.items


def test_the_author_is_notified_of_a_repost_and_of_a_quote_but_not_of_their_own():
    author, reader = UserFactory(), UserFactory()
    post = PostFactory(author=author)

    services.repost(user=reader, post_id=post.pk)
    services.quote(user=reader, post_id=post.pk, body="Worth reading", content_type="analysis")
    services.repost(user=author, post_id=post.pk)

    verbs = sorted(Notification.objects.filter(recipient=author).values_list("verb", "actor_id"))
    assert verbs == [(Notification.Verb.QUOTE, reader.pk), (Notification.Verb.REPOST, reader.pk)]
