"""A tiny run of ``benchmarks/quality.py`` on a catalogue whose papers have no titles."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from tests.conftest import REPO

TOPICS = 8
PAPERS_PER_TOPIC = 60


def quality_command(data: Path) -> list[str]:
    """The command that runs benchmarks/quality.py on the catalogue in ``data``."""
    return [sys.executable, str(REPO / "benchmarks" / "quality.py"), "--data", str(data)]


def untitled_catalogue(folder: Path, users: int = 12, topics: list[int] | None = None) -> Path:
    """A catalogue in CiteULike-a's format: papers on a few topics known by their abstracts
    alone (every title empty), and readers who each save the papers of one topic. ``topics``,
    if given, is filled with each paper's topic."""
    rng = np.random.default_rng(0)

    def words(n: int) -> list[str]:
        return ["".join(rng.choice(list(string.ascii_lowercase), size=7)) for _ in range(n)]

    vocabularies = [words(25) for _ in range(TOPICS)]
    common = words(200)
    topic_of = rng.permutation(np.repeat(np.arange(TOPICS), PAPERS_PER_TOPIC))
    if topics is not None:
        topics[:] = topic_of.tolist()
    folder.mkdir()
    with (folder / "papers.jsonl").open("w") as out:
        for i, topic in enumerate(topic_of):
            text = list(rng.choice(vocabularies[topic], size=15)) + list(rng.choice(common, 5))
            out.write(json.dumps({"id": i, "title": "", "abstract": " ".join(text)}) + "\n")
    lines = []
    for u in range(users):
        own = np.flatnonzero(topic_of == u % TOPICS)
        library = sorted(rng.choice(own, size=20, replace=False).tolist())
        lines.append(" ".join(map(str, [len(library), *library])))
    (folder / "users.dat").write_text("\n".join(lines) + "\n")
    return folder


def test_the_quality_benchmark_runs_on_a_catalogue_without_titles(tmp_path: Path) -> None:
    data = untitled_catalogue(tmp_path / "untitled")
    methods = "recommender_tfidf,recommender_tfidf_top10,arxiv_sanity_lite,random"
    command = quality_command(data)
    command += ["--users", "6", "--batch", "40", "--no-embeddings", "--methods", methods, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True, timeout=60)
    result = json.loads(done.stdout)
    assert (result["users"], result["papers"], result["profile"]) == (6, 480, "papers")
    found = result["methods"]
    assert list(found) == methods.split(",")
    # the liked papers count by their abstracts: a profile is not the same empty text for all
    assert found["recommender_tfidf"]["digest_recall"] > 2 * found["random"]["digest_recall"]
    assert found["recommender_tfidf"]["recall_by_phase"]["days 1-5"] > 0.5
    for figures in found.values():
        assert set(figures["recall_by_phase"]) == {"days 1-5", "days 6-20", "days 21+"}
        assert sum(figures["users_by_library_size"].values()) == 6
    assert found["recommender_tfidf"]["paired_vs_arxiv_sanity_lite"]["standard_error"] >= 0
    assert "paired_vs_top10" in found["recommender_tfidf"]


def test_liked_papers_counted_by_their_titles_alone_say_nothing_without_titles(
    tmp_path: Path,
) -> None:
    data = untitled_catalogue(tmp_path / "untitled")
    cold = {}
    for profile in ("papers", "titles"):
        command = quality_command(data)
        command += ["--users", "6", "--batch", "40", "--no-embeddings", "--json"]
        command += ["--methods", "recommender_tfidf_top10", "--profile", profile]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=REPO, check=True, timeout=60
        )
        found = json.loads(done.stdout)["methods"]["recommender_tfidf_top10"]
        cold[profile] = found["recall_by_phase"]["days 1-5"]
    assert cold["papers"] > cold["titles"]


