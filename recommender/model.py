"""The recommender's model: per-subscriber linear rankers over paper features.

Pure module: plain data in, plain data out. It reads no clock and touches no database; its
only I/O is the embedding model loading its weights when first asked to embed. Importing it
does not import torch or sentence-transformers. The design, and why (with the benchmark
history), is in ``docs/model.md``.

Over 500 lines on purpose: training, bulk scoring and explanations share one model layout
(weights, bias, tastes) and its validation; split, each half would have to know the other's.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from recommender.embeddings import (
    DEFAULT_MODEL,
    Embedder,
    EmbeddingsUnavailable,
    embeddings_available,
    paper_text,
)
from recommender.features import (
    FeatureSpace,
    FeatureSpaceMismatch,
    PaperVectors,
    feature_columns,
    link_only_terms,
    paper_term_texts,
    stop_word_spans,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_PARAMS",
    "Embedder",
    "EmbeddingsUnavailable",
    "Evaluation",
    "Explanation",
    "FeatureSpace",
    "FeatureSpaceMismatch",
    "ModelMatrix",
    "PaperVectors",
    "RatedPapers",
    "TrainingParams",
    "UserModel",
    "cross_validate",
    "embeddings_available",
    "explain",
    "explain_many",
    "paper_text",
    "profile_texts",
    "score",
    "stack_models",
    "train",
    "update",
]

# --------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class TrainingParams:
    """Knobs of :func:`train` (defaults tuned on ``benchmarks/quality.py``)."""

    solver: str = "centroid"  # "centroid" (strong-regularisation limit) or "ridge" (exact)
    alpha: float = 1.0  # L2 regularisation strength (solver "ridge")
    prior_weight: float = 1.0  # weight of one profile pseudo-positive, relative to a thumbs-up
    down_weight: float = 0.25  # weight of one thumbs-down
    weak_weight: float = 1.0  # weight of one weak negative (unrated paper)
    balance: bool = True  # give positives and negatives equal total weight
    # Several tastes: up to ``tastes`` unit vectors in the embedding block (the liked and
    # up-rated papers, clustered when there are more). The share ``taste_weight`` (0 to 1) of
    # the positives' centroid in the embedding block is replaced by the taste closest to each
    # paper: 0 keeps one taste (the linear model alone), 1 scores each paper by the cluster
    # it is nearest, as if each taste had its own centroid model. Solver "centroid" only.
    tastes: int = 0
    taste_weight: float = 0.0
    # Interest phrases (see train's ``interests``): the weight of one, relative to a thumbs-up;
    # in spaces with embeddings, the most each block of a phrase is scaled by to pull its
    # papers as a liked paper would (1: not scaled), and whether a phrase's embedding gets the
    # catalogue's common direction (see _as_query).
    interest_weight: float = 1.0
    interest_pull: float = 10.0
    interest_centre: bool = True
    # A learner that grows with the ratings: from ``learner_from`` ratings (ups and downs),
    # the ``learner`` solver instead of ``solver``. 0: never.
    learner: str = "ridge"
    learner_from: int = 0


DEFAULT_PARAMS = TrainingParams()

# The knobs that differ by embedding model, by its id. WordLlama's static vectors (a mean of
# token vectors) let a typed phrase pull its papers up less than a sentence model's: the
# issue-16 newcomer (three phrases, the real dumps) has all three topics in its top 5 from a
# cap of 30 (at 20, no mixture-of-experts paper); see benchmarks/RESULTS.md for what it costs.
PARAMS_BY_EMBEDDING_MODEL = {
    "wordllama-l2-supercat-256": replace(DEFAULT_PARAMS, interest_pull=30.0),
}


def params_for(space: FeatureSpace) -> TrainingParams:
    """The training parameters of ``space``: :data:`DEFAULT_PARAMS`, unless its embedding
    model has its own (:data:`PARAMS_BY_EMBEDDING_MODEL`)."""
    return PARAMS_BY_EMBEDDING_MODEL.get(space.embedding_model or "", DEFAULT_PARAMS)


# The recipe :func:`train` follows, stored with each model: a model of an older recipe is
# retrained rather than reused (``ranking.Ranker.models_for``), like one of another space.
# 0: before issue 16; 1: interest phrases weighed as queries.
TRAINING_RECIPE = 1


@dataclass(frozen=True)
class Centroids:
    """What a centroid model (:func:`train`'s default solver, balanced) keeps so that one more
    vote changes it without a refit (:func:`update`): the positive examples' weighted mean
    (sparse: the embedding block and the few words of a profile and its liked papers), the
    two classes' total weights (a thumbs-up weighs 1), and the length of the difference of the
    two means, the negatives' mean being ``positives - difference_norm * weights``."""

    positives_index: np.ndarray  # int32, the columns of the nonzero entries of the mean
    positives_value: np.ndarray  # float32, their values
    positive_weight: float
    negative_weight: float
    difference_norm: float
    updates: int = 0  # votes taken by :func:`update` since the model was trained in full


@dataclass
class UserModel:
    """One subscriber's ranker: ``score(x) = weights @ x + bias`` in space ``feature_space_id``."""

    weights: np.ndarray  # float32, shape (space.dim,)
    bias: float
    feature_space_id: str
    n_up: int = 0
    n_down: int = 0
    n_prior: int = 0
    n_weak: int = 0
    # unit rows in the embedding block, one a taste; shape (0, 0) for none
    tastes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    taste_weight: float = 0.0
    recipe: int = 0  # the TRAINING_RECIPE it was trained by
    centroids: Centroids | None = None  # None: :func:`update` cannot change it

    def __post_init__(self) -> None:
        self.weights = np.ascontiguousarray(self.weights, dtype=np.float32).ravel()
        self.bias = float(self.bias)
        self.tastes = np.ascontiguousarray(self.tastes, dtype=np.float32)
        if self.tastes.size == 0:
            self.tastes = np.zeros((0, 0), np.float32)
        self.taste_weight = float(self.taste_weight)

    def to_bytes(self) -> bytes:
        """Serialise (a JSON header line, then the raw little-endian float32 weights)."""
        header = {
            "format": 2 if len(self.tastes) else 3 if self.centroids else 1,
            "bias": self.bias,
            "feature_space_id": self.feature_space_id,
            "dim": int(self.weights.size),
            "n_up": self.n_up,
            "n_down": self.n_down,
            "n_prior": self.n_prior,
            "n_weak": self.n_weak,
            "recipe": self.recipe,
        }
        body = self.weights.astype("<f4").tobytes()
        if len(self.tastes):
            header["tastes"] = list(self.tastes.shape)
            header["taste_weight"] = self.taste_weight
            body += self.tastes.astype("<f4").tobytes()
        elif self.centroids is not None:
            c = self.centroids
            header["centroids"] = {
                "positive_weight": c.positive_weight,
                "negative_weight": c.negative_weight,
                "difference_norm": c.difference_norm,
                "updates": c.updates,
                "nonzero": int(c.positives_index.size),
            }
            body += c.positives_index.astype("<i4").tobytes()
            body += c.positives_value.astype("<f4").tobytes()
        return json.dumps(header).encode() + b"\n" + body

    @classmethod
    def from_bytes(cls, data: bytes) -> UserModel:
        head, _, body = data.partition(b"\n")
        h = json.loads(head)
        if h.get("format") not in (1, 2, 3):
            raise ValueError(f"unknown model format {h.get('format')!r}")
        centroids = None
        if h["format"] == 3:
            c = h["centroids"]
            n, end = c["nonzero"], len(body) - 8 * c["nonzero"]
            if end < 0:
                raise ValueError("truncated model")
            centroids = Centroids(
                np.frombuffer(body, dtype="<i4", count=n, offset=end).astype(np.int32),
                np.frombuffer(body, dtype="<f4", count=n, offset=end + 4 * n).astype(np.float32),
                c["positive_weight"],
                c["negative_weight"],
                c["difference_norm"],
                c["updates"],
            )
            body = body[:end]
        values = np.frombuffer(body, dtype="<f4").astype(np.float32)
        k, e = h.get("tastes", (0, 0))
        if values.size != h["dim"] + k * e:
            raise ValueError("truncated model")
        weights, tastes = values[: h["dim"]], values[h["dim"] :].reshape(k, e)
        return cls(
            weights,
            h["bias"],
            h["feature_space_id"],
            h["n_up"],
            h["n_down"],
            h["n_prior"],
            h["n_weak"],
            tastes,
            h.get("taste_weight", 0.0),
            h.get("recipe", 0),
            centroids,
        )


@dataclass
class ModelMatrix:
    """Many user models stacked for bulk scoring: row ``i`` is user ``keys[i]``."""

    weights: np.ndarray  # float32, (n_users, dim), C order
    biases: np.ndarray  # float32, (n_users,)
    feature_space_id: str
    keys: list[Any] = field(default_factory=list)
    # each user's tastes (unit rows in the embedding block) and their weight; None: none
    tastes: list[np.ndarray] | None = None
    taste_weights: np.ndarray | None = None


@dataclass(frozen=True)
class RatedPapers:
    """Papers a subscriber rated (or liked in their profile), for explanations, and the terms
    of every text they gave as a sign of what they like (``own_terms``: phrases, ``about``,
    liked and rated-up papers; :func:`recommender.features.text_terms`). An explanation names
    only terms among them: one the model weighs up only through a hashed column it shares
    with another term is not. None: not checked."""

    ids: Sequence[Any]
    titles: Sequence[str]
    vectors: PaperVectors
    votes: Sequence[int]  # +1 up / liked, -1 down
    own_terms: frozenset[str] | None = None
    # Which are liked in the profile rather than rated (one flag a paper; empty: none is).
    in_profile: Sequence[bool] = ()


# How alike (cosine, in the feature space) a paper must be to one the subscriber rated up for
# an explanation to call it "close to" that paper. Measured: in a words-only space (the
# model tests' twelve papers of three topics) same-topic pairs have a median of 0.30 and
# other-topic pairs at most 0.22; with MiniLM embeddings (the demo catalogue) papers on other
# topics than the one rated paper came out at 0.15-0.41.
CLOSE_ENOUGH = {"words": 0.25, "embeddings": 0.5}
# Other embedding models, by id, at the rate of the sentence model's 0.5: on the three real
# dumps 3.1% of the pairs of a paper on one of issue 16's three topics and a paper not on it
# reach 0.5 with all-MiniLM-L6-v2; WordLlama's static vectors are more alike throughout
# (median 0.39 against 0.31), and 3.1% of those pairs reach 0.552.
CLOSE_ENOUGH_BY_MODEL = {"wordllama-l2-supercat-256": 0.552}


@dataclass(frozen=True)
class Explanation:
    score: float
    terms: list[str]  # words/phrases as they occur in the paper, strongest first
    term_contributions: list[float]  # their share of the score
    similar_paper_id: Any = None
    similar_paper_title: str | None = None
    similarity: float | None = None  # cosine similarity to that paper
    similar_in_profile: bool = False  # that paper is liked in the profile, not rated up

    @property
    def reasons(self) -> list[str]:
        """The explanation as short readable phrases, as digests show them."""
        out = []
        if self.terms:
            out.append("about " + ", ".join(f"“{t}”" for t in self.terms))
        if self.similar_paper_title:
            rated = self.similar_paper_id is not None and not self.similar_in_profile
            how = "you rated up" if rated else "in your profile"
            out.append(f"close to “{self.similar_paper_title}” ({how})")
        return out or ["ranked by your profile as a whole"]


@dataclass(frozen=True)
class Evaluation:
    """Cross-validated quality of a subscriber's model on their own ratings."""

    n_up: int
    n_down: int
    folds: int
    auc: float  # ROC AUC of the full model on held-out ratings (0.5 = chance)
    accuracy: float  # share of held-out ratings on the right side of score 0
    prior_only_auc: float | None  # the same for the profile-only model (None without profile)


# --------------------------------------------------------------------------------------------
# helpers


def profile_texts(
    interests: Sequence[str] = (), about: str = "", liked: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """The profile as ``(title, abstract)`` pairs to featurise as prior pseudo-positives."""
    out = [(s.strip(), "") for s in interests if s and s.strip()]
    if about and about.strip():
        out.append(("", about.strip()))
    out.extend((s.strip(), "") for s in liked if s and s.strip())
    return out


def _or_empty(v: PaperVectors | None, space: FeatureSpace) -> PaperVectors:
    if v is None:
        return space.empty()
    space.check(v)
    return v


def _cast_votes(
    rated: PaperVectors, votes: Sequence[int] | np.ndarray
) -> tuple[PaperVectors, np.ndarray]:
    """The rated vectors and their votes as floats, without the cleared (zero) votes."""
    v = np.asarray(votes, dtype=np.float64).ravel()
    if v.size != len(rated):
        raise ValueError(f"{len(rated)} rated vectors but {v.size} votes")
    if (v != 0).all():
        return rated, v
    keep = np.flatnonzero(v != 0)
    return rated[keep], v[keep]


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


# --------------------------------------------------------------------------------------------
# training


def train(
    space: FeatureSpace,
    prior: PaperVectors | None = None,
    rated: PaperVectors | None = None,
    votes: Sequence[int] | np.ndarray = (),
    weak_negatives: PaperVectors | None = None,
    *,
    params: TrainingParams | None = None,
    interests: PaperVectors | None = None,
) -> UserModel:
    """Fit one subscriber's model.

    ``interests``: vectors of the profile's interest phrases, one a phrase (weighed as
    queries: see :class:`TrainingParams`); ``prior``: vectors of the rest of the profile,
    ``about`` and liked papers (see :func:`profile_texts`); ``rated`` with ``votes``
    (``> 0`` up, ``< 0`` down, ``0`` ignored): the subscriber's ratings; ``weak_negatives``:
    vectors of papers they did not rate (a random sample of the catalogue). All may be empty.
    ``params``: :func:`params_for` the space by default. Raises
    :class:`FeatureSpaceMismatch` for vectors of another space.
    """
    params = params_for(space) if params is None else params
    p = _or_empty(prior, space)
    r = _or_empty(rated, space)
    w = _or_empty(weak_negatives, space)
    q = _as_query(_or_empty(interests, space), w, params)
    r, v = _cast_votes(r, votes)
    counts = {
        "recipe": TRAINING_RECIPE,
        "n_up": int((v > 0).sum()),
        "n_down": int((v < 0).sum()),
        "n_prior": len(q) + len(p),
        "n_weak": len(w),
    }
    parts = [q, p, r, w]  # stacked only where a solver needs one matrix (ridge)
    pos = np.concatenate([np.ones(len(q) + len(p), bool), v > 0, np.zeros(len(w), bool)])
    sw = np.concatenate(
        [
            np.full(len(q), params.interest_weight),
            np.full(len(p), params.prior_weight),
            np.where(v > 0, 1.0, params.down_weight),
            np.full(len(w), params.weak_weight),
        ]
    )
    neg = ~pos
    if not pos.any() and not neg.any():
        return UserModel(np.zeros(space.dim, np.float32), 0.0, space.id, **counts)
    if not pos.any() or not neg.any():
        # one class only: the (signed) weighted centroid ranks by similarity to it
        sign = 1.0 if pos.any() else -1.0
        centroid = _unit(_weighted_sum(parts, sw / sw.sum()))
        return UserModel(sign * centroid, 0.0, space.id, **counts)
    class_weights = float(sw[pos].sum()), float(sw[neg].sum())  # before balancing
    if params.balance:
        sw = sw.copy()
        total = sw.sum()
        sw[pos] *= 0.5 * total / sw[pos].sum()
        sw[neg] *= 0.5 * total / sw[neg].sum()
    y = np.where(pos, 1.0, -1.0)
    solver = params.solver
    if params.learner_from and counts["n_up"] + counts["n_down"] >= params.learner_from:
        solver = params.learner
    centroids = None
    if solver == "ridge":
        weights, bias = _sklearn_ridge(PaperVectors.stack(parts), y, sw, params)
    elif solver == "centroid":
        weights, bias, (positives, weight, norm) = _centroid_limit(parts, y, sw)
        if params.balance:  # the model is the two means' difference: one vote can move them
            # balanced, both classes weigh ``weight``: the means are the sums over it
            index = np.flatnonzero(positives != 0).astype(np.int32)  # a mask: 4x faster
            mean = positives[index] / np.float32(weight)
            centroids = Centroids(index, mean, *class_weights, norm / weight)
    else:
        raise ValueError(f"unknown solver {solver!r}")
    tastes, taste_weight = np.zeros((0, 0), np.float32), 0.0
    if params.tastes and params.taste_weight and space.embedding_dim and solver == "centroid":
        ups = np.concatenate([np.ones(len(q) + len(p), bool), v > 0])
        tastes = _tastes(np.vstack([q.embedding, p.embedding, r.embedding])[ups], params.tastes)
        # the positives' part of the unit weights, in the embedding block
        norm = float(np.linalg.norm(_weighted_sum(parts, sw * y)))
        positives = _weighted_sum(parts, sw * pos)[: space.embedding_dim] / max(norm, 1e-12)
        weights = weights.copy()
        weights[: space.embedding_dim] -= params.taste_weight * positives
        taste_weight = params.taste_weight * float(np.linalg.norm(positives))
        centroids = None
    return UserModel(
        weights,
        bias,
        space.id,
        **counts,
        tastes=tastes,
        taste_weight=taste_weight,
        centroids=centroids,
    )


def update(
    space: FeatureSpace,
    trained: UserModel,
    paper: PaperVectors,
    before: int,
    after: int,
    *,
    params: TrainingParams | None = None,
) -> UserModel | None:
    """``trained`` (a model of ``space``) with one vote changed from ``before`` to ``after``
    (+1 up, -1 down, 0 none) on ``paper`` (one row), without a refit: what :func:`train`
    gives on the same examples with that vote changed, the weak negatives as they were (the
    sample ``trained`` drew).

    The centroid model is the difference of the positives' and the negatives' weighted means,
    so a vote moves one mean (or, changed from up to down, both) by the paper's share of its
    class: a few vector operations, most over the paper's and the positives' columns alone,
    where a training reads every rated paper and a sample of weak negatives. None when
    ``trained`` cannot be updated so, and must be trained afresh: a model without
    :class:`Centroids` (another solver, several tastes, trained before they were kept), a vote
    that would leave a class empty, or one that brings the ratings to
    ``params.learner_from``.
    """
    params = params_for(space) if params is None else params
    c = trained.centroids
    if c is None or not params.balance or len(paper) != 1:
        return None
    if {paper.space_id, trained.feature_space_id} != {space.id}:
        raise FeatureSpaceMismatch(
            f"paper of space {paper.space_id!r}, model of {trained.feature_space_id!r}, "
            f"space {space.id!r}"
        )
    # The paper and the positives' mean as sparse (columns, values); the unnormalised weights
    # ``raw = P - N`` dense. Each step touches the dense vector at the paper's and the
    # positives' columns only, but for a scaling when the negatives' mean moves.
    e = paper.embedding.shape[1]
    # a column may repeat in a row not summed yet: the paper's updates add with np.add.at
    x_index = np.concatenate([np.arange(e), e + paper.words.indices]).astype(np.int32)
    x_value = np.concatenate([paper.embedding[0], paper.words.data]).astype(np.float32)
    p_index, p_value = c.positives_index, c.positives_value
    raw = trained.weights * np.float32(c.difference_norm)
    weights = {True: c.positive_weight, False: c.negative_weight}
    n_up, n_down = trained.n_up, trained.n_down
    for vote, sign in ((before, -1.0), (after, 1.0)):
        if vote == 0:
            continue
        up = vote > 0
        step = sign * (1.0 if up else params.down_weight)
        total = weights[up] + step
        if total <= 1e-6:  # the class would be empty
            return None
        share = np.float32(step / total)  # a mean m becomes m + share * (x - m)
        weights[up] = total
        if up:  # raw gains P's change, share * (x - P)
            np.add.at(raw, x_index, share * x_value)
            raw[p_index] -= share * p_value
            p_index, p_value = _sparse_sum(p_index, (1 - share) * p_value, x_index, share * x_value)
            n_up += int(sign)
        else:  # N = P - raw moves by share * (x - N): raw becomes (1 - share) raw + share (P - x)
            raw *= 1 - share
            raw[p_index] += share * p_value
            np.add.at(raw, x_index, -share * x_value)
            n_down += int(sign)
    if params.learner_from and n_up + n_down >= params.learner_from:
        return None
    norm = float(np.linalg.norm(raw))
    if norm == 0:
        return None
    w = raw / np.float32(norm)
    # bias = -(w.P + w.N) / 2, and w.N = w.P - w.raw = w.P - norm
    bias = -float(w[p_index].astype(np.float64) @ p_value) + 0.5 * norm
    updated = Centroids(p_index, p_value, weights[True], weights[False], norm, c.updates + 1)
    return replace(trained, weights=w, bias=bias, n_up=n_up, n_down=n_down, centroids=updated)


def _sparse_sum(
    a_index: np.ndarray, a_value: np.ndarray, b_index: np.ndarray, b_value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The sum of two sparse vectors given as (columns, values): each column once, sorted
    (``a``'s are so; ``b``'s may repeat). By sorting: NumPy's ``union1d`` hashes, several
    times slower."""
    index = np.concatenate([a_index, b_index])
    order = np.argsort(index, kind="stable")
    index, value = index[order], np.concatenate([a_value, b_value])[order]
    starts = np.flatnonzero(np.concatenate([[True], index[1:] != index[:-1]]))
    return index[starts].astype(np.int32), np.add.reduceat(value, starts).astype(np.float32)


def _as_query(interests: PaperVectors, weak: PaperVectors, params: TrainingParams) -> PaperVectors:
    """The interest phrases' vectors made to weigh in the model as liked papers do.

    A short phrase is not a paper, and in a space with embeddings it does not act like one
    (measured on the real dumps, ``docs/model.md``): (1) its embedding lacks the direction
    all the catalogue's papers share, so subtracting the weak negatives' centroid ranks papers
    by how untypical of the catalogue they are, not by the phrase; (2) its similarities to
    papers spread less than a paper's, in the embedding block (every paper is about as far
    from "mixture of experts") and far less in the word block (a phrase shares its few words
    with a handful of papers), so its words, the most exact thing a person typed, count for
    nothing. So: the phrase's embedding gets as much of the catalogue's mean direction as the
    weak negatives have on average (``params.interest_centre``), and each block of each
    phrase is scaled so that its similarities to the weak negatives spread as widely as a
    typical weak negative's own do, by at most ``params.interest_pull`` (:func:`_pulls`).
    In a words-only space phrases and papers share their one block, and the centroid ranks by
    the phrase already: the phrases are kept as they are (scaling them there lost recall on
    the benchmark).
    """
    if not len(interests) or not interests.embedding.shape[1] or len(weak) < 3:
        return interests
    embedding = interests.embedding
    if params.interest_centre:
        mean = weak.embedding.mean(axis=0)
        size = float(np.linalg.norm(mean))
        if size > 0:
            u = mean / size
            embedding = embedding + np.outer(size - embedding @ u, u).astype(np.float32)
    if params.interest_pull <= 1.0:
        return PaperVectors(embedding, interests.words, interests.space_id)
    pe, pw = _pulls(embedding, interests.words, weak, params.interest_pull)
    return PaperVectors(embedding * pe[:, None], sp.diags(pw) @ interests.words, interests.space_id)


# How many weak negatives the typical spread of a paper's similarities is measured on (each
# against all of them): all 300 cost more than the rest of a training.
TYPICAL_FROM = 48


def _pulls(
    embedding: np.ndarray, words: sp.csr_matrix, weak: PaperVectors, most: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each phrase (its embedding block and word block), the factors that make each
    block's similarities to the weak negatives spread as widely as a typical weak negative's
    own similarities (whole vectors) do; between ``1 / most`` and ``most``."""
    # measured in the embedding block alone: on the real dumps the word block moved it by 1%
    # (0.0896 against 0.0907) and cost most of the time of a training
    some = weak.embedding[: min(len(weak), TYPICAL_FROM)]  # a random sample already
    own = some @ weak.embedding.T
    own[np.arange(len(some)), np.arange(len(some))] = np.nan  # each one's own similarity
    typical = float(np.median(np.nanstd(own, axis=1)))

    def pull(similarities: np.ndarray) -> np.ndarray:
        spread = similarities.std(axis=1)
        factor = np.clip(typical / np.maximum(spread, 1e-12), 1.0 / most, most)
        return factor.astype(np.float32)

    return pull(embedding @ weak.embedding.T), pull(np.asarray((words @ weak.words.T).todense()))


def _tastes(liked: np.ndarray, k: int, iterations: int = 8) -> np.ndarray:
    """Up to ``k`` unit vectors that together stand near every row of ``liked``: the rows
    themselves when there are ``k`` or fewer, else the centres of ``k`` clusters (spherical
    k-means seeded by their mean, then by the row farthest from the seeds so far; deterministic)."""
    units = liked / np.maximum(np.linalg.norm(liked, axis=1, keepdims=True), 1e-12)
    units = units[np.linalg.norm(liked, axis=1) > 0]
    if len(units) <= k:
        return units.astype(np.float32)
    centres = [units.mean(axis=0)]
    for _ in range(k - 1):
        nearest = (units @ np.stack(centres).T).max(axis=1)
        centres.append(units[int(np.argmin(nearest))])
    c = np.stack(centres)
    for _ in range(iterations):
        member = np.argmax(units @ c.T, axis=1)
        for j in range(k):
            rows = units[member == j]
            if len(rows):
                c[j] = rows.sum(axis=0)
        c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return c.astype(np.float32)


def _centroid_limit(
    parts: Sequence[PaperVectors], y: np.ndarray, sw: np.ndarray
) -> tuple[np.ndarray, float, tuple[np.ndarray, float, float]]:
    """Ridge regression in the limit of strong regularisation: ``w ∝ sum_i sw_i y_i x_i``.

    With balanced weights this is the difference of the weighted centroids of the positive and
    negative examples (the rows of ``parts``, one part after another). The bias puts the
    decision threshold midway between the two classes' mean scores: a class's weighted mean
    score is ``w``'s product with its weighted mean, so no example is scored. Costs one pass
    over the examples. Also returns the positives' weighted sum, their total weight and the
    length of the difference of the two sums (what :class:`Centroids` keeps).
    """
    pos = y > 0
    positives, negatives = _weighted_sum(parts, sw * pos), _weighted_sum(parts, sw * ~pos)
    difference = positives - negatives
    norm = float(np.linalg.norm(difference))
    w = difference / np.float32(norm) if norm > 0 else difference
    positive_weight, negative_weight = float(sw[pos].sum()), float(sw[~pos].sum())
    bias = -0.5 * (float(w @ positives) / positive_weight + float(w @ negatives) / negative_weight)
    return w, bias, (positives, positive_weight, norm)


def _weighted_sum(parts: Sequence[PaperVectors], a: np.ndarray) -> np.ndarray:
    """``sum_i a_i x_i`` over the rows of ``parts`` (one after another) as one dense vector of
    the full space. Each part is summed where it is (stacking them cost more than the sums),
    and a part whose weights are all zero is skipped."""
    a32 = np.asarray(a, dtype=np.float32)
    e = parts[0].embedding.shape[1]
    out = np.zeros(parts[0].dim, np.float32)
    start = 0
    for part in parts:
        weights, start = a32[start : start + len(part)], start + len(part)
        if weights.any():
            out[:e] += weights @ part.embedding
            out[e:] += part.words.T @ weights
    if start != len(a32):
        raise ValueError(f"{len(a32)} weights for {start} rows")
    return out


def _sklearn_ridge(
    x: PaperVectors, y: np.ndarray, sw: np.ndarray, params: TrainingParams
) -> tuple[np.ndarray, float]:
    """Weighted ridge regression of ``y`` on ``x`` with an intercept: scikit-learn's ``Ridge``.

    Exact, but about 10 ms per fit on a few hundred examples (``sparse_cg`` on the sparse full
    vectors), which is why the default solver is the closed-form strong-regularisation limit.
    """
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=params.alpha, fit_intercept=True, solver="sparse_cg")
    ridge.fit(x.to_matrix(), y, sample_weight=sw)
    return np.asarray(ridge.coef_, dtype=np.float32).ravel(), float(ridge.intercept_)


# --------------------------------------------------------------------------------------------
# scoring


def _space_of(models: Sequence[UserModel]) -> str:
    """The feature space of ``models``, which must be one."""
    if not models:
        raise ValueError("no models to stack")
    space_id = models[0].feature_space_id
    for m in models:
        if m.feature_space_id != space_id:
            raise FeatureSpaceMismatch(
                f"models of different feature spaces: {space_id} vs {m.feature_space_id}"
            )
    return space_id


def stack_models(models: Sequence[UserModel], keys: Sequence[Any] | None = None) -> ModelMatrix:
    """Stack models of one feature space into a :class:`ModelMatrix` for bulk scoring."""
    space_id = _space_of(models)
    weights = np.empty((len(models), models[0].weights.size), dtype=np.float32)
    for i, m in enumerate(models):
        weights[i] = m.weights
    biases = np.array([m.bias for m in models], dtype=np.float32)
    keyed = list(keys) if keys is not None else []
    if not any(len(m.tastes) for m in models):
        return ModelMatrix(weights, biases, space_id, keyed)
    tastes = [m.tastes for m in models]
    taste_weights = np.array([m.taste_weight for m in models], dtype=np.float32)
    return ModelMatrix(weights, biases, space_id, keyed, tastes, taste_weights)


# Scoring this many models or more at once reads the papers' words by column.
_BY_COLUMN_FROM = 16
# Models per product of the papers' words with their weights. Small enough that the block of
# scores being added to stays in the CPU's cache: on the scale benchmark's day (2,000 papers,
# 881 word features each) a product for 1,000 models took 0.51 s of CPU, four of 256 0.39 s,
# eight of 128 0.35 s, sixteen of 64 0.36 s (benchmarks/RESULTS.md, "Scale").
USERS_PER_PRODUCT = 128


def score(
    models: UserModel | ModelMatrix | Sequence[UserModel],
    papers: PaperVectors,
    *,
    chunk: int = USERS_PER_PRODUCT,
    threads: int | None = None,
) -> np.ndarray:
    """Scores of ``papers`` under one or many models.

    One :class:`UserModel` gives shape ``(n_papers,)``; a :class:`ModelMatrix` or a sequence of
    models gives ``(n_models, n_papers)``. Higher is better; the scores of one model are
    comparable with each other, not across models. Models and papers must be of the same
    feature space (:class:`FeatureSpaceMismatch` otherwise). Users are scored ``chunk`` at a
    time, the chunks shared out over ``threads`` threads (default: one per CPU; the sparse
    and dense products release the interpreter's lock, so they run side by side).
    """
    single = isinstance(models, UserModel)
    if isinstance(models, ModelMatrix):
        space_id, n_models, dim = models.feature_space_id, *models.weights.shape
    else:
        listed = [models] if single else list(models)
        space_id, n_models, dim = _space_of(listed), len(listed), listed[0].weights.size
    if space_id != papers.space_id:
        raise FeatureSpaceMismatch(
            f"model of feature space {space_id}, papers of {papers.space_id}"
        )
    if dim != papers.dim:
        raise FeatureSpaceMismatch(f"papers have {papers.dim} columns, models {dim}")
    e = papers.embedding.shape[1]
    out = np.empty((n_models, len(papers)), dtype=np.float32)
    # Many models: the papers' words by column, so that each model weight is read once.
    words = papers.words_by_column if n_models >= _BY_COLUMN_FROM else papers.words

    # The embedding block and the biases for all models in one dense product (BLAS shares it
    # out over the CPUs itself; run per chunk on the chunks' threads, its threads fought them).
    if isinstance(models, ModelMatrix):
        biases = models.biases
        embedded = models.weights[:, :e] if e else None
    else:
        biases = np.array([m.bias for m in listed], dtype=np.float32)
        embedded = np.stack([m.weights[:e] for m in listed]) if e else None
    out[:] = biases[:, None]
    if embedded is not None:
        out += embedded @ papers.embedding.T

    def score_chunk(lo: int) -> None:
        hi = min(lo + chunk, n_models)
        if isinstance(models, ModelMatrix):
            # (papers x words) @ (words x users): the weights as contiguous columns
            wt = np.ascontiguousarray(models.weights[lo:hi, e:].T)
        else:
            wt = np.empty((dim - e, hi - lo), dtype=np.float32)
            for i, m in enumerate(listed[lo:hi]):  # filled by column: cheaper than a transpose
                wt[:, i] = m.weights[e:]
        out[lo:hi] += np.asarray(words @ wt).T

    starts = range(0, n_models, chunk)
    workers = min(len(starts), threads or os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(score_chunk, starts))
    else:
        for lo in starts:
            score_chunk(lo)
    if isinstance(models, ModelMatrix):
        tastes, taste_weights = models.tastes, models.taste_weights
    else:
        tastes = [m.tastes for m in listed]
        taste_weights = np.array([m.taste_weight for m in listed], dtype=np.float32)
    if tastes is not None and taste_weights is not None:
        _add_tastes(out, tastes, taste_weights, papers.embedding)
    return out[0] if single else out


def _add_tastes(
    out: np.ndarray, tastes: Sequence[np.ndarray], weights: np.ndarray, embedding: np.ndarray
) -> None:
    """Add to each model's row of scores its taste weight times each paper's similarity to
    that model's closest taste: all the tastes in one product."""
    having = [i for i, t in enumerate(tastes) if len(t) and weights[i]]
    if not having or not embedding.shape[1] or not len(embedding):
        return
    stacked = np.concatenate([tastes[i] for i in having])
    if stacked.shape[1] != embedding.shape[1]:
        raise FeatureSpaceMismatch(
            f"tastes of {stacked.shape[1]} columns, embeddings of {embedding.shape[1]}"
        )
    sims = stacked @ embedding.T
    starts = np.cumsum([0] + [len(tastes[i]) for i in having[:-1]])
    closest = np.maximum.reduceat(sims, starts, axis=0)
    out[having] += weights[having, None] * closest


# --------------------------------------------------------------------------------------------
# explanations


# Term layouts kept per process: more than a day's papers.
TERM_LAYOUTS_KEPT = 8192


class _Layout(NamedTuple):
    """A paper's terms as explanations read them (see :func:`_term_layout`)."""

    keys: list[str]  # each distinct term (word or phrase), in order of first occurrence
    surface: dict[str, str]  # a term's text as the paper first writes it
    owners: np.ndarray  # per feature: the term it belongs to (ascending)
    cols: np.ndarray  # per feature: its column in the word block
    share: np.ndarray  # per feature: the term's share of that column in this paper
    own: np.ndarray  # per term: its own column (the word or phrase itself)
    nameable: np.ndarray  # per term: whether it may be named (not only in the paper's links)
    extra: np.ndarray  # per feature: not its term's own column (a word's prefix or gram)
    spans: dict[tuple[str, str], str]  # words hyphenated with "of" in the paper: the span


# Which terms an explanation names (_top_terms). A word counts with its character grams, so a
# word the profile never mentions adds to a score through grams it happens to share with one
# it does ("immature" and "future" through "mixture", "periodically" through "medical": the
# filler the real dumps showed, rare words no document frequency calls filler). So a term is
# named only if the model weighs the term itself up (its own column), not just some of its
# letters. And a word or phrase in more than this share of the catalogue's papers names no
# topic (in an ML catalogue "learning", "model", "data") however much it adds: decided by
# the space's document frequencies (its IDF weights), where the space has them. Where it has
# none (a catalogue too small to count them on, as the demo's), by those of real listings: the
# terms of COMMON_TERMS_FILE (made by scripts/common_terms.py from the real dumps).
MAX_TERM_DOCUMENT_FREQUENCY = 0.2
COMMON_TERMS_FILE = Path(__file__).with_name("common_terms.txt")
# A term named adds at least this share of what the strongest named term adds: below, it is
# not why the paper ranks where it does. A typed phrase often adds 20 to 100 times what any
# other term of its papers adds, and without this the reasons trailed off into the words of
# rated papers' abstracts ("Reinforcement Learning", "RL", "usually", "kind", "useful").
MIN_TERM_SHARE = 0.1


@functools.lru_cache(maxsize=TERM_LAYOUTS_KEPT)
def _term_layout(title: str, abstract: str, tokenizer: str, n_words: int) -> _Layout | None:
    """A paper's term keys, their surface text, the columns they feed with each one's share,
    each term's own column (the word or phrase itself, not its grams) and whether it may be
    named (:func:`link_only_terms`); the same for every subscriber the paper is explained to,
    so kept per process.

    A word's share is that of its own column and of its character grams'; terms of the paper
    that feed one column (a gram of two words, a hash collision) split it equally.
    """
    all_keys, texts = paper_term_texts(title, abstract)
    if not all_keys:
        return None
    keys = list(dict.fromkeys(all_keys))
    surface = dict(zip(reversed(all_keys), reversed(texts), strict=True))  # first occurrences
    owners, cols = feature_columns(keys, tokenizer, n_words)
    _, inverse, n_share = np.unique(cols, return_inverse=True, return_counts=True)
    for array in (owners, cols):
        array.setflags(write=False)
    share = 1.0 / n_share[inverse]
    share.setflags(write=False)
    own = feature_columns(keys, "w1", n_words)[1]  # a term's own column: its key's hash
    own.setflags(write=False)
    in_links_only = link_only_terms(title, abstract)
    nameable = np.array([key not in in_links_only for key in keys], dtype=bool)
    extra = cols != own[owners]
    for array in (nameable, extra):
        array.setflags(write=False)
    spans = stop_word_spans(title, abstract)
    return _Layout(keys, surface, owners, cols, share, own, nameable, extra, spans)


def prepare_explanations(space: FeatureSpace, texts: Iterable[tuple[str, str]]) -> None:
    """Compute the term layouts of papers (title, abstract) that :func:`explain_many` will
    need, ahead of time; they are kept per process (up to :data:`TERM_LAYOUTS_KEPT`)."""
    for title, abstract in itertools.islice(texts, TERM_LAYOUTS_KEPT):
        _term_layout(title, abstract, space.tokenizer, space.n_words)


def explain(
    model: UserModel,
    space: FeatureSpace,
    title: str,
    abstract: str,
    paper: PaperVectors,
    rated: RatedPapers | None = None,
    *,
    n_terms: int = 5,
    value: float | None = None,
) -> Explanation:
    """Why ``model`` scores this paper (``paper``: its one-row vectors) as it does.

    ``value`` is the paper's score under ``model`` where the caller has it already.
    """
    if len(paper) != 1:
        raise ValueError("explain takes the vectors of one paper")
    values = None if value is None else [value]
    (explanation,) = explain_many(
        model, space, [(title, abstract)], paper, [0], rated, n_terms=n_terms, values=values
    )
    return explanation


def explain_many(
    model: UserModel,
    space: FeatureSpace,
    texts: Sequence[tuple[str, str]],
    vectors: PaperVectors,
    rows: Sequence[int],
    rated: RatedPapers | None = None,
    *,
    n_terms: int = 5,
    values: Sequence[float] | None = None,
) -> list[Explanation]:
    """:func:`explain` for several papers under one model: ``texts`` (title and abstract)
    with their vectors at ``rows`` of ``vectors``, and one product for all their similarities
    to the rated papers. ``values``: their scores, where the caller has them already."""
    if model.feature_space_id != space.id:
        raise FeatureSpaceMismatch(
            f"model trained in feature space {model.feature_space_id}, not {space.id}"
        )
    space.check(vectors)
    if len(rows) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(rows)} rows")
    if values is None:
        values = [float(v) for v in score(model, vectors[list(rows)])]
    layouts = [
        _term_layout(title, abstract, space.tokenizer, space.n_words) for title, abstract in texts
    ]
    w_words = model.weights[space.embedding_dim :]
    topical, counted = _column_masks(space)
    own = None if rated is None else rated.own_terms
    terms = _top_terms(layouts, vectors.words, rows, w_words, n_terms, topical, counted, own)
    if rated is None or len(rated.ids) == 0:
        similar: list[tuple[Any, str | None, float | None, bool]] = [
            (None, None, None, False)
        ] * len(rows)
    else:
        similar = _most_similar(space, vectors[list(rows)], rated)
    return [
        Explanation(float(value), chosen, contribs, *similar_to)
        for value, (chosen, contribs), similar_to in zip(values, terms, similar, strict=True)
    ]


