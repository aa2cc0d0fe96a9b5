"""The database layer: migrations, first use, URLs and timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.orm import Session

from recommender.config import Settings
from recommender.core import PaperQuery, Recommender
from recommender.features import FeatureSpace
from recommender.store import database, vectors
from recommender.store.catalogue import sample_papers
from recommender.store.models import Base, Paper
from tests.builders import dump_text, entry
from tests.clock import saved_at_the_test_clock


def test_first_use_creates_the_schema_by_itself(app: Recommender) -> None:
    assert app.stats()["papers"] == 0
    assert {"papers", "dumps", "dump_papers", "alembic_version"} <= set(
        inspect(app.engine).get_table_names()
    )


def test_init_creates_then_reports_up_to_date(app: Recommender) -> None:
    assert app.init() is True
    assert app.init() is False


def test_the_models_and_the_migrations_describe_the_same_schema(app: Recommender) -> None:
    app.init()
    with app.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_a_schema_newer_than_the_code_is_refused(app: Recommender) -> None:
    app.init()
    with app.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with (
        Recommender(app.settings) as newer,
        pytest.raises(database.SchemaError, match="newer than"),
    ):
        newer.stats()


def test_timestamps_come_back_in_utc(app: Recommender, tmp_path) -> None:  # type: ignore[no-untyped-def]

    path = tmp_path / "a.txt"
    path.write_text(dump_text([entry(1)]))
    saved_at_the_test_clock(path)
    app.clock = lambda: datetime(2026, 3, 21, 9, 30, tzinfo=UTC)
    app.ingest([path])
    (paper,) = app.papers(PaperQuery())[0]
    assert paper.first_seen_at == datetime(2026, 3, 21, 9, 30, tzinfo=UTC)


def test_plain_postgresql_urls_use_the_installed_driver() -> None:
    assert database.normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database.normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database.normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database.normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_the_sqlite_file_and_its_folder_are_made_on_first_use(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'deep' / 'er' / 'r.db'}"
    )
    with Recommender(settings) as app:
        app.init()
    assert (tmp_path / "deep" / "er" / "r.db").exists()


def _add_old_dump_and_paper(connection: Connection) -> None:
    """Dump 1 and paper ``p1``, written as a schema before 0005 holds them."""
    connection.execute(
        text(
            "INSERT INTO dumps (id, file_name, content_hash, listing_date, year_rule,"
            " ingested_at, papers_total, papers_new, papers_updated)"
            " VALUES (1, 'a.txt', 'h', '2026-03-20', 'r', '2026-03-21', 1, 1, 0)"
        )
    )
    connection.execute(
        text(
            "INSERT INTO papers (id, title, abstract, links, first_seen_at, updated_at,"
            " first_dump_id) VALUES ('p1', 'T', 'A', '[]', '2026-03-21', '2026-03-21', 1)"
        )
    )


def test_upgrading_the_schema_keeps_every_subscriber_and_rating(
    settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with Recommender(settings) as old:
        database.migrate(old.engine, "0003")
        path = tmp_path / "a.txt"
        path.write_text(dump_text([entry(1), entry(2)]))
        with old.engine.begin() as connection:
            _add_old_dump_and_paper(connection)
            connection.execute(
                text(
                    "INSERT INTO subscribers (id, email, name, interests, about, liked, schedule,"
                    " timezone, digest_size, paused, active, created_at, updated_at)"
                    " VALUES (1, 'ada@example.org', '', '[]', '', '[]', 'daily 07:30', 'UTC',"
                    " 10, false, true, '2026-03-21', '2026-03-21')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO ratings (subscriber_id, paper_id, vote, source, rated_at)"
                    " VALUES (1, 'p1', 1, 'cli', '2026-03-21')"
                )
            )
    with Recommender(settings) as new:
        assert new.init() is True
        assert [(r.paper_id, r.vote) for r in new.ratings("ada@example.org")] == [("p1", "up")]
        assert new.subscriber("ada@example.org").explore is True


def test_upgrading_to_sources_keeps_every_paper_and_marks_old_dumps_as_dumps(
    settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with Recommender(settings) as old:
        database.migrate(old.engine, "0004")
        with old.engine.begin() as connection:
            _add_old_dump_and_paper(connection)
    with Recommender(settings) as new:
        assert new.init() is True
        assert [(d.id, d.file_name) for d in new.dumps()] == [(1, "a.txt")]
        paper = new.paper("p1")
        assert (paper.title, paper.arxiv_id, paper.hf_page) == ("T", None, None)
        with new.engine.connect() as connection:
            assert connection.execute(text("SELECT source FROM dumps")).scalar_one() == "dump"


def test_upgrading_names_the_tokenizer_of_spaces_stored_before_it_was_kept(
    settings: Settings,
) -> None:
    old_space = FeatureSpace.words_only(tokenizer="w1")
    stored = old_space.to_dict()
    del stored["tokenizer"]  # as versions before character grams wrote it
    with Recommender(settings) as old:
        database.migrate(old.engine, "0006")
        with old.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO feature_spaces (id, definition, current, created_at,"
                    " papers_at_creation) VALUES (:id, :definition, true, '2026-03-21', 0)"
                ),
                {"id": stored["id"], "definition": json.dumps(stored)},
            )
    with Recommender(settings) as new:
        assert new.init() is True
        with Session(new.engine) as session:
            definition = vectors.current_space(session)
    assert definition is not None
    assert FeatureSpace.from_dict(definition).id == old_space.id


def test_upgrading_to_named_interests_keeps_a_profile_as_its_one_unnamed_interest(
    settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with Recommender(settings) as old:
        database.migrate(old.engine, "0006")
        with old.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO subscribers (id, email, name, interests, about, liked, schedule,"
                    " timezone, digest_size, paused, explore, active, created_at, updated_at)"
                    " VALUES (1, 'ada@example.org', '', '[\"graphs\"]', '', '[\"A paper\"]',"
                    " 'daily 07:30', 'UTC', 10, false, true, true, '2026-03-21', '2026-03-21')"
                )
            )
    with Recommender(settings) as new:
        assert new.init() is True
        info = new.subscriber("ada@example.org")
        assert (info.interests, info.liked) == (["graphs"], ["A paper"])
        assert (info.topics, info.authors, info.must_not) == ([], [], [])


def test_a_sources_author_names_are_kept_and_the_newest_list_wins(app: Recommender) -> None:
    from recommender.sources.base import SourceDay, SourcePaper
    from recommender.store.models import Paper
    from recommender.store.papers import add_source_day

    day = datetime(2026, 3, 21, tzinfo=UTC)
    app.init()

    def fetch(authors: tuple[str, ...], upvotes: int) -> list[str] | None:
        paper = SourcePaper("hf", "T", "A.", authors, "2603.00001", None, day.date(), upvotes)
        with app._sessions() as session, session.begin():
            add_source_day(session, SourceDay("hf", day.date(), papers=(paper,)), day)
        with app._sessions() as session:
            return session.query(Paper.author_names).scalar()

    assert fetch(("Ada Lovelace", "Jürgen Müller"), 1) == ["Ada Lovelace", "Jürgen Müller"]
    assert fetch(("Ada Lovelace",), 2) == ["Ada Lovelace"]
    assert fetch((), 3) == ["Ada Lovelace"]  # a listing without names forgets none


def test_weak_negatives_are_a_reproducible_sample_of_the_catalogue_without_the_excluded(
    app: Recommender, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.txt"
    path.write_text(dump_text([entry(i) for i in range(60)]))
    saved_at_the_test_clock(path)
    app.ingest([path])
    with Session(app.engine) as session:

        def sample_paper_ids(n: int, excluded: set[str], seed: int) -> list[str]:
            return [p.id for p in sample_papers(session, n, excluded, seed)]

        ids = set(session.scalars(select(Paper.id)))
        excluded = set(sorted(ids)[::3])
        draws = [sample_paper_ids(10, excluded, seed) for seed in range(200)]
        assert draws[7] == sample_paper_ids(10, excluded, 7)  # same seed, same sample
        assert all(len(d) == len(set(d)) == 10 and not set(d) & excluded for d in draws)
        # seeds start the sample at other papers (a run of id order: at most one sample per
        # paper not excluded, 40 here)
        assert len({tuple(d) for d in draws}) >= 30
        assert set().union(*draws) == ids - excluded  # every other paper can be drawn
        # a catalogue smaller than the sample: every paper not excluded
        assert set(sample_paper_ids(100, excluded, 3)) == ids - excluded
        assert sample_paper_ids(0, excluded, 3) == []
