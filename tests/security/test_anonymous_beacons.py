"""Signed-out beacons cannot buy a place in Trending.

The attack this replays: 100 signed-out views, 30-minute time-spent reports, trade clicks and share
opens from one address (and its neighbours in the same /24) in seconds took a post to #1 of
Trending. Now signed-out beacons are throttled per address (THROTTLE_ANON_BEACON), recorded once per
network, post, kind and day, and weigh ANONYMOUS_WEIGHT of a signed-in reader's in Trending.
"""

from __future__ import annotations

import html
import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from feed import render_tokens, services
from feed.models import Engagement, Post, TradeCard
from markets.models import Asset
from orbit import fingerprints
from ranking import trending
from ranking.models import PostTags
from tests.concurrency import race
from tests.ranking.world import creator, reader, tagged_post

pytestmark = pytest.mark.django_db
Kind = Engagement.Kind
BEACON_KINDS = {Kind.VIEW, Kind.DWELL, Kind.TRADE_CLICK, Kind.SHARE_OPEN}
_networks = itertools.count(1)


def new_network(version: int = 4) -> list[str]:
    """Addresses of one network no other test uses: a /24 (IPv4) or a /64 (IPv6)."""
    number = next(_networks)
    if version == 6:
        return [f"2001:db8:{number:x}::{host:x}" for host in (1, 2, 0xFFFF, 0xABCD)]
    return [f"172.{16 + number // 256 % 16}.{number % 256}.{host}" for host in (1, 2, 77, 254)]


def attacked_post() -> tuple[Post, str]:
    """A post with a trade card and a share link, as the attacker's would be; returns it and the code."""
    Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})
    post = tagged_post(creator("pumper"), content_type="trade_share", assets=["BTC"])
    TradeCard.objects.create(post=post, instrument="BTC-USDT", side="long", entry_price=Decimal("64000"))
    share = services.share_post(user=post.author, post_id=post.pk)  # the author's own: Trending skips it
    return post, share.code


def beacons(address: str, post: Post, code: str, times: int) -> None:
    """Every signed-out beacon a page or an app can send, `times` over, from `address`; time spent
    with a signed-out render token issued half an hour ago, so that it claims all it can."""
    client = Client(REMOTE_ADDR=address)
    token = render_tokens.issue(reader=None, post_id=post.pk, now=timezone.now() - render_tokens.LIFETIME / 2)
    for _ in range(times):
        assert client.post(reverse("api:view", args=[post.pk])).status_code == 200
        dwell = client.post(
            reverse("api:dwell"),
            {"items": [{"post": post.pk, "ms": 15 * 60 * 1000, "token": token}]},
            content_type="application/json",
        )
        assert dwell.status_code == 200
        assert client.post(reverse("api:trade_click", args=[post.pk])).status_code == 200
        assert client.get(reverse("feed:open_share", args=[code])).status_code == 302


def signed_out_rows(post: Post):
    return Engagement.objects.filter(post=post, actor__isnull=True)


def test_a_beacon_flood_from_one_network_ranks_below_a_few_signed_in_readers():
    post, code = attacked_post()
    honest = tagged_post(creator("honest"), assets=["ETH"])
    for name in ("ann", "ben", "cy"):
        services.record_view(viewer=reader(name), post=honest)
    network = new_network()

    beacons(network[0], post, code, times=100)
    for neighbour in network[1:]:
        beacons(neighbour, post, code, times=10)
    trending.refresh_trending()

    scores = dict(PostTags.objects.values_list("post_id", "trending"))
    assert scores[honest.pk] > scores[post.pk] > 0
    # One row per network, post and kind, however many beacons came.
    kinds = sorted(signed_out_rows(post).values_list("kind", flat=True))
    assert kinds == sorted(BEACON_KINDS)


def test_each_network_counts_once_per_post_kind_and_day():
    post, code = attacked_post()
    ipv4, ipv6, other = new_network(), new_network(6), new_network()

    for address in ipv4 + ipv6 + other[:1]:
        beacons(address, post, code, times=2)

    assert signed_out_rows(post).count() == 3 * len(BEACON_KINDS)
    assert signed_out_rows(post).values("fingerprint").distinct().count() == 3
    # The time reported is the first report's, never the sum of replays.
    assert set(signed_out_rows(post).filter(kind=Kind.DWELL).values_list("dwell_ms", flat=True)) == {900_000}