# Each feature space's column masks (_column_masks), by space id: a process has one or two.
_MASKS: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
_MASKS_KEPT = 4


def _column_masks(space: FeatureSpace) -> tuple[np.ndarray, np.ndarray | None]:
    """The space's :func:`_topical` columns and the columns with a weight of their own (IDF
    above 0; None without IDF weights): the same for every explanation in the space, so
    computed once, not for every subscriber's explanations."""
    masks = _MASKS.get(space.id)
    if masks is None:
        masks = (_topical(space), None if space.idf is None else space.idf > 0)
        for array in masks:
            if array is not None:
                array.setflags(write=False)
        if len(_MASKS) >= _MASKS_KEPT:
            _MASKS.clear()
        _MASKS[space.id] = masks
    return masks


def _topical(space: FeatureSpace) -> np.ndarray:
    """Which columns of the word block are topical enough to name in an explanation: a word
    or phrase in at most :data:`MAX_TERM_DOCUMENT_FREQUENCY` of the papers the space's IDF
    weights were counted on; where the space has none, one not in :data:`COMMON_TERMS_FILE`
    (:func:`_not_common`)."""
    if space.idf is None:
        return _not_common(space.n_words)
    # fit_idf: idf = ln((1 + n) / (1 + df)) + 1, so df / n is about exp(1 - idf); a column
    # of idf 0 is one cut off as too common (or too rare) to tell papers apart
    return (space.idf > 0) & (np.exp(1.0 - space.idf) <= MAX_TERM_DOCUMENT_FREQUENCY)


