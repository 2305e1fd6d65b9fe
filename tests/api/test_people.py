import pytest

from creators.models import Block, Follow, Mute
from feed.models import Engagement, Notification
from tests.factories import FollowFactory, PostFactory

from .test_posts import error_of

pytestmark = pytest.mark.django_db


def test_a_profile_with_counts_and_the_viewers_relation(alice, bob, as_bob, anon):
    FollowFactory(follower=bob, followee=alice)
    FollowFactory(follower=alice)
    FollowFactory(followee=alice)
    body = as_bob.get("/api/v1/users/alice/").json()
    assert body["username"] == "alice"
    assert (body["followers_count"], body["following_count"]) == (2, 1)
    assert (body["is_following"], body["is_muted"], body["is_blocked"]) == (True, False, False)
    assert anon.get("/api/v1/users/ALICE/").json()["is_following"] is False


def test_an_unknown_person_is_not_found(anon, as_bob):
    response = anon.get("/api/v1/users/nobody/")
    assert response.status_code == 404
    assert "@nobody" in error_of(response)["message"]
    assert as_bob.post("/api/v1/users/nobody/follow/").status_code == 404
    assert anon.get("/api/v1/users/nobody/posts/").status_code == 404


def test_following_and_unfollowing(alice, bob, as_bob):
    response = as_bob.post("/api/v1/users/alice/follow/")
    assert response.json() == {"following": True, "followers_count": 1}
    assert as_bob.post("/api/v1/users/alice/follow/").json() == {"following": True, "followers_count": 1}
    assert Notification.objects.get(recipient=alice).verb == "follow"
    assert as_bob.delete("/api/v1/users/alice/follow/").json() == {"following": False, "followers_count": 0}
    kinds = list(Engagement.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == [Engagement.Kind.FOLLOW, Engagement.Kind.UNFOLLOW]


def test_you_cannot_follow_yourself(alice, as_alice):
    response = as_alice.post("/api/v1/users/alice/follow/")
    assert response.status_code == 400
    assert "yourself" in error_of(response)["message"]
    assert not Follow.objects.exists()


def test_anonymous_cannot_follow_mute_or_block(alice, anon):
    for action in ("follow", "mute", "block"):
        assert anon.post(f"/api/v1/users/alice/{action}/").status_code == 401
        assert anon.delete(f"/api/v1/users/alice/{action}/").status_code == 401
    assert not (Follow.objects.exists() or Mute.objects.exists() or Block.objects.exists())


def test_muting_hides_their_posts_from_your_feeds(alice, bob, as_bob, anon):
    PostFactory(author=alice, body="alice speaks")
    assert as_bob.post("/api/v1/users/alice/mute/").json() == {"muted": True}
    assert as_bob.get("/api/v1/posts/").json()["results"] == []
    assert len(anon.get("/api/v1/posts/").json()["results"]) == 1
    assert as_bob.get("/api/v1/users/alice/").json()["is_muted"] is True
    assert as_bob.delete("/api/v1/users/alice/mute/").json() == {"muted": False}
    assert len(as_bob.get("/api/v1/posts/").json()["results"]) == 1


def test_blocking_ends_follows_and_prevents_following_back(alice, bob, as_alice, as_bob):
    FollowFactory(follower=bob, followee=alice)
    assert as_alice.post("/api/v1/users/bob/block/").json() == {"blocked": True}
    assert not Follow.objects.exists()
    response = as_bob.post("/api/v1/users/alice/follow/")
    assert response.status_code == 403
    error_of(response)
    assert not Follow.objects.exists()
    assert as_alice.delete("/api/v1/users/bob/block/").json() == {"blocked": False}
    assert as_bob.post("/api/v1/users/alice/follow/").json()["following"] is True


def test_you_cannot_mute_or_block_yourself(as_alice):
    assert as_alice.post("/api/v1/users/alice/mute/").status_code == 400
    assert as_alice.post("/api/v1/users/alice/block/").status_code == 400


def test_follower_lists_page_without_duplicates_or_gaps(alice, anon):
    fans = [follow.follower for follow in FollowFactory.create_batch(7, followee=alice)]
    seen, cursor = [], None
    while True:
        params = {"size": 3, **({"cursor": cursor} if cursor else {})}
        body = anon.get("/api/v1/users/alice/followers/", params).json()
        seen += [person["username"] for person in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(fan.username for fan in fans)
    assert len(seen) == len(set(seen)) == 7
    following = anon.get(f"/api/v1/users/{fans[0].username}/following/").json()
    assert following == {
        "results": [{"username": "alice", "display_name": "Alice", "avatar_url": None}],
        "next_cursor": None,
    }


def test_a_creators_posts(alice, anon):
    PostFactory.create_batch(3, author=alice)
    PostFactory()
    body = anon.get("/api/v1/users/alice/posts/").json()
    assert [post["author"]["username"] for post in body["results"]] == ["alice"] * 3
