"""Offline evaluation: the metrics by hand, who and what counts, and the command on seeded data."""

import json
import math
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from creators.models import Block, Follow, Mute
from feed.models import Engagement, Post
from ranking import evaluation
from ranking.evaluation import Audience, catalogue_coverage, gini, ndcg_at, recall_at
from tests.ranking.world import creator, reader, tagged_post

pytestmark = pytest.mark.django_db

Kind = Engagement.Kind
HORIZON = timedelta(days=3)


def engage(actor, post, kind, at, *, dwell_ms=0):
    return Engagement.objects.create(
        actor=actor, post=post, creator=post.author, kind=kind, occurred_at=at, dwell_ms=dwell_ms
    )


def history(user, posts, at):
    """Views before the cut-off, so the user counts as having history (and has seen these posts)."""
    for post in posts:
        engage(user, post, Kind.VIEW, at)


# --- Metrics by hand ---------------------------------------------------------------------------


def test_ndcg_weighs_graded_relevance_by_position():
    grades = {"trade": 3, "dwell": 1}

    # DCG = (2^1 - 1)/log2(2) + 0 + (2^3 - 1)/log2(4) = 1 + 3.5; ideal = 7/log2(2) + 1/log2(3).
    assert ndcg_at(["dwell", "unseen", "trade"], grades, 3) == pytest.approx(4.5 / (7 + 1 / math.log2(3)))
    assert ndcg_at(["trade", "dwell", "unseen"], grades, 3) == pytest.approx(1.0)
    # Only the first k count: the trade click in third place is cut off at k = 2, not from the ideal.
    assert ndcg_at(["dwell", "unseen", "trade"], grades, 2) == pytest.approx(1 / (7 + 1 / math.log2(3)))
    assert ndcg_at(["trade"], {}, 10) == 0.0


def test_recall_counts_relevant_posts_found_in_the_first_n():
    assert recall_at([1, 2, 3, 4], {2, 4, 9}, 2) == pytest.approx(1 / 3)
    assert recall_at([1, 2, 3, 4], {2, 4, 9}, 4) == pytest.approx(2 / 3)
    assert recall_at([1, 2], set(), 50) == 0.0


def test_gini_is_zero_for_equal_impressions_and_near_one_when_one_creator_has_them_all():
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 12]) == pytest.approx(0.75)  # (n - 1) / n, the most unequal for 4 creators
    assert gini([3, 1]) == pytest.approx(0.25)
    assert gini([]) == gini([0, 0]) == 0.0


def test_catalogue_coverage_counts_distinct_posts_in_the_top_k():
    assert catalogue_coverage([[1, 2, 3], [2, 4, 5]], k=2, available=10) == pytest.approx(0.3)
    assert catalogue_coverage([[1]], k=10, available=0) == 0.0


# --- Who and what counts -----------------------------------------------------------------------


def test_ground_truth_is_positive_engagement_after_the_cutoff_on_unseen_posts_of_others():
    now = timezone.now()
    cutoff = now - timedelta(days=2)
    after, before = cutoff + timedelta(hours=5), cutoff - timedelta(hours=5)
    alice = reader("alice")
    writer, muted = creator("writer"), creator("muted_writer")
    Mute.objects.create(user=alice, target=muted)

    def post(**kwargs):
        return tagged_post(kwargs.pop("author", writer), hours_ago=kwargs.pop("hours_ago", 60), **kwargs)

    liked = post()
    traded_and_liked = post()
    long_read, short_read, only_viewed = post(), post(), post()
    seen_before, liked_before = post(), post()
    own = post(author=alice)
    published_after = post(hours_ago=20)
    too_late = post()
    by_muted_author = post(author=muted)
    removed = post()
    Post.objects.filter(pk=removed.pk).update(status=Post.Status.HIDDEN)

    history(alice, [seen_before, *(post() for _ in range(4))], before)
    engage(alice, liked_before, Kind.LIKE, before)
    for target in (liked, seen_before, liked_before, own, published_after, by_muted_author, removed):
        engage(alice, target, Kind.LIKE, after)
    engage(alice, traded_and_liked, Kind.LIKE, after)
    engage(alice, traded_and_liked, Kind.TRADE_CLICK, after)
    engage(alice, long_read, Kind.DWELL, after, dwell_ms=12_000)
    engage(alice, short_read, Kind.DWELL, after, dwell_ms=5_000)
    engage(alice, only_viewed, Kind.VIEW, after)
    engage(alice, too_late, Kind.LIKE, cutoff + HORIZON + timedelta(minutes=1))
    audience = Audience(user_ids=[alice.pk], cutoff=cutoff, horizon=HORIZON, list_length=50)

    truth = evaluation.ground_truth(audience)

    assert truth == {alice.pk: {liked.pk: 2, traded_and_liked.pk: 3, long_read.pk: 1}}


