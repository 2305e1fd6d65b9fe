"""The post tagger: what a post is (content type, level, topics, language, quality) and which assets it names.

One TF-IDF vectoriser of character n-grams within words feeds every learned head, so Chinese
needs no word segmenter and typos or slang still share most n-grams with the clean spelling.
The heads are linear (LinearSVC for the classes, one per topic, and Ridge for quality): they
train in seconds on the corpus and tag thousands of posts a second on one core. Assets are not
learned: they are cashtags plus the alias dictionary of ranking.aliases, so a new listing's
cashtag is found the day it is listed.

`train` fits everything on ranking/corpus/posts.jsonl, scores a held-out fifth, then refits on
the whole corpus for the shipped model. The artifact (joblib) is stored in ranking.TaggerModel;
`active_tagger` loads the active one once per process and version.

See docs/ranking.md#tags-what-a-post-is-about.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import sklearn
from django.db import transaction
from scipy.stats import spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from feed import cashtags
from orbit import locks
from orbit.locks import Namespace
from ranking import aliases
from ranking.models import TaggerModel

TOPICS: tuple[str, ...] = (
    "derivatives",
    "defi",
    "memecoins",
    "nfts",
    "airdrops",
    "onchain",
    "macro",
    "security",
    "ai",
    "layer2",
    "stablecoins",
    "regulation",
    "technical_analysis",
    "risk_management",
    "staking",
)
LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
LANGUAGES: tuple[str, ...] = ("en", "zh")

CORPUS_PATH = Path(__file__).resolve().parent / "corpus" / "posts.jsonl"
# The date the features or heads last changed in a way worth naming; the hash after it in a
# version covers the rest (corpus, this code, the alias dictionary, seed, scikit-learn).
PIPELINE_REVISION = "2026.11.25"
HELD_OUT_FOLDS = 5  # one fold of five: 20% held out
# Below these held-out scores train_tagger refuses to store a model.
TARGETS: dict[tuple[str, str], float] = {("content_type", "macro_f1"): 0.85, ("assets", "f1"): 0.95}
ARTIFACT_FORMAT = 1

MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
MARKUP = re.compile(r"[*_~`>]+")
SPACES = re.compile(r"\s+")
DIGIT = re.compile(r"\d")


def _alias_pattern(names: Sequence[str], *, ignore_case: bool) -> re.Pattern:
    """Longest names first, so "比特币现金" wins over "比特币" and "bitcoin cash" over "bitcoin"."""
    latin = sorted((name for name in names if name.isascii()), key=len, reverse=True)
    chinese = sorted((name for name in names if not name.isascii()), key=len, reverse=True)
    alternatives = []
    if latin:
        words = "|".join(re.escape(name) for name in latin)
        alternatives.append(rf"(?<![A-Za-z0-9$])(?:{words})(?![A-Za-z0-9])")
    if chinese:
        alternatives.append("|".join(re.escape(name) for name in chinese))
    return re.compile("|".join(alternatives), re.IGNORECASE if ignore_case else 0)


ALIAS_PATTERN = _alias_pattern(list(aliases.ALIASES), ignore_case=True)
CASE_SENSITIVE_PATTERN = _alias_pattern(list(aliases.CASE_SENSITIVE_ALIASES), ignore_case=False)
NOT_ASSETS_PATTERN = re.compile("|".join(re.escape(phrase) for phrase in aliases.NOT_ASSETS), re.IGNORECASE)
ALIAS_SYMBOLS = {name.lower(): symbol for name, symbol in aliases.ALIASES.items()}


class TaggerUnavailable(Exception):
    """No usable tagger model is active."""


@dataclass(frozen=True)
class Tags:
    content_type: str
    level: str
    topics: tuple[str, ...]
    assets: tuple[str, ...]
    language: str
    quality: float

    def as_dict(self) -> dict:
        return {
            "content_type": self.content_type,
            "level": self.level,
            "topics": list(self.topics),
            "assets": list(self.assets),
            "language": self.language,
            "quality": round(self.quality, 3),
        }


def clean_text(text: str) -> str:
    """Post text without the Markdown that says nothing about the post: image and link targets,
    URLs (https://x.com/solana/... names no asset), code, emphasis marks."""
    text = MARKDOWN_IMAGE.sub(" ", text)
    text = MARKDOWN_LINK.sub(r"\1", text)
    text = CODE.sub(" ", text)
    text = URL.sub(" ", text)
    text = MARKUP.sub(" ", text)
    return SPACES.sub(" ", text).strip()


def extract_assets(text: str) -> tuple[str, ...]:
    """Symbols of the assets a post names, in order of first mention: cashtags and known names."""
    return _assets_in(clean_text(text))


def _assets_in(cleaned: str) -> tuple[str, ...]:
    cleaned = NOT_ASSETS_PATTERN.sub(lambda match: " " * len(match[0]), cleaned)
    found: list[tuple[int, str]] = []
    for match in cashtags.CASHTAG.finditer(cleaned):
        symbol = cashtags.symbol_of(match)
        if symbol not in aliases.NOT_ASSET_CASHTAGS:
            found.append((match.start(), symbol))
    found.extend((match.start(), ALIAS_SYMBOLS[match[0].lower()]) for match in ALIAS_PATTERN.finditer(cleaned))
    found.extend(
        (match.start(), aliases.CASE_SENSITIVE_ALIASES[match[0]]) for match in CASE_SENSITIVE_PATTERN.finditer(cleaned)
    )
    found.sort()
    return tuple(dict.fromkeys(symbol for _position, symbol in found))


def features_text(cleaned: str) -> str:
    """What the vectoriser reads of a cleaned post."""
    # Prices and percentages differ in every post; their digits would only add noise n-grams.
    return DIGIT.sub("0", cleaned)


@dataclass
class TopicHeads:
    """One linear SVM per topic, kept as plain weights (a topic nobody or everybody has gets zero
    weights and a constant bias)."""

    weights: np.ndarray  # one row per topic, one column per feature
    bias: np.ndarray  # per topic


@dataclass
class Heads:
    """The fitted vectoriser and models; what the artifact holds."""

    vectorizer: TfidfVectorizer
    content_type: LinearSVC
    level: LinearSVC
    topics: TopicHeads
    language: LinearSVC
    quality: Ridge


def _predicted(classes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """What LinearSVC.predict answers for these decision scores: the sign for two classes, else the best."""
    if scores.shape[1] == 1:
        return classes[(scores[:, 0] > 0).astype(int)]
    return classes[scores.argmax(axis=1)]


class Tagger:
    """A trained tagger. `tag` works on batches: one vectoriser pass and one matrix product feed every head."""

    def __init__(self, *, version: str, heads: Heads):
        self.version = version
        self.heads = heads
        self._topic_names = np.array(TOPICS)
        # Every head is linear, so their weights side by side score a batch for all of them in one
        # product. scikit-learn's predict would check its input and copy its coefficients per head and
        # call, which costs more than the arithmetic when posts come one at a time.
        blocks = {
            "content_type": (heads.content_type.coef_, heads.content_type.intercept_),
            "level": (heads.level.coef_, heads.level.intercept_),
            "language": (heads.language.coef_, heads.language.intercept_),
            "quality": (heads.quality.coef_[np.newaxis, :], np.atleast_1d(heads.quality.intercept_)),
            "topics": (heads.topics.weights, heads.topics.bias),
        }
        self._columns: dict[str, slice] = {}
        start = 0
        for name, (weights, _bias) in blocks.items():
            self._columns[name] = slice(start, start + len(weights))
            start += len(weights)
        self._weights = np.ascontiguousarray(np.vstack([weights for weights, _bias in blocks.values()]).T)
        self._bias = np.concatenate([bias for _weights, bias in blocks.values()])

    def tag(self, texts: Sequence[str]) -> list[Tags]:
        if not texts:
            return []
        heads, columns = self.heads, self._columns
        cleaned = [clean_text(text) for text in texts]
        features = heads.vectorizer.transform([features_text(text) for text in cleaned])
        scores = features @ self._weights + self._bias
        content_types = _predicted(heads.content_type.classes_, scores[:, columns["content_type"]])
        levels = _predicted(heads.level.classes_, scores[:, columns["level"]])
        languages = _predicted(heads.language.classes_, scores[:, columns["language"]])
        qualities = np.clip(scores[:, columns["quality"]][:, 0], 0.0, 1.0)
        topic_flags = scores[:, columns["topics"]] > 0
        return [
            Tags(
                content_type=str(content_types[index]),
                level=str(levels[index]),
                topics=tuple(self._topic_names[topic_flags[index]].tolist()),
                assets=_assets_in(cleaned[index]),
                language=str(languages[index]),
                quality=float(qualities[index]),
            )
            for index in range(len(cleaned))
        ]

    def to_bytes(self) -> bytes:
        heads = self.heads
        # Only scikit-learn objects, arrays and plain values: renaming a class here never breaks loading.
        payload = {
            "format": ARTIFACT_FORMAT,
            "sklearn": sklearn.__version__,
            "topics": TOPICS,
            "vectorizer": heads.vectorizer,
            "content_type": heads.content_type,
            "level": heads.level,
            "topic_weights": heads.topics.weights,
            "topic_bias": heads.topics.bias,
            "language": heads.language,
            "quality": heads.quality,
        }
        buffer = io.BytesIO()
        joblib.dump(payload, buffer, compress=3)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, artifact: bytes, *, version: str) -> Tagger:
        retrain = "Run `python manage.py train_tagger` to build one for this code."
        try:
            payload = joblib.load(io.BytesIO(artifact))
        except Exception as error:  # unpickling fails in many ways when libraries change under it
            raise TaggerUnavailable(f"Tagger {version} cannot be loaded ({error!r}). {retrain}") from error
        if payload.get("format") != ARTIFACT_FORMAT or payload.get("sklearn") != sklearn.__version__:
            raise TaggerUnavailable(
                f"Tagger {version} was built with scikit-learn {payload.get('sklearn')} (artifact format "
                f"{payload.get('format')}); this is {sklearn.__version__} (format {ARTIFACT_FORMAT}). {retrain}"
            )
        if tuple(payload["topics"]) != TOPICS:
            raise TaggerUnavailable(f"Tagger {version} knows other topics than this code. {retrain}")
        heads = Heads(
            vectorizer=payload["vectorizer"],
            content_type=payload["content_type"],
            level=payload["level"],
            topics=TopicHeads(weights=payload["topic_weights"], bias=payload["topic_bias"]),
            language=payload["language"],
            quality=payload["quality"],
        )
        return cls(version=version, heads=heads)


# --- Training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingResult:
    version: str
    tagger: Tagger
    artifact: bytes
    corpus_sha256: str
    metrics: dict
    seconds: float = field(compare=False)

    def missed_targets(self) -> list[str]:
        """The held-out targets this model misses, as sentences; empty when it meets them all."""
        return [
            f"{head} {metric} {self.metrics[head][metric]:.3f} is below {target}"
            for (head, metric), target in TARGETS.items()
            if self.metrics[head][metric] < target
        ]


def load_corpus(raw: bytes) -> list[dict]:
    """The corpus lines, checked: a bad line raises ValueError naming it."""
    posts = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            post = json.loads(line)
            problem = _corpus_problem(post)
        except json.JSONDecodeError as error:
            problem = f"not JSON ({error})"
        if problem:
            raise ValueError(f"corpus line {number}: {problem}")
        posts.append(post)
    if not posts:
        raise ValueError("the corpus is empty")
    for head in ("content_type", "level", "language"):
        values = {post[head] for post in posts}
        if len(values) < 2:
            raise ValueError(f"every post has the {head} {values.pop()!r}; a model needs at least two to tell apart")
    return posts


def _corpus_problem(post: object) -> str | None:
    if not isinstance(post, dict):
        return "not a JSON object"
    checks = {
        "text": isinstance(post.get("text"), str) and post["text"].strip(),
        "content_type": isinstance(post.get("content_type"), str) and post["content_type"],
        "level": post.get("level") in LEVELS,
        "topics": isinstance(post.get("topics"), list) and set(post["topics"]) <= set(TOPICS),
        "assets": isinstance(post.get("assets"), list) and all(isinstance(symbol, str) for symbol in post["assets"]),
        "language": post.get("language") in LANGUAGES,
        "quality": isinstance(post.get("quality"), int | float) and 0 <= post["quality"] <= 1,
    }
    bad = [name for name, ok in checks.items() if not ok]
    return f"missing or invalid {', '.join(bad)}" if bad else None


def model_version(*, corpus_sha256: str, seed: int) -> str:
    """Same corpus, code (with the cashtag rule), alias dictionary, seed and scikit-learn give the same version."""
    digest = hashlib.sha256()
    for part in (
        corpus_sha256.encode(),
        str(seed).encode(),
        sklearn.__version__.encode(),
        Path(__file__).read_bytes(),
        Path(cashtags.__file__).read_bytes(),
        Path(aliases.__file__).read_bytes(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return f"{PIPELINE_REVISION}-{digest.hexdigest()[:8]}"


def _fit(posts: Sequence[dict], *, seed: int) -> Heads:
    texts = [features_text(clean_text(post["text"])) for post in posts]
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True, max_features=40_000, dtype=np.float32
    )
    features = vectorizer.fit_transform(texts)

    def classifier(c: float) -> LinearSVC:
        return LinearSVC(C=c, class_weight="balanced", random_state=seed)

    topic_labels = MultiLabelBinarizer(classes=TOPICS).fit_transform([post["topics"] for post in posts])
    topic_weights = np.zeros((len(TOPICS), features.shape[1]))
    topic_bias = np.empty(len(TOPICS))
    for index, labels in enumerate(topic_labels.T):
        if labels.min() == labels.max():  # every post or none is about it: nothing to learn, a constant answer
            topic_bias[index] = 1.0 if labels[0] else -1.0
            continue
        # Each topic is rare; a softer margin than the other heads gave the best held-out topic F1.
        topic = classifier(0.1).fit(features, labels)
        topic_weights[index], topic_bias[index] = topic.coef_[0], topic.intercept_[0]
    return Heads(
        vectorizer=vectorizer,
        content_type=classifier(0.5).fit(features, [post["content_type"] for post in posts]),
        level=classifier(0.5).fit(features, [post["level"] for post in posts]),
        topics=TopicHeads(weights=topic_weights, bias=topic_bias),
        language=classifier(1.0).fit(features, [post["language"] for post in posts]),
        quality=Ridge(alpha=1.0).fit(features, [post["quality"] for post in posts]),
    )


def _held_out_split(posts: Sequence[dict], *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One fold of a stratified (by content type) split that keeps each corpus group on one side,
    so no held-out post shares its hand-written skeleton with a training post."""
    groups = [post.get("group") or f"post-{index}" for index, post in enumerate(posts)]
    splitter = StratifiedGroupKFold(n_splits=HELD_OUT_FOLDS, shuffle=True, random_state=seed)
    train_index, test_index = next(splitter.split(posts, [post["content_type"] for post in posts], groups))
    return train_index, test_index


def _asset_scores(expected: Sequence[Sequence[str]], found: Sequence[Sequence[str]]) -> dict:
    """Micro precision, recall and F1 over (post, symbol) pairs."""
    expected_pairs = {(index, symbol) for index, symbols in enumerate(expected) for symbol in symbols}
    found_pairs = {(index, symbol) for index, symbols in enumerate(found) for symbol in symbols}
    hits = len(expected_pairs & found_pairs)
    precision = hits / len(found_pairs) if found_pairs else 1.0
    recall = hits / len(expected_pairs) if expected_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs": len(expected_pairs)}


def _evaluate(tagger: Tagger, posts: Sequence[dict]) -> dict:
    predicted = [tags.as_dict() for tags in tagger.tag([post["text"] for post in posts])]

    def column(rows: Sequence[dict], name: str) -> list:
        return [row[name] for row in rows]

    true_types, predicted_types = column(posts, "content_type"), column(predicted, "content_type")
    labels = sorted(set(true_types))
    per_type = f1_score(true_types, predicted_types, labels=labels, average=None, zero_division=0)
    topics = MultiLabelBinarizer(classes=TOPICS)
    true_topics = topics.fit_transform(column(posts, "topics"))
    predicted_topics = topics.transform(column(predicted, "topics"))
    true_quality, predicted_quality = column(posts, "quality"), column(predicted, "quality")
    return {
        "content_type": {
            "macro_f1": f1_score(true_types, predicted_types, average="macro", zero_division=0),
            "accuracy": accuracy_score(true_types, predicted_types),
            "f1_per_type": dict(zip(labels, per_type.tolist(), strict=True)),
        },
        "level": {
            "macro_f1": f1_score(column(posts, "level"), column(predicted, "level"), average="macro", zero_division=0),
            "accuracy": accuracy_score(column(posts, "level"), column(predicted, "level")),
        },
        "topics": {
            "micro_f1": f1_score(true_topics, predicted_topics, average="micro", zero_division=0),
            "macro_f1": f1_score(true_topics, predicted_topics, average="macro", zero_division=0),
        },
        "language": {"accuracy": accuracy_score(column(posts, "language"), column(predicted, "language"))},
        "quality": {
            "mae": mean_absolute_error(true_quality, predicted_quality),
            "spearman": float(spearmanr(true_quality, predicted_quality).statistic),
        },
        "assets": _asset_scores(column(posts, "assets"), column(predicted, "assets")),
    }


def train(corpus_path: str | Path | None = None, *, seed: int = 0) -> TrainingResult:
    """Score a model trained on 80% of the corpus on the held-out 20%, then ship one trained on all of it.

    The held-out model only measures; the shipped model has seen every post, so its figures are
    those of the held-out run (slightly pessimistic for the shipped one)."""
    began = time.perf_counter()
    raw = Path(corpus_path or CORPUS_PATH).read_bytes()
    posts = load_corpus(raw)
    corpus_sha256 = hashlib.sha256(raw).hexdigest()

    train_index, test_index = _held_out_split(posts, seed=seed)
    measured = Tagger(version="held-out", heads=_fit([posts[index] for index in train_index], seed=seed))
    metrics = _evaluate(measured, [posts[index] for index in test_index])
    metrics["split"] = {
        "train_posts": len(train_index),
        "held_out_posts": len(test_index),
        "seed": seed,
        "method": f"1 of {HELD_OUT_FOLDS} folds, stratified by content type, grouped by corpus skeleton",
    }

    version = model_version(corpus_sha256=corpus_sha256, seed=seed)
    tagger = Tagger(version=version, heads=_fit(posts, seed=seed))
    artifact = tagger.to_bytes()
    metrics["shipped"] = {"trained_on_posts": len(posts), "artifact_bytes": len(artifact)}
    return TrainingResult(
        version=version,
        tagger=tagger,
        artifact=artifact,
        corpus_sha256=corpus_sha256,
        metrics=metrics,
        seconds=time.perf_counter() - began,
    )


# --- Stored models -------------------------------------------------------------------------------


def store_tagger(*, result: TrainingResult, activate: bool = True) -> TaggerModel:
    """Save a trained model (once per version) and, unless told not to, make it the active one."""
    with transaction.atomic():
        model, _created = TaggerModel.objects.get_or_create(
            version=result.version,
            defaults={"corpus_sha256": result.corpus_sha256, "metrics": result.metrics, "artifact": result.artifact},
        )
        if activate:
            model = activate_tagger(version=result.version)
    return model


def activate_tagger(*, version: str) -> TaggerModel:
    """Make one stored model the active one, in one transaction: others off first, then this on."""
    with transaction.atomic():
        # Two activations at once would each switch the others off and then both switch theirs on,
        # and the second would fail on one_active_tagger. Locking every row in id order (as the admin's
        # activation does) queues them; the advisory lock also queues two first-ever models.
        locks.lock(Namespace.TAGGER_ACTIVATION)
        list(TaggerModel.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        model = TaggerModel.objects.defer("artifact").get(version=version)
        TaggerModel.objects.filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
        if not model.is_active:
            model.is_active = True
            model.save(update_fields=["is_active"])
    return model


_loaded: dict[str, Tagger] = {}  # the active tagger this process loaded last, by version


def active_tagger() -> Tagger:
    """The active tagger. One small query per call finds its version; the artifact is loaded only
    when that version changes, so a newly activated model is picked up without a restart."""
    version = TaggerModel.objects.filter(is_active=True).values_list("version", flat=True).first()
    if version is None:
        raise TaggerUnavailable("No tagger model is active. Train one with `python manage.py train_tagger`.")
    tagger = _loaded.get(version)
    if tagger is None:
        artifact = TaggerModel.objects.filter(version=version).values_list("artifact", flat=True).first()
        if artifact is None:
            raise TaggerUnavailable(f"Tagger {version} was removed; run `python manage.py train_tagger`.")
        tagger = Tagger.from_bytes(bytes(artifact), version=version)
        _loaded.clear()
        _loaded[version] = tagger
    return tagger
