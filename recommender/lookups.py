"""Read one paper or subscriber from the store as the result record callers see.

Each works in the caller's session; the records are :mod:`recommender.results`'s.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from recommender import links
from recommender.results import DumpInfo, PaperInfo, SubscriberInfo
from recommender.store import papers as paper_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Paper, Subscriber


def paper_info(session: Session, paper: Paper) -> PaperInfo:
    """``paper`` with the dumps that listed it and the date it was first listed."""
    found = paper_store.dumps_of(session, paper.id)
    listed = [{"dump": d.file_name, "listing_date": d.listing_date.isoformat()} for d in found]
    first = next((d.listing_date for d in found if d.id == paper.first_dump_id), None)
    return PaperInfo.of(paper, listed, first)


def subscriber_info(session: Session, subscriber: Subscriber) -> SubscriberInfo:
    """``subscriber`` with how many current ratings they have."""
    count = len(subscriber_store.current_ratings(session, subscriber.id))
    return SubscriberInfo.of(subscriber, count)


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
