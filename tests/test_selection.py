"""Choosing a digest's papers from a ranking: size, minimum score, diversity, exploration."""

from __future__ import annotations

import numpy as np

from recommender.selection import Candidate, choose, shortlist


def unrelated(n: int) -> np.ndarray:
    return np.eye(n)


def test_the_best_papers_come_first_and_the_size_is_kept() -> None:
    candidates = [Candidate(f"p{i}", score) for i, score in enumerate([0.1, 0.5, 0.3, 0.4])]
    picks = choose(candidates, unrelated(4), size=3)
    assert [p.key for p in picks] == ["p1", "p3", "p2"]
    assert not any(p.exploration for p in picks)


def test_papers_below_the_minimum_score_are_left_out() -> None:
    candidates = [Candidate("a", 0.5), Candidate("b", -0.1), Candidate("c", 0.2)]
    assert [p.key for p in choose(candidates, unrelated(3), size=10, min_score=0.0)] == ["a", "c"]


def test_nothing_qualifying_means_no_digest_even_with_exploration() -> None:
    candidates = [Candidate(f"p{i}", -1.0 - i) for i in range(5)]
    assert choose(candidates, unrelated(5), size=3, min_score=0.0, explore=True) == []
    assert choose([], np.zeros((0, 0)), size=3) == []


def test_a_near_duplicate_never_joins_its_twin() -> None:
    candidates = [Candidate("a", 0.9), Candidate("a-again", 0.89), Candidate("b", 0.5)]
    similarity = unrelated(3)
    similarity[0, 1] = similarity[1, 0] = 0.97
    assert [p.key for p in choose(candidates, similarity, size=3)] == ["a", "b"]


def test_among_close_scores_a_new_topic_goes_before_more_of_the_same() -> None:
    candidates = [Candidate("a", 1.0), Candidate("a-like", 0.80), Candidate("other", 0.78)]
    similarity = unrelated(3)
    similarity[0, 1] = similarity[1, 0] = 0.8
    assert [p.key for p in choose(candidates, similarity, size=3)] == ["a", "other", "a-like"]


def test_a_clear_winner_is_not_pushed_down_by_diversity() -> None:
    candidates = [Candidate("a", 1.0), Candidate("a-like", 0.95), Candidate("other", 0.1)]
    similarity = unrelated(3)
    similarity[0, 1] = similarity[1, 0] = 0.8
    assert [p.key for p in choose(candidates, similarity, size=2)] == ["a", "a-like"]


def test_the_exploration_slot_is_last_labelled_and_from_outside_the_top() -> None:
    candidates = [Candidate(f"p{i}", 1.0 - i / 10, upvotes=i) for i in range(10)]
    picks = choose(candidates, unrelated(10), size=4, explore=True, seed=3)
    assert len(picks) == 4
    assert [p.exploration for p in picks] == [False, False, False, True]
    assert [p.key for p in picks[:3]] == ["p0", "p1", "p2"]
    assert int(picks[3].key[1:]) >= 5  # the lower half of the ranking


def test_exploration_takes_no_slot_when_every_candidate_fits() -> None:
    candidates = [Candidate(f"p{i}", 1.0 - i / 10) for i in range(3)]
    picks = choose(candidates, unrelated(3), size=5, explore=True)
    assert [p.key for p in picks] == ["p0", "p1", "p2"]
    assert not any(p.exploration for p in picks)


def test_a_shortlist_is_the_best_then_when_exploring_a_reproducible_draw_of_the_rest() -> None:
    scores = np.arange(300, dtype=np.float64)[::-1].copy()  # position i has the i-th best score
    assert shortlist(scores, explore=False, seed=1, size=10).tolist() == list(range(10))
    exploring = shortlist(scores, explore=True, seed=1, size=10)
    assert exploring[:10].tolist() == list(range(10))
    assert len(exploring) == 20 and len(set(exploring.tolist())) == 20
    assert (exploring[10:] >= 10).all()
    assert exploring.tolist() == shortlist(scores, explore=True, seed=1, size=10).tolist()
    assert exploring.tolist() != shortlist(scores, explore=True, seed=2, size=10).tolist()
    assert shortlist(scores[:5], explore=True, seed=1, size=10).tolist() == list(range(5))
