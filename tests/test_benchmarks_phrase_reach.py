"""A tiny run of ``benchmarks/phrase_reach.py`` on a tagged catalogue."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.test_benchmarks_quality import untitled_catalogue


def tagged_catalogue(folder: Path) -> Path:
    """The untitled catalogue with each paper tagged by its most frequent word: a user's
    phrases are words of their topic, which some of its papers carry and others do not."""
    data = untitled_catalogue(folder)
    papers = [json.loads(line) for line in (data / "papers.jsonl").read_text().splitlines()]
    names: dict[str, int] = {}
    lines = []
    for paper in papers:
        words = paper["abstract"].split()
        top = max(sorted(set(words)), key=words.count)
        lines.append(f"1 {names.setdefault(top, len(names))}")
    (data / "tags.dat").write_text("\n".join(names) + "\n")
    (data / "item-tags.dat").write_text("\n".join(lines) + "\n")
    return data


def test_the_first_days_targets_split_into_word_sharing_and_others(tmp_path: Path) -> None:
    data = tagged_catalogue(tmp_path / "tagged")
    command = [sys.executable, str(REPO / "benchmarks" / "phrase_reach.py"), "--data", str(data)]
    command += ["--users", "6", "--seed", "0", "--no-embeddings", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True, timeout=60)
    result = json.loads(done.stdout)
    assert (result["users"], result["days"]) == (6, 5)
    alert = result["keyword_alert"]
    targets = alert["targets"]
    assert targets["word_sharing"] > 0 and targets["other"] > 0
    for name in ("keyword_alert", "recommender_tfidf", "recommender_tfidf_static"):
        r = result[name]
        assert r["targets"] == targets  # the same users, days and targets for every method
        assert 0 <= r["found"]["word_sharing"] <= targets["word_sharing"]
        assert 0 <= r["found"]["other"] <= targets["other"]
        # 480 papers: half a back catalogue, two days of 200 and 40 arrive
        assert len(r["mean_ups_before_day"]) == 2 and r["mean_ups_before_day"][0] == 0
    # the alert scores a paper that shares no word with the phrases 0: it finds word-sharing
    # papers first, and others only when a day has fewer than a digest of word-sharing ones
    assert alert["found"]["word_sharing"] > 0
    assert "paired_vs_static" in result["recommender_tfidf"]
