"""Recommend's cost: how long `recommender recommend EMAIL` takes as a command, by the size of
the catalogue, on its first run and on the runs after it.

A catalogue of generated papers (``benchmarks/ingest.py``'s dumps, ``--papers`` of them) is
ingested into a fresh SQLite database and one subscriber (a profile with an ``about`` text)
subscribes; then ``recommend`` runs ``--runs`` + 1 times, each a process of its own, as a
person at a terminal runs it. Every run ranks every paper of the catalogue (none is rated).
Reported: each run's wall time and peak RSS. Everything runs through the command line of the
checkout ``--repo`` names (default: this one), so that two versions can be measured alike.
Word features only by default (``--embedding-model`` names another model: the first run then
also embeds the whole catalogue).

    python benchmarks/recommend_cost.py --papers 6000 --runs 3
    python benchmarks/recommend_cost.py --papers 6000 --runs 3 --repo /tmp/older-checkout --json

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import ingest  # noqa: E402

PER_FILE = 500
EMAIL = "reader@example.org"
PROFILE = f'email = "{EMAIL}"\nabout = "graph neural networks for molecules"\n'


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def run(repo: Path, env: dict[str, str], *args: str) -> tuple[float, int]:
    """Run ``recommender ARGS`` from ``repo``'s code; its wall time (s) and peak RSS (MB)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "recommender", *args],
        cwd=repo,
        env={**env, "PYTHONPATH": str(repo)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    errors = child.stderr.read().decode() if child.stderr else ""
    if status != 0:
        raise SystemExit(f"recommender {' '.join(args)} failed: {errors}")
    return wall, round(usage.ru_maxrss / 1024)


def measure(papers: int, runs: int, repo: Path, embedding_model: str, tmp: Path) -> dict:
    dumps = tmp / "dumps"
    dumps.mkdir()
    ingest.generate(dumps, max(1, papers // PER_FILE), PER_FILE, seed=1)
    env = {
        **os.environ,
        "RECOMMENDER_HOME": str(tmp / "home"),
        "RECOMMENDER_DATABASE_URL": f"sqlite:///{tmp / 'r.db'}",
        "RECOMMENDER_EMBEDDING_MODEL": embedding_model,
    }
    seconds, _ = run(repo, env, "ingest", str(dumps))
    log(f"ingested in {seconds:.1f} s")
    profile = tmp / "reader.toml"
    profile.write_text(PROFILE)
    run(repo, env, "subscribe", str(profile))
    timed = []
    for n in range(runs + 1):
        seconds, rss = run(repo, env, "recommend", EMAIL, "--top", "10")
        log(f"  run {n + 1}: {seconds:.2f} s, {rss} MB")
        timed.append({"seconds": round(seconds, 2), "peak_rss_mb": rss})
    counted = subprocess.run(
        [sys.executable, "-m", "recommender", "stats"],
        cwd=repo,
        env={**env, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        "repo": str(repo),
        "papers": int(counted.split("papers:")[1].split()[0]),
        "embedding_model": embedding_model,
        "first_seconds": timed[0]["seconds"],
        "later_median_seconds": statistics.median(t["seconds"] for t in timed[1:]),
        "runs": timed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=6000, help="catalogue size (default 6000)")
    parser.add_argument("--runs", type=int, default=3, help="runs after the first (default 3)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose code runs")
    parser.add_argument("--embedding-model", default="none", help="default: none (words only)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if args.papers < 1 or args.runs < 1:
        parser.error("--papers and --runs must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(
            args.papers, args.runs, args.repo.resolve(), args.embedding_model, Path(tmp)
        )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['papers']} papers: first run {result['first_seconds']} s, "
            f"later runs {result['later_median_seconds']} s (median of {args.runs})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