def test_only_users_with_positive_engagement_after_and_history_before_the_cutoff_are_sampled():
    now = timezone.now()
    cutoff = now - timedelta(days=2)
    writer = creator("writer")
    posts = [tagged_post(writer, hours_ago=60) for _ in range(7)]
    regular, newcomer, lurker = reader("regular"), reader("newcomer"), reader("lurker")
    history(regular, posts[:5], cutoff - timedelta(hours=1))
    history(lurker, posts[:5], cutoff - timedelta(hours=1))
    for user in (regular, newcomer):  # the newcomer has no history before the cut-off
        engage(user, posts[6], Kind.LIKE, cutoff + timedelta(hours=1))
    engage(lurker, posts[6], Kind.VIEW, cutoff + timedelta(hours=1))  # a view is not relevance

    candidates = evaluation.candidate_users(cutoff=cutoff, horizon=HORIZON)

    assert candidates == [regular.pk]
    assert evaluation.sample_users(range(100), size=10, seed=3) == evaluation.sample_users(
        list(reversed(range(100))), size=10, seed=3
    )
    assert len(evaluation.sample_users(range(5), size=10, seed=3)) == 5


def test_baselines_list_only_what_the_user_may_see_newest_or_most_engaged_first():
    now = timezone.now()
    cutoff = now - timedelta(days=1)
    alice, fans = reader("alice"), [reader(f"fan{n}") for n in range(3)]
    writer, blocker = creator("writer"), creator("blocker")
    Block.objects.create(user=blocker, target=alice)
    oldest, older, newer = (tagged_post(writer, hours_ago=hours) for hours in (40, 35, 30))
    seen = tagged_post(writer, hours_ago=28)
    tagged_post(alice, hours_ago=27)  # her own
    blocked_out = tagged_post(blocker, hours_ago=26)
    removed = tagged_post(writer, hours_ago=25)
    Post.objects.filter(pk=removed.pk).update(status=Post.Status.DELETED, deleted_at=now)
    tagged_post(writer, hours_ago=2)  # published after the cut-off
    engage(alice, seen, Kind.VIEW, cutoff - timedelta(hours=1))
    moment = cutoff - timedelta(hours=3)
    for fan in fans:  # popularity: older 3 likes, oldest 1, and creators' own likes do not count
        engage(fan, older, Kind.LIKE, moment)
        engage(fan, seen, Kind.LIKE, moment)
        engage(fan, blocked_out, Kind.LIKE, moment)
    engage(fans[0], oldest, Kind.LIKE, moment)
    engage(writer, newer, Kind.LIKE, moment)
    audience = Audience(user_ids=[alice.pk], cutoff=cutoff, horizon=HORIZON, list_length=10)

    assert evaluation.chronological(audience) == {alice.pk: [newer.pk, older.pk, oldest.pk]}
    assert evaluation.popularity(audience) == {alice.pk: [older.pk, oldest.pk]}


# --- Rankers compared --------------------------------------------------------------------------


def follows_first(audience: Audience) -> dict[int, list[int]]:
    """A ranker that knows whom each user follows: their posts first, then everyone's, newest first."""
    lists = {}
    newest = list(
        Post.objects.filter(status=Post.Status.PUBLISHED, created_at__lte=audience.cutoff)
        .order_by("-created_at", "-pk")
        .values_list("pk", "author_id")
    )
    for user_id in audience.user_ids:
        followed = set(Follow.objects.filter(follower_id=user_id).values_list("followee_id", flat=True))
        ranked = sorted(newest, key=lambda row: row[1] not in followed)  # stable: newest first within each part
        lists[user_id] = [pk for pk, author_id in ranked if author_id != user_id][: audience.list_length]
    return lists


