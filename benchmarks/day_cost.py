"""The whole cost of a day, by number of subscribers: the recommender against arxiv-sanity-lite.

One day of new papers (the last ``--papers`` of the catalogue; everything before them is the
database) is served to S subscribers, each with a history of ``--ratings`` rated papers (up to
a fifth of them up-rated papers of their real library, the rest down-rated other papers) and 3
liked papers from their library in their profile. The last 10 rated papers are yesterday's
digest, learned from today.

The recommender's day, by the product's own code (``recommender.model``, ``recommender.selection``
through ``benchmarks/quality.py``'s ``RecommenderMethod`` and ``choose_digest``):

- once: embed the day's papers with the sentence model (real timing on this CPU; the model's
  loading is reported apart, as the service keeps it loaded), their feature vectors (hashed
  words + embedding) and their pairwise similarities (for the digest's diversity);
- per subscriber: take yesterday's votes as the product takes them, each as it came
  (``model.update``, the model trained afresh, weak negatives included, by ``model.train``
  every tenth; ``--votes daily``: one training on all of them, as the digest job retrains a
  stale model), score the
  day's papers (all subscribers' models in one ``model.score``, as the digest job does), choose
  the digest (``selection.shortlist`` + ``choose``, exploration on).

arxiv-sanity-lite's day (``quality.ArxivSanityMethod``): once, its TF-IDF fit and transform
over the whole database (as its ``compute.py`` does); per subscriber, one LinearSVC fit on the
whole database and the scores of the day's papers.

Each point (method, S) runs ``--repeats`` times, the two methods in turn (so that both see
the same load from other work), each in a forked process of its own so that its
peak RSS is its own (the parent's pages count in it once the child touches them: the catalogue,
the stored vectors, the libraries; ``baseline`` is the parent's resident memory at the fork);
the medians are reported. Every step runs on ``--threads`` threads (BLAS and
torch), 1 by default as one digest worker. Progress goes to stderr.

Example, from the repository root:

    python benchmarks/day_cost.py --papers 200 --subscribers 1,10,100,1000 --ratings 50 --json

Earlier papers' embeddings come from ``quality.py``'s cache (computed once if missing).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import quality as q  # noqa: E402
from recommender import model as rm  # noqa: E402
from recommender.ranking import (  # noqa: E402
    MAX_DOCUMENT_FREQUENCY,
    UPDATES_BETWEEN_TRAININGS,
    WEAK_NEGATIVES,
)

log = q.log


def peak_mb() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_mb() -> float:
    """This process's resident memory now (a forked child's peak starts from it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (other work shares the cores)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class History:
    """A subscriber's state on the morning of the day."""

    user: q.User
    rated: list[int]  # papers rated before yesterday
    votes: list[int]
    shown: np.ndarray  # yesterday's digest
    shown_votes: np.ndarray


