import pytest

from feed.services import publish_post, report_post
from markets.models import Asset
from tests.factories import UserFactory


@pytest.fixture
def case(db):
    """A reported post: its author, the reporter, a moderator and the open report."""
    Asset.objects.create(symbol="BTC", name="Bitcoin")
    author = UserFactory(username="pumper")
    reporter = UserFactory(username="watcher")
    moderator = UserFactory(username="mod", is_staff=True)
    post = publish_post(author=author, body="$BTC to the moon, buy now!!! #pump", content_type="chat")
    report = report_post(reporter=reporter, post_id=post.pk, reason="manipulation", details="Classic pump")
    return {"author": author, "reporter": reporter, "moderator": moderator, "post": post, "report": report}
