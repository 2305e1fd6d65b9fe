"""Devices are issued by the server: one machine cannot pass for as many devices as it likes.

The attack this replays: the device cookie was a random id the server did not sign and apps named
their device in X-Orbit-Device as they liked, so a script could give each of its fake readers a
device of its own and stay clear of the shared-device checks. Now the cookie and the header carry a
signed token; anything else counts as no device (a browser gets a new one; an app is known by its
address alone), and new device tokens are rationed per address (THROTTLE_DEVICE). Beside the
fingerprint each row keeps its network prefix's hash, the same for every device of one network.
"""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from feed.models import Engagement
from orbit import fingerprints
from orbit.fingerprints import DEVICE_COOKIE, DEVICE_HEADER
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db
ADDRESS = "192.0.2.44"


def _browser(user, *, cookie: str | None = None) -> Client:
    browser = Client(REMOTE_ADDR=ADDRESS)
    browser.force_login(user)
    if cookie is not None:
        browser.cookies[DEVICE_COOKIE] = cookie
    return browser


def _view_fingerprint(user, post) -> str:
    return Engagement.objects.get(kind=Engagement.Kind.VIEW, actor=user, post=post).fingerprint


def _view(client: Client, post, device: str | None = None):
    headers = {DEVICE_HEADER: device} if device is not None else {}
    return client.post(reverse("api:view", args=[post.pk]), headers=headers)


@pytest.mark.parametrize(
    "forged",
    [
        "0123456789abcdef0123456789abcdef",  # an unsigned id, as cookies were before devices were signed
        "0123456789abcdef0123456789abcdef:forged-signature",
        "not a device at all",
    ],
)
def test_a_forged_device_cookie_gets_a_new_server_issued_device(forged):
    reader, post = UserFactory(), PostFactory()

    answer = _browser(reader, cookie=forged).get(reverse("feed:post", args=[post.pk]))

    issued = answer.cookies[DEVICE_COOKIE].value
    assert issued != forged
    device = fingerprints.verified_device(issued)
    assert device is not None and device not in forged
    recorded = _view_fingerprint(reader, post)
    assert recorded == fingerprints.fingerprint(ip=ADDRESS, device_id=device)
    assert recorded != fingerprints.fingerprint(ip=ADDRESS, device_id=forged.split(":")[0])


def test_a_cookie_signed_for_another_purpose_is_not_a_device():
    reader, post = UserFactory(), PostFactory()
    other_purpose = signing.Signer().sign("0123456789abcdef0123456789abcdef")

    answer = _browser(reader, cookie=other_purpose).get(reverse("feed:post", args=[post.pk]))

    assert answer.cookies[DEVICE_COOKIE].value != other_purpose
    assert fingerprints.verified_device(other_purpose) is None


def test_the_same_signed_cookie_gives_the_same_fingerprint():
    reader, first, second = UserFactory(), PostFactory(), PostFactory()
    browser = _browser(reader)
    issued = browser.get(reverse("feed:post", args=[first.pk])).cookies[DEVICE_COOKIE].value

    again = browser.get(reverse("feed:post", args=[second.pk]))

    assert DEVICE_COOKIE not in again.cookies  # a signed device is kept, not re-issued
    assert _view_fingerprint(reader, first) == _view_fingerprint(reader, second)
    assert _view_fingerprint(reader, second) == fingerprints.fingerprint(
        ip=ADDRESS, device_id=fingerprints.verified_device(issued)
    )


def test_fifty_invented_device_headers_from_one_address_are_one_fingerprint():
    reader, posts = UserFactory(), PostFactory.create_batch(50)
    app = Client(REMOTE_ADDR=ADDRESS)
    app.force_login(reader)
    invented = [f"{n:032x}" for n in range(25)] + [f"{n:032x}:{'A' * 43}" for n in range(25)]

    for post, device in zip(posts, invented, strict=True):
        assert _view(app, post, device).json()["recorded"] is True

    recorded = set(Engagement.objects.filter(actor=reader).values_list("fingerprint", flat=True))
    assert recorded == {fingerprints.fingerprint(ip=ADDRESS, device_id=None)}


