"""Choosing a digest's papers from a ranking: size, minimum score, diversity, exploration,
named interests' shares, followed authors and must words."""

from __future__ import annotations

import numpy as np

from recommender.interests import affinity, assign, slots
from recommender.selection import MAX_FOLLOWED, SHARE_RANKS, Candidate, choose, shortlist
from recommender.words import Words


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
    assert int(picks[3].key[1:]) >= 3  # not one of the chosen


def test_the_exploration_pick_is_drawn_from_just_below_the_chosen() -> None:
    # 100 candidates, a digest of 4: the pick is among the best 3 digests' worth (12)
    candidates = [Candidate(f"p{i}", 1.0 - i / 100) for i in range(100)]
    explored = {
        choose(candidates, unrelated(100), size=4, explore=True, seed=seed)[-1].key
        for seed in range(40)
    }
    assert {int(key[1:]) for key in explored} <= set(range(3, 12))
    assert len(explored) > 1  # drawn, not always the next best


def test_the_exploration_pick_is_unlike_every_chosen_paper() -> None:
    candidates = [Candidate(f"p{i}", 1.0 - i / 100) for i in range(20)]
    similarity = unrelated(20)
    for twin in range(2, 8):  # the next best are each like a chosen paper
        similarity[0, twin] = similarity[twin, 0] = 0.6
    for seed in range(20):
        picks = choose(candidates, similarity, size=3, explore=True, seed=seed)
        # the only one of the best 9 that is neither chosen nor like a chosen one
        assert [(p.key, p.exploration) for p in picks] == [
            ("p0", False),
            ("p1", False),
            ("p8", True),
        ]


def test_no_exploration_pick_when_all_near_the_top_are_like_the_chosen() -> None:
    candidates = [Candidate(f"p{i}", 1.0 - i / 100) for i in range(20)]
    similarity = np.full((20, 20), 0.6)
    np.fill_diagonal(similarity, 1.0)
    picks = choose(candidates, similarity, size=3, explore=True)
    assert [p.key for p in picks] == ["p0", "p1"]
    assert not any(p.exploration for p in picks)


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


# -- named interests, followed authors, must words ----------------------------------------


def test_each_interest_gets_its_share_when_it_has_good_enough_papers() -> None:
    # the model prefers "ml" papers throughout; "bio" still gets its two slots
    candidates = [Candidate(f"ml{i}", 1.0 - i / 100, interest="ml") for i in range(6)]
    candidates += [Candidate(f"bio{i}", 0.5 - i / 100, interest="bio") for i in range(3)]
    picks = choose(candidates, unrelated(9), size=4, slots={"ml": 2, "bio": 2})
    assert sorted(p.key for p in picks) == ["bio0", "bio1", "ml0", "ml1"]
    assert {p.key: p.interest for p in picks}["bio0"] == "bio"
    # and with the exploration pick taking a slot, the shares are still honoured in order
    exploring = choose(candidates, unrelated(9), size=4, explore=True, slots={"ml": 2, "bio": 2})
    assert [(p.key, p.interest) for p in exploring if not p.exploration] == [
        ("ml0", "ml"),
        ("ml1", "ml"),
        ("bio0", "bio"),
    ]
    without = choose(candidates, unrelated(9), size=4)
    assert [p.key for p in without] == ["ml0", "ml1", "ml2", "ml3"]


def test_an_interest_fills_its_slots_with_its_best_scored_papers() -> None:
    candidates = [
        Candidate("bio-second", 0.2, interest="bio"),
        Candidate("bio-first", 0.3, interest="bio"),
        Candidate("ml", 0.9, interest="ml"),
    ]
    picks = choose(candidates, unrelated(3), size=2, slots={"bio": 1})
    assert [p.key for p in picks] == ["ml", "bio-first"]


def test_a_share_takes_only_papers_the_model_ranks_near_the_top() -> None:
    size = 2
    near = SHARE_RANKS * size
    # bio's paper is the last of the near top: it takes bio's slot
    candidates = [Candidate(f"ml{i}", 1.0 - i / 100) for i in range(near - 1)]
    candidates.append(Candidate("bio", 0.5, interest="bio"))
    picks = choose(candidates, unrelated(near), size=size, slots={"bio": 1})
    assert [p.key for p in picks] == ["ml0", "bio"]
    # one better paper more and it is not good enough: the slot goes to the best overall
    candidates.insert(0, Candidate("ml-best", 2.0))
    picks = choose(candidates, unrelated(near + 1), size=size, slots={"bio": 1})
    assert [p.key for p in picks] == ["ml-best", "ml0"]


