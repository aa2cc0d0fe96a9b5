"""What named interests, followed authors and must-not words make of a subscriber's
candidates, on a real catalogue: which interest each paper serves, and a rating teaching the
interest it was shown under."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from recommender import interests
from recommender.core import Recommender
from recommender.digests.pool import PaperPool
from recommender.digests.steering import choose, steer, steer_plain
from recommender.profiles import Interest
from recommender.ranking import Scope
from recommender.store import digests as digest_store
from recommender.store import subscribers as subscriber_store
from recommender.store.catalogue import papers_by_id
from recommender.store.models import Rating
from tests.catalogue import EMAIL, TOPICS, topical_day
from tests.clock import Clock

PROFILE = f"""email = "{EMAIL}"
digest_size = 4

[[interest]]
name = "Speech"
phrases = ["speech recognition"]

[[interest]]
name = "Quixotic"
phrases = ["quixotic zorblat"]
"""


def steered(app: Recommender, clock: Clock, shown: dict[str, str], up: list[str]) -> dict[str, str]:
    """The interest each paper of the catalogue serves (by title), for ``EMAIL`` having
    rated ``up`` the papers titled so, each shown under the interest ``shown`` names."""
    ranker = app.ranker
    with app._sessions() as session:
        space = ranker.space(session, clock.now)
        subscriber = subscriber_store.get_subscriber(session, EMAIL)
        pool = PaperPool(session, clock.now - timedelta(days=30))
        vectors = pool.vectors(ranker, session, space)
        rows = np.arange(len(pool.papers))
        ids = [next(p.id for p in pool.papers if p.title == title) for title in up]
        rated = [(Rating(vote=1), paper) for paper in papers_by_id(session, ids)]
        result = steer(
            ranker,
            Scope(session, space),
            subscriber,
            pool.papers,
            rows,
            vectors.matrix,
            rated,
            shown,
        )
        return {pool.papers[row].title: name for row, name in result.serves.items()}


def test_a_paper_serves_the_interest_its_words_are_about(
    app: Recommender, clock: Clock, tmp_path: Path
) -> None:
    topical_day(app, tmp_path)
    (tmp_path / "ada.toml").write_text(PROFILE)
    app.subscribe(tmp_path / "ada.toml")
    serves = steered(app, clock, {}, [])
    assert {t for t, name in serves.items() if name == "Speech"} == set(TOPICS["speech"])
    assert "Quixotic" not in serves.values()


def test_a_rating_up_teaches_the_interest_the_paper_was_shown_under(
    app: Recommender, clock: Clock, tmp_path: Path
) -> None:
    topical_day(app, tmp_path)
    (tmp_path / "ada.toml").write_text(PROFILE)
    app.subscribe(tmp_path / "ada.toml")
    liked = TOPICS["vision"][0]
    serves = steered(app, clock, {}, [liked])  # rated up, but not shown under an interest
    assert "Quixotic" not in serves.values()
    serves = steered(app, clock, {app.paper(liked).id: "Quixotic"}, [liked])
    # the other vision papers are like the one rated up under "Quixotic": they serve it now
    assert {TOPICS["vision"][1], TOPICS["vision"][2]} <= {
        t for t, name in serves.items() if name == "Quixotic"
    }
    assert all(serves[t] == "Speech" for t in TOPICS["speech"])


def test_the_interest_a_paper_was_sent_for_is_read_back_for_its_rating(
    app: Recommender, tmp_path: Path
) -> None:
    topical_day(app, tmp_path)
    (tmp_path / "ada.toml").write_text(PROFILE)
    app.subscribe(tmp_path / "ada.toml")
    app.send(EMAIL)
    with app._sessions() as session:
        subscriber = subscriber_store.get_subscriber(session, EMAIL)
        shown = digest_store.shown_interests(session, [subscriber.id])[subscriber.id]
    titles = {app.paper(pid).title: name for pid, name in shown.items()}
    assert titles and set(titles.values()) == {"Speech"}
    assert set(titles) <= set(TOPICS["speech"])


def test_recommend_leaves_out_must_not_papers_and_labels_each_with_its_interest(
    app: Recommender, tmp_path: Path
) -> None:
    topical_day(app, tmp_path)
    (tmp_path / "ada.toml").write_text('must_not = ["night"]\n' + PROFILE)
    app.subscribe(tmp_path / "ada.toml")
    found = app.recommend(EMAIL, top=20)
    titles = {r.title: r.interest for r in found}
    # "Semantic Segmentation of Street Scenes at Night" has the must-not word in its title
    assert TOPICS["vision"][1] not in titles
    assert len(found) == 8
    assert {titles[t] for t in TOPICS["speech"]} == {"Speech"}
    assert {titles[t] for t in [*TOPICS["graphs"], TOPICS["vision"][0]]} == {None}
    assert {r.to_dict()["interest"] for r in found} == {"Speech", None}


def test_with_embeddings_a_paper_below_the_measured_floor_serves_no_interest() -> None:
    """The embeddings floor (0.34, measured on the real dumps) decides, on plain data: a
    candidate 0.30 alike the interest serves none, one 0.40 alike serves it."""
    floor = interests.AFFINITY_FLOOR["embeddings"]
    assert 0.3 < floor < 0.4
    angle = [np.arccos(0.30), np.arccos(0.40), 0.0]
    pool = sp.csr_matrix(np.array([[np.cos(a), np.sin(a)] for a in angle]))
    topic = Interest("Speech", ("speech recognition",), share=0.5)
    steered = steer_plain(
        [SimpleNamespace(title="", abstract="", author_names=None)] * 3,
        np.arange(3),
        pool,
        must_not=(),
        follows=(),
        topics=[topic],
        vectors_of=lambda _: np.array([[1.0, 0.0]]),
        floor=floor,
        digest_size=4,
    )
    assert steered.serves == {1: "Speech", 2: "Speech"}
    assert steered.slots == {"Speech": 2}


def test_a_paper_naming_an_interests_phrase_is_shown_under_it_but_takes_no_slot() -> None:
    """Below the floor a paper serves no interest (it takes none of its slots), but one whose
    words name the interest's phrase is labelled with it: "Retrieval" on a paper titled
    "Calibrated Uncertainty for Retrieval-Augmented Generation", whatever the embedding says."""
    topics = [
        Interest("Retrieval", ("retrieval-augmented generation",), share=0.5),
        Interest("Speech", ("speech recognition",), share=0.5, must=("audio",)),
    ]
    papers = [
        SimpleNamespace(
            title="Calibrated Uncertainty for Retrieval-Augmented Generation",
            abstract="",
            author_names=None,
        ),
        SimpleNamespace(title="Speech recognition of text", abstract="", author_names=None),
        SimpleNamespace(title="Galaxy winds", abstract="", author_names=None),
    ]
    steered = steer_plain(
        papers,
        np.arange(3),
        sp.csr_matrix(np.eye(3, 4)),
        must_not=(),
        follows=(),
        topics=topics,
        vectors_of=lambda _: np.array([[0.0, 0.0, 0.0, 1.0]]),  # alike none of them
        floor=0.5,
        digest_size=4,
    )
    assert steered.serves == {}
    # the speech paper names its phrase but lacks the interest's must word
    assert steered.names == {0: "Retrieval"}
    assert [steered.label(row) for row in range(3)] == ["Retrieval", None, None]
    picks = choose(
        steered,
        np.array([3.0, 2.0, 1.0]),
        lambda rows: np.eye(len(rows)),
        lambda row: None,
        size=2,
        min_score=None,
        explore=False,
        subscriber_id=1,
    )
    assert [(p.key, p.interest) for p in picks] == [("0", "Retrieval"), ("1", None)]
