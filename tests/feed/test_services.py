from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from creators.models import Block
from creators.services import block_user
from feed import render_tokens, selectors, services
from feed.models import Comment, Engagement, Like, Notification, Post, PostRevision, TradeCard
from markets.models import Asset
from tests.concurrency import race
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def btc():
    return Asset.objects.create(symbol="BTC", name="Bitcoin")


def _publish(author, body="$BTC holds the weekly open #btc", **kwargs):
    return services.publish_post(
        author=author, body=body, content_type=kwargs.pop("content_type", "analysis"), **kwargs
    )


# --- Publishing -----------------------------------------------------------------------


def test_publishing_renders_links_and_records_assets_and_hashtags(btc):
    post = _publish(UserFactory())
    assert 'href="/assets/BTC/"' in post.body_html
    assert list(post.assets.values_list("symbol", flat=True)) == ["BTC"]
    assert list(post.hashtags.values_list("name", flat=True)) == ["btc"]


def test_publishing_notifies_mentioned_people_but_not_the_author(btc):
    author, friend = UserFactory(username="alice"), UserFactory(username="bob")
    post = _publish(author, body="cc @bob and @alice on $BTC")
    assert list(Notification.objects.values_list("recipient__username", "verb", "post")) == [
        ("bob", "mention", post.pk)
    ]
    assert friend.notifications.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [("   ", "empty"), ("x" * 10_001, "limit is 10000")],
)
def test_empty_and_oversized_posts_are_refused_and_nothing_is_stored(body, message):
    with pytest.raises(ValidationError, match=message):
        _publish(UserFactory(), body=body)
    assert Post.objects.count() == 0


def test_an_unknown_content_type_is_refused_with_the_choices():
    with pytest.raises(ValidationError, match="choose one of: trade_share"):
        _publish(UserFactory(), content_type="memes")


def test_a_trade_card_on_a_known_instrument_is_stored(btc):
    card = services.TradeCardInput(instrument="btc-usdt", side="long", entry_price="64250.5", leverage="5")
    post = _publish(UserFactory(), trade_card=card)
    stored = TradeCard.objects.get(post=post)
    assert (stored.instrument, stored.entry_price, stored.leverage) == ("BTC-USDT", Decimal("64250.5"), 5)


@pytest.mark.parametrize(
    ("card", "field"),
    [
        (services.TradeCardInput(instrument="FAKE-USDT", side="long", entry_price="1"), "not an instrument"),
        (services.TradeCardInput(instrument="BTC-EUR", side="long", entry_price="1"), "not an instrument"),
        (services.TradeCardInput(instrument="BTC-USDT", side="moon", entry_price="1"), "Side must be"),
        (services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="abc"), "Enter a number"),
        (services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="NaN"), "finite"),
        (services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="1", leverage="500"), "200"),
    ],
)
def test_bad_trade_cards_are_refused_and_no_post_is_left_behind(btc, card, field):
    with pytest.raises(ValidationError, match=field):
        _publish(UserFactory(), trade_card=card)
    assert Post.objects.count() == 0


def test_a_suspended_user_cannot_post():
    user = UserFactory(suspended_at=timezone.now())
    with pytest.raises(PermissionDenied, match="suspended"):
        _publish(user)


def test_publishing_announces_the_post_only_after_commit(django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, post_id, **kwargs):
        received.append(post_id)

    services.post_published.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            post = _publish(UserFactory(), body="hello")
        assert received == []
        for callback in callbacks:
            callback()
        assert received == [post.pk]
    finally:
        services.post_published.disconnect(receiver)


# --- Editing and deleting ---------------------------------------------------------------


def test_editing_keeps_the_previous_text_and_marks_the_post_edited():
    post = _publish(UserFactory(), body="first take")
    services.edit_post(editor=post.author, post_id=post.pk, body="second take")
    post.refresh_from_db()
    assert post.body == "second take" and post.edited_at is not None
    assert list(PostRevision.objects.values_list("body", flat=True)) == ["first take"]


def test_nobody_else_can_edit_or_delete_a_post():
    post = _publish(UserFactory(), body="mine")
    stranger = UserFactory()
    with pytest.raises(PermissionDenied):
        services.edit_post(editor=stranger, post_id=post.pk, body="hacked")
    with pytest.raises(PermissionDenied):
        services.delete_post(actor=stranger, post_id=post.pk)
    post.refresh_from_db()
    assert (post.body, post.status) == ("mine", "published")


def test_deleting_is_soft_and_takes_the_post_out_of_feeds():
    post = _publish(UserFactory(), body="bye")
    services.delete_post(actor=post.author, post_id=post.pk)
    post.refresh_from_db()
    assert post.status == "deleted" and post.deleted_at is not None
    assert selectors.latest_posts().items == []


# --- Reactions ------------------------------------------------------------------------


