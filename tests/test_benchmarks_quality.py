"""A tiny run of ``benchmarks/quality.py`` on a catalogue whose papers have no titles."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import REPO

TOPICS = 8
PAPERS_PER_TOPIC = 60


def untitled_catalogue(folder: Path, users: int = 12) -> Path:
    """A catalogue in CiteULike-a's format: papers on a few topics known by their abstracts
    alone (every title empty), and readers who each save the papers of one topic."""
    rng = np.random.default_rng(0)

    def words(n: int) -> list[str]:
        return ["".join(rng.choice(list(string.ascii_lowercase), size=7)) for _ in range(n)]

    vocabularies = [words(25) for _ in range(TOPICS)]
    common = words(200)
    topic_of = rng.permutation(np.repeat(np.arange(TOPICS), PAPERS_PER_TOPIC))
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
    command = [sys.executable, str(REPO / "benchmarks" / "quality.py"), "--data", str(data)]
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
        command = [sys.executable, str(REPO / "benchmarks" / "quality.py"), "--data", str(data)]
        command += ["--users", "6", "--batch", "40", "--no-embeddings", "--json"]
        command += ["--methods", "recommender_tfidf_top10", "--profile", profile]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=REPO, check=True, timeout=60
        )
        found = json.loads(done.stdout)["methods"]["recommender_tfidf_top10"]
        cold[profile] = found["recall_by_phase"]["days 1-5"]
    assert cold["papers"] > cold["titles"]
