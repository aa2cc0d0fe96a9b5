"""Choose a digest's papers from a ranked list (pure: plain data in, plain data out).

The ranking says how much a subscriber should like each paper; this module turns it into a
short list worth reading: at most ``size`` papers, none below the subscriber's minimum score,
no two near-duplicates, and among papers of close scores the one that adds a new topic first
(maximal marginal relevance). Optionally one slot goes to a paper unlike all the others,
drawn from just below them, labelled as exploration, so the model keeps learning what else the
subscriber likes.

With named interests, each interest first gets its slots (:func:`recommender.interests.slots`)
from the candidates that serve it and are good enough: at or above the minimum score, and
among the :data:`SHARE_RANKS` × ``size`` best-scored candidates (a share lifts an interest's
papers the model ranks well, not any paper near its words); best scored first. The slots left go to
the best overall. A paper by a followed author is always in, outside the
slots (up to :data:`MAX_FOLLOWED`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

# Two papers this similar (cosine of their feature vectors) are one paper for a reader.
NEAR_DUPLICATE = 0.9
# How much a paper's similarity to those already chosen costs it, as a share of the score
# spread: enough to reorder papers of close scores, not to push a clear winner down.
DIVERSITY = 0.15
# A digest chooses among this many of the best-scored papers (and, exploring, as many more
# drawn from the rest): diversity and exploration weigh a few hundred papers, not a whole day.
SHORTLIST = 100
# An interest's slot takes only a paper the model ranks among this many times ``size`` best of
# the candidates (the day's 30 best for a digest of 10); a slot none fills goes to the best
# overall. benchmarks/quality.py --interests several (RESULTS.md "Several interests"), tuning
# seed 1, 60 users, digest and worst-served interest's recall against one pooled interest,
# words: slots taken by any paper of the interest by score and likeness (before) -6.0%/-8.2%;
# by score among the 3 x size best -5.3%/-1.6%; among the 2 x size best -2.9%/+1.4%; among
# the size best -0.9%/+3.0% (embeddings -0.9%/-0.1%; held-out seed 2: +0.2%/-0.6% and
# -2.0%/-1.7%). The size best cost least, but then a share only guards papers the model would
# nearly have sent anyway: an interest the ratings have drifted away from gets nothing, which
# is what a subscriber who set a share asked not to happen. 3 x size keeps the share a share
# (an interest with papers in the day's top 30 gets its slots) and is no worse than before on
# either figure; no variant served the worst-served interest better beyond noise.
SHARE_RANKS = 3
# The exploration pick is drawn from the best this many digests' worth of candidates (unlike
# every chosen paper): papers the model nearly chose, where a rating teaches it most, and read
# often enough to be worth a slot. Drawn from the lower half of the ranking instead, it cost
# 0.016-0.022 of digest recall (tuning seeds, embeddings) (benchmarks/RESULTS.md, "The exploration
# pick from just below the digest"); from the best 3 digests' worth, about half as much.
EXPLORE_AMONG = 3
# At most this many papers by followed authors in one digest, on top of its size: following
# a prolific group must not turn a digest into their publication list.
MAX_FOLLOWED = 10


class Candidate(NamedTuple):
    """A paper that may be chosen (a digest weighs a few hundred: cheap to make)."""

    key: str
    score: float
    upvotes: int | None = None
    interest: str | None = None  # the named interest it serves, if any
    followed: bool = False  # by an author the subscriber follows


class Pick(NamedTuple):
    key: str
    score: float
    exploration: bool = False
    interest: str | None = None
    followed: bool = False


# The similarities of every candidate to some of them: ``similar(columns)[i, k]`` is the cosine
# similarity of candidates ``i`` and ``columns[k]``.
Similar = Callable[[Sequence[int]], np.ndarray]


def shortlist(scores: np.ndarray, *, explore: bool, seed: int, size: int = SHORTLIST) -> np.ndarray:
    """The positions in ``scores`` that :func:`choose` weighs: the ``size`` best, then (when
    exploring) up to ``size`` more drawn reproducibly with ``seed`` from the rest."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    best, rest = order[:size], order[size:]
    if not explore or not len(rest):
        return best
    rng = np.random.default_rng(seed)
    return np.concatenate([best, rng.choice(rest, size=min(size, len(rest)), replace=False)])


