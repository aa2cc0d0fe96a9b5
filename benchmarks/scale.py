"""Scale: retrain and score every subscriber, at the size of a busy installation.

A day of new papers (default 2,000) scored for every subscriber (10,000, with 50 ratings
each), over a corpus of 100,000 papers, with the project's own pure model
(``recommender.model``: ``train``, ``stack_models``, ``score``) on its real feature space
(hashed words of generated titles and abstracts, plus a 384-dimensional embedding block).

    python benchmarks/scale.py            # the full size
    python benchmarks/scale.py --users 1000 --corpus 20000 --json

The embedding block holds random unit vectors: computing 100,000 real sentence embeddings
takes hours on this machine's CPU and is done once per paper anyway (its throughput is in
``quality.py``). Each phase runs in a process of its own, so its peak memory is its own:
retraining writes the models to a file (as the service keeps them in its database), and
scoring reads them back a block of users at a time and keeps each subscriber's top 10.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.ingest import _abstract, _title, _vocabulary  # noqa: E402
from benchmarks.quality import add_embedding_words, embedding_space  # noqa: E402
from recommender import model  # noqa: E402

EMBEDDING_DIM = 384
USER_BLOCK = 1000


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def space(words: tuple[str, int]) -> model.FeatureSpace:
    """The space of a new installation with embeddings, with the word block ``words``
    (``--embedding-words``; default: the product's)."""
    return embedding_space(words, "random-384", EMBEDDING_DIM)


def papers(n: int, seed: int) -> list[tuple[str, str]]:
    rng, vocab = random.Random(seed), _vocabulary()
    return [(_title(rng, i), _abstract(rng, vocab, i)) for i in range(n)]


def embeddings(n: int, seed: int) -> np.ndarray:
    e = np.random.default_rng(seed).standard_normal((n, EMBEDDING_DIM)).astype(np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def retrain_all(args: argparse.Namespace, models_file: Path, out: dict) -> None:
    s = space(args.embedding_words)
    t0 = time.perf_counter()
    corpus = s.vectors(papers(args.corpus, args.seed), embeddings(args.corpus, args.seed))
    out["corpus_features_s"] = round(time.perf_counter() - t0, 1)
    prior_texts = [(f"interest {k}", "") for k in range(64)]
    priors = s.vectors(prior_texts, embeddings(64, args.seed + 1))
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    biases: list[float] = []
    with open(models_file, "wb") as f:
        for user in range(args.users):
            rated = rng.choice(args.corpus, size=args.ratings, replace=False)
            votes = np.where(rng.random(args.ratings) < 0.3, 1, -1)
            weak = rng.choice(args.corpus, size=300, replace=False)
            prior = priors[[user % 64, (user * 7 + 3) % 64]]
            trained = model.train(s, prior, corpus[rated], votes, corpus[weak])
            f.write(trained.weights.astype("<f4").tobytes())
            biases.append(trained.bias)
            if (user + 1) % max(1, args.users // 10) == 0:
                log(f"  retrained {user + 1}/{args.users}")
    np.asarray(biases, dtype="<f4").tofile(_biases_file(models_file))
    seconds = time.perf_counter() - t0
    out.update(
        retrain_all_s=round(seconds, 1),
        retrain_ms_per_user=round(1000 * seconds / args.users, 2),
        retrain_peak_rss_mb=round(peak_mb()),
    )


def score_all(args: argparse.Namespace, models_file: Path, out: dict) -> None:
    s = space(args.embedding_words)
    day = s.vectors(papers(args.day, args.seed + 99), embeddings(args.day, args.seed + 99))
    base = peak_mb()
    runs = [_score_once(args, s, day, models_file) for _ in range(args.repeat)]
    median = sorted(runs, key=lambda run: run["score_all_s"])[len(runs) // 2]
    out.update(
        day_word_features_per_paper=round(day.words.nnz / max(1, len(day)), 1),
        **median,
        score_all_runs_s=[run["score_all_s"] for run in runs],
        score_threads=args.threads or os.cpu_count(),
        score_peak_rss_mb=round(peak_mb()),
        score_rss_above_day_features_mb=round(peak_mb() - base),
    )


def _score_once(
    args: argparse.Namespace, s: model.FeatureSpace, day: model.PaperVectors, models_file: Path
) -> dict:
    """Read every model back a block at a time, score the day and keep each one's top 10."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    tops = np.empty((args.users, 10), dtype=np.int32)
    biases = np.fromfile(_biases_file(models_file), dtype="<f4")
    block = np.empty((USER_BLOCK, s.dim), dtype="<f4")  # one block's weights, read into anew
    reading = ranking = 0.0
    with open(models_file, "rb") as f:
        for lo in range(0, args.users, USER_BLOCK):
            n = min(USER_BLOCK, args.users - lo)
            t1 = time.perf_counter()
            weights = block[:n]
            if f.readinto(memoryview(weights).cast("B")) != weights.nbytes:
                raise SystemExit(f"{models_file}: fewer models than --users {args.users}")
            t2 = time.perf_counter()
            matrix = model.ModelMatrix(weights, biases[lo : lo + n], s.id)
            scores = model.score(matrix, day, threads=args.threads)
            top = np.argpartition(-scores, 10, axis=1)[:, :10]
            order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
            tops[lo : lo + n] = np.take_along_axis(top, order, axis=1)
            reading, ranking = reading + t2 - t1, ranking + time.perf_counter() - t2
    return {
        "score_all_s": round(time.perf_counter() - t0, 2),
        "score_reading_models_s": round(reading, 2),
        "score_scoring_and_top10_s": round(ranking, 2),
        "score_all_cpu_s": round(time.process_time() - cpu0, 2),
        "top10_checksum": int(tops.sum()),
    }


def _biases_file(models_file: Path) -> Path:
    """The models' biases, apart, so that a block of weights reads straight into a matrix."""
    return models_file.with_suffix(".biases")


def _phase(name: str, args: argparse.Namespace, models_file: Path, queue) -> None:  # type: ignore[no-untyped-def]
    out: dict = {}
    (retrain_all if name == "retrain" else score_all)(args, models_file, out)
    queue.put(out)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python benchmarks/scale.py --json --repeat 5                # the full size\n"
        "  python benchmarks/scale.py --users 1000 --corpus 20000 --embedding-words w2-h15",
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--ratings", type=int, default=50)
    parser.add_argument("--corpus", type=int, default=100_000)
    parser.add_argument("--day", type=int, default=2_000, help="new papers to score")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=None, help="scoring threads (default: one per CPU)"
    )
    add_embedding_words(parser, "the space")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="score the day this many times, reading the models anew each time, and report "
        "the median run (default 3: one run's wall time varies by a third on a shared machine)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads: {args.threads}, expected 1 or more")
    if args.repeat < 1:
        parser.error(f"--repeat: {args.repeat}, expected 1 or more")
    result: dict = {k: getattr(args, k) for k in ("users", "ratings", "corpus", "day")}
    s = space(args.embedding_words)
    result["word_block"] = s.word_block
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        models_file = Path(tmp) / "models.f32"
        for name in ("retrain", "score"):
            log(f"{name} ...")
            queue = context.Queue()
            process = context.Process(target=_phase, args=(name, args, models_file, queue))
            process.start()
            result.update(queue.get())
            process.join()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>32}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
