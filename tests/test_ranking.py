"""Recommending papers to a subscriber: on a real database, through the facade and the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, func, insert, make_url, select, update
from sqlalchemy.orm import Session

from recommender import features, model, ranking
from recommender.config import Settings
from recommender.core import Recommender
from recommender.dumps import paper_id
from recommender.features import paper_term_texts
from recommender.ratings_io import RatingRecord
from recommender.reading import title_search_url
from recommender.sources.base import SourceDay, SourcePaper
from recommender.store.models import Paper, StoredEmbedding, StoredUserModel, StoredWordCounts
from recommender.store.papers import PaperQuery, add_source_day
from tests.builders import Entry, dump_text
from tests.catalogue import ABSTRACTS, EMAIL, TOPICS, profile, topical_dump
from tests.clock import Clock
from tests.commands import cli_env, invoke, run
from tests.concurrency import at_once


@pytest.fixture
def catalogue(app: Recommender, tmp_path: Path) -> Recommender:
    app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
    app.subscribe(profile(tmp_path))
    return app


def topic_of(title: str) -> str:
    return next(topic for topic, titles in TOPICS.items() if title in titles)


def test_a_subscriber_without_ratings_is_ranked_by_their_profile(catalogue: Recommender) -> None:
    found = catalogue.recommend(EMAIL, top=3)
    assert [topic_of(r.title) for r in found] == ["graphs"] * 3
    assert found[0].score >= found[1].score >= found[2].score


def test_a_recommendation_says_what_share_of_the_new_papers_it_ranks_above(
    catalogue: Recommender, settings: Settings
) -> None:
    found = catalogue.recommend(EMAIL, top=9)  # the whole catalogue: nine papers
    assert [r.beats for r in found] == [(8 - n) / 8 for n in range(9)]
    assert {r.among for r in found} == {9}
    shown = invoke("recommend", EMAIL, "--top", "2", env=cli_env(settings))
    assert "Your best match of 9 new papers" in shown.output  # worded as the email words it
    assert "Ranks 2nd of 9 new papers for you" in shown.output  # beats 7 of 8
    assert f"{found[0].score:+.3f}" not in shown.output  # no raw margin, often negative


def test_the_share_beaten_counts_ties_as_beating_neither() -> None:
    beaten = ranking.share_beaten(np.array([0.5, -0.2, 0.5, -1.0]))
    assert beaten.tolist() == [2 / 3, 1 / 3, 2 / 3, 0.0]
    assert ranking.share_beaten(np.array([-3.0])).tolist() == [0.0]


def test_recommendations_leave_out_rated_papers(catalogue: Recommender) -> None:
    first = catalogue.recommend(EMAIL, top=1)[0]
    catalogue.rate(EMAIL, first.id, "down")
    assert first.id not in {r.id for r in catalogue.recommend(EMAIL, top=20)}
    assert len(catalogue.recommend(EMAIL, top=20)) == 8


def test_a_withdrawn_rating_puts_the_paper_back_among_the_recommendations(
    catalogue: Recommender, clock: Clock
) -> None:
    first = catalogue.recommend(EMAIL, top=1)[0]
    catalogue.rate(EMAIL, first.id, "down")
    clock.now += timedelta(minutes=1)
    catalogue.rate(EMAIL, first.id, "clear")
    assert first.id in {r.id for r in catalogue.recommend(EMAIL, top=20)}
    assert len(catalogue.recommend(EMAIL, top=20)) == 9


def test_a_paper_liked_in_the_profile_is_never_recommended_back(
    catalogue: Recommender, tmp_path: Path
) -> None:
    liked = TOPICS["graphs"][0]
    path = profile(tmp_path)
    path.write_text(path.read_text() + f'liked = ["{liked.upper()}"]\n')
    catalogue.subscribe(path)
    found = [r.title for r in catalogue.recommend(EMAIL, top=20)]
    assert liked not in found and len(found) == 8
    assert topic_of(found[0]) == "graphs"  # its topic still counts for the subscriber


def test_a_paper_close_to_one_liked_in_the_profile_says_so_and_one_rated_up_says_that(
    catalogue: Recommender, tmp_path: Path, settings: Settings, clock: Clock
) -> None:
    liked, rated = TOPICS["graphs"][0], TOPICS["speech"][0]
    path = profile(tmp_path)
    path.write_text(path.read_text() + f'liked = ["{liked}"]\n')
    catalogue.subscribe(path)
    catalogue.rate(EMAIL, rated, "up")
    clock.now += timedelta(minutes=1)
    shown = invoke("recommend", EMAIL, "--top", "20", env=cli_env(settings)).output
    assert f"close to “{liked}” (in your profile)" in shown
    assert f"close to “{liked}” (you rated up)" not in shown
    assert f"close to “{rated}” (you rated up)" in shown


def test_a_thumbs_up_lifts_papers_like_it(catalogue: Recommender, clock: Clock) -> None:
    before = {r.title: r.score for r in catalogue.recommend(EMAIL, top=20)}
    liked = TOPICS["speech"][0]
    catalogue.rate(EMAIL, liked, "up")
    clock.now += timedelta(minutes=1)
    after = {r.title: r.score for r in catalogue.recommend(EMAIL, top=20)}
    speech_gain = min(after[t] - before[t] for t in TOPICS["speech"][1:])
    vision_gain = max(after[t] - before[t] for t in TOPICS["vision"])
    assert speech_gain > vision_gain
    ranked = [topic_of(t) for t in sorted(after, key=after.get, reverse=True)]
    assert ranked.index("speech") < ranked.index("vision")


def test_a_thumbs_down_pushes_papers_like_it_down(catalogue: Recommender) -> None:
    before = {r.title: r.score for r in catalogue.recommend(EMAIL, top=20)}
    catalogue.rate(EMAIL, TOPICS["graphs"][0], "down")
    after = {r.title: r.score for r in catalogue.recommend(EMAIL, top=20)}
    graph_change = max(after[t] - before[t] for t in TOPICS["graphs"][1:])
    vision_change = min(after[t] - before[t] for t in TOPICS["vision"])
    assert graph_change < vision_change


def test_every_reason_term_occurs_in_its_paper(catalogue: Recommender) -> None:
    catalogue.rate(EMAIL, TOPICS["graphs"][0], "up")
    found = catalogue.recommend(EMAIL, top=5)
    assert any(r.terms for r in found)
    for r in found:
        paper = catalogue.paper(r.id)
        text = f"{paper.title} {paper.abstract}".lower()
        for term in r.terms:
            assert re.search(r"[\s-]+".join(map(re.escape, term.lower().split())), text), term
        assert r.reasons


def test_the_most_similar_rated_paper_is_named(catalogue: Recommender) -> None:
    catalogue.rate(EMAIL, TOPICS["speech"][0], "up")
    catalogue.rate(EMAIL, TOPICS["graphs"][0], "up")
    by_title = {r.title: r for r in catalogue.recommend(EMAIL, top=20)}
    assert by_title[TOPICS["speech"][2]].similar_to == TOPICS["speech"][0]
    assert by_title[TOPICS["graphs"][2]].similar_to == TOPICS["graphs"][0]


def test_since_keeps_papers_first_listed_from_that_date(
    catalogue: Recommender, tmp_path: Path, clock: Clock
) -> None:
    later = tmp_path / "later.txt"
    later.write_text(
        dump_text([Entry("Graph Transformers Revisited", ABSTRACTS["graphs"])], "Mar 25")
    )
    clock.now += timedelta(days=5)  # the day it was saved: a dump is not dated ahead
    catalogue.ingest([later], reference_date=date(2026, 3, 26))
    found = catalogue.recommend(EMAIL, since=date(2026, 3, 22))
    assert [r.title for r in found] == ["Graph Transformers Revisited"]


def test_a_rating_retrains_the_model_at_once(catalogue: Recommender) -> None:
    catalogue.rate(EMAIL, TOPICS["vision"][0], "up")
    with catalogue.engine.connect() as connection:
        stored = connection.execute(select(StoredUserModel)).one()
    trained = model.UserModel.from_bytes(stored.model)
    assert (trained.n_up, trained.n_down, stored.ratings_seen) == (1, 0, 1)


def stored_model(app: Recommender) -> tuple[model.UserModel, int]:
    with app.engine.connect() as connection:
        stored = connection.execute(select(StoredUserModel)).one()
    return model.UserModel.from_bytes(stored.model), stored.ratings_seen


def test_a_vote_that_is_all_a_fresh_model_lacks_changes_it_in_place_as_a_training_would(
    catalogue: Recommender,
) -> None:
    catalogue.rate(EMAIL, TOPICS["vision"][0], "down")  # no model yet: trained in full
    catalogue.rate(EMAIL, TOPICS["speech"][0], "down")
    in_place, seen = stored_model(catalogue)
    assert in_place.centroids is not None and in_place.centroids.updates == 1
    assert (in_place.n_down, seen) == (2, 2)
    catalogue.retrain(EMAIL)
    trained, _ = stored_model(catalogue)
    # the catalogue's nine papers are every training's weak negatives, so the two agree
    assert trained.centroids is not None and trained.centroids.updates == 0
    np.testing.assert_allclose(in_place.weights, trained.weights, atol=1e-5)
    assert in_place.bias == pytest.approx(trained.bias, abs=1e-5)


def test_a_model_takes_so_many_votes_in_place_then_the_next_trains_it_afresh(
    catalogue: Recommender,
) -> None:
    paper = TOPICS["speech"][1]
    taken = []
    for vote in ["up", "down"] * (ranking.UPDATES_BETWEEN_TRAININGS + 1):
        catalogue.rate(EMAIL, paper, vote)
        m, _ = stored_model(catalogue)
        assert m.centroids is not None
        taken.append(m.centroids.updates)
    rounds = ranking.UPDATES_BETWEEN_TRAININGS + 1
    assert taken == [*range(rounds), *range(rounds)]
    assert (m.n_up, m.n_down) == (0, 1)


def test_a_vote_on_a_model_that_lacks_more_than_that_vote_trains_it_in_full(
    catalogue: Recommender, clock: Clock
) -> None:
    catalogue.rate(EMAIL, TOPICS["vision"][0], "up")
    earlier = clock() - timedelta(days=1)
    imported = RatingRecord(paper_id(TOPICS["speech"][0]), "", "down", "import", earlier)
    catalogue.import_ratings(EMAIL, [imported])  # stored, not learnt: the model is stale
    catalogue.rate(EMAIL, TOPICS["vision"][1], "up")
    m, seen = stored_model(catalogue)
    assert m.centroids is not None and m.centroids.updates == 0
    assert (m.n_up, m.n_down, seen) == (2, 1, 3)


def test_votes_racing_from_many_connections_are_each_learnt_once(
    catalogue: Recommender, settings: Settings, clock: Clock
) -> None:
    titles = iter([t for topic in ("vision", "speech", "graphs") for t in TOPICS[topic][:2]])

    def work(ready) -> None:  # type: ignore[no-untyped-def]
        mine = [next(titles), next(titles)]
        with Recommender(settings, clock=clock) as app:
            ready()
            for title in mine:
                app.rate(EMAIL, title, "down")

    at_once(work, count=3)
    # A training that read fewer votes may be stored last: its mark says so, and the next use
    # retrains it. A model marked fresh must hold every vote once, as a training does.
    catalogue.recommend(EMAIL, top=1)
    raced, seen = stored_model(catalogue)
    assert (raced.n_up, raced.n_down, seen) == (0, 6, 6)
    catalogue.retrain(EMAIL)
    trained, _ = stored_model(catalogue)  # thumbs-down stay among the weak negatives: the same
    np.testing.assert_allclose(raced.weights, trained.weights, atol=1e-5)
    assert raced.bias == pytest.approx(trained.bias, abs=1e-5)


def test_a_training_is_marked_with_every_rating_given_clears_included(
    catalogue: Recommender,
) -> None:
    marks = []
    for paper, vote in [
        (TOPICS["vision"][0], "up"),
        (TOPICS["vision"][0], "clear"),  # no current rating left
        (TOPICS["speech"][0], "down"),
    ]:
        catalogue.rate(EMAIL, paper, vote)
        catalogue.retrain(EMAIL)
        m, seen = stored_model(catalogue)
        marks.append((m.n_up, m.n_down, seen))
    assert marks == [(1, 0, 1), (0, 0, 2), (0, 1, 3)]


@pytest.mark.parametrize(
    "unreadable",
    [b"", b"\x00\xff garbage", b'{"format": 9}\n', b'{"format": 3, "dim": 4}\n\x00'],
    ids=["empty", "garbage", "newer format", "truncated"],
)
def test_a_stored_model_that_cannot_be_read_is_trained_afresh_not_an_error(
    catalogue: Recommender, unreadable: bytes
) -> None:
    def spoil() -> None:
        with catalogue.engine.begin() as connection:
            connection.execute(update(StoredUserModel).values(model=unreadable))

    catalogue.rate(EMAIL, TOPICS["vision"][0], "up")
    spoil()
    catalogue.rate(EMAIL, TOPICS["vision"][1], "up")  # a vote trains it afresh
    assert stored_model(catalogue)[0].n_up == 2
    spoil()
    assert catalogue.recommend(EMAIL, top=1)  # and so does ranking
    m, seen = stored_model(catalogue)
    assert (m.n_up, seen) == (2, 2)


def test_models_of_an_old_feature_space_are_retrained_not_reused(
    catalogue: Recommender, clock: Clock
) -> None:
    catalogue.rate(EMAIL, TOPICS["vision"][0], "up")
    with catalogue.engine.connect() as connection:
        old_space = connection.execute(select(StoredUserModel.feature_space_id)).scalar_one()
    current = catalogue._space(refit=True)
    # The stored model says it was trained in another space (an older tokenizer's): it must
    # be retrained in the current one, not scored as if its weights meant the same features.
    with catalogue.engine.begin() as connection:
        connection.execute(update(StoredUserModel).values(feature_space_id="words-w1-h15"))
    catalogue.recommend(EMAIL)
    with catalogue.engine.connect() as connection:
        (space_id,) = connection.execute(select(StoredUserModel.feature_space_id)).one()
    assert current.id != "words-w1-h15" and space_id == current.id
    assert old_space.split("+")[-1].startswith("words-")


def test_a_model_trained_by_an_older_recipe_is_retrained_not_reused(
    catalogue: Recommender,
) -> None:
    catalogue.recommend(EMAIL)  # trains and stores the model
    with catalogue.engine.begin() as connection:
        stored = connection.execute(select(StoredUserModel.model)).scalar_one()
        old = model.UserModel.from_bytes(stored)
        assert old.recipe == model.TRAINING_RECIPE
        # as stored before interest phrases were weighed as queries: no recipe in it
        old.recipe = 0
        connection.execute(update(StoredUserModel).values(model=old.to_bytes()))
    catalogue.recommend(EMAIL)
    with catalogue.engine.connect() as connection:
        stored = connection.execute(select(StoredUserModel.model)).scalar_one()
    assert model.UserModel.from_bytes(stored).recipe == model.TRAINING_RECIPE


def test_evaluate_needs_two_ups_and_two_downs(catalogue: Recommender) -> None:
    catalogue.rate(EMAIL, TOPICS["graphs"][0], "up")
    with pytest.raises(ValueError, match="at least 2 thumbs up and 2 thumbs down"):
        catalogue.evaluate(EMAIL)


def test_evaluate_shows_the_model_learning_a_taste(catalogue: Recommender) -> None:
    for title in TOPICS["speech"]:
        catalogue.rate(EMAIL, title, "up")
    for title in TOPICS["vision"]:
        catalogue.rate(EMAIL, title, "down")
    info = catalogue.evaluate(EMAIL)
    assert (info.evaluation.n_up, info.evaluation.n_down) == (3, 3)
    assert info.evaluation.auc == 1.0
    assert info.to_dict()["feature_space"] == info.feature_space


def test_evaluate_says_in_plain_words_what_its_figure_means(
    catalogue: Recommender, settings: Settings
) -> None:
    for title in TOPICS["speech"]:
        catalogue.rate(EMAIL, title, "up")
    for title in TOPICS["vision"]:
        catalogue.rate(EMAIL, title, "down")
    shown = invoke("evaluate", EMAIL, env=cli_env(settings))
    assert shown.exit_code == 0, shown.output
    assert "ranks the one you liked higher 100% of the time" in shown.output
    assert "50% is a coin toss" in shown.output
    assert "accuracy" not in shown.output  # a threshold figure, misleading with few ratings
    data = json.loads(invoke("evaluate", EMAIL, "--json", env=cli_env(settings)).output)
    assert data["auc"] == 1.0 and 0 <= data["accuracy"] <= 1


def test_a_paper_with_an_arxiv_link_is_read_on_arxiv_and_keeps_its_code_link(
    app: Recommender, tmp_path: Path
) -> None:
    abstract = (
        "Graph neural networks for molecules. Paper: https://arxiv.org/abs/2603.01234v2 "
        "Code: https://github.com/lab/gnn."
    )
    dump = tmp_path / "d.txt"
    dump.write_text(dump_text([Entry("Graph Neural Networks for Molecules", abstract)]))
    app.ingest([dump], reference_date=date(2026, 3, 21))
    app.subscribe(profile(tmp_path))
    (found,) = app.recommend(EMAIL, top=1)
    shown = app.paper(found.id)
    assert found.read_url == shown.read_url == "https://arxiv.org/abs/2603.01234"
    assert found.to_dict()["read_url"] == shown.to_dict()["read_url"] == found.read_url
    assert {"kind": "code", "url": "https://github.com/lab/gnn"} in shown.links


def test_recommend_on_the_command_line_prints_json_best_first(
    database_url: str, tmp_path: Path
) -> None:
    env = {"RECOMMENDER_DATABASE_URL": database_url, "RECOMMENDER_HOME": str(tmp_path / "h")}
    dump = topical_dump(tmp_path / "d.txt")
    assert run("ingest", "--date", "2026-03-21", str(dump), env=env).returncode == 0
    assert run("subscribe", str(profile(tmp_path, '"speech recognition"')), env=env).returncode == 0
    result = run("recommend", EMAIL, "--top", "3", "--json", env=env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [topic_of(r["title"]) for r in found] == ["speech"] * 3
    assert {"id", "title", "score", "reasons"} <= set(found[0])
    assert [r["read_url"] for r in found] == [title_search_url(r["title"]) for r in found]
    assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)
    result = run("evaluate", EMAIL, env=env)
    assert result.returncode == 1
    assert "at least 2 thumbs up" in result.stderr


@pytest.mark.parametrize("embedding_model", [model.DEFAULT_MODEL, "wordllama"])
def test_embeddings_are_computed_once_and_stored(
    settings: Settings, tmp_path: Path, embedding_model: str
) -> None:
    if not model.embeddings_available(embedding_model):
        pytest.skip(f"needs what embeds with {embedding_model}")
    with Recommender(replace(settings, embedding_model=embedding_model)) as app:
        app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
        app.subscribe(profile(tmp_path, '"speech recognition"'))
        found = app.recommend(EMAIL, top=3)
        assert [topic_of(r.title) for r in found] == ["speech"] * 3
        assert app._space().has_embeddings
        with app.engine.connect() as connection:
            stored = connection.scalar(select(func.count()).select_from(StoredEmbedding))
        assert stored >= 9  # every paper, and the profile's phrase
        assert app.embed_papers() == 0
        app.recommend(EMAIL, top=3)
        with app.engine.connect() as connection:
            again = connection.scalar(select(func.count()).select_from(StoredEmbedding))
        assert again == stored


def test_recommend_keeps_each_papers_word_counts_and_a_new_process_ranks_the_same_by_them(
    catalogue: Recommender,
) -> None:
    first = catalogue.recommend(EMAIL, top=9)
    space = catalogue._space()
    with catalogue.engine.connect() as connection:
        kept = connection.execute(select(StoredWordCounts.block, StoredWordCounts.text_hash)).all()
        texts = connection.execute(select(Paper.title, Paper.abstract)).all()
    assert {block for block, _ in kept} == {space.counts_key}
    assert {h for _, h in kept} == {ranking.text_hash(t, a) for t, a in texts}
    with Recommender(catalogue.settings) as again:  # another process: nothing in memory
        found = again.recommend(EMAIL, top=9)
    assert [r.id for r in found] == [r.id for r in first]
    np.testing.assert_allclose([r.score for r in found], [r.score for r in first], rtol=1e-5)


def test_a_ranking_reads_the_kept_word_counts_and_only_those_of_how_it_counts_now(
    catalogue: Recommender,
) -> None:
    catalogue.recommend(EMAIL, top=1)
    space, ranker = catalogue._space(), catalogue.ranker
    with catalogue.engine.begin() as connection:
        (a, b), (c, _) = connection.execute(
            select(Paper.title, Paper.abstract).order_by(Paper.id).limit(2)
        ).all()
        kept = {row.text_hash: row.counts for row in connection.execute(select(StoredWordCounts))}
        # the first paper's counts swapped for the second's: a ranking that reads them sees
        # the second paper's words there
        connection.execute(
            update(StoredWordCounts)
            .where(StoredWordCounts.text_hash == ranking.text_hash(a, b))
            .values(counts=kept[ranking.text_hash(c, _)])
        )
    with Session(catalogue.engine) as session:
        read = ranker.vectors(ranker.scope(session, space), [(a, b)])
    assert (read.words != space.vectors([(c, _)]).words).nnz == 0

    # counts kept by another way of counting (an earlier version's) are never read as these
    older = space.counts_key.replace(features.COUNTING_RECIPE, "0" * 10)
    with catalogue.engine.begin() as connection:
        connection.execute(delete(StoredWordCounts))
        connection.execute(
            insert(StoredWordCounts).values(
                block=older, text_hash=ranking.text_hash(a, b), counts=kept[ranking.text_hash(c, _)]
            )
        )
    with Session(catalogue.engine) as session:
        read = ranker.vectors(ranker.scope(session, space), [(a, b)])
    assert (read.words != space.vectors([(a, b)]).words).nnz == 0


def test_kept_and_uncounted_texts_read_together_give_the_vectors_counting_them_all_gives(
    catalogue: Recommender,
) -> None:
    catalogue.recommend(EMAIL, top=1)  # keeps every paper's counts
    space, ranker = catalogue._space(), catalogue.ranker
    with Session(catalogue.engine) as session:
        kept = [tuple(r) for r in session.execute(select(Paper.title, Paper.abstract).limit(2))]
        texts = [kept[0], ("A text never counted", "Nor kept anywhere."), kept[1]]
        read = ranker.vectors(ranker.scope(session, space), texts)
    assert (read.words != space.vectors(texts).words).nnz == 0


def another_writes(path: str | None) -> None:
    """Begin and end a write on the SQLite file at ``path`` from another connection: "database
    is locked" at once if a transaction holds the write lock."""
    with sqlite3.connect(str(path), timeout=0.1) as other:
        other.execute("BEGIN IMMEDIATE")
        other.rollback()