def test_a_ranker_that_knows_follows_beats_chronological_when_people_read_whom_they_follow():
    now = timezone.now()
    cutoff = now - timedelta(days=2)
    writers = [creator(f"writer{n}") for n in range(4)]
    # Every writer posts every two hours for a day before the cut-off: 48 posts, mixed in time.
    posts = {
        writer.pk: [tagged_post(writer, hours_ago=49 + 2 * hour + n / 4) for hour in range(12)]
        for n, writer in enumerate(writers)
    }
    archive = creator("archive")  # nobody follows it: its old posts give every reader history
    old = [tagged_post(archive, hours_ago=100) for _ in range(5)]
    readers = [reader(f"reader{n}") for n in range(4)]
    for n, user in enumerate(readers):
        Follow.objects.create(follower=user, followee=writers[n])
        history(user, old, cutoff - timedelta(days=1))
        # After the cut-off each reader likes three posts of the writer they follow.
        for post in posts[writers[n].pk][3:6]:
            engage(user, post, Kind.LIKE, cutoff + timedelta(hours=4))

    result = evaluation.evaluate(
        cutoff=cutoff,
        horizon=HORIZON,
        users=10,
        k=10,
        recall_at_n=50,
        seed=1,
        rankers={"follows": follows_first, "chronological": evaluation.chronological},
    )

    scores = {row.name: row for row in result.results}
    assert result.users == 4
    assert scores["follows"].ndcg > scores["chronological"].ndcg
    assert scores["follows"].ndcg == pytest.approx(
        ndcg_at([0, 1, 2, 3, 4, 5], {3: 2, 4: 2, 5: 2}, 10)  # its likes sit 4th to 6th in each list
    )
    assert scores["follows"].creators == 4


def test_posts_a_ranker_may_not_show_are_dropped_before_scoring():
    now = timezone.now()
    cutoff = now - timedelta(days=2)
    writer = creator("writer")
    alice = reader("alice")
    seen = [tagged_post(writer, hours_ago=60) for _ in range(5)]
    fresh = tagged_post(writer, hours_ago=55)
    history(alice, seen, cutoff - timedelta(hours=1))
    engage(alice, fresh, Kind.SHARE, cutoff + timedelta(hours=1))
    engage(alice, seen[0], Kind.SHARE, cutoff + timedelta(hours=1))

    def careless(audience):
        return {alice.pk: [seen[0].pk, fresh.pk]}

    result = evaluation.evaluate(
        cutoff=cutoff, horizon=HORIZON, users=5, k=10, recall_at_n=50, seed=1, rankers={"careless": careless}
    )

    (row,) = result.results
    assert row.dropped == 1
    assert row.ndcg == pytest.approx(1.0)  # the fresh post, now first, was all there was to find


# --- The command -------------------------------------------------------------------------------


def seed_small_community():
    call_command(
        "seed_demo", "--users=200", "--posts=800", "--events=20000", "--seed=5", "--anchor=2026-03-01T12:00",
        stdout=StringIO(),
    )  # fmt: skip


def test_the_command_prints_orbit_and_both_baselines_with_every_metric(trained_tagger):
    seed_small_community()
    call_command("retag", stdout=StringIO())
    output = StringIO()

    call_command("evaluate_ranking", "--users=25", stdout=output)

    text = output.getvalue()
    assert "cut-off 2026-02-26T" in text  # three days before the last engagement row
    header = next(line for line in text.splitlines() if line.startswith("ranker"))
    for column in ("NDCG@10", "recall@50", "catalogue", "creators", "creator Gini", "education", "s/user"):
        assert column in header
    rows = {line.split()[0] for line in text.splitlines() if line.strip()}
    assert {"orbit", "chronological", "popularity"} <= rows
    assert "25 users evaluated" in text
    assert "retag" not in text  # every post is tagged: no warning


def test_the_command_reports_json_and_the_same_sample_for_the_same_seed_and_warns_about_untagged_posts():
    seed_small_community()  # and no tagger: nothing is tagged

    def run(*options):
        output = StringIO()
        call_command("evaluate_ranking", "--users=15", "--k=5", "--recall-at=20", "--json", *options, stdout=output)
        return json.loads(output.getvalue())

    first, second = run("--seed=9"), run("--seed=9")

    assert [row["name"] for row in first["results"]] == ["orbit", "chronological", "popularity"]
    assert first["users"] == 15 and first["k"] == 5 and first["recall_at"] == 20
    for metric in ("ndcg", "recall", "catalogue_coverage", "creators", "creator_gini", "education_share"):
        assert [row[metric] for row in first["results"]] == [row[metric] for row in second["results"]]
    assert first["warning"] and "retag" in first["warning"]


def test_the_command_on_a_database_without_engagement_says_what_to_do():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("evaluate_ranking", stdout=StringIO())
