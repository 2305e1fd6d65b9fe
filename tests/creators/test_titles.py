import pytest
from django.urls import reverse

from creators.models import CreatorTitle, Follow, Profile
from creators.services import refresh_creator_titles
from tests.factories import FollowFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def _followers(creator, count):
    FollowFactory.create_batch(count, followee=creator)


def test_titles_follow_the_operator_thresholds():
    CreatorTitle.objects.filter(slug="rising").update(min_followers=3)
    small, big = UserFactory(), UserFactory()
    _followers(big, 3)

    refresh_creator_titles()

    titles = dict(Profile.objects.filter(user__in=[small, big]).values_list("user__username", "title"))
    assert titles == {small.username: "newcomer", big.username: "rising"}


def test_refreshing_twice_changes_nothing_the_second_time():
    UserFactory.create_batch(3)
    assert refresh_creator_titles() > 0
    assert refresh_creator_titles() == 0


def test_a_creator_who_loses_followers_loses_the_title():
    CreatorTitle.objects.filter(slug="rising").update(min_followers=2)
    creator = UserFactory()
    _followers(creator, 2)
    refresh_creator_titles()
    Follow.objects.filter(followee=creator).first().delete()
    refresh_creator_titles()
    assert Profile.objects.get(user=creator).title_id == "newcomer"


def test_the_badge_shows_on_the_profile_and_post_cards_in_both_languages(client):
    CreatorTitle.objects.filter(slug="rising").update(min_followers=1)
    post = PostFactory()
    _followers(post.author, 1)
    refresh_creator_titles()

    profile_page = client.get(reverse("feed:profile", args=[post.author.username])).content.decode()
    assert "Rising creator" in profile_page
    assert "Rising creator" in client.get(reverse("feed:latest")).content.decode()
    chinese = client.get(reverse("feed:latest"), headers={"accept-language": "zh-hans"}).content.decode()
    assert "潜力创作者" in chinese


def test_nobody_can_give_themselves_a_title_through_profile_settings(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("creators:edit_profile"), {"display_name": "Me", "title": "star", "language": "en"})
    assert Profile.objects.get(user=user).title_id is None


def test_the_api_profile_names_the_title(client):
    CreatorTitle.objects.filter(slug="rising").update(min_followers=1)
    creator = UserFactory()
    _followers(creator, 1)
    refresh_creator_titles()
    body = client.get(f"/api/v1/users/{creator.username}/").json()
    assert body["title"] == {"slug": "rising", "name_en": "Rising creator", "name_zh": "潜力创作者"}
