"""The tagger's model (issue 17): calibrated confidence, the held-out set written apart and the gate on
it, extra (weak) labels in training, the comparison of candidates, and ranking leaning on confidence."""

import dataclasses
import io
import json
import math
from io import StringIO

import joblib
import numpy as np
import pytest
import sklearn
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ranking import scoring
from ranking.models import PostTags, TaggerModel
from ranking.tagging import (
    ARTIFACT_FORMAT,
    CANDIDATES,
    CORPUS_PATH,
    HeldOutUnavailable,
    Tagger,
    TaggerUnavailable,
    activate_tagger,
    check_extra_posts,
    clean_text,
    compare_models,
    evaluate_held_out,
    features_text,
    load_corpus,
    load_held_out,
    model_version,
    store_tagger,
    train,
)
from tests.ranking.world import creator, reader, tagged_post

# Written for this test, apart from the corpus: plain posts of each type in both languages.
HELD_OUT = [
    {"text": text, "content_type": content_type, "assets": assets, "language": language}
    for text, content_type, assets, language in (
        ("Closed my $ETH long at 3,700 for +8%, stop was at 3,400.", "trade_share", ["ETH"], "en"),
        (
            "What is a funding rate? Perpetual futures pay it every 8 hours between longs and shorts.",
            "education",
            [],
            "en",
        ),
        ("gm everyone, coffee and charts this morning ☕", "chat", [], "en"),
        ("BREAKING: the SEC approved spot $SOL ETFs today, trading starts Monday.", "news", ["SOL"], "en"),
        ("今天在 3700 平了 ETH 多单，盈利 8%，止损设在 3400。", "trade_share", ["ETH"], "zh"),
        ("什么是资金费率？永续合约每 8 小时多空互付一次费用。", "education", [], "zh"),
        ("早上好各位，今天喝咖啡看盘 ☕", "chat", [], "zh"),
        ("突发：美国 SEC 今天批准现货 SOL ETF，周一开始交易。", "news", ["SOL"], "zh"),
    )
]


def write_held_out(path, posts, *, half_written_tail=False):
    text = "".join(json.dumps(post, ensure_ascii=False) + "\n" for post in posts)
    path.write_text(text + ('{"text": "half wri' if half_written_tail else ""), encoding="utf-8")
    return path


def small_corpus(tmp_path, *, every=3):
    """Every third corpus post, whole skeleton groups mixed: trains in about a second."""
    path = tmp_path / "small.jsonl"
    posts = load_corpus(CORPUS_PATH.read_bytes())[::every]
    path.write_text("".join(json.dumps(post, ensure_ascii=False) + "\n" for post in posts), encoding="utf-8")
    return path


# --- Confidence ------------------------------------------------------------------------------


def test_confidence_is_the_calibrated_probability_of_the_chosen_type(tagger_training):
    tagger = tagger_training.tagger
    heads = tagger.heads
    texts = [post["text"] for post in load_corpus(CORPUS_PATH.read_bytes())[::7]] + ["gm", "🚀" * 40]
    tags = tagger.tag(texts)
    scores = heads.content_type.decision_function(
        heads.vectorizer.transform([features_text(clean_text(text)) for text in texts])
    )
    scaled = scores / heads.content_type_temperature
    probabilities = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    assert [tag.confidence for tag in tags] == pytest.approx(probabilities.max(axis=1).tolist(), abs=1e-5)
    assert all(0.0 <= tag.confidence <= 1.0 for tag in tags)
    # Fitted, not left at 1: the linear scores are not probabilities as they come.
    assert heads.content_type_temperature != pytest.approx(1.0, abs=0.05)


def test_confidence_is_calibrated_on_the_corpus_held_out_fold(tagger_training):
    calibration = tagger_training.metrics["calibration"]
    assert calibration["ece"] < 0.06
    assert sum(bin_["posts"] for bin_ in calibration["bins"]) == tagger_training.metrics["split"]["held_out_posts"]
    # Posts it is unsure of are right less often than posts it is sure of.
    unsure = [bin_ for bin_ in calibration["bins"] if bin_["high"] <= 0.7]
    sure = [bin_ for bin_ in calibration["bins"] if bin_["low"] >= 0.9]
    assert unsure and sure
    unsure_accuracy = sum(b["accuracy"] * b["posts"] for b in unsure) / sum(b["posts"] for b in unsure)
    assert unsure_accuracy < sure[0]["accuracy"]


