"""Store and query papers and the dumps (and source days) they came from.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the
transaction, so one dump, or one day of a source, is written all or nothing.

Over 500 lines on purpose: dumps and source days merge into the catalogue by one set of rules
(which paper is which, what a later sighting may change), kept beside the queries they need.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from recommender import dumps
from recommender.errors import NotFound, RecommenderError
from recommender.sources.base import Skipped, SourceDay, SourcePaper
from recommender.store.models import Dump, DumpPaper, Paper


@dataclass(frozen=True)
class DumpOutcome:
    """What ingesting one dump did."""

    file_name: str
    dump_id: int
    listing_date: date
    already_ingested: bool
    papers_new: int = 0
    papers_updated: int = 0
    papers_unchanged: int = 0
    year_rule: str = ""
    # Papers of a source's day the store could not take, and why (dumps skip none here).
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class PaperQuery:
    """Filters for :func:`find_papers`; ``None`` means "any"."""

    text: str | None = None
    listed_since: date | None = None
    published_since: date | None = None
    min_upvotes: int | None = None
    with_code: bool = False
    dump_id: int | None = None
    sort: str = "newest"  # newest | upvotes | published | title
    limit: int | None = None

    def __post_init__(self) -> None:
        # Each word is a LIKE pattern: SQLite refuses one over 50,000 bytes as "too complex".
        if self.text is not None and len(self.text) > MAX_SEARCH_CHARS:
            raise BadSearch(
                f"a search is at most {MAX_SEARCH_CHARS} characters, not {len(self.text)}"
            )


# Longer than any title, and longer than SQLite lets a LIKE pattern be (in bytes).
MAX_SEARCH_CHARS = 1000


class BadSearch(RecommenderError, ValueError):
    """A search that cannot be run as given."""


SORTS = ("newest", "upvotes", "published", "title")

# add_dump writes plain rows with executemany: a dump brings a hundred papers or so, and per
# row the ORM's unit of work (and even its bulk mode) cost more than the database did. The
# statements are built once; the bulk ones go to the tables, past the ORM.
_PAPERS = Paper.__table__
_FIND_DUMP = select(Dump.id, Dump.listing_date, Dump.year_rule).where(
    Dump.content_hash == bindparam("hash")
)
_ADD_DUMP = insert(Dump.__table__).returning(Dump.__table__.c.id)
_MERGED = (
    Paper.id,
    Paper.upvotes,
    Paper.upvotes_as_of,
    Paper.abstract,
    Paper.authors,
    Paper.published,
    Paper.links,
    Paper.updated_at,
)
_FIND_PAPERS = select(*_MERGED).where(Paper.id.in_(bindparam("ids", expanding=True)))
# Both timestamps from one parameter: converted once per row, not twice.
_NOW = bindparam("now", type_=_PAPERS.c.first_seen_at.type)
_ADD_PAPERS = insert(_PAPERS).values(first_seen_at=_NOW, updated_at=_NOW)
_UPDATE_PAPERS = update(_PAPERS).where(_PAPERS.c.id == bindparam("paper_id"))
_LIST_PAPERS = insert(DumpPaper.__table__)


def add_dump(session: Session, file_name: str, dump: dumps.Dump, now: datetime) -> DumpOutcome:
    """Record ``dump`` and merge its papers into the catalogue; a known dump changes nothing."""
    known = session.execute(_FIND_DUMP, {"hash": dump.content_hash}).first()
    if known is not None:
        return DumpOutcome(
            file_name,
            known.id,
            known.listing_date,
            already_ingested=True,
            year_rule=known.year_rule,
        )

    records = _merge_duplicates(dump.papers)
    stored = {row.id: row for row in session.execute(_FIND_PAPERS, {"ids": list(records)})}
    fresh: list[tuple[str, dumps.ListedPaper]] = []
    changed: list[dict[str, Any]] = []
    updated = 0
    for paper_id, record in records.items():
        paper = stored.get(paper_id)
        if paper is None:
            fresh.append((paper_id, record))
            continue
        merged, visible = _merge(paper, record, dump.listing_date)
        updated += visible
        if visible or merged["upvotes_as_of"] != paper.upvotes_as_of:
            changed.append(
                {"paper_id": paper_id, **merged, "updated_at": now if visible else paper.updated_at}
            )

    dump_id = session.execute(
        _ADD_DUMP,
        {
            "file_name": file_name,
            "content_hash": dump.content_hash,
            "listing_date": dump.listing_date,
            "year_rule": dump.year_rule,
            "ingested_at": now,
            "papers_total": len(records),
            "papers_new": len(fresh),
            "papers_updated": updated,
        },
    ).scalar_one()
    if fresh:
        session.execute(
            _ADD_PAPERS,
            [
                _new_paper(paper_id, record, dump_id, dump.listing_date, now)
                for paper_id, record in fresh
            ],
        )
    if changed:
        session.execute(_UPDATE_PAPERS, changed)
    session.execute(
        _LIST_PAPERS,
        [
            {"dump_id": dump_id, "paper_id": paper_id, "position": position}
            for position, paper_id in enumerate(records)
        ],
    )
    unchanged = len(records) - len(fresh) - updated
    return DumpOutcome(
        file_name, dump_id, dump.listing_date, False, len(fresh), updated, unchanged, dump.year_rule
    )


SOURCE_YEAR_RULE = "listing day from the source"
_FROM_SOURCE = (
    *_MERGED,
    Paper.arxiv_id,
    Paper.hf_page,
    Paper.github_stars,
    Paper.keywords,
    Paper.author_names,
)
_FIND_BY_ID = select(*_FROM_SOURCE).where(Paper.id.in_(bindparam("ids", expanding=True)))
_FIND_BY_ARXIV = select(*_FROM_SOURCE).where(
    Paper.arxiv_id.in_(bindparam("arxiv_ids", expanding=True))
)
_FIND_SOURCE_DAY = select(Dump.id, Dump.content_hash, Dump.papers_new, Dump.papers_updated).where(
    Dump.source == bindparam("source"), Dump.file_name == bindparam("file_name")
)


def source_day_name(source: str, day: date) -> str:
    """The file name a source's day is recorded under: ``hf 2026-03-20``."""
    return f"{source} {day.isoformat()}"


