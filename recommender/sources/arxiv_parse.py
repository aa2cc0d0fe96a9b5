"""Parse arXiv's announcement feeds and query-API responses into plain paper records.

Two inputs, both bytes as they came over the wire:

- the daily announcement feed of a category, RSS (``https://rss.arxiv.org/rss/cs.LG``) or
  Atom (``https://rss.arxiv.org/atom/cs.LG``): :func:`parse_feed`;
- a query-API response (``http://export.arxiv.org/api/query?id_list=...``), used to backfill
  a past range: :func:`parse_query_response`, with :func:`id_list_batches` and
  :func:`query_url` to build the requests.

The shapes come from arXiv's own documentation and from public code that reads these feeds:

- RSS items: https://info.arxiv.org/help/rss_specifications.html (``<guid>oai:arXiv.org:ID``
  with version, ``<description>`` = ``arXiv:IDvN Announce Type: TYPE \\nAbstract: ...``, one
  ``<category>`` per category, ``<arxiv:announce_type>``, ``<dc:creator>`` = the authors
  separated by commas, the channel's ``<pubDate>`` = the announcement day, ``<skipDays>``:
  "arXiv has an empty feed on Saturday/Sundays and on occasional arXiv holidays").
- Atom entries: https://info.arxiv.org/help/atom_specifications.html (arXiv/arxiv-docs,
  source/help/atom_specifications.md): ``<id>oai:arXiv.org:IDvN``, ``<summary>`` as above,
  ``<category term>``, ``<published>`` = the announcement date, ``<dc:creator>``.
- Query API: arXiv/arxiv-docs, source/help/api/user-manual.md §3.3–3.4 (``<id>`` = the abs
  URL with version, ``<author><name>``, ``<arxiv:primary_category term>``, ``<link
  title="pdf">``; a bad id answers one entry titled ``Error`` whose ``<summary>`` says why).

Feeds are parsed with feedparser (they come as RSS or Atom), with HTML sanitising off: arXiv's
descriptions are plain text escaped once, and the sanitiser would read LaTeX such as ``$a<b$``
as a tag and drop text. Query-API responses, one fixed Atom shape, are read with ElementTree,
twenty times faster over the thousands of entries of a backfill. An abstract is therefore
plain text that may contain ``<``; whoever renders it must escape it (our templates
autoescape).

One bad entry never spoils the rest: it is left out with its reason (:class:`Malformed`).
A document that is not a feed at all raises :class:`ArxivFeedError`. An empty feed (weekends
and holidays) is an empty result, not an error.

This module does no HTTP and touches no database.
"""

from __future__ import annotations

import re
import xml.sax
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import feedparser

from recommender.sources.base import collapse, split_arxiv_id, too_long

ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
DEFAULT_TYPES = ("new", "cross")
# arXiv's terms cap a query at 2,000 results and advise small slices; 100 ids keep one
# response well under a megabyte.
DEFAULT_BATCH = 100
# Feeds are cut at midnight US Eastern; their timestamps are read on that clock so that
# the day is the announcement day wherever the server runs.
ARXIV_TZ = ZoneInfo("America/New_York")

_PREFIX = re.compile(
    r"^\s*arXiv:\S+\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE
)
_AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
# A count of results as a number int() reads: ASCII digits (str.isdigit takes "²" too), and
# not thousands of them (int() refuses more than 4,300; arXiv holds a few million papers).
_COUNT = re.compile(r"[0-9]{1,12}")


class ArxivFeedError(ValueError):
    """The document is not an arXiv feed or API response (HTML, truncated XML, garbage)."""


@dataclass(frozen=True)
class ArxivEntry:
    """One paper as arXiv announced or described it.

    ``published`` is, from a feed, the day of this announcement (US Eastern); from the query
    API, the day its first version was submitted. ``announce_type`` is ``None`` from the
    query API, which does not say.
    """

    arxiv_id: str
    version: int | None
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    primary_category: str | None
    announce_type: str | None
    published: date | None
    abs_url: str
    pdf_url: str

    @property
    def links(self) -> tuple[str, str]:
        return (self.abs_url, self.pdf_url)


@dataclass(frozen=True)
class Malformed:
    """An entry left out: its place in the document (from 0), what names it, and why."""

    position: int
    key: str
    reason: str


@dataclass(frozen=True)
class ArxivFeed:
    """A parsed announcement feed: the entries kept, those of other types, the bad ones."""

    day: date | None
    entries: tuple[ArxivEntry, ...]
    skipped: tuple[ArxivEntry, ...]
    malformed: tuple[Malformed, ...]

    @property
    def skipped_by_type(self) -> dict[str, int]:
        return dict(Counter(entry.announce_type or "" for entry in self.skipped))

    @property
    def empty(self) -> bool:
        """True when arXiv announced nothing (a weekend or a holiday)."""
        return not (self.entries or self.skipped or self.malformed)


