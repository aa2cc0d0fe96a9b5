"""Record a subscriber's votes, and take their exported rating history in and out.

Everything here but :func:`rate` works in the caller's session and transaction, and leaves
training after a vote to the caller. The file formats are
:mod:`recommender.ratings_io`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from recommender import dumps
from recommender.errors import RecommenderError
from recommender.ratings_io import RatingRecord
from recommender.results import ImportReport, RatingInfo
from recommender.store import catalogue as catalogue_store
from recommender.store import papers as paper_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Paper, Rating, Subscriber

# How far ahead of this machine's clock an imported rating may be dated: the clocks of the
# machine that exported it and of this one may differ by this much.
CLOCK_SKEW = timedelta(minutes=10)


class RatingFromTheFuture(RecommenderError, ValueError):
    """An imported rating dated after now: it would stay a paper's latest rating, and every
    vote made before that date would change nothing."""


def vote(
    session: Session, subscriber: Subscriber, paper: Paper, vote: str, source: str, now: datetime
) -> tuple[RatingInfo, bool]:
    """Record ``vote`` in ``session``'s transaction; return it and whether it changed
    anything (a vote that is already the current one adds no row and needs no training).

    The caller commits before training: should training fail, the rating is kept and the model
    is merely stale, retrained before it is next used.
    """
    if vote not in subscriber_store.VOTES:
        raise ValueError(f"unknown vote {vote!r}; use up, down or clear")
    rating = subscriber_store.add_rating(
        session, subscriber, paper, subscriber_store.VOTES[vote], source, now
    )
    changed = rating is not None and rating in session.new  # added, not kept
    info = (
        RatingInfo.of(rating, paper)
        if rating is not None
        else RatingInfo(paper.id, paper.title, "clear", source, now)
    )
    return dataclasses.replace(info, changed=changed), changed


def rate(
    sessions: Callable[[], Session],
    subscriber_of: Callable[[Session], Subscriber],
    paper_ref: str,
    word: str,
    source: str,
    clock: Callable[[], datetime],
    train: Callable[[Session, Subscriber], None],
) -> RatingInfo:
    """Record a vote by the subscriber ``subscriber_of`` finds on a paper (id or title prefix)
    in a transaction of its own, then (if it changed anything) retrain their model by
    ``train``."""
    with sessions() as session:
        with session.begin():
            subscriber = subscriber_of(session)
            paper = paper_store.get_paper(session, paper_ref)
            info, changed = vote(session, subscriber, paper, word, source, clock())
        if changed:
            train(session, subscriber)
    return info


def export_records(ratings: list[RatingInfo]) -> list[RatingRecord]:
    """The export records of a rating history."""
    return [RatingRecord(r.paper_id, r.title, r.vote, r.source, r.rated_at) for r in ratings]


def import_records(
    session: Session, subscriber: Subscriber, records: list[RatingRecord], now: datetime
) -> ImportReport:
    """Add exported ratings to ``subscriber``'s history, skipping those already there and
    those of papers the catalogue does not hold (found by id, else by title). Raise
    :class:`RatingFromTheFuture`, adding none, if one is dated after ``now``."""
    for record in records:
        if record.rated_at > now + CLOCK_SKEW:
            raise RatingFromTheFuture(
                f"the rating of {record.title or record.paper_id!r} is dated "
                f"{record.rated_at.isoformat()}, after now ({now.isoformat(timespec='seconds')}):"
                " it would outweigh every vote until then; nothing was imported"
            )
    report = ImportReport()
    # Two imports at once must not both miss what the other adds: the subscriber's row is
    # locked before their history is read, as for a vote (subscriber_store.add_rating).
    session.execute(select(Subscriber.id).where(Subscriber.id == subscriber.id).with_for_update())
    have = {
        (r.paper_id, r.vote, r.rated_at)
        for r, _ in subscriber_store.rating_history(session, subscriber.id)
    }
    # Every paper looked up at once: a query per row made 100,000 rows take 24 seconds.
    named = {id_ for r in records for id_ in (r.paper_id, r.title and dumps.paper_id(r.title))}
    papers = {p.id: p for p in catalogue_store.papers_by_id(session, sorted(named - {""}))}
    for record in records:
        paper = papers.get(record.paper_id)
        if paper is None and record.title:
            paper = papers.get(dumps.paper_id(record.title))
        if paper is None:
            report.unknown_papers.append(record.title or record.paper_id)
            continue
        vote = subscriber_store.VOTES[record.vote]
        if (paper.id, vote, record.rated_at) in have:
            report.already_there += 1
            continue
        have.add((paper.id, vote, record.rated_at))
        session.add(
            Rating(
                subscriber_id=subscriber.id,
                paper_id=paper.id,
                vote=vote,
                source=record.source,
                rated_at=record.rated_at,
            )
        )
        report.imported += 1
    return report