@pytest.mark.skipif(not model.embeddings_available(), reason="needs recommender[embeddings]")
def test_a_rating_embeds_new_profile_texts_while_the_database_stays_writable(
    settings: Settings, tmp_path: Path
) -> None:
    # SQLite locks the whole file for a writing transaction; the sentence model may run for
    # seconds (a list of 200 interests), and every other rating would wait, then fail.
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the whole-file write lock is SQLite's")
    path = make_url(settings.database_url).database
    with Recommender(replace(settings, embedding_model=model.DEFAULT_MODEL)) as app:
        app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
        app.subscribe(profile(tmp_path, '"speech recognition", "keyword spotting on devices"'))
        embed, embedded = app.ranker.embedder.embed_papers, []

        def embed_while_another_writes(texts, **options):  # type: ignore[no-untyped-def]
            another_writes(path)
            embedded.extend(title for title, _ in texts)
            return embed(texts, **options)

        app.ranker.embedder.embed_papers = embed_while_another_writes  # type: ignore[method-assign]
        app.rate(EMAIL, TOPICS["speech"][0], "up")  # retrains, with phrases never embedded
    # the phrases, the rated paper and the weak negatives, none embedded before
    assert {"speech recognition", "keyword spotting on devices", TOPICS["speech"][0]} <= set(
        embedded
    )


