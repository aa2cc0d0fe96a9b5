"""Fetching a source into the store: one paper across sources, re-fetches, all or nothing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from recommender.cli import cli
from recommender.config import Settings
from recommender.core import FetchedDay, PaperQuery, Recommender
from recommender.sources.base import Skipped, SourceDay, SourcePaper, SourceUnavailable
from recommender.store.models import Dump, DumpPaper, Paper
from recommender.store.papers import source_day_hash
from tests.builders import dump_text, entry
from tests.catalogue import EMAIL, topical_day
from tests.clock import Clock, saved_at_the_test_clock
from tests.concurrency import at_once
from tests.loopback import FIXTURES, Reply, Seen, json_file, serving

DAY = date(2026, 3, 20)
MOE = "Sparse Mixture-of-Experts Routing Without Auxiliary Losses"


def daily_papers(request: Seen) -> Reply:
    """Serve the Hugging Face fixture pages by date and page, empty where there is none."""
    if request.path != "/api/daily_papers":
        return Reply(404)
    name = f"{request.query['date']}-p{request.query['p']}.json"
    return json_file("hf", name if (FIXTURES / "hf" / name).exists() else "empty.json")


@pytest.fixture
def fetching(settings: Settings, clock: Clock) -> Iterator[Recommender]:
    """A Recommender whose Hugging Face source is the loopback server."""
    with (
        serving(daily_papers) as (url, _),
        Recommender(dataclasses.replace(settings, hf_api_url=url), clock=clock) as app,
    ):
        yield app


def a_paper(n: int, **fields: object) -> SourcePaper:
    values: dict[str, object] = {
        "source": "hf",
        "title": f"Paper {n}: Learning Things Number {n}",
        "abstract": f"We study problem {n}.",
        "authors": ("Ada Lovelace",),
        "arxiv_id": None,
        "published": date(2026, 3, 18),
        "listed": DAY,
    }
    values.update(fields)
    return SourcePaper(**values)  # type: ignore[arg-type]


def a_day(*papers: SourcePaper, day: date = DAY) -> SourceDay:
    return SourceDay(source="hf", day=day, papers=papers)


def stored(app: Recommender) -> list[Paper]:
    with app._sessions() as session:
        return list(session.scalars(select(Paper).order_by(Paper.title)))


def ingest_dump(app: Recommender, tmp_path: Path, *entries: object) -> None:
    path = tmp_path / "dump.txt"
    path.write_text(dump_text(list(entries)))  # type: ignore[arg-type]
    saved_at_the_test_clock(path)
    assert app.ingest([path]).ok


def test_a_paper_in_a_dump_and_on_hugging_face_is_one_paper_that_links_to_arxiv(
    fetching: Recommender, tmp_path: Path
) -> None:
    ingest_dump(fetching, tmp_path, entry(1, title=MOE, abstract="Routing, briefly."))
    report = fetching.fetch("hf", day=DAY)
    (moe,) = [p for p in fetching.papers(PaperQuery())[0] if p.title == MOE]
    assert moe.arxiv_id == "2603.18101"
    assert moe.read_url == "https://arxiv.org/abs/2603.18101"
    assert moe.hf_page == "https://huggingface.co/papers/2603.18101"
    assert moe.upvotes == 87
    assert {"kind": "code", "url": "https://github.com/example-lab/moe-routing"} in moe.links
    assert (report.papers_new, report.papers_updated) == (1, 1)
    assert report.requests == 1
    assert fetching.stats()["papers"] == 2


def test_a_paper_known_by_its_title_gets_its_arxiv_id_when_a_source_brings_it(
    app: Recommender,
) -> None:
    app.store_source_day(a_day(a_paper(1)))
    later = app.store_source_day(a_day(a_paper(1, arxiv_id="2603.00001"), day=date(2026, 3, 21)))
    (paper,) = stored(app)
    assert paper.arxiv_id == "2603.00001"
    assert (later.papers_new, later.papers_updated) == (0, 1)
    # Found by the id from now on, even under a title written another way.
    app.store_source_day(
        a_day(a_paper(1, arxiv_id="2603.00001", title="Paper 1 - Learning things, no. 1"))
    )
    assert len(stored(app)) == 1


def test_a_refetch_with_new_counts_updates_the_counts_and_nothing_else(app: Recommender) -> None:
    first = app.store_source_day(a_day(a_paper(1, upvotes=3), a_paper(2, upvotes=5)))
    again = app.store_source_day(a_day(a_paper(1, upvotes=3), a_paper(2, upvotes=5)))
    assert again.status == "unchanged"
    assert (again.papers_new, again.papers_updated, again.papers_unchanged) == (0, 0, 2)
    counted = app.store_source_day(a_day(a_paper(1, upvotes=3), a_paper(2, upvotes=9)))
    assert (counted.papers_new, counted.papers_updated, counted.papers_unchanged) == (0, 1, 1)
    assert [p.upvotes for p in stored(app)] == [3, 9]
    with app._sessions() as session:
        # One dump row per source and day, updated in place; each paper listed once in it.
        assert session.scalar(select(func.count()).select_from(Dump)) == 1
        assert session.scalar(select(func.count()).select_from(DumpPaper)) == 2
        (dump,) = session.scalars(select(Dump))
        assert (dump.id, dump.source, dump.file_name) == (first.dump_id, "hf", "hf 2026-03-20")


def test_a_day_fetched_again_with_part_of_its_papers_keeps_counting_them_all(
    app: Recommender,
) -> None:
    """arXiv's results can come out of order: a day stored again with the papers it missed,
    or with fewer than before, still lists (and counts) every paper it listed."""
    app.store_source_day(a_day(a_paper(1), a_paper(2), a_paper(3)))
    app.store_source_day(a_day(a_paper(4)))
    app.store_source_day(a_day(a_paper(2)))
    (info,) = app.dumps()
    assert info.papers == 4
    with app._sessions() as session:
        assert session.scalar(select(func.count()).select_from(DumpPaper)) == 4


def test_a_day_stored_by_an_earlier_version_is_still_recognised_when_fetched_again() -> None:
    # The hash an earlier version stored for this day (it hashed dataclasses.asdict of each
    # paper): a re-fetch of a day already in a database must still count as unchanged.
    day = SourceDay(
        "hf",
        date(2026, 3, 20),
        papers=(
            SourcePaper(
                "hf",
                "Sparse Routing",
                "We route.",
                ("Ada Lovelace", "Alan Turing"),
                "2603.18101",
                date(2026, 3, 18),
                date(2026, 3, 20),
                upvotes=87,
                github_url="https://github.com/x/y",
                github_stars=412,
                page_url="https://huggingface.co/papers/2603.18101",
                keywords=("routing", "moe"),
            ),
            SourcePaper("hf", "Élan: A Title", "", (), None, None, date(2026, 3, 20)),
        ),
    )
    expected = "c66b6503a91f69c82de97a7f55499778af0cb1cbe68298f85cb2272b30df7699"
    assert source_day_hash(day) == expected


def test_a_malformed_item_is_skipped_and_counted_and_the_rest_of_the_day_stored(
    fetching: Recommender,
) -> None:
    report = fetching.fetch("hf", day=DAY)
    assert report.skipped == [Skipped("page 0 item 1 (2603.17777)", "no title")]
    assert report.papers_new == 2
    assert {p.arxiv_id for p in stored(fetching)} == {"2603.18101", "2603.18222"}


def test_a_title_already_held_by_another_arxiv_paper_is_skipped_with_the_reason(
    app: Recommender,
) -> None:
    app.store_source_day(a_day(a_paper(1, arxiv_id="2603.00001")))
    done = app.store_source_day(
        a_day(a_paper(1, arxiv_id="2603.00009"), a_paper(2), day=date(2026, 3, 21))
    )
    assert [s.item for s in done.skipped] == ["2603.00009"]
    assert "2603.00001" in done.skipped[0].reason
    assert done.papers_new == 1


def test_a_day_that_cannot_be_stored_leaves_nothing(app: Recommender) -> None:
    app.init()
    # The last write of a day (which papers it listed) fails after the dump row and the papers
    # were written: none of them may stay.
    with app.engine.begin() as connection:
        connection.execute(text("DROP TABLE dump_papers"))
    with pytest.raises(Exception):  # noqa: B017 (the database's own error, which differs)
        app.store_source_day(a_day(a_paper(1), a_paper(2)))
    with app.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM papers")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM dumps")).scalar() == 0


def test_fetching_a_source_that_fails_says_so_in_one_line(settings: Settings, clock: Clock) -> None:
    with (
        serving(lambda request: Reply(404)) as (url, _),
        Recommender(dataclasses.replace(settings, hf_api_url=url), clock=clock) as app,
        pytest.raises(SourceUnavailable) as raised,
    ):
        app.fetch("hf", day=DAY)
    assert "\n" not in str(raised.value)
    assert url in str(raised.value)


def test_the_digest_links_a_fetched_paper_to_its_arxiv_page(fetching: Recommender) -> None:
    fetching.fetch("hf", day=DAY)
    fetching.clock = lambda: datetime(2026, 3, 21, 8, tzinfo=UTC)
    (info,) = [p for p in fetching.papers(PaperQuery())[0] if p.arxiv_id == "2603.18222"]
    assert info.read_url == "https://arxiv.org/abs/2603.18222"


def cli_env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "RECOMMENDER_HOME": str(tmp_path / "home"),
        "RECOMMENDER_HF_API_URL": url,
    }


def test_the_fetch_command_stores_a_day_and_says_what_it_did(tmp_path: Path) -> None:
    with serving(daily_papers) as (url, seen):
        env = cli_env(tmp_path, url)
        result = CliRunner().invoke(cli, ["fetch", "--date", "2026-03-20"], env=env)
        again = CliRunner().invoke(cli, ["fetch", "--date", "2026-03-20", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert "hf 2026-03-20: 2 new, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert "skipped page 0 item 1 (2603.17777): no title" in result.output
    assert "recommender/" in seen[0].headers["user-agent"]
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output)
    assert summary["days"][0]["status"] == "unchanged"
    assert (summary["papers_new"], summary["papers_unchanged"]) == (0, 2)


def test_the_fetch_command_reports_a_failing_source_in_one_line(tmp_path: Path) -> None:
    with serving(lambda request: Reply(404)) as (url, _):
        result = CliRunner().invoke(cli, ["fetch"], env=cli_env(tmp_path, url))
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and url in line


@pytest.mark.parametrize("option", ["--date", "--since"])
def test_fetching_a_day_after_today_is_refused_as_a_usage_error_before_any_request(
    tmp_path: Path, option: str
) -> None:
    # two days ahead: still ahead if midnight (UTC) passes while the test runs
    ahead = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    with serving(daily_papers) as (url, seen):
        result = CliRunner().invoke(cli, ["fetch", option, ahead], env=cli_env(tmp_path, url))
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': {ahead} is after today (" in result.output
    assert "no source lists that day yet" in result.output
    assert seen == []


def test_fetching_today_is_not_refused(fetching: Recommender, clock: Clock) -> None:
    report = fetching.fetch("hf", day=clock().date())
    assert [fetched.day for fetched in report.days] == [clock().date()]


def test_a_digest_links_a_paper_whose_arxiv_id_a_source_brought_to_its_arxiv_page(
    app: Recommender, tmp_path: Path
) -> None:
    topical_day(app, tmp_path)
    best = app.recommend(EMAIL, top=1)[0].title
    app.store_source_day(a_day(a_paper(0, title=best, arxiv_id="2603.09999")))
    _, path = app.preview(EMAIL)
    assert path is not None
    assert 'href="https://arxiv.org/abs/2603.09999"' in path.read_text()


def test_two_fetches_of_one_day_at_once_keep_one_row_for_the_day(app: Recommender) -> None:
    listings = iter(
        [
            a_day(a_paper(1, arxiv_id="2603.00001", upvotes=3)),
            a_day(a_paper(1, arxiv_id="2603.00001", upvotes=5), a_paper(2)),
        ]
    )

    def store(ready: Callable[[], None]) -> FetchedDay:
        listing = next(listings)
        ready()
        return app.store_source_day(listing)

    at_once(store)
    with app._sessions() as session:
        (day,) = session.scalars(select(Dump).where(Dump.source == "hf")).all()
        listed = session.scalar(select(func.count()).where(DumpPaper.dump_id == day.id))
        assert (day.file_name, listed) == ("hf 2026-03-20", 2)
        # A second row for the day is refused by the database itself, whoever writes it.
        session.add(
            Dump(
                source="hf",
                file_name="hf 2026-03-20",
                content_hash="0" * 64,
                listing_date=DAY,
                year_rule="source",
                ingested_at=datetime(2026, 3, 21, tzinfo=UTC),
                papers_total=0,
                papers_new=0,
                papers_updated=0,
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()
