"""How often a reason is true: the share of the terms a digest names ("about ...") that occur
in the subscriber's own texts, the interest phrases, liked papers and thumbs-up they gave.

The real dumps (``--dumps``) are ingested into a fresh SQLite database, and ``--profiles``
subscribers are made at random (``--seed``): half sign up with 3 interest phrases (from
:data:`PHRASES`), half with 2 liked papers of the catalogue and ``--ratings`` ratings of other
papers (a third of them up). Each subscriber's whole ranking is explained by the product's own
path (``Recommender.recommend``, every paper they have not rated), and each term named is
looked up as a whole word or phrase, ignoring case, in the texts the subscriber gave. A term
the model weighs up only through a column it shares with another term by hashing is not in
them; nor is a term of the thumbs-down papers (the model weighs those down).

Printed per kind of profile: terms named, the share found in the subscriber's texts, the
terms named most often that are not, and what ``recommend`` took a paper ranked and explained
(the first ranking, which embeds the papers, untimed).

Run from the repository root:

    python benchmarks/reasons.py                       # with the default embedding model
    python benchmarks/reasons.py --embeddings none     # word features alone
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from recommender import model  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.core import Recommender  # noqa: E402
from recommender.results import PaperInfo  # noqa: E402
from recommender.store.papers import PaperQuery  # noqa: E402

# Topics the three real dumps hold papers on.
PHRASES = (
    "mixture of experts",
    "reinforcement learning",
    "medical imaging",
    "diffusion models",
    "video generation",
    "language models",
    "image segmentation",
    "code generation",
    "speech recognition",
    "3d reconstruction",
    "robot manipulation",
    "graph neural networks",
)


def found_in(term: str, text: str) -> bool:
    """Whether ``term`` occurs in ``text`` (lower case) as a whole word or phrase, a hyphen
    and a space alike ("medical-imaging" is "medical imaging")."""
    words = re.split(r"[-\s]+", term.lower().strip())
    pattern = r"(?<![a-z0-9])" + r"[-\s]+".join(map(re.escape, words)) + r"(?![a-z0-9])"
    return re.search(pattern, text) is not None


def random_profile(
    n: int, rng: np.random.Generator, papers: list[PaperInfo], ratings: int
) -> tuple[str, str, list[str], list[PaperInfo]]:
    """The ``n``-th subscriber: their kind, their profile's fields (TOML), the texts they give,
    and the papers they rate (a third of them up, the first of every three)."""
    if n % 2 == 0:
        phrases = [str(p) for p in rng.choice(PHRASES, size=3, replace=False)]
        return "phrases", f"interests = {json.dumps(phrases)}\n", phrases, []
    picked = [papers[i] for i in rng.choice(len(papers), size=2 + ratings, replace=False)]
    liked, rated = picked[:2], picked[2:]
    fields = f"liked = {json.dumps([p.title for p in liked])}\n"
    return "papers", fields, [f"{p.title}\n{p.abstract}" for p in liked], rated


def measure(
    dumps: list[Path], embedding_model: str, profiles: int, ratings: int, seed: int
) -> dict[str, dict[str, object]]:
    rng = np.random.default_rng(seed)
    named: dict[str, list[bool]] = {"phrases": [], "papers": []}
    untrue: dict[str, Counter[str]] = {"phrases": Counter(), "papers": Counter()}
    spent, explained = {"phrases": 0.0, "papers": 0.0}, {"phrases": 0, "papers": 0}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings = Settings(
            home=home / "home",
            database_url=f"sqlite:///{home / 'reasons.db'}",
            embedding_model=embedding_model,
        )
        with Recommender(settings) as app:
            app.ingest(dumps)
            papers, _ = app.papers(PaperQuery(sort="title"))
            for n in range(profiles):
                email = f"reader{n}@example.org"
                kind, fields, texts, rated = random_profile(n, rng, papers, ratings)
                path = home / f"reader{n}.toml"
                path.write_text(f"email = {json.dumps(email)}\n{fields}")
                app.subscribe(path)
                for k, paper in enumerate(rated):
                    up = k % 3 == 0
                    app.rate(email, paper.id, "up" if up else "down")
                    if up:
                        texts.append(f"{paper.title}\n{paper.abstract}")
                own = "\n".join(texts).lower()
                if n == 0:  # the first ranking embeds the papers and lays out their terms
                    app.recommend(email, top=len(papers))
                started = time.perf_counter()
                recommended = app.recommend(email, top=len(papers))
                spent[kind] += time.perf_counter() - started
                explained[kind] += len(recommended)
                for rec in recommended:
                    for term in rec.terms:
                        true = found_in(term, own)
                        named[kind].append(true)
                        if not true:
                            untrue[kind][term.lower()] += 1
    return {
        kind: {
            "profiles": (profiles + (kind == "phrases")) // 2,
            "terms_named": len(flags),
            "share_in_own_texts": float(np.mean(flags)) if flags else float("nan"),
            "most_named_not_in_them": untrue[kind].most_common(8),
            "recommend_ms_per_paper": 1000 * spent[kind] / max(1, explained[kind]),
        }
        for kind, flags in named.items()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: python benchmarks/reasons.py --embeddings none --profiles 20 --seed 1",
    )
    ap.add_argument(
        "--dumps",
        type=Path,
        default=REPO.parent / "shared" / "dumps",
        help="a folder of real dumps (*.txt; default ../shared/dumps)",
    )
    ap.add_argument("--embeddings", default=model.DEFAULT_MODEL, help="model, or none")
    ap.add_argument("--profiles", type=int, default=10, help="subscribers (default 10)")
    ap.add_argument("--ratings", type=int, default=6, help="ratings a paper profile gives")
    ap.add_argument("--seed", type=int, default=0, help="draws the profiles (default 0)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if args.profiles < 1 or args.ratings < 0:
        ap.error("--profiles must be at least 1 and --ratings at least 0")
    dumps = sorted(args.dumps.glob("*.txt"))
    if not dumps:
        ap.error(f"--dumps: no *.txt dump in {args.dumps}")
    try:
        result = measure(dumps, args.embeddings, args.profiles, args.ratings, args.seed)
    except model.EmbeddingsUnavailable as exc:
        ap.error(f"--embeddings: {exc}")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for kind, row in result.items():
        print(
            f"{kind:>8}: {row['profiles']} profiles, {row['terms_named']} terms named, "
            f"{row['share_in_own_texts']:.1%} in the subscriber's own texts "
            f"(recommend: {row['recommend_ms_per_paper']:.3f} ms a paper ranked and explained); "
            f"most named otherwise: {row['most_named_not_in_them']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