def test_the_feature_space_is_made_while_the_database_stays_writable(
    settings: Settings, tmp_path: Path
) -> None:
    # Counting a large catalogue's word statistics takes seconds (10 s at 18,000 papers);
    # inside a transaction SQLite's whole-file lock would make every other writer wait, then
    # fail after its 30 s timeout.
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the whole-file write lock is SQLite's")
    path = make_url(settings.database_url).database
    with Recommender(settings) as app:
        app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
        app.subscribe(profile(tmp_path))
        new_space, made = app.ranker.new_space, []

        def count_while_another_writes(texts, on_progress=None, sessions=None):  # type: ignore[no-untyped-def]
            another_writes(path)
            made.append(new_space(texts, on_progress, sessions))
            return made[-1]

        app.ranker.new_space = count_while_another_writes  # type: ignore[method-assign]
        assert app.recommend(EMAIL, top=1)
        assert app.retrain(refit=True) == 1
    assert len(made) == 2


def test_making_the_feature_space_reports_the_papers_whose_words_it_counts_and_keeps_them(
    app: Recommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first ranking after a large first ingest counts every paper's words (10 s at 18,000
    # papers): the CLI shows it as a progress bar from these reports.
    monkeypatch.setattr(ranking, "MIN_PAPERS_FOR_IDF", 1)  # word statistics from 1 paper on
    monkeypatch.setattr(features, "COUNTED_AT_ONCE", 4)
    app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
    papers = app.paper_count()
    started: list[int] = []
    counted: list[int] = []
    space = app.feature_space(on_start=started.append, on_progress=counted.append)
    assert "idf" in space
    assert started == [papers] and sum(counted) == papers and max(counted) == 4
    # what it counted is kept: the first ranking in the space reads it, not counting again
    with app.engine.connect() as connection:
        kept = connection.scalar(select(func.count()).select_from(StoredWordCounts))
    assert kept == papers
    # made once: asked again, nothing is counted
    assert app.feature_space(on_start=started.append, on_progress=counted.append) == space
    assert started == [papers]
    # retrain --refit counts the catalogue again
    app.retrain(refit=True, on_start=started.append, on_progress=counted.append)
    assert started == [papers, papers] and sum(counted) == 2 * papers


# A title that says nothing of its paper's topic: only the paper's abstract does.
OPAQUE = "Zorblat: A Quixotic Treatise"


def liking(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "ada.toml"
    path.write_text(f'email = "{EMAIL}"\nliked = ["{entry}"]\n')
    return path


def gains(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Each topic's smallest (speech) or largest (others) score change."""
    return {
        topic: min(after[t] - before[t] for t in titles)
        if topic == "speech"
        else max(after[t] - before[t] for t in titles)
        for topic, titles in TOPICS.items()
    }


def test_a_liked_title_counts_as_its_whole_paper_once_the_paper_arrives(
    app: Recommender, tmp_path: Path, clock: Clock
) -> None:
    app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
    app.subscribe(liking(tmp_path, OPAQUE))
    before = {r.title: r.score for r in app.recommend(EMAIL, top=20)}
    clock.now += timedelta(hours=1)
    later = tmp_path / "later.txt"
    later.write_text(dump_text([Entry(OPAQUE.upper(), ABSTRACTS["speech"])], "Mar 21"))
    assert app.ingest([later], reference_date=date(2026, 3, 22)).ok
    clock.now += timedelta(hours=1)
    found = app.recommend(EMAIL, top=20)
    after = {r.title: r.score for r in found}
    assert OPAQUE.upper() not in after  # the liked paper itself is never recommended back
    gain = gains(before, after)
    assert gain["speech"] > gain["vision"] and gain["speech"] > gain["graphs"]
    assert [topic_of(r.title) for r in found[:3]] == ["speech"] * 3
    assert found[0].reasons  # explained against the liked paper as the catalogue has it


def test_a_liked_arxiv_id_counts_as_the_paper_a_source_brought(
    app: Recommender, tmp_path: Path, clock: Clock
) -> None:
    app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
    app.subscribe(liking(tmp_path, "arXiv:2603.18101v2"))
    before = {r.title: r.score for r in app.recommend(EMAIL, top=20)}
    clock.now += timedelta(hours=1)
    day = SourceDay(
        "hf",
        date(2026, 3, 22),
        papers=(
            SourcePaper(
                "hf", OPAQUE, ABSTRACTS["speech"], (), "2603.18101", None, date(2026, 3, 22)
            ),
        ),
    )
    with app._sessions() as session, session.begin():
        add_source_day(session, day, clock.now)
    clock.now += timedelta(hours=1)
    found = app.recommend(EMAIL, top=20)
    after = {r.title: r.score for r in found}
    assert OPAQUE not in after
    gain = gains(before, after)
    assert gain["speech"] > gain["vision"] and gain["speech"] > gain["graphs"]
    assert [topic_of(r.title) for r in found[:3]] == ["speech"] * 3


def test_recommend_prints_the_interest_each_paper_serves_and_leaves_out_must_not_words(
    app: Recommender, settings: Settings, tmp_path: Path
) -> None:
    app.ingest([topical_dump(tmp_path / "d.txt")], reference_date=date(2026, 3, 21))
    path = tmp_path / "ada.toml"
    path.write_text(
        f'email = "{EMAIL}"\nmust_not = ["noisy"]\n'
        '[[interest]]\nname = "Speech"\nphrases = ["speech recognition"]\n'
    )
    app.subscribe(path)
    shown = invoke("recommend", EMAIL, "--top", "9", env=cli_env(settings))
    assert shown.exit_code == 0
    assert shown.output.count("for your interest: Speech") == 2  # of three: one is noisy
    assert "Noisy Call Centres" not in shown.output
    as_json = json.loads(
        invoke("recommend", EMAIL, "--top", "9", "--json", env=cli_env(settings)).output
    )
    speech = {r["title"] for r in as_json if r["interest"] == "Speech"}
    assert speech == {TOPICS["speech"][0], TOPICS["speech"][2]}
    assert len(as_json) == 8 and all("followed" in r for r in as_json)


NEWCOMER_TOPICS = {
    "mixture of experts": ("mixture-of-experts", "mixture of experts", "moe"),
    "reinforcement learning": ("reinforcement learning", " rl "),
    "medical imaging": ("medical", "mri", "cancer", "clinical", "x-ray", "tumor", "diagnosis"),
}


@pytest.mark.parametrize("embedding_model", ["none", model.DEFAULT_MODEL, "wordllama"])
def test_a_newcomer_gets_a_paper_on_each_typed_interest_in_the_top_five_on_the_real_dumps(
    settings: Settings, tmp_path: Path, shared_dumps: list[Path], embedding_model: str
) -> None:
    if embedding_model != "none" and not model.embeddings_available(embedding_model):
        pytest.skip(f"needs what embeds with {embedding_model}")
    path = tmp_path / "new.toml"
    path.write_text(f'email = "{EMAIL}"\ninterests = {json.dumps(list(NEWCOMER_TOPICS))}\n')
    with Recommender(replace(settings, embedding_model=embedding_model)) as app:
        app.ingest(shared_dumps)
        app.subscribe(path)
        found = app.recommend(EMAIL, top=10)
        catalogue = [(p.title, p.abstract) for p in app.papers(PaperQuery(limit=1000))[0]]

    def on(topic: str, title: str) -> bool:
        return any(word in f" {title.lower()} " for word in NEWCOMER_TOPICS[topic])

    for topic in NEWCOMER_TOPICS:
        assert any(on(topic, r.title) for r in found[:5]), (topic, [r.title for r in found])
    # reasons name the papers' topical words: none of the filler the issue saw, and no word
    # in a fifth or more of the catalogue's papers
    frequency = Counter(key for t, a in catalogue for key in set(paper_term_texts(t, a)[0]))
    # and only words the newcomer typed ("Mixture-of-Experts" joins two of them with "of")
    typed = {word for phrase in NEWCOMER_TOPICS for word in phrase.split()}
    for r in found:
        for term in r.terms:
            assert term.lower() not in {"thread", "periodically", "slow", "necessary", "future"}
            assert frequency[term.lower()] <= 0.2 * len(catalogue), (term, r.title)
            assert set(re.split(r"[-\s]+", term.lower())) <= typed, (term, r.title)
