"""How alike a named interest and the papers on its topic are, against the papers on others:
the measurement behind :data:`recommender.interests.AFFINITY_FLOOR`.

The three real dumps (../shared/dumps) are ingested into a fresh SQLite database; a profile
has three named interests of one phrase each ("mixture of experts", "reinforcement learning",
"medical imaging", the newcomer of issue 16). Each paper's affinity to each interest is
computed as steering computes it (:mod:`recommender.digests.steering`: the interest's unit
vectors against the paper's, greatest cosine). A paper is on an interest's topic when its
title or abstract has one of the topic's words (the list the ranking test uses). Printed per
interest: the on-topic papers' affinities (lowest, median, highest) and the best affinity of a
paper on none of the three topics (a paper on another of the three counts as off-topic too:
the figure ``best other``).

Run from the repository root:  python benchmarks/interest_floor.py [--embeddings MODEL|none]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from recommender import model  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.core import Recommender  # noqa: E402
from recommender.digests import steering  # noqa: E402
from recommender.ranking import Scope  # noqa: E402
from recommender.store import subscribers as subscriber_store  # noqa: E402
from recommender.store.models import Paper  # noqa: E402

EMAIL = "floor@example.org"
# The words that put a paper on a topic (as tests/test_ranking.py's NEWCOMER_TOPICS).
TOPICS = {
    "mixture of experts": ("mixture-of-experts", "mixture of experts", "moe"),
    "reinforcement learning": ("reinforcement learning", "rl"),
    "medical imaging": ("medical", "mri", "cancer", "clinical", "x-ray", "tumor", "diagnosis"),
}


def on_topic(words: tuple[str, ...], text: str) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text.lower()) for w in words)


def measure(dumps: list[Path], embedding_model: str) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings = Settings(
            home=home / "home",
            database_url=f"sqlite:///{home / 'floor.db'}",
            embedding_model=embedding_model,
        )
        profile = home / "floor.toml"
        profile.write_text(
            f'email = "{EMAIL}"\n'
            + "".join(
                f'[[interest]]\nname = "{t}"\nphrases = ["{t}"]\nshare = 0.3\n' for t in TOPICS
            )
        )
        with Recommender(settings) as app:
            app.ingest(dumps)
            app.subscribe(profile)
            ranker = app.ranker
            with app._session() as session:  # a measurement: the facade has no such read
                scope = Scope(session, app._space())
                subscriber = subscriber_store.get_subscriber(session, EMAIL)
                topics = subscriber_store.topics_of(subscriber)
                papers = list(session.scalars(select(Paper).order_by(Paper.id)))
                texts = [f"{p.title}\n{p.abstract}" for p in papers]
                matrix = ranker.paper_vectors(scope, papers).to_matrix()
                vectors = [steering._interest_vectors(ranker, scope, t, {}, {}) for t in topics]
                affinities = steering.interests.affinity(steering._unit(matrix), vectors)
    out: dict[str, dict[str, float]] = {}
    ons = [np.array([on_topic(words, t) for t in texts], dtype=bool) for words in TOPICS.values()]
    for j, name in enumerate(TOPICS):
        on = ons[j]
        mine = affinities[on, j]
        out[name] = {
            "papers": int(on.sum()),
            "lowest": float(mine.min()),
            "median": float(np.median(mine)),
            "highest": float(mine.max()),
            "best_other": float(affinities[~on, j].max()),
            "other_p90": float(np.quantile(affinities[~on, j], 0.9)),
            "other_p99": float(np.quantile(affinities[~on, j], 0.99)),
            "on_p25": float(np.quantile(mine, 0.25)),
            "catalogue": len(texts),
        }
    # the floor that best tells on-topic pairs from off-topic ones, over the three interests:
    # most on-topic pairs above it and off-topic ones at or below it (Youden's J)
    on_all = np.concatenate([affinities[ons[j], j] for j in range(len(TOPICS))])
    off_all = np.concatenate([affinities[~ons[j], j] for j in range(len(TOPICS))])
    grid = np.round(np.arange(0.0, 0.6, 0.01), 2)
    j_of = [(on_all > t).mean() - (off_all > t).mean() for t in grid]
    best = int(np.argmax(j_of))
    out["all"] = {
        "floor_by_youden": float(grid[best]),
        "on_above": float((on_all > grid[best]).mean()),
        "off_above": float((off_all > grid[best]).mean()),
    }
    # the lowest floor that lets at most 0.5% of off-topic pairs in (the words floor's rule)
    rare = next(float(t) for t in grid if (off_all > t).mean() <= 0.005)
    out["all"]["floor_off_topic_0.5%"] = rare
    out["all"]["its_on_above"] = float((on_all > rare).mean())
    for t in (0.1, 0.2, 0.25, 0.3, 0.35):
        out["all"][f"at_{t}_on_above"] = float((on_all > t).mean())
        out["all"][f"at_{t}_off_above"] = float((off_all > t).mean())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dumps", type=Path, default=REPO.parent / "shared" / "dumps")
    ap.add_argument("--embeddings", default=model.DEFAULT_MODEL, help="model, or none")
    args = ap.parse_args(argv)
    dumps = sorted(args.dumps.glob("*.txt"))
    if not dumps:
        raise SystemExit(f"--dumps: no *.txt dump in {args.dumps}")
    for name, row in measure(dumps, args.embeddings).items():
        print(
            f"{name:>24}: "
            + "  ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
