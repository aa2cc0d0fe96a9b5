"""Named interests in a digest: which interest each paper serves and how many slots each
gets (pure: arrays and plain data in and out).

There is one model per subscriber, trained on every interest's phrases and liked papers and
on every rating. An interest adds its own view on top: a paper's *affinity* to an interest is
its greatest cosine similarity to the interest's phrases, liked papers and the papers rated up
when shown under it. A paper serves the interest it is most alike (among those whose must
words it has); affinity decides only that. :func:`recommender.selection.choose` then fills
each interest's slots with its papers the model ranks near the top, best scored first (a
paper's affinity weighed in besides its score cost digest recall: benchmarks/RESULTS.md
"Several interests").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# A paper serves an interest only when at least this alike (cosine): below it, what a phrase
# and a paper share is noise. Words only, measured with one-phrase interests: on the tests'
# topical day, papers on the phrase's topic were 0.43 to 0.54 alike, the others 0.08 or
# less; on the three real dumps (231 papers, IDF weights) the papers on "mixture of experts",
# "reinforcement learning" and "medical imaging" 0.14 to 0.23, the best of the rest 0.115.
# Both floors follow one rule, measured by benchmarks/interest_floor.py on the three real
# dumps (those three interests, a paper on a topic when it has one of the topic's words): the
# lowest floor that lets at most 0.5% of off-topic paper-interest pairs in. Words: 0.08 (0.1
# lets 0.3% in and keeps 48% of the on-topic pairs). Embeddings (all-MiniLM-L6-v2, words and
# embedding together, as steering compares them): 0.34, keeping 46% of the on-topic pairs;
# on-topic medians 0.39, 0.39 and 0.16, off-topic 99th percentiles 0.31, 0.34 and 0.15.
# A lower embeddings floor lets many more in (0.25: 9.5% of off-topic pairs) and served the
# worst-served interest less in benchmarks/quality.py --interests several (RESULTS.md).
AFFINITY_FLOOR = {"words": 0.1, "embeddings": 0.34}
# The floors of other embedding models, by their ids, by the same rule on the same dumps:
# WordLlama's static vectors (in the default install) 0.38, keeping 23% of the on-topic pairs;
# its mixture-of-experts papers reach 0.24 at most, so none serves that interest there (its
# slots go to the best overall), where a lower floor would label many off-topic papers
# (0.20: 18% of off-topic pairs).
AFFINITY_FLOOR_BY_MODEL = {"wordllama-l2-supercat-256": 0.38}


def floor_for(embedding_model: str | None) -> float:
    """The affinity floor of a feature space with this embedding model (None: words only)."""
    if embedding_model is None:
        return AFFINITY_FLOOR["words"]
    return AFFINITY_FLOOR_BY_MODEL.get(embedding_model, AFFINITY_FLOOR["embeddings"])


def slots(shares: Sequence[tuple[str, float]], size: int) -> dict[str, int]:
    """How many of ``size`` slots each interest gets for its ``share`` (0 to 1): its share
    rounded down, then the slots the rounding left go to the largest remainders, first
    interest first on ties; never more in all than the shares' sum of ``size``."""
    if not shares or size < 1:
        return {}
    exact = [share * size for _, share in shares]
    counts = [math.floor(value + 1e-9) for value in exact]
    total = min(size, math.floor(sum(exact) + 1e-9))
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: max(0, total - sum(counts))]:
        counts[i] += 1
    return {name: count for (name, _), count in zip(shares, counts, strict=True)}


def affinity(candidates: np.ndarray, interests: Sequence[np.ndarray]) -> np.ndarray:
    """``[i, j]``: the greatest cosine similarity of candidate ``i`` to the rows of interest
    ``j`` (0 for an interest with no rows). Rows are unit vectors, dense or as arrays."""
    out = np.zeros((candidates.shape[0], len(interests)))
    for j, rows in enumerate(interests):
        if rows.shape[0] and candidates.shape[0]:
            out[:, j] = np.asarray(candidates @ rows.T).max(axis=1)
    return out


def assign(affinities: np.ndarray, allowed: np.ndarray, floor: float = 0.0) -> list[int | None]:
    """The interest each candidate serves: the one it is most alike among those ``allowed``
    (its must words are in it), if that affinity is above ``floor``; else None."""
    masked = np.where(allowed, affinities, -np.inf)
    if masked.shape[1] == 0:
        return [None] * masked.shape[0]
    best = masked.argmax(axis=1)
    return [int(j) if masked[i, j] > floor else None for i, j in enumerate(best.tolist())]