@dataclass(frozen=True)
class ArxivQuery:
    """A parsed query-API response: the papers, the entries left out (API errors), and how many
    results the whole query has (``opensearch:totalResults``; None when the response omits it).
    """

    entries: tuple[ArxivEntry, ...]
    malformed: tuple[Malformed, ...]
    total: int | None = None


class _Bad(Exception):
    """An entry is malformed; the message is the reason."""


def parse_feed(data: bytes, *, types: Sequence[str] = DEFAULT_TYPES) -> ArxivFeed:
    """Parse an arXiv announcement feed (RSS or Atom), keeping entries of ``types``."""
    unknown = set(types) - set(ANNOUNCE_TYPES)
    if unknown:
        raise ValueError(f"unknown announce types: {', '.join(sorted(unknown))}")
    parsed = _parse(data)
    kept: list[ArxivEntry] = []
    skipped: list[ArxivEntry] = []
    malformed: list[Malformed] = []
    for position, raw in enumerate(parsed.entries):
        try:
            entry = _feed_entry(raw)
        except _Bad as bad:
            malformed.append(Malformed(position, _key(raw), str(bad)))
            continue
        (kept if entry.announce_type in types else skipped).append(entry)
    return ArxivFeed(_feed_day(parsed.feed), tuple(kept), tuple(skipped), tuple(malformed))


def parse_query_response(data: bytes) -> ArxivQuery:
    """Parse an arXiv query-API response: its papers, and the entries left out with why.

    The API answers one fixed Atom shape, read here with the standard library's ElementTree:
    feedparser, which the announcement feeds need for their RSS and Atom variants, takes about
    twenty times as long over a page, and a backfill reads thousands of entries.
    """
    root = _atom_root(data)
    entries: list[ArxivEntry] = []
    malformed: list[Malformed] = []
    for position, element in enumerate(root.iter(f"{_ATOM}entry")):
        raw = _atom_entry(element)
        try:
            entries.append(_query_entry(raw))
        except _Bad as bad:
            malformed.append(Malformed(position, _key(raw), str(bad)))
    total = (root.findtext(f"{_OPENSEARCH}totalResults") or "").strip()
    counted = _COUNT.fullmatch(total)
    return ArxivQuery(tuple(entries), tuple(malformed), int(total) if counted else None)