def test_like_and_unlike_keep_the_counter_and_append_to_the_log():
    post, reader = PostFactory(), UserFactory()
    assert services.like_post(user=reader, post_id=post.pk) is True
    assert services.like_post(user=reader, post_id=post.pk) is False
    post.refresh_from_db()
    assert post.like_count == 1
    assert services.unlike_post(user=reader, post_id=post.pk) is True
    post.refresh_from_db()
    assert post.like_count == 0
    kinds = list(Engagement.objects.filter(post=post).order_by("id").values_list("kind", flat=True))
    assert kinds == [Engagement.Kind.LIKE, Engagement.Kind.UNLIKE]
    assert Notification.objects.filter(recipient=post.author, verb="like").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_user_liking_from_eight_threads_counts_once():
    post, reader = PostFactory(), UserFactory()
    race(lambda: services.like_post(user=reader, post_id=post.pk), racers=8)
    post.refresh_from_db()
    assert Like.objects.filter(post=post).count() == 1
    assert post.like_count == 1
    assert Engagement.objects.filter(post=post, kind=Engagement.Kind.LIKE).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_users_liking_at_once_count_eight():
    post = PostFactory()
    readers = iter(UserFactory.create_batch(8))
    mine = {}

    def like():
        import threading

        reader = mine.setdefault(threading.get_ident(), next(readers))
        services.like_post(user=reader, post_id=post.pk)

    race(like, racers=8)
    post.refresh_from_db()
    assert Like.objects.filter(post=post).count() == 8
    assert post.like_count == 8


def test_blocked_people_cannot_comment_on_each_others_posts():
    post, reader = PostFactory(), UserFactory()
    block_user(user=post.author, username=reader.username)
    with pytest.raises(PermissionDenied):
        services.comment_on_post(author=reader, post_id=post.pk, body="hi")
    assert Block.objects.count() == 1 and Comment.objects.count() == 0


def test_replies_are_one_level_deep_and_notify_the_parent_author():
    post = PostFactory()
    first, second = UserFactory(), UserFactory()
    top = services.comment_on_post(author=first, post_id=post.pk, body="top")
    reply = services.comment_on_post(author=second, post_id=post.pk, body="reply", parent_id=top.pk)
    deeper = services.comment_on_post(author=first, post_id=post.pk, body="deeper", parent_id=reply.pk)
    assert reply.parent_id == top.pk and deeper.parent_id == top.pk
    assert Notification.objects.filter(recipient=first, verb="reply").count() == 1
    post.refresh_from_db()
    assert post.comment_count == 3


def test_a_reply_to_a_comment_of_another_post_is_refused():
    post, other = PostFactory(), PostFactory()
    foreign = services.comment_on_post(author=UserFactory(), post_id=other.pk, body="elsewhere")
    with pytest.raises(ValidationError, match="not on this post"):
        services.comment_on_post(author=UserFactory(), post_id=post.pk, body="x", parent_id=foreign.pk)


def test_reporting_twice_or_your_own_post_is_refused():
    post, reporter = PostFactory(), UserFactory()
    services.report_post(reporter=reporter, post_id=post.pk, reason="scam")
    with pytest.raises(ValidationError, match="already reported"):
        services.report_post(reporter=reporter, post_id=post.pk, reason="spam")
    with pytest.raises(ValidationError, match="own post"):
        services.report_post(reporter=post.author, post_id=post.pk, reason="spam")


def test_opening_a_share_link_is_recorded_for_the_sharer():
    post, sharer = PostFactory(), UserFactory()
    share = services.share_post(user=sharer, post_id=post.pk, channel="telegram")
    assert services.open_share(code=share.code, fp="f" * 32) == post
    opened = Engagement.objects.get(kind=Engagement.Kind.SHARE_OPEN)
    assert opened.share_id == share.pk and opened.actor is None


# --- Reading ---------------------------------------------------------------------------


def test_a_view_counts_once_per_viewer_post_and_day():
    post, reader = PostFactory(), UserFactory()
    assert services.record_view(viewer=reader, post=post) is True
    assert services.record_view(viewer=reader, post=post) is False
    assert Engagement.objects.filter(kind=Engagement.Kind.VIEW).count() == 1


def test_time_spent_is_clamped_and_unknown_posts_are_skipped():
    post, reader = PostFactory(), UserFactory()
    rendered = timezone.now()
    items = [
        {"post": post.pk, "ms": 99_000_000, "token": render_tokens.issue(reader=reader, post_id=post.pk, now=rendered)},
        {"post": 987654321, "ms": 5000, "token": render_tokens.issue(reader=reader, post_id=987654321, now=rendered)},
    ]
    # Reported the moment the token runs out: as much as one post's time can count.
    written = services.record_dwell(viewer=reader, items=items, now=rendered + render_tokens.LIFETIME)
    assert written == 1
    assert Engagement.objects.get(kind=Engagement.Kind.DWELL).dwell_ms == services.MAX_DWELL_MS


def test_malformed_time_spent_reports_are_refused():
    with pytest.raises(ValidationError, match="post id and milliseconds"):
        services.record_dwell(viewer=UserFactory(), items=[{"post": "x"}])


