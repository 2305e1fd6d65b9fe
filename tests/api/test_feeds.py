import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from creators.models import Follow
from feed.models import Hashtag, Notification
from markets.models import Asset
from tests.factories import PostFactory, UserFactory

from .test_posts import error_of

pytestmark = pytest.mark.django_db


def walk(client, path: str, size: int) -> list[int]:
    """Every post id of a feed, page by page, following next_cursor."""
    ids, cursor = [], None
    while True:
        params = {"size": size, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert len(body["results"]) <= size
        ids += [post["id"] for post in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def test_keyset_pages_cover_the_feed_without_duplicates_or_gaps(anon):
    # Created in one transaction, so most share a timestamp: the id breaks the ties.
    posts = PostFactory.create_batch(23)
    ids = walk(anon, "/api/v1/posts/", size=5)
    assert ids == sorted((post.pk for post in posts), reverse=True)


def test_a_post_published_while_paging_does_not_shift_later_pages(anon):
    PostFactory.create_batch(6)
    first = anon.get("/api/v1/posts/", {"size": 3}).json()
    PostFactory()  # newer than everything: belongs before page one, not in page two
    second = anon.get("/api/v1/posts/", {"size": 3, "cursor": first["next_cursor"]}).json()
    first_ids = [post["id"] for post in first["results"]]
    second_ids = [post["id"] for post in second["results"]]
    assert not set(first_ids) & set(second_ids)
    assert max(second_ids) < min(first_ids)


@pytest.mark.parametrize("cursor", ["garbage", "bm90LWEtZGF0ZXwx", "MjAyNi0wMS0wMXw", "%%%"])
def test_a_broken_cursor_is_a_400_with_a_message(anon, cursor):
    response = anon.get("/api/v1/posts/", {"cursor": cursor})
    assert response.status_code == 400
    assert "page link is broken" in error_of(response)["message"]


@pytest.mark.parametrize("size", ["0", "51", "ten"])
def test_a_bad_page_size_is_refused(anon, size):
    response = anon.get("/api/v1/posts/", {"size": size})
    assert response.status_code == 400
    assert "size" in error_of(response)["errors"]


def test_the_list_costs_the_same_queries_whatever_its_length(as_bob, btc):
    def queries_for(count: int) -> int:
        for post in PostFactory.create_batch(count):
            post.assets.add(btc)
        with CaptureQueriesContext(connection) as captured:
            response = as_bob.get("/api/v1/posts/", {"size": 50})
        assert response.status_code == 200
        return len(captured)

    # Token lookup, the page (with author, profile, content type, card, call and the viewer's likes),
    # then one query each for the assets and the images of the whole page, and one for the
    # authors' trades of those assets (disclosures).
    assert queries_for(2) == queries_for(40) == 5


def test_following_shows_only_people_you_follow(alice, bob, as_bob, anon):
    mine = PostFactory(author=alice)
    PostFactory()
    Follow.objects.create(follower=bob, followee=alice)
    assert [post["id"] for post in as_bob.get("/api/v1/feed/following/").json()["results"]] == [mine.pk]
    assert anon.get("/api/v1/feed/following/").status_code == 401


def test_latest_feed_alias(anon):
    post = PostFactory()
    assert [p["id"] for p in anon.get("/api/v1/feed/latest/").json()["results"]] == [post.pk]


def test_asset_and_hashtag_pages(anon, btc):
    tagged = PostFactory()
    tagged.assets.add(btc)
    tagged.hashtags.add(Hashtag.objects.create(name="macro"))
    PostFactory()
    Asset.objects.create(symbol="ETH", name="Ether")
    assert [p["id"] for p in anon.get("/api/v1/assets/btc/posts/").json()["results"]] == [tagged.pk]
    assert anon.get("/api/v1/assets/ETH/posts/").json()["results"] == []
    assert [p["id"] for p in anon.get("/api/v1/hashtags/Macro/posts/").json()["results"]] == [tagged.pk]
    missing = anon.get("/api/v1/assets/NOPE/posts/")
    assert missing.status_code == 404
    assert "$NOPE" in error_of(missing)["message"]
    assert anon.get("/api/v1/hashtags/nothing/posts/").status_code == 404


def test_notifications_with_unread_count_and_marking_read(alice, bob, as_alice, as_bob):
    post = PostFactory(author=alice)
    as_bob.post(f"/api/v1/posts/{post.pk}/like/")
    as_bob.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "gm"}, format="json")
    as_bob.post("/api/v1/users/alice/follow/")
    body = as_alice.get("/api/v1/notifications/").json()
    assert body["unread_count"] == 3
    assert [n["verb"] for n in body["results"]] == ["follow", "comment", "like"]
    assert body["results"][0]["actor"]["username"] == "bob"
    assert body["results"][2]["text"] == "liked your post"
    # Bob marking his own inbox read leaves Alice's alone.
    assert as_bob.post("/api/v1/notifications/read/", {}, format="json").json() == {"marked": 0, "unread_count": 0}
    assert Notification.objects.filter(recipient=alice, read_at__isnull=True).count() == 3
    marked = as_alice.post("/api/v1/notifications/read/", {}, format="json").json()
    assert marked == {"marked": 3, "unread_count": 0}
    assert as_alice.get("/api/v1/notifications/").json()["results"][0]["read"] is True
    assert as_bob.get("/api/v1/notifications/").json()["results"] == []


def test_notifications_speak_the_readers_language(alice, bob, as_alice):
    Notification.objects.create(recipient=alice, actor=bob, verb="follow")
    body = as_alice.get("/api/v1/notifications/", headers={"accept-language": "zh-hans"}).json()
    assert body["results"][0]["text"] != "followed you"


def test_notifications_need_a_login(anon):
    assert anon.get("/api/v1/notifications/").status_code == 401
    assert anon.post("/api/v1/notifications/read/", {}, format="json").status_code == 401


def test_search_finds_english_words_chinese_text_and_people(anon):
    english = PostFactory(body="Bitcoin halving explained for beginners")
    chinese = PostFactory(body="比特币减半之后的行情分析")
    PostFactory(body="Unrelated chatter")
    UserFactory(username="halvingfan")
    body = anon.get("/api/v1/search/", {"q": "halving"}).json()
    assert [p["id"] for p in body["posts"]] == [english.pk]
    assert [person["username"] for person in body["people"]] == ["halvingfan"]
    assert [p["id"] for p in anon.get("/api/v1/search/", {"q": "减半"}).json()["posts"]] == [chinese.pk]
    assert anon.get("/api/v1/search/", {"q": ""}).json() == {"posts": [], "next_cursor": None, "people": []}


def test_search_needs_a_query(anon):
    response = anon.get("/api/v1/search/")
    assert response.status_code == 400
    assert "q" in error_of(response)["errors"]
