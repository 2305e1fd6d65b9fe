import pytest
from django.conf import settings

from ranking import feeds
from ranking.tagging import Tagger, TrainingResult, store_tagger, train


@pytest.fixture(scope="session")
def tagger_training() -> TrainingResult:
    """The tagger trained on the shipped corpus, once per test run (a few seconds)."""
    return train()


@pytest.fixture
def trained_tagger(db, tagger_training) -> Tagger:
    """The trained tagger, stored and active in this test's database."""
    store_tagger(result=tagger_training)
    return tagger_training.tagger


def forget_this_runs_redis_keys():
    """Delete this test run's keys only (its own prefix): other runs share the Redis server, so no
    FLUSHDB. Ready lists and cached weights outlive a test's database rollback otherwise."""
    client = feeds.redis_client()
    for key in client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000):
        client.delete(key)


@pytest.fixture(autouse=True)
def _no_lists_or_cached_weights_from_other_tests():
    forget_this_runs_redis_keys()
    yield
    forget_this_runs_redis_keys()
