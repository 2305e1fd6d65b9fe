"""Every form and HTMX call needs the CSRF token: without it, 403 and nothing changes."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from creators.models import Follow, Profile
from feed.models import Comment, Like, Post, Report
from tests.factories import PostFactory, UserFactory

from .helpers import PASSWORD, new_ip

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    author = UserFactory()
    reader = UserFactory()
    post = PostFactory(author=author, body="Range high, watching for a breakout #btc")
    own_post = PostFactory(author=reader, body="My own note")
    client = Client(REMOTE_ADDR=new_ip(), enforce_csrf_checks=True)
    client.force_login(reader)
    return {"author": author, "reader": reader, "post": post, "own_post": own_post, "client": client}


def _writes(setting):
    post, own, author = setting["post"], setting["own_post"], setting["author"]
    return [
        (reverse("feed:like", args=[post.pk]), {}),
        (reverse("feed:comment", args=[post.pk]), {"body": "Nice call"}),
        (reverse("feed:share", args=[post.pk]), {"channel": "link"}),
        (reverse("feed:report", args=[post.pk]), {"reason": "spam"}),
        (reverse("feed:compose"), {"body": "A brand new post about $BTC", "content_type": "analysis"}),
        (reverse("feed:edit", args=[own.pk]), {"body": "Edited text", "content_type": "analysis"}),
        (reverse("feed:delete", args=[own.pk]), {}),
        (reverse("feed:dwell_beacon"), {"items": f'[{{"post": {post.pk}, "ms": 5000}}]'}),
        (reverse("creators:follow", args=[author.username]), {}),
        (reverse("creators:mute", args=[author.username]), {}),
        (reverse("creators:block", args=[author.username]), {}),
        (reverse("creators:edit_profile"), {"display_name": "Changed", "bio": "", "language": "en"}),
        (reverse("account_change_password"), {"oldpassword": PASSWORD, "password1": "x" * 20, "password2": "x" * 20}),
        (reverse("account_logout"), {}),
        (reverse("set_language"), {"language": "zh-hans"}),
        (reverse("api:like", args=[post.pk]), {}),
        (reverse("api:posts"), {"body": "Through the API", "content_type": "analysis"}),
    ]


def _state(setting):
    reader = setting["reader"]
    reader.refresh_from_db()
    return (
        Like.objects.count(),
        Comment.objects.count(),
        Report.objects.count(),
        Follow.objects.count(),
        list(Post.objects.order_by("pk").values_list("pk", "body", "status")),
        Profile.objects.filter(user=reader).values_list("display_name", flat=True).first(),
        reader.password,
    )


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_posts_without_the_csrf_token_are_refused_and_change_nothing(setting, htmx):
    client = setting["client"]
    headers = {"HX-Request": "true"} if htmx else {}
    before = _state(setting)

    for url, data in _writes(setting):
        response = client.post(url, data, headers=headers)
        assert response.status_code == 403, url

    assert _state(setting) == before
    assert client.get(reverse("account_change_password")).status_code == 200  # still signed in


def test_the_same_htmx_call_with_the_token_goes_through(setting):
    client = setting["client"]
    client.get(reverse("feed:post", args=[setting["post"].pk]))  # the page sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(
        reverse("feed:like", args=[setting["post"].pk]), headers={"HX-Request": "true", "X-CSRFToken": token}
    )

    assert response.status_code == 200
    assert Like.objects.filter(user=setting["reader"], post=setting["post"]).exists()


def test_every_form_in_a_page_carries_the_token(setting):
    client = setting["client"]
    for url in [
        reverse("feed:post", args=[setting["post"].pk]),
        reverse("feed:compose"),
        reverse("creators:edit_profile"),
        reverse("account_change_password"),
        reverse("account_logout"),
    ]:
        page = client.get(url).content.decode()
        post_forms = page.lower().count('method="post"')
        assert post_forms > 0, url
        assert page.count('name="csrfmiddlewaretoken"') >= post_forms, url