def test_a_format_1_artifact_is_refused_with_a_message_to_retrain():
    older = io.BytesIO()
    joblib.dump({"format": 1, "sklearn": sklearn.__version__, "topics": ()}, older)
    assert ARTIFACT_FORMAT == 2
    with pytest.raises(TaggerUnavailable, match=r"format 1\).*format 2\)\. Run `python manage.py train_tagger`"):
        Tagger.from_bytes(older.getvalue(), version="old")


def test_the_artifact_keeps_the_calibration(tagger_training):
    loaded = Tagger.from_bytes(tagger_training.artifact, version=tagger_training.version)
    texts = ["BTC broke 100k on ETF inflows", "比特币跌破 9 万，多头爆仓"]
    assert [tag.confidence for tag in loaded.tag(texts)] == [
        tag.confidence for tag in tagger_training.tagger.tag(texts)
    ]


@pytest.mark.django_db
def test_train_tagger_if_missing_replaces_an_active_model_this_code_cannot_load(tmp_path):
    older = io.BytesIO()
    joblib.dump({"format": 1, "sklearn": sklearn.__version__}, older)
    TaggerModel.objects.create(version="old-format", corpus_sha256="0" * 64, metrics={}, artifact=older.getvalue())
    activate_tagger(version="old-format")
    stdout = StringIO()
    corpus = small_corpus(tmp_path, every=2)
    call_command(
        "train_tagger", "--if-missing", "--brief", "--corpus", corpus, "--held-out", tmp_path / "none", stdout=stdout
    )
    assert "Training a new one" in stdout.getvalue()
    assert TaggerModel.objects.get(is_active=True).version != "old-format"


# --- The held-out set ------------------------------------------------------------------------


def test_evaluate_held_out_reports_per_language_per_type_assets_and_calibration(tagger_training, tmp_path):
    path = write_held_out(tmp_path / "heldout.jsonl", HELD_OUT, half_written_tail=True)
    posts = load_held_out(path)
    assert len(posts) == len(HELD_OUT)  # the half-written last line is skipped
    figures = evaluate_held_out(tagger_training.tagger, posts)

    assert figures["available"] and figures["posts"] == 8
    assert set(figures["by_language"]) == {"en", "zh"}
    for language in ("en", "zh"):
        by_language = figures["by_language"][language]
        assert by_language["posts"] == 4
        assert set(by_language["content_type"]["f1_per_type"]) == {"trade_share", "education", "chat", "news"}
        assert 0 <= by_language["content_type"]["macro_f1"] <= 1
        assert by_language["assets"]["pairs"] == 2
        assert 0 <= by_language["calibration"]["ece"] <= 1
    # Plain posts of each type: the tagger gets most of them and finds every asset.
    assert figures["content_type"]["accuracy"] >= 0.75
    assert figures["assets"]["f1"] == 1.0
    assert sum(bin_["posts"] for bin_ in figures["calibration"]["bins"]) == 8


def test_a_missing_held_out_set_is_named_and_training_falls_back_to_the_corpus_fold(tmp_path):
    with pytest.raises(HeldOutUnavailable, match="no held-out set at"):
        load_held_out(tmp_path / "absent.jsonl")
    (tmp_path / "garbage.jsonl").write_text("not json\n{}\n")
    with pytest.raises(HeldOutUnavailable, match="holds no usable post"):
        load_held_out(tmp_path / "garbage.jsonl")

    result = train(small_corpus(tmp_path), held_out_path=tmp_path / "absent.jsonl")
    assert result.metrics["held_out_set"] == {
        "available": False,
        "reason": f"no held-out set at {tmp_path / 'absent.jsonl'} (No such file or directory)",
    }


def test_the_gate_uses_each_language_of_the_held_out_set_when_there_is_one(tagger_training):
    held_out_set = evaluate_held_out(tagger_training.tagger, HELD_OUT)
    held_out_set["by_language"]["zh"]["content_type"]["macro_f1"] = 0.5
    held_out_set["by_language"]["en"]["content_type"]["macro_f1"] = 0.9
    held_out_set["by_language"]["en"]["assets"]["f1"] = 0.9
    result = dataclasses.replace(tagger_training, metrics={**tagger_training.metrics, "held_out_set": held_out_set})
    assert result.missed_targets() == [
        "assets f1 0.900 is below 0.95 on the held-out set (en)",
        "content_type macro_f1 0.500 is below 0.85 on the held-out set (zh)",
    ]
    # The corpus fold alone no longer lets a model through.
    assert tagger_training.metrics["content_type"]["macro_f1"] >= 0.85