@functools.cache
def _not_common(n_words: int) -> np.ndarray:
    """The columns of a word block of ``n_words`` that no term of :data:`COMMON_TERMS_FILE`
    owns (the terms too common in real listings to name a topic)."""
    lines = COMMON_TERMS_FILE.read_text(encoding="utf-8").splitlines()
    terms = [line for line in lines if line and not line.startswith("#")]
    topical = np.ones(n_words, dtype=bool)
    topical[feature_columns(terms, "w1", n_words)[1]] = False
    topical.setflags(write=False)
    return topical


def _top_terms(
    layouts: Sequence[_Layout | None],
    words: sp.csr_matrix,
    rows: Sequence[int],
    w_words: np.ndarray,
    n_terms: int,
    topical: np.ndarray | None = None,
    counted: np.ndarray | None = None,
    own_terms: frozenset[str] | None = None,
) -> list[tuple[list[str], list[float]]]:
    """For each paper (its term layout, its word vector at ``rows`` of ``words``), the terms
    that add most to its score, strongest first, each with its share of the score: only
    terms the model weighs up themselves (their own column, not just their character grams)
    and throughout (:func:`_words_weighed_up_throughout`,
    :func:`_phrase_weighed_up_throughout`; ``counted``: the columns that have weights), only
    ``topical`` ones (a term whose own column is False there is filler), none found only
    in the paper's links (a host or a path), and, given ``own_terms`` (the terms of the
    subscriber's own texts: :class:`RatedPapers`), only terms among them; of those chosen,
    none adding under :data:`MIN_TERM_SHARE` of what the strongest adds.

    Their terms' contributions are computed for all the papers at once, in one weighted count;
    each paper's are then read strongest first (:func:`_strongest_first`) until enough terms
    are chosen.
    """
    present = [(n, layout) for n, layout in enumerate(layouts) if layout is not None]
    out: list[tuple[list[str], list[float]]] = [([], []) for _ in layouts]
    if not present:
        return out
    sizes = [len(layout.keys) for _, layout in present]
    starts = [0, *itertools.accumulate(sizes)]
    owners = np.concatenate(
        [layout.owners + start for (_, layout), start in zip(present, starts[:-1], strict=True)]
    )
    cols = np.concatenate([layout.cols for _, layout in present])
    share = np.concatenate([layout.share for _, layout in present])
    # each paper's vector at its terms' columns, read through one dense scratch row
    scratch = np.zeros(words.shape[1], dtype=words.dtype)
    parts = []
    for n, layout in present:
        lo, hi = words.indptr[rows[n]], words.indptr[rows[n] + 1]
        scratch[words.indices[lo:hi]] = words.data[lo:hi]
        parts.append(scratch[layout.cols])
        scratch[words.indices[lo:hi]] = 0
    values = np.concatenate(parts)
    weights = w_words[cols]
    contrib = np.bincount(owners, weights * values * share, minlength=starts[-1])
    extra = np.concatenate([layout.extra for _, layout in present])
    words_throughout = _words_weighed_up_throughout(owners, cols, extra, weights, counted)
    for k, (n, layout) in enumerate(present):
        chosen, chosen_keys, contribs = out[n][0], [], out[n][1]
        own = contrib[starts[k] : starts[k + 1]]
        for i, value in _strongest_first(own, 3 * n_terms):
            if value <= 0 or len(chosen) >= n_terms:
                break
            column = layout.own[i]
            if w_words[column] <= 0 or (topical is not None and not topical[column]):
                continue
            if not layout.nameable[i]:  # only in the paper's links
                continue
            key = layout.keys[i]
            if not words_throughout[starts[k] + i]:
                continue
            if own_terms is not None and key not in own_terms:
                continue
            if " " in key and not _phrase_weighed_up_throughout(layout, key, w_words, counted):
                continue
            _name(chosen, chosen_keys, contribs, key, layout.surface[key], value)
        if layout.spans and len(chosen_keys) > 1:
            _join_spans(chosen, chosen_keys, contribs, layout.spans)
        if contribs:
            floor = MIN_TERM_SHARE * max(contribs)
            kept = [j for j, value in enumerate(contribs) if value >= floor]
            chosen[:] = [chosen[j] for j in kept]
            contribs[:] = [contribs[j] for j in kept]
    return out


