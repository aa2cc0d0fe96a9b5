"""The result records' one JSON form, and the errors' one base."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from recommender import config, dumps, embeddings, links, mailer, profiles, ratings_io
from recommender.errors import NotFound, RecommenderError
from recommender.results import FetchedDay, FetchReport, FileOutcome, IngestReport, to_json
from recommender.sources.base import Skipped, SourceError
from recommender.store import database, digests, papers, subscribers


def test_a_record_is_its_fields_with_dates_in_iso_and_paths_as_text() -> None:
    day = FetchedDay(
        "hf", date(2026, 3, 20), "fetched", 2, skipped=(Skipped("item 3", "no title"),)
    )
    assert to_json(day) == {
        "source": "hf",
        "day": "2026-03-20",
        "status": "fetched",
        "papers_new": 2,
        "papers_updated": 0,
        "papers_unchanged": 0,
        "skipped": [{"item": "item 3", "reason": "no title"}],
        "requests": 0,
        "dump_id": None,
    }
    assert to_json({"at": datetime(2026, 3, 20, 7, tzinfo=UTC), "in": Path("/x")}) == {
        "at": "2026-03-20T07:00:00+00:00",
        "in": "/x",
    }


def test_a_report_prints_its_summary_with_its_records_inside() -> None:
    refused = FileOutcome(Path("/in/bad.txt"), "refused", "bad.txt: not a dump")
    good = FileOutcome(Path("/in/good.txt"), "ingested", dump_id=1, papers_new=3)
    data = to_json(IngestReport([refused, good]))
    assert data["files"] == 2 and data["ingested"] == 1 and data["papers_new"] == 3
    assert data["refused"] == [{"path": "/in/bad.txt", "error": "bad.txt: not a dump"}]
    assert [f["path"] for f in data["per_file"]] == ["/in/bad.txt", "/in/good.txt"]
    assert (
        to_json(FetchReport("hf", [FetchedDay("hf", date(2026, 3, 20), "fetched")]))["skipped"] == 0
    )
    assert json.loads(json.dumps(data)) == data == IngestReport([refused, good]).to_dict()


def test_a_value_without_a_json_form_is_refused_not_printed_as_its_repr() -> None:
    with pytest.raises(TypeError, match="bytes"):
        to_json({"message": b"raw"})


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (config.ConfigError, ValueError),
        (dumps.DumpError, ValueError),
        (profiles.ProfileError, ValueError),
        (ratings_io.RatingsFileError, ValueError),
        (links.TokenExpired, ValueError),
        (embeddings.EmbeddingsUnavailable, RuntimeError),
        (database.DatabaseUnusable, RuntimeError),
        (database.SchemaError, RuntimeError),
        (papers.PaperNotFound, LookupError),
        (subscribers.SubscriberNotFound, LookupError),
        (digests.DigestNotFound, LookupError),
        (mailer.TransientDeliveryError, Exception),
        (SourceError, Exception),
    ],
)
def test_every_expected_error_is_a_recommender_error_and_keeps_its_builtin_base(
    error: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(error, RecommenderError) and issubclass(error, builtin)
    assert issubclass(error, NotFound) == issubclass(error, LookupError)
