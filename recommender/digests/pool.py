"""The paper pool: the papers a run's digests may show, loaded and vectorised once for all
subscribers, and kept between runs while none of them changes.

Reading the papers is :mod:`recommender.store.catalogue`' business; choosing among them is
:mod:`recommender.digests.plan`'s.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import scipy.sparse as sp
from sqlalchemy.orm import Session

from recommender import model, selection
from recommender.ranking import Ranker, Scope
from recommender.store import catalogue as catalogue_store

# A first digest looks back this far for papers; later ones take what arrived since the last.
FIRST_DIGEST_LOOKBACK = timedelta(days=7)
# Every pair's similarity is computed once for the whole pool from the subscriber after this
# many, for pools of up to this many papers (float32: 64 MB at 4,000 papers).
SIMILARITY_AFTER = 8
SIMILARITY_MAX_PAPERS = 4_000


@dataclass(frozen=True)
class PoolPaper:
    """A paper as a digest shows it: plain data, loaded once for every subscriber."""

    id: str
    title: str
    abstract: str
    upvotes: int | None
    published: date | None
    links: tuple[tuple[str, str], ...]
    first_seen_at: datetime
    arxiv_id: str | None = None
    hf_page: str | None = None
    author_names: tuple[str, ...] = ()  # where a source gave them


class PaperPool:
    """The papers that arrived since ``since``, for one run over many subscribers.

    ``state`` (see :func:`recommender.store.catalogue.pool_state`) tells whether the pool is
    still current, so that a service sending one subscriber's digest after another can keep
    it: :meth:`narrowed`, :class:`KeptPool`.
    """

    def __init__(self, session: Session, since: datetime) -> None:
        state = catalogue_store.pool_state(session, since)
        papers = [
            PoolPaper(
                row.id,
                row.title,
                row.abstract,
                row.upvotes,
                row.published,
                tuple((link["kind"], link["url"]) for link in row.links or []),
                row.first_seen_at,
                row.arxiv_id,
                row.hf_page,
                tuple(row.author_names or ()),
            )
            for row in catalogue_store.pool_rows(session, since)
        ]
        self._set(state, since, papers, {})

    def _set(
        self,
        state: tuple[object, ...],
        since: datetime,
        papers: list[PoolPaper],
        vectors: dict[str, PoolVectors],
    ) -> None:
        self.state, self.since, self.papers = state, since, papers
        self.arrivals = [p.first_seen_at for p in papers]  # ascending
        self.rows = {p.id: n for n, p in enumerate(papers)}
        self._vectors = vectors

    def narrowed(self, since: datetime) -> PaperPool:
        """The same pool without the papers that arrived on or before ``since``."""
        if since < self.since:
            raise ValueError("a pool cannot be widened")
        start = self.arrived_after(since)
        pool = object.__new__(PaperPool)
        # the vectors (and the similarities computed from them) hold while no paper leaves
        pool._set(self.state, since, self.papers[start:], self._vectors if start == 0 else {})
        return pool

    def precompute(self, ranker: Ranker, session: Session, space: model.FeatureSpace) -> None:
        """Compute now what composing digests from this pool computes as it goes: the pool's
        vectors, the similarity of every pair, each paper's term layout for explanations.
        (Worker processes forked after this share them.)"""
        self.vectors(ranker, session, space).similarities()
        model.prepare_explanations(space, [(p.title, p.abstract) for p in self.papers])

    def arrived_after(self, since: datetime) -> int:
        """The row of the first paper that arrived after ``since``."""
        return bisect.bisect_right(self.arrivals, since)

    def vectors(self, ranker: Ranker, session: Session, space: model.FeatureSpace) -> PoolVectors:
        """The pool's vectors in ``space``, kept with the pool."""
        kept = self._vectors.get(space.id)
        if kept is None:
            kept = PoolVectors(ranker.paper_vectors(Scope(session, space), self.papers))
            # in place: the pools narrowed from this one without losing a paper share it
            self._vectors.clear()
            self._vectors[space.id] = kept
        return kept


class KeptPool:
    """The last pool loaded, kept for the next run while none of its papers changes, so that
    the service's digest jobs, one subscriber each, do not load the day anew each time."""

    def __init__(self) -> None:
        self.pool: PaperPool | None = None

    def current(self, session: Session, since: datetime) -> PaperPool | None:
        """The kept pool narrowed to ``since``, if it is still current; else ``None``."""
        kept = self.pool
        if (
            kept is not None
            and kept.since <= since
            and catalogue_store.pool_state(session, kept.since) == kept.state
        ):
            return kept.narrowed(since)
        return None


class PoolVectors:
    """A pool's vectors, and the similarities between its papers that diversity needs.

    A subscriber's shortlist needs the similarities of a few hundred papers; after a few
    subscribers, those of every pair in the pool are computed once (if the pool is not too
    large to hold them) and each shortlist takes its part.
    """

    def __init__(self, vectors: model.PaperVectors) -> None:
        self.vectors = vectors
        self._matrix = vectors.to_matrix()
        self._all: np.ndarray | None = None
        self._asked = 0

    @property
    def matrix(self) -> sp.csr_matrix:
        """The pool's vectors as one CSR matrix, a row per paper."""
        return self._matrix

    def similarities(self) -> np.ndarray | None:
        """The similarities of every pair in the pool (``None`` if the pool is too large)."""
        if self._all is None and len(self.vectors) <= SIMILARITY_MAX_PAPERS:
            self._all = np.asarray((self._matrix @ self._matrix.T).todense(), dtype=np.float32)
        return self._all

    def similarity(self, rows: Sequence[int]) -> np.ndarray | selection.Similar:
        """The cosine similarities of the papers at ``rows``, pair by pair: as a matrix, or
        (once the whole pool's are known) as :data:`recommender.selection.Similar`, which
        reads only the columns asked for."""
        self._asked += 1
        if self._asked > SIMILARITY_AFTER:
            self.similarities()
        full = self._all
        if full is not None:
            rows = np.asarray(rows)
            # the matrix is symmetric: the columns asked for are rows, read whole
            return lambda columns: full[rows[list(columns)]][:, rows].T
        part = self._matrix[list(rows)]
        return np.asarray((part @ part.T).todense())