def _name(
    texts: list[str], keys: list[str], contribs: list[float], key: str, text: str, value: float
) -> None:
    """Add a term (``key``, its ``text`` in the paper, what it adds) to a paper's named terms
    without saying a thing twice: a word or phrase inside a phrase named already is skipped; a
    phrase that shares a word at its end with one named already joins it ("Retrieval-Augmented"
    and "Augmented Generation": "Retrieval-Augmented Generation"); and a phrase takes the place
    of its words named before it (where the first of them was), adding what they added."""
    if " " not in key:  # a word: named unless a phrase named already holds it
        if not any(" " in k and key in k.split(" ") for k in keys):
            texts.append(text), keys.append(key), contribs.append(value)
        return
    words = key.split(" ")
    phrases = [(j, k.split(" ")) for j, k in enumerate(keys) if " " in k]
    if any(set(words) <= set(other) for _, other in phrases):
        return
    at = len(keys)
    for j, other in phrases:
        if other[-1] == words[0] and _starts_with(text, words[0]):  # the other, then this
            text, key = texts[j] + text[len(words[0]) :], " ".join(other + words[1:])
        elif words[-1] == other[0] and _starts_with(texts[j], other[0]):  # this, then the other
            text, key = text + texts[j][len(other[0]) :], " ".join(words + other[1:])
        else:
            continue
        value += contribs[j]
        del texts[j], keys[j], contribs[j]
        at = j
        break
    words = key.split(" ")  # joined with another phrase, it holds that one's words too
    inside = [j for j, k in enumerate(keys) if k in words]
    value += sum(contribs[j] for j in inside)
    at = min([at, *inside])  # no word removed below comes before it
    for j in reversed(inside):
        del texts[j], keys[j], contribs[j]
    texts.insert(at, text)
    keys.insert(at, key)
    contribs.insert(at, value)


