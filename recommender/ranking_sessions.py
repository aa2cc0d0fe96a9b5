"""The :class:`~recommender.ranking.Ranker` over sessions: each step in transactions of its own.

The ranker works in its caller's transaction; this module is that caller for the facade. It
opens and commits the transactions of making the feature space, training, embedding,
recommending and evaluating, and leaves scoring to :mod:`recommender.ranking`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recommender import model
from recommender.digests import steering
from recommender.ranking import Ranker
from recommender.results import EvaluationInfo, Recommendation
from recommender.store import catalogue as catalogue_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Subscriber

# How many times the feature space is made before a conflict with another process is an error.
SPACE_ATTEMPTS = 3


class SessionRanker:
    """Runs ``ranker``'s steps in sessions from ``sessions``, at the time ``clock`` says."""

    def __init__(
        self, sessions: Callable[[], Session], ranker: Ranker, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._ranker = ranker
        self._clock = clock

    def space(
        self,
        *,
        refit: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> model.FeatureSpace:
        """The current feature space, made when there is none (or on ``refit``): its word
        statistics counted outside any transaction (seconds on a large catalogue, while
        others go on writing: SQLite's write lock is the whole file's; each part's word
        counts kept in a short one as it is counted), then stored in a short one. One that
        another process made meanwhile is used instead. Counting tells ``on_start`` how many
        papers it counts and ``on_progress`` of each part counted."""
        for attempt in range(SPACE_ATTEMPTS):
            with self._sessions() as session:
                current = None if refit else self._ranker.stored_space(session)
                if current is not None:
                    return current
                texts, papers = self._ranker.space_texts(session)
            if texts and on_start is not None:
                on_start(len(texts))
            made = self._ranker.new_space(texts, on_progress, self._sessions)
            try:
                with self._sessions() as session, session.begin():
                    return self._ranker.keep_space(
                        session, made, self._clock(), papers, refit=refit
                    )
            except IntegrityError:
                # Another process made the same space at the same moment: use theirs.
                if attempt == SPACE_ATTEMPTS - 1:
                    raise
                refit = False
        raise AssertionError("unreachable")

    def train(self, session: Session, subscriber: Subscriber) -> None:
        """Bring ``subscriber``'s model up to date after a change (a vote, an edited profile),
        in a transaction of its own on ``session``: by the newest vote alone when that is all
        it lacks (:meth:`Ranker.take_vote`, a few vector operations), else by a training. What
        a training would embed is embedded first, outside it: the sentence model may take
        seconds (a list of 200 interests, a first sample of weak negatives), and a transaction
        holds the write lock."""
        space = self.space()
        with session.begin():
            scope = self._ranker.scope(session, space)
            if self._ranker.take_vote(scope, subscriber, self._clock()) is not None:
                return
        with session.begin():
            scope = self._ranker.scope(session, space)
            found = self._ranker.training_papers(scope, subscriber)
            unembedded = self._ranker.unembedded(scope, subscriber, found)
            if not unembedded:  # as nearly always: one pass, nothing read twice
                self._ranker.train(scope, subscriber, self._clock(), found)
                return
        self._ranker.embed_missing(self._sessions, space, unembedded)
        with session.begin():
            self._ranker.train(self._ranker.scope(session, space), subscriber, self._clock())

    def embed_papers(
        self,
        papers: list[tuple[str, str]] | None,
        on_start: Callable[[int], None] | None,
        on_progress: Callable[[int], None] | None,
    ) -> int:
        """Embed ``papers`` (all unembedded ones if None), a batch per transaction."""
        if papers is None:
            with self._sessions() as session:
                papers = catalogue_store.catalogue_texts(session)
        return self._ranker.embed_missing(
            self._sessions, self.space(), papers, on_start=on_start, on_progress=on_progress
        )

    def recommend(
        self,
        email: str,
        top: int,
        since: date | None,
        on_start: Callable[[int], None] | None,
        on_progress: Callable[[int], None] | None,
    ) -> list[Recommendation]:
        """The best ``top`` papers for ``email`` among those new to them and free of their
        must-not words, best first, each labelled with the interest it serves (as a digest
        steers: :func:`recommender.digests.steering.rank`); the candidates are embedded and
        their word counts kept first, outside the ranking transaction (the next run of a
        catalogue of thousands then reads them instead of counting seconds' worth again)."""
        with self._sessions() as session:
            subscriber = subscriber_store.get_subscriber(session, email)
            papers = catalogue_store.unseen_papers(session, subscriber, listed_since=since)
            texts = [(p.title, p.abstract) for p in papers]
        self.embed_papers(texts, on_start, on_progress)
        space = self.space()
        self._ranker.count_missing(self._sessions, space, texts)
        with self._sessions() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            papers = catalogue_store.unseen_papers(session, subscriber, listed_since=since)
            scope = self._ranker.scope(session, space)
            ranked = steering.rank(self._ranker, scope, subscriber, papers, self._clock(), top=top)
            return [Recommendation.of(r.ranked, r.interest, r.followed, r.among) for r in ranked]

    def nothing_to_recommend(self, email: str, since: date | None) -> str:
        """Why :meth:`recommend` finds nothing for ``email``: the first of
        :data:`recommender.results.NOTHING_TO_RECOMMEND` that holds."""
        with self._sessions() as session:
            subscriber = subscriber_store.get_subscriber(session, email)
            if catalogue_store.count_papers(session) == 0:
                return "no papers"
            if since is not None and catalogue_store.count_papers(session, listed_since=since) == 0:
                return "none listed since"
            if not catalogue_store.unseen_papers(session, subscriber, listed_since=since):
                return "all rated"
            return "all kept out"

    def retrain(
        self,
        email: str | None,
        refit: bool,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Retrain ``email``'s model, or everyone's, each in a transaction of its own (after
        making the space, on ``refit``: :meth:`space`)."""
        space = self.space(refit=refit, on_start=on_start, on_progress=on_progress)
        with self._sessions() as session:
            emails = (
                [email]
                if email is not None
                else [s.email for s in subscriber_store.list_subscribers(session)]
            )
        for address in emails:
            with self._sessions() as session, session.begin():
                subscriber = subscriber_store.get_subscriber(session, address)
                self._ranker.train(self._ranker.scope(session, space), subscriber, self._clock())
        return len(emails)

    def evaluate(self, email: str) -> EvaluationInfo:
        """Cross-validate ``email``'s model on their own ratings."""
        space = self.space()
        with self._sessions() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            evaluation = self._ranker.evaluate(self._ranker.scope(session, space), subscriber)
            return EvaluationInfo(email, space.id, evaluation)
