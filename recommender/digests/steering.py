"""What a subscriber's named interests, followed authors and must-not words make of their
candidates: which papers are out, which are by a followed author, which interest each serves
and how well (the pure parts are :mod:`recommender.interests`, :mod:`recommender.authors` and
:mod:`recommender.words`; choosing is :mod:`recommender.selection`'s).

An interest is what its phrases, its liked papers and the papers rated up when it brought
them say, as vectors of the subscriber's feature space; there is no model per interest (the
subscriber's one model learns from every interest and every rating). A digest
(:mod:`recommender.digests.plan`) and ``recommend`` (:func:`rank`) steer the same way, so a
paper is left out, and labelled with an interest, alike in both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from recommender import interests, model, selection
from recommender.authors import Followed
from recommender.profiles import Interest
from recommender.ranking import PaperText, Ranked, Ranker, Scope
from recommender.store import catalogue as catalogue_store
from recommender.store import digests as digest_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Paper, Rating, Subscriber
from recommender.words import Words


class SteeredPaper(PaperText, Protocol):
    """What steering reads of a paper: a digest's pool paper, or a catalogue paper."""

    @property
    def author_names(self) -> Sequence[str] | None: ...


@dataclass(frozen=True)
class Steering:
    """One subscriber's candidates as their interests, follows and must-not words see them."""

    rows: np.ndarray  # the candidates left (no must-not word), rows of the pool
    followed: dict[int, str] = field(default_factory=dict)  # row: the followed name
    serves: dict[int, str] = field(default_factory=dict)  # row: the interest it serves
    slots: dict[str, int] = field(default_factory=dict)
    # row: the interest whose phrase it names, though it is not alike enough to serve it (to
    # take one of its slots): it is labelled with it all the same, and a rating teaches it
    names: dict[int, str] = field(default_factory=dict)

    def label(self, row: int) -> str | None:
        """The interest a candidate is shown under: the one it serves, else the one it names."""
        return self.serves.get(row) or self.names.get(row)


def steer(
    ranker: Ranker,
    scope: Scope,
    subscriber: Subscriber,
    papers: Sequence[SteeredPaper],
    rows: np.ndarray,
    pool_matrix: sp.csr_matrix,
    rated: Sequence[tuple[Rating, Paper]],
    shown: Mapping[str, str],
) -> Steering:
    """Steer the candidates at ``rows`` of ``papers`` (the pool's rows of vectors
    ``pool_matrix``); ``rated``: the subscriber's current ratings, ``shown``: the
    interest each paper was sent for."""
    topics = [t for t in subscriber_store.topics_of(subscriber) if t.share > 0]
    up = {paper.id: paper for rating, paper in rated if rating.vote > 0}
    return steer_plain(
        papers,
        rows,
        pool_matrix,
        must_not=subscriber.must_not or [],
        follows=subscriber_store.followed_of(subscriber),
        topics=topics,
        vectors_of=lambda topic: _interest_vectors(ranker, scope, topic, up, shown),
        floor=interests.floor_for(scope.space.embedding_model),
        digest_size=subscriber.digest_size,
    )


def steer_plain(
    papers: Sequence[SteeredPaper],
    rows: np.ndarray,
    pool_matrix: sp.csr_matrix,
    *,
    must_not: Sequence[str],
    follows: Sequence[str],
    topics: Sequence[Interest],
    vectors_of: Callable[[Interest], np.ndarray],
    floor: float,
    digest_size: int,
) -> Steering:
    """:func:`steer` on plain data (pure, but for ``vectors_of``): ``topics``, the interests
    with a share; ``vectors_of(topic)``, the unit vectors of what it is about (asked only when
    there are candidates to steer); ``follows``, the followed authors' names; ``floor``, how
    alike a paper must be to serve an interest (:func:`recommender.interests.floor_for`)."""
    must_not_words = Words(list(must_not))
    if must_not_words:
        rows = np.array(
            [r for r in rows.tolist() if not must_not_words.found_in(_text(papers[r]))],
            dtype=np.int64,
        )
    followed_names = Followed(list(follows))
    followed = {}
    if followed_names:
        for r in rows.tolist():
            name = followed_names.match(papers[r].author_names or ())
            if name is not None:
                followed[r] = name
    if not topics or not len(rows):
        return Steering(rows, followed)
    vectors = [vectors_of(topic) for topic in topics]
    affinities = interests.affinity(_unit(pool_matrix[rows]), vectors)
    allowed = np.ones(affinities.shape, dtype=bool)
    for j, topic in enumerate(topics):
        if topic.must:
            must = Words(topic.must)
            allowed[:, j] = [must.found_in(_text(papers[r])) for r in rows.tolist()]
    assigned = interests.assign(affinities, allowed, floor)
    serves = {int(rows[i]): topics[j].name for i, j in enumerate(assigned) if j is not None}
    slots = interests.slots([(t.name, t.share) for t in topics], digest_size)
    phrases = [Words(list(t.phrases)) for t in topics]
    names = {}
    for i, row in enumerate(rows.tolist()):
        if row in serves:
            continue
        named = [j for j, words in enumerate(phrases) if allowed[i, j] and words]
        named = [j for j in named if phrases[j].found_in(_text(papers[row]))]
        if named:
            names[row] = topics[max(named, key=lambda j: affinities[i, j])].name
    return Steering(rows, followed, serves, slots, names)