def _join_spans(
    texts: list[str], keys: list[str], contribs: list[float], spans: dict[tuple[str, str], str]
) -> None:
    """Name two words named apart as the paper hyphenates them with "of" ("Mixture",
    "Experts": "Mixture-of-Experts"; :func:`~recommender.features.stop_word_spans`), where the
    first of them was, adding what they added."""
    for (first, second), span in spans.items():
        if first not in keys or second not in keys:  # (a word joined already is no key)
            continue
        i, j = keys.index(first), keys.index(second)
        at, other = min(i, j), max(i, j)
        texts[at], keys[at] = span, f"{first} of {second}"
        contribs[at] = contribs[i] + contribs[j]
        del texts[other], keys[other], contribs[other]


def _starts_with(text: str, word: str) -> bool:
    """Whether ``text`` begins with ``word`` as its key has it (so it can be cut there)."""
    return text[: len(word)].lower().replace("’", "'") == word


def _words_weighed_up_throughout(
    owners: np.ndarray,
    cols: np.ndarray,
    extra: np.ndarray,
    weights: np.ndarray,
    counted: np.ndarray | None,
) -> np.ndarray:
    """Per term (``owners`` of the features at ``cols``, ``weights`` the model's weights
    there): whether the model weighs up most of the columns a word feeds wherever it occurs
    besides its own, its ``extra`` columns: its prefix (that one) or its character grams (more
    than half of them: each is shared with many other words, and a few may be weighed down by
    the papers the subscriber did not like). Columns without a weight of their own
    (``counted`` False: IDF 0, too common or too rare to count) aside; a term with no such
    column (a short word, a phrase: :func:`_phrase_weighed_up_throughout`) passes.

    A word of the subscriber's phrases and papers feeds all of them, so they are weighed up
    with it. A word whose own column is weighed up only because a term of the profile hashes
    to the same column (in 2**14 columns "complexity" shares one with the prefix of
    "mixture") has its other columns unweighed, and is not named. For random profiles on the
    real dumps the share of named terms found in the subscriber's own texts went from 79% to
    92% (liked papers, with embeddings) and from 83-89% to 99-100% (interest phrases):
    ``benchmarks/reasons.py``.
    """
    considered = extra if counted is None else extra & counted[cols]
    n_considered = np.bincount(owners, considered)  # every term has a feature: its own column
    n_up = np.bincount(owners, considered & (weights > 0), minlength=len(n_considered))
    return (n_considered == 0) | (2 * n_up > n_considered)