@pytest.mark.django_db
def test_train_tagger_prints_the_held_out_set_and_refuses_a_language_below_target(tmp_path):
    # The Chinese posts' types rotated: what the model says for them is now wrong.
    chinese = [post for post in HELD_OUT if post["language"] == "zh"]
    rotated = [{**post, "content_type": chinese[(i + 1) % 4]["content_type"]} for i, post in enumerate(chinese)]
    english = [post for post in HELD_OUT if post["language"] == "en"]
    path = write_held_out(tmp_path / "heldout.jsonl", english + rotated)
    stdout = StringIO()
    below = r"content_type macro_f1 0\.\d+ is below 0\.85 on the held-out set \(zh\)"
    with pytest.raises(CommandError, match=rf"not stored: held-out .*{below}"):
        call_command("train_tagger", "--held-out", str(path), stdout=stdout)
    output = stdout.getvalue()
    assert f"Held-out set {path}: 8 posts" in output
    assert "content_type macro-F1" in output and "  F1 trade_share" in output and "assets F1" in output
    assert "Reliability of the confidence" in output
    assert not TaggerModel.objects.exists()


def test_no_post_of_the_held_out_set_is_trained_on(tmp_path):
    corpus = small_corpus(tmp_path)
    posts = load_corpus(corpus.read_bytes())
    held_out = [{**post, "text": "  " + post["text"].upper() + " "} for post in posts[:3]]
    held_out_path = write_held_out(tmp_path / "heldout.jsonl", held_out)
    extra = [{"text": posts[5]["text"], "content_type": "chat"}, {"text": posts[0]["text"], "content_type": "chat"}]
    result = train(corpus, held_out_path=held_out_path, extra_posts=extra)
    # Three corpus posts and one extra post share a text (case and spaces aside) with the held-out set.
    assert result.metrics["shipped"]["left_out_as_held_out"] == 4
    assert result.metrics["shipped"]["trained_on_posts"] == len(posts) - 3
    assert result.metrics["shipped"]["extra_posts"] == 1


# --- Extra posts ---------------------------------------------------------------------------


def test_extra_posts_are_learned_and_their_weight_counts(tmp_path):
    corpus = small_corpus(tmp_path)
    phrase = "zorbleflux quantaroo mimbly"  # no corpus post says anything like it
    extra = [{"text": f"{phrase} {index}", "content_type": "education", "weight": 1.0} for index in range(40)]
    heavy = train(corpus, extra_posts=extra)
    light = train(corpus, extra_posts=[{**post, "weight": 0.01} for post in extra])
    plain = train(corpus)

    def education_score(result) -> float:
        heads = result.tagger.heads
        features = heads.vectorizer.transform([features_text(phrase)])
        column = list(heads.content_type.classes_).index("education")
        return float(heads.content_type.decision_function(features)[0, column])

    assert heavy.tagger.tag([phrase])[0].content_type == "education"
    assert education_score(heavy) > education_score(light)
    assert heavy.metrics["shipped"]["extra_posts"] == 40
    assert light.metrics["shipped"]["extra_weight"] == pytest.approx(0.4)
    # Extra posts make another model, so another version; none keeps the version of the corpus alone.
    assert len({heavy.version, light.version, plain.version}) == 3
    assert plain.version == model_version(corpus_sha256=plain.corpus_sha256, seed=0)


def test_extra_posts_with_only_a_content_type_train_every_head_they_can(tmp_path):
    result = train(small_corpus(tmp_path, every=4), extra_posts=[{"text": "wen lambo ser", "content_type": "chat"}])
    tags = result.tagger.tag(["wen lambo ser"])[0]
    assert tags.level and tags.language in {"en", "zh"}