def choose(
    steered: Steering,
    scores: np.ndarray,
    similarity: Callable[[np.ndarray], np.ndarray | selection.Similar],
    upvotes: Callable[[int], int | None],
    *,
    size: int,
    min_score: float | None,
    explore: bool,
    subscriber_id: int,
) -> list[selection.Pick]:
    """A digest's picks among the steered candidates (:func:`recommender.selection.choose`):
    the shortlist of the best scored and every followed author's paper, with their interests
    and slots (an interest's slot takes only a paper near the top:
    :data:`recommender.selection.SHARE_RANKS`). ``scores`` and the picks' keys are by row of
    the pool; ``similarity(rows)``: the cosine similarities of those rows, pair by pair;
    ``upvotes(row)``: the paper's upvotes elsewhere (for the exploration pick)."""
    rows = steered.rows
    shortlist = rows[selection.shortlist(scores[rows], explore=explore, seed=subscriber_id)]
    extra = np.array(list(steered.followed), dtype=np.int64)
    picked = np.concatenate([shortlist, np.setdiff1d(extra, shortlist)])
    picks = selection.choose(
        [
            selection.Candidate(
                str(row),
                float(scores[row]),
                upvotes(row),
                steered.serves.get(row),
                followed=row in steered.followed,
            )
            for row in picked.tolist()
        ],
        similarity(picked),
        size=size,
        min_score=min_score,
        explore=explore,
        seed=subscriber_id * 100_003 + len(rows),
        slots=steered.slots,
    )
    # a paper that names an interest's phrase is shown under it, slot or not
    return [
        p._replace(interest=steered.names.get(int(p.key)))
        if p.interest is None and not (p.exploration or p.followed)
        else p
        for p in picks
    ]


@dataclass(frozen=True)
class SteeredRank:
    """A paper of ``recommend``'s ranking, with the interest it serves and the followed author
    who wrote it (as the profile names them), as a digest would label it."""

    ranked: Ranked
    interest: str | None = None
    followed: str | None = None
    among: int = 1  # how many papers it was ranked among: those must-not words left in


def rank(
    ranker: Ranker,
    scope: Scope,
    subscriber: Subscriber,
    papers: Sequence[SteeredPaper],
    now: datetime,
    *,
    top: int | None = None,
) -> list[SteeredRank]:
    """``papers`` best first by the subscriber's model (the ``top`` best only), without those
    their must-not words keep out, each labelled as :func:`steer` labels a digest's papers."""
    if not papers:
        return []
    scored = ranker.score(scope, subscriber, papers, now)
    rated = subscriber_store.current_ratings(scope.session, subscriber.id)
    shown = digest_store.shown_interests(scope.session, [subscriber.id]).get(subscriber.id, {})
    steered = steer(
        ranker,
        scope,
        subscriber,
        papers,
        np.arange(len(papers), dtype=np.int64),
        scored.vectors.to_matrix(),
        rated,
        shown,
    )
    kept = steered.rows
    order = kept[np.argsort(-scored.scores[kept], kind="stable")][:top]
    known = ranker.known_papers(scope, subscriber, rated)
    # shares beaten among the papers kept, as a digest counts them among its candidates
    among = scored.scores[kept]
    ranked = ranker.explain(scope.space, papers, scored, order.tolist(), known, among=among)
    return [
        SteeredRank(r, steered.label(row), steered.followed.get(row), len(kept))
        for r, row in zip(ranked, order.tolist(), strict=True)
    ]


def _text(paper: SteeredPaper) -> str:
    return f"{paper.title}\n{paper.abstract}"


def _interest_vectors(
    ranker: Ranker,
    scope: Scope,
    topic: Interest,
    up: Mapping[str, Paper],
    shown: Mapping[str, str],
) -> np.ndarray:
    """The unit vectors of what the interest is about: its phrases, its liked papers (as the
    catalogue has them, else their titles) and the papers rated up when it brought them."""
    liked = catalogue_store.liked_papers(scope.session, topic.liked)
    texts = [(p, "") for p in topic.phrases]
    texts += [(entry, "") for entry in topic.liked if entry not in liked]
    found = {p.id: p for p in liked.values()}
    found.update((pid, paper) for pid, paper in up.items() if shown.get(pid) == topic.name)
    parts = []
    if texts:
        parts.append(ranker.vectors(scope, texts))
    if found:
        parts.append(ranker.paper_vectors(scope, list(found.values())))
    if not parts:
        return np.zeros((0, 0))
    matrix = model.PaperVectors.stack(parts).to_matrix()
    return _unit(matrix).toarray()


def _unit(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix)