def _phrase_weighed_up_throughout(
    layout: _Layout, key: str, w_words: np.ndarray, counted: np.ndarray | None
) -> bool:
    """Whether the model weighs up each word of the phrase ``key`` (their own columns, those
    without a weight of their own aside): as :func:`_words_weighed_up_throughout` for words,
    a phrase of the profile brings its words along, one that only shares a column does not."""
    for word in key.split(" "):
        try:  # a phrase's words are the paper's terms too (a scan: layouts keep no index)
            column = layout.own[layout.keys.index(word)]
        except ValueError:
            continue
        if (counted is None or counted[column]) and w_words[column] <= 0:
            return False
    return True


def _strongest_first(values: np.ndarray, first: int) -> Iterator[tuple[int, float]]:
    """Each value's index and the value, largest first, ties in index order: the ``first``
    largest (and any tied with them) sorted at once, the others only if asked for."""
    if len(values) > first:
        threshold = np.partition(values, len(values) - first)[len(values) - first]
        parts = [np.flatnonzero(values >= threshold), np.flatnonzero(values < threshold)]
    else:
        parts = [np.arange(len(values))]
    for part in parts:
        ordered = part[np.argsort(-values[part], kind="stable")]
        yield from zip(ordered.tolist(), values[ordered].tolist(), strict=True)


