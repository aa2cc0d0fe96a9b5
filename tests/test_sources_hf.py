"""The Hugging Face Daily Papers source, against fixture files served on loopback."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from recommender.sources.base import MalformedResponse, SourceUnavailable
from recommender.sources.hf import HuggingFaceSource, ItemError, parse_item
from recommender.sources.http import PoliteClient
from tests.loopback import FIXTURES, Reply, Seen, json_file, serving

DAY = date(2026, 3, 20)


def daily_papers(*before: Reply, etag: str | None = None):
    """Serve the fixture pages by date and page; ``before`` are replies given first."""
    queue = list(before)

    def handler(request: Seen) -> Reply:
        if queue:
            return queue.pop(0)
        if request.path != "/api/daily_papers":
            return Reply(404)
        if etag and request.headers.get("if-none-match") == etag:
            return Reply(304)
        name = f"{request.query['date']}-p{request.query['p']}.json"
        headers = {"ETag": etag} if etag else {}
        if not (FIXTURES / "hf" / name).exists():
            return json_file("hf", "empty.json", **headers)
        return json_file("hf", name, **headers)

    return handler


class Sleeps:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Sources:
    """Makes sources over polite clients, and closes the clients at the end of the test."""

    def __init__(self) -> None:
        self.clients: list[PoliteClient] = []

    def __call__(
        self, url: str, sleeps: Sleeps | None = None, page_size: int = 3, **options: Any
    ) -> HuggingFaceSource:
        sleeps = sleeps or Sleeps()
        settings: dict[str, Any] = {
            "contact": "operator@example.org",
            "min_interval": 0.0,
            "backoff": 1.0,
            "clock": sleeps.clock,
            "sleep": sleeps.sleep,
        }
        client = PoliteClient(url, **{**settings, **options})
        self.clients.append(client)
        return HuggingFaceSource(client, page_size=page_size)


@pytest.fixture
def source() -> Iterator[Sources]:
    sources = Sources()
    yield sources
    for client in sources.clients:
        client.close()


def test_a_day_is_read_across_its_pages_until_a_short_page(source: Sources) -> None:
    with serving(daily_papers()) as (url, seen):
        day = source(url).fetch_day(DAY)
    assert [paper.arxiv_id for paper in day.papers] == ["2603.18101", "2603.18222", "2603.18333"]
    assert [(r.path, r.query) for r in seen] == [
        ("/api/daily_papers", {"date": "2026-03-20", "p": "0", "limit": "3"}),
        ("/api/daily_papers", {"date": "2026-03-20", "p": "1", "limit": "3"}),
    ]
    assert day.requests == 2
    assert (day.source, day.day) == ("hf", DAY)


def test_paging_stops_at_an_empty_page(source: Sources) -> None:
    with serving(daily_papers()) as (url, seen):
        day = source(url, page_size=2).fetch_day(date(2026, 3, 23))
    assert [paper.title for paper in day.papers] == [
        "Scaling Laws for Sparse Autoencoders",
        "Speculative Decoding with Draft Trees",
    ]
    assert [r.query["p"] for r in seen] == ["0", "1"]


def test_a_day_without_papers_is_empty_not_an_error(source: Sources) -> None:
    with serving(daily_papers()) as (url, seen):
        day = source(url).fetch_day(date(2026, 3, 22))
    assert day.papers == ()
    assert day.skipped == ()
    assert len(seen) == 1


def test_a_malformed_item_is_skipped_with_its_reason_and_the_day_kept(source: Sources) -> None:
    with serving(daily_papers()) as (url, _):
        day = source(url).fetch_day(DAY)
    assert len(day.papers) == 3
    assert [(s.item, s.reason) for s in day.skipped] == [("page 0 item 1 (2603.17777)", "no title")]


def test_a_paper_carries_every_field_the_listing_gives(source: Sources) -> None:
    with serving(daily_papers()) as (url, _):
        first = source(url).fetch_day(DAY).papers[0]
    assert first.source == "hf"
    assert first.title == "Sparse Mixture-of-Experts Routing Without Auxiliary Losses"
    assert first.abstract.startswith("We propose a routing scheme for sparse mixture-of-experts")
    assert "load without" in first.abstract  # the hard wrap became a space
    assert first.authors == ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    assert first.published == date(2026, 3, 18)
    assert first.upvotes == 87
    assert first.github_url == "https://github.com/example-lab/moe-routing"
    assert first.github_stars == 412
    assert first.project_url == "https://example-lab.github.io/moe-routing/"
    assert first.page_url == "https://huggingface.co/papers/2603.18101"
    assert first.keywords == ("mixture-of-experts", "routing", "load balancing")


def test_the_listing_day_is_the_day_featured_not_the_arxiv_date(source: Sources) -> None:
    with serving(daily_papers()) as (url, _):
        papers = source(url).fetch_day(DAY).papers
    assert {paper.listed for paper in papers} == {DAY}
    assert [paper.published for paper in papers] == [
        date(2026, 3, 18),
        date(2026, 3, 19),
        date(2026, 3, 17),
    ]


def test_the_arxiv_id_is_kept_without_its_version(source: Sources) -> None:
    with serving(daily_papers()) as (url, _):
        second = source(url).fetch_day(DAY).papers[1]
    assert second.arxiv_id == "2603.18222"


def test_a_paper_without_code_or_project_has_none(source: Sources) -> None:
    with serving(daily_papers()) as (url, _):
        second = source(url).fetch_day(DAY).papers[1]
    assert (second.github_url, second.github_stars, second.project_url) == (None, None, None)


def test_a_429_with_retry_after_then_success_fetches_the_day(source: Sources) -> None:
    sleeps = Sleeps()
    with serving(daily_papers(Reply(429, headers={"Retry-After": "5"}))) as (url, seen):
        day = source(url, sleeps).fetch_day(DAY)
    assert len(day.papers) == 3
    assert sleeps.slept == [5.0]
    assert day.requests == 3
    assert seen[0].query == seen[1].query  # the same page asked for again


def test_a_500_then_success_fetches_the_day(source: Sources) -> None:
    sleeps = Sleeps()
    with serving(daily_papers(Reply(500))) as (url, _):
        day = source(url, sleeps).fetch_day(DAY)
    assert len(day.papers) == 3
    assert sleeps.slept == [1.0]


def test_a_source_that_times_out_is_unavailable_in_one_line(source: Sources) -> None:
    with serving(lambda request: Reply(200, b"[]", delay=0.3)) as (url, _):
        hf = source(url, timeout=0.05, retries=1)
        with pytest.raises(SourceUnavailable) as raised:
            hf.fetch_day(DAY)
    assert str(raised.value) == (
        f"{url}/api/daily_papers?date=2026-03-20&p=0&limit=3: timed out after 2 attempts"
    )


def test_a_response_that_is_not_a_list_is_malformed(source: Sources) -> None:
    with serving(lambda request: Reply(200, b'{"error": "Invalid date"}')) as (url, _):
        with pytest.raises(MalformedResponse, match="expected a JSON array, got dict"):
            source(url).fetch_day(DAY)


def test_a_server_repeating_its_first_page_is_not_paged_forever(source: Sources) -> None:
    def same_page(request: Seen) -> Reply:
        return json_file("hf", "2026-03-23-p0.json")

    with serving(same_page) as (url, seen):
        day = source(url, page_size=2).fetch_day(DAY)
    assert len(day.papers) == 2
    assert len(seen) == 2


def test_a_listing_that_never_ends_is_refused_not_stored_cut(source: Sources) -> None:
    made = iter(range(1_000_000))

    def endless(request: Seen) -> Reply:
        # every page full, and each one new
        page = []
        for n in (next(made) for _ in range(3)):
            item = an_item()
            item["paper"].update(id=f"2603.{n:05d}", title=f"Paper {n}")
            page.append(item)
        return Reply(200, json.dumps(page).encode(), {"Content-Type": "application/json"})

    with serving(endless) as (url, seen):
        hf = HuggingFaceSource(source(url).client, page_size=3, max_pages=4)
        with pytest.raises(MalformedResponse) as raised:
            hf.fetch_day(DAY)
    assert str(raised.value) == (
        f"{url}/api/daily_papers?date=2026-03-20&p=3&limit=3: still full pages after 4, "
        "more than any day lists; the day is not stored"
    )
    assert len(seen) == 4


def test_refetching_an_unchanged_day_asks_conditionally_and_gives_the_same_papers(
    source: Sources,
) -> None:
    with serving(daily_papers(etag='"day-v1"')) as (url, seen):
        hf = source(url)
        first = hf.fetch_day(DAY)
        again = hf.fetch_day(DAY)
    assert again.papers == first.papers
    assert again.not_modified and not first.not_modified
    assert [r.headers.get("if-none-match") for r in seen] == [None, None, '"day-v1"', '"day-v1"']


def test_pages_reach_the_server_no_closer_than_the_rate_limit(source: Sources) -> None:
    interval = 0.1
    with serving(daily_papers()) as (url, seen):
        source(url, min_interval=interval, clock=time.monotonic, sleep=time.sleep).fetch_day(DAY)
    assert len(seen) == 2
    assert seen[1].at - seen[0].at >= interval


def test_fetch_since_gives_each_day_oldest_first(source: Sources) -> None:
    with serving(daily_papers()) as (url, seen):
        days = list(source(url).fetch_since(date(2026, 3, 19), DAY))
    assert [day.day for day in days] == [date(2026, 3, 19), DAY]
    assert [len(day.papers) for day in days] == [0, 3]


def an_item() -> dict:
    return json.loads((FIXTURES / "hf" / "2026-03-20-p0.json").read_text())[0]


def broken(change) -> dict:
    item = an_item()
    change(item)
    return item


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("a string", "not an object but str"),
        ({"title": "no paper"}, "no paper object"),
        (broken(lambda i: i["paper"].pop("id")), "no paper id"),
        (broken(lambda i: i["paper"].update(authors="A. Person")), "authors is not a list"),
        (broken(lambda i: i["paper"]["authors"].append({"_id": "x"})), "an author without a name"),
        (
            broken(lambda i: i.update(publishedAt="yesterday")),
            "unreadable featured date 'yesterday'",
        ),
        (broken(lambda i: i["paper"].update(publishedAt=7)), "unreadable arXiv date 7"),
    ],
)
def test_an_unreadable_item_says_why(item: object, reason: str) -> None:
    with pytest.raises(ItemError) as raised:
        parse_item(item, DAY)
    assert str(raised.value) == reason


def test_the_featured_day_falls_back_to_the_daily_submission_then_the_day_asked() -> None:
    item = broken(lambda i: i.pop("publishedAt"))
    item["paper"]["submittedOnDailyAt"] = "2026-03-19T23:00:00.000Z"
    assert parse_item(item, DAY).listed == date(2026, 3, 19)
    item["paper"].pop("submittedOnDailyAt")
    assert parse_item(item, DAY).listed == DAY


def test_the_title_falls_back_to_the_item_level() -> None:
    item = broken(lambda i: i["paper"].pop("title"))
    item["title"] = "Top-Level Title"
    assert parse_item(item, DAY).title == "Top-Level Title"


def test_fields_of_the_wrong_type_are_left_empty() -> None:
    def spoil(item: dict) -> None:
        item["paper"].update(upvotes="many", githubStars=True, githubRepo=3, ai_keywords="x")

    paper = parse_item(broken(spoil), DAY)
    assert (paper.upvotes, paper.github_stars, paper.github_url, paper.keywords) == (
        None,
        None,
        None,
        (),
    )


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(document.cookie)", "github.com/x/y", "https://github.com/x\x1b]0;pwned\x07"],
)
def test_a_code_or_project_link_that_is_no_web_link_is_left_empty(link: str) -> None:
    paper = parse_item(broken(lambda i: i["paper"].update(githubRepo=link, projectPage=link)), DAY)
    assert (paper.github_url, paper.project_url) == (None, None)


def test_an_id_that_is_not_an_arxiv_id_keeps_the_paper_without_one() -> None:
    paper = parse_item(broken(lambda i: i["paper"].update(id="not-arxiv")), DAY)
    assert paper.arxiv_id is None
    assert paper.page_url == "https://huggingface.co/papers/not-arxiv"


def test_a_count_no_database_integer_holds_is_left_empty_not_fatal() -> None:
    paper = parse_item(broken(lambda i: i["paper"].update(upvotes=10**40, githubStars=2**63)), DAY)
    assert (paper.upvotes, paper.github_stars) == (None, None)


def test_what_no_text_shows_is_dropped_from_titles_abstracts_and_names() -> None:
    # a terminal's escape sequences, a bell, a bidi override, a lone surrogate (which no
    # database stores): valid JSON, sent by a source
    def hostile(item: dict) -> None:
        item["paper"]["title"] = "Red\x1b[31m title\x07 \u202eevil \ud800here"
        item["paper"]["summary"] = "An\x1b]0;pwned\x07 abstract."
        item["paper"]["authors"][0]["name"] = "Ada\x08 Lovelace"

    paper = parse_item(broken(hostile), DAY)
    assert paper.title == "Red [31m title evil here"
    assert paper.abstract == "An ]0;pwned abstract."
    assert paper.authors[0] == "Ada Lovelace"


@pytest.mark.parametrize("hf_id", ["../../etc/passwd", "http://evil.example/x", "x" * 5000])
def test_a_paper_id_that_could_not_be_a_pages_name_skips_the_item(hf_id: str) -> None:
    with pytest.raises(ItemError, match="is not one a page can have"):
        parse_item(broken(lambda i: i["paper"].update(id=hf_id)), DAY)


@pytest.mark.parametrize(
    ("field", "size", "reason"),
    [
        ("title", 401, "a title of 401 characters (at most 400)"),
        ("summary", 10_001, "an abstract of 10,001 characters (at most 10,000)"),
    ],
)
def test_a_title_or_abstract_longer_than_any_papers_skips_the_item(
    field: str, size: int, reason: str
) -> None:
    # each digest would carry it: a broken or hostile response
    with pytest.raises(ItemError, match=re.escape(reason)):
        parse_item(broken(lambda i: i["paper"].update({field: "x" * size})), DAY)
