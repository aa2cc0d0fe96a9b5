"""Paper vectors kept in memory by paper id, in one feature space: a per-process cache.

Scoring a day's papers for thousands of subscribers, and retraining each of them on their
rated papers and weak negatives, then builds each paper's vector once. The cache is shared by
the service's threads (digest jobs, web requests), so it holds a lock while it reads or
changes its rows, never while vectors are computed (that reads and writes the database).

New rows are appended in place, their room doubling as needed, so adding papers costs what
they hold, not a copy of every row held. When a request would take it past ``limit`` papers
the cache starts over with that request's papers: a long-running service holds at most that
many (or one request's papers, if more); a paper dropped is built again from its text and
stored embedding when next asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from recommender.features import FeatureSpace, PaperVectors

# About 7 KB a paper in a words-only space (its word features), 3 KB with embeddings.
MAX_CACHED_PAPERS = 20_000


class PaperText(Protocol):
    """What ranking needs of a paper: a stored paper, or plain data with these fields."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def abstract(self) -> str: ...


Compute = Callable[[list[tuple[str, str]]], PaperVectors]


class VectorCache:
    """The vectors of the papers asked for lately, by paper id (see the module's docstring)."""

    def __init__(self, limit: int = MAX_CACHED_PAPERS) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._start_over(None, 0, 0)

    def __len__(self) -> int:
        return len(self._rows)

    def missing(self, space: FeatureSpace, papers: Sequence[PaperText]) -> list[PaperText]:
        """Those of ``papers`` whose vectors in ``space`` the cache does not hold now."""
        with self._lock:
            if self._space_id != space.id:
                return list(papers)
            return [p for p in papers if p.id not in self._rows]

    def get(
        self, space: FeatureSpace, papers: Sequence[PaperText], compute: Compute
    ) -> PaperVectors:
        """The vectors of ``papers`` (in their order); ``compute`` builds those of texts the
        cache does not hold, outside the lock."""
        if not papers:
            return space.empty()
        with self._lock:
            if self._space_id != space.id:
                self._start_over(space.id, space.embedding_dim, space.n_words)
            missing = {p.id: p for p in papers if p.id not in self._rows}
            if missing and len(self._rows) + len(missing) > self.limit:
                # full: start over with this request's papers that were held
                held = list(dict.fromkeys(p.id for p in papers if p.id in self._rows))
                kept = self._take([self._rows[i] for i in held])
                self._start_over(space.id, space.embedding_dim, space.n_words)
                self._add(held, kept)
        if missing:
            new = compute([(p.title, p.abstract) for p in missing.values()])
            space.check(new)
        with self._lock:
            if self._space_id == space.id:
                if missing:
                    self._add(list(missing), new)
                if all(p.id in self._rows for p in papers):
                    return self._take([self._rows[p.id] for p in papers])
        # another thread started over (or changed spaces) meanwhile: these, uncached
        return compute([(p.title, p.abstract) for p in papers])

    # -- rows, under the lock ------------------------------------------------------------------

    def _start_over(self, space_id: str | None, embedding_dim: int, n_words: int) -> None:
        self._space_id = space_id
        self._n_words = n_words
        self._rows: dict[str, int] = {}
        self._embedding = np.zeros((0, embedding_dim), np.float32)
        self._data = np.zeros(0, np.float32)
        self._indices = np.zeros(0, np.int32)
        self._indptr = np.zeros(1, np.int32)  # as the indices: no copy to match
        self._nnz = 0

    def _add(self, ids: list[str], vectors: PaperVectors) -> None:
        """Append the rows of ``vectors`` for those of ``ids`` not held yet (another thread
        may have added some meanwhile)."""
        keep = [n for n, i in enumerate(ids) if i not in self._rows]
        if not keep:
            return
        if len(keep) < len(ids):
            vectors = vectors[keep]
        words = vectors.words
        lo, hi = int(words.indptr[0]), int(words.indptr[-1])
        n, added = len(self._rows), hi - lo
        if self._nnz + added > np.iinfo(np.int32).max:  # far past any limit in use
            raise OverflowError("too many word features to hold")
        self._embedding = _room(self._embedding, n + len(keep))
        self._embedding[n : n + len(keep)] = vectors.embedding
        self._data = _room(self._data, self._nnz + added)
        self._indices = _room(self._indices, self._nnz + added)
        self._indptr = _room(self._indptr, n + len(keep) + 1)
        self._data[self._nnz : self._nnz + added] = words.data[lo:hi]
        self._indices[self._nnz : self._nnz + added] = words.indices[lo:hi]
        self._indptr[n + 1 : n + len(keep) + 1] = words.indptr[1:] - lo + self._nnz
        self._nnz += added
        self._rows.update((ids[k], n + m) for m, k in enumerate(keep))

    def _take(self, rows: list[int]) -> PaperVectors:
        """Copies of the rows ``rows``, in that order: costs what they hold (SciPy's row
        indexing over a view of the held rows, whose arrays are not copied)."""
        n = len(self._rows)
        held = sp.csr_matrix(
            (self._data[: self._nnz], self._indices[: self._nnz], self._indptr[: n + 1]),
            shape=(n, self._n_words),
            copy=False,
        )
        index = np.asarray(rows, dtype=np.int64)
        return PaperVectors(self._embedding[index], held[index], str(self._space_id))


def _room(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` itself if it has ``size`` rows, else a copy with room for twice that."""
    if len(array) >= size:
        return array
    grown = np.zeros((2 * size, *array.shape[1:]), array.dtype)
    grown[: len(array)] = array
    return grown
