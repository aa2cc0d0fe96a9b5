"""Write ``recommender/common_terms.txt``: the words and phrases too common in real paper
listings to name a paper's topic, by document frequency.

A reason names a term only if it is in at most ``MAX_TERM_DOCUMENT_FREQUENCY`` (a fifth) of
the catalogue's papers, read from the feature space's IDF weights (``recommender.model``). A
catalogue too small for those (below ``recommender.ranking.MIN_PAPERS_FOR_IDF`` papers, as the
demo's) has none; there the reasons fall back on this list: the terms (as
``recommender.features.paper_term_texts`` finds them) in more than that share of the papers of
the real listings in ``--dumps``.

Run from the repository root, with the real dumps beside it:

    python scripts/common_terms.py                    # reads ../shared/dumps
    python scripts/common_terms.py --dumps DIR --check   # exit 1 if the file would change
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from recommender.dumps import parse_dump  # noqa: E402
from recommender.features import paper_term_texts  # noqa: E402
from recommender.model import COMMON_TERMS_FILE, MAX_TERM_DOCUMENT_FREQUENCY  # noqa: E402


def common_terms(dumps: list[Path]) -> tuple[list[str], int]:
    """The terms in more than the threshold's share of the dumps' papers, and how many papers."""
    papers = []
    for path in dumps:
        dump = parse_dump(path.read_bytes(), reference_date=date.today(), source=str(path))
        papers += [(p.title, p.abstract) for p in dump.papers]
    df: Counter[str] = Counter()
    for title, abstract in papers:
        df.update(set(paper_term_texts(title, abstract)[0]))
    limit = MAX_TERM_DOCUMENT_FREQUENCY * len(papers)
    return sorted(term for term, n in df.items() if n > limit), len(papers)


def render(terms: list[str], papers: int, dumps: list[Path]) -> str:
    header = (
        "# Terms in more than a fifth of the papers of real listings: too common to name a\n"
        "# paper's topic where the catalogue is too small for document frequencies of its own.\n"
        f"# Made by scripts/common_terms.py from {len(dumps)} Hugging Face Daily Papers listings\n"
        f"# ({papers} papers): {', '.join(p.name for p in dumps)}.\n"
    )
    return header + "".join(f"{term}\n" for term in terms)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python scripts/common_terms.py                              # from ../shared/dumps\n"
        "  python scripts/common_terms.py --dumps ~/dumps --check      # exit 1 if stale",
    )
    ap.add_argument(
        "--dumps",
        type=Path,
        default=REPO.parent / "shared" / "dumps",
        help="a folder of real dumps (*.txt; default ../shared/dumps)",
    )
    ap.add_argument("--check", action="store_true", help="only say whether the file is current")
    args = ap.parse_args(argv)
    dumps = sorted(args.dumps.glob("*.txt"))
    if not dumps:
        ap.error(f"--dumps: no *.txt dump in {args.dumps}")
    terms, papers = common_terms(dumps)
    text = render(terms, papers, dumps)
    if args.check:
        current = COMMON_TERMS_FILE.read_text() if COMMON_TERMS_FILE.exists() else ""
        print("current" if current == text else f"{COMMON_TERMS_FILE} would change")
        return 0 if current == text else 1
    COMMON_TERMS_FILE.write_text(text)
    print(f"{COMMON_TERMS_FILE}: {len(terms)} terms from {papers} papers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