def choose(
    candidates: Sequence[Candidate],
    similarity: np.ndarray | Similar,
    *,
    size: int,
    min_score: float | None = None,
    explore: bool = False,
    seed: int = 0,
    slots: Mapping[str, int] | None = None,
) -> list[Pick]:
    """The digest's papers: followed authors' first, then the rest best first, the
    exploration pick (if any) last.

    ``similarity[i, j]`` is the cosine similarity of candidates ``i`` and ``j``; or, where
    the whole matrix costs more than the few columns choosing reads, a function that gives
    those columns (:data:`Similar`). An empty result means nothing qualifies: no digest. The
    exploration pick never makes a digest on its own, and takes one of the ``size`` slots
    only when there are more candidates than slots.

    ``slots``: how many of ``size`` each named interest gets, in order, from the candidates
    whose ``interest`` it is, best scored first, among the :data:`SHARE_RANKS` × ``size``
    best-scored candidates; a slot an interest cannot fill goes to the best overall. Every
    ``followed`` candidate is in (the :data:`MAX_FOLLOWED` best), whatever its score, on top
    of ``size``.
    """
    n = len(candidates)
    if isinstance(similarity, np.ndarray):
        if similarity.shape != (n, n):
            raise ValueError(f"similarity is {similarity.shape}, expected ({n}, {n})")
        matrix = similarity
        similarity = lambda columns: matrix[:, columns]  # noqa: E731
    if size < 1 or n == 0:
        return []
    scores = np.array([c.score for c in candidates], dtype=np.float64)
    followed = sorted((i for i in range(n) if candidates[i].followed), key=lambda i: -scores[i])[
        :MAX_FOLLOWED
    ]
    others = [i for i in range(n) if not candidates[i].followed]
    eligible = [i for i in others if min_score is None or scores[i] >= min_score]
    exploring = explore and size >= 2 and len(others) > size
    room = size - 1 if exploring else size
    best_first = np.argsort(-scores, kind="stable")
    chosen: list[int] = []
    if slots:
        near_top = set(best_first[: SHARE_RANKS * size].tolist())
        for name, count in slots.items():
            theirs = [
                i
                for i in eligible
                if candidates[i].interest == name and i in near_top and i not in chosen
            ]
            count = min(count, room - len(chosen))
            chosen += _diverse_top(theirs, scores, similarity, count, [*followed, *chosen])
    rest = [i for i in eligible if i not in chosen]
    chosen += _diverse_top(rest, scores, similarity, room - len(chosen), [*followed, *chosen])
    if not chosen and not followed:
        return []
    if slots:
        # interests' picks and the best overall's, by score (each part is in its own order)
        chosen.sort(key=lambda i: -scores[i])
    picks = [_pick(candidates[i], followed=True) for i in followed]
    picks += [_pick(candidates[i]) for i in chosen]
    if exploring and chosen:
        among = best_first[: EXPLORE_AMONG * size]
        other = _exploration(candidates, among, similarity, [*followed, *chosen], seed)
        if other is not None and not candidates[other].followed:
            picks.append(_pick(candidates[other], exploration=True))
    return picks


def _pick(candidate: Candidate, *, followed: bool = False, exploration: bool = False) -> Pick:
    interest = None if exploration or followed else candidate.interest
    return Pick(candidate.key, float(candidate.score), exploration, interest, followed)


def _diverse_top(
    eligible: list[int],
    scores: np.ndarray,
    similarity: Similar,
    size: int,
    already: Sequence[int] = (),
) -> list[int]:
    """Up to ``size`` of ``eligible``, best first, each weighed against those chosen before
    it and those ``already`` in the digest."""
    if not eligible or size < 1:
        return []
    spread = float(scores[eligible].max() - scores[eligible].min()) or 1.0
    candidates = np.asarray(eligible, dtype=np.int64)
    remaining = candidates[np.argsort(-scores[candidates], kind="stable")]
    base = scores[remaining]
    # each remaining paper's greatest similarity to a chosen one, and whether it may still go
    closest = np.zeros(len(remaining))
    if already:
        closest = np.asarray(similarity(list(already)))[remaining].max(axis=1)
    open_ = closest < NEAR_DUPLICATE
    chosen: list[int] = []
    while len(chosen) < size and open_.any():
        value = np.where(open_, base - DIVERSITY * spread * np.maximum(closest, 0.0), -np.inf)
        best = int(np.argmax(value))
        chosen.append(int(remaining[best]))
        open_[best] = False
        closest = np.maximum(closest, similarity([int(remaining[best])])[remaining, 0])
        open_ &= closest < NEAR_DUPLICATE
    return chosen


def _exploration(
    candidates: Sequence[Candidate],
    among: np.ndarray,
    similarity: Similar,
    chosen: list[int],
    seed: int,
) -> int | None:
    """A paper of those ``among`` (the :data:`EXPLORE_AMONG` × ``size`` best-scored), not
    chosen, unlike the chosen ones, popular elsewhere."""
    allowed = np.zeros(len(candidates), dtype=bool)
    allowed[among] = True
    allowed[chosen] = False
    allowed &= similarity(chosen).max(axis=1) < NEAR_DUPLICATE / 2
    pool = np.flatnonzero(allowed)
    if not len(pool):
        return None
    upvotes = np.array([candidates[i].upvotes or 0 for i in pool], dtype=np.float64)
    # Popular papers first (others found them worth reading); ties drawn reproducibly.
    weights = np.log1p(upvotes) + 1.0
    rng = np.random.default_rng(seed)
    return int(pool[int(rng.choice(len(pool), p=weights / weights.sum()))])


def shares_beaten(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """For each of ``values`` (each one of the scores ``among``), the share of the other
    scores of ``among`` strictly below it (0 to 1); ties beat each other not."""
    below = np.searchsorted(np.sort(among), values, side="left")
    return below / max(len(among) - 1, 1)
