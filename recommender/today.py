"""The page of today's papers: a subscriber's ranking of the newest listing day, and rating from it.

"Today" is the newest listing day that brought papers new to the catalogue
(:func:`~recommender.store.catalogue.latest_listing_day`), found when the link is followed, so
a link from an old digest opens the current day. The ranking is the facade's ``recommend``
over the papers first listed that day that the subscriber has not rated, so the page, the CLI
and the score as read ("ranks above N% of ...") agree; this module adds only what the page
shows of each paper and the day's papers the subscriber has rated (to undo them). Checking
tokens is :mod:`recommender.links`'s, recording a vote :mod:`recommender.ratings`', the HTTP
side :mod:`recommender.web`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.orm import Session

from recommender import links, ratings, render
from recommender.lookups import linked_subscriber
from recommender.results import (
    RatingInfo,
    Recommendation,
    SubscriberInfo,
    TodayPage,
    TodayPaper,
)
from recommender.store import catalogue as catalogue_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Paper, Subscriber
from recommender.store.papers import PaperNotFound
from recommender.votes import VOTES

# How many of the day's papers the page ranks, best first: enough to rate well past a digest,
# few enough to read on a phone (a busy arXiv day lists hundreds).
RANKED = 50


class Recommend(Protocol):
    """The facade's ``recommend``: the best ``top`` papers new to ``email``, best first."""

    def __call__(self, email: str, *, top: int, since: date | None) -> list[Recommendation]: ...


class Today:
    """Opens today links and records their votes, over ``sessions``, checking with ``signer``."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        signer: links.Signer,
        clock: Callable[[], datetime],
        recommend: Recommend,
        train: Callable[[Session, Subscriber], None],
    ) -> None:
        self._sessions = sessions
        self._signer = signer
        self._clock = clock
        self._recommend = recommend
        self._train = train

    def open(self, token: str) -> TodayPage:
        """The page of a today link, changing nothing the subscriber could see."""
        subscriber_id = self._signer.check_subscriber("today", token)
        with self._sessions() as session:
            email = linked_subscriber(session, subscriber_id).email
            day = catalogue_store.latest_listing_day(session)
        ranked = self._recommend(email, top=RANKED, since=day) if day is not None else []
        with self._sessions() as session:
            subscriber = linked_subscriber(session, subscriber_id)
            shown = catalogue_store.papers_by_id(session, [r.id for r in ranked])
            papers = {p.id: p for p in shown}
            current = subscriber_store.current_ratings(session, subscriber.id)
            of_day = (
                catalogue_store.first_listed_since(session, [p.id for _, p in current], day)
                if day is not None
                else set()
            )
            return TodayPage(
                SubscriberInfo.of(subscriber, len(current)),
                day,
                [_shown(r, papers[r.id]) for r in ranked if r.id in papers],
                [RatingInfo.of(rating, paper) for rating, paper in current if paper.id in of_day],
                RANKED,
            )

    def rate(self, token: str, paper_id: str, vote: str) -> RatingInfo:
        """Record the vote (up, down or clear) of a today link's subscriber on the paper with
        exactly that id; retrain their model if it changed anything."""
        subscriber_id = self._signer.check_subscriber("today", token)
        if vote not in VOTES:
            raise ValueError(f"vote: {vote!r} is not a vote; choose up, down or clear")
        with self._sessions() as session:
            with session.begin():
                subscriber = linked_subscriber(session, subscriber_id)
                # No id holds a NUL, and PostgreSQL refuses one in a query.
                paper = None if "\x00" in paper_id else session.get(Paper, paper_id)
                if paper is None:
                    raise PaperNotFound(f"paper: no paper has the id {paper_id!r}")
                info, changed = ratings.vote(session, subscriber, paper, vote, "web", self._clock())
            if changed:
                self._train(session, subscriber)
        return info


def _shown(recommendation: Recommendation, paper: Paper) -> TodayPaper:
    """What the page shows of a ranked paper."""
    short = render.trim(paper.abstract, render.ABSTRACT_CHARS)  # as the email shortens it
    whole = " ".join(paper.abstract.split())
    return TodayPaper(recommendation, short, short != whole, paper.authors)
