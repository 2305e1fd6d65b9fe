"""Stored and reflected XSS: script and HTML in every text a person can write render inert on
every page that shows them: no script from user text, no event-handler attribute, no
javascript:/data: link, no template evaluation."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from creators.models import User
from creators.services import follow_user, update_profile
from feed.models import Report
from feed.services import comment_on_post, publish_post, report_post
from markets.models import Asset
from tests.factories import PostFactory, UserFactory

from .helpers import activate_totp, new_ip, sign_in_with_code

pytestmark = pytest.mark.django_db

MARK = "xssmark"
PAYLOADS = [
    '<script>alert("x1")</script>',
    '<img src=x onerror=alert("x2")>',
    '[click me](javascript:alert("x3"))',
    "[click me](JaVaScRiPt:alert('x4'))",
    '[spaced](java\tscript:alert("x5"))',
    '<svg onload=alert("x6")>',
    '"><script>alert("x7")</script>',
    "'><img src=x onerror=alert('x8')>",
    '" onmouseover="alert(\'x9\')" x="',
    "{{7*7}}xq {% debug %}",
    "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](javascript:alert('x10'))",
    "&lt;script&gt;alert('x11')&lt;/script&gt; &#60;img src=x onerror=alert('x12')&#62;",
    "<a href=\"jav&#x09;ascript:alert('x13')\">entity tab</a>",
    "<iframe src=\"javascript:alert('x14')\"></iframe>",
    '<a href="#" style="background:url(javascript:alert(15))" onclick="alert(\'x16\')">styled</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('x17')>",
    "`<script>alert('x18')</script>` and ```\n<script>alert('x19')</script>\n```",
]
BODY = f"{MARK} $BTC #xsstag\n\n" + "\n\n".join(PAYLOADS)
SHORT_NAME = "\"><svg onload=alert('n')>"  # display names are at most 50 characters

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcset"}
FORBIDDEN_TAGS = {"iframe", "frame", "object", "embed", "base", "applet"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False
        self.script_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
            if name in URL_ATTRIBUTES and value:
                # Browsers ignore tabs, newlines and controls inside a URL scheme.
                scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                if scheme.startswith(("javascript:", "vbscript:")):
                    self.problems.append(f"<{tag} {name}={value!r}> script URL")
                if scheme.startswith("data:") and not (tag == "img" and scheme.startswith("data:image/")):
                    self.problems.append(f"<{tag} {name}={value!r}> data URL")
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
            self.problems.append("<meta http-equiv=refresh>")
        if tag == "script":
            attributes = dict(attrs)
            if not (attributes.get("src", "") or "").startswith("/") and "nonce" not in attributes:
                self.problems.append(f"<script {attributes}> neither ours nor nonced")
            self.in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.script_text.append(data)


def assert_inert(response, *, expect_marker: str | None = MARK) -> None:
    html = response.content.decode()
    page = _Page()
    page.feed(html)
    page.close()
    where = response.request["PATH_INFO"]
    assert not page.problems, f"{where}: {page.problems}"
    assert "alert(" not in "".join(page.script_text), f"{where}: user text inside a script"
    assert "49xq" not in html, f"{where}: template syntax in user text was evaluated"
    if expect_marker:
        assert expect_marker in html, f"{where}: the page does not show the text under test"


@pytest.fixture
def stored():
    """Payloads in every field a person writes: post, comment, reply, bio, display name, report."""
    Asset.objects.create(symbol="BTC", name="Bitcoin")
    victim = UserFactory(username="victim")
    mallory = UserFactory(username="mallory")
    update_profile(user=mallory, display_name=SHORT_NAME, bio=f"{MARK} bio " + " ".join(PAYLOADS)[:480])
    post = publish_post(author=mallory, body=f"{BODY}\n\n@victim", content_type="analysis")
    victims_post = PostFactory(author=victim, body=f"{MARK} an ordinary post by the victim")
    comment = comment_on_post(author=mallory, post_id=victims_post.pk, body=f"{MARK} " + "\n".join(PAYLOADS))
    comment_on_post(author=victim, post_id=victims_post.pk, body="reply", parent_id=comment.pk)
    comment_on_post(author=mallory, post_id=victims_post.pk, body=f"{MARK} {PAYLOADS[1]}", parent_id=comment.pk)
    follow_user(follower=mallory, username="victim")
    report_post(reporter=victim, post_id=post.pk, reason="scam", details=f"{MARK} " + " ".join(PAYLOADS))
    return {"victim": victim, "mallory": mallory, "post": post, "victims_post": victims_post}


def _reader(user=None) -> Client:
    client = Client(REMOTE_ADDR=new_ip())
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "member"])
def test_payloads_render_inert_on_every_public_page(stored, signed_in):
    client = _reader(stored["victim"] if signed_in else None)
    pages = [
        reverse("feed:latest"),
        reverse("feed:post", args=[stored["post"].pk]),
        reverse("feed:post", args=[stored["victims_post"].pk]),
        reverse("feed:profile", args=["mallory"]),
        reverse("creators:followers", args=["victim"]),
        reverse("feed:asset", args=["BTC"]),
        reverse("feed:hashtag", args=["xsstag"]),
        f"{reverse('feed:search')}?q={MARK}",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_inert(response)


def test_payloads_render_inert_in_notifications(stored):
    response = _reader(stored["victim"]).get(reverse("feed:notifications"))

    assert response.status_code == 200
    assert_inert(response, expect_marker="mallory")


def test_display_name_and_bio_render_escaped(stored):
    page = _reader().get(reverse("feed:profile", args=["mallory"])).content.decode()

    assert "&quot;&gt;&lt;svg onload=alert(&#x27;n&#x27;)&gt;" in page
    assert "&lt;script&gt;alert(&quot;x1&quot;)&lt;/script&gt;" in page


def test_people_search_renders_names_inert(stored):
    response = _reader().get(f"{reverse('feed:search')}?q=mallory")

    assert response.status_code == 200
    assert_inert(response, expect_marker="mallory")


@pytest.mark.parametrize("payload", [PAYLOADS[0], PAYLOADS[1], PAYLOADS[6], PAYLOADS[8], PAYLOADS[9]])
def test_text_typed_into_search_tags_and_assets_is_reflected_inert(stored, payload):
    client = _reader(stored["victim"])
    for url in [
        f"{reverse('feed:search')}?q={quote(payload)}",
        reverse("feed:hashtag", args=["x"]).replace("/x/", f"/{quote(payload, safe='')}/"),
        reverse("feed:asset", args=["X"]).replace("/X/", f"/{quote(payload, safe='')}/"),
    ]:
        response = client.get(url)
        assert response.status_code in (200, 400, 404), url
        assert_inert(response, expect_marker=None)


def test_admin_moderation_pages_render_payloads_inert(stored):
    staff = UserFactory(is_staff=True, is_superuser=True)
    EmailAddress.objects.create(user=staff, email=staff.email, primary=True, verified=True)
    secret = activate_totp(staff)
    client = Client(REMOTE_ADDR=new_ip())
    sign_in_with_code(client, staff.username, secret)
    report = Report.objects.get()
    for url in [
        reverse("admin:feed_post_changelist"),
        reverse("admin:feed_post_change", args=[stored["post"].pk]),
        reverse("admin:feed_report_changelist"),
        reverse("admin:feed_report_change", args=[report.pk]),
        reverse("admin:feed_comment_changelist"),
        reverse("admin:creators_user_change", args=[stored["mallory"].pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_inert(response, expect_marker=None)
    assert MARK in client.get(reverse("admin:feed_report_changelist")).content.decode()


def test_usernames_with_markup_are_refused_at_sign_up():
    client = Client(REMOTE_ADDR=new_ip())
    for username in ["<script>", '"onmouseover=x', "a'b", "x<y"]:
        response = client.post(
            reverse("account_signup"),
            {
                "username": username,
                "email": "markup@example.com",
                "password1": "correct horse battery staple",
                "password2": "correct horse battery staple",
            },
        )
        assert response.status_code == 200, username
        assert_inert(response, expect_marker=None)
    assert not User.objects.filter(email="markup@example.com").exists()
