"""The Hugging Face Daily Papers source: ``GET {hf_api_url}/api/daily_papers?date=YYYY-MM-DD``.

The listing is paged with ``p`` (from 0) and ``limit``; paging stops at an empty or short page
(or when a page repeats the previous one: a server that ignores ``p``). A listing still full
after ``max_pages`` is refused, not cut.

One item of the JSON array (shape from huggingface_hub's ``PaperInfo`` and ``list_daily_papers``
in ``src/huggingface_hub/hf_api.py``)::

    {"paper": {"id": "<arXiv id>", "title", "summary", "authors": [{"name", ...}, ...],
               "publishedAt" (arXiv date), "submittedOnDailyAt", "upvotes", "ai_summary",
               "ai_keywords", "githubRepo", "githubStars", "projectPage", ...},
     "publishedAt" (when it was featured), "title", "summary", "numComments", ...}

The raw JSON is read here, not through huggingface_hub, which takes some fields from the wrong
level. The listing day of a paper is the day it was featured (the item's ``publishedAt``, else
``paper.submittedOnDailyAt``, else the day asked for), not its arXiv date. An item without a
title, authors or a readable date is skipped with its reason; a field that is merely absent or
of the wrong type (stars, links, keywords; a link that is no http(s) link) is left empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from recommender.sources.base import (
    MalformedResponse,
    Skipped,
    SourceDay,
    SourcePaper,
    arxiv_id,
    collapse,
    days,
    too_long,
)
from recommender.sources.http import PoliteClient

NAME = "hf"
PAGE_SIZE = 50
MAX_PAGES = 40  # 2,000 papers: ten times the busiest day seen
PAPER_PAGE = "https://huggingface.co/papers/{id}"


class ItemError(ValueError):
    """An item that cannot be read; the message is the reason."""


class HuggingFaceSource:
    """Daily Papers over a :class:`PoliteClient` whose base URL is ``hf_api_url``."""

    name = NAME

    def __init__(
        self, client: PoliteClient, *, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES
    ) -> None:
        self.client = client
        self.page_size = page_size
        self.max_pages = max_pages

    def fetch_day(self, day: date) -> SourceDay:
        """Fetch every page of ``day``'s listing; raise SourceError if the source fails."""
        papers: list[SourcePaper] = []
        skipped: list[Skipped] = []
        seen: set[str] = set()
        requests_before = self.client.requests
        not_modified = True
        previous: list[Any] | None = None
        for page in range(self.max_pages):
            response = self.client.get(
                "/api/daily_papers",
                {"date": day.isoformat(), "p": page, "limit": self.page_size},
            )
            not_modified = not_modified and response.not_modified
            items = response.json()
            if not isinstance(items, list):
                raise MalformedResponse(
                    f"{response.url}: expected a JSON array, got {type(items).__name__}"
                )
            if not items or items == previous:
                break
            for index, item in enumerate(items):
                where = f"page {page} item {index}"
                try:
                    paper = parse_item(item, day)
                except ItemError as error:
                    skipped.append(Skipped(_item_name(item, where), str(error)))
                    continue
                key = paper.arxiv_id or paper.title.casefold()
                if key in seen:
                    skipped.append(Skipped(_item_name(item, where), "listed twice"))
                    continue
                seen.add(key)
                papers.append(paper)
            if len(items) < self.page_size:
                break
            previous = items
        else:
            # Storing the pages read would pass a cut listing off as the whole day.
            raise MalformedResponse(
                f"{response.url}: still full pages after {self.max_pages}, more than any day "
                "lists; the day is not stored"
            )
        return SourceDay(
            source=NAME,
            day=day,
            papers=tuple(papers),
            skipped=tuple(skipped),
            requests=self.client.requests - requests_before,
            not_modified=not_modified,
        )

    def fetch_since(self, since: date, until: date) -> Iterator[SourceDay]:
        """Fetch each day from ``since`` to ``until``, oldest first, one day at a time."""
        for day in days(since, until):
            yield self.fetch_day(day)


def parse_item(item: Any, asked: date) -> SourcePaper:
    """Read one item of the listing asked for on ``asked``; raise ItemError with the reason."""
    if not isinstance(item, dict):
        raise ItemError(f"not an object but {type(item).__name__}")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise ItemError("no paper object")
    hf_id = paper.get("id")
    if not isinstance(hf_id, str) or not hf_id.strip():
        raise ItemError("no paper id")
    if not _PAGE_ID.fullmatch(hf_id.strip()):  # it becomes a link's last part: nothing more
        raise ItemError(f"paper id {hf_id.strip()!r:.60} is not one a page can have")
    title = collapse(_text(paper.get("title")) or _text(item.get("title")))
    if not title:
        raise ItemError("no title")
    abstract = collapse(_text(paper.get("summary")) or _text(item.get("summary")))
    if (reason := too_long(title, abstract)) is not None:
        raise ItemError(reason)
    authors = _authors(paper.get("authors"))
    featured = item.get("publishedAt") or paper.get("submittedOnDailyAt")
    listed = _day(featured, "featured date") if featured is not None else asked
    published_at = paper.get("publishedAt")
    published = _day(published_at, "arXiv date") if published_at is not None else None
    github = _web_link(paper.get("githubRepo"))
    project = _web_link(paper.get("projectPage"))
    keywords = paper.get("ai_keywords")
    return SourcePaper(
        source=NAME,
        title=title,
        abstract=abstract,
        authors=authors,
        arxiv_id=arxiv_id(hf_id),
        published=published,
        listed=listed,
        upvotes=_count(paper.get("upvotes")),
        github_url=github,
        github_stars=_count(paper.get("githubStars")),
        project_url=project,
        page_url=PAPER_PAGE.format(id=hf_id.strip()),
        keywords=tuple(
            collapse(word) for word in keywords if isinstance(word, str) and word.strip()
        )
        if isinstance(keywords, list)
        else (),
    )


def _authors(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ItemError("authors is not a list")
    names = []
    for author in value:
        name = author.get("name") if isinstance(author, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ItemError("an author without a name")
        names.append(collapse(name))
    return tuple(names)


def _day(value: Any, what: str) -> date:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise ItemError(f"unreadable {what} {value!r:.40}")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _web_link(value: Any) -> str | None:
    # A link stored is one a digest may show: http(s), nothing a text does not show (a
    # "javascript:" link, or one with a terminal's escape sequence, is left empty).
    link = _text(value).strip()
    if collapse(link) != link or urlsplit(link).scheme.lower() not in ("http", "https"):
        return None
    return link


# A paper page's id (an arXiv id, as Hugging Face names its pages): letters, digits, dots and
# dashes, short; never a path ("../") or an address, which would become the Read link.
_PAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# No count of upvotes or stars comes near it; a database's integer holds it.
MAX_COUNT = 2**31 - 1


def _count(value: Any) -> int | None:
    # bool is an int in Python; a count of True is not a count.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value
    return None


def _item_name(item: Any, where: str) -> str:
    paper = item.get("paper") if isinstance(item, dict) else None
    hf_id = paper.get("id") if isinstance(paper, dict) else None
    return f"{where} ({hf_id})" if isinstance(hf_id, str) and hf_id.strip() else where
