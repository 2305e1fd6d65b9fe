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
from typing import TypeAlias, TypeVar

import joblib
import numpy as np
import sklearn
from django.db import transaction
from scipy.optimize import minimize_scalar
from scipy.sparse import spmatrix
from scipy.stats import spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from feed import cashtags
from orbit import locks
from orbit.locks import Namespace
from ranking import aliases, assets
from ranking.assets import assets_in as _assets_in
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
# Posts written apart from the corpus skeletons and never trained on: the figures that gate a model.
HELD_OUT_PATH = Path(__file__).resolve().parent / "corpus" / "heldout.jsonl"
# The date the features or heads last changed in a way worth naming; the hash after it in a
# version covers the rest (corpus, this code, the alias dictionary, seed, scikit-learn).
PIPELINE_REVISION = "2026.11.25"
HELD_OUT_FOLDS = 5  # one fold of five: 20% held out
# Below these held-out scores train_tagger refuses to store a model: on the held-out set in each
# language when ranking/corpus/heldout.jsonl exists, else on the corpus's own held-out fold.
TARGETS: dict[tuple[str, str], float] = {("content_type", "macro_f1"): 0.85, ("assets", "f1"): 0.95}
# 2: the content-type head carries a calibration temperature (Tags.confidence).
ARTIFACT_FORMAT = 2
CALIBRATION_FOLDS = 3
CALIBRATION_BINS = 10

MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
MARKUP = re.compile(r"[*_~`>]+")
SPACES = re.compile(r"\s+")
DIGIT = re.compile(r"\d")


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
    # Calibrated probability that content_type is right (0..1): ranking leans on the type this much.
    confidence: float = 1.0

    def as_dict(self) -> dict:
        return {
            "content_type": self.content_type,
            "level": self.level,
            "topics": list(self.topics),
            "assets": list(self.assets),
            "language": self.language,
            "quality": round(self.quality, 3),
            "confidence": round(self.confidence, 3),
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

    vectorizer: TfidfVectorizer | FeatureUnion
    content_type: LinearSVC | LogisticRegression
    level: LinearSVC
    topics: TopicHeads
    language: LinearSVC
    quality: Ridge
    # softmax(content-type scores / temperature) is the calibrated probability of each type.
    content_type_temperature: float = 1.0


def _predicted(classes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """What LinearSVC.predict answers for these decision scores: the sign for two classes, else the best."""
    if scores.shape[1] == 1:
        return classes[(scores[:, 0] > 0).astype(int)]
    return classes[scores.argmax(axis=1)]


def _probabilities(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Calibrated class probabilities from decision scores (one column per class, or the one
    column of a two-class model): a softmax at the fitted temperature."""
    if scores.shape[1] == 1:
        scores = np.hstack([-scores / 2, scores / 2])
    scaled = scores / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


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
        type_scores = scores[:, columns["content_type"]]
        content_types = _predicted(heads.content_type.classes_, type_scores)
        # The chosen type is the most probable one: the softmax keeps the order of the scores.
        confidences = _probabilities(type_scores, heads.content_type_temperature).max(axis=1)
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
                confidence=float(confidences[index]),
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
            "content_type_temperature": heads.content_type_temperature,
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
        # Format 1 has no calibration, so it cannot say how sure it is: refused, not guessed at.
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
            content_type_temperature=float(payload["content_type_temperature"]),
        )
        return cls(version=version, heads=heads)


# --- Training ------------------------------------------------------------------------------------

# The features and content-type model the shipped tagger uses; `compare_models` measures the others.
FEATURES = "char"
CONTENT_MODEL = "svc"


ContentModel: TypeAlias = LinearSVC | LogisticRegression | ComplementNB
HeadModel = TypeVar("HeadModel", LinearSVC, Ridge)


class HeldOutUnavailable(Exception):
    """The held-out set is missing or holds no usable post."""


@dataclass(frozen=True)
class TrainingResult:
    version: str
    tagger: Tagger
    artifact: bytes
    corpus_sha256: str
    metrics: dict
    seconds: float = field(compare=False)

    def missed_targets(self) -> list[str]:
        """The held-out targets this model misses, as sentences; empty when it meets them all.

        With a held-out set, each language must meet every target there; without one, the
        corpus's own held-out fold is the measure."""
        held_out_set = self.metrics.get("held_out_set") or {}
        if not held_out_set.get("available"):
            return [
                f"{head} {metric} {self.metrics[head][metric]:.3f} is below {target}"
                for (head, metric), target in TARGETS.items()
                if self.metrics[head][metric] < target
            ]
        return [
            f"{head} {metric} {figures[head][metric]:.3f} is below {target} on the held-out set ({language})"
            for language, figures in held_out_set["by_language"].items()
            for (head, metric), target in TARGETS.items()
            if figures[head][metric] < target
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


def _extra_post_problem(post: object) -> str | None:
    """Extra posts need a text and a content type; level, topics, language and quality are optional
    (a head learns only from posts that carry its label), weight defaults to 1."""
    if not isinstance(post, dict):
        return "not a dict"
    checks = {
        "text": isinstance(post.get("text"), str) and post["text"].strip(),
        "content_type": isinstance(post.get("content_type"), str) and post["content_type"],
        "level": post.get("level", LEVELS[0]) in LEVELS,
        "topics": isinstance(post.get("topics", []), list) and set(post.get("topics", [])) <= set(TOPICS),
        "language": post.get("language", LANGUAGES[0]) in LANGUAGES,
        "quality": isinstance(post.get("quality", 0.5), int | float) and 0 <= post.get("quality", 0.5) <= 1,
        "weight": isinstance(post.get("weight", 1.0), int | float) and 0 < post.get("weight", 1.0) <= 1,
    }
    bad = [name for name, ok in checks.items() if not ok]
    return f"missing or invalid {', '.join(bad)}" if bad else None


def check_extra_posts(extra_posts: Sequence[dict]) -> list[dict]:
    posts = list(extra_posts)
    for number, post in enumerate(posts, start=1):
        problem = _extra_post_problem(post)
        if problem:
            raise ValueError(f"extra post {number}: {problem}")
    return posts


def load_held_out(path: str | Path | None = None) -> list[dict]:
    """The held-out set: {"text", "content_type", "assets", "language"} per line. Lines that are not
    such a post are skipped (the file may be half written); none usable raises HeldOutUnavailable."""
    path = Path(path or HELD_OUT_PATH)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise HeldOutUnavailable(f"no held-out set at {path} ({error.strerror})") from error
    posts = []
    for line in raw.splitlines():
        try:
            post = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (
            isinstance(post, dict)
            and isinstance(post.get("text"), str)
            and post["text"].strip()
            and isinstance(post.get("content_type"), str)
            and isinstance(post.get("assets"), list)
            and post.get("language") in LANGUAGES
        ):
            posts.append(post)
    if not posts:
        raise HeldOutUnavailable(f"the held-out set {path} holds no usable post")
    return posts


def _text_key(text: str) -> str:
    return SPACES.sub(" ", text).strip().casefold()


def model_version(*, corpus_sha256: str, seed: int, extra_sha256: str = "") -> str:
    """Same corpus, extra posts, code (with the cashtag rule), alias dictionary, seed and
    scikit-learn give the same version."""
    digest = hashlib.sha256()
    for part in (
        corpus_sha256.encode(),
        str(seed).encode(),
        sklearn.__version__.encode(),
        Path(__file__).read_bytes(),
        Path(cashtags.__file__).read_bytes(),
        Path(aliases.__file__).read_bytes(),
        Path(assets.__file__).read_bytes(),
    ):
        digest.update(hashlib.sha256(part).digest())
    if extra_sha256:  # without extra posts, the version is what it always was
        digest.update(hashlib.sha256(extra_sha256.encode()).digest())
    return f"{PIPELINE_REVISION}-{digest.hexdigest()[:8]}"


def _vectorizer(features: str) -> TfidfVectorizer | FeatureUnion:
    """char: character n-grams within words; char+word adds word uni- and bigrams beside them."""
    characters = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True, max_features=40_000, dtype=np.float32
    )
    if features == "char":
        return characters
    if features == "char+word":
        words = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=20_000, dtype=np.float32
        )
        return FeatureUnion([("char", characters), ("word", words)])
    raise ValueError(f"unknown features {features!r}")


def _content_classifier(model: str, *, seed: int) -> LinearSVC | LogisticRegression | ComplementNB:
    if model == "svc":
        return LinearSVC(C=0.5, class_weight="balanced", random_state=seed)
    if model == "logreg":
        return LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=seed)
    if model == "complement_nb":
        return ComplementNB(alpha=0.3)
    raise ValueError(f"unknown model {model!r}")


def _decision_scores(model: ContentModel, features: spmatrix) -> np.ndarray:
    if isinstance(model, ComplementNB):
        return model.predict_joint_log_proba(features)
    scores = model.decision_function(features)
    return scores[:, np.newaxis] if scores.ndim == 1 else scores


def _fit_temperature(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """The temperature that makes softmax(scores / T) the best (weighted log-loss) probabilities."""

    def log_loss(log_temperature: float) -> float:
        probabilities = _probabilities(scores, float(np.exp(log_temperature)))
        chosen = np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0)
        return float(-(weights * np.log(chosen)).sum() / weights.sum())

    fitted = minimize_scalar(log_loss, bounds=(-6.0, 4.0), method="bounded")
    return float(np.exp(fitted.x))


def _calibration_temperature(
    features: spmatrix, labels: np.ndarray, groups: Sequence[str], weights: np.ndarray, *, model: str, seed: int
) -> float:
    """Scores of each post by a model that did not see its skeleton group (a few folds), then the
    temperature fitted on them: a model's scores on its own training posts are overconfident."""
    classes = np.unique(labels)
    out_of_fold = np.zeros((len(labels), len(classes) if len(classes) > 2 else 1))
    folds = GroupKFold(n_splits=min(CALIBRATION_FOLDS, len(set(groups))))
    for train_index, test_index in folds.split(features, labels, groups):
        fold_model = _content_classifier(model, seed=seed)
        fold_model.fit(features[train_index], labels[train_index], sample_weight=weights[train_index])
        scores = _decision_scores(fold_model, features[test_index])
        if out_of_fold.shape[1] == 1:
            out_of_fold[test_index] = scores if len(fold_model.classes_) == 2 else 0.0
            continue
        placed = np.full((len(test_index), len(classes)), scores.min() - 10.0)
        placed[:, np.searchsorted(classes, fold_model.classes_)] = scores
        out_of_fold[test_index] = placed
    return _fit_temperature(out_of_fold, np.searchsorted(classes, labels), weights)


def _fit(posts: Sequence[dict], *, seed: int, features: str = FEATURES, content_model: str = CONTENT_MODEL) -> Heads:
    texts = [features_text(clean_text(post["text"])) for post in posts]
    vectorizer = _vectorizer(features)
    matrix = vectorizer.fit_transform(texts).tocsr()
    # Weak labels (an author's own choice) count less than the corpus and operators' corrections.
    weights = np.array([float(post.get("weight", 1.0)) for post in posts])
    groups = [post.get("group") or f"post-{index}" for index, post in enumerate(posts)]

    def classifier(c: float) -> LinearSVC:
        return LinearSVC(C=c, class_weight="balanced", random_state=seed)

    def labelled(head: str) -> np.ndarray:
        """Rows that carry this head's label: extra posts may carry only a content type."""
        return np.array([index for index, post in enumerate(posts) if head in post], dtype=int)

    def fit_head(model: HeadModel, head: str) -> HeadModel:
        rows = labelled(head)
        return model.fit(matrix[rows], [posts[index][head] for index in rows], sample_weight=weights[rows])

    topic_rows = labelled("topics")
    topic_labels = MultiLabelBinarizer(classes=TOPICS).fit_transform([posts[index]["topics"] for index in topic_rows])
    topic_weights = np.zeros((len(TOPICS), matrix.shape[1]))
    topic_bias = np.empty(len(TOPICS))
    for index, labels in enumerate(topic_labels.T):
        if labels.min() == labels.max():  # every post or none is about it: nothing to learn, a constant answer
            topic_bias[index] = 1.0 if labels[0] else -1.0
            continue
        # Each topic is rare; a softer margin than the other heads gave the best held-out topic F1.
        topic = classifier(0.1).fit(matrix[topic_rows], labels, sample_weight=weights[topic_rows])
        topic_weights[index], topic_bias[index] = topic.coef_[0], topic.intercept_[0]
    type_labels = np.array([post["content_type"] for post in posts])
    return Heads(
        vectorizer=vectorizer,
        content_type=_content_classifier(content_model, seed=seed).fit(matrix, type_labels, sample_weight=weights),
        level=fit_head(classifier(0.5), "level"),
        topics=TopicHeads(weights=topic_weights, bias=topic_bias),
        language=fit_head(classifier(1.0), "language"),
        quality=fit_head(Ridge(alpha=1.0), "quality"),
        content_type_temperature=_calibration_temperature(
            matrix, type_labels, groups, weights, model=content_model, seed=seed
        ),
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


def _type_scores(true_types: Sequence[str], predicted_types: Sequence[str]) -> dict:
    labels = sorted(set(true_types))
    per_type = f1_score(true_types, predicted_types, labels=labels, average=None, zero_division=0)
    return {
        # Over the types these posts are labelled with: a type predicted but never true counts
        # through the others' precision, not as a zero of its own.
        "macro_f1": float(f1_score(true_types, predicted_types, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(true_types, predicted_types)),
        "f1_per_type": dict(zip(labels, per_type.tolist(), strict=True)),
    }


def calibration_report(confidences: Sequence[float], correct: Sequence[bool], *, bins: int = CALIBRATION_BINS) -> dict:
    """Expected calibration error and a reliability table: posts grouped by the confidence of their
    chosen type (equal-width bins), each bin's mean confidence beside how often the type was right."""
    confidence_values, right = np.asarray(confidences, dtype=float), np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence_values, edges[1:-1]), 0, bins - 1)
    table, error = [], 0.0
    for index in range(bins):
        inside = which == index
        if not inside.any():
            continue
        mean_confidence, accuracy = float(confidence_values[inside].mean()), float(right[inside].mean())
        error += inside.sum() / len(confidence_values) * abs(mean_confidence - accuracy)
        table.append(
            {
                "low": float(edges[index]),
                "high": float(edges[index + 1]),
                "posts": int(inside.sum()),
                "mean_confidence": mean_confidence,
                "accuracy": accuracy,
            }
        )
    return {"ece": float(error), "mean_confidence": float(confidence_values.mean()), "bins": table}


def _evaluate(tagger: Tagger, posts: Sequence[dict]) -> dict:
    predicted = tagger.tag([post["text"] for post in posts])

    def column(rows: Sequence[dict], name: str) -> list:
        return [row[name] for row in rows]

    def tagged(name: str) -> list:
        return [getattr(tags, name) for tags in predicted]

    true_types, predicted_types = column(posts, "content_type"), tagged("content_type")
    topics = MultiLabelBinarizer(classes=TOPICS)
    true_topics = topics.fit_transform(column(posts, "topics"))
    predicted_topics = topics.transform(tagged("topics"))
    true_quality, predicted_quality = column(posts, "quality"), tagged("quality")
    return {
        "content_type": _type_scores(true_types, predicted_types),
        "level": {
            "macro_f1": f1_score(column(posts, "level"), tagged("level"), average="macro", zero_division=0),
            "accuracy": accuracy_score(column(posts, "level"), tagged("level")),
        },
        "topics": {
            "micro_f1": f1_score(true_topics, predicted_topics, average="micro", zero_division=0),
            "macro_f1": f1_score(true_topics, predicted_topics, average="macro", zero_division=0),
        },
        "language": {"accuracy": accuracy_score(column(posts, "language"), tagged("language"))},
        "quality": {
            "mae": mean_absolute_error(true_quality, predicted_quality),
            "spearman": float(spearmanr(true_quality, predicted_quality).statistic),
        },
        "assets": _asset_scores(column(posts, "assets"), tagged("assets")),
        "calibration": calibration_report(
            tagged("confidence"), [truth == guess for truth, guess in zip(true_types, predicted_types, strict=True)]
        ),
        "by_language": {
            language: {
                "posts": len(rows),
                "content_type": _type_scores(
                    [true_types[index] for index in rows], [predicted_types[index] for index in rows]
                ),
                "assets": _asset_scores(
                    [posts[index]["assets"] for index in rows], [predicted[index].assets for index in rows]
                ),
            }
            for language in LANGUAGES
            if (rows := [index for index, post in enumerate(posts) if post["language"] == language])
        },
    }


def evaluate_held_out(tagger: Tagger, posts: Sequence[dict] | None = None) -> dict:
    """The tagger on the held-out set (ranking/corpus/heldout.jsonl unless `posts` are given):
    content-type macro-F1, accuracy and F1 per type, asset F1 and calibration, overall and per
    language. Raises HeldOutUnavailable when there is no usable held-out set."""
    posts = list(posts) if posts is not None else load_held_out()
    predicted = tagger.tag([post["text"] for post in posts])

    def figures(rows: Sequence[int]) -> dict:
        true_types = [posts[index]["content_type"] for index in rows]
        predicted_types = [predicted[index].content_type for index in rows]
        return {
            "posts": len(rows),
            "content_type": _type_scores(true_types, predicted_types),
            "assets": _asset_scores(
                [posts[index]["assets"] for index in rows], [predicted[index].assets for index in rows]
            ),
            "calibration": calibration_report(
                [predicted[index].confidence for index in rows],
                [truth == guess for truth, guess in zip(true_types, predicted_types, strict=True)],
            ),
        }

    every = range(len(posts))
    result = {"available": True, **figures(every), "by_language": {}}
    for language in LANGUAGES:
        rows = [index for index in every if posts[index]["language"] == language]
        if rows:
            result["by_language"][language] = figures(rows)
    return result


def train(
    corpus_path: str | Path | None = None,
    *,
    seed: int = 0,
    extra_posts: Sequence[dict] = (),
    held_out_path: str | Path | None = None,
) -> TrainingResult:
    """Score a model trained on 80% of the corpus on the held-out 20%, then ship one trained on all of
    it and score that on the held-out set written apart (ranking/corpus/heldout.jsonl).

    `extra_posts` (operators' corrections, authors' choices as weak labels with a "weight" below 1)
    are added to both trainings. The held-out model only measures; the shipped model has seen every
    post, so its split figures are those of the held-out run (slightly pessimistic for it). No post of
    the held-out set is ever trained on: a training post with the same text is left out."""
    began = time.perf_counter()
    raw = Path(corpus_path or CORPUS_PATH).read_bytes()
    posts = load_corpus(raw)
    extra = check_extra_posts(extra_posts)
    corpus_sha256 = hashlib.sha256(raw).hexdigest()
    try:
        held_out = load_held_out(held_out_path)
    except HeldOutUnavailable as error:
        held_out, held_out_missing = [], str(error)
    held_out_texts = {_text_key(post["text"]) for post in held_out}
    kept_posts = [post for post in posts if _text_key(post["text"]) not in held_out_texts]
    kept_extra = [post for post in extra if _text_key(post["text"]) not in held_out_texts]
    # The version names what was trained on: extra posts, and corpus posts left out for the held-out set.
    left_out = sorted(_text_key(post["text"]) for post in posts if _text_key(post["text"]) in held_out_texts)
    extra_sha256 = (
        hashlib.sha256(json.dumps([kept_extra, left_out], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        if kept_extra or left_out
        else ""
    )

    train_index, test_index = _held_out_split(kept_posts, seed=seed)
    measured = Tagger(
        version="held-out", heads=_fit([kept_posts[index] for index in train_index] + kept_extra, seed=seed)
    )
    metrics = _evaluate(measured, [kept_posts[index] for index in test_index])
    metrics["split"] = {
        "train_posts": len(train_index),
        "held_out_posts": len(test_index),
        "seed": seed,
        "method": f"1 of {HELD_OUT_FOLDS} folds, stratified by content type, grouped by corpus skeleton",
    }

    version = model_version(corpus_sha256=corpus_sha256, seed=seed, extra_sha256=extra_sha256)
    tagger = Tagger(version=version, heads=_fit(kept_posts + kept_extra, seed=seed))
    artifact = tagger.to_bytes()
    metrics["shipped"] = {
        "trained_on_posts": len(kept_posts),
        "extra_posts": len(kept_extra),
        "extra_weight": float(sum(post.get("weight", 1.0) for post in kept_extra)),
        "left_out_as_held_out": len(posts) - len(kept_posts) + len(extra) - len(kept_extra),
        "artifact_bytes": len(artifact),
        "features": FEATURES,
        "content_model": CONTENT_MODEL,
        "temperature": tagger.heads.content_type_temperature,
    }
    if held_out:
        metrics["held_out_set"] = {"path": str(held_out_path or HELD_OUT_PATH), **evaluate_held_out(tagger, held_out)}
    else:
        metrics["held_out_set"] = {"available": False, "reason": held_out_missing}
    return TrainingResult(
        version=version,
        tagger=tagger,
        artifact=artifact,
        corpus_sha256=corpus_sha256,
        metrics=metrics,
        seconds=time.perf_counter() - began,
    )


# The candidates `compare_models` measures: (name, features, content-type model, one model per language).
CANDIDATES: tuple[tuple[str, str, str, bool], ...] = (
    ("char n-grams + LinearSVC (shipped)", "char", "svc", False),
    ("char n-grams + LogisticRegression", "char", "logreg", False),
    ("char n-grams + ComplementNB", "char", "complement_nb", False),
    ("char + word n-grams + LinearSVC", "char+word", "svc", False),
    ("char + word n-grams + LogisticRegression", "char+word", "logreg", False),
    ("char n-grams + LinearSVC per language", "char", "svc", True),
    ("char + word n-grams + LinearSVC per language", "char+word", "svc", True),
)


def compare_models(
    corpus_path: str | Path | None = None, *, seed: int = 0, held_out_path: str | Path | None = None
) -> list[dict]:
    """Content-type macro-F1 of each candidate (features and model, one model or one per language),
    trained on the same posts: on the corpus's held-out fold (trained on the rest), and on the held-out
    set (trained on the whole corpus), overall and per language; with the seconds each took to train
    and to tag the held-out set. The language of a post is the one a LinearSVC on the same features
    predicts, as tagging would."""
    posts = load_corpus(Path(corpus_path or CORPUS_PATH).read_bytes())
    try:
        held_out = load_held_out(held_out_path)
    except HeldOutUnavailable:
        held_out = []
    train_index, test_index = _held_out_split(posts, seed=seed)
    fold_train = [posts[index] for index in train_index]
    fold_test = [posts[index] for index in test_index]

    def fit_and_predict(
        features: str, model: str, per_language: bool, train_posts: Sequence[dict], test_posts: Sequence[dict]
    ) -> tuple[list[str], float, float]:
        began = time.perf_counter()
        vectorizer = _vectorizer(features)
        matrix = vectorizer.fit_transform([features_text(clean_text(post["text"])) for post in train_posts])
        types = np.array([post["content_type"] for post in train_posts])
        languages = np.array([post["language"] for post in train_posts])
        if per_language:
            models = {
                language: _content_classifier(model, seed=seed).fit(
                    matrix[languages == language], types[languages == language]
                )
                for language in LANGUAGES
            }
            language_model = LinearSVC(C=1.0, class_weight="balanced", random_state=seed).fit(matrix, languages)
        else:
            single = _content_classifier(model, seed=seed).fit(matrix, types)
        fitted = time.perf_counter() - began
        began = time.perf_counter()
        test = vectorizer.transform([features_text(clean_text(post["text"])) for post in test_posts])
        if per_language:
            predicted_languages = language_model.predict(test)
            predicted = np.empty(len(test_posts), dtype=object)
            for language, language_types in models.items():
                rows = predicted_languages == language
                if rows.any():
                    predicted[rows] = language_types.predict(test[rows])
        else:
            predicted = single.predict(test)
        return predicted.tolist(), fitted, time.perf_counter() - began

    def macro_f1(test_posts: Sequence[dict], predicted: Sequence[str], language: str | None = None) -> float | None:
        rows = [index for index, post in enumerate(test_posts) if language in (None, post["language"])]
        if not rows:
            return None
        truth = [test_posts[index]["content_type"] for index in rows]
        return _type_scores(truth, [predicted[index] for index in rows])["macro_f1"]

    table = []
    for name, features, model, per_language in CANDIDATES:
        fold_predicted, _fit_seconds, _tag_seconds = fit_and_predict(
            features, model, per_language, fold_train, fold_test
        )
        row = {
            "name": name,
            "features": features,
            "model": model,
            "per_language": per_language,
            "split_macro_f1": macro_f1(fold_test, fold_predicted),
            **{f"split_macro_f1_{language}": macro_f1(fold_test, fold_predicted, language) for language in LANGUAGES},
        }
        if held_out:
            predicted, fit_seconds, tag_seconds = fit_and_predict(features, model, per_language, posts, held_out)
            row["held_out_macro_f1"] = macro_f1(held_out, predicted)
            for language in LANGUAGES:
                row[f"held_out_macro_f1_{language}"] = macro_f1(held_out, predicted, language)
            row["fit_seconds"], row["tag_posts_per_second"] = fit_seconds, len(held_out) / max(tag_seconds, 1e-9)
        table.append(row)
    return table


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
