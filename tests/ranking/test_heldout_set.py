"""The frozen held-out set (ranking/corpus/heldout.jsonl): well formed, labelled with known types,
big enough per type and language to give a per-language macro-F1, and apart from the training corpus.

A new tagger is activated only if it beats the active one on this set, so a post that leaked from
the training corpus, or a type with a handful of posts, would make that comparison meaningless.
"""

import hashlib
import json
import re
import unicodedata
from collections import Counter

import pytest

from feed.models import PostType
from ranking import aliases
from ranking.tagging import CORPUS_PATH, HELD_OUT_PATH, LANGUAGES

MIN_POSTS_PER_TYPE_AND_LANGUAGE = 30
MIN_POSTS_PER_LANGUAGE = 220
FIELDS = {"text", "content_type", "assets", "language"}
SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")
# The set is frozen: a model is compared on the same posts every time. Changing a line means
# updating this hash on purpose, in the same change, with the reason in its description.
HELD_OUT_SHA256 = "18e0669efbf06874a4011642fafa49f7129ea5da7f5e2f1effbdfe9e99eff4a0"


def held_out_posts() -> list[dict]:
    lines = HELD_OUT_PATH.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def normalised(text: str) -> str:
    """Text with case, width, spacing, punctuation, emoji and the digits of numbers ignored, so a
    post copied with a changed price or an extra space still counts as the same post."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\d", "0", text)
    return re.sub(r"[\W_]+", "", text)


def test_every_line_is_a_labelled_post():
    posts = held_out_posts()
    for number, post in enumerate(posts, start=1):
        assert isinstance(post, dict) and set(post) == FIELDS, f"line {number}: {post}"
        assert isinstance(post["text"], str) and post["text"].strip(), f"line {number}: empty text"
        assert post["language"] in LANGUAGES, f"line {number}: language {post['language']!r}"
        assert isinstance(post["assets"], list), f"line {number}: assets {post['assets']!r}"
        assert all(isinstance(symbol, str) and SYMBOL.match(symbol) for symbol in post["assets"]), f"line {number}"
        assert len(set(post["assets"])) == len(post["assets"]), f"line {number}: a symbol twice"


@pytest.mark.django_db
def test_every_content_type_is_a_known_post_type():
    known = set(PostType.objects.values_list("slug", flat=True))
    labelled = {post["content_type"] for post in held_out_posts()}
    assert labelled <= known, f"unknown content types: {labelled - known}"


@pytest.mark.django_db
def test_each_type_has_enough_posts_in_each_language():
    types = set(PostType.objects.values_list("slug", flat=True))
    posts = held_out_posts()
    per_language = Counter(post["language"] for post in posts)
    per_type_and_language = Counter((post["content_type"], post["language"]) for post in posts)
    for language in LANGUAGES:
        assert per_language[language] >= MIN_POSTS_PER_LANGUAGE, language
        for slug in types:
            assert per_type_and_language[slug, language] >= MIN_POSTS_PER_TYPE_AND_LANGUAGE, (slug, language)


def test_every_asset_can_be_known_to_the_tagger():
    # A symbol the tagger could never find (an unknown token named by a bare word) would only
    # measure the dictionary's size, not the extractor: such tokens are cashtagged in the set.
    named = set(aliases.ALIASES.values()) | set(aliases.CASE_SENSITIVE_ALIASES.values()) | aliases.LISTED_SYMBOLS
    for post in held_out_posts():
        for symbol in post["assets"]:
            cashtagged = re.search(rf"\${re.escape(symbol)}(?![A-Za-z0-9])", post["text"], re.IGNORECASE)
            glued = re.search(rf"\${re.escape(symbol)}", post["text"])  # "9.84M$USDCto"
            assert symbol in named or cashtagged or glued, f"{symbol} in {post['text'][:60]!r}"


def test_no_post_is_repeated_within_the_set():
    keys = Counter(normalised(post["text"]) for post in held_out_posts())
    assert [key for key, count in keys.items() if count > 1] == []


def test_no_held_out_post_is_in_the_training_corpus():
    corpus_keys = {
        normalised(json.loads(line)["text"])
        for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    leaked = [post["text"] for post in held_out_posts() if normalised(post["text"]) in corpus_keys]
    assert leaked == []


def test_the_set_is_frozen():
    assert hashlib.sha256(HELD_OUT_PATH.read_bytes()).hexdigest() == HELD_OUT_SHA256
