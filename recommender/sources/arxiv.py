"""The arXiv source: the daily announcement feed of a list of categories, and the query API for
the days before it.

Today's listing is arXiv's announcement feed, one request for every category at once
(``GET {arxiv_rss_url}/rss/cs.LG+cs.CL``), keeping the entries whose announce type counts (new
and cross-lists by default; replacements are papers announced before). The feed holds only the
latest announcement: on weekends and holidays it is empty, and that is an empty day, not an
error. A day after the feed's (tonight's announcement not out yet) is empty too.

A past day comes from the query API (``GET {arxiv_api_url}/api/query?search_query=...``): the
papers of the categories first submitted that day (US Eastern), paged oldest first. That is
the submission day, not the announcement day (a paper submitted on Friday is announced on
Monday): the API does not say when a paper was announced. A paper seen both ways is one paper
(its arXiv id), listed under both days.

arXiv's terms: at most one request every three seconds, one connection at a time. The feed and
the API are on two hosts, so their two clients share one :class:`~recommender.sources.http.Pace`.
Parsing is :mod:`recommender.sources.arxiv_parse`; this module does the requests and the days.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from recommender.sources.arxiv_parse import (
    ARXIV_TZ,
    DEFAULT_TYPES,
    ArxivEntry,
    ArxivFeed,
    ArxivFeedError,
    ArxivQuery,
    parse_feed,
    parse_query_response,
    search_params,
)
from recommender.sources.base import (
    MalformedResponse,
    Skipped,
    SourceDay,
    SourcePaper,
    SourceUnavailable,
)
from recommender.sources.http import PoliteClient, Response

NAME = "arxiv"
MIN_INTERVAL = 3.0  # seconds between requests, arXiv's terms
# Results per query-API request: arXiv allows up to 2,000 and advises slices; 200 keep a
# response near half a megabyte.
PAGE_SIZE = 200
# The query API now and then answers a page with no entries although more results remain; the
# page is asked for again this many times before the backfill gives up.
EMPTY_PAGE_RETRIES = 3
# The most results a backfill reads for each day it asks for: arXiv announces about 1,000
# papers on a busy day across every category. A response that promises more (or pages on
# forever) is not arXiv's, and the backfill stops, the days before stored.
MAX_RESULTS_A_DAY = 5_000
# arXiv's first announcement: a feed dated before it is not arXiv's (and a feed of the
# calendar's first day has no day before it to backfill up to).
FIRST_DAY = date(1991, 8, 14)


@dataclass(frozen=True)
class _Feed:
    parsed: ArxivFeed
    requests: int
    not_modified: bool  # answered 304: the same feed as the last read

    @property
    def day(self) -> date | None:
        return self.parsed.day


class ArxivSource:
    """Announcement feeds over ``feeds`` and the query API over ``api`` (clients that share a
    pace), for ``categories``, keeping entries whose announce type is in ``types``."""

    name = NAME

    def __init__(
        self,
        feeds: PoliteClient,
        api: PoliteClient,
        *,
        categories: Sequence[str],
        types: Sequence[str] = DEFAULT_TYPES,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if not categories:
            raise ValueError("no arXiv categories to fetch")
        self.feeds = feeds
        self.api = api
        self.categories = tuple(categories)
        self.types = tuple(types)
        self.page_size = page_size

    def fetch_day(self, day: date) -> SourceDay:
        """The listing of ``day``: the feed if it is the feed's day, else the query API."""
        feed = self._feed()
        if feed.day is None or feed.day == day:
            return self._feed_listing(day, feed)
        if day > feed.day:  # not announced yet
            return SourceDay(NAME, day, requests=feed.requests)
        for listing in self._submitted(day, day):
            return _with_requests(listing, listing.requests + feed.requests)
        raise AssertionError("a backfill of one day yields that day")

    def fetch_since(self, since: date, until: date) -> Iterator[SourceDay]:
        """Every day from ``since`` to ``until``, oldest first: the query API up to the day
        before the feed's, then the feed's day; days after the feed's are not announced yet."""
        if since > until:
            return
        feed = self._feed()
        last_past = until if feed.day is None or feed.day > until else feed.day - timedelta(1)
        first = True
        for listing in self._submitted(since, last_past) if since <= last_past else ():
            # The feed's request is counted with the first day yielded.
            yield _with_requests(listing, listing.requests + feed.requests) if first else listing
            first = False
        if feed.day is not None and since <= feed.day <= until:
            listing = self._feed_listing(feed.day, feed)
            yield listing if first else _with_requests(listing, 0)

    # -- the feed ----------------------------------------------------------------------------

    def _feed(self) -> _Feed:
        before = self.feeds.requests
        response = self.feeds.get(f"/rss/{'+'.join(self.categories)}")
        try:
            feed = parse_feed(response.content, types=self.types)
        except ArxivFeedError as error:
            raise MalformedResponse(f"{response.url}: {error}") from None
        if feed.day is not None and feed.day < FIRST_DAY:
            raise MalformedResponse(
                f"{response.url}: dated {feed.day.isoformat()}, before arXiv's first announcement"
            )
        if feed.day is None and feed.entries:
            # filed under whatever day was asked for, a past day would get today's papers
            raise MalformedResponse(
                f"{response.url}: no readable <pubDate>, so no day to list its papers under"
            )
        return _Feed(feed, self.feeds.requests - before, response.not_modified)

    def _feed_listing(self, day: date, feed: _Feed) -> SourceDay:
        papers: dict[str, SourcePaper] = {}
        skipped = [
            Skipped(bad.key or f"entry {bad.position}", bad.reason) for bad in feed.parsed.malformed
        ]
        for entry in feed.parsed.entries:
            if entry.arxiv_id in papers:
                skipped.append(Skipped(entry.arxiv_id, "listed twice"))
                continue
            papers[entry.arxiv_id] = _paper(entry, day)
        return SourceDay(
            NAME,
            day,
            papers=tuple(papers.values()),
            skipped=tuple(skipped),
            requests=feed.requests,
            not_modified=feed.not_modified,
        )

    # -- the query API -----------------------------------------------------------------------

    def _submitted(self, first_day: date, last_day: date) -> Iterator[SourceDay]:
        """The papers first submitted on each day from ``first_day`` to ``last_day`` (US
        Eastern), one day at a time as the pages (oldest first) complete it."""
        first = datetime.combine(first_day, time(0, 0), ARXIV_TZ)
        last = datetime.combine(last_day, time(23, 59), ARXIV_TZ)
        papers: dict[date, dict[str, SourcePaper]] = defaultdict(dict)
        skipped: dict[date, list[Skipped]] = defaultdict(list)
        pending = first_day  # the oldest day not yielded yet
        requests_yielded = self.api.requests
        start, total, empty_pages = 0, None, 0

        def day_listing(day: date) -> SourceDay:
            nonlocal requests_yielded
            listing = SourceDay(
                NAME,
                day,
                papers=tuple(papers.pop(day, {}).values()),
                skipped=tuple(skipped.pop(day, [])),
                requests=self.api.requests - requests_yielded,
            )
            requests_yielded = self.api.requests
            return listing

        most = MAX_RESULTS_A_DAY * ((last_day - first_day).days + 1)
        while total is None or start < total:
            if start >= most:
                promised = f"{total:,} promised" if total is not None else "no total given"
                raise SourceUnavailable(
                    f"{self.api.base_url}/api/query: over {most:,} results for "
                    f"{first_day}..{last_day} ({promised}), more than arXiv holds; "
                    "the days before are stored"
                )
            params = search_params(
                self.categories, first, last, start=start, max_results=self.page_size
            )
            response = self.api.get("/api/query", params)
            query = _query(response)
            total = query.total if query.total is not None else total
            read = len(query.entries) + len(query.malformed)
            if read == 0:
                if total is None or start >= total:
                    break
                empty_pages += 1
                if empty_pages > EMPTY_PAGE_RETRIES:
                    raise SourceUnavailable(
                        f"{response.url}: no results at {start} of {total}, "
                        f"{empty_pages} times; the days before are stored"
                    )
                continue
            empty_pages = 0
            start += read
            newest = pending
            for entry in query.entries:
                day = entry.published or pending
                if not first_day <= day <= last_day:
                    continue  # not asked for (the API's bounds are ours, to the minute)
                newest = max(newest, day)
                # A day already yielded is out of order (the API sorts by submission time):
                # it is listed again with what it missed; storing merges it.
                if entry.arxiv_id in papers[day]:
                    skipped[day].append(Skipped(entry.arxiv_id, "listed twice"))
                else:
                    papers[day][entry.arxiv_id] = _paper(entry, day)
            for bad in query.malformed:
                skipped[pending].append(Skipped(bad.key or f"result {start}", bad.reason))
            late = sorted(day for day in papers if day < pending)
            for day in late:
                yield day_listing(day)
            while pending < newest:
                yield day_listing(pending)
                pending += timedelta(1)
            if query.total is None and read < self.page_size:
                break
        while pending <= last_day:
            yield day_listing(pending)
            pending += timedelta(1)


def _query(response: Response) -> ArxivQuery:
    try:
        return parse_query_response(response.content)
    except ArxivFeedError as error:
        raise MalformedResponse(f"{response.url}: {error}") from None


def _paper(entry: ArxivEntry, day: date) -> SourcePaper:
    return SourcePaper(
        source=NAME,
        title=entry.title,
        abstract=entry.abstract,
        authors=entry.authors,
        arxiv_id=entry.arxiv_id,
        published=entry.published,
        listed=day,
    )


def _with_requests(listing: SourceDay, requests: int) -> SourceDay:
    return dataclasses.replace(listing, requests=requests)
