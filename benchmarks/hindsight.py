"""How far the product's model could rank if it knew more of a reader's library: a ceiling
for ``benchmarks/quality.py`` (benchmarks/RESULTS.md, "What the centroid could do with
hindsight").

The same users, days and features as ``quality.py``; each user's model is trained once, by
``recommender.model.train`` (the centroid difference against 300 weak negatives, as in the
product), from a set of known positives, and ranks every day's papers with a plain top 10. No
ratings, no learning, no selection. The positives:

- ``profile``: the 3 liked papers a simulated user signs up with (the product's first day);
- ``back_library``: every library paper of the back catalogue (a reader who listed all the
  papers they had saved before signing up);
- ``whole_library``: every library paper, the arriving ones included (hindsight: the model
  knows the answers; the most a centroid in this space can do).

Recall is ``quality.py``'s (library papers in a day's 10, over the arriving library papers).
The gap between ``profile`` and ``quality.py``'s figure is what the ratings teach; the gap
to ``whole_library`` is what no reweighting of the same features can add without more known
positives.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import quality as q  # noqa: E402
from recommender import model as rm  # noqa: E402

ARMS = ("profile", "back_library", "whole_library")
WEAK = 300

EXAMPLES = """\
examples:
  python benchmarks/hindsight.py --users 150 --seed 0
  python benchmarks/hindsight.py --users 150 --seed 0 --no-embeddings --json
"""


def positives(user: q.User, half: int) -> dict[str, np.ndarray]:
    """Each arm's known positives for ``user``."""
    library = np.array(sorted(user.library), dtype=np.int64)
    return {
        "profile": user.liked,
        "back_library": library[library < half],
        "whole_library": library,
    }


def recall(model: rm.UserModel, x: rm.PaperVectors, user: q.User, half: int, batch: int) -> float:
    """The share of the user's arriving library papers in each day's plain top 10."""
    n = len(x)
    hits = 0
    for lo in range(half, n, batch):
        day = np.arange(lo, min(lo + batch, n))
        top = day[np.argsort(-rm.score(model, x[day]), kind="stable")[: q.DIGEST]]
        hits += sum(int(p) in user.library for p in top)
    return hits / len(user.future)


def run(
    space: rm.FeatureSpace,
    x: rm.PaperVectors,
    users: list[q.User],
    half: int,
    args: argparse.Namespace,
) -> dict[str, list[float]]:
    """Each arm's recall, a user at a time (same weak negatives in every arm of a user)."""
    per_user: dict[str, list[float]] = {arm: [] for arm in ARMS}
    for user in users:
        rng = np.random.default_rng(args.seed * 100_003 + user.uid)
        draw = rng.integers(0, half, size=WEAK + len(user.library))
        weak = [i for i in dict.fromkeys(draw.tolist()) if i not in user.library][:WEAK]
        for arm, known in positives(user, half).items():
            model = rm.train(space, x[known], None, [], x[weak])
            per_user[arm].append(recall(model, x, user, half, args.batch))
    return per_user


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "data" / "citeulike-a",
        help="a catalogue in CiteULike-a's format (default ../shared/data/citeulike-a)",
    )
    ap.add_argument("--users", type=int, default=150, help="simulated users (default 150)")
    ap.add_argument("--seed", type=int, default=0, help="which users (quality.py's seeds)")
    ap.add_argument("--batch", type=int, default=q.BATCH, help=f"papers a day (default {q.BATCH})")
    ap.add_argument(
        "--no-embeddings",
        action="store_true",
        help="the words-only space (default: with embeddings, as quality.py)",
    )
    ap.add_argument(
        "--model",
        default=rm.DEFAULT_MODEL,
        help="sentence-transformers model (a name or a local directory)",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object with the results")
    args = ap.parse_args(argv)
    threadpool_limits(1)

    data = q.load_data(args.data)
    half = data.n // 2
    users = q.pick_users(data, args.users, args.seed)
    papers = list(zip(data.titles, data.abstracts, strict=True))
    if args.no_embeddings:
        space = rm.FeatureSpace.words_only()
        space = space.fit_idf(papers[:half], max_df=q.MAX_DOCUMENT_FREQUENCY)
        x = space.vectors(papers)
    else:
        if not rm.embeddings_available():
            ap.error("sentence-transformers is not installed: use --no-embeddings")
        texts = [rm.paper_text(t, a) for t, a in papers]
        emb, _, model_id = q.cached_embeddings(data, args.model, "papers", texts)
        words = (q.EMBEDDING_SPACE_TOKENIZER, q.EMBEDDING_SPACE_HASH_BITS)
        space = q.embedding_space(words, model_id, emb.shape[1])
        space = space.fit_idf(papers[:half], max_df=q.MAX_DOCUMENT_FREQUENCY)
        x = space.vectors(papers, emb)
    per_user = run(space, x, users, half, args)
    out: dict[str, object] = {
        "users": len(users),
        "seed": args.seed,
        "space": "words" if args.no_embeddings else f"embeddings ({args.model})",
        "positives_per_user": {
            arm: float(np.mean([len(positives(u, half)[arm]) for u in users])) for arm in ARMS
        },
        "recall": {arm: float(np.mean(v)) for arm, v in per_user.items()},
        "paired_vs_profile": {
            arm: q.paired(per_user[arm], per_user["profile"]) for arm in ARMS[1:]
        },
    }
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(
        f"{out['users']} users, seed {args.seed}, {out['space']}; plain top {q.DIGEST}, no learning"
    )
    for arm in ARMS:
        line = f"{arm:>14}: recall {out['recall'][arm]:.4f}"  # type: ignore[index]
        line += f"  ({out['positives_per_user'][arm]:.1f} known positives a user)"  # type: ignore[index]
        if arm != "profile":
            p = out["paired_vs_profile"][arm]  # type: ignore[index]
            line += f"  paired vs profile {p['mean_difference']:+.4f} ± {p['standard_error']:.4f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
