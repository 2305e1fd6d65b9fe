"""No state change over GET: every URL of the site, fetched with GET by a signed-in member and by
staff in admin, leaves the community's tables as they were. The one exception is the reading
record itself: a view of a post, and the opening of a share link, append an Engagement row (and a
view moves its post's view count)."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.db import connection
from django.urls import URLResolver, get_resolver

from creators.models import Block, Follow, Mute, Profile, User
from creators.tokens import issue_api_token
from feed.models import Comment, Engagement, Like, ModerationAction, Notification, Post, PostRevision, Report, Share
from feed.services import comment_on_post, like_post, report_post, share_post
from markets.models import Asset
from tests.factories import PostFactory, UserFactory

from .helpers import activate_totp, client_from_new_ip, sign_in_with_code, signed_in_user_id

pytestmark = pytest.mark.django_db

# Reading is recorded: a view of a post and the opening of a share link (both by GET, by design).
READING_KINDS = (Engagement.Kind.VIEW, Engagement.Kind.SHARE_OPEN)
ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def _admin_object_id(route: str) -> str:
    match = re.match(r"admin/(\w+)/(\w+)/<path:object_id>/", route)
    model = apps.get_model(match[1], match[2])
    first = model._default_manager.order_by("pk").first()
    return str(first.pk) if first else "1"


def _urls(samples: dict[str, str]) -> list[str]:
    urls = []
    for route in _routes(get_resolver().url_patterns):
        values = dict(samples)
        if route.startswith("admin/") and "<path:object_id>" in route and not route.startswith("admin/r/"):
            values["object_id"] = _admin_object_id(route)
        # Regular expressions (allauth's key URLs, catch-alls): named groups get samples too.
        url = REGEX_GROUP.sub(lambda m, values=values: values[m["name"]], route)
        url = ROUTE_PARAMETER.sub(lambda m, values=values: values[m["name"]], url)
        url = url.replace("^", "").replace("$", "").replace(".*", "no-such-page").replace("\\", "")
        urls.append("/" + url)
    return urls


def _snapshot() -> dict[str, tuple]:
    """Every watched table as (row count, digest of its rows)."""
    tables = {
        model._meta.db_table: "*"
        for model in (Post, Comment, Like, Share, Report, Notification, ModerationAction, PostRevision)
    }
    tables |= {model._meta.db_table: "*" for model in (Follow, Mute, Block, Profile)}
    # A recorded view also counts on its post (feed.services.record_view): every other column must stay.
    tables[Post._meta.db_table] = ", ".join(
        field.column for field in Post._meta.concrete_fields if field.name != "view_count"
    )
    # Signing in moves last_login; nothing a GET does may move anything else of a user.
    tables[User._meta.db_table] = "id, username, email, password, is_staff, is_superuser, is_active, suspended_at"
    tables["creators_apitoken"] = "*"
    tables["account_emailaddress"] = "*"
    tables["mfa_authenticator"] = "id, user_id, type, data"
    snapshot = {}
    with connection.cursor() as cursor:
        for table, columns in tables.items():
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(row_text, '|' ORDER BY row_text), '')) "  # noqa: S608
                f"FROM (SELECT ({columns})::text AS row_text FROM {table}) AS rows"
                if columns != "*"
                else f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"  # noqa: S608
            )
            snapshot[table] = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), md5(coalesce(string_agg(e::text, '|' ORDER BY e.id), '')) "
            "FROM feed_engagement e WHERE NOT kind = ANY(%s)",
            [list(READING_KINDS)],
        )
        snapshot["feed_engagement (all but reading)"] = cursor.fetchone()
    return snapshot


@pytest.fixture
def community():
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin")
    author, member = UserFactory(), UserFactory()
    for user in (author, member):  # as sign-up leaves them: allauth keeps its own record of the address
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    post = PostFactory(author=author, body=f"$BTC above the weekly open #btc, watch @{member.username}")
    post.assets.add(btc)
    own_post = PostFactory(author=member, body="My own note on $BTC")
    Follow.objects.create(follower=member, followee=author)
    comment = comment_on_post(author=member, post_id=post.pk, body="Agreed")
    comment_on_post(author=author, post_id=post.pk, body="Thanks", parent_id=comment.pk)
    comment_on_post(author=author, post_id=own_post.pk, body="Nice")  # an unread notification for member
    like_post(user=author, post_id=own_post.pk)
    share = share_post(user=author, post_id=post.pk)
    report_post(reporter=member, post_id=post.pk, reason="spam")
    assert Notification.objects.filter(recipient=member, read_at__isnull=True).exists()
    token, _key = issue_api_token(user=member, name="phone")
    return {
        "member": member,
        "samples": {
            "post_id": str(post.pk),
            "comment_id": str(comment.pk),
            "username": author.username,
            "symbol": "BTC",
            "instrument": "BTC-USDT",
            "name": "btc",
            "code": share.code,
            "key": "not-a-real-key",
            "uidb36": "1",
            "path": "avatars/none.png",
            "app_label": "feed",
            "model_name": "post",
            "slug": "payouts-per-week",
            "content_type_id": "1",
            "object_id": "1",
            "id": str(member.pk),
            "url": "no-such-page/",
            "token_id": str(token.pk),
        },
    }


def _walk(client, urls, user):
    statuses, changes = {}, []
    before = _snapshot()
    for url in urls:
        response = client.get(url)
        statuses[url] = response.status_code
        assert response.status_code != 500, url  # (/healthz answers 503 when no worker runs)
        assert signed_in_user_id(client) == str(user.pk), f"GET {url} signed the user out"
        after = _snapshot()
        changes += [f"GET {url} changed {table}" for table in after if after[table] != before[table]]
        before = after
    assert not changes, "\n".join(changes)
    return statuses


def test_no_get_changes_anything_for_a_signed_in_member(community):
    member = community["member"]
    client = client_from_new_ip()
    client.force_login(member)
    urls = [url for url in _urls(community["samples"]) if not url.startswith("/admin/")]

    statuses = _walk(client, urls, member)

    assert len(statuses) > 60
    assert statuses[f"/posts/{community['samples']['post_id']}/"] == 200  # the pages really rendered
    assert statuses["/notifications/"] == 200


def test_no_admin_get_changes_anything_for_staff(community):
    staff = UserFactory(is_staff=True, is_superuser=True)
    secret = activate_totp(staff)
    client = client_from_new_ip()
    sign_in_with_code(client, staff.username, secret)
    urls = [url for url in _urls(community["samples"]) if url.startswith("/admin/")]

    statuses = _walk(client, urls, staff)

    assert len(statuses) > 100
    assert statuses["/admin/feed/report/"] == 200
    deletions = [url for url, status in statuses.items() if url.endswith("/delete/") and status == 200]
    assert "/admin/feed/comment/" in " ".join(deletions)  # confirmation pages only
