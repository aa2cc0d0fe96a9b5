"""Query the papers that ranking reads: a subscriber's candidates, texts, the whole catalogue.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from recommender import dumps
from recommender.sources.base import arxiv_id
from recommender.store.models import Dump, Paper, Rating, Subscriber


def unrated_papers(
    session: Session,
    subscriber_id: int,
    *,
    listed_since: date | None = None,
    exclude: Collection[str] = (),
) -> list[Paper]:
    """Papers the subscriber never rated, first listed on or after ``listed_since``.

    ``exclude`` leaves out more papers by id (those already sent to them, say).
    """
    statement = select(Paper).where(
        ~exists().where(Rating.subscriber_id == subscriber_id, Rating.paper_id == Paper.id)
    )
    if listed_since is not None:
        statement = statement.join(Dump, Dump.id == Paper.first_dump_id).where(
            Dump.listing_date >= listed_since
        )
    excluded = set(exclude)
    return [p for p in session.scalars(statement.order_by(Paper.id)) if p.id not in excluded]


def unseen_papers(
    session: Session, subscriber: Subscriber, *, listed_since: date | None = None
) -> list[Paper]:
    """Papers new to the subscriber: never rated by them and not liked in their profile."""
    return unrated_papers(
        session,
        subscriber.id,
        listed_since=listed_since,
        exclude=liked_paper_ids(subscriber.liked)
        | {p.id for p in liked_papers(session, subscriber.liked).values()},
    )


def liked_paper_ids(liked_titles: Iterable[str]) -> set[str]:
    """The ids a profile's liked titles have as papers: the subscriber knows those papers, so
    they are never recommended back to them (a title not in the catalogue matches nothing)."""
    return {dumps.paper_id(title) for title in liked_titles if title.strip()}


def liked_papers(session: Session, liked: Iterable[str]) -> dict[str, Paper]:
    """The catalogue papers a profile's ``liked`` entries name, by entry (an entry naming no
    paper in the catalogue yet is left out).

    An entry names a paper by its title, exactly or once normalised (the paper's id hashes
    its normalised title), or by an arXiv id in it (``2401.01234``, ``arXiv:2401.01234v2``,
    an ``arxiv.org/abs/`` link) where a source brought the paper's arXiv id; the arXiv id
    wins where both name a paper.
    """
    entries = [e for e in dict.fromkeys(liked) if e.strip()]
    if not entries:
        return {}
    by_id = {e: dumps.paper_id(e) for e in entries}
    by_arxiv = {e: found for e in entries if (found := arxiv_id(e)) is not None}
    found_ids = {p.id: p for p in papers_by_id(session, list(set(by_id.values())))}
    found_arxiv: dict[str, Paper] = {}
    arxiv_ids = list(set(by_arxiv.values()))
    for start in range(0, len(arxiv_ids), 500):
        chunk = arxiv_ids[start : start + 500]
        statement = select(Paper).where(Paper.arxiv_id.in_(chunk))
        found_arxiv.update((str(p.arxiv_id), p) for p in session.scalars(statement))
    out = {}
    for entry in entries:
        paper = found_arxiv.get(by_arxiv.get(entry, "")) or found_ids.get(by_id[entry])
        if paper is not None:
            out[entry] = paper
    return out


def liked_papers_changed(
    session: Session, liked: Mapping[int, Iterable[str]]
) -> dict[int, datetime]:
    """For each subscriber (``liked``: their profile's entries, by subscriber id), when the
    newest change came to the papers their entries name (the paper's arrival, a fuller
    abstract, an arXiv id): a model trained before then is stale. Subscribers whose entries
    name no paper in the catalogue are left out. One query per 500 keys, however many
    subscribers."""
    keys = {
        sid: [(dumps.paper_id(e), arxiv_id(e)) for e in set(entries) if e.strip()]
        for sid, entries in liked.items()
    }
    ids = list({k for pairs in keys.values() for k, _ in pairs})
    arxiv_ids = list({a for pairs in keys.values() for _, a in pairs if a is not None})
    changed_by_id: dict[str, datetime] = {}
    changed_by_arxiv: dict[str, datetime] = {}
    columns = (Paper.id, Paper.arxiv_id, Paper.updated_at)
    for column, wanted in ((Paper.id, ids), (Paper.arxiv_id, arxiv_ids)):
        for start in range(0, len(wanted), 500):
            rows = session.execute(select(*columns).where(column.in_(wanted[start : start + 500])))
            for paper_id, paper_arxiv_id, updated_at in rows:
                changed_by_id[paper_id] = updated_at
                if paper_arxiv_id is not None:
                    changed_by_arxiv[paper_arxiv_id] = updated_at
    out = {}
    for sid, pairs in keys.items():
        times = [changed_by_id[k] for k, _ in pairs if k in changed_by_id]
        times += [changed_by_arxiv[a] for _, a in pairs if a is not None and a in changed_by_arxiv]
        if times:
            out[sid] = max(times)
    return out


def papers_by_id(session: Session, ids: Sequence[str]) -> list[Paper]:
    """The papers with those ids, in the order given (unknown ids left out)."""
    found: dict[str, Paper] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        found.update((p.id, p) for p in session.scalars(select(Paper).where(Paper.id.in_(chunk))))
    return [found[i] for i in ids if i in found]


def all_paper_ids(session: Session) -> list[str]:
    """Every paper's id, in id order."""
    return list(session.scalars(select(Paper.id).order_by(Paper.id)))


def paper_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Paper)) or 0)


def catalogue_texts(session: Session) -> list[tuple[str, str]]:
    """Every paper's (title, abstract), for counting document frequencies."""
    return [(t, a) for t, a in session.execute(select(Paper.title, Paper.abstract))]
