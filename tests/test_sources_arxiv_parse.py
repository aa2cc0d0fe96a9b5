"""arXiv announcement feeds and query-API responses parsed into paper records.

The fixtures under tests/fixtures/arxiv/ are shaped like arXiv's real answers (each file says
where its shape comes from); variations are made by editing a fixture's text.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from recommender.sources.arxiv_parse import (
    ArxivFeedError,
    id_list_batches,
    parse_feed,
    parse_query_response,
    query_url,
)
from recommender.sources.base import split_arxiv_id

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


RSS = fixture("rss-cs.LG.xml")
ATOM = fixture("atom-cs.LG.xml")


@pytest.fixture(params=["rss-cs.LG.xml", "atom-cs.LG.xml"])
def feed_bytes(request: pytest.FixtureRequest) -> bytes:
    return fixture(request.param)


def test_new_and_cross_entries_are_kept_and_replacements_skipped_and_counted(feed_bytes):
    feed = parse_feed(feed_bytes)

    assert [(e.arxiv_id, e.announce_type) for e in feed.entries] == [
        ("2611.23456", "new"),
        ("2611.22001", "cross"),
        ("2611.23500", "new"),
    ]
    assert [e.arxiv_id for e in feed.skipped] == ["2609.01234", "2510.04567"]
    assert feed.skipped_by_type == {"replace": 1, "replace-cross": 1}


def test_the_announce_types_kept_are_a_choice():
    feed = parse_feed(RSS, types=("new", "replace"))

    assert {e.announce_type for e in feed.entries} == {"new", "replace"}
    assert feed.skipped_by_type == {"cross": 1, "replace-cross": 1}


def test_an_unknown_announce_type_cannot_be_chosen():
    with pytest.raises(ValueError, match="replacement"):
        parse_feed(RSS, types=("new", "replacement"))


def test_the_announcement_prefix_is_stripped_from_the_abstract(feed_bytes):
    entry = parse_feed(feed_bytes).entries[1]

    assert entry.abstract == (
        "Vision transformers are confidently wrong on shifted data. A temperature learned "
        "per attention head, fitted on clean data only, halves the expected calibration "
        "error on ImageNet-C without retraining."
    )


def test_a_less_than_sign_in_an_abstract_is_kept_as_text(feed_bytes):
    # An HTML sanitiser would read "<n$ shared ..." as the start of a tag and drop it.
    entry = parse_feed(feed_bytes).entries[0]

    assert "mixture of $k<n$ of $n>1$ shared adapters" in entry.abstract
    assert entry.abstract.endswith("with a tenth of the parameters.")


def test_ids_lose_their_version_which_is_kept_apart(feed_bytes):
    feed = parse_feed(feed_bytes)
    replaced = feed.skipped[1]

    assert (replaced.arxiv_id, replaced.version) == ("2510.04567", 3)
    assert replaced.abs_url == "https://arxiv.org/abs/2510.04567"
    assert replaced.pdf_url == "https://arxiv.org/pdf/2510.04567"
    assert replaced.links == (replaced.abs_url, replaced.pdf_url)


def test_authors_are_split_into_names(feed_bytes):
    feed = parse_feed(feed_bytes)

    assert feed.entries[0].authors == ("Mei Chen", "Jonas Müller", "Aditi Rao")
    assert feed.entries[1].authors == ("Ana Souza",)
    assert feed.entries[2].authors == ("Sam Okafor", "Yuki Tanaka", "Lea Brandt", "Omar Haddad")


def test_authors_joined_by_and_are_split_too():
    data = RSS.replace(b"Mei Chen, Jonas M\xc3\xbcller, Aditi Rao", b"Mei Chen and Aditi Rao")

    assert parse_feed(data).entries[0].authors == ("Mei Chen", "Aditi Rao")


def test_titles_have_their_whitespace_collapsed(feed_bytes):
    entry = parse_feed(feed_bytes).entries[0]

    assert entry.title == "Sparse Mixtures of Low-Rank Adapters for Continual Learning"


def test_categories_are_kept_in_order_and_the_first_is_the_primary(feed_bytes):
    cross = parse_feed(feed_bytes).entries[1]

    assert cross.categories == ("cs.CV", "cs.LG")
    assert cross.primary_category == "cs.CV"


def test_the_feed_and_its_entries_carry_the_announcement_day(feed_bytes):
    feed = parse_feed(feed_bytes)

    assert feed.day == date(2026, 11, 30)
    assert {e.published for e in feed.entries + feed.skipped} == {date(2026, 11, 30)}


def test_rss_and_atom_feeds_give_the_same_entries():
    rss, atom = parse_feed(RSS), parse_feed(ATOM)

    assert rss.entries == atom.entries
    assert rss.skipped == atom.skipped
    assert rss.malformed == atom.malformed


def test_the_weekend_feed_is_empty_not_an_error():
    feed = parse_feed(fixture("rss-cs.LG-weekend.xml"))

    assert feed.empty
    assert (feed.entries, feed.skipped, feed.malformed) == ((), (), ())
    assert feed.day == date(2026, 11, 29)


def test_an_entry_without_an_id_is_skipped_with_its_reason_and_the_rest_kept(feed_bytes):
    feed = parse_feed(feed_bytes)

    assert [(m.position, m.key, m.reason) for m in feed.malformed] == [
        (4, "oai:arXiv.org:", "no arXiv id")
    ]
    assert len(feed.entries) + len(feed.skipped) == 5
    assert not feed.empty


def test_an_entry_without_a_title_is_skipped_with_its_reason():
    data = RSS.replace(
        b"<title>Hierarchical Retrieval for Long-Context Language Models</title>", b"<title/>"
    )

    feed = parse_feed(data)

    assert [(m.key, m.reason) for m in feed.malformed][-1] == (
        "oai:arXiv.org:2611.23500v1",
        "no title",
    )
    assert [e.arxiv_id for e in feed.entries] == ["2611.23456", "2611.22001"]


def test_an_entry_of_an_unknown_announce_type_is_skipped_with_its_reason():
    data = RSS.replace(
        b"<arxiv:announce_type>cross</arxiv:announce_type>",
        b"<arxiv:announce_type>withdrawn</arxiv:announce_type>",
    )

    reasons = [m.reason for m in parse_feed(data).malformed]

    assert "unknown announce type 'withdrawn'" in reasons


def test_the_announce_type_is_read_from_the_description_when_its_element_is_missing():
    data = RSS.replace(b"<arxiv:announce_type>cross</arxiv:announce_type>", b"")

    assert parse_feed(data).entries[1].announce_type == "cross"


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><head><title>503</title></head><body>busy</body></html>",
        RSS[: len(RSS) // 2],
        b"",
        b"\x00\xff\x17 not a feed",
    ],
    ids=["html", "truncated", "empty", "binary"],
)
def test_a_document_that_is_not_a_whole_feed_is_refused(data):
    with pytest.raises(ArxivFeedError):
        parse_feed(data)


QUERY = fixture("query-search-p0.xml")


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><head><title>503</title></head><body>busy</body></html>",
        QUERY[: len(QUERY) // 2],
        b"",
        b"\x00\xff\x17 not a feed",
        RSS,
        b'<!DOCTYPE f [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&d;&d;&d;&d;&d;&d;</title></feed>',
    ],
    ids=["html", "truncated", "empty", "binary", "rss", "entity-expansion"],
)
def test_a_query_response_that_is_not_a_whole_atom_feed_is_refused(data):
    with pytest.raises(ArxivFeedError):
        parse_query_response(data)


def test_the_query_response_is_parsed_and_its_error_entry_skipped_with_the_reason():
    result = parse_query_response(fixture("query-id-list.xml"))

    first, second = result.entries
    assert (first.arxiv_id, first.version) == ("2403.01234", 2)
    assert first.title == "Learning Rate Warmup Is a Trust Region: A Second Look at Early Training"
    assert first.abstract.startswith("Warmup is usually justified by the instability")
    assert first.authors == ("Hannah Lindqvist", "Rafael Ortiz")
    assert first.primary_category == "cs.LG"
    assert first.categories == ("cs.LG", "math.OC")
    assert first.published == date(2024, 3, 2)
    assert first.announce_type is None
    assert first.pdf_url == "https://arxiv.org/pdf/2403.01234"
    assert (second.arxiv_id, second.authors) == (
        "2611.23456",
        ("Mei Chen", "Jonas Müller", "Aditi Rao"),
    )
    assert [(m.position, m.reason) for m in result.malformed] == [
        (2, "arXiv API error: incorrect id format for 2611.123")
    ]


def test_a_query_answered_by_an_error_alone_gives_no_papers_and_the_reason():
    result = parse_query_response(fixture("query-error.xml"))

    assert result.entries == ()
    assert [m.reason for m in result.malformed] == [
        "arXiv API error: incorrect id format for 1234.12345"
    ]


def test_the_same_paper_from_the_feed_and_the_api_has_the_same_id_and_text():
    from_feed = parse_feed(RSS).entries[0]
    from_api = parse_query_response(fixture("query-id-list.xml")).entries[1]

    assert (from_api.arxiv_id, from_api.title, from_api.abstract, from_api.links) == (
        from_feed.arxiv_id,
        from_feed.title,
        from_feed.abstract,
        from_feed.links,
    )


def test_ids_are_batched_by_size_each_once():
    ids = [f"2611.{n:05d}" for n in range(250)] + ["2611.00003"]

    batches = list(id_list_batches(ids, size=100))

    assert [len(b) for b in batches] == [100, 100, 50]
    assert [i for b in batches for i in b] == ids[:250]


def test_no_ids_make_no_batches_and_a_batch_holds_at_least_one():
    assert list(id_list_batches([])) == []
    with pytest.raises(ValueError):
        list(id_list_batches(["2611.00001"], size=0))


def test_query_url_asks_for_every_id_of_a_batch():
    url = query_url("http://export.arxiv.org/", ["2403.01234", "hep-th/9901001"])

    assert url == (
        "http://export.arxiv.org/api/query?id_list=2403.01234,hep-th/9901001&max_results=2"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2403.01234v2", ("2403.01234", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("oai:arXiv.org:2611.23456v1", ("2611.23456", 1)),
        ("http://arxiv.org/abs/cond-mat/0702661v2", ("cond-mat/0702661", 2)),
        ("https://arxiv.org/pdf/2611.23456", ("2611.23456", None)),
        ("oai:arXiv.org:", None),
        ("https://example.org/2611.23456", None),
    ],
)
def test_ids_are_found_in_the_forms_arxiv_writes_them(text, expected):
    assert split_arxiv_id(text) == expected


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+14:00"])
def test_a_date_past_either_end_of_the_calendar_spoils_no_entry(moment: str) -> None:
    data = fixture("query-search-p0.xml").replace(
        b"<published>2026-11-24T15:02:11Z</published>", f"<published>{moment}</published>".encode()
    )
    query = parse_query_response(data)
    assert len(query.entries) == len(parse_query_response(fixture("query-search-p0.xml")).entries)
    assert query.entries[0].published is None  # no announcement day: the day asked for


def test_an_entry_with_a_title_longer_than_any_papers_is_malformed_and_the_rest_kept() -> None:
    data = fixture("query-search-p0.xml")
    first = data.index(b"<title>", data.index(b"<entry>")) + len(b"<title>")
    query = parse_query_response(data[:first] + b"x" * 401 + data[first:])
    (bad,) = query.malformed
    assert bad.reason.startswith("a title of ") and bad.reason.endswith("(at most 400)")
    assert len(query.entries) == len(parse_query_response(data).entries) - 1


@pytest.mark.parametrize("total", ["9" * 5000, "²"], ids=["thousands-of-digits", "superscript"])
def test_a_total_of_results_that_is_no_count_is_left_unknown_not_a_crash(total: str) -> None:
    data = fixture("query-search-p0.xml").replace(
        b">5</opensearch:totalResults>", f">{total}</opensearch:totalResults>".encode()
    )
    query = parse_query_response(data)
    assert query.total is None
    assert query.entries == parse_query_response(fixture("query-search-p0.xml")).entries