def id_list_batches(ids: Iterable[str], size: int = DEFAULT_BATCH) -> Iterator[list[str]]:
    """Split arXiv ids into lists of at most ``size``, each id once, in first-seen order."""
    if size < 1:
        raise ValueError("a batch holds at least one id")
    seen: set[str] = set()
    batch: list[str] = []
    for arxiv_id in ids:
        if arxiv_id in seen:
            continue
        seen.add(arxiv_id)
        batch.append(arxiv_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def query_url(base_url: str, ids: Sequence[str]) -> str:
    """The query-API URL that describes ``ids`` (``base_url`` like ``http://export.arxiv.org``).

    ``max_results`` is set to the number of ids: the API otherwise answers only 10.
    """
    query = urlencode({"id_list": ",".join(ids), "max_results": len(ids)}, safe=",/")
    return f"{base_url.rstrip('/')}/api/query?{query}"


def search_params(
    categories: Sequence[str], first: datetime, last: datetime, *, start: int, max_results: int
) -> dict[str, str | int]:
    """The query-API parameters (for ``/api/query``) of the papers of ``categories`` first
    submitted from ``first`` to ``last`` (both inclusive, to the minute), oldest first,
    ``max_results`` of them from the ``start``-th.

    arXiv reads ``submittedDate`` bounds as GMT (the API user manual, 3.1.1).
    """
    stamp = "%Y%m%d%H%M"
    in_categories = " OR ".join(f"cat:{category}" for category in categories)
    dates = f"submittedDate:[{_gmt(first).strftime(stamp)} TO {_gmt(last).strftime(stamp)}]"
    return {
        "search_query": f"({in_categories}) AND {dates}",
        "start": start,
        "max_results": max_results,
        "sortBy": "submittedDate",
        "sortOrder": "ascending",
    }


def _gmt(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC"))


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"


# -- internals ---------------------------------------------------------------------------


def _parse(data: bytes) -> Any:
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    # feedparser falls back to a lenient parser on broken XML and returns what it could read;
    # a truncated feed would then pass for a shorter day, so broken XML is refused.
    if isinstance(parsed.get("bozo_exception"), xml.sax.SAXException) or not parsed.get("version"):
        reason = parsed.get("bozo_exception") or "not an RSS or Atom document"
        raise ArxivFeedError(f"not an arXiv feed: {reason}")
    return parsed


_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


def _atom_root(data: bytes) -> ElementTree.Element:
    # arXiv never declares a document type; one that does could define entities that expand
    # a small response into a huge one, so it is refused before parsing (expat never fetches
    # external entities anyway).
    if b"<!DOCTYPE" in data[: data.find(b"<feed") if b"<feed" in data else len(data)].upper():
        raise ArxivFeedError("not an arXiv API response: it declares a document type")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise ArxivFeedError(f"not an arXiv API response: {error}") from None
    if root.tag != f"{_ATOM}feed":
        raise ArxivFeedError(
            f"not an arXiv API response: the document is <{root.tag.rpartition('}')[2]}>, "
            "not an Atom feed"
        )
    return root


def _atom_entry(element: ElementTree.Element) -> dict[str, Any]:
    """An API entry as the fields feedparser would name them, for :func:`_query_entry`."""
    alternate = next(
        (
            link.get("href", "")
            for link in element.iter(f"{_ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ),
        "",
    )
    primary = element.find(f"{_ARXIV}primary_category")
    return {
        "id": element.findtext(f"{_ATOM}id") or "",
        "title": element.findtext(f"{_ATOM}title") or "",
        "summary": element.findtext(f"{_ATOM}summary") or "",
        "published": element.findtext(f"{_ATOM}published") or "",
        "link": alternate,
        "authors": [
            {"name": author.findtext(f"{_ATOM}name") or ""}
            for author in element.iter(f"{_ATOM}author")
        ],
        "arxiv_primary_category": {"term": primary.get("term")} if primary is not None else {},
        "tags": [{"term": category.get("term")} for category in element.iter(f"{_ATOM}category")],
    }


def _feed_entry(raw: Any) -> ArxivEntry:
    found = _entry_id(raw, raw.get("id", ""), raw.get("summary", ""), raw.get("link", ""))
    arxiv_id, version = found
    title = collapse(raw.get("title", ""))
    if not title:
        raise _Bad("no title")
    summary = raw.get("summary", "")
    prefix = _PREFIX.match(summary)
    announce_type = (raw.get("arxiv_announce_type") or (prefix and prefix["type"]) or "").strip()
    announce_type = announce_type.lower()
    if not announce_type:
        raise _Bad("no announce type")
    if announce_type not in ANNOUNCE_TYPES:
        raise _Bad(f"unknown announce type {announce_type!r}")
    abstract = collapse(summary[prefix.end() :] if prefix else summary)
    if (reason := too_long(title, abstract)) is not None:
        raise _Bad(reason)
    categories = _categories(raw)
    return ArxivEntry(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=_split_authors(raw.get("author", "")),
        # The feeds do not mark the primary category; arXiv lists it first, as on the
        # abstract page (an assumption: the query API names it, and backfill can correct it).
        categories=categories,
        primary_category=categories[0] if categories else None,
        announce_type=announce_type,
        published=_day(raw.get("published", "")),
        abs_url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id),
    )


def _query_entry(raw: Any) -> ArxivEntry:
    if "/api/errors" in raw.get("id", "") or raw.get("title", "").strip() == "Error":
        raise _Bad(f"arXiv API error: {collapse(raw.get('summary', '')) or 'no message'}")
    arxiv_id, version = _entry_id(raw, raw.get("id", ""), raw.get("link", ""))
    title = collapse(raw.get("title", ""))
    if not title:
        raise _Bad("no title")
    authors = tuple(
        name for author in raw.get("authors", []) if (name := collapse(author.get("name", "")))
    )
    primary = (raw.get("arxiv_primary_category") or {}).get("term")
    categories = _categories(raw)
    abstract = collapse(raw.get("summary", ""))
    if (reason := too_long(title, abstract)) is not None:
        raise _Bad(reason)
    return ArxivEntry(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        primary_category=primary or (categories[0] if categories else None),
        announce_type=None,
        published=_day(raw.get("published", "")),
        abs_url=abs_url(arxiv_id),
        # The API's links carry the version; the record links the latest one.
        pdf_url=pdf_url(arxiv_id),
    )


def _entry_id(raw: Any, *candidates: str) -> tuple[str, int | None]:
    for text in candidates:
        found = split_arxiv_id(text) if text else None
        if found:
            return found
    raise _Bad("no arXiv id")


def _key(raw: Any) -> str:
    return collapse(raw.get("id") or raw.get("link") or raw.get("title") or "")


def _categories(raw: Any) -> tuple[str, ...]:
    terms = (collapse(tag.get("term") or "") for tag in raw.get("tags", []))
    return tuple(dict.fromkeys(term for term in terms if term))


def _split_authors(text: str) -> tuple[str, ...]:
    return tuple(name for part in _AUTHOR_SEPARATOR.split(text) if (name := collapse(part)))


def _day(text: str) -> date | None:
    """The US Eastern day of an RFC 822 (RSS) or ISO 8601 (Atom) timestamp, or None."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        return moment.date()
    try:
        return moment.astimezone(ARXIV_TZ).date()
    except OverflowError:  # year 1 or 9999 moved across a day's edge: no announcement day
        return None


def _feed_day(feed: Any) -> date | None:
    # RSS: the channel's <pubDate> is the announcement day; Atom: <updated>, a few seconds
    # after the midnight (Eastern) the feed was built. Read as a plain dict: feedparser's own
    # get() answers a missing "updated" with "published" (and a DeprecationWarning).
    return _day(dict.get(feed, "published", "")) or _day(dict.get(feed, "updated", ""))