_PAPER_FIELDS = tuple(f.name for f in fields(SourcePaper))


def source_day_hash(day: SourceDay) -> str:
    """sha256 of what the day lists (source, day, every paper's every field, in order): an
    unchanged re-fetch has the same hash, a changed upvote count another."""
    # A paper's fields one level deep: what asdict gave (it is flat: strings, numbers, dates,
    # tuples of strings), without asdict's deep copy, which took 40% of storing a day. The
    # text hashed is the same, so hashes stored before still match.
    papers = [{name: getattr(paper, name) for name in _PAPER_FIELDS} for paper in day.papers]
    content = [day.source, day.day.isoformat(), papers]
    text = json.dumps(content, default=str, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_source_day(session: Session, day: SourceDay, now: datetime) -> DumpOutcome:
    """Record one day of a source and merge its papers into the catalogue.

    A paper is matched to a stored one by its arXiv id, else by the hash of its title (as a
    dump's paper is); a stored paper known only by its title gets the id. It is merged as a
    dump's paper is (:func:`_merge`: newest upvotes, missing fields filled, links united), and
    takes the source's Hugging Face page, GitHub stars and keywords. The day is one dump row
    (``source day``), updated in place when a re-fetch brings changes; an unchanged re-fetch
    (same content hash) changes nothing.
    """
    file_name = source_day_name(day.source, day.day)
    content_hash = source_day_hash(day)
    known = session.execute(
        _FIND_SOURCE_DAY, {"source": day.source, "file_name": file_name}
    ).first()
    if known is not None and known.content_hash == content_hash:
        return DumpOutcome(
            file_name,
            known.id,
            day.day,
            already_ingested=True,
            papers_unchanged=len(day.papers),
            year_rule=SOURCE_YEAR_RULE,
        )
    # The count is as of now, whatever day the listing is: a day fetched again a month later
    # brings a month-newer count than a dump of the day after.
    as_of = now.date()
    arxiv_ids = list({p.arxiv_id for p in day.papers if p.arxiv_id})
    by_arxiv = (
        {row.arxiv_id: row for row in session.execute(_FIND_BY_ARXIV, {"arxiv_ids": arxiv_ids})}
        if arxiv_ids
        else {}
    )
    title_ids = list({dumps.paper_id(p.title) for p in day.papers})
    by_id = {row.id: row for row in session.execute(_FIND_BY_ID, {"ids": title_ids})}

    skipped: list[Skipped] = []
    listed: list[str] = []
    seen_arxiv: set[str] = set()
    fresh: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    updated = 0
    for paper in day.papers:
        record = _as_listed(paper)
        stored = by_arxiv.get(paper.arxiv_id) if paper.arxiv_id else None
        if stored is None:
            stored = by_id.get(record.id)
            if stored is not None and paper.arxiv_id and stored.arxiv_id:
                # Same title, another arXiv id: two papers; the title's row is the other's.
                skipped.append(
                    Skipped(
                        paper.arxiv_id,
                        f"its title is that of paper {stored.id} (arXiv {stored.arxiv_id})",
                    )
                )
                continue
        paper_id = stored.id if stored is not None else record.id
        if paper_id in listed or (paper.arxiv_id and paper.arxiv_id in seen_arxiv):
            skipped.append(Skipped(paper.arxiv_id or paper.title[:60], "listed twice"))
            continue
        listed.append(paper_id)
        if paper.arxiv_id:
            seen_arxiv.add(paper.arxiv_id)
        if stored is None:
            fresh.append(
                {
                    **_new_paper(paper_id, record, 0, as_of, now),
                    **_source_values(paper),
                }
            )
            continue
        merged, visible = _merge(stored, record, as_of)
        extra, extra_visible = _merge_source(paper, stored)
        visible = visible or extra_visible
        updated += visible
        if visible or merged["upvotes_as_of"] != stored.upvotes_as_of:
            changed.append(
                {
                    "paper_id": paper_id,
                    **merged,
                    **extra,
                    "updated_at": now if visible else stored.updated_at,
                }
            )

    totals = {
        "content_hash": content_hash,
        "ingested_at": now,
        "papers_total": len(listed),
    }
    if known is None:
        dump_id = session.execute(
            _ADD_DUMP,
            {
                "file_name": file_name,
                "source": day.source,
                "listing_date": day.day,
                "year_rule": SOURCE_YEAR_RULE,
                "papers_new": len(fresh),
                "papers_updated": updated,
                **totals,
            },
        ).scalar_one()
        already: dict[str, int] = {}
    else:
        dump_id = known.id
        rows = session.execute(
            select(DumpPaper.paper_id, DumpPaper.position).where(DumpPaper.dump_id == dump_id)
        )
        already = {row.paper_id: row.position for row in rows}
        session.execute(
            update(Dump.__table__)
            .where(Dump.__table__.c.id == dump_id)
            .values(
                papers_new=known.papers_new + len(fresh),
                papers_updated=known.papers_updated + updated,
                # the day lists what it listed before and what it lists now
                **{**totals, "papers_total": len(already.keys() | set(listed))},
            )
        )
    if fresh:
        for row in fresh:
            row["first_dump_id"] = dump_id
        session.execute(_ADD_PAPERS, fresh)
    if changed:
        session.execute(_UPDATE_PAPERS, changed)
    # A re-fetch adds the papers the day did not list before, after the others; a paper that
    # dropped out of the listing stays listed (it was, when first fetched).
    start = max(already.values(), default=-1) + 1
    added = [paper_id for paper_id in listed if paper_id not in already]
    if added:
        session.execute(
            _LIST_PAPERS,
            [
                {"dump_id": dump_id, "paper_id": paper_id, "position": start + offset}
                for offset, paper_id in enumerate(added)
            ],
        )
    unchanged = len(listed) - len(fresh) - updated
    return DumpOutcome(
        file_name,
        dump_id,
        day.day,
        False,
        len(fresh),
        updated,
        unchanged,
        SOURCE_YEAR_RULE,
        tuple(skipped),
    )


def _as_listed(paper: SourcePaper) -> dumps.ListedPaper:
    """A source's paper as a listed paper, so that dump entries and source papers merge alike."""
    found = [
        dumps.Link(kind, url)
        for kind, url in (("code", paper.github_url), ("project", paper.project_url))
        if url
    ]
    return dumps.ListedPaper(
        title=paper.title,
        abstract=paper.abstract,
        authors=len(paper.authors) if paper.authors else None,
        published=paper.published,
        upvotes=paper.upvotes,
        links=tuple(found),
        line=0,
    )


def _source_values(paper: SourcePaper) -> dict[str, Any]:
    """The columns only sources fill, for a new paper."""
    return {
        "arxiv_id": paper.arxiv_id,
        "hf_page": paper.page_url,
        "github_stars": paper.github_stars,
        "keywords": list(paper.keywords) or None,
        "author_names": list(paper.authors) or None,
    }


def _merge_source(paper: SourcePaper, stored: Row[Any]) -> tuple[dict[str, Any], bool]:
    """Those columns merged into a stored paper: an id or page once known stays, the newest
    stars, keywords and author names win; and whether any changed."""
    new = _source_values(paper)
    values = {
        "arxiv_id": stored.arxiv_id or new["arxiv_id"],
        "hf_page": stored.hf_page or new["hf_page"],
        **{
            name: new[name] if new[name] is not None else getattr(stored, name)
            for name in ("github_stars", "keywords", "author_names")
        },
    }
    return values, any(values[name] != getattr(stored, name) for name in values)


def _merge_duplicates(records: tuple[dumps.ListedPaper, ...]) -> dict[str, dumps.ListedPaper]:
    """Key the records by paper id; a paper listed twice in one dump is kept once, as its
    first entry (what :func:`recommender.dumps.repeated_titles` reports)."""
    merged: dict[str, dumps.ListedPaper] = {}
    for record in records:
        merged.setdefault(record.id, record)
    return merged


def _new_paper(
    paper_id: str, record: dumps.ListedPaper, dump_id: int, listed: date, now: datetime
) -> dict[str, Any]:
    return {
        "id": paper_id,
        "title": record.title,
        "abstract": record.abstract,
        "authors": record.authors,
        "published": record.published,
        "upvotes": record.upvotes,
        "upvotes_as_of": listed if record.upvotes is not None else None,
        "links": [{"kind": link.kind, "url": link.url} for link in record.links],
        "now": now,
        "first_dump_id": dump_id,
    }


def _merge(paper: Row[Any], record: dumps.ListedPaper, listed: date) -> tuple[dict[str, Any], bool]:
    """Fold a newer sighting into a stored ``paper``; return its merged values and whether
    anything visible changed (a newer date for the same upvote count is not visible)."""
    merged = {
        "upvotes": paper.upvotes,
        "upvotes_as_of": paper.upvotes_as_of,
        "abstract": paper.abstract,
        "authors": paper.authors,
        "published": paper.published,
        "links": paper.links,
    }
    visible = False
    if record.upvotes is not None and (
        paper.upvotes_as_of is None or listed >= paper.upvotes_as_of
    ):
        visible = paper.upvotes != record.upvotes
        merged["upvotes"], merged["upvotes_as_of"] = record.upvotes, listed
    # The fullest abstract wins: a dump's may be cut short, a source's is arXiv's whole text.
    if len(record.abstract or "") > len(paper.abstract or ""):
        merged["abstract"], visible = record.abstract, True
    if paper.authors is None and record.authors is not None:
        merged["authors"], visible = record.authors, True
    if paper.published is None and record.published is not None:
        merged["published"], visible = record.published, True
    urls = {link["url"] for link in paper.links}
    extra = [{"kind": ln.kind, "url": ln.url} for ln in record.links if ln.url not in urls]
    if extra:
        merged["links"], visible = [*paper.links, *extra], True
    return merged, visible


def find_papers(session: Session, query: PaperQuery) -> tuple[list[Paper], int]:
    """Return the papers matching ``query`` (at most ``limit``) and how many match in all;
    raise :class:`DumpNotFound` for a ``dump_id`` no dump has (not "nothing matches")."""
    if query.dump_id is not None and session.get(Dump, query.dump_id) is None:
        raise DumpNotFound(f"no dump has the id {query.dump_id}")
    conditions = []
    for word in (query.text or "").split():
        pattern = f"%{_escape_like(word)}%"
        conditions.append(
            or_(Paper.title.ilike(pattern, escape="\\"), Paper.abstract.ilike(pattern, escape="\\"))
        )
    if query.listed_since is not None or query.dump_id is not None:
        listed = [DumpPaper.paper_id == Paper.id, Dump.id == DumpPaper.dump_id]
        if query.listed_since is not None:
            listed.append(Dump.listing_date >= query.listed_since)
        if query.dump_id is not None:
            listed.append(Dump.id == query.dump_id)
        # Correlated on the paper alone: the "newest" order joins dumps and dump_papers too,
        # and those in here must stay this subquery's own.
        conditions.append(exists().where(and_(*listed)).correlate(Paper))
    if query.published_since is not None:
        conditions.append(Paper.published >= query.published_since)
    if query.min_upvotes is not None:
        conditions.append(Paper.upvotes >= query.min_upvotes)
    statement = select(Paper).where(*conditions)
    if query.with_code:
        # JSON querying differs between databases; the list of links is short, so filter here.
        matching = [p for p in session.scalars(_ordered(statement, query.sort)) if _has_code(p)]
        return matching[: query.limit] if query.limit else matching, len(matching)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    statement = _ordered(statement, query.sort)
    if query.limit:
        statement = statement.limit(query.limit)
    return list(session.scalars(statement)), total


def _ordered(statement: Select[tuple[Paper]], sort: str) -> Select[tuple[Paper]]:
    if sort == "newest":
        # Newest listing first, and within one listing the order of the page.
        first_listing = and_(
            DumpPaper.dump_id == Paper.first_dump_id, DumpPaper.paper_id == Paper.id
        )
        return (
            statement.join(Dump, Dump.id == Paper.first_dump_id)
            .join(DumpPaper, first_listing)
            .order_by(Dump.listing_date.desc(), Dump.id.desc(), DumpPaper.position)
        )
    orders = {
        "upvotes": [Paper.upvotes.desc().nulls_last(), Paper.id],
        "published": [Paper.published.desc().nulls_last(), Paper.id],
        "title": [Paper.title, Paper.id],
    }
    if sort not in orders:
        raise ValueError(f"unknown sort {sort!r}; choose one of {', '.join(SORTS)}")
    return statement.order_by(*orders[sort])


def _has_code(paper: Paper) -> bool:
    return any(link["kind"] == "code" for link in paper.links)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PaperNotFound(NotFound):
    """No paper, or more than one, matches a reference."""


class DumpNotFound(NotFound):
    """No dump has the id asked for."""


def get_paper(session: Session, ref: str) -> Paper:
    """Find one paper by id, id prefix or unique title prefix (case-insensitive)."""
    ref = ref.strip()
    if not ref:
        raise PaperNotFound("give a paper id or the start of its title")
    if len(ref) > MAX_SEARCH_CHARS:  # longer than any title: SQLite would refuse the pattern
        raise PaperNotFound(f"no paper has a title of {len(ref)} characters")
    if "\x00" in ref:  # no id or title holds one, and PostgreSQL refuses it in a query
        raise PaperNotFound(f"no paper has the id or a title starting with {ref!r}")
    paper = session.get(Paper, ref)
    if paper is not None:
        return paper
    prefix = f"{_escape_like(ref)}%"
    candidates = list(
        session.scalars(
            select(Paper)
            .where(or_(Paper.id.like(prefix, escape="\\"), Paper.title.ilike(prefix, escape="\\")))
            .order_by(Paper.title)
            .limit(6)
        )
    )
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise PaperNotFound(f"no paper has the id or a title starting with {ref!r}")
    shown = "\n".join(f"  {p.id}  {p.title[:70]}" for p in candidates[:5])
    more = " (and more)" if len(candidates) > 5 else ""
    raise PaperNotFound(f"{ref!r} matches several papers{more}; give more of the title:\n{shown}")


def dumps_of(session: Session, paper_id: str) -> list[Dump]:
    """Return the dumps that listed a paper, oldest listing first."""
    return list(
        session.scalars(
            select(Dump)
            .join(DumpPaper, DumpPaper.dump_id == Dump.id)
            .where(DumpPaper.paper_id == paper_id)
            .order_by(Dump.listing_date, Dump.id)
        )
    )


def list_dumps(session: Session) -> list[Dump]:
    """Return every dump, oldest listing first."""
    return list(session.scalars(select(Dump).order_by(Dump.listing_date, Dump.id)))


def listing_dates(session: Session, dump_ids: set[int]) -> dict[int, date]:
    """Return the listing date of each of ``dump_ids``."""
    if not dump_ids:
        return {}
    rows = session.execute(select(Dump.id, Dump.listing_date).where(Dump.id.in_(dump_ids)))
    return {row.id: row.listing_date for row in rows}


def catalogue_stats(session: Session) -> dict[str, object]:
    """Count papers and dumps, and date the catalogue."""
    papers = session.scalar(select(func.count()).select_from(Paper)) or 0
    dump_count = session.scalar(select(func.count()).select_from(Dump)) or 0
    first, last, ingested = session.execute(
        select(func.min(Dump.listing_date), func.max(Dump.listing_date), func.max(Dump.ingested_at))
    ).one()
    with_code = _count_with_code(session)
    with_metadata = session.scalar(
        select(func.count()).select_from(Paper).where(Paper.published.is_not(None))
    )
    return {
        "papers": papers,
        "dumps": dump_count,
        "papers_with_code": with_code,
        "papers_with_metadata": with_metadata or 0,
        "first_listing": first.isoformat() if first else None,
        "last_listing": last.isoformat() if last else None,
        "last_ingested_at": ingested.isoformat() if ingested else None,
    }


def _count_with_code(session: Session) -> int:
    """Count the papers with a code link: in the database, where it can read JSON."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        link = func.json_each(Paper.links).table_valued("value")
        kind = func.json_extract(link.c.value, "$.kind")
    elif dialect == "postgresql":
        link = func.json_array_elements(Paper.links).table_valued("value")
        kind = link.c.value.op("->>")("kind")
    else:  # read the links in batches, so that memory stays flat
        rows = session.scalars(select(Paper.links).execution_options(yield_per=1000))
        return sum(1 for links in rows if any(link["kind"] == "code" for link in links))
    has_code = exists().select_from(link).where(kind == "code")
    return session.scalar(select(func.count()).select_from(Paper).where(has_code)) or 0
