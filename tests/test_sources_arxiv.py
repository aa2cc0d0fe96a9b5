"""The arXiv source over HTTP: today's announcement feed, past days from the query API, paging,
weekends, arXiv's rate limit, and one paper across a dump, Hugging Face and arXiv.

A real HTTP server on loopback answers with the fixture files under tests/fixtures/arxiv/,
shaped like arXiv's real answers.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from recommender.cli import cli
from recommender.config import Settings
from recommender.core import Recommender
from recommender.sources import arxiv as arxiv_source
from recommender.sources.arxiv import ArxivSource
from recommender.sources.base import MalformedResponse, SourceUnavailable
from recommender.sources.http import Pace, PoliteClient
from recommender.store.models import Paper
from tests.builders import dump_text, entry
from tests.clock import Clock, saved_at_the_test_clock
from tests.loopback import FIXTURES, Reply, Seen, serving

MONDAY = date(2026, 11, 30)  # the day of the fixture feed
SUNDAY = date(2026, 11, 29)
ADAPTERS = "Sparse Mixtures of Low-Rank Adapters for Continual Learning"


def xml_file(name: str, **headers: str) -> Reply:
    body = (FIXTURES / "arxiv" / name).read_bytes()
    return Reply(200, body, {"Content-Type": "application/atom+xml; charset=utf-8", **headers})


def arxiv_server(feed: str = "rss-cs.LG.xml", **pages: str) -> Callable[[Seen], Reply]:
    """Answer feeds with ``feed`` and query-API pages by their ``start`` (``s0``, ``s3``...),
    with the two fixture pages of a five-result backfill unless told otherwise."""
    by_start = {"s0": "query-search-p0.xml", "s3": "query-search-p1.xml", **pages}

    def handle(request: Seen) -> Reply:
        if request.path.startswith("/rss/"):
            return xml_file(feed, ETag='"feed-1"')
        if request.path == "/api/query":
            name = by_start.get(f"s{request.query['start']}", "query-search-empty.xml")
            return xml_file(name) if name.endswith(".xml") else Reply(int(name))
        return Reply(404)

    return handle


@contextmanager
def source(url: str, *, interval: float = 0.0, page_size: int = 3) -> Iterator[ArxivSource]:
    """The arXiv source with its feeds and its API both at ``url``, sharing one pace."""
    pace = Pace(interval)
    with (
        PoliteClient(url, contact="operator@example.org", pace=pace, backoff=0.0) as feeds,
        PoliteClient(url, contact="operator@example.org", pace=pace, backoff=0.0) as api,
    ):
        yield ArxivSource(feeds, api, categories=("cs.LG", "cs.CL"), page_size=page_size)


def test_the_feeds_day_is_its_new_and_cross_entries_in_one_request_for_every_category() -> None:
    with serving(arxiv_server()) as (url, seen), source(url) as arxiv:
        listing = arxiv.fetch_day(MONDAY)
    assert [request.path for request in seen] == ["/rss/cs.LG+cs.CL"]
    assert "operator@example.org" in seen[0].headers["user-agent"]
    assert listing.day == MONDAY and listing.source == "arxiv"
    assert [paper.arxiv_id for paper in listing.papers] == [
        "2611.23456",
        "2611.22001",
        "2611.23500",
    ]
    assert all(paper.listed == MONDAY for paper in listing.papers)
    (bad,) = listing.skipped
    assert bad.reason == "no arXiv id"
    assert listing.requests == 1


def test_a_weekend_feed_is_an_empty_day_not_an_error() -> None:
    with serving(arxiv_server("rss-cs.LG-weekend.xml")) as (url, _), source(url) as arxiv:
        listing = arxiv.fetch_day(SUNDAY)
    assert (listing.day, listing.papers, listing.skipped) == (SUNDAY, (), ())


def test_a_day_after_the_feeds_day_is_empty_until_arxiv_announces_it() -> None:
    with serving(arxiv_server()) as (url, seen), source(url) as arxiv:
        listing = arxiv.fetch_day(date(2026, 12, 1))
    assert listing.papers == () and len(seen) == 1


def test_a_past_day_comes_from_the_query_api_by_its_submission_day_in_new_york() -> None:
    with serving(arxiv_server()) as (url, seen), source(url) as arxiv:
        listing = arxiv.fetch_day(date(2026, 11, 24))
    query = seen[1].query
    assert seen[1].path == "/api/query"
    # 24 November, 00:00 to 23:59 in New York, in GMT as the API reads it
    assert query["search_query"] == (
        "(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202611240500 TO 202611250459]"
    )
    assert (query["sortBy"], query["sortOrder"]) == ("submittedDate", "ascending")
    # 2611.20999 was submitted at 03:12 GMT on the 25th: 22:12 on the 24th in New York
    assert [paper.arxiv_id for paper in listing.papers] == [
        "2611.20011",
        "2611.20345",
        "2611.20999",
    ]
    assert listing.papers[0].abstract.startswith("Offline reinforcement learning")
    assert listing.papers[2].authors == ("Laura Costa", "Daniel Weiss", "Amir Haddad")


def test_a_backfill_pages_through_the_api_oldest_first_then_takes_the_feeds_day() -> None:
    with serving(arxiv_server()) as (url, seen), source(url) as arxiv:
        listings = list(arxiv.fetch_since(date(2026, 11, 24), MONDAY))
    assert [listing.day.day for listing in listings] == [24, 25, 26, 27, 28, 29, 30]
    assert [len(listing.papers) for listing in listings] == [3, 1, 0, 1, 0, 0, 3]
    starts = [request.query["start"] for request in seen if request.path == "/api/query"]
    assert starts == ["0", "3"]
    assert all(request.query.get("max_results") in (None, "3") for request in seen)
    assert sum(listing.requests for listing in listings) == len(seen) == 3


def test_the_api_answering_an_empty_page_early_is_asked_again_then_given_up() -> None:
    server = arxiv_server()
    flaky = {"s3": 0}

    def handle(request: Seen) -> Reply:
        # totalResults says 5, yet the second page comes back empty: a known API hiccup
        if request.path == "/api/query" and request.query["start"] == "3":
            flaky["s3"] += 1
            reply = xml_file("query-search-p0.xml")
            body = reply.body.split(b"<entry>")[0] + b"</feed>\n"
            return Reply(200, body, reply.headers)
        return server(request)

    with serving(handle) as (url, _), source(url) as arxiv:
        days = arxiv.fetch_since(date(2026, 11, 24), date(2026, 11, 28))
        with pytest.raises(SourceUnavailable, match="no results at 3 of 5"):
            list(days)
    assert flaky["s3"] == 4  # the first answer and three more tries


def test_an_api_that_pages_on_forever_is_given_up_after_more_than_arxiv_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(arxiv_source, "MAX_RESULTS_A_DAY", 4)  # 5 days: 20 results at most
    asked: list[int] = []
    feeds = arxiv_server()

    def handle(request: Seen) -> Reply:
        # every page the same three entries, and a total no page ever reaches
        if request.path == "/api/query":
            asked.append(int(request.query["start"]))
            reply = xml_file("query-search-p0.xml")
            body = reply.body.replace(b">5</opensearch:totalResults>", b">10000000</opensearch:")
            body = body.replace(b">10000000</opensearch:", b">10000000</opensearch:totalResults>")
            return Reply(200, body, reply.headers)
        return feeds(request)

    with serving(handle) as (url, _), source(url) as arxiv:
        days = arxiv.fetch_since(date(2026, 11, 24), date(2026, 11, 28))
        with pytest.raises(SourceUnavailable, match="over 20 results .* more than arXiv holds"):
            list(days)
    assert asked == [0, 3, 6, 9, 12, 15, 18]


def test_a_feed_that_is_not_a_feed_is_refused_naming_the_url() -> None:
    def handle(request: Seen) -> Reply:
        return Reply(200, b"<html><body>Service unavailable</body></html>")

    with serving(handle) as (url, _), source(url) as arxiv:
        with pytest.raises(MalformedResponse, match=f"{url}/rss/"):
            arxiv.fetch_day(MONDAY)


def test_a_feed_dated_before_arxiv_existed_is_refused_naming_the_url() -> None:
    feed = xml_file("rss-cs.LG.xml")
    dated = feed.body.replace(
        b"<pubDate>Mon, 30 Nov 2026 00:00:00 -0500</pubDate>", b"<pubDate>0001-01-01</pubDate>"
    )
    server = arxiv_server()

    def handle(request: Seen) -> Reply:
        return (
            Reply(200, dated, feed.headers) if request.path.startswith("/rss/") else server(request)
        )

    with serving(handle) as (url, _), source(url) as arxiv:
        with pytest.raises(MalformedResponse) as raised:
            list(arxiv.fetch_since(date(2026, 11, 24), MONDAY))
    assert str(raised.value) == (
        f"{url}/rss/cs.LG+cs.CL: dated 0001-01-01, before arXiv's first announcement"
    )


@pytest.mark.parametrize("date_tag", [b"<pubDate>soon</pubDate>", b""])
def test_a_feed_of_papers_with_no_readable_date_is_refused_naming_the_url(date_tag: bytes) -> None:
    # filed under the day asked for, a backfill of a past day would get today's papers
    feed = xml_file("rss-cs.LG.xml")
    channel = feed.body.replace(
        b"<lastBuildDate>Mon, 30 Nov 2026 05:00:03 +0000</lastBuildDate>", b""
    )
    undated = channel.replace(b"<pubDate>Mon, 30 Nov 2026 00:00:00 -0500</pubDate>", date_tag, 1)
    assert undated.count(b"<pubDate>") == channel.count(b"<pubDate>") - (not date_tag)
    server = arxiv_server()

    def handle(request: Seen) -> Reply:
        return (
            Reply(200, undated, feed.headers)
            if request.path.startswith("/rss/")
            else server(request)
        )

    with serving(handle) as (url, _), source(url) as arxiv:
        with pytest.raises(MalformedResponse) as raised:
            arxiv.fetch_day(date(2026, 11, 24))
    assert str(raised.value) == (
        f"{url}/rss/cs.LG+cs.CL: no readable <pubDate>, so no day to list its papers under"
    )


def test_no_two_requests_to_arxiv_come_closer_than_the_interval_across_feed_and_api() -> None:
    interval = 0.4
    with serving(arxiv_server()) as (url, seen), source(url, interval=interval) as arxiv:
        list(arxiv.fetch_since(date(2026, 11, 24), MONDAY))
    gaps = [later.at - earlier.at for earlier, later in zip(seen, seen[1:], strict=False)]
    assert len(seen) == 3 and min(gaps) >= interval


# -- through the facade ------------------------------------------------------------------------


@pytest.fixture
def arxiv_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, arxiv_request_interval=0.0)


def hf_item(arxiv_id: str, title: str, upvotes: int) -> dict[str, object]:
    return {
        "paper": {
            "id": arxiv_id,
            "title": title,
            "summary": "Short.",
            "authors": [{"name": "Ana Souza"}],
            "publishedAt": "2026-11-27T18:01:44.000Z",
            "upvotes": upvotes,
        },
        "publishedAt": "2026-11-30T09:00:00.000Z",
        "title": title,
    }


def test_one_paper_across_a_dump_hugging_face_and_arxiv(
    arxiv_settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    items = [hf_item("2611.23456", ADAPTERS, 42)]

    def handle(request: Seen) -> Reply:
        if request.path == "/api/daily_papers":
            page = items if request.query["p"] == "0" else []
            return Reply(200, json.dumps(page).encode(), {"Content-Type": "application/json"})
        return arxiv_server()(request)

    dump = tmp_path / "dump.txt"
    dump.write_text(dump_text([entry(1, title=ADAPTERS, abstract="Adapters, briefly.")]))
    saved_at_the_test_clock(dump)
    clock.now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    with serving(handle) as (url, _):
        settings = dataclasses.replace(
            arxiv_settings, hf_api_url=url, arxiv_rss_url=url, arxiv_api_url=url
        )
        with Recommender(settings, clock=clock) as app:
            assert app.ingest([dump]).ok
            arxiv = app.fetch("arxiv", day=MONDAY)
            hf = app.fetch("hf", day=MONDAY)
            again = app.fetch("arxiv", day=MONDAY)
            with app._sessions() as session:
                papers = list(session.scalars(select(Paper).where(Paper.title == ADAPTERS)))
    assert (arxiv.papers_new, arxiv.papers_updated) == (2, 1)  # the dump's paper got its id
    assert (hf.papers_new, hf.papers_updated) == (0, 1)
    assert again.days[0].status == "unchanged"
    (paper,) = papers
    assert paper.arxiv_id == "2611.23456"
    assert paper.upvotes == 42
    assert paper.hf_page == "https://huggingface.co/papers/2611.23456"
    assert paper.abstract.startswith("Continual learning with adapters")  # the fullest


def test_fetching_arxiv_keeps_to_three_seconds_between_requests_by_default(
    settings: Settings, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    started = time.monotonic()
    with serving(arxiv_server()) as (url, seen):
        with Recommender(
            dataclasses.replace(settings, arxiv_rss_url=url, arxiv_api_url=url), clock=clock
        ) as app:
            report = app.fetch("arxiv", since=date(2026, 11, 27))
    gaps = [later.at - earlier.at for earlier, later in zip(seen, seen[1:], strict=False)]
    assert len(seen) == 3 and min(gaps) >= 3.0
    assert time.monotonic() - started >= 6.0
    assert [day.day.day for day in report.days] == [27, 28, 29, 30]


def test_the_fetch_command_backfills_arxiv_and_prints_a_line_a_day(tmp_path: Path) -> None:
    with serving(arxiv_server()) as (url, _):
        env = {
            "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "RECOMMENDER_HOME": str(tmp_path / "home"),
            "RECOMMENDER_ARXIV_RSS_URL": url,
            "RECOMMENDER_ARXIV_API_URL": url,
            "RECOMMENDER_ARXIV_REQUEST_INTERVAL": "0",
        }
        result = CliRunner().invoke(
            cli, ["fetch", "--source", "arxiv", "--since", "2026-11-24"], env=env
        )
    assert result.exit_code == 0, result.output
    assert "arxiv 2026-11-24: 3 new, 0 updated, 0 unchanged, 0 skipped" in result.output
    assert "arxiv 2026-11-30: 3 new" in result.output