def test_the_phrase_cold_start_runs_on_a_tagged_catalogue(tmp_path: Path) -> None:
    """Users sign up with the tags of their first papers as phrases; the topic words of a
    paper are its tags here, so both the recommender and the keyword alert find them."""
    data = untitled_catalogue(tmp_path / "tagged")
    papers = [json.loads(line) for line in (data / "papers.jsonl").read_text().splitlines()]
    # each paper tagged with its two most frequent words ("_" for the space in one of them)
    names: dict[str, int] = {}
    lines = []
    for paper in papers:
        words = paper["abstract"].split()
        top = sorted(set(words), key=lambda w: (-words.count(w), words.index(w)))[:2]
        tags = [top[0], f"{top[0]}_{top[1]}"]
        lines.append(
            " ".join([str(len(tags))] + [str(names.setdefault(t, len(names))) for t in tags])
        )
    (data / "tags.dat").write_text("\n".join(names) + "\n")
    (data / "item-tags.dat").write_text("\n".join(lines) + "\n")
    command = quality_command(data)
    command += ["--users", "6", "--batch", "40", "--no-embeddings", "--json"]
    command += ["--cold-start", "phrases"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True, timeout=60)
    result = json.loads(done.stdout)
    assert (result["users"], result["cold_start"]) == (6, "phrases")
    assert 1 <= result["phrases_per_user"] <= 3
    found = result["methods"]
    assert list(found) == [
        "recommender_tfidf",
        "recommender_tfidf_top10",
        "keyword_alert",
        "random",
    ]
    for name in ("recommender_tfidf", "keyword_alert"):
        assert found[name]["recall_by_phase"]["days 1-5"] > 2 * found["random"]["digest_recall"]
    assert "paired_vs_keyword_alert" in found["recommender_tfidf"]


