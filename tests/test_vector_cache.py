"""The per-process cache of paper vectors that ranking reads through (recommender.vector_cache)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import numpy as np
import pytest

from recommender.features import FeatureSpace, PaperVectors
from recommender.vector_cache import VectorCache


@dataclass(frozen=True)
class P:
    id: str
    title: str
    abstract: str


WORDS = "protein folding galaxy halo robot policy graph network attention sparse".split()
PAPERS = [
    P(f"p{i}", f"paper {i} " + " ".join(random.Random(i).choices(WORDS, k=4)), f"about {i}")
    for i in range(60)
]


def vectors(space: FeatureSpace, texts: list[tuple[str, str]]) -> PaperVectors:
    """A space's own vectors of ``texts``; in one with embeddings, one made up from each text."""
    if not space.has_embeddings:
        return space.vectors(texts)
    seeds = [sum(map(ord, t + a)) for t, a in texts]
    made_up = [np.random.default_rng(s).standard_normal(space.embedding_dim) for s in seeds]
    return space.vectors(texts, np.array(made_up, dtype=np.float32).reshape(len(texts), -1))


class Counting:
    """A space's own vectors, counting the texts it was asked to build."""

    def __init__(self, space: FeatureSpace) -> None:
        self.space, self.built = space, 0

    def __call__(self, texts: list[tuple[str, str]]) -> PaperVectors:
        self.built += len(texts)
        return vectors(self.space, texts)


def same(a: PaperVectors, b: PaperVectors) -> bool:
    return (
        a.space_id == b.space_id
        and np.array_equal(a.embedding, b.embedding)
        and (a.words != b.words).nnz == 0
        and a.words.shape == b.words.shape
    )


@pytest.mark.parametrize(
    "space",
    [FeatureSpace.words_only(), FeatureSpace.with_embeddings("made-up", 8)],
    ids=["words", "embeddings"],
)
def test_vectors_come_back_in_the_order_asked_and_each_paper_is_built_once(space) -> None:
    build, cache = Counting(space), VectorCache()
    first = [PAPERS[i] for i in (3, 1, 4, 1, 5)]
    expected = vectors(space, [(p.title, p.abstract) for p in first])
    assert same(cache.get(space, first, build), expected)
    again = [PAPERS[i] for i in (5, 9, 2, 6, 5, 3)]
    got = cache.get(space, again, build)
    assert same(got, vectors(space, [(p.title, p.abstract) for p in again]))
    assert build.built == 4 + 3  # 3, 1, 4, 5; then 9, 2, 6
    assert len(cache.get(space, [], build)) == 0


def test_the_cache_holds_at_most_its_limit_and_starts_over_when_full() -> None:
    space = FeatureSpace.words_only()
    build, cache = Counting(space), VectorCache(limit=10)
    for start in range(0, 60, 4):
        asked = PAPERS[start : start + 4]
        got = cache.get(space, asked, build)
        assert same(got, space.vectors([(p.title, p.abstract) for p in asked]))
        assert len(cache) <= 10
    many = PAPERS[:25]  # one request larger than the limit is still answered whole
    assert same(cache.get(space, many, build), space.vectors([(p.title, p.abstract) for p in many]))


def test_starting_over_keeps_the_papers_of_the_request_that_filled_the_cache() -> None:
    space = FeatureSpace.words_only()
    build, cache = Counting(space), VectorCache(limit=10)
    cache.get(space, PAPERS[:8], build)
    asked = PAPERS[5:13]  # 5, 6, 7 held; 8 to 12 new: 13 papers would pass the limit
    got = cache.get(space, asked, build)
    assert same(got, space.vectors([(p.title, p.abstract) for p in asked]))
    assert build.built == 8 + 5 and len(cache) == 8


def test_another_feature_space_starts_the_cache_over() -> None:
    words, other = FeatureSpace.words_only(), FeatureSpace.words_only(hash_bits=12)
    cache = VectorCache()
    cache.get(words, PAPERS[:5], Counting(words))
    build = Counting(other)
    got = cache.get(other, PAPERS[:5], build)
    assert build.built == 5 and got.space_id == other.id
    assert same(got, other.vectors([(p.title, p.abstract) for p in PAPERS[:5]]))


def test_threads_asking_at_once_each_get_their_papers_own_vectors() -> None:
    space = FeatureSpace.words_only()
    cache, errors = VectorCache(limit=40), []
    expected = space.vectors([(p.title, p.abstract) for p in PAPERS])

    def ask(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            rows = [rng.randrange(len(PAPERS)) for _ in range(rng.randrange(1, 15))]
            got = cache.get(space, [PAPERS[r] for r in rows], space.vectors)
            if not same(got, expected[rows]):
                errors.append(rows)

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
