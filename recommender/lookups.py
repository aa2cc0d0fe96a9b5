"""Read papers, dumps, subscribers and ratings from the store as the records callers see.

Each works in the caller's session; the records are :mod:`recommender.results`'s.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from recommender import links
from recommender.results import DumpInfo, PaperInfo, RatingInfo, SubscriberInfo
from recommender.store import papers as paper_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Paper, Subscriber
from recommender.store.papers import PaperQuery


def paper_info(session: Session, paper: Paper) -> PaperInfo:
    """``paper`` with the dumps that listed it and the date it was first listed."""
    found = paper_store.dumps_of(session, paper.id)
    listed = [{"dump": d.file_name, "listing_date": d.listing_date.isoformat()} for d in found]
    first = next((d.listing_date for d in found if d.id == paper.first_dump_id), None)
    return PaperInfo.of(paper, listed, first)


def paper_infos(session: Session, query: PaperQuery) -> tuple[list[PaperInfo], int]:
    """The papers matching ``query``, each with the date it was first listed, and how many
    match in all."""
    found, total = paper_store.find_papers(session, query)
    listed = paper_store.listing_dates(session, {paper.first_dump_id for paper in found})
    infos = [PaperInfo.of(p, first_listed=listed.get(p.first_dump_id)) for p in found]
    return infos, total


def subscriber_info(session: Session, subscriber: Subscriber) -> SubscriberInfo:
    """``subscriber`` with how many current ratings they have."""
    count = len(subscriber_store.current_ratings(session, subscriber.id))
    return SubscriberInfo.of(subscriber, count)


def subscriber_infos(session: Session) -> list[SubscriberInfo]:
    """Every subscriber, with how many current ratings each has."""
    counts = subscriber_store.current_rating_counts(session)
    return [
        SubscriberInfo.of(s, counts.get(s.id, 0))
        for s in subscriber_store.list_subscribers(session)
    ]


def rating_infos(session: Session, email: str, history: bool) -> list[RatingInfo]:
    """``email``'s current ratings (newest first), or their whole history (oldest first)."""
    subscriber = subscriber_store.get_subscriber(session, email)
    rows = (
        subscriber_store.rating_history(session, subscriber.id)
        if history
        else subscriber_store.current_ratings(session, subscriber.id)
    )
    return [RatingInfo.of(rating, paper) for rating, paper in rows]


def linked_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    """The subscriber a link names; a link of someone no longer here is not valid."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise links.TokenInvalid("this link belongs to a subscriber who is gone")
    return subscriber


def dump_infos(session: Session) -> list[DumpInfo]:
    """The ingested dumps, oldest listing first."""
    return [
        DumpInfo(
            d.id,
            d.file_name,
            d.listing_date,
            d.year_rule,
            d.papers_total,
            d.papers_new,
            d.papers_updated,
            d.ingested_at,
        )
        for d in paper_store.list_dumps(session)
    ]
