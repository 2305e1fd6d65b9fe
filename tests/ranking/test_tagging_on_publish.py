"""A real Celery worker tags a newly published post and puts it in followers' ready lists."""

import time

import pytest

from creators import services as people
from feed import services as feed_services
from ranking import feeds, for_you
from ranking.models import PostTags
from tests.ranking.world import creator, reader
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_worker_tags_a_new_post_and_followers_see_it_within_seconds(trained_tagger, celery_worker):
    fan = reader("fan", trades=["ETH"])
    author = creator("author")
    people.follow_user(follower=fan, username="author")
    feeds.build_for_you(user_id=fan.pk)  # the fan's list exists before the post

    began = time.monotonic()
    post = feed_services.publish_post(
        author=author,
        body="**Beginner guide**: how to read funding rates on $ETH perpetuals before you open a position.",
        content_type="education",
    )

    assert wait_for(lambda: PostTags.objects.filter(post=post).exists(), seconds=15), "the worker never tagged the post"
    tags = PostTags.objects.get(post=post)
    assert tags.model_version == trained_tagger.version
    assert "ETH" in tags.assets
    assert tags.language == "en"
    assert wait_for(
        lambda: for_you.for_you_page(user=fan).items[:1] and for_you.for_you_page(user=fan).items[0].pk == post.pk
    )
    first = for_you.for_you_page(user=fan).items[0]
    assert first.why.code == "follow"
    assert time.monotonic() - began < 15
    feeds.drop_list(user_id=fan.pk)


@pytest.mark.django_db
def test_without_a_trained_tagger_tagging_waits_instead_of_failing(caplog):
    from ranking import tasks
    from tests.factories import PostFactory

    post = PostFactory()

    assert tasks.tag_post(post.pk) == 0
    assert tasks.tag_untagged() == 0
    assert not PostTags.objects.exists()
    assert "train_tagger" in caplog.text
