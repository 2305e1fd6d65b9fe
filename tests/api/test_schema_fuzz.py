"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Every operation of /api/v1/schema/ gets its documented examples, boundary ("coverage") cases and
random valid and invalid requests, as a signed-in user, against a small seeded community. Two
passes: one with random ids and names in the paths (mostly unknown objects), one with the paths
pinned to real objects so the requests reach the services. No response may be a server error,
and every response must be one the schema documents, in the shape it documents.
"""

from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from creators.models import ApiToken
from creators.tokens import issue_api_token
from orbit.wsgi import application
from tests.factories import AssetFactory, CommentFactory, FollowFactory, PostFactory, TradeCardFactory, UserFactory

load_all_checks()

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request):
    # schemathesis' pytest loader reads and renames `node._nodeid`, which pytest 9.2 no longer has
    # (it keeps `nodeid`); give it the attribute it expects.
    request.node._nodeid = request.node.nodeid


@pytest.fixture
def in_test_transaction():
    """Serve the WSGI app inside the test's transaction, as Django's test client does.

    Django closes "old" connections when a request starts and ends; inside the test transaction
    that would close the test's own connection, so the test client disconnects the handler, and
    so do we."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def community(settings):
    # The fuzzer posts and reacts far faster than a person: the budgets must not hide deeper paths.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: "100000/hour" for scope in ("post", "comment", "react", "follow")},
    }
    AssetFactory(symbol="BTC", name="Bitcoin")
    AssetFactory(symbol="ETH", name="Ether")
    fuzzer, other = UserFactory(username="fuzzer"), UserFactory(username="other")
    FollowFactory(follower=fuzzer, followee=other)
    FollowFactory(follower=other, followee=fuzzer)
    # Published: linked to $BTC and #macro, @fuzzer notified.
    theirs = PostFactory(author=other, body="$BTC to the moon #macro @fuzzer")
    TradeCardFactory(post=theirs, instrument="BTC-USDT", side="long", entry_price=Decimal("60000"))
    CommentFactory(post=theirs, author=other, body="first")
    PostFactory.create_batch(3, author=fuzzer)
    token, key = issue_api_token(user=fuzzer, name="fuzzer")
    return {"token": key, "token_id": token.pk, "user": fuzzer, "post_id": theirs.pk, "username": other.username}


def load_schema(community, parameters=None):
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Token {community['token']}"},
            "generation": {"max-examples": 15, "deterministic": True},
            "phases": {"stateful": {"enabled": False}},
            **({"parameters": parameters} if parameters else {}),
        }
    )
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=config)


@pytest.fixture
def api_schema(community, in_test_transaction):
    return load_schema(community)


@pytest.fixture
def api_schema_on_real_objects(community, in_test_transaction):
    return load_schema(
        community,
        {
            "post_id": community["post_id"],
            "username": community["username"],
            "symbol": "BTC",
            "name": "macro",
            "token_id": community["token_id"],
        },
    )


fuzz_settings = settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def call_as_the_fuzzer(case, community):
    try:
        case.call_and_validate(checks=CHECKS)
    finally:
        # DELETE /auth/token/ (or /auth/tokens/<id>/) revokes the fuzzer's token; restore it for the next case.
        ApiToken.objects.filter(pk=community["token_id"]).update(revoked_at=None)


@schemathesis.pytest.from_fixture("api_schema").parametrize()
@fuzz_settings
def test_no_request_makes_a_server_error(case, community):
    call_as_the_fuzzer(case, community)


@schemathesis.pytest.from_fixture("api_schema_on_real_objects").parametrize()
@fuzz_settings
def test_no_request_on_real_objects_makes_a_server_error(case, community):
    call_as_the_fuzzer(case, community)