def test_signed_out_time_spent_needs_a_render_token_of_the_signed_out_page():
    post, _code = attacked_post()
    client = Client(REMOTE_ADDR=new_network()[0])
    page = client.get(reverse("feed:post", args=[post.pk])).content.decode()
    token = re.search(r'data-dwell-token="([^"]+)"', page).group(1)
    claim = 30 * 60 * 1000

    def report(token=None):
        item = {"post": post.pk, "ms": claim} | ({"token": token} if token is not None else {})
        return client.post(reverse("api:dwell"), {"items": [item]}, content_type="application/json")

    assert report().json() == {"recorded": 0}
    signed_in = render_tokens.issue(reader=reader("member"), post_id=post.pk)
    assert report(signed_in).json() == {"recorded": 0}
    assert report(html.unescape(token)).json() == {"recorded": 1}
    # Counted: the moment between serving the page and the report, not the half hour claimed.
    assert signed_out_rows(post).get(kind=Kind.DWELL).dwell_ms < 5_000


def test_yesterdays_view_from_a_network_does_not_hide_todays():
    post, _code = attacked_post()
    address = new_network()[0]
    Engagement.objects.create(
        kind=Kind.VIEW,
        post=post,
        creator=post.author,
        fingerprint=fingerprints.network_fingerprint(ip=address),
        occurred_at=timezone.now() - timedelta(days=1, hours=1),
    )
    Client(REMOTE_ADDR=address).post(reverse("api:view", args=[post.pk]))
    assert signed_out_rows(post).filter(kind=Kind.VIEW).count() == 2


def test_over_the_address_rate_signed_out_beacons_are_answered_but_not_recorded(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "anon_beacon": "3/hour"}}
    author = creator("author")
    posts = [tagged_post(author) for _ in range(5)]
    client = Client(REMOTE_ADDR=new_network()[0])

    answers = [client.post(reverse("api:view", args=[post.pk])) for post in posts]

    assert [answer.status_code for answer in answers] == [200] * 5
    assert [answer.json()["recorded"] for answer in answers] == [True, True, True, False, False]
    assert Engagement.objects.filter(actor__isnull=True).count() == 3
    # The reader still gets where they were going: the post page, the exchange.
    trade_post, code = attacked_post()
    assert client.get(reverse("feed:open_share", args=[code])).status_code == 302
    assert client.post(reverse("api:trade_click", args=[trade_post.pk])).json()["url"]
    assert client.get(reverse("feed:post", args=[trade_post.pk])).status_code == 200
    assert not signed_out_rows(trade_post).exists()
    # A signed-in reader behind the same address is not held to the signed-out rate.
    client.force_login(reader("regular"))
    assert client.post(reverse("api:view", args=[trade_post.pk])).json()["recorded"] is True


def test_trending_weighs_signed_out_events_far_below_signed_in_ones():
    author = creator("author")
    signed_in, signed_out = tagged_post(author), tagged_post(author)
    Engagement.objects.create(kind=Kind.VIEW, actor=reader("fan"), post=signed_in, creator=author)
    # Twenty networks, each with a pile of rows (as written before the once-per-network rule).
    Engagement.objects.bulk_create(
        Engagement(kind=Kind.VIEW, post=signed_out, creator=author, fingerprint=f"network-{network}")
        for network in range(20)
        for _ in range(50)
    )

    trending.refresh_trending()

    scores = dict(PostTags.objects.values_list("post_id", "trending"))
    # A thousand signed-out rows from twenty networks: as much as one signed-in reader's view.
    assert scores[signed_out.pk] == pytest.approx(20 * trending.ANONYMOUS_WEIGHT * scores[signed_in.pk], rel=1e-3)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_signed_out_beacons_from_one_network_write_one_row_per_kind():
    post, code = attacked_post()
    fp = fingerprints.network_fingerprint(ip=new_network()[0])

    token = render_tokens.issue(reader=None, post_id=post.pk, now=timezone.now() - timedelta(minutes=2))

    def every_beacon():
        services.record_view(viewer=None, post=post, fp=fp)
        services.record_dwell(viewer=None, items=[{"post": post.pk, "ms": 60_000, "token": token}], fp=fp)
        services.trade_redirect_url(viewer=None, post_id=post.pk, fp=fp)
        services.open_share(code=code, fp=fp)

    assert race(every_beacon, racers=6) == ["created"] * 6
    assert sorted(signed_out_rows(post).values_list("kind", flat=True)) == sorted(BEACON_KINDS)