def test_a_share_without_good_enough_papers_goes_to_the_best_overall() -> None:
    candidates = [Candidate(f"ml{i}", 1.0 - i / 10, interest="ml") for i in range(5)]
    candidates.append(Candidate("bio-weak", -0.5, interest="bio"))
    picks = choose(candidates, unrelated(6), size=4, min_score=0.0, slots={"bio": 2, "ml": 2})
    assert [p.key for p in picks] == ["ml0", "ml1", "ml2", "ml3"]


def test_shares_leave_the_rest_to_the_best_overall_labelled_with_what_they_serve() -> None:
    candidates = [
        Candidate("a", 0.9, interest="ml"),
        Candidate("b", 0.8),
        Candidate("c", 0.1, interest="bio"),
    ]
    picks = choose(candidates, unrelated(3), size=3, slots={"bio": 1})
    assert [(p.key, p.interest) for p in picks] == [("a", "ml"), ("b", None), ("c", "bio")]


def test_a_followed_authors_paper_is_always_in_outside_the_size_and_labelled() -> None:
    candidates = [Candidate(f"p{i}", 1.0 - i / 10) for i in range(5)]
    candidates.append(Candidate("theirs", -3.0, followed=True, interest="ml"))
    picks = choose(candidates, unrelated(6), size=3, min_score=0.0, slots={"ml": 1})
    assert [p.key for p in picks] == ["theirs", "p0", "p1", "p2"]
    assert picks[0].followed and picks[0].interest is None
    assert not any(p.followed for p in picks[1:])


def test_followed_authors_papers_alone_make_a_digest() -> None:
    candidates = [Candidate("weak", -1.0), Candidate("theirs", -2.0, followed=True)]
    picks = choose(candidates, unrelated(2), size=3, min_score=0.0, explore=True)
    assert [(p.key, p.followed, p.exploration) for p in picks] == [("theirs", True, False)]


def test_at_most_max_followed_papers_by_followed_authors() -> None:
    candidates = [Candidate(f"f{i}", -i, followed=True) for i in range(MAX_FOLLOWED + 3)]
    picks = choose(candidates, unrelated(len(candidates)), size=2)
    assert [p.key for p in picks] == [f"f{i}" for i in range(MAX_FOLLOWED)]


def test_a_near_duplicate_of_a_followed_paper_is_not_added_again() -> None:
    candidates = [Candidate("theirs", 0.1, followed=True), Candidate("twin", 0.9)]
    similarity = unrelated(2)
    similarity[0, 1] = similarity[1, 0] = 0.95
    assert [p.key for p in choose(candidates, similarity, size=3)] == ["theirs"]


def test_slots_follow_the_shares_and_never_exceed_the_size() -> None:
    assert slots([("a", 0.5), ("b", 0.5)], 10) == {"a": 5, "b": 5}
    assert slots([("a", 0.3), ("b", 0.3)], 10) == {"a": 3, "b": 3}
    assert slots([("a", 0.25)] * 1 + [("b", 0.25), ("c", 0.25), ("d", 0.25)], 3) == {
        "a": 1,
        "b": 1,
        "c": 1,
        "d": 0,
    }
    assert slots([("a", 0.34), ("b", 0.66)], 1) == {"a": 0, "b": 1}
    assert slots([("a", 0.1)], 4) == {"a": 0}
    assert slots([], 4) == {}


def test_a_paper_serves_the_interest_it_is_most_alike_among_those_its_must_words_allow() -> None:
    affinities = np.array([[0.9, 0.2], [0.1, 0.3], [0.8, 0.4], [0.0, 0.0]])
    allowed = np.array([[True, True], [True, True], [False, True], [True, True]])
    assert assign(affinities, allowed) == [0, 1, 1, None]
    assert assign(np.zeros((2, 0)), np.zeros((2, 0), dtype=bool)) == [None, None]


def test_a_must_word_keeps_an_interest_to_papers_containing_it() -> None:
    must = Words(["protein"])
    texts = ["Protein folding with transformers", "Transformers for proteins", "Folding"]
    allowed = np.array([[must.found_in(t), True] for t in texts])
    affinities = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])
    assert assign(affinities, allowed) == [0, 1, 1]


def test_a_papers_affinity_is_its_greatest_likeness_to_the_interests_vectors() -> None:
    assert affinity(np.eye(3), [np.eye(3)[:2], np.zeros((0, 3))]).tolist() == [
        [1.0, 0.0],
        [1.0, 0.0],
        [0.0, 0.0],
    ]


def test_a_paper_alike_to_no_interest_beyond_the_floor_serves_none() -> None:
    affinities = np.array([[0.08, 0.05], [0.5, 0.1]])
    assert assign(affinities, np.ones((2, 2), dtype=bool), floor=0.15) == [None, 0]