def test_a_device_token_from_the_server_names_the_apps_device():
    reader, posts = UserFactory(), PostFactory.create_batch(3)
    app = Client(REMOTE_ADDR=ADDRESS)
    answer = app.post(reverse("api:devices"))
    assert answer.status_code == 201
    token = answer.json()["device"]
    other_token = app.post(reverse("api:devices")).json()["device"]
    app.force_login(reader)

    for post, device in zip(posts, (token, token, other_token), strict=True):
        assert _view(app, post, device).json()["recorded"] is True

    recorded = list(Engagement.objects.filter(actor=reader).order_by("id").values_list("fingerprint", flat=True))
    own = fingerprints.fingerprint(ip=ADDRESS, device_id=fingerprints.verified_device(token))
    assert recorded[:2] == [own, own]
    assert recorded[2] not in {own, fingerprints.fingerprint(ip=ADDRESS, device_id=None)}


def test_new_device_tokens_are_rationed_per_address(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "device": "3/hour"}}
    farm = Client(REMOTE_ADDR="198.51.100.9")

    answers = [farm.post(reverse("api:devices")) for _ in range(5)]

    assert [answer.status_code for answer in answers] == [201, 201, 201, 429, 429]
    refused = answers[3].json()
    assert refused["status"] == 429 and refused["message"] and refused["retry_after"] > 0
    assert int(answers[3]["Retry-After"]) > 0
    # Signing in does not lift the budget: it is the address's.
    farm.force_login(UserFactory())
    assert farm.post(reverse("api:devices")).status_code == 429
    # Another address has its own budget.
    assert Client(REMOTE_ADDR="198.51.100.10").post(reverse("api:devices")).status_code == 201


def test_an_ipv6_host_cannot_mint_devices_by_walking_its_64(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "device": "2/hour"}}

    answers = [Client(REMOTE_ADDR=f"2001:db8:7:1::{host:x}").post(reverse("api:devices")) for host in range(1, 5)]

    assert [answer.status_code for answer in answers] == [201, 201, 429, 429]
    assert Client(REMOTE_ADDR="2001:db8:7:2::1").post(reverse("api:devices")).status_code == 201


def _prefix_of_view(user, post) -> str | None:
    return Engagement.objects.get(kind=Engagement.Kind.VIEW, actor=user, post=post).network_prefix


def test_the_network_prefix_is_stored_beside_the_fingerprint():
    # Two devices in one IPv4 /24, and two IPv6 addresses in one /48 but different /64s: one prefix
    # each, though every fingerprint differs; another network has another prefix.
    reader, posts = UserFactory(), PostFactory.create_batch(6)
    addresses = ["203.0.113.5", "203.0.113.200", "2001:db8:aa:1::5", "2001:db8:aa:2::5", "198.51.100.1"]
    for address, post in zip(addresses, posts, strict=False):
        app = Client(REMOTE_ADDR=address)
        app.force_login(reader)
        device = app.post(reverse("api:devices")).json()["device"]
        assert _view(app, post, device).json()["recorded"] is True
    browser = Client(REMOTE_ADDR="203.0.113.77")  # a browser in the same /24
    browser.force_login(reader)
    browser.get(reverse("feed:post", args=[posts[5].pk]))

    prefixes = [_prefix_of_view(reader, post) for post in posts]
    assert prefixes == [fingerprints.network_prefix(ip=address) for address in [*addresses, "203.0.113.77"]]
    assert prefixes[0] == prefixes[1] == prefixes[5] and prefixes[2] == prefixes[3]
    assert len({prefixes[0], prefixes[2], prefixes[4]}) == 3 and None not in prefixes
    assert len(set(Engagement.objects.filter(actor=reader).values_list("fingerprint", flat=True))) == 6


def test_follows_and_signed_out_events_carry_the_network_prefix():
    follower, followee, post = UserFactory(), UserFactory(), PostFactory()
    app = Client(REMOTE_ADDR="203.0.113.9")
    app.force_login(follower)
    assert app.post(reverse("api:follow", args=[followee.username])).status_code in {200, 201}
    Client(REMOTE_ADDR="203.0.113.10").post(reverse("api:view", args=[post.pk]))

    expected = fingerprints.network_prefix(ip="203.0.113.1")
    follow = Engagement.objects.get(kind=Engagement.Kind.FOLLOW, actor=follower)
    signed_out = Engagement.objects.get(kind=Engagement.Kind.VIEW, actor__isnull=True, post=post)
    assert follow.network_prefix == signed_out.network_prefix == expected
    assert follow.fingerprint != signed_out.fingerprint