def test_the_phrase_cold_start_needs_tags_and_refuses_methods_that_need_liked_papers(
    tmp_path: Path,
) -> None:
    data = untitled_catalogue(tmp_path / "untagged")
    command = quality_command(data)
    command += ["--users", "6", "--no-embeddings", "--cold-start", "phrases"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode != 0 and "needs tags.dat and item-tags.dat" in done.stderr
    (data / "tags.dat").write_text("alpha\n")
    (data / "item-tags.dat").write_text("1 0\n" * 480)
    command += ["--methods", "rocchio,keyword_alert"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode != 0 and "rocchio need liked papers" in done.stderr


def test_several_interests_run_on_a_tagged_catalogue_of_two_topic_readers(tmp_path: Path) -> None:
    """Readers of two topics each (their first papers on both): each topic is a named interest
    steered by the product's own code, and the papers of both reach their digests."""
    topic_of: list[int] = []
    data = untitled_catalogue(tmp_path / "tagged", topics=topic_of)
    lines_ = (data / "papers.jsonl").read_text().splitlines()
    papers = [json.loads(line)["abstract"].split() for line in lines_]
    # every paper tagged with its topic's word (the word most of the topic's papers have) and
    # its own first word
    topic_word = {}
    for topic in range(TOPICS):
        counts = Counter(w for i, t in enumerate(topic_of) if t == topic for w in set(papers[i]))
        topic_word[topic] = counts.most_common(1)[0][0]
    names: dict[str, int] = {}
    lines = []
    for i, text in enumerate(papers):
        tags = [topic_word[topic_of[i]], text[0]]
        lines.append(
            " ".join(map(str, [len(tags), *(names.setdefault(t, len(names)) for t in tags)]))
        )
    (data / "tags.dat").write_text("\n".join(names) + "\n")
    (data / "item-tags.dat").write_text("\n".join(lines) + "\n")
    # each reader saves papers of two topics, old and new
    half = len(papers) // 2
    rng = np.random.default_rng(1)
    libraries = []
    for u in range(12):
        library: list[int] = []
        for topic in (u % TOPICS, (u + 3) % TOPICS):
            own = [i for i, t in enumerate(topic_of) if t == topic]
            library += rng.choice([i for i in own if i < half], 4, replace=False).tolist()
            library += rng.choice([i for i in own if i >= half], 6, replace=False).tolist()
        libraries.append(" ".join(map(str, [len(library), *sorted(library)])))
    (data / "users.dat").write_text("\n".join(libraries) + "\n")
    command = quality_command(data)
    command += ["--users", "6", "--batch", "40", "--no-embeddings", "--json"]
    command += ["--interests", "several"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True, timeout=60)
    result = json.loads(done.stdout)
    assert (result["users"], result["interests"]) == (6, "several")
    assert result["interests_per_user"] == 2
    arms = result["arms"]
    assert list(arms) == ["several", "pooled", "unnamed", "tagged"]
    for figures in arms.values():
        assert figures["worst_interest_recall"] <= figures["best_interest_recall"]
    # each interest brings its topic's papers: even the worst-served one's reach the digests
    assert arms["several"]["worst_interest_recall"] > 0.3
    for arm in ("several", "unnamed", "tagged"):
        assert set(arms[arm]["paired_vs_pooled"]) == {"digest_recall", "worst_interest_recall"}
    # labelled by the tags, a group's papers that reach a digest are shown as their own group's
    # (but for an exploration pick or a paper steering gave no interest)
    assert arms["tagged"]["labelled_as_their_group"] > 0.9
    assert arms["tagged"]["labelled_as_their_group"] >= arms["several"]["labelled_as_their_group"]


def test_a_words_only_space_that_knows_which_words_go_together_is_tried_paired(
    tmp_path: Path,
) -> None:
    """``--latent``: an LSA block or co-occurring words learned on the back catalogue; each
    run's days 1-5 recall is paired, user by user, with the run it is compared with. A latent
    block that only interest phrases train changes nothing for users without phrases."""
    data = untitled_catalogue(tmp_path / "untitled")
    command = quality_command(data)
    command += ["--users", "6", "--batch", "40", "--no-embeddings", "--json"]
    command += ["--methods", "recommender_tfidf,random"]
    before = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
    (tmp_path / "before.json").write_text(before.stdout)
    only_phrases = "kind=lsa,dims=10,fit=w1,only=phrases"
    for latent in ("kind=lsa,dims=10,weight=0.5,fit=w1", "kind=cooc,dims=5,fit=w1", only_phrases):
        extra = ["--latent", latent, "--paired-with", str(tmp_path / "before.json")]
        done = subprocess.run(
            command + extra, capture_output=True, text=True, cwd=REPO, check=True, timeout=120
        )
        result = json.loads(done.stdout)
        assert result["latent"] == latent
        found = result["methods"]
        assert found["recommender_tfidf"]["digest_recall"] > 2 * found["random"]["digest_recall"]
        paired = found["recommender_tfidf"]["paired_days_1_5_vs_earlier_run"]
        assert paired["standard_error"] >= 0
        if latent == only_phrases:
            assert found["recommender_tfidf"]["paired_vs_earlier_run"]["mean_difference"] == 0


def test_a_mistyped_latent_option_stops_before_the_catalogue_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "no-catalogue-here"
    for spec, said in [
        ("dimz=10", "--latent: 'dimz=10': expected name=value, name one of kind, dims"),
        ("dims=ten", "--latent dims: 'ten' is not a number"),
        ("kind=pca", "--latent kind: 'pca', expected one of lsa, cooc"),
    ]:
        command = quality_command(missing) + ["--no-embeddings", "--latent", spec]
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
        assert done.returncode == 1
        assert said in done.stderr


def test_a_mistyped_word_block_is_refused_by_name(tmp_path: Path) -> None:
    command = quality_command(tmp_path / "no-catalogue-here") + ["--embedding-words", "w4-h14"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2
    assert "--embedding-words: 'w4-h14': expected TOKENIZER-hBITS" in done.stderr
    assert "one of w1, w2, w3" in done.stderr


def test_with_liked_all_the_same_users_like_their_whole_back_library(tmp_path: Path) -> None:
    from benchmarks import quality

    data = quality.load_data(untitled_catalogue(tmp_path / "untitled"))
    half = data.n // 2
    three = quality.pick_users(data, 6, 0)
    every = quality.pick_users(data, 6, 0, liked_all=True)
    assert [u.uid for u in every] == [u.uid for u in three]
    for few, all_of_them in zip(three, every, strict=True):
        library = np.array(sorted(all_of_them.library))
        assert all_of_them.liked.tolist() == library[library < half].tolist()
        assert len(few.liked) == quality.N_LIKED < len(all_of_them.liked)
        assert set(few.liked.tolist()) <= set(all_of_them.liked.tolist())


def test_a_data_folder_that_is_no_catalogue_is_refused_by_name(tmp_path: Path) -> None:
    command = [*quality_command(tmp_path / "nowhere"), "--users", "3", "--no-embeddings"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 1
    assert f"{tmp_path / 'nowhere'}: no papers.jsonl or users.dat: --data takes" in done.stderr
    assert "Traceback" not in done.stderr