def histories(data: q.Data, day_start: int, n: int, ratings: int, seed: int) -> list[History]:
    """``n`` subscribers made from the catalogue's readers (reused in turn if too few)."""
    rng = np.random.default_rng(seed)
    eligible = [
        u for u, lib in enumerate(data.libraries) if (lib < day_start).sum() >= q.N_LIKED + 1
    ]
    if not eligible:
        raise SystemExit("--data: no reader has enough papers before the day")
    chosen = rng.permutation(eligible)
    out = []
    for i in range(n):
        uid = int(chosen[i % len(chosen)])
        library = data.libraries[uid]
        before = rng.permutation(library[library < day_start])
        liked, ups = np.sort(before[: q.N_LIKED]), before[q.N_LIKED :][: max(1, ratings // 5)]
        others = np.setdiff1d(np.arange(day_start), library)
        downs = rng.choice(others, size=min(len(others), max(0, ratings - len(ups))), replace=False)
        rated = rng.permutation(np.concatenate([ups, downs]).astype(np.int64))
        votes = np.where(np.isin(rated, library), 1, -1)
        user = q.User(uid, liked, np.zeros(0, np.int64), frozenset(library.tolist()))
        cut = max(0, len(rated) - q.DIGEST)
        out.append(
            History(user, rated[:cut].tolist(), votes[:cut].tolist(), rated[cut:], votes[cut:])
        )
    return out


# ------------------------------------------------------------------------------------------
# the two days; each runs in a forked child (state set up by the parent in _STATE)

_STATE: dict[str, Any] = {}


def _timed(spent: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    spent[name] = spent.get(name, 0.0) + now - started
    return now


def recommender_day(n_subscribers: int) -> dict[str, float]:
    """The recommender's day for the first ``n_subscribers``: seconds by step, peak RSS."""
    s = _STATE
    data, day, space, threads = s["data"], s["day"], s["space"], s["threads"]
    _limit_threads(threads)
    papers = [(data.titles[i], data.abstracts[i]) for i in day]
    spent: dict[str, float] = {}
    t = time.perf_counter()
    emb = None
    if space.has_embeddings:
        embedder = rm.Embedder(s["model"])
        embedder.embed_texts(["warm-up"])
        t = _timed(spent, "model_load", t)
        emb = embedder.embed_texts([rm.paper_text(*p) for p in papers], batch_size=64)
        t = _timed(spent, "embed", t)
    x_day = space.vectors(papers, emb)
    similarity = q.day_similarities(x_day, 0, len(day))
    t = _timed(spent, "vectors", t)
    users = s["recommender"][:n_subscribers]
    for method, h in zip(users, s["histories"][:n_subscribers], strict=True):
        # yesterday's votes, one by one or in one training (--votes)
        method.learn(h.shown, h.shown_votes, int(day[0]))
    t = _timed(spent, "train", t)
    scores = rm.score([m.model for m in users], x_day)
    t = _timed(spent, "score", t)
    for method, row in zip(users, scores, strict=True):
        q.choose_digest(row, similarity[0], method.uid)
    _timed(spent, "choose", t)
    spent["peak_mb"] = peak_mb()
    return spent


def arxiv_sanity_day(n_subscribers: int) -> dict[str, float]:
    """arxiv-sanity-lite's day for the first ``n_subscribers``: seconds by step, peak RSS."""
    s = _STATE
    data, day = s["data"], s["day"]
    _limit_threads(s["threads"])
    texts = [f"{t} {a}" for t, a in zip(data.titles, data.abstracts, strict=True)]
    spent: dict[str, float] = {}
    t = time.perf_counter()
    tfidf = q.arxiv_sanity_tfidf()
    tfidf.fit(texts)
    x = tfidf.transform(texts).astype(np.float32).tocsr()
    t = _timed(spent, "tfidf", t)
    for h in s["histories"][:n_subscribers]:
        method = q.ArxivSanityMethod(x)
        method.start(h.user, 0)
        method.pos.update(np.asarray(h.rated)[np.asarray(h.votes) > 0].tolist())
        t = time.perf_counter()  # the setting up above is yesterday's state, not today's work
        method.learn(h.shown, h.shown_votes, int(day[0]))
        method.rank(day, int(day[0]))  # one SVM on the whole database, the day's scores
        t = _timed(spent, "svm", t)
    spent["peak_mb"] = peak_mb()
    return spent


DAYS = {"recommender": recommender_day, "arxiv_sanity_lite": arxiv_sanity_day}
SHARED = {"recommender": ("embed", "vectors"), "arxiv_sanity_lite": ("tfidf",)}
PER_SUBSCRIBER = {"recommender": ("train", "score", "choose"), "arxiv_sanity_lite": ("svm",)}


def _limit_threads(threads: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    if "torch" in sys.modules or _STATE["space"].has_embeddings:
        import torch

        torch.set_num_threads(threads)


def _in_child(args: tuple[str, int]) -> dict[str, float]:
    name, n_subscribers = args
    return DAYS[name](n_subscribers)


def run_day(name: str, n_subscribers: int) -> dict[str, float]:
    """One day of ``name`` for ``n_subscribers``, in a forked process of its own."""
    with mp.get_context("fork").Pool(1) as pool:
        return pool.apply(_in_child, ((name, n_subscribers),))


def run_points(counts: list[int], repeats: int) -> dict[str, dict[int, dict[str, Any]]]:
    """Each method's points; the two days alternate, so that both see the same load."""
    runs: dict[str, dict[int, list[dict[str, float]]]] = {n: {s: [] for s in counts} for n in DAYS}
    for s in counts:
        for _ in range(repeats):
            for name in DAYS:
                runs[name][s].append(run_day(name, s))
    return {name: {s: summary(name, s, runs[name][s]) for s in counts} for name in DAYS}


def summary(name: str, n_subscribers: int, runs: list[dict[str, float]]) -> dict[str, Any]:
    """Median seconds of each step (and peak RSS) over the runs of one point."""
    steps = {k: float(np.median([r.get(k, 0.0) for r in runs])) for k in runs[0]}
    shared = float(np.median([sum(r.get(k, 0.0) for k in SHARED[name]) for r in runs]))
    per = float(np.median([sum(r.get(k, 0.0) for k in PER_SUBSCRIBER[name]) for r in runs]))
    total = float(
        np.median([sum(r.get(k, 0.0) for k in SHARED[name] + PER_SUBSCRIBER[name]) for r in runs])
    )
    point = {
        "steps_seconds": steps,
        "shared_seconds": shared,
        "subscribers_seconds": per,
        "ms_per_subscriber_day": 1000 * per / n_subscribers,
        "whole_day_seconds": total,
        "peak_mb": steps.pop("peak_mb"),
        "runs": runs,
    }
    log(
        f"{name:>18} S={n_subscribers:>5}: day {total:8.2f} s (shared {shared:.2f} s, "
        f"{point['ms_per_subscriber_day']:.2f} ms/subscriber-day), peak {point['peak_mb']:.0f} MB"
    )
    return point


def cheaper_from(extra_shared: float, saved_per_subscriber: float) -> int | None:
    """The fewest subscribers for whom a day that costs ``extra_shared`` seconds more once but
    ``saved_per_subscriber`` seconds less per subscriber is cheaper, and stays cheaper with more;
    None: none (it is dearer, or only cheaper for a few)."""
    if saved_per_subscriber <= 0:
        return 1 if extra_shared < 0 and saved_per_subscriber == 0 else None
    if extra_shared < 0:
        return 1
    return int(np.floor(extra_shared / saved_per_subscriber)) + 1


def crossover(points: dict[str, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    """Where the recommender's whole day gets cheaper than arxiv-sanity-lite's, from the shared
    costs (medians over the points) and the per-subscriber costs (at the largest S)."""
    largest = max(points["recommender"])
    out: dict[str, Any] = {}
    for name in DAYS:
        out[name] = {
            "shared_seconds": float(
                np.median([p["shared_seconds"] for p in points[name].values()])
            ),
            "ms_per_subscriber_day": points[name][largest]["ms_per_subscriber_day"],
        }
    r, a = out["recommender"], out["arxiv_sanity_lite"]
    load = float(
        np.median(
            [p["steps_seconds"].get("model_load", 0.0) for p in points["recommender"].values()]
        )
    )
    out["recommender"]["model_load_seconds"] = load
    gap = r["shared_seconds"] - a["shared_seconds"]
    saved = (a["ms_per_subscriber_day"] - r["ms_per_subscriber_day"]) / 1000
    out["cheaper_from_subscribers"] = cheaper_from(gap, saved)
    # if the model were loaded every day (a process per day, not the long-running service)
    out["cheaper_from_subscribers_with_model_load"] = cheaper_from(gap + load, saved)
    out["per_subscriber_ratio"] = r["ms_per_subscriber_day"] / a["ms_per_subscriber_day"]
    out["target_tenth_met"] = out["per_subscriber_ratio"] <= 0.1
    return out


def set_up(args: argparse.Namespace, data: q.Data, day: np.ndarray, most: int) -> None:
    """What the service holds before the day: the frozen feature space, the earlier papers'
    vectors, each subscriber's ratings (untimed)."""
    lo = int(day[0])
    papers = list(zip(data.titles, data.abstracts, strict=True))
    subscribers = histories(data, lo, most, args.ratings, args.seed)
    if args.no_embeddings:
        space, x_before = rm.FeatureSpace.words_only(), None
    else:
        emb, _, model_id = q.cached_embeddings(
            data, args.model, "papers", [rm.paper_text(t, a) for t, a in papers]
        )
        space = rm.FeatureSpace.with_embeddings(model_id, emb.shape[1])
        x_before = emb[:lo]
    space = space.fit_idf(papers[:lo], max_df=MAX_DOCUMENT_FREQUENCY)
    x = space.vectors(papers[:lo], x_before)
    methods = []
    for h in subscribers:
        one_by_one = args.votes == "one-by-one"
        m = q.RecommenderMethod(
            space, x, x, args.weak, rm.DEFAULT_PARAMS, similarity=None, one_by_one=one_by_one
        )
        m.start(h.user, args.seed * 100_003 + h.user.uid)
        m.rated, m.votes = list(h.rated), list(h.votes)
        m.excluded.update(h.rated)
        if one_by_one:
            m._fit(lo)  # yesterday's model, trained on the history: it takes today's votes
        else:
            del m.model  # trained in the timed part, on the history and today's votes
        methods.append(m)
    _STATE.update(
        data=data,
        day=day,
        space=space,
        histories=subscribers,
        recommender=methods,
        model=args.model,
        threads=args.threads,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python benchmarks/day_cost.py --papers 200 --subscribers 1,10,100,1000 "
        "--ratings 50 --repeats 3 --json",
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "data" / "citeulike-a",
        help="catalogue in quality.py's format (default ../shared/data/citeulike-a)",
    )
    ap.add_argument("--papers", type=int, default=200, help="papers a day (default 200)")
    ap.add_argument(
        "--subscribers",
        default="1,10,100,1000",
        help="numbers of subscribers (default 1,10,100,1000)",
    )
    ap.add_argument("--ratings", type=int, default=50, help="ratings per subscriber (default 50)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="runs per point; medians (default 3)")
    ap.add_argument("--threads", type=int, default=1, help="threads per step (default 1)")
    ap.add_argument(
        "--votes",
        choices=("one-by-one", "daily"),
        default="one-by-one",
        help="yesterday's votes taken each as it came, as the product takes them (default: "
        "the model changed in place, trained afresh every "
        f"{UPDATES_BETWEEN_TRAININGS + 1}), or in one training, as the digest job retrains a "
        "stale model",
    )
    ap.add_argument("--weak", type=int, default=WEAK_NEGATIVES, help="weak negatives per training")
    ap.add_argument("--model", default=rm.DEFAULT_MODEL, help="sentence-transformers model")
    ap.add_argument("--no-embeddings", action="store_true", help="hashed words alone, no model")
    ap.add_argument("--json", action="store_true", help="print one JSON object with the results")
    args = ap.parse_args(argv)
    try:
        counts = sorted({int(c) for c in args.subscribers.split(",") if c.strip()})
    except ValueError:
        raise SystemExit(f"--subscribers: not a list of numbers: {args.subscribers!r}") from None
    if not counts or counts[0] < 1:
        raise SystemExit("--subscribers: give numbers of 1 or more, e.g. 1,10,100")
    if args.ratings < q.DIGEST:
        raise SystemExit(f"--ratings: at least {q.DIGEST} (yesterday's digest)")
    if not args.no_embeddings and not rm.embeddings_available():
        raise SystemExit("sentence-transformers is not installed: use --no-embeddings")

    if not (args.data / "papers.jsonl").is_file() or not (args.data / "users.dat").is_file():
        raise SystemExit(f"--data: {args.data} has no papers.jsonl and users.dat")
    data = q.load_data(args.data)
    if not 0 < args.papers < data.n // 2:
        raise SystemExit(f"--papers: between 1 and {data.n // 2 - 1} for this catalogue")
    day = np.arange(data.n - args.papers, data.n)
    load_before = load_average()
    set_up(args, data, day, counts[-1])
    baseline = resident_mb()
    log(f"{data.n} papers, the day's {args.papers}; load {load_before}; baseline {baseline:.0f} MB")
    points = run_points(counts, args.repeats)
    result = {
        "papers": data.n,
        "papers_a_day": args.papers,
        "ratings": args.ratings,
        "seed": args.seed,
        "repeats": args.repeats,
        "threads": args.threads,
        "votes": args.votes,
        "embeddings": not args.no_embeddings,
        "load_average": {"before": load_before, "after": load_average()},
        "baseline_mb": baseline,
        "points": {name: {str(s): p for s, p in by.items()} for name, by in points.items()},
        "crossover": crossover(points),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(points, result["crossover"])
    return 0


def print_table(points: dict[str, dict[int, dict[str, Any]]], cross: dict[str, Any]) -> None:
    r, a = points["recommender"], points["arxiv_sanity_lite"]
    print(f"{'subscribers':>11} {'recommender s':>14} {'arxiv-sanity s':>15} {'ratio':>6}")
    for s in r:
        rw, aw = r[s]["whole_day_seconds"], a[s]["whole_day_seconds"]
        print(f"{s:>11} {rw:14.2f} {aw:15.2f} {rw / aw:6.2f}")
    at = cross["cheaper_from_subscribers"]
    print(f"recommender cheaper from {at} subscribers" if at else "recommender never cheaper")
    print(f"per subscriber-day: {cross['per_subscriber_ratio']:.3f} of arxiv-sanity-lite's")


if __name__ == "__main__":
    raise SystemExit(main())