def test_the_trade_button_records_a_click_and_goes_to_the_exchange(btc, settings):
    settings.EXCHANGE_TRADE_URL = "https://exchange.example/trade/{instrument}"
    card = services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="64000")
    post = _publish(UserFactory(), trade_card=card)
    url = services.trade_redirect_url(viewer=UserFactory(), post_id=post.pk)
    assert url == "https://exchange.example/trade/BTC-USDT"
    assert Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK, post=post).count() == 1


def test_the_trade_button_stops_when_the_asset_is_delisted(btc):
    card = services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="64000")
    post = _publish(UserFactory(), trade_card=card)
    Asset.objects.filter(symbol="BTC").update(is_listed=False)
    with pytest.raises(ValidationError):
        services.trade_redirect_url(viewer=UserFactory(), post_id=post.pk)
    assert not Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK).exists()


def test_search_finds_english_words_and_chinese_phrases():
    english = _publish(UserFactory(), body="Funding rates are flipping negative on perpetuals")
    chinese = _publish(UserFactory(), body="今天比特币的资金费率转负了")
    _publish(UserFactory(), body="Nothing to see here")
    assert selectors.search_posts(query="perpetual funding").items == [english]
    assert selectors.search_posts(query="资金费率").items == [chinese]
    assert selectors.search_posts(query="以太坊").items == []


def test_search_results_come_a_page_at_a_time_without_repeats():
    posts = [_publish(UserFactory(), body=f"funding rates note {n} " + "funding " * (n % 3)) for n in range(7)]
    seen, cursor = [], None
    while True:
        page = selectors.search_posts(query="funding", cursor=cursor, size=3)
        seen += [post.pk for post in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(post.pk for post in posts) and len(seen) == 7


def test_search_follows_the_next_page_link_in_the_browser_and_the_api(client):
    for n in range(25):
        _publish(UserFactory(), body=f"funding squeeze {n}")
    page = client.get("/search/", {"q": "funding"})
    assert page.context["page"].next_cursor
    assert "?q=funding&amp;cursor=" in page.content.decode()
    more = client.get("/search/", {"q": "funding", "cursor": page.context["page"].next_cursor})
    assert len(page.context["page"].items) + len(more.context["page"].items) == 25
    first = client.get("/api/v1/search/", {"q": "funding", "size": 20}).json()
    rest = client.get("/api/v1/search/", {"q": "funding", "cursor": first["next_cursor"]}).json()
    ids = [post["id"] for post in first["posts"] + rest["posts"]]
    assert len(ids) == len(set(ids)) == 25 and rest["next_cursor"] is None


def test_muted_and_blocking_authors_disappear_from_feeds():
    viewer = UserFactory()
    muted, blocker, other = PostFactory(), PostFactory(), PostFactory()
    from creators.services import mute_user

    mute_user(user=viewer, username=muted.author.username)
    block_user(user=blocker.author, username=viewer.username)
    assert [post.pk for post in selectors.latest_posts(viewer=viewer).items] == [other.pk]


def test_keyset_pages_cover_every_post_once():
    posts = PostFactory.create_batch(7)
    seen, cursor = [], None
    while True:
        page = selectors.latest_posts(cursor=cursor, size=3)
        seen += [post.pk for post in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(post.pk for post in posts) and len(seen) == 7


def test_a_broken_cursor_is_a_validation_error():
    with pytest.raises(ValidationError, match="page link is broken"):
        selectors.latest_posts(cursor="not-a-cursor")


def test_comments_come_oldest_first_a_page_at_a_time(client):
    post = PostFactory()
    for n in range(7):
        services.comment_on_post(author=UserFactory(), post_id=post.pk, body=f"comment {n}")
    seen, cursor = [], None
    while True:
        page = selectors.post_comments(post=post, cursor=cursor, size=3)
        seen += [comment.body for comment in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"comment {n}" for n in range(7)]

    first = client.get(f"/api/v1/posts/{post.pk}/comments/", {"size": 5}).json()
    rest = client.get(f"/api/v1/posts/{post.pk}/comments/", {"cursor": first["next_cursor"]}).json()
    assert [c["body"] for c in first["results"] + rest["results"]] == seen and rest["next_cursor"] is None


def test_the_post_page_links_to_more_comments(client, settings):
    post = PostFactory()
    for n in range(selectors.COMMENT_PAGE_SIZE + 2):
        services.comment_on_post(author=UserFactory(), post_id=post.pk, body=f"comment {n}")
    page = client.get(f"/posts/{post.pk}/")
    assert len(page.context["comments"].items) == selectors.COMMENT_PAGE_SIZE
    assert "?comments=" in page.content.decode()
    more = client.get(
        f"/posts/{post.pk}/", {"comments": page.context["comments"].next_cursor}, headers={"HX-Request": "true"}
    )
    assert more.content.decode().count('class="comment') >= 2 and "comment 0" in more.content.decode()
