"""Content-Security-Policy on every page; HSTS, nosniff and a referrer policy in production."""

import re

import pytest
from csp.constants import NONCE
from django.conf import settings
from django.test import Client
from django.urls import reverse

from feed.models import Comment
from markets.models import Asset
from orbit.api_urls import REDOC_LOADING_STYLES
from tests.factories import PostFactory, UserFactory

from .helpers import activate_totp, client_from_new_ip, run_in_production, sign_in_with_code

# What Orbit's pages need and nothing more (orbit/settings.py, CONTENT_SECURITY_POLICY).
SITE_POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
}
EXCHANGE_ORIGIN = "https://www.example-exchange.com"
# What the policy forbids and so no page may contain: a script or style written into the page,
# a style attribute, an event-handler attribute.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=\"application/(?:ld\+)?json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+=", re.IGNORECASE)


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_site_policy(response) -> None:
    """The response sends exactly the site's policy, and its page needs nothing the policy forbids.

    Pages with a trade button (every feed page) may also post to the exchange: its redirect is
    checked against form-action (feed/views.py, web_view)."""
    policy = policy_of(response)
    assert set(policy.pop("form-action")) <= {"'self'", EXCHANGE_ORIGIN}
    assert policy == {name: values for name, values in SITE_POLICY.items() if name != "form-action"}
    content = response.content.decode()
    for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER):
        found = pattern.search(content)
        assert not found, f"{response.request['PATH_INFO']}: {content[found.start() : found.start() + 120]}"


@pytest.fixture
def community(db):
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin")
    post = PostFactory(body="$BTC above the weekly open #btc")
    post.assets.add(btc)
    Comment.objects.create(post=post, author=UserFactory(), body="Agreed")
    return post


@pytest.mark.django_db
def test_public_and_account_pages_send_exactly_the_site_policy(community):
    client = client_from_new_ip()
    for url in [
        reverse("feed:latest"),
        reverse("feed:post", args=[community.pk]),
        reverse("feed:asset", args=["BTC"]),
        reverse("feed:profile", args=[community.author.username]),
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
        reverse("healthz"),
    ]:
        response = client.get(url)
        assert response.status_code in (200, 503), url
        assert_site_policy(response)


@pytest.mark.django_db
def test_signed_in_pages_send_exactly_the_site_policy(community):
    member = UserFactory()
    client = client_from_new_ip()
    client.force_login(member)
    for url in [
        reverse("feed:following"),
        reverse("ranking:for_you"),
        reverse("feed:search") + "?q=btc",
        reverse("feed:notifications"),
        reverse("feed:compose"),
        reverse("feed:profile", args=[member.username]),
        reverse("incentives:statement"),
        reverse("creators:edit_profile"),
        reverse("account_change_password"),
        reverse("account_email"),
        reverse("account_logout"),
        reverse("mfa_index"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_site_policy(response)


@pytest.mark.django_db
def test_admin_pages_send_exactly_the_site_policy_without_any_relaxation(community):
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
        assert_site_policy(response)


@pytest.mark.django_db
def test_the_policy_promises_no_nonce_because_no_page_has_an_inline_script(community):
    """No template writes a script or style into the page, so the policy allows none: a nonce
    would be a promise no page uses (django-csp adds it only when a template reads it)."""
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert all(NONCE not in sources for sources in directives.values() if isinstance(sources, list))
    client = client_from_new_ip()
    for url in [reverse("feed:latest"), reverse("feed:post", args=[community.pk]), reverse("account_login")]:
        response = client.get(url)
        assert "nonce" not in response["Content-Security-Policy"]
        assert "nonce=" not in response.content.decode()
        assert_site_policy(response)


@pytest.mark.django_db
def test_the_api_and_swagger_send_the_site_policy_and_only_redoc_adds_its_styles_and_worker():
    client = client_from_new_ip()
    assert_site_policy(client.get(reverse("api:latest")))
    assert_site_policy(client.get(reverse("api:docs")))

    redoc = client.get(reverse("api:redoc"))
    policy = policy_of(redoc)
    nonce = re.search(r'<script src="[^"]+/redoc-init\.js" nonce="([^"]+)"', redoc.content.decode())[1]
    assert policy.pop("style-src") == ["'self'", f"'nonce-{nonce}'", *REDOC_LOADING_STYLES]
    assert policy.pop("worker-src") == ["blob:"]
    assert policy == {name: values for name, values in SITE_POLICY.items() if name != "style-src"}
    assert not INLINE_SCRIPT.search(redoc.content.decode())  # Redoc starts from a file, redoc-init.js


@pytest.mark.django_db
def test_the_api_docs_pages_load_swagger_and_redoc_from_our_own_static_files():
    client = client_from_new_ip()
    swagger = client.get(reverse("api:docs")).content.decode()
    redoc = client.get(reverse("api:redoc")).content.decode()
    for page in (swagger, redoc):
        assert not re.findall(r"(?:https?:)?//[^\s\"']+", page), "the docs page names another origin"
    assert f"{settings.STATIC_URL}drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in swagger
    assert f"{settings.STATIC_URL}drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc
    # The split view's init script is a request of its own, from our origin.
    init_script = client.get(reverse("api:docs"), {"script": ""})
    assert init_script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in init_script.content.decode()


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
    answer = run_in_production(PRODUCTION_PROBE)

    headers = answer["secure"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "object-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert answer["plain"] == [301, "https://orbit.example.com/admin/"]


def test_production_policy_upgrades_insecure_requests_over_https_and_reports_where_configured():
    def production_policy(**variables):
        return policy_of(
            {
                "Content-Security-Policy": run_in_production(PRODUCTION_PROBE, **variables)["secure"][
                    "Content-Security-Policy"
                ]
            }
        )

    https_only = production_policy()
    plain_http = production_policy(SECURE_SSL_REDIRECT="0")  # docker-compose on localhost
    reporting = production_policy(CSP_REPORT_URI="https://reports.example.com/csp")

    assert https_only.pop("upgrade-insecure-requests") == []
    assert https_only == SITE_POLICY
    assert plain_http == SITE_POLICY
    assert reporting.pop("report-uri") == ["https://reports.example.com/csp"]


@pytest.mark.django_db
def test_development_does_not_send_hsts():
    # HSTS on a developer's localhost would pin it to https for a year.
    response = Client().get(reverse("account_login"), secure=True)
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
