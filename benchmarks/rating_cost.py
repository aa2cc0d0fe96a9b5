"""Rating cost: how long one rating (stored, then learnt by the subscriber's model) takes, by
the size of the catalogue and as a long-running process serves more of them.

A catalogue of generated papers (``benchmarks/ingest.py``'s dumps listing ``--papers``) is
ingested into a fresh SQLite database; one subscriber (a profile with an ``about`` text) then
rates ``--ratings`` papers one after another through the facade (``Recommender.rate``, what
the CLI and the web's rating links call), a quarter up and the rest down, so that each rating
changes the model. Reported: the median and mean time of a rating over each fifth of them
(most ratings change the model in place, every tenth in a row trains it afresh: the mean
counts both), and the process's peak RSS. Word features only (embedding 45,000 papers takes
hours on this CPU; with embeddings each paper's vector is read from the store instead of
built, the rest the same).

    python benchmarks/rating_cost.py --papers 45000 --ratings 500
    python benchmarks/rating_cost.py --papers 2000 --ratings 100 --json

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import ingest  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.core import Recommender  # noqa: E402

PER_FILE = 500
PROFILE = 'email = "reader@example.org"\nabout = "graph neural networks for molecules"\n'


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def measure(papers: int, ratings: int, tmp: Path, embedding_model: str = "none") -> dict:
    dumps = tmp / "dumps"
    dumps.mkdir()
    ingest.generate(dumps, max(1, papers // PER_FILE), PER_FILE, seed=1)
    settings = Settings(
        home=tmp / "home",
        database_url=f"sqlite:///{tmp / 'r.db'}",
        embedding_model=embedding_model,
    )
    with Recommender(settings) as app:
        t0 = time.perf_counter()
        app.ingest(sorted(dumps.glob("*")))
        log(f"ingested {app.stats()['papers']} papers in {time.perf_counter() - t0:.1f} s")
        profile = tmp / "reader.toml"
        profile.write_text(PROFILE)
        app.subscribe(profile)
        with app.engine.connect() as c:
            ids = [
                r[0]
                for r in c.execute(
                    text("SELECT id FROM papers ORDER BY title LIMIT :n"), {"n": ratings}
                )
            ]
        times: list[float] = []
        fifths: list[dict] = []
        step = max(1, len(ids) // 5)
        for i, paper in enumerate(ids):
            t = time.perf_counter()
            app.rate("reader@example.org", paper, "up" if i % 4 == 0 else "down")
            times.append(1000 * (time.perf_counter() - t))
            if (i + 1) % step == 0 or i + 1 == len(ids):
                fifth = {
                    "ratings": i + 1,
                    "median_ms": round(statistics.median(times[-step:]), 1),
                    # a tenth of the ratings in a row train afresh, the rest change in place
                    "mean_ms": round(statistics.fmean(times[-step:]), 1),
                    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                }
                log(
                    f"  {i + 1} ratings: {fifth['median_ms']} ms a rating (last {step}'s median; "
                    f"mean {fifth['mean_ms']} ms)"
                )
                fifths.append(fifth)
        return {
            "papers": app.stats()["papers"],
            "ratings": len(ids),
            "embedding_model": embedding_model,
            # the first trains on weak negatives never used before (embedded then, with a model)
            "first_ms": round(times[0], 1),
            "max_ms": round(max(times), 1),
            "by_fifth": fifths,
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python benchmarks/rating_cost.py --papers 45000 --ratings 500\n"
        "  python benchmarks/rating_cost.py --papers 2000 --ratings 100 --json\n"
        "  python benchmarks/rating_cost.py --papers 2000 --ratings 100 \\\n"
        "      --embedding-model all-MiniLM-L6-v2",
    )
    parser.add_argument(
        "--papers",
        type=int,
        default=45_000,
        help="papers listed in the generated dumps (default 45,000; a tenth repeat the day "
        "before, as real listings do, so the catalogue holds about 90%% of them)",
    )
    parser.add_argument("--ratings", type=int, default=500, help="ratings in a row (default 500)")
    parser.add_argument(
        "--embedding-model",
        default="none",
        help="the sentence model (default none: word features only; all-MiniLM-L6-v2 is the "
        "product's)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.papers < 1 or args.ratings < 5:
        parser.error("--papers: 1 or more; --ratings: 5 or more")
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args.papers, args.ratings, Path(tmp), args.embedding_model)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"first rating {result['first_ms']} ms, slowest {result['max_ms']} ms")
        for f in result["by_fifth"]:
            print(
                f"{result['papers']} papers, {f['ratings']} ratings: "
                f"{f['median_ms']} ms a rating (mean {f['mean_ms']} ms), "
                f"peak RSS {f['peak_rss_mb']} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
