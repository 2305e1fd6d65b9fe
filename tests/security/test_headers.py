"""Content-Security-Policy on every page; HSTS, nosniff and a referrer policy in production."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from feed.models import Asset, Comment
from tests.factories import PostFactory, UserFactory

from .helpers import activate_totp, client_from_new_ip, sign_in_with_code

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)([^>]*)>", re.IGNORECASE)


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_policy(response, *, scripts_only_ours: bool = True) -> None:
    policy = policy_of(response)
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    script_src = policy["script-src"]
    assert "'self'" in script_src
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    if scripts_only_ours:
        assert all(source == "'self'" or source.startswith("'nonce-") for source in script_src), script_src
    # Any inline script of the page carries this response's nonce; nothing else could run.
    nonces = {source[len("'nonce-") : -1] for source in script_src if source.startswith("'nonce-")}
    content = response.content.decode()
    for attributes in INLINE_SCRIPT.findall(content):
        if 'type="application/json"' in attributes or 'type="application/ld+json"' in attributes:
            continue  # data, never run
        found = re.search(r'nonce="([^"]+)"', attributes)
        assert found and found[1] in nonces, f"inline <script{attributes}> without this response's nonce"


@pytest.fixture
def community(db):
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin")
    post = PostFactory(body="$BTC above the weekly open #btc")
    post.assets.add(btc)
    Comment.objects.create(post=post, author=UserFactory(), body="Agreed")
    return post


@pytest.mark.django_db
def test_public_and_account_pages_send_a_strict_policy(community):
    client = client_from_new_ip()
    for url in [
        reverse("feed:latest"),
        reverse("feed:post", args=[community.pk]),
        reverse("feed:asset", args=["BTC"]),
        reverse("creators:profile", args=[community.author.username]),
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
        reverse("healthz"),
    ]:
        response = client.get(url)
        assert response.status_code in (200, 503), url
        assert_strict_policy(response)


@pytest.mark.django_db
def test_signed_in_pages_send_a_strict_policy(community):
    member = UserFactory()
    client = client_from_new_ip()
    client.force_login(member)
    for url in [
        reverse("feed:following"),
        reverse("feed:notifications"),
        reverse("feed:compose"),
        reverse("creators:edit_profile"),
        reverse("account_change_password"),
        reverse("account_email"),
        reverse("account_logout"),
        reverse("mfa_index"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_policy(response)


@pytest.mark.django_db
def test_admin_pages_send_a_strict_policy_without_any_relaxation(community):
    staff = UserFactory(is_staff=True, is_superuser=True)
    secret = activate_totp(staff)
    client = client_from_new_ip()
    sign_in_with_code(client, staff.username, secret)
    for url in [
        reverse("admin:index"),
        reverse("admin:feed_report_changelist"),
        reverse("admin:feed_post_changelist"),
        reverse("admin:feed_post_change", args=[community.pk]),
        reverse("admin:creators_user_changelist"),
        reverse("admin:feed_moderationaction_changelist"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_policy(response)


@pytest.mark.django_db
def test_the_api_sends_the_policy_and_only_its_docs_page_allows_the_swagger_cdn():
    client = client_from_new_ip()
    assert_strict_policy(client.get(reverse("api:latest")))
    docs = client.get(reverse("api:docs"))
    assert_strict_policy(docs, scripts_only_ours=False)
    assert policy_of(docs)["script-src"] == ["'self'", "https://cdn.jsdelivr.net"]


def test_a_page_that_uses_the_nonce_gets_it_in_its_policy():
    """The nonce reaches the header (settings must use django-csp's NONCE marker, not a string)."""

    def page(request):
        return HttpResponse(f'<script nonce="{request.csp_nonce}">start()</script>')

    response = CSPMiddleware(page)(RequestFactory().get("/"))

    nonce = re.search(r'nonce="([^"]+)"', response.content.decode())[1]
    assert f"'nonce-{nonce}'" in policy_of(response)["script-src"]
    assert "'nonce'" not in policy_of(response)["script-src"]


PRODUCTION_PROBE = """
import json
import django
django.setup()
from django.test import Client
client = Client()
secure = client.get("/admin/", secure=True, headers={"host": "orbit.example.com"})
plain = client.get("/admin/", headers={"host": "orbit.example.com"})
print(json.dumps({"secure": dict(secure.headers), "plain": [plain.status_code, plain.headers.get("Location")]}))
"""


def test_production_sends_hsts_nosniff_a_referrer_policy_and_redirects_to_https():
    environ = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    environ.update(
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="orbit.settings",
        SECRET_KEY="a-long-random-production-secret-" + "x7Qp2" * 10,
        ALLOWED_HOSTS="orbit.example.com",
    )
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])

    headers = answer["secure"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "object-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert answer["plain"] == [301, "https://orbit.example.com/admin/"]


@pytest.mark.django_db
def test_development_does_not_send_hsts():
    # HSTS on a developer's localhost would pin it to https for a year.
    response = Client().get(reverse("account_login"), secure=True)
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