def _most_similar(
    space: FeatureSpace, papers: PaperVectors, rated: RatedPapers
) -> list[tuple[Any, str | None, float | None, bool]]:
    """For each paper, the rated paper (a liked one if any) most like it: id, title, cosine,
    and whether it is liked in the profile; id and title are None (and the flag False) where
    even that one is not alike enough (:data:`CLOSE_ENOUGH`)."""
    space.check(rated.vectors)
    rv = rated.vectors
    sims = rv.embedding @ papers.embedding.T + np.asarray((rv.words @ papers.words.T).todense())
    norms = np.sqrt(
        (rv.embedding**2).sum(axis=1) + np.asarray(rv.words.multiply(rv.words).sum(axis=1)).ravel()
    )
    own = np.sqrt(
        (papers.embedding**2).sum(axis=1)
        + np.asarray(papers.words.multiply(papers.words).sum(axis=1)).ravel()
    )
    sims = sims / np.maximum(norms[:, None] * own[None, :], 1e-12)
    votes = np.asarray(rated.votes)
    candidates = np.flatnonzero(votes > 0)
    if candidates.size == 0:
        candidates = np.arange(len(rated.ids))
    enough = CLOSE_ENOUGH_BY_MODEL.get(
        space.embedding_model or "", CLOSE_ENOUGH["embeddings" if space.has_embeddings else "words"]
    )
    out: list[tuple[Any, str | None, float | None, bool]] = []
    for column in sims.T:
        best = int(candidates[np.argmax(column[candidates])])
        similarity = float(column[best])
        if similarity < enough:  # no paper is named: "close to" would not be true
            out.append((None, None, similarity, False))
            continue
        in_profile = bool(rated.in_profile[best]) if len(rated.in_profile) else False
        out.append((rated.ids[best], rated.titles[best], similarity, in_profile))
    return out


