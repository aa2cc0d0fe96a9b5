"""Why typed phrases reach few papers in the first days: the phrase cold start split by reach.

The users, days and digests of ``quality.py --cold-start phrases`` (each user signs up with the 3
most frequent tags of their first 3 papers as interest phrases; 200 papers a day; a digest of
10; every shown paper rated). Each library paper that arrives in the first ``--days`` days
(default 5) is a *word-sharing* target when it shares a whole word with the user's phrases (a
BM25 score above 0 under the keyword alert's own analyser: lowercase, English stop words), else
an *other* target. For each method, how many targets of each kind reached a digest: the keyword
alert can only find word-sharing ones, so what a method finds among the others is all it can
add over the alert, whatever it does with the word-sharing ones.

Methods: ``keyword_alert`` (BM25, learning nothing), ``recommender_tfidf`` (words alone, the
product's digest, learning from the ratings as in quality.py), ``recommender_tfidf_static``
(the same model trained once from the phrases, learning nothing: the learning's share is the
difference), and ``recommender`` (with embeddings) unless ``--no-embeddings``. Also: how many
thumbs-up a user of ``recommender_tfidf`` has before each day (what early learning has to go on).

Run from the repository root:
    python benchmarks/phrase_reach.py --data ../shared/data/citeulike-a --users 200 --seed 11
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality as q  # noqa: E402

from recommender import model as rm  # noqa: E402
from recommender.ranking import MAX_DOCUMENT_FREQUENCY  # noqa: E402


class StaticRecommender(q.RecommenderMethod):
    """The recommender trained once from the profile, learning nothing from the ratings."""

    def learn(self, shown: np.ndarray, votes: np.ndarray, seen_until: int) -> None:
        pass


def reach(
    method: q.Method, users: list[q.User], alert: q.KeywordAlertMethod, n: int, days: int, seed: int
) -> dict[str, object]:
    """Targets of the first ``days`` days found by ``method``, word-sharing and other, pooled
    over the users; the mean per-user recall of those days (as quality.py's "days 1-5"); and the
    mean number of thumbs-up a user has before each day (of those the catalogue has)."""
    half = n // 2
    starts = range(half, min(n, half + days * q.BATCH), q.BATCH)
    found = {"word_sharing": 0, "other": 0}
    total = {"word_sharing": 0, "other": 0}
    recalls = []
    ups_before = np.zeros(len(starts))
    for user in users:
        alert.start(user, 0)
        words = alert.q.copy()
        method.start(user, seed * 100_003 + user.uid)
        hits = arrived = ups = 0
        for day, lo in enumerate(starts):
            batch = np.arange(lo, min(lo + q.BATCH, n))
            ups_before[day] += ups
            shown = method.rank(batch, lo)
            digest = set(shown.tolist())
            votes = np.array([1 if int(p) in user.library else -1 for p in shown], dtype=np.int64)
            ups += int((votes > 0).sum())
            for paper in user.future[(user.future >= lo) & (user.future < lo + q.BATCH)]:
                kind = "word_sharing" if float((alert.x[[paper]] @ words)[0]) > 0 else "other"
                total[kind] += 1
                found[kind] += int(paper) in digest
                arrived += 1
                hits += int(paper) in digest
            method.learn(shown, votes, int(batch[-1]) + 1)
        if arrived:
            recalls.append(hits / arrived)
    return {
        "found": found,
        "targets": total,
        "recall_days": float(np.mean(recalls)) if recalls else float("nan"),
        "recall_per_user": recalls,
        "mean_ups_before_day": (ups_before / max(len(users), 1)).round(3).tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--days", type=int, default=5, help="the first days counted (default 5)")
    ap.add_argument("--data", type=Path, default=q.REPO.parent / "shared" / "data" / "citeulike-a")
    ap.add_argument("--no-embeddings", action="store_true", help="skip the embedding variant")
    ap.add_argument("--model", default=rm.DEFAULT_MODEL, help="sentence-transformers model")
    ap.add_argument("--json", action="store_true", help="print one JSON object with the results")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    data = q.load_data(args.data)
    if data.tags is None:
        raise SystemExit(f"{args.data}: needs tags.dat and item-tags.dat")
    half = data.n // 2
    users = q.pick_users(data, args.users, args.seed, phrases=True)
    papers = list(zip(data.titles, data.abstracts, strict=True))
    alert = q.KeywordAlertMethod([f"{t} {a}" for t, a in papers], half)
    phrases = sorted({p for u in users for p in u.phrases})
    first = np.arange(min(data.n, half + args.days * q.BATCH))
    params = rm.DEFAULT_PARAMS

    def recommenders(space: rm.FeatureSpace, x: rm.PaperVectors, embedder: rm.Embedder | None):
        sim = q.day_similarities(x[first], half, q.BATCH)
        pv = q.phrase_vectors(space, phrases, embedder)
        kwargs = {"similarity": sim, "phrases": pv}
        return (
            q.RecommenderMethod(space, x, x, 300, params, **kwargs),
            StaticRecommender(space, x, x, 300, params, **kwargs),
        )

    words_space = rm.FeatureSpace.words_only().fit_idf(papers[:half], max_df=MAX_DOCUMENT_FREQUENCY)
    learning, static = recommenders(words_space, words_space.vectors(papers), None)
    methods: dict[str, q.Method] = {
        "keyword_alert": alert,
        "recommender_tfidf": learning,
        "recommender_tfidf_static": static,
    }
    if not args.no_embeddings and rm.embeddings_available():
        emb, _, model_id = q.cached_embeddings(
            data, args.model, "papers", [rm.paper_text(t, a) for t, a in papers]
        )
        space = rm.FeatureSpace.with_embeddings(model_id, emb.shape[1]).fit_idf(
            papers[:half], max_df=MAX_DOCUMENT_FREQUENCY
        )
        methods["recommender"], _ = recommenders(
            space, space.vectors(papers, emb), rm.Embedder(args.model)
        )
    out = {
        name: reach(m, users, alert, data.n, args.days, args.seed) for name, m in methods.items()
    }
    recalls = {name: r["recall_per_user"] for name, r in out.items()}
    for name, r in out.items():
        if name != "keyword_alert":
            r["paired_vs_keyword_alert"] = q.paired(recalls[name], recalls["keyword_alert"])
    # what learning from the first days' ratings adds, same users
    out["recommender_tfidf"]["paired_vs_static"] = q.paired(
        recalls["recommender_tfidf"], recalls["recommender_tfidf_static"]
    )
    if args.json:
        print(json.dumps({"users": len(users), "seed": args.seed, "days": args.days, **out}))
        return 0
    t = out["keyword_alert"]["targets"]
    print(
        f"{len(users)} users, seed {args.seed}, days 1-{args.days}: {t['word_sharing']} targets "
        f"share a word with the phrases, {t['other']} do not"
    )
    print(f"{'method':>26} {'word-sharing':>13} {'other':>9} {'recall':>8} {'x alert':>8}")
    alert_recall = out["keyword_alert"]["recall_days"]
    for name, r in out.items():
        f = r["found"]
        print(
            f"{name:>26} {f['word_sharing']:>13} {f['other']:>9} {r['recall_days']:8.4f} "
            f"{r['recall_days'] / alert_recall:8.2f}"
        )
    learning = out["recommender_tfidf"]
    print(
        "thumbs-up a user has before each day (recommender_tfidf):", learning["mean_ups_before_day"]
    )
    for name, r in out.items():
        for key in ("paired_vs_keyword_alert", "paired_vs_static"):
            if key in r:
                d = r[key]
                print(f"{name} {key}: {d['mean_difference']:+.4f} ± {d['standard_error']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
