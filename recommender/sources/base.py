"""The interface every source implements, and the plain records it yields.

A source turns one remote listing into :class:`SourcePaper` records grouped by listing day in a
:class:`SourceDay`. Items it cannot read are not errors: they are kept in ``SourceDay.skipped``
with the reason, and the rest of the day stands. A source that cannot be reached raises
:class:`SourceUnavailable`; a response that is not a listing at all raises
:class:`MalformedResponse`. Both carry a one-line message naming the URL.

Plain data only: nothing here touches the network or the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from recommender.errors import RecommenderError


class SourceError(RecommenderError):
    """A source failed as a whole; ``str()`` is one line naming the URL."""


class SourceUnavailable(SourceError):
    """The source could not be reached, or kept failing after every retry."""


class MalformedResponse(SourceError):
    """The source answered, but with something that is not a listing."""


@dataclass(frozen=True)
class SourcePaper:
    """One paper as one source lists it on one day."""

    source: str  # the source's name: "hf", "arxiv"
    title: str  # whitespace collapsed
    abstract: str  # whitespace collapsed; "" when the source gives none
    authors: tuple[str, ...]
    arxiv_id: str | None  # without version ("2503.12345", "hep-th/9901001"), None when unknown
    published: date | None  # the arXiv date, when the source says it
    listed: date  # the day of the listing the paper appeared in
    upvotes: int | None = None
    github_url: str | None = None
    github_stars: int | None = None
    project_url: str | None = None
    page_url: str | None = None  # the paper's page on the source itself (e.g. its HF page)
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """An item of a listing that could not be read, and why."""

    item: str  # where it stood: "page 0 item 3", or its id when it had one
    reason: str


@dataclass(frozen=True)
class SourceDay:
    """The listing of one day from one source."""

    source: str
    day: date
    papers: tuple[SourcePaper, ...] = ()
    skipped: tuple[Skipped, ...] = field(default=())
    requests: int = 0  # HTTP requests made for this day, retries included
    not_modified: bool = False  # every page answered 304: nothing changed since the last fetch


class Source(Protocol):
    """What the fetch command and the scheduler call; one implementation per remote service."""

    name: str

    def fetch_day(self, day: date) -> SourceDay:
        """Fetch the listing of ``day``; raise :class:`SourceError` if the source fails."""
        ...

    def fetch_since(self, since: date, until: date) -> Iterator[SourceDay]:
        """Fetch every listing day from ``since`` to ``until`` inclusive, oldest first."""
        ...


def days(since: date, until: date) -> Iterator[date]:
    """Yield each day from ``since`` to ``until`` inclusive (nothing when since > until)."""
    for offset in range((until - since).days + 1):
        yield since + timedelta(days=offset)


# New-style ids (0704.0001 onwards: YYMM.NNNN, YYMM.NNNNN from 2015) and old-style ids
# (archive[.SUBJECT]/YYMMNNN), each with an optional version: alone (``arXiv:`` before it or
# not), or in the forms arXiv writes them (``oai:arXiv.org:ID``, ``arxiv.org/abs/ID``, ``/pdf/``).
_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[a-z]{2})?/\d{7})(?:v(?P<version>\d+))?"
_ID_ALONE = re.compile(rf"(?:arxiv:)?{_ID}", re.IGNORECASE)
_ID_IN_TEXT = re.compile(
    rf"(?:arxiv:|oai:arxiv\.org:|arxiv\.org/(?:abs|pdf)/){_ID}(?![\d.])", re.IGNORECASE
)


def split_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """The arXiv id (without version) and the version found in ``text``, or None."""
    match = _ID_ALONE.fullmatch(text.strip()) or _ID_IN_TEXT.search(text)
    if match is None:
        return None
    found = match.group("id")
    # Old-style archive names are lower case, their subject class upper case: math.GT/0309136.
    if "/" in found:
        archive, number = found.split("/")
        name, _, subject = archive.partition(".")
        archive = f"{name.lower()}.{subject.upper()}" if subject else name.lower()
        found = f"{archive}/{number}"
    version = match.group("version")
    return found, int(version) if version else None


def arxiv_id(text: str) -> str | None:
    """Return the arXiv id in ``text`` without its version, or None if it holds none."""
    found = split_arxiv_id(text)
    return found[0] if found else None


# What no title, abstract or name shows, and a terminal or a mail reader would act on: control
# characters (ESC starts a terminal's escape sequences), bidi controls, lone surrogates (no
# database stores them). A source may send any of them.
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


# The longest title and abstract a source's paper may have: a dump's title limit
# (recommender.dumps.MAX_TITLE) and about five times arXiv's longest abstracts (1,920
# characters). Longer is a broken or hostile response: each digest would carry it.
MAX_TITLE_CHARS = 400
MAX_ABSTRACT_CHARS = 10_000


def too_long(title: str, abstract: str) -> str | None:
    """Why a paper of this title and abstract is not taken (too long), or None."""
    if len(title) > MAX_TITLE_CHARS:
        return f"a title of {len(title):,} characters (at most {MAX_TITLE_CHARS})"
    if len(abstract) > MAX_ABSTRACT_CHARS:
        return f"an abstract of {len(abstract):,} characters (at most {MAX_ABSTRACT_CHARS:,})"
    return None


def collapse(text: str) -> str:
    """Collapse runs of whitespace (the hard line wraps of titles and abstracts) to one space,
    and what no text shows (:data:`_UNSHOWN`) with them."""
    return " ".join(_UNSHOWN.sub(" ", text).split())
