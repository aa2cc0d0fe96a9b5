"""The quality benchmark with one change to the centroid model, for trying (none adopted:
benchmarks/RESULTS.md, "Five more changes to the centroid").

Runs ``benchmarks/quality.py`` with the product's path changed, in this process only, by
VARIANT:

- ``centre``: the papers' embeddings centred on the back catalogue's mean;
- ``whiten=SHRINK``: the papers' embeddings whitened by the back catalogue's covariance,
  shrunk by SHRINK (0 to 1) toward the identity (the centroid difference becomes a shrunk LDA);
- ``prf=WEIGHT``: each day's scores (standardised) plus WEIGHT times the standardised
  similarity to the centroid of the day's 5 best (pseudo-relevance feedback);
- ``power=GAMMA``: the word block's weights raised to GAMMA, sign kept (norm kept);
- ``recent=WINDOW``: each training's weak negatives drawn from the WINDOW papers seen last
  (the catalogue as it is now), not from every paper seen so far;
- ``concat=WEIGHT``: the sentence model's embedding and WordLlama's side by side (each unit
  length, WordLlama's times WEIGHT, the pair made unit length again): two embeddings at once.

The rest of the arguments are ``quality.py``'s; pair with a run of the product
(``--paired-with``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import quality as q  # noqa: E402
from recommender import model as rm  # noqa: E402

USAGE = (
    "usage: centroid_variants.py VARIANT [quality.py options]\n"
    "  VARIANT: centre | whiten=SHRINK | prf=WEIGHT | power=GAMMA | recent=WINDOW"
    " | concat=WEIGHT\n"
    "example:\n"
    "  python benchmarks/centroid_variants.py whiten=0.3 --users 150 --seed 0 \\\n"
    "      --methods recommender --json --paired-with base0.json"
)
PRF_TOP = 5


def _embeddings(transform: Callable[[np.ndarray, int], np.ndarray]) -> None:
    """``quality.cached_embeddings`` with the papers' embeddings transformed, given the back
    catalogue's size (the first half of the papers)."""
    cached = q.cached_embeddings

    def patched(data: q.Data, model: str, kind: str, texts: list[str]):  # type: ignore[no-untyped-def]
        x, rate, model_id = cached(data, model, kind, texts)
        if kind == "papers":
            x = transform(x / np.linalg.norm(x, axis=1, keepdims=True), data.n // 2)
        return x.astype(np.float32), rate, model_id

    q.cached_embeddings = patched


def centre(x: np.ndarray, half: int) -> np.ndarray:
    return x - x[:half].mean(axis=0)


def whiten(shrink: float) -> Callable[[np.ndarray, int], np.ndarray]:
    def transform(x: np.ndarray, half: int) -> np.ndarray:
        mean = x[:half].mean(axis=0)
        c = np.cov(x[:half] - mean, rowvar=False)
        c = (1 - shrink) * c + shrink * np.trace(c) / len(c) * np.eye(len(c))
        values, vectors = np.linalg.eigh(c)
        return (x - mean) @ (vectors @ np.diag(values**-0.5) @ vectors.T)

    return transform


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def concat(weight: float) -> None:
    """Every embedding (papers, titles) the sentence model's and WordLlama's side by side."""
    cached = q.cached_embeddings

    def patched(data: q.Data, model: str, kind: str, texts: list[str]):  # type: ignore[no-untyped-def]
        x, rate, model_id = cached(data, model, kind, texts)
        static, _, _ = cached(data, "wordllama", kind, texts)
        both = np.hstack([_unit(x), weight * _unit(static)])
        return _unit(both).astype(np.float32), rate, model_id

    q.cached_embeddings = patched


def _standardised(a: np.ndarray) -> np.ndarray:
    sd = a.std()
    return (a - a.mean()) / sd if sd > 0 else np.zeros_like(a)


def prf(weight: float) -> None:
    def rank(self: q.RecommenderMethod, batch: np.ndarray, seen_until: int) -> np.ndarray:
        papers = self.x[batch].to_matrix()
        s = rm.score(self.model, self.x[batch])
        best = np.argsort(-s)[:PRF_TOP]
        centroid = np.asarray(papers[best].mean(axis=0)).ravel()
        s = _standardised(s) + weight * _standardised(np.asarray(papers @ centroid).ravel())
        if self.similarity is None:
            return batch[np.argsort(-s, kind="stable")[: q.DIGEST]]
        return batch[q.choose_digest(s, self.similarity[int(batch[0])], self.uid)]

    q.RecommenderMethod.rank = rank  # type: ignore[method-assign]


def power(gamma: float) -> None:
    train = rm.train

    def patched(space: rm.FeatureSpace, *args, **kwargs) -> rm.UserModel:  # type: ignore[no-untyped-def]
        m = train(space, *args, **kwargs)
        words = m.weights[space.embedding_dim :]
        norm = np.linalg.norm(words)
        bent = np.sign(words) * np.abs(words) ** gamma
        if norm > 0 and np.linalg.norm(bent) > 0:
            m.weights = m.weights.copy()
            m.weights[space.embedding_dim :] = bent * (norm / np.linalg.norm(bent))
        return m

    rm.train = patched  # quality.py calls it as rm.train


class _Recent:
    """A random generator whose ``integers(low, high, size)`` draws from the ``window``
    values below ``high`` only; everything else is the generator's own."""

    def __init__(self, rng: np.random.Generator, window: int) -> None:
        self.rng, self.window = rng, window

    def integers(self, low: int, high: int, size: int) -> np.ndarray:
        return self.rng.integers(max(low, high - self.window), high, size=size)

    def __getattr__(self, name: str) -> object:
        return getattr(self.rng, name)


def recent(window: int) -> None:
    fit = q.RecommenderMethod._fit

    def patched(self: q.RecommenderMethod, seen_until: int) -> None:
        rng = self.rng
        self.rng = _Recent(rng, window)  # type: ignore[assignment]
        try:
            fit(self, seen_until)
        finally:
            self.rng = rng

    q.RecommenderMethod._fit = patched  # type: ignore[method-assign]


def install(variant: str) -> None:
    """Change the benchmark's path as ``variant`` says; SystemExit(2) for one not known."""
    name, _, value = variant.partition("=")
    try:
        if name == "centre" and not value:
            _embeddings(centre)
        elif name == "whiten" and 0 <= float(value) <= 1:
            _embeddings(whiten(float(value)))
        elif name == "prf":
            prf(float(value))
        elif name == "power" and float(value) > 0:
            power(float(value))
        elif name == "recent" and int(value) > 0:
            recent(int(value))
        elif name == "concat" and float(value) > 0:
            concat(float(value))
        else:
            raise ValueError(variant)
    except ValueError:
        print(f"{USAGE}\ncentroid_variants.py: error: VARIANT {variant!r}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(f"{__doc__}\n{USAGE}")
        return 0 if argv else 2
    install(argv[0])
    return q.main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
