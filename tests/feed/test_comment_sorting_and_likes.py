"""Comments on the post page: Top and Newest with keyset pages, a new comment shown at once
(HTMX), comment likes (once, race-safe, counted, refused where they must be), and deleted
comments that keep their replies."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from creators.models import Block
from feed import selectors, services
from feed.models import Comment, CommentLike, Engagement, Post
from tests.concurrency import race
from tests.factories import MOMENT, CommentFactory, CommentLikeFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# What the post page's forms send: HTMX names the element the answer goes into.
INTO_LIST = {**HTMX, "HX-Target": "comment-list"}


def _at(minutes: int):
    return MOMENT + timedelta(minutes=minutes)


def _bodies(page) -> list[str]:
    return [comment.body for comment in page.items]


def _all_pages(*, post, sort, size, viewer=None) -> list[str]:
    seen, cursor = [], None
    while True:
        page = selectors.post_comments(post=post, viewer=viewer, cursor=cursor, size=size, sort=sort)
        seen += _bodies(page)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.fixture
def member():
    return UserFactory(username="mei")


@pytest.fixture
def member_client(member):
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def thread():
    """A post whose comments differ in likes, replies and age, each pair tied on the first keys."""
    post = PostFactory()
    make = lambda body, minutes, likes=0: CommentFactory(  # noqa: E731
        post=post, body=body, created_at=_at(minutes), like_count=likes
    )
    comments = {
        "old popular": make("old popular", 1, likes=5),
        "new popular": make("new popular", 9, likes=5),
        "discussed": make("discussed", 2, likes=2),
        "liked": make("liked", 3, likes=2),
        "quiet old": make("quiet old", 4),
        "quiet new": make("quiet new", 8),
    }
    CommentFactory(post=post, parent=comments["discussed"], body="a reply", created_at=_at(10))
    CommentFactory(post=post, parent=comments["discussed"], body="another reply", created_at=_at(11))
    return post, comments


# --- Top and Newest -------------------------------------------------------------------------


def test_top_puts_the_most_liked_first_then_the_most_replied_then_the_newest(thread):
    post, _comments = thread
    page = selectors.post_comments(post=post, sort="top")
    assert _bodies(page) == ["new popular", "old popular", "discussed", "liked", "quiet new", "quiet old"]
    assert page.next_cursor is None


def test_newest_puts_the_newest_first(thread):
    post, _comments = thread
    page = selectors.post_comments(post=post, sort="new")
    assert _bodies(page) == ["new popular", "quiet new", "quiet old", "liked", "discussed", "old popular"]


def test_the_api_order_stays_oldest_first(thread):
    post, _comments = thread
    page = selectors.post_comments(post=post)
    assert _bodies(page) == ["old popular", "discussed", "liked", "quiet old", "quiet new", "new popular"]


@pytest.mark.parametrize("sort", ["top", "new"])
@pytest.mark.parametrize("size", [1, 2, 4])
def test_pages_of_either_order_neither_repeat_nor_skip_a_comment(thread, sort, size):
    post, _comments = thread
    everything = _bodies(selectors.post_comments(post=post, sort=sort, size=50))
    assert _all_pages(post=post, sort=sort, size=size) == everything
    assert len(everything) == 6


def test_top_pages_hold_on_ties_of_likes_replies_and_time():
    post = PostFactory()
    same_moment = _at(5)
    tied = [CommentFactory(post=post, body=f"tie {n}", created_at=same_moment, like_count=3) for n in range(5)]
    expected = [comment.body for comment in sorted(tied, key=lambda comment: -comment.pk)]
    assert _all_pages(post=post, sort="top", size=2) == expected


def test_a_like_landing_between_pages_can_move_a_comment_and_nothing_breaks(thread):
    """Documented behaviour of the Top order: the cursor is a place in the order, not a snapshot."""
    post, comments = thread
    first = selectors.post_comments(post=post, sort="top", size=2)
    Comment.objects.filter(pk=comments["quiet old"].pk).update(like_count=9)  # now belongs on page 1
    rest = _all_pages_from(post=post, cursor=first.next_cursor)
    assert "quiet old" not in _bodies(first) + rest  # it moved above the cursor: not shown this time
    assert _bodies(first) + rest == ["new popular", "old popular", "discussed", "liked", "quiet new"]


def _all_pages_from(*, post, cursor) -> list[str]:
    seen = []
    while cursor:
        page = selectors.post_comments(post=post, cursor=cursor, size=2, sort="top")
        seen += _bodies(page)
        cursor = page.next_cursor
    return seen


@pytest.mark.parametrize("sort", ["top", "new"])
def test_a_cursor_of_the_other_order_is_refused_with_a_message(thread, sort):
    post, _comments = thread
    other = "new" if sort == "top" else "top"
    cursor = selectors.post_comments(post=post, sort=other, size=1).next_cursor
    with pytest.raises(ValidationError, match="page link is broken"):
        selectors.post_comments(post=post, sort=sort, cursor=cursor)


def test_an_unknown_sort_falls_back_to_top():
    assert selectors.comment_sort("new") == "new"
    assert selectors.comment_sort("oldest") == "top"
    assert selectors.comment_sort(None) == "top"


def test_the_post_page_sorts_by_the_query_and_presses_that_button(client, thread):
    post, _comments = thread
    page = client.get(reverse("feed:post", args=[post.pk]), {"sort": "new"})
    html = page.content.decode()
    assert page.context["comments"].items[0].body == "new popular"
    assert 'value="new" class="comment-sort-option" aria-pressed="true"' in html
    assert 'value="top" class="comment-sort-option" aria-pressed="false"' in html
    default = client.get(reverse("feed:post", args=[post.pk])).content.decode()
    assert 'value="top" class="comment-sort-option" aria-pressed="true"' in default


def test_switching_the_order_with_htmx_answers_with_the_comments_section_only(client, thread):
    post, _comments = thread
    response = client.get(reverse("feed:post", args=[post.pk]), {"sort": "new"}, headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="comments"') and "<html" not in html
    assert html.index("new popular") < html.index("quiet new") < html.index("old popular")
    assert not Engagement.objects.filter(kind=Engagement.Kind.VIEW).exists()  # not a page view


def test_going_back_to_a_sorted_page_gets_the_whole_page(client, thread):
    """The toggle pushes ?sort= into the history; htmx restores such an entry with a request of its own."""
    post, _comments = thread
    restore = {**HTMX, "HX-History-Restore-Request": "true"}
    response = client.get(reverse("feed:post", args=[post.pk]), {"sort": "new"}, headers=restore)
    assert "<html" in response.content.decode()


def test_more_comments_keeps_the_order_and_continues_it(client, thread):
    post, _comments = thread
    for n in range(selectors.COMMENT_PAGE_SIZE):
        CommentFactory(post=post, body=f"filler {n}", created_at=_at(-100 - n))
    first = client.get(reverse("feed:post", args=[post.pk]), {"sort": "new"})
    cursor = first.context["comments"].next_cursor
    assert f"?comments={cursor}&amp;sort=new" in first.content.decode()
    more = client.get(reverse("feed:post", args=[post.pk]), {"sort": "new", "comments": cursor}, headers=HTMX)
    shown = [comment.body for comment in more.context["comments"].items]
    assert shown == [f"filler {n}" for n in range(44, 50)]


# --- Deleted comments -----------------------------------------------------------------------


def test_a_deleted_comment_with_replies_stays_as_a_stub_and_one_without_goes(client, thread):
    post, comments = thread
    Comment.objects.filter(pk__in=[comments["discussed"].pk, comments["quiet new"].pk]).update(
        deleted_at=timezone.now()
    )
    for sort in ("top", "new"):
        shown = _bodies(selectors.post_comments(post=post, sort=sort))
        assert "discussed" in shown and "quiet new" not in shown
    html = client.get(reverse("feed:post", args=[post.pk])).content.decode()
    assert "Comment deleted" in html and "a reply" in html and "another reply" in html
    assert ">discussed<" not in html  # its words are gone


def test_a_deleted_comment_ranks_as_unliked_in_top(thread):
    post, comments = thread
    Comment.objects.filter(pk=comments["old popular"].pk).update(deleted_at=timezone.now())
    CommentFactory(post=post, parent=comments["old popular"], body="answer", created_at=_at(12))
    # Its five likes no longer count; its one reply still puts it above the unanswered.
    expected = ["new popular", "discussed", "liked", "old popular", "quiet new", "quiet old"]
    assert _bodies(selectors.post_comments(post=post, sort="top")) == expected


# --- Posting shows the comment at once ---------------------------------------------------------


def test_a_comment_posted_from_the_page_comes_back_alone_with_the_new_count(member_client, thread):
    post, _comments = thread
    response = member_client.post(reverse("feed:comment", args=[post.pk]), {"body": "Fresh take"}, headers=INTO_LIST)
    html = response.content.decode()
    created = Comment.objects.get(body="Fresh take")
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li class="comment" id="comment-{created.pk}"') and "<section" not in html
    assert '<span class="count" id="comment-count" hx-swap-oob="true">9</span>' in html
    assert "Your comment is posted." in html
    assert f'id="replies-{created.pk}"' in html  # ready for replies
    assert 'aria-pressed="false"' in html  # its like button


def test_a_reply_posted_from_the_page_comes_back_for_its_parents_list(member_client, thread):
    post, comments = thread
    parent = comments["liked"]
    response = member_client.post(
        reverse("feed:comment", args=[post.pk]),
        {"body": "Agreed", "parent": parent.pk},
        headers={**HTMX, "HX-Target": f"replies-{parent.pk}"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert Comment.objects.get(body="Agreed").parent == parent
    assert "Agreed" in html and "Your reply is posted." in html
    assert f'<div id="reply-errors-{parent.pk}" hx-swap-oob="innerHTML"></div>' in html


@pytest.mark.parametrize(
    ("body", "message"),
    [("   ", "an empty comment cannot be posted"), ("x" * 2001, "the limit is 2000")],
)
def test_a_refused_comment_answers_with_its_message_in_the_forms_error_area(member_client, thread, body, message):
    post, _comments = thread
    response = member_client.post(reverse("feed:comment", args=[post.pk]), {"body": body}, headers=INTO_LIST)
    html = response.content.decode()
    assert response.status_code == 400
    assert response["HX-Reswap"] == "none"  # the form keeps the text
    assert html.startswith('<div id="comment-errors" hx-swap-oob="innerHTML"><p class="error">')
    assert message in html
    assert Comment.objects.filter(post=post).count() == 8


def test_a_blocked_reader_is_told_so_inline(member_client, member, thread):
    post, _comments = thread
    Block.objects.create(user=post.author, target=member)
    response = member_client.post(reverse("feed:comment", args=[post.pk]), {"body": "hello?"}, headers=INTO_LIST)
    assert response.status_code == 403
    assert "You cannot see this post." in response.content.decode()
    assert 'id="comment-errors"' in response.content.decode()


def test_commenting_too_often_is_told_inline_with_the_wait(member_client, thread, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "comment": "1/hour"},
    }
    post, _comments = thread
    url = reverse("feed:comment", args=[post.pk])
    assert member_client.post(url, {"body": "one"}, headers=INTO_LIST).status_code == 200
    limited = member_client.post(url, {"body": "two"}, headers=INTO_LIST)
    assert limited.status_code == 429
    assert "You are doing that too often" in limited.content.decode()
    assert 'id="comment-errors"' in limited.content.decode()
    assert int(limited["Retry-After"]) > 0


def test_without_javascript_a_comment_goes_back_to_the_readers_order(member_client, thread):
    post, _comments = thread
    response = member_client.post(reverse("feed:comment", args=[post.pk]), {"body": "plain", "sort": "new"})
    created = Comment.objects.get(body="plain")
    assert response["Location"] == f"{reverse('feed:post', args=[post.pk])}?sort=new#comment-{created.pk}"


# --- Comment likes: the service -----------------------------------------------------------------


def test_liking_a_comment_counts_once_and_unliking_takes_it_back(member):
    comment = CommentFactory()
    assert services.like_comment(user=member, comment_id=comment.pk) is True
    assert services.like_comment(user=member, comment_id=comment.pk) is False
    comment.refresh_from_db()
    assert comment.like_count == 1 and CommentLike.objects.filter(comment=comment).count() == 1
    assert services.unlike_comment(user=member, comment_id=comment.pk) is True
    assert services.unlike_comment(user=member, comment_id=comment.pk) is False
    comment.refresh_from_db()
    assert comment.like_count == 0 and not CommentLike.objects.exists()


def test_recount_posts_rebuilds_each_comments_like_count(member):
    liked, unliked = CommentFactory(), CommentFactory()
    services.like_comment(user=member, comment_id=liked.pk)
    Comment.objects.filter(pk=liked.pk).update(like_count=5)
    Comment.objects.filter(pk=unliked.pk).update(like_count=2)

    call_command("recount_posts", stdout=StringIO())

    liked.refresh_from_db()
    unliked.refresh_from_db()
    assert (liked.like_count, unliked.like_count) == (1, 0)


def test_comment_likes_are_not_in_the_engagement_log_that_payouts_read(member):
    comment = CommentFactory()
    services.like_comment(user=member, comment_id=comment.pk)
    services.unlike_comment(user=member, comment_id=comment.pk)
    assert not Engagement.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_reader_liking_a_comment_from_eight_threads_counts_once():
    comment, reader = CommentFactory(), UserFactory()
    race(lambda: services.like_comment(user=reader, comment_id=comment.pk), racers=8)
    comment.refresh_from_db()
    assert CommentLike.objects.filter(comment=comment).count() == 1
    assert comment.like_count == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_readers_liking_a_comment_at_once_count_eight():
    comment = CommentFactory()
    readers = iter(UserFactory.create_batch(8))
    mine = {}

    def like():
        reader = mine.setdefault(threading.get_ident(), next(readers))
        services.like_comment(user=reader, comment_id=comment.pk)

    race(like, racers=8)
    comment.refresh_from_db()
    assert comment.like_count == 8 == CommentLike.objects.filter(comment=comment).count()


def test_a_deleted_comment_cannot_be_liked(member):
    comment = CommentFactory(deleted_at=timezone.now())
    with pytest.raises(Comment.DoesNotExist):
        services.like_comment(user=member, comment_id=comment.pk)
    assert not CommentLike.objects.exists()


@pytest.mark.parametrize("status", [Post.Status.HIDDEN, Post.Status.DELETED])
def test_a_comment_on_a_hidden_or_deleted_post_cannot_be_liked(member, status):
    post = PostFactory(status=status)
    comment = CommentFactory(post=post)
    with pytest.raises((PermissionDenied, ObjectDoesNotExist)):
        services.like_comment(user=member, comment_id=comment.pk)
    own_hidden = CommentFactory(post=PostFactory(author=member, status=Post.Status.HIDDEN))
    with pytest.raises(PermissionDenied):  # not even the post's author, while moderators hide it
        services.like_comment(user=member, comment_id=own_hidden.pk)
    assert not CommentLike.objects.exists()


@pytest.mark.parametrize("who_blocks", ["reader", "commenter"])
def test_blocked_people_cannot_like_each_others_comments(member, who_blocks):
    comment = CommentFactory()
    blocker, target = (member, comment.author) if who_blocks == "reader" else (comment.author, member)
    Block.objects.create(user=blocker, target=target)
    with pytest.raises(PermissionDenied, match="cannot like this person"):
        services.like_comment(user=member, comment_id=comment.pk)
    assert not CommentLike.objects.exists()


def test_a_suspended_reader_cannot_like_a_comment():
    comment = CommentFactory()
    with pytest.raises(PermissionDenied, match="suspended"):
        services.like_comment(user=UserFactory(suspended_at=timezone.now()), comment_id=comment.pk)


def test_a_like_can_be_taken_back_after_a_block(member):
    comment = CommentFactory(like_count=1)
    CommentLikeFactory(user=member, comment=comment)
    Block.objects.create(user=comment.author, target=member)
    assert services.unlike_comment(user=member, comment_id=comment.pk) is True
    comment.refresh_from_db()
    assert comment.like_count == 0


# --- Comment likes: the page ---------------------------------------------------------------------


def test_the_heart_shows_the_readers_like_and_the_count(member_client, member, thread):
    post, comments = thread
    CommentLikeFactory(user=member, comment=comments["liked"])
    html = member_client.get(reverse("feed:post", args=[post.pk])).content.decode()
    liked_form = html.split(f'id="comment-like-{comments["liked"].pk}"')[1].split("</form>")[0]
    assert 'aria-pressed="true"' in liked_form and 'value="unlike"' in liked_form
    assert '<span class="count">2</span>' in liked_form
    other_form = html.split(f'id="comment-like-{comments["quiet old"].pk}"')[1].split("</form>")[0]
    assert 'aria-pressed="false"' in other_form


def test_liking_with_htmx_swaps_the_button_and_unliking_swaps_it_back(member_client, thread):
    post, comments = thread
    url = reverse("feed:comment_like", args=[comments["quiet old"].pk])
    back = f"{reverse('feed:post', args=[post.pk])}?sort=new#comment-{comments['quiet old'].pk}"
    liked = member_client.post(url, {"action": "like", "next": back}, headers=HTMX).content.decode()
    assert liked.lstrip().startswith("<form") and "<html" not in liked
    assert 'aria-pressed="true"' in liked and 'value="unlike"' in liked
    assert '<span class="count">1</span>' in liked
    assert f'name="next" value="{back}"' in liked.replace("&amp;", "&")
    unliked = member_client.post(url, {"action": "unlike"}, headers=HTMX).content.decode()
    assert 'aria-pressed="false"' in unliked and '<span class="count">0</span>' in unliked


def test_liking_without_javascript_goes_back_to_the_comment(member_client, thread):
    post, comments = thread
    comment = comments["quiet old"]
    response = member_client.post(reverse("feed:comment_like", args=[comment.pk]), {"action": "like"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('feed:post', args=[post.pk])}#comment-{comment.pk}"
    comment.refresh_from_db()
    assert comment.like_count == 1


def test_liking_is_a_post_and_needs_a_sign_in(client, thread):
    _post, comments = thread
    url = reverse("feed:comment_like", args=[comments["liked"].pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"action": "like"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not CommentLike.objects.exists()


def test_liking_a_blocked_persons_comment_is_a_403_with_the_reason(member_client, member, thread):
    _post, comments = thread
    Block.objects.create(user=comments["liked"].author, target=member)
    response = member_client.post(reverse("feed:comment_like", args=[comments["liked"].pk]), {"action": "like"})
    assert response.status_code == 403
    assert "You cannot like this person" in response.content.decode()


def test_signed_out_readers_see_the_count_and_a_way_to_log_in(client, thread):
    post, comments = thread
    html = client.get(reverse("feed:post", args=[post.pk])).content.decode()
    assert f"/accounts/login/?next=/posts/{post.pk}/%23comment-{comments['liked'].pk}" in html
    assert '<span class="count">2</span> <span class="visually-hidden">likes: log in to like this comment' in html


def test_the_post_page_costs_the_same_queries_for_1_or_12_liked_and_answered_comments_in_top_order(client, member):
    """The page of comments is one query and their replies one more, with the reader's likes and the
    reply counts inside them: nothing per comment."""
    client.force_login(member)
    counts = []
    for comments in (1, 12):
        post = PostFactory()
        for n in range(comments):
            top = CommentFactory(post=post, like_count=n)
            CommentFactory(post=post, parent=top)
            CommentLikeFactory(user=member, comment=top)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("feed:post", args=[post.pk]), {"sort": "top"})
        assert len(response.context["comments"].items) == comments
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_on_a_post_moderators_hid_its_author_sees_comment_likes_but_no_heart_to_press(client):
    author = UserFactory()
    post = PostFactory(author=author, status=Post.Status.HIDDEN)
    comment = CommentFactory(post=post, like_count=3)
    client.force_login(author)
    html = client.get(reverse("feed:post", args=[post.pk])).content.decode()
    assert f"comment-{comment.pk}" in html and "comment-like-static" in html
    assert reverse("feed:comment_like", args=[comment.pk]) not in html
