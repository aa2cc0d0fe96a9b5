"""Rank papers for a subscriber: the glue between the store and the pure model.

It turns stored papers and profiles into vectors (embedding each text once and storing it,
and keeping each paper's word counts once a digest or `recommend` has counted them), keeps
each subscriber's trained model fresh, and asks :mod:`recommender.model` for scores and
explanations. It owns no transaction: the caller passes a :class:`Scope` (its session, and
the feature space) and commits.

The feature space is created once, on first use, and then frozen: its word statistics are
counted over the catalogue of that moment. A subscriber's model is retrained whenever it is
stale: trained in another space, before their latest rating, before their profile changed, or
before a paper their profile likes arrived or changed. A vote that is all a fresh model lacks
changes it in place instead (:meth:`Ranker.take_vote`), as far as
:data:`UPDATES_BETWEEN_TRAININGS` votes in a row.
So a new space (a different embedding model, or ``retrain --refit``) never skews old models:
they are retrained from the ratings instead.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sqlalchemy.orm import Session

from recommender import features, model
from recommender.embeddings import Embedder, paper_text, resolve_model, usable_model
from recommender.features import text_terms
from recommender.selection import shares_beaten
from recommender.sources.base import arxiv_id
from recommender.store import catalogue as catalogue_store
from recommender.store import subscribers as subscriber_store
from recommender.store import vectors as vector_store
from recommender.store.models import Paper, Rating, StoredUserModel, Subscriber
from recommender.vector_cache import PaperText, VectorCache

# Below this many papers, document frequencies say little: the space gets no IDF weights.
MIN_PAPERS_FOR_IDF = 200
# A word in more than this share of papers gets no weight (like arxiv-sanity-lite's max_df).
MAX_DOCUMENT_FREQUENCY = 0.5
# Each training's weak negatives: this many papers the subscriber did not rate up, one of
# WEAK_SAMPLES fixed random runs of the catalogue (by subscriber and rating count), the same
# runs for everyone: their vectors stay in the process's cache (VectorCache) instead of a fresh
# sample's being built for every rating, which took most of a rating's time on a large catalogue.
WEAK_NEGATIVES = 300
WEAK_SAMPLES = 8
# A vote changes a fresh model in place (model.update: its class means move) this many times
# in a row; the next vote trains it afresh, on a new sample of weak negatives.
UPDATES_BETWEEN_TRAININGS = 9
EMBEDDING_BATCH = 64
# Texts embedded, and their embeddings stored, at a time.
EMBEDDING_CHUNK = EMBEDDING_BATCH * 4

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Scored:
    """A subscriber's model, the vectors of some papers, and the model's scores of them."""

    model: model.UserModel
    vectors: model.PaperVectors
    scores: np.ndarray


class Scope(NamedTuple):
    """What a ranking step works in: the caller's session (and transaction) and the feature
    space."""

    session: Session
    space: model.FeatureSpace


@dataclass(frozen=True)
class Ranked:
    """One paper's place in a subscriber's ranking."""

    paper: PaperText
    score: float
    explanation: model.Explanation
    # The share of the papers ranked with it that it scores above (0 to 1): the score as a
    # person reads it, where the raw score is a margin of no fixed scale.
    beats: float = 0.0

    @property
    def reasons(self) -> list[str]:
        """The explanation as short readable phrases (:attr:`model.Explanation.reasons`)."""
        return self.explanation.reasons


def share_beaten(scores: np.ndarray) -> np.ndarray:
    """For each score, the share of the other scores strictly below it (0 to 1; a paper alone
    beats none). Ties beat each other not."""
    return shares_beaten(scores, scores)


def text_hash(title: str, abstract: str) -> str:
    """The key an embedding is stored under: the hash of the exact text embedded."""
    return hashlib.sha256(paper_text(title, abstract).encode("utf-8")).hexdigest()


def takes_votes(trained: model.UserModel) -> bool:
    """Whether ``trained`` may take one more vote in place (:func:`recommender.model.update`)
    rather than be trained afresh: it keeps its centroids and has taken fewer than
    :data:`UPDATES_BETWEEN_TRAININGS` votes so since its training."""
    c = trained.centroids
    return c is not None and c.updates < UPDATES_BETWEEN_TRAININGS


def _current(
    stored: StoredUserModel | None,
    subscriber: Subscriber,
    space: model.FeatureSpace,
    ratings: int,
    liked_changed: datetime | None,
) -> model.UserModel | None:
    """The stored model if it is current: trained in ``space`` by today's recipe on
    ``ratings`` ratings, after the subscriber's profile and the papers it likes last changed
    (``liked_changed``), and readable. None: it is to be trained (afresh)."""
    if (
        stored is None
        or stored.feature_space_id != space.id
        or stored.ratings_seen != ratings
        or stored.profile_updated_at < subscriber.updated_at
        or (liked_changed is not None and liked_changed > stored.trained_at)
    ):
        return None
    found = _readable(stored.model)
    return found if found is not None and found.recipe == model.TRAINING_RECIPE else None


def _readable(stored: bytes) -> model.UserModel | None:
    """A stored model, or None if it cannot be read (a format of a newer version, after a
    downgrade; damaged bytes): it is then trained afresh, as a stale one is, not an error for
    every digest of its subscriber."""
    try:
        return model.UserModel.from_bytes(stored)
    except (ValueError, KeyError, TypeError):  # json.JSONDecodeError is a ValueError
        return None


def _bare_arxiv_id(entry: str) -> bool:
    """Whether a liked entry is an arXiv id alone (or its link): as text it says nothing, so
    it counts only once its paper is in the catalogue."""
    return arxiv_id(entry) is not None and len(entry.split()) == 1


@dataclass(frozen=True)
class TrainingPapers:
    """What a training learns from (:meth:`Ranker.training_papers`), before any vector."""

    texts: list[tuple[str, str]]  # the profile's texts apart from its phrases
    liked: list[Paper]  # catalogue papers the profile's liked entries name
    rated: list[Paper]
    votes: np.ndarray
    weak: list[Paper]  # weak negatives
    seen: int  # the subscriber's rating count: the model's staleness mark


class Ranker:
    """Vectors, models and rankings over one database, with one embedding model."""

    def __init__(self, embedding_model: str) -> None:
        self.embedding_model = embedding_model
        self._embedder: Embedder | None = None
        self._vectors = VectorCache()
        self._space: model.FeatureSpace | None = None

    # -- the feature space -----------------------------------------------------------------

    def _wanted_model_id(self) -> str | None:
        usable = usable_model(self.embedding_model)
        return None if usable is None else resolve_model(usable).model_id

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(usable_model(self.embedding_model) or self.embedding_model)
        return self._embedder

    def space(self, session: Session, now: datetime, *, refit: bool = False) -> model.FeatureSpace:
        """The current feature space; made (and stored) when there is none, or on ``refit``,
        all in ``session``'s transaction (``SessionRanker.space`` makes one outside any).

        A space is also made anew when the configured embedding model is not the current
        space's: the old models are then retrained, not reused.
        """
        current = None if refit else self.stored_space(session)
        if current is not None:
            return current
        texts, papers = self.space_texts(session)
        return self.keep_space(session, self.new_space(texts), now, papers, refit=refit)

    def stored_space(self, session: Session) -> model.FeatureSpace | None:
        """The stored current space if it is of the configured embedding model, else None."""
        current_id = vector_store.current_space_id(session)
        wanted = self._wanted_model_id()
        cached = self._space
        if cached is not None and cached.id == current_id and cached.embedding_model == wanted:
            return cached
        stored = vector_store.current_space(session) if current_id is not None else None
        if stored is not None and stored["embedding_model"] == wanted:
            self._space = model.FeatureSpace.from_dict(stored)
            return self._space
        return None

    @staticmethod
    def space_texts(session: Session) -> tuple[list[tuple[str, str]], int]:
        """The catalogue's texts a new space counts its word statistics over (every paper's,
        or none below :data:`MIN_PAPERS_FOR_IDF` papers), and how many papers it holds."""
        papers = catalogue_store.count_papers(session)
        if papers < MIN_PAPERS_FOR_IDF:
            return [], papers
        return catalogue_store.catalogue_texts(session), papers

    def new_space(
        self,
        texts: Sequence[tuple[str, str]],
        on_progress: Callable[[int], None] | None = None,
        sessions: Callable[[], Session] | None = None,
    ) -> model.FeatureSpace:
        """A new space of the configured embedding model, its word statistics counted over
        ``texts`` (none: no IDF weights), ``on_progress(n)`` told of every ``n`` counted. The
        slow part of making a space, seconds for a large catalogue (and the sentence model's
        loading): it holds no transaction. With ``sessions``, the counts are kept as they are
        counted (:meth:`keep_counts`), so the first ranking in the new space reads them."""
        wanted = self._wanted_model_id()
        if wanted is None:
            space = model.FeatureSpace.words_only()
        else:
            space = model.FeatureSpace.with_embeddings(wanted, self.embedder.dim)
        if texts:
            keep = (
                None if sessions is None else functools.partial(self.keep_counts, sessions, space)
            )
            space = space.fit_idf(
                texts, max_df=MAX_DOCUMENT_FREQUENCY, on_progress=on_progress, on_counts=keep
            )
        return space

    def keep_space(
        self,
        session: Session,
        space: model.FeatureSpace,
        now: datetime,
        papers: int,
        *,
        refit: bool = False,
    ) -> model.FeatureSpace:
        """Store ``space`` (counted over ``papers`` papers) as the current one, unless (without
        ``refit``) another process stored a usable one since: then that one."""
        current = None if refit else self.stored_space(session)
        if current is not None:
            return current
        vector_store.make_current_space(session, space.to_dict(), now, papers)
        self._space = space
        return space

    @staticmethod
    def scope(session: Session, space: model.FeatureSpace) -> Scope:
        """The :class:`Scope` the other methods take: the session and the feature space."""
        return Scope(session, space)

    # -- vectors -----------------------------------------------------------------------------

    def missing_embeddings(
        self, scope: Scope, texts: Sequence[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """The texts among ``texts`` whose embedding is not stored yet."""
        session, space = scope
        if not space.has_embeddings:
            return []
        assert space.embedding_model is not None
        by_hash = {text_hash(t, a): (t, a) for t, a in texts}
        have = vector_store.embeddings(session, space.embedding_model, by_hash)
        return [text for h, text in by_hash.items() if h not in have]

    @staticmethod
    def embedding_chunks(
        texts: Sequence[tuple[str, str]],
    ) -> Iterator[Sequence[tuple[str, str]]]:
        """``texts`` in the chunks that are embedded and stored at a time (a caller may commit
        after each)."""
        for start in range(0, len(texts), EMBEDDING_CHUNK):
            yield texts[start : start + EMBEDDING_CHUNK]

    def embed(
        self,
        scope: Scope,
        texts: Sequence[tuple[str, str]],
        on_progress: Progress | None = None,
    ) -> None:
        """Compute and store the embeddings of ``texts`` that are not stored yet, in batches."""
        session, space = scope
        missing = self.missing_embeddings(scope, texts)
        assert space.embedding_model is not None or not missing
        for chunk in self.embedding_chunks(missing):
            vector_store.add_embeddings(session, str(space.embedding_model), self._embedded(chunk))
            if on_progress is not None:
                on_progress(len(chunk))

    def _embedded(self, texts: Sequence[tuple[str, str]]) -> dict[str, bytes]:
        """The embeddings of ``texts`` as the store keeps them, by text hash."""
        vectors = self.embedder.embed_papers(texts, batch_size=EMBEDDING_BATCH)
        return {
            text_hash(t, a): v.astype("<f4").tobytes()
            for (t, a), v in zip(texts, vectors, strict=True)
        }

    def embed_missing(
        self,
        sessions: Callable[[], Session],
        space: model.FeatureSpace,
        texts: Sequence[tuple[str, str]],
        *,
        on_start: Callable[[int], None] | None = None,
        on_progress: Progress | None = None,
    ) -> int:
        """Embed those of ``texts`` (title, abstract) not embedded in ``space`` yet; return how
        many. Each chunk is embedded outside any transaction, then stored in a short one of its
        own: an interrupted run keeps its work, and the database's write lock (SQLite's is
        the whole file's) is never held while the sentence model runs."""
        with sessions() as session:
            missing = self.missing_embeddings(Scope(session, space), texts)
        if on_start is not None:
            on_start(len(missing))
        for chunk in self.embedding_chunks(missing):
            embedded = self._embedded(chunk)
            with sessions() as session, session.begin():
                vector_store.add_embeddings(session, str(space.embedding_model), embedded)
            if on_progress is not None:
                on_progress(len(chunk))
        return len(missing)

    def count_missing(
        self,
        sessions: Callable[[], Session],
        space: model.FeatureSpace,
        texts: Sequence[tuple[str, str]],
    ) -> int:
        """Count the words of those of ``texts`` whose word counts in ``space``'s block are not
        kept yet, and keep them; return how many. Each chunk is counted outside any
        transaction and kept in a short one of its own, as :meth:`embed_missing` does."""
        by_hash = {text_hash(t, a): (t, a) for t, a in texts}
        with sessions() as session:
            kept = vector_store.word_counts(session, space.counts_key, by_hash)
        missing = [text for h, text in by_hash.items() if h not in kept]
        for start in range(0, len(missing), features.COUNTED_AT_ONCE):
            chunk = missing[start : start + features.COUNTED_AT_ONCE]
            self.keep_counts(sessions, space, chunk, space.word_counts(chunk))
        return len(missing)

    @staticmethod
    def keep_counts(
        sessions: Callable[[], Session],
        space: model.FeatureSpace,
        texts: Sequence[tuple[str, str]],
        counts: sp.csr_matrix,
    ) -> None:
        """Keep the word counts ``counts`` of ``texts`` (a row each) in ``space``'s block, in a
        short transaction of their own."""
        rows = features.counts_to_bytes(counts)
        kept = {text_hash(t, a): row for (t, a), row in zip(texts, rows, strict=True)}
        with sessions() as session, session.begin():
            vector_store.add_word_counts(session, space.counts_key, kept)

    def vectors(self, scope: Scope, texts: Sequence[tuple[str, str]]) -> model.PaperVectors:
        """The vectors of ``texts`` (title, abstract), embedding the ones not stored yet; word
        counts kept by :meth:`count_missing` are read, the others counted (not kept: this may
        be a reading transaction)."""
        session, space = scope
        if not texts:
            return space.empty()
        hashes = [text_hash(t, a) for t, a in texts]
        counts = self._word_counts(scope, texts, hashes)
        if not space.has_embeddings:
            return space.vectors(texts, counts=counts)
        self.embed(scope, texts)
        stored = vector_store.embeddings(session, str(space.embedding_model), hashes)
        embedding = np.empty((len(texts), space.embedding_dim), dtype=np.float32)
        for row, h in enumerate(hashes):
            embedding[row] = np.frombuffer(stored[h], dtype="<f4")
        return space.vectors(texts, embedding, counts)

    @staticmethod
    def _word_counts(
        scope: Scope, texts: Sequence[tuple[str, str]], hashes: Sequence[str]
    ) -> sp.csr_matrix:
        """The word counts of ``texts`` (their ``hashes``): those kept, the rest counted."""
        session, space = scope
        kept = vector_store.word_counts(session, space.counts_key, hashes)
        is_kept = np.array([h in kept for h in hashes], dtype=bool)
        if not is_kept.any():
            return space.word_counts(texts)
        read = features.counts_from_bytes([kept[h] for h in hashes if h in kept], space.n_words)
        if is_kept.all():
            return read
        counted = space.word_counts([t for t, k in zip(texts, is_kept, strict=True) if not k])
        # the kept rows, then the counted ones, put back in the order of ``texts``
        order = np.argsort(~is_kept, kind="stable")
        return sp.vstack([read, counted], format="csr")[np.argsort(order, kind="stable")]

    # -- models ------------------------------------------------------------------------------

    def training_papers(self, scope: Scope, subscriber: Subscriber) -> TrainingPapers:
        """What a training of the subscriber learns from, before any vector is made."""
        session = scope.session
        texts, liked = self._prior_texts(scope, subscriber)
        rated, seen = subscriber_store.counted_ratings(session, subscriber.id)
        papers = [paper for _, paper in rated]
        votes = np.array([rating.vote for rating, _ in rated], dtype=np.int64)
        # Papers rated down stay in the pool: a thumbs-down must add to what counts against a
        # topic, never take the paper's weight as a weak negative away.
        weak = catalogue_store.sample_papers(
            session,
            WEAK_NEGATIVES,
            exclude=[p.id for p, vote in zip(papers, votes, strict=True) if vote > 0]
            + [p.id for p in liked],
            seed=(subscriber.id * 7919 + seen) % WEAK_SAMPLES,
        )
        return TrainingPapers(texts, liked, papers, votes, weak, seen)

    def _training_data(
        self, scope: Scope, subscriber: Subscriber, found: TrainingPapers | None = None
    ) -> tuple[model.PaperVectors, list[Paper], np.ndarray, model.PaperVectors | None, int]:
        found = found or self.training_papers(scope, subscriber)
        prior = self._prior_vectors(scope, found.texts, found.liked)
        weak = self.paper_vectors(scope, found.weak)
        return prior, found.rated, found.votes, weak if len(found.weak) else None, found.seen

    def unembedded(
        self, scope: Scope, subscriber: Subscriber, found: TrainingPapers
    ) -> list[tuple[str, str]]:
        """The texts a training of the subscriber on ``found`` would embed: the profile's
        (``about``, liked entries not in the catalogue, interest phrases) and those of the
        papers it learns from, whose embeddings are neither in memory nor stored. What
        :meth:`embed_missing` embeds outside any transaction, so that the sentence model never
        runs inside one (a transaction holds the write lock, SQLite's on the whole file)."""
        if not scope.space.has_embeddings:
            return []
        papers = self._vectors.missing(scope.space, [*found.liked, *found.rated, *found.weak])
        phrases = model.profile_texts(subscriber.every_phrase)
        texts = [*found.texts, *phrases, *((p.title, p.abstract) for p in papers)]
        return self.missing_embeddings(scope, texts)

    def profile_prior(
        self, scope: Scope, subscriber: Subscriber
    ) -> tuple[model.PaperVectors, list[Paper]]:
        """The vectors of the subscriber's profile apart from its interest phrases (the
        model's prior pseudo-positives: ``about`` and ``liked``), and the catalogue papers its
        ``liked`` entries name. The phrases are :meth:`interest_vectors`: the model weighs
        them as the queries they are, not as papers.

        A liked entry that names a catalogue paper counts as that paper, with all it has
        (title, abstract, their embedding); one that names none yet counts as its text alone,
        a bare arXiv id as nothing. Resolved on every training, so a liked paper that arrives
        later counts in full from the next one.
        """
        texts, papers = self._prior_texts(scope, subscriber)
        return self._prior_vectors(scope, texts, papers), papers

    def _prior_vectors(
        self, scope: Scope, texts: Sequence[tuple[str, str]], papers: Sequence[Paper]
    ) -> model.PaperVectors:
        parts = [self.vectors(scope, texts)]
        if papers:
            parts.append(self.paper_vectors(scope, papers))
        return model.PaperVectors.stack(parts)

    def _prior_texts(
        self, scope: Scope, subscriber: Subscriber
    ) -> tuple[list[tuple[str, str]], list[Paper]]:
        """The texts of :meth:`profile_prior` (``about``, liked entries that name no catalogue
        paper yet) and the catalogue papers the others name."""
        liked = catalogue_store.liked_papers(scope.session, subscriber.every_liked)
        unresolved = [e for e in subscriber.every_liked if e not in liked and not _bare_arxiv_id(e)]
        papers = list({p.id: p for p in liked.values()}.values())
        return model.profile_texts((), subscriber.about, unresolved), papers

    def interest_vectors(self, scope: Scope, subscriber: Subscriber) -> model.PaperVectors:
        """The vectors of the phrases of every interest of the subscriber, one a phrase."""
        return self.vectors(scope, model.profile_texts(subscriber.every_phrase))

    def train(
        self,
        scope: Scope,
        subscriber: Subscriber,
        now: datetime,
        found: TrainingPapers | None = None,
    ) -> model.UserModel:
        """Train the subscriber's model from their profile and ratings (``found``, read in this
        transaction, if the caller has), and store it."""
        prior, papers, votes, weak, seen = self._training_data(scope, subscriber, found)
        rated = self.paper_vectors(scope, papers)
        interests = self.interest_vectors(scope, subscriber)
        trained = model.train(scope.space, prior, rated, votes, weak, interests=interests)
        self._store(scope, subscriber, trained, seen, now)
        return trained

    @staticmethod
    def _store(
        scope: Scope, subscriber: Subscriber, trained: model.UserModel, seen: int, now: datetime
    ) -> None:
        """Store ``trained`` as the subscriber's model, marked as having learnt ``seen``
        ratings and their profile as it is now."""
        vector_store.save_user_model(
            scope.session,
            subscriber.id,
            feature_space_id=scope.space.id,
            model=trained.to_bytes(),
            ratings_seen=seen,
            profile_updated_at=subscriber.updated_at,
            now=now,
        )

    def take_vote(
        self, scope: Scope, subscriber: Subscriber, now: datetime
    ) -> model.UserModel | None:
        """The subscriber's stored model changed by their newest vote alone, and stored, when
        that vote is all it lacks: it is fresh but for that one rating (same space and recipe,
        nothing newer in the profile or its liked papers), keeps its class means
        (:func:`recommender.model.update`), has taken fewer than
        :data:`UPDATES_BETWEEN_TRAININGS` votes so, and the voted paper's vector needs no
        embedding. None otherwise: then :meth:`train` is what brings it up to date.

        The subscriber's row is locked first (on PostgreSQL), as a vote locks it, so that the
        stored model, the count and the newest rating are read with no vote committed
        between: two votes' updates take their turns, each reading the model the other
        stored. A model that has already taken the vote (its rating count is the
        subscriber's) is never changed by it twice: a training's mark counts exactly the
        ratings it learnt (:func:`recommender.store.subscribers.counted_ratings`).
        """
        session, space = scope
        subscriber_store.lock_subscribers(session, [subscriber.id])
        stored = vector_store.user_models(session, [subscriber.id]).get(subscriber.id)
        count = vector_store.rating_count(session, subscriber.id)
        changed = catalogue_store.liked_papers_changed(
            session, {subscriber.id: subscriber.every_liked}
        ).get(subscriber.id)
        found = _current(stored, subscriber, space, count - 1, changed)
        if found is None or not takes_votes(found):
            return None
        vote = subscriber_store.newest_vote_change(session, subscriber.id)
        if vote is None:
            return None
        paper, before, after = vote
        if self._vectors.missing(space, [paper]) and self.missing_embeddings(
            scope, [(paper.title, paper.abstract)]
        ):
            return None  # embedding it is a training's work, outside the transaction
        updated = model.update(space, found, self.paper_vectors(scope, [paper]), before, after)
        if updated is not None:
            self._store(scope, subscriber, updated, count, now)
        return updated

    def model_for(self, scope: Scope, subscriber: Subscriber, now: datetime) -> model.UserModel:
        """The subscriber's stored model if it is fresh, else a newly trained one."""
        return self.models_for(scope, [subscriber], now)[0]

    def models_for(
        self,
        scope: Scope,
        subscribers: Sequence[Subscriber],
        now: datetime,
    ) -> list[model.UserModel]:
        """:meth:`model_for` of each subscriber, read from the store in one go."""
        session, space = scope
        ids = [s.id for s in subscribers]
        stored_models = vector_store.user_models(session, ids)
        counts = vector_store.rating_counts(session, ids)
        # a liked paper that arrived (or changed) since the model was trained makes it stale
        liked_changed = catalogue_store.liked_papers_changed(
            session, {s.id: s.every_liked for s in subscribers if s.every_liked}
        )
        out = []
        for subscriber in subscribers:
            found = _current(
                stored_models.get(subscriber.id),
                subscriber,
                space,
                counts.get(subscriber.id, 0),
                liked_changed.get(subscriber.id),
            )
            out.append(found if found is not None else self.train(scope, subscriber, now))
        return out

    # -- ranking -----------------------------------------------------------------------------

    def paper_vectors(self, scope: Scope, papers: Sequence[PaperText]) -> model.PaperVectors:
        """The vectors of ``papers``, kept in memory by paper id for the next subscriber."""
        return self._vectors.get(scope.space, papers, functools.partial(self.vectors, scope))

    def score(
        self,
        scope: Scope,
        subscriber: Subscriber,
        papers: Sequence[PaperText],
        now: datetime,
    ) -> Scored:
        """The subscriber's scores of ``papers`` (in their order), retraining first if stale."""
        user_model = self.model_for(scope, subscriber, now)
        vectors = self.paper_vectors(scope, papers)
        return Scored(user_model, vectors, model.score(user_model, vectors))

    def explain(
        self,
        space: model.FeatureSpace,
        papers: Sequence[PaperText],
        scored: Scored,
        indices: Sequence[int],
        known: model.RatedPapers | None,
        among: np.ndarray | None = None,
    ) -> list[Ranked]:
        """``papers[i]`` for each ``i`` of ``indices``, with score and explanation.

        ``known``: the subscriber's :meth:`known_papers`; ``among``: the scores each paper's
        share beaten is counted among (default: all of ``scored``'s).
        """
        rows = [int(i) for i in indices]
        explanations = model.explain_many(
            scored.model,
            space,
            [(papers[i].title, papers[i].abstract) for i in rows],
            scored.vectors,
            rows,
            known,
            values=[float(scored.scores[i]) for i in rows],
        )
        values = scored.scores[rows]
        beaten = shares_beaten(values, scored.scores if among is None else among)
        return [
            Ranked(papers[i], float(value), explanation, float(share))
            for i, value, share, explanation in zip(rows, values, beaten, explanations, strict=True)
        ]

    def known_papers(
        self,
        scope: Scope,
        subscriber: Subscriber,
        rated: Sequence[tuple[Rating, Paper]] | None = None,
    ) -> model.RatedPapers | None:
        """What explanations compare against: rated papers, and the profile's liked papers (as
        catalogue papers where the catalogue has them, else as titles), with the terms of
        everything the subscriber gave as liked (``own_terms``: phrases, ``about``, liked and
        rated-up papers; an explanation names no term outside them). ``None``: nothing given.

        ``rated``: the subscriber's current ratings, where the caller has read them already.
        """
        session = scope.session
        if rated is None:
            rated = subscriber_store.current_ratings(session, subscriber.id)
        phrases = [*subscriber.every_phrase, subscriber.about]
        if not rated and not subscriber.every_liked and not any(phrases):
            return None
        ids: list[str | None] = [paper.id for _, paper in rated]
        titles = [paper.title for _, paper in rated]
        texts = [(paper.title, paper.abstract) for _, paper in rated]
        votes = [rating.vote for rating, _ in rated]
        in_profile = [False] * len(rated)
        liked = catalogue_store.liked_papers(session, subscriber.every_liked)
        for entry in subscriber.every_liked:
            paper = liked.get(entry)
            if paper is None and _bare_arxiv_id(entry):
                continue
            ids.append(paper.id if paper is not None else None)
            titles.append(paper.title if paper is not None else entry)
            texts.append((paper.title, paper.abstract) if paper is not None else (entry, ""))
            votes.append(1)
            in_profile.append(True)
        up_texts = [text for text, vote in zip(texts, votes, strict=True) if vote > 0]
        own_terms = text_terms([*((p, "") for p in phrases), *up_texts])
        return model.RatedPapers(
            ids, titles, self.vectors(scope, texts), votes, own_terms, in_profile
        )

    def evaluate(self, scope: Scope, subscriber: Subscriber) -> model.Evaluation:
        """Cross-validated quality of the subscriber's model on their own ratings."""
        prior, papers, votes, weak, _ = self._training_data(scope, subscriber)
        rated = self.paper_vectors(scope, papers)
        interests = self.interest_vectors(scope, subscriber)
        return model.cross_validate(scope.space, prior, rated, votes, weak, interests=interests)