@pytest.mark.parametrize(
    ("post", "problem"),
    [
        ({"content_type": "chat"}, "extra post 1: missing or invalid text"),
        ({"text": "gm", "content_type": "chat", "weight": 0}, "extra post 1: missing or invalid weight"),
        ({"text": "gm", "content_type": "chat", "weight": 1.5}, "extra post 1: missing or invalid weight"),
        ({"text": "gm", "content_type": "chat", "language": "fr"}, "extra post 1: missing or invalid language"),
        ({"text": "gm", "content_type": ""}, "extra post 1: missing or invalid content_type"),
    ],
)
def test_a_bad_extra_post_is_named(post, problem):
    with pytest.raises(ValueError, match=problem):
        check_extra_posts([post])


# --- Candidates ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_compare_measures_every_candidate_on_the_fold_and_the_held_out_set(tmp_path):
    path = write_held_out(tmp_path / "heldout.jsonl", HELD_OUT)
    corpus = small_corpus(tmp_path, every=4)
    rows = compare_models(corpus, held_out_path=path)
    assert [row["name"] for row in rows] == [name for name, *_rest in CANDIDATES]
    for row in rows:
        assert 0.5 < row["split_macro_f1"] <= 1
        assert all(0 <= row[key] <= 1 for key in ("held_out_macro_f1", "held_out_macro_f1_en", "held_out_macro_f1_zh"))
    stdout = StringIO()
    call_command("train_tagger", "--compare", "--corpus", str(corpus), "--held-out", str(path), stdout=stdout)
    assert "char + word n-grams + LinearSVC per language" in stdout.getvalue()
    assert not TaggerModel.objects.exists()  # comparing stores nothing


# --- Ranking leans on confidence -----------------------------------------------------------


def test_a_type_weight_counts_as_far_as_the_tagger_is_sure():
    assert scoring.type_weight(2.0, 1.0) == 2.0
    assert scoring.type_weight(2.0, 0.0) == 1.0
    assert scoring.type_weight(2.0, 0.5) == pytest.approx(math.sqrt(2.0))
    assert scoring.type_weight(0.5, 0.5) == pytest.approx(math.sqrt(0.5))  # a penalty shrinks too
    assert scoring.type_weight(2.0, 1.7) == 2.0


@pytest.mark.django_db
def test_ranking_leans_on_a_boosted_type_only_as_much_as_the_tagger_is_sure_of_it():
    author, someone = creator("author"), reader("someone")
    sure, unsure, untagged = (tagged_post(author, content_type="education", body=f"post {index}") for index in range(3))
    PostTags.objects.filter(post=sure).update(confidence=0.95)
    PostTags.objects.filter(post=unsure).update(confidence=0.3)
    PostTags.objects.filter(post=untagged).delete()  # the author's own label stands in, fully
    now = timezone.now()
    features = {
        feature.post_id: feature
        for feature in scoring.load_features(
            [sure.pk, unsure.pk, untagged.pk], hidden=set(), user_id=someone.pk, now=now
        )
    }
    assert [features[post.pk].type_confidence for post in (sure, unsure, untagged)] == pytest.approx([0.95, 0.3, 1.0])

    def score(post, weights):
        context = scoring.Context(moment=now, weights=weights, trending_scores={})
        return scoring.score_post(
            dataclasses.replace(features[post.pk], created_at=features[sure.pk].created_at),
            interest={},
            sources=set(),
            followed=set(),
            context=context,
            language="en",
            level="intermediate",
            trending_top=0.0,
            traded_assets=set(),
        )

    boosted, neutral = {"education": 3.0}, {}
    assert score(sure, boosted).score / score(sure, neutral).score == pytest.approx(3.0**0.95)
    assert score(unsure, boosted).score / score(unsure, neutral).score == pytest.approx(3.0**0.3)
    assert score(untagged, boosted).score / score(untagged, neutral).score == pytest.approx(3.0)
    # A boost is named as the reason only when it is a real lift after confidence.
    assert score(sure, boosted).reason.code == "boost"
    assert score(unsure, {"education": 1.5}).reason.code != "boost"


@pytest.mark.django_db
def test_stored_tags_carry_the_confidence_of_the_tagger(tagger_training):
    store_tagger(result=tagger_training)
    author = creator("writer")
    post = tagged_post(author, body="What is a funding rate? Perpetual futures pay it every 8 hours.")
    PostTags.objects.filter(post=post).delete()
    call_command("retag", stdout=StringIO())
    expected = tagger_training.tagger.tag([post.body])[0].confidence
    assert PostTags.objects.get(post=post).confidence == pytest.approx(expected, abs=1e-6)