# --------------------------------------------------------------------------------------------
# evaluation


def cross_validate(
    space: FeatureSpace,
    prior: PaperVectors | None,
    rated: PaperVectors,
    votes: Sequence[int] | np.ndarray,
    weak_negatives: PaperVectors | None = None,
    *,
    folds: int = 5,
    seed: int = 0,
    params: TrainingParams | None = None,
    interests: PaperVectors | None = None,
) -> Evaluation:
    """How well the model predicts the subscriber's own ratings, by stratified k-fold CV.

    Needs at least two ups and two downs (``ValueError`` otherwise); ``folds`` is reduced to the
    size of the smaller class when needed.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    r, v = _cast_votes(_or_empty(rated, space), votes)
    y = (v > 0).astype(np.int64)
    n_up, n_down = int(y.sum()), int((1 - y).sum())
    if n_up < 2 or n_down < 2:
        raise ValueError(
            "cross-validation needs at least 2 thumbs up and 2 thumbs down "
            f"(have {n_up} up, {n_down} down)"
        )
    k = max(2, min(folds, n_up, n_down))
    p = _or_empty(prior, space)
    q = _or_empty(interests, space)
    scores = np.zeros(len(y))
    prior_scores = np.zeros(len(y))
    prior_model = (
        train(space, p, None, (), weak_negatives, params=params, interests=q)
        if len(p) or len(q)
        else None
    )
    splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    for tr, te in splitter.split(np.zeros(len(y)), y):
        m = train(space, p, r[tr], v[tr], weak_negatives, params=params, interests=q)
        scores[te] = score(m, r[te])
        if prior_model is not None:
            prior_scores[te] = score(prior_model, r[te])
    return Evaluation(
        n_up,
        n_down,
        k,
        float(roc_auc_score(y, scores)),
        float(np.mean((scores > 0) == y.astype(bool))),
        float(roc_auc_score(y, prior_scores)) if prior_model is not None else None,
    )
