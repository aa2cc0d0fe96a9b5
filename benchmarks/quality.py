"""Ranking quality of the recommender in a simulated online email digest (CiteULike-a).

Papers arrive in id order: the first half is the back catalogue, the second half arrives in daily
batches of 200. Each simulated user signs up with 3 liked papers drawn from the back-catalogue
part of their real library (their profile's ``liked``, resolved as the product resolves them: to
the whole catalogue paper, title, abstract and embedding; ``--profile titles`` counts their titles
alone, as the product did before), receives a digest of 10 from each day's batch and rates every
shown paper: up if it is in their library, down otherwise. Every method learns from those ratings
before the next day.

The recommender's digest is chosen by the product's own code (``recommender.selection``: the
shortlist, near-duplicates cut, diversity, one exploration slot, as a subscriber gets by default);
``recommender_top10`` and ``recommender_tfidf_top10`` are the same models taking a plain top 10,
as the baselines do.

Figures per method: digest recall (share of the user's second-half library that reached their
digests, averaged over users), recall by phase (days 1-5, 6-20, 21+: the share of the library
papers arriving in those days that reached a digest, averaged over users with any), recall by
library size (users with fewer than 20, 20-39, 40+ papers), the time per user-day (ranking the
day's batch, choosing the digest, learning from the day's ratings), and each method's paired
difference from arxiv-sanity-lite over the same users (mean ± standard error).

Methods: ``recommender`` (recommender.model with sentence embeddings + hashed words, phrases and
character 4-grams), ``recommender_tfidf`` (the same code on the hashed terms alone),
``arxiv_sanity_lite`` (TF-IDF + LinearSVC with arxiv-sanity-lite's published settings),
``rocchio`` and ``random``.

``--cold-start phrases`` measures the path a newcomer takes instead: each user signs up with
interest phrases only, no liked papers: the 3 most frequent tags (``tags.dat``,
``item-tags.dat``; ``_`` and ``-`` read as spaces) over the first 3 papers of their library (by
id: the first they saved). The anchor is ``keyword_alert``, an alert as arXiv or Scholar send
it: BM25 of each day's papers against the phrases' words, learning nothing from the ratings.
The other methods need liked papers and do not run in this mode.

``--interests several`` measures named interests with shares (issue 16): users whose first 3
tagged papers fall into 2 or more tag groups (:func:`tag_groups`: papers whose tags, weighted by
inverse document frequency, are more alike than 99% of random pairs are one group), one named
interest a group (its phrases: the group's 3 weightiest tags; its liked paper: the group's
first), equal shares. Arms over the same users and the same model: ``several``, ``pooled`` (one
interest with every group's phrases and liked papers and the whole digest), ``unnamed`` (no
named interest) and ``tagged`` (``several`` with each steered paper labelled by its tags'
group: what shares would do if steering never mistook a paper's interest). Steering and
choosing are the product's own
(:func:`recommender.digests.steering.steer_plain`, :func:`~recommender.digests.steering.choose`).
Figures: digest recall, and the worst-served interest's recall (per user, the interest whose
arriving library papers, those whose tags are most alike its group's, reached the digests
least; averaged over users).

``--data DIR`` reads any catalogue in the same format (``papers.jsonl``: ``{"id", "title",
"abstract"}`` a line, id = line number; ``users.dat``: ``n item item ...`` a line), titles or
abstracts empty or not.

Run from the repository root:  python benchmarks/quality.py [--users 300] [--json]
Progress goes to stderr. Sentence embeddings are cached under $XDG_CACHE_HOME (or ~/.cache)
/recommender-benchmarks, keyed by a hash of papers.jsonl and the model name.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from recommender import interests, selection  # noqa: E402
from recommender import model as rm  # noqa: E402
from recommender.digests import steering  # noqa: E402
from recommender.features import (  # noqa: E402
    EMBEDDING_SPACE_HASH_BITS,
    EMBEDDING_SPACE_TOKENIZER,
    TOKENIZERS,
)
from recommender.profiles import Interest  # noqa: E402
from recommender.ranking import MAX_DOCUMENT_FREQUENCY, takes_votes  # noqa: E402

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

BATCH = 200
DIGEST = 10
N_LIKED = 3
# Phrase cold start: the most frequent tags over a user's first papers become their phrases.
N_PHRASES = 3
FIRST_PAPERS = 3
# BM25 of the keyword alert (the usual constants)
BM25_K1, BM25_B = 1.2, 0.75
# Phases of a subscription, as (first day, last day) counted from 1; None: to the end.
PHASES = {"days 1-5": (1, 5), "days 6-20": (6, 20), "days 21+": (21, None)}
# Library sizes (whole library, both halves): (smallest, largest); None: no bound.
LIBRARY_SIZES = {"<20": (0, 19), "20-39": (20, 39), "40+": (40, None)}


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# data


@dataclass
class Data:
    titles: list[str]
    abstracts: list[str]
    libraries: list[np.ndarray]
    digest: str  # hash of papers.jsonl
    # each paper's tags as users typed them, where the catalogue has them (item-tags.dat)
    tags: list[list[str]] | None = None

    @property
    def n(self) -> int:
        return len(self.titles)


def load_data(folder: Path) -> Data:
    missing = [name for name in ("papers.jsonl", "users.dat") if not (folder / name).is_file()]
    if missing:  # every benchmark's --data comes through here
        raise SystemExit(
            f"{folder}: no {' or '.join(missing)}: --data takes a folder in CiteULike-a's "
            "format (papers.jsonl, users.dat; see ../shared/data/citeulike-a/README.md)"
        )
    raw = (folder / "papers.jsonl").read_bytes()
    titles, abstracts = [], []
    for i, line in enumerate(raw.decode("utf-8").splitlines()):
        if not line.strip():
            continue
        p = json.loads(line)
        if p["id"] != i:
            raise ValueError(f"papers.jsonl: line {i} has id {p['id']}")
        titles.append(p.get("title") or "")
        abstracts.append(p.get("abstract") or "")
    libraries = []
    for line in (folder / "users.dat").read_text().splitlines():
        parts = line.split()
        if not parts:
            libraries.append(np.zeros(0, dtype=np.int64))
            continue
        libraries.append(np.array(sorted(set(map(int, parts[1:]))), dtype=np.int64))
    return Data(
        titles, abstracts, libraries, hashlib.sha256(raw).hexdigest()[:16], load_tags(folder)
    )


def load_tags(folder: Path) -> list[list[str]] | None:
    """Each paper's tags (``item-tags.dat``: ``n tag tag ...`` a paper, ids into ``tags.dat``),
    ``_`` and ``-`` read as spaces; None where the catalogue has no tags."""
    if not (folder / "tags.dat").exists() or not (folder / "item-tags.dat").exists():
        return None
    names = [
        " ".join(line.replace("_", " ").replace("-", " ").split())
        for line in (folder / "tags.dat").read_text(encoding="utf-8").splitlines()
    ]
    out = []
    for line in (folder / "item-tags.dat").read_text().splitlines():
        parts = line.split()
        out.append([names[int(t)] for t in parts[1:] if names[int(t)]])
    return out


def interest_phrases(data: Data, library: np.ndarray) -> tuple[str, ...]:
    """The phrases a user signs up with: the :data:`N_PHRASES` most frequent tags over the
    first :data:`FIRST_PAPERS` papers of their library, ties in the order first met."""
    assert data.tags is not None
    counts: dict[str, int] = {}
    for paper in library[:FIRST_PAPERS]:
        for tag in data.tags[int(paper)]:
            counts[tag] = counts.get(tag, 0) + 1
    ordered = sorted(counts, key=lambda tag: -counts[tag])  # stable: first met first
    return tuple(ordered[:N_PHRASES])


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "recommender-benchmarks"


def cached_embeddings(
    data: Data, model: str, kind: str, texts: list[str]
) -> tuple[np.ndarray, float | None, str]:
    """Embeddings of ``texts``, from the cache or computed (then cached). Returns papers/s."""
    embedder = rm.Embedder(model)
    key = f"{data.digest}-{embedder.model_id}-{kind}-v1"
    path = cache_dir() / f"emb-{key}.npy"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        x = np.load(path)
        if x.shape[0] == len(texts):
            meta = json.loads(meta_path.read_text())
            log(f"embeddings ({kind}): cached at {path}")
            return x, meta.get("papers_per_s"), embedder.model_id
    log(f"embeddings ({kind}): computing {len(texts)} with {embedder.model_id} ...")
    t0 = time.perf_counter()
    x = embedder.embed_texts(texts, batch_size=64)
    dt = time.perf_counter() - t0
    rate = len(texts) / dt
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    meta_path.write_text(json.dumps({"papers_per_s": rate, "seconds": dt, "n": len(texts)}))
    log(f"embeddings ({kind}): {dt:.0f} s, {rate:.0f} papers/s")
    return x, rate, embedder.model_id


# ------------------------------------------------------------------------------------------
# simulation


@dataclass
class User:
    uid: int
    liked: np.ndarray  # back-catalogue papers given as the profile
    future: np.ndarray  # second-half library papers (the targets)
    library: frozenset[int]
    phrases: tuple[str, ...] = ()  # interest phrases given as the profile (phrase cold start)


def pick_users(
    data: Data, n_users: int, seed: int, *, phrases: bool = False, liked_all: bool = False
) -> list[User]:
    """Users with at least :data:`N_LIKED` back-catalogue papers and 5 arriving ones; with
    ``phrases``, each with interest phrases (:func:`interest_phrases`) and no liked papers
    (users whose first papers carry no tags are not eligible); with ``liked_all``, the same
    users, each liking every back-catalogue paper of their library (not :data:`N_LIKED`)."""
    half = data.n // 2
    rng = np.random.default_rng(seed)
    eligible = [
        u
        for u, lib in enumerate(data.libraries)
        if (lib < half).sum() >= N_LIKED
        and (lib >= half).sum() >= 5
        and (not phrases or interest_phrases(data, lib))
    ]
    chosen = sorted(rng.choice(eligible, size=min(n_users, len(eligible)), replace=False))
    users = []
    for u in chosen:
        lib = data.libraries[u]
        back = lib[lib < half]
        if phrases:
            none = np.zeros(0, dtype=np.int64)
            user = User(int(u), none, lib[lib >= half], frozenset(lib.tolist()))
            users.append(dataclasses.replace(user, phrases=interest_phrases(data, lib)))
            continue
        liked = np.sort(rng.choice(back, size=N_LIKED, replace=False))  # drawn either way
        liked = np.sort(back) if liked_all else liked
        users.append(User(int(u), liked, lib[lib >= half], frozenset(lib.tolist())))
    return users


class Method:
    """One user's session: ``start`` then, each day, ``rank`` the batch and ``learn``."""

    def start(self, user: User, seed: int) -> None: ...

    def rank(self, batch: np.ndarray, seen_until: int) -> np.ndarray: ...

    def learn(self, shown: np.ndarray, votes: np.ndarray, seen_until: int) -> None: ...


class RandomMethod(Method):
    def start(self, user: User, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def rank(self, batch: np.ndarray, seen_until: int) -> np.ndarray:
        return self.rng.permutation(batch)[:DIGEST]

    def learn(self, shown: np.ndarray, votes: np.ndarray, seen_until: int) -> None:
        pass


class RocchioMethod(Method):
    """TF-IDF centroid of the ups (and liked) minus a quarter of the downs' centroid; cosine."""

    def __init__(self, tfidf: sp.csr_matrix) -> None:
        self.x = tfidf

    def start(self, user: User, seed: int) -> None:
        self.ups = list(user.liked)
        self.downs: list[int] = []
        self._fit()

    def _fit(self) -> None:
        q = np.asarray(self.x[self.ups].mean(axis=0)).ravel()
        if self.downs:
            q = q - 0.25 * np.asarray(self.x[self.downs].mean(axis=0)).ravel()
        self.q = q

    def rank(self, batch: np.ndarray, seen_until: int) -> np.ndarray:
        s = self.x[batch] @ self.q  # rows are unit length: cosine up to a constant
        return batch[np.argsort(-s, kind="stable")[:DIGEST]]

    def learn(self, shown: np.ndarray, votes: np.ndarray, seen_until: int) -> None:
        self.ups += shown[votes > 0].tolist()
        self.downs += shown[votes < 0].tolist()
        self._fit()


def arxiv_sanity_tfidf() -> TfidfVectorizer:
    """A TfidfVectorizer with arxiv-sanity-lite's published settings, not fitted yet."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=20000,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.1,
        min_df=5,
    )


class ArxivSanityMethod(Method):
    """arxiv-sanity-lite: LinearSVC(C=0.01, balanced) of tagged papers vs every other paper."""

    def __init__(self, tfidf: sp.csr_matrix) -> None:
        self.x = tfidf

    def start(self, user: User, seed: int) -> None:
        self.pos = set(user.liked.tolist())

    def rank(self, batch: np.ndarray, seen_until: int) -> np.ndarray:
        from sklearn.svm import LinearSVC

        # as in arxiv-sanity-lite, the SVM is fit on the whole database, new papers included
        n = int(batch.max()) + 1
        y = np.zeros(n, dtype=np.int64)
        y[list(self.pos)] = 1
        clf = LinearSVC(class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(self.x[:n], y)
        s = clf.decision_function(self.x[batch])
        return batch[np.argsort(-s, kind="stable")[:DIGEST]]

    def learn(self, shown: np.ndarray, votes: np.ndarray, seen_until: int) -> None:
        self.pos.update(shown[votes > 0].tolist())


class KeywordAlertMethod(Method):
    """A keyword alert, as arXiv or Scholar send them: each day's papers ranked by BM25 against
    the words of the user's phrases (document frequencies of the back catalogue), learning
    nothing from the ratings."""

    def __init__(self, texts: list[str], half: int) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        self.vectorizer = CountVectorizer(
            lowercase=True, strip_accents="unicode", stop_words="english", dtype=np.float32
        )
        tf = self.vectorizer.fit_transform(texts).tocsr()
        df = np.diff(tf[:half].tocsc().indptr).astype(np.float64)
        idf = np.log(1.0 + (half - df + 0.5) / (df + 0.5))
        length = np.asarray(tf.sum(axis=1)).ravel()
        norm = BM25_K1 * (1 - BM25_B + BM25_B * length / max(length[:half].mean(), 1e-9))
        rows = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))
        tf.data = (tf.data * (BM25_K1 + 1) / (tf.data + norm[rows])).astype(np.float32)
        self.x = sp.csr_matrix(tf @ sp.diags(idf.astype(np.float32)))

    def start(self, user: User, seed: int) -> None:
        query = self.vectorizer.transform([" ".join(user.phrases)])
        self.q = np.asarray(query.todense()).ravel()

    def rank(self, batch: np.ndarray, seen_until: int) -> np.ndarray:
        s = self.x[batch] @ self.q
        return batch[np.argsort(-s, kind="stable")[:DIGEST]]

    def learn(self, shown: np.ndarray, votes: np.ndarray, seen_until: int) -> None:
        pass


class RecommenderMethod(Method):
    """The project's own model (recommender.model), as the digest job uses it.

    The profile's liked papers are the prior (``prior_x``: their full vectors, as the product
    resolves liked titles to catalogue papers, or their titles' alone); a user's interest
    phrases are given as the product gives them (``phrases``: the vectors of every phrase, made
    by :func:`phrase_vectors`). With ``similarity``
    (each day's papers' similarities, by the day's first paper: :func:`day_similarities`) the
    digest is chosen as the product chooses it (:mod:`recommender.selection`, exploring);
    without, it is the plain top 10. With ``one_by_one`` (the default) the day's votes are
    taken as the product takes them, each as it comes: the model changed in place
    (:func:`recommender.model.update`) while ``recommender.ranking.takes_votes`` says so,
    else trained afresh; without, the model is
    trained once on the day's votes, as the digest job retrains a stale model.
    """

    def __init__(
        self,
        space: rm.FeatureSpace,
        x: rm.PaperVectors,
        prior_x: rm.PaperVectors,
        n_weak: int,
        params: rm.TrainingParams,
        *,
        similarity: dict[int, np.ndarray] | None,
        phrases: tuple[dict[str, int], rm.PaperVectors] | None = None,
        train_x: rm.PaperVectors | None = None,
        one_by_one: bool = True,
    ) -> None:
        self.space, self.x, self.prior_x = space, x, prior_x
        self.one_by_one = one_by_one
        # the rated papers' and weak negatives' vectors as training sees them (default: x)
        self.train_x = x if train_x is None else train_x
        self.n_weak, self.params, self.similarity = n_weak, params, similarity
        self.phrases = phrases

    def start(self, user: User, seed: int) -> None:
        self.uid = user.uid
        self.rng = np.random.default_rng(seed)
        self.prior = self.prior_x[user.liked]  # the profile's liked papers
        self.interests = None
        if user.phrases:
            assert self.phrases is not None
            rows, vectors = self.phrases
            self.interests = vectors[[rows[p] for p in user.phrases]]
        self.rated: list[int] = []
        self.votes: list[int] = []
        self.excluded = set(user.liked.tolist())
        self._fit(len(self.x) // 2)

    def _fit(self, seen_until: int) -> None:
        # weak negatives: a fresh random sample of papers the user has not rated
        draw = self.rng.integers(0, seen_until, size=self.n_weak + len(self.excluded) // 4 + 8)
        weak = [i for i in dict.fromkeys(draw.tolist()) if i not in self.excluded][: self.n_weak]
        self.model = rm.train(
            self.space,
            self.prior,
            self.train_x[self.rated] if self.rated else None,
            self.votes,
            self.train_x[weak] if weak else None,
            params=self.params,
            interests=self.interests,
        )

    def rank(self, batch: np.ndarray, seen_until: int) -> np.ndarray:
        s = rm.score(self.model, self.x[batch])
        if self.similarity is None:
            return batch[np.argsort(-s, kind="stable")[:DIGEST]]
        return batch[choose_digest(s, self.similarity[int(batch[0])], self.uid)]

    def learn(self, shown: np.ndarray, votes: np.ndarray, seen_until: int) -> None:
        if not self.one_by_one:
            self.rated += shown.tolist()
            self.votes += votes.tolist()
            self.excluded.update(shown.tolist())
            self._fit(seen_until)
            return
        for paper, vote in zip(shown.tolist(), votes.tolist(), strict=True):
            self.rated.append(paper)
            self.votes.append(vote)
            self.excluded.add(paper)
            updated = None
            if takes_votes(self.model):
                x = self.train_x[paper : paper + 1]
                updated = rm.update(self.space, self.model, x, 0, vote, params=self.params)
            if updated is None:
                self._fit(seen_until)
            else:
                self.model = updated


def phrase_vectors(
    space: rm.FeatureSpace,
    phrases: list[str],
    embedder: rm.Embedder | None,
    word_vectors: Callable[[list[tuple[str, str]]], rm.PaperVectors] | None = None,
) -> tuple[dict[str, int], rm.PaperVectors]:
    """Every phrase's row and the vectors of them all, made as the product makes a profile's
    interests' (each phrase a text of its own, embedded as the product embeds it), or by
    ``word_vectors`` (a words-only space of :func:`latent_space`)."""
    texts = rm.profile_texts(interests=phrases)
    if word_vectors is not None:
        return {p: n for n, p in enumerate(phrases)}, word_vectors(texts)
    embedding = None
    if space.has_embeddings:
        assert embedder is not None
        embedding = embedder.embed_papers(texts)
    return {p: n for n, p in enumerate(phrases)}, space.vectors(texts, embedding)


# What --latent takes: each name with its values (a tuple) or its type.
LATENT_OPTIONS: dict[str, tuple[str, ...] | type] = {
    "kind": ("lsa", "cooc"),
    "dims": int,
    "weight": float,
    "fit": ("w1", "w2"),
    "scale": ("none", "sigma"),
    "min_df": int,
    "boost": float,
    "only": ("phrases",),
}


def latent_options(spec: str) -> dict[str, str]:
    """``--latent``'s ``name=value,...``, each name and value checked (``SystemExit`` naming
    the one that is wrong)."""
    opts: dict[str, str] = {}
    for part in filter(None, spec.split(",")):
        name, sep, value = part.partition("=")
        if not sep or name not in LATENT_OPTIONS:
            raise SystemExit(
                f"--latent: {part!r}: expected name=value, name one of {', '.join(LATENT_OPTIONS)}"
            )
        allowed = LATENT_OPTIONS[name]
        if isinstance(allowed, tuple):
            if value not in allowed:
                raise SystemExit(
                    f"--latent {name}: {value!r}, expected one of {', '.join(allowed)}"
                )
        else:
            try:
                allowed(value)
            except ValueError:
                raise SystemExit(f"--latent {name}: {value!r} is not a number") from None
        opts[name] = value
    return opts


def latent_space(
    space: rm.FeatureSpace, catalogue: list[tuple[str, str]], spec: str
) -> tuple[rm.FeatureSpace, Callable[[list[tuple[str, str]]], rm.PaperVectors]]:
    """A words-only space that knows which words go together, learned on the back catalogue
    (for trying: issues 15 and 16, "A words-only space that knows which words go together" in
    RESULTS.md), and the function that makes papers' vectors in it.

    ``spec`` is ``name=value,...``. ``kind=lsa``: a dense latent block appended to the word
    block: the truncated SVD (``dims`` components) of the catalogue's TF-IDF word vectors
    (``fit=w2``: the space's own words, bigrams and character grams; ``w1``: words and bigrams
    alone), a paper's latent vector its word vector of that recipe projected on the top right
    singular vectors (``scale=sigma``: divided by the singular values), unit length, weighing
    ``weight`` against the word block (a space with an "embedding" block of ``dims`` columns
    and the share ``weight**2 / (1 + weight**2)`` of the squared norm). ``kind=cooc``: each
    paper's word block plus ``weight`` times the unit sum of its terms' ``dims`` nearest terms
    (cosine of their columns over the catalogue, terms in ``min_df`` papers or more), then
    unit length again. Read by ``main``: ``boost``, the interest phrases' latent block weighs
    that many times more than a paper's; ``only=phrases``, papers are scored as [unit latent, unit
    words] but learned from as [0, unit words] and the phrases are [``boost`` × unit latent,
    unit words] (``weight`` unused): only the phrases train the latent block, and a model
    without phrases ranks as the words-only product does (the digest's similarities are the
    words' alone too).
    """
    from sklearn.utils.extmath import randomized_svd

    opts = latent_options(spec)
    dims, weight = int(opts.get("dims", 200)), float(opts.get("weight", 0.5))
    kind, fit = opts.get("kind", "lsa"), opts.get("fit", "w2")
    base = rm.FeatureSpace.words_only(space.hash_bits, fit).fit_idf(
        catalogue, max_df=MAX_DOCUMENT_FREQUENCY
    )
    xc = base.word_vectors(catalogue)
    if kind == "lsa":
        # the SVD of a catalogue takes a minute: kept across runs when asked to
        key = hashlib.sha256(repr((catalogue, dims, fit)).encode()).hexdigest()[:16]
        cached = Path(os.environ.get("QUALITY_LATENT_CACHE", "/nonexistent")) / f"{key}.npz"
        if cached.exists():
            with np.load(cached) as z:
                sigma, vt = z["sigma"], z["vt"]
        else:
            _, sigma, vt = randomized_svd(xc, dims, n_iter=5, random_state=0)
            if cached.parent.is_dir():
                np.savez(cached, sigma=sigma, vt=vt)
        proj = vt.T.astype(np.float32)
        if opts.get("scale", "none") == "sigma":
            proj /= sigma.astype(np.float32)
        share = weight**2 / (1.0 + weight**2)
        out = rm.FeatureSpace(space.hash_bits, f"lsa-{spec}", dims, share, space.idf)

        def with_latent(papers: list[tuple[str, str]]) -> rm.PaperVectors:
            latent = np.asarray(base.word_vectors(papers) @ proj, dtype=np.float32)
            return out.vectors(papers, latent)

        return out, with_latent
    if kind == "cooc":
        near = _neighbours(xc, dims, int(opts.get("min_df", 3)))

        def smoothed(papers: list[tuple[str, str]]) -> rm.PaperVectors:
            v = space.vectors(papers)
            extra = base.word_vectors(papers) @ near
            norms = np.sqrt(np.asarray(extra.multiply(extra).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            words = v.words + sp.diags(weight / norms) @ extra
            norms = np.sqrt(np.asarray(words.multiply(words).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            words = sp.csr_matrix(sp.diags(1.0 / norms) @ words, dtype=np.float32)
            return rm.PaperVectors(v.embedding, words, v.space_id)

        return space, smoothed
    raise AssertionError(f"latent_options let kind {kind!r} through")


def _neighbours(xc: sp.csr_matrix, k: int, min_df: int) -> sp.csr_matrix:
    """Each column's ``k`` nearest columns by cosine over the catalogue's rows (columns in
    fewer than ``min_df`` rows have and are no neighbours)."""
    xcc = xc.tocsc()
    df = np.diff(xcc.indptr)
    norms = np.sqrt(np.asarray(xcc.multiply(xcc).sum(axis=0)).ravel())
    keep = (df >= min_df) & (norms > 0)
    scale = np.where(keep, 1.0 / np.where(norms > 0, norms, 1.0), 0.0)
    unit = (xcc @ sp.diags(scale.astype(np.float32))).tocsc()
    sim = (unit.T @ unit).tocsr()
    sim.setdiag(0)
    sim.eliminate_zeros()
    rows, cols, vals = [], [], []
    for r in range(sim.shape[0]):
        lo, hi = sim.indptr[r], sim.indptr[r + 1]
        if hi == lo:
            continue
        top = np.argsort(-sim.data[lo:hi])[:k]
        rows.extend([r] * len(top))
        cols.extend(sim.indices[lo:hi][top].tolist())
        vals.extend(sim.data[lo:hi][top].tolist())
    return sp.csr_matrix((vals, (rows, cols)), shape=sim.shape, dtype=np.float32)


def choose_digest(scores: np.ndarray, similarity: np.ndarray, subscriber_id: int) -> np.ndarray:
    """The positions of the digest's papers among a day's, chosen as the product's digest job
    chooses them for a subscriber with the default settings (exploration on, no minimum score).

    ``similarity``: the cosine similarities of the day's papers, pair by pair.
    """
    rows = selection.shortlist(scores, explore=True, seed=subscriber_id)
    picks = selection.choose(
        [selection.Candidate(str(int(r)), float(scores[r])) for r in rows],
        lambda columns: similarity[np.ix_(rows, rows[list(columns)])],
        size=DIGEST,
        explore=True,
        seed=subscriber_id * 100_003 + len(scores),
    )
    return np.array([int(p.key) for p in picks], dtype=np.int64)


def day_similarities(x: rm.PaperVectors, half: int, batch: int) -> dict[int, np.ndarray]:
    """The cosine similarities of each day's papers, pair by pair, by the day's first paper.

    Computed once for every user, as the digest job computes its pool's once for all its
    subscribers (so the time per user-day leaves them out, as the product's does).
    """
    out = {}
    for lo in range(half, len(x), batch):
        day = x[np.arange(lo, min(lo + batch, len(x)))]
        words = np.asarray((day.words @ day.words.T).todense())
        out[lo] = (day.embedding @ day.embedding.T + words).astype(np.float32)
    return out


# ------------------------------------------------------------------------------------------
# several interests (--interests several)

# A user's tag groups are read from this many of their first tagged papers.
GROUP_PAPERS = 3
# A tag counts when at least this many papers carry it (fewer: names, typos, noise).
GROUP_TAG_USE = 30
# Two papers are on one topic when their tags are at least this alike (cosine of their tags,
# weighted by inverse document frequency): more alike than 99% of random pairs of tagged
# papers of CiteULike-a (0.12; their median is 0, their 95th percentile 0.047).
GROUP_LINK = 0.12
# The arms of --interests several: a share for each group's interest, one pooled interest with
# the whole digest, the profile with no named interest (the model alone), and the shares with
# each steered paper labelled by its tags (an oracle of which interest a paper serves).
INTEREST_ARMS = ("several", "pooled", "unnamed", "tagged")


@dataclass(frozen=True)
class TagGroup:
    """One of a user's interests, from a tag group of their first papers."""

    name: str  # its first phrase
    phrases: tuple[str, ...]
    liked: int  # the group's first paper
    papers: frozenset[int]  # the user's arriving library papers on it (the targets)
    tags: dict[str, float] = field(default_factory=dict, compare=False)  # its unit tag vector


class TagSpace:
    """Papers as vectors of their tags: each tag used on :data:`GROUP_TAG_USE` papers or more,
    weighted by its inverse document frequency over the tagged papers; rows of unit length."""

    def __init__(self, data: Data) -> None:
        assert data.tags is not None
        use: dict[str, int] = {}
        for tags in data.tags:
            for tag in set(tags):
                use[tag] = use.get(tag, 0) + 1
        tagged = sum(1 for tags in data.tags if tags)
        self.weight = {t: float(np.log(tagged / n)) for t, n in use.items() if n >= GROUP_TAG_USE}
        self.tags = data.tags

    def vector(self, papers: list[int]) -> dict[str, float]:
        """The unit vector of the tags of ``papers`` together."""
        out: dict[str, float] = {}
        for paper in papers:
            for tag in set(self.tags[paper]):
                if tag in self.weight:
                    out[tag] = out.get(tag, 0.0) + self.weight[tag]
        norm = float(np.sqrt(sum(v * v for v in out.values()))) or 1.0
        return {t: v / norm for t, v in out.items()}

    @staticmethod
    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        return sum(v * b[t] for t, v in a.items() if t in b)


def tag_groups(data: Data, library: np.ndarray, space: TagSpace) -> list[TagGroup]:
    """The tag groups of a user's first :data:`GROUP_PAPERS` papers with counted tags: papers
    whose tags are :data:`GROUP_LINK` alike are in one group (and so on, transitively), in the
    order of their first papers. A group's phrases are its :data:`N_PHRASES` tags of greatest
    weight over its papers (inverse document frequency times papers; ties first met), its
    liked paper its first; its arriving papers, those of the user's second-half library whose
    tags are most alike the group's, at least :data:`GROUP_LINK` (else no group's)."""
    half = data.n // 2
    first = [int(p) for p in library if space.vector([int(p)])][:GROUP_PAPERS]
    if not first:
        return []
    vectors = {p: space.vector([p]) for p in first}
    group_of = {p: i for i, p in enumerate(first)}
    for i, a in enumerate(first):
        for b in first[i + 1 :]:
            if space.cosine(vectors[a], vectors[b]) >= GROUP_LINK:
                old, new = group_of[b], group_of[a]
                group_of = {p: new if g == old else g for p, g in group_of.items()}
    members: dict[int, list[int]] = {}
    for paper in first:
        members.setdefault(group_of[paper], []).append(paper)
    groups = []
    for papers in members.values():
        together = space.vector(papers)
        phrases = tuple(sorted(together, key=lambda t: -together[t])[:N_PHRASES])
        groups.append((phrases, papers[0], together))
    theirs: list[set[int]] = [set() for _ in groups]
    for paper in (int(p) for p in library if p >= half):
        best = closest_group(space, paper, [g[2] for g in groups])
        if best is not None:
            theirs[best].add(paper)
    # named by its first phrase, and its place where two share one
    firsts = [phrases[0] for phrases, _, _ in groups]
    return [
        TagGroup(
            first if firsts.count(first) == 1 else f"{first} ({n + 1})",
            phrases,
            liked,
            frozenset(papers),
            together,
        )
        for n, (first, (phrases, liked, together), papers) in enumerate(
            zip(firsts, groups, theirs, strict=True)
        )
    ]


def closest_group(space: TagSpace, paper: int, groups: Sequence[dict[str, float]]) -> int | None:
    """The group (of their tag vectors) whose tags ``paper``'s are most alike, at least
    :data:`GROUP_LINK`; None if none is."""
    vector = space.vector([paper])
    alike = [space.cosine(vector, group) for group in groups]
    best = int(np.argmax(alike))
    return best if alike[best] >= GROUP_LINK else None


def pick_interest_users(
    data: Data, n_users: int, seed: int, space: TagSpace
) -> tuple[list[User], dict[int, list[TagGroup]]]:
    """Users whose first papers fall into at least 2 tag groups (:func:`tag_groups`), each
    group's first paper in the back catalogue and at least 2 groups with arriving papers, and
    5 arriving library papers in all. Their profile: every group's phrases and liked paper."""
    half = data.n // 2
    eligible: dict[int, list[TagGroup]] = {}
    for u, lib in enumerate(data.libraries):
        if (lib >= half).sum() < 5:
            continue
        groups = tag_groups(data, lib, space)
        if (
            len(groups) >= 2
            and all(g.liked < half for g in groups)
            and sum(bool(g.papers) for g in groups) >= 2
        ):
            eligible[u] = groups
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(sorted(eligible), size=min(n_users, len(eligible)), replace=False))
    users = []
    for u in chosen:
        lib = data.libraries[u]
        groups = eligible[int(u)]
        liked = np.array([g.liked for g in groups], dtype=np.int64)
        phrases = tuple(dict.fromkeys(p for g in groups for p in g.phrases))
        users.append(User(int(u), liked, lib[lib >= half], frozenset(lib.tolist()), phrases))
    return users, {int(u): eligible[int(u)] for u in chosen}


class _BatchPaper(NamedTuple):
    """What steering reads of a paper (its text for must words, no authors here)."""

    title: str
    abstract: str
    author_names: tuple[str, ...] | None = None


class SteeredMethod(RecommenderMethod):
    """The recommender with named interests, steered and chosen by the product's own code
    (:func:`recommender.digests.steering.steer_plain` and :func:`~recommender.digests.
    steering.choose`, as a digest is): ``arm`` ``several``, one interest a tag group with an
    equal share; ``pooled``, one interest with every group's phrases and liked papers and the
    whole digest; ``unnamed``, no named interest; ``tagged``, ``several`` with each paper
    steering gives to an interest given instead to the group its tags are most alike
    (:func:`closest_group`; steering's choice where they are like none): steering that never
    mistakes which interest a paper serves. It keeps the papers steering assigns, so it bounds
    what a better assignment could do, not what the tags know of a reader's library. The model
    is the same in every arm (it learns every interest's phrases and liked papers, as the
    product's does)."""

    def __init__(
        self,
        *args: object,
        arm: str,
        groups: dict[int, list[TagGroup]],
        texts: list[tuple[str, str]],
        floor: float,
        tag_space: TagSpace,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.arm, self.groups, self.texts, self.floor = arm, groups, texts, floor
        self.tag_space = tag_space

    def start(self, user: User, seed: int) -> None:
        super().start(user, seed)
        assert self.phrases is not None
        rows, vectors = self.phrases
        groups = self.groups[user.uid]
        self.user_groups = groups
        if self.arm in ("several", "tagged"):
            topics = [
                Interest(g.name, g.phrases, (str(g.liked),), share=1 / len(groups)) for g in groups
            ]
        elif self.arm == "pooled":
            topics = [Interest("all", user.phrases, tuple(str(g.liked) for g in groups), (), 1.0)]
        else:
            topics = []
        self.topics = topics
        # each interest's vectors: its phrases and liked papers, then the papers rated up when
        # it brought them (as steering's _interest_vectors)
        self.about = {
            t.name: [vectors[[rows[p] for p in t.phrases]], self.x[[int(i) for i in t.liked]]]
            for t in topics
        }
        self.shown_under: dict[int, str] = {}
        self.day_interests: dict[int, str | None] = {}

    def vectors_of(self, topic: Interest) -> np.ndarray:
        matrix = rm.PaperVectors.stack(self.about[topic.name]).to_matrix()
        return steering._unit(matrix).toarray()

    def rank(self, batch: np.ndarray, seen_until: int) -> np.ndarray:
        assert self.similarity is not None
        scores = rm.score(self.model, self.x[batch])
        day = batch - batch[0]
        steered = steering.steer_plain(
            [_BatchPaper(*self.texts[int(p)]) for p in batch],
            day,
            self.x[batch].to_matrix(),
            must_not=(),
            follows=(),
            topics=self.topics,
            vectors_of=self.vectors_of,
            floor=self.floor,
            digest_size=DIGEST,
        )
        if self.arm == "tagged":
            steered = self.tag_labelled(steered, batch)
        similar = self.similarity[int(batch[0])]
        picks = steering.choose(
            steered,
            scores,
            lambda rows: similar[np.ix_(rows, rows)],
            lambda row: None,
            size=DIGEST,
            min_score=None,
            explore=True,
            subscriber_id=self.uid,
        )
        shown = batch[[int(p.key) for p in picks]]
        self.day_interests = {
            int(p): pick.interest for p, pick in zip(shown, picks, strict=True) if pick.interest
        }
        return shown

    def tag_labelled(self, steered: steering.Steering, batch: np.ndarray) -> steering.Steering:
        """``steered`` with each assigned paper serving the group its tags are most alike."""
        vectors = [g.tags for g in self.user_groups]
        serves = {}
        for row, name in steered.serves.items():
            group = closest_group(self.tag_space, int(batch[row]), vectors)
            serves[row] = name if group is None else self.user_groups[group].name
        return dataclasses.replace(steered, serves=serves)

    def learn(self, shown: np.ndarray, votes: np.ndarray, seen_until: int) -> None:
        for paper, vote in zip(shown.tolist(), votes.tolist(), strict=True):
            name = self.day_interests.get(paper)
            if vote > 0 and name is not None:
                self.about[name].append(self.x[[paper]])
        super().learn(shown, votes, seen_until)


@dataclass
class InterestRun:
    """One user's subscription with several interests under one arm."""

    recall: float
    interest_recall: list[float]  # each interest's with arriving papers, in group order
    labelled: int  # library papers of a group that reached a digest under its interest
    of_groups: int  # library papers of a group that reached a digest
    seconds: float
    days: int


def simulate_interests_user(args: tuple[str, int]) -> InterestRun:
    name, idx = args
    method: SteeredMethod = _WORK["methods"][name]  # type: ignore[index]
    user: User = _WORK["users"][idx]  # type: ignore[index]
    groups: list[TagGroup] = _WORK["groups"][user.uid]  # type: ignore[index]
    n, seed = int(_WORK["n"]), int(_WORK["seed"])  # type: ignore[call-overload]
    batch_size = int(_WORK["batch"])  # type: ignore[call-overload]
    half = n // 2
    method.start(user, seed * 100_003 + user.uid)
    reached: set[int] = set()
    labels: dict[int, str] = {}
    elapsed = 0.0
    days = 0
    for lo in range(half, n, batch_size):
        batch = np.arange(lo, min(lo + batch_size, n))
        t0 = time.perf_counter()
        shown = method.rank(batch, lo)
        votes = np.array([1 if int(p) in user.library else -1 for p in shown], dtype=np.int64)
        reached.update(int(p) for p in shown[votes > 0])
        labels.update(method.day_interests)
        method.learn(shown, votes, int(batch[-1]) + 1)
        elapsed += time.perf_counter() - t0
        days += 1
    per_interest = [len(g.papers & reached) / len(g.papers) for g in groups if g.papers]
    right = sum(labels.get(p) == g.name for g in groups for p in g.papers & reached)
    of_groups = sum(len(g.papers & reached) for g in groups)
    return InterestRun(
        len(reached) / len(user.future), per_interest, right, of_groups, elapsed, days
    )


def run_interest_arm(name: str, n_users: int, jobs: int) -> tuple[dict[str, object], list[float]]:
    """An arm's figures over the users: digest recall, the worst-served interest's recall (the
    interest whose arriving papers reached the digests least, per user, averaged) and the best
    one's; and each user's (overall, worst) recall for paired comparisons."""
    t0 = time.perf_counter()
    tasks = [(name, i) for i in range(n_users)]
    if jobs > 1:
        with mp.get_context("fork").Pool(jobs) as pool:
            results = pool.map(simulate_interests_user, tasks, chunksize=4)
    else:
        results = [simulate_interests_user(t) for t in tasks]
    out: dict[str, object] = {
        "digest_recall": _mean([r.recall for r in results]),
        "worst_interest_recall": _mean([min(r.interest_recall) for r in results]),
        "best_interest_recall": _mean([max(r.interest_recall) for r in results]),
        # of the groups' papers that reached a digest, the share shown under their own group's
        # interest (steering's labels against the tags; several arm)
        "labelled_as_their_group": sum(r.labelled for r in results)
        / max(sum(r.of_groups for r in results), 1),
        "ms_per_user_day": 1000 * sum(r.seconds for r in results) / sum(r.days for r in results),
        "wall_seconds": time.perf_counter() - t0,
    }
    log(
        f"{name:>24}: digest recall {out['digest_recall']:.4f}  worst interest "
        f"{out['worst_interest_recall']:.4f}  best interest {out['best_interest_recall']:.4f}"
        f"  labelled as their group {out['labelled_as_their_group']:.3f}"
        f"  ({out['wall_seconds']:.0f} s)"
    )
    per_user = [[r.recall for r in results], [min(r.interest_recall) for r in results]]
    return out, per_user  # type: ignore[return-value]


def embedding_space(words: tuple[str, int], model_id: str, dim: int) -> rm.FeatureSpace:
    """A space with embeddings whose word block is ``words`` (tokenizer, hash bits), as
    ``--embedding-words`` gives it (default: the product's)."""
    tokenizer, bits = words
    return rm.FeatureSpace.with_embeddings(model_id, dim, hash_bits=bits, tokenizer=tokenizer)


def embedding_words(value: str) -> tuple[str, int]:
    """``--embedding-words``: ``TOKENIZER-hBITS``, e.g. ``w1-h14``."""
    tokenizer, _, bits = value.partition("-h")
    if tokenizer not in TOKENIZERS or not bits.isdigit() or not 8 <= int(bits) <= 24:
        raise argparse.ArgumentTypeError(
            f"{value!r}: expected TOKENIZER-hBITS, TOKENIZER one of {', '.join(TOKENIZERS)} "
            "and BITS 8 to 24 (e.g. w1-h14)"
        )
    return tokenizer, int(bits)


def add_embedding_words(parser: argparse.ArgumentParser, what: str) -> None:
    """The ``--embedding-words`` option (this script's and ``scale.py``'s)."""
    product = f"{EMBEDDING_SPACE_TOKENIZER}-h{EMBEDDING_SPACE_HASH_BITS}"
    parser.add_argument(
        "--embedding-words",
        type=embedding_words,
        default=(EMBEDDING_SPACE_TOKENIZER, EMBEDDING_SPACE_HASH_BITS),
        metavar="TOKENIZER-hBITS",
        help=f"the word block of {what} instead of the product's ({product}): w1 words and "
        "phrases, w2 also every word's character 4-grams, w3 also every longer word's first "
        "five letters; 2^BITS hashed columns (for trying; e.g. w2-h15, the block before)",
    )


def main_interests(args: argparse.Namespace, data: Data) -> int:
    """``--interests several``: each arm of :data:`INTEREST_ARMS` over the same users, with
    embeddings or (``--no-embeddings``) word features alone."""
    half = data.n // 2
    tag_space = TagSpace(data)
    users, groups = pick_interest_users(data, args.users, args.seed, tag_space)
    log(f"{data.n} papers, {len(users)} users with several interests")
    papers = list(zip(data.titles, data.abstracts, strict=True))
    space = rm.FeatureSpace.words_only()
    embedder = None
    emb = None
    if not args.no_embeddings:
        emb, _, model_id = cached_embeddings(
            data, args.model, "papers", [rm.paper_text(t, a) for t, a in papers]
        )
        space = embedding_space(args.embedding_words, model_id, emb.shape[1])
        embedder = rm.Embedder(args.model)
    space = space.fit_idf(papers[:half], max_df=MAX_DOCUMENT_FREQUENCY)
    params = parse_params(args.params, rm.params_for(space))  # the embedding model's knobs
    floor = interests.floor_for(space.embedding_model) if args.floor is None else args.floor
    x = space.vectors(papers, emb)
    similarity = day_similarities(x, half, args.batch)
    phrases = phrase_vectors(space, sorted({p for u in users for p in u.phrases}), embedder)
    impl: dict[str, Method] = {
        arm: SteeredMethod(
            space,
            x,
            x,
            args.weak,
            params,
            similarity=similarity,
            phrases=phrases,
            arm=arm,
            groups=groups,
            texts=papers,
            floor=floor,
            tag_space=tag_space,
        )
        for arm in INTEREST_ARMS
    }
    _WORK.update(methods=impl, users=users, groups=groups, n=data.n, seed=args.seed)
    _WORK.update(batch=args.batch)
    out: dict[str, dict[str, object]] = {}
    per_user: dict[str, list[list[float]]] = {}
    for arm in INTEREST_ARMS:
        out[arm], per_user[arm] = run_interest_arm(arm, len(users), args.jobs)
    for arm in ("several", "unnamed", "tagged"):
        out[arm]["paired_vs_pooled"] = {
            figure: paired(per_user[arm][k], per_user["pooled"][k])
            for k, figure in enumerate(("digest_recall", "worst_interest_recall"))
        }
    result = {
        "users": len(users),
        "papers": data.n,
        "seed": args.seed,
        "batch": args.batch,
        "interests": "several",
        "embeddings": not args.no_embeddings,
        "word_block": space.word_block,
        "interests_per_user": float(np.mean([len(groups[u.uid]) for u in users])),
        "floor": floor,
        "arms": out,
        "user_ids": [u.uid for u in users],
        # each arm's (digest recall, worst-served interest recall) per user, users in this order:
        # for pairing runs made apart (a variant of the product's steering against the code before)
        "per_user": per_user,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'arm':>10} {'recall':>8} {'worst':>8} {'best':>8}  vs pooled: recall, worst")
    for arm, r in out.items():
        vs = r.get("paired_vs_pooled")
        tail = ""
        if isinstance(vs, dict):
            tail = "  ".join(
                f"{v['mean_difference']:+.4f}±{v['standard_error']:.4f}" for v in vs.values()
            )
        print(
            f"{arm:>10} {r['digest_recall']:8.4f} {r['worst_interest_recall']:8.4f} "
            f"{r['best_interest_recall']:8.4f}  {tail}"
        )
    return 0


_WORK: dict[str, object] = {}


def phase_of(day: int) -> str:
    """The phase of the subscription ``day`` (counted from 1) is in."""
    for name, (first, last) in PHASES.items():
        if day >= first and (last is None or day <= last):
            return name
    raise ValueError(day)


def size_of(library: int) -> str:
    for name, (smallest, largest) in LIBRARY_SIZES.items():
        if library >= smallest and (largest is None or library <= largest):
            return name
    raise ValueError(library)


@dataclass
class UserRun:
    """One user's simulated subscription under one method."""

    recall: float
    phase_hits: dict[str, int]
    phase_total: dict[str, int]  # library papers that arrived in each phase
    library: int  # size of the whole library
    seconds: float
    days: int


def simulate_user(args: tuple[str, int]) -> UserRun:
    name, idx = args
    method: Method = _WORK["methods"][name]  # type: ignore[index]
    user: User = _WORK["users"][idx]  # type: ignore[index]
    n, seed = int(_WORK["n"]), int(_WORK["seed"])  # type: ignore[call-overload]
    batch_size = int(_WORK["batch"])  # type: ignore[call-overload]
    half = n // 2
    method.start(user, seed * 100_003 + user.uid)
    hits = 0
    phase_hits = dict.fromkeys(PHASES, 0)
    phase_total = dict.fromkeys(PHASES, 0)
    elapsed = 0.0
    days = 0
    for day, lo in enumerate(range(half, n, batch_size), start=1):
        batch = np.arange(lo, min(lo + batch_size, n))
        t0 = time.perf_counter()
        shown = method.rank(batch, lo)
        elapsed += time.perf_counter() - t0
        votes = np.array([1 if int(p) in user.library else -1 for p in shown], dtype=np.int64)
        got = int((votes > 0).sum())
        hits += got
        phase = phase_of(day)
        phase_hits[phase] += got
        phase_total[phase] += int(((user.future >= lo) & (user.future < lo + batch_size)).sum())
        t0 = time.perf_counter()
        method.learn(shown, votes, int(batch[-1]) + 1)
        elapsed += time.perf_counter() - t0
        days += 1
    return UserRun(
        hits / len(user.future), phase_hits, phase_total, len(user.library), elapsed, days
    )


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def run_method(name: str, n_users: int, jobs: int) -> tuple[dict[str, object], list[float]]:
    """A method's figures over the users, and each user's digest recall (for paired
    comparisons; each user's days 1-5 recall is in the figures, ``first_days_per_user``)."""
    t0 = time.perf_counter()
    tasks = [(name, i) for i in range(n_users)]
    if jobs > 1:
        with mp.get_context("fork").Pool(jobs) as pool:
            results = pool.map(simulate_user, tasks, chunksize=4)
    else:
        results = [simulate_user(t) for t in tasks]
    recalls = [r.recall for r in results]
    phases = {
        phase: _mean(
            [r.phase_hits[phase] / r.phase_total[phase] for r in results if r.phase_total[phase]]
        )
        for phase in PHASES
    }
    by_size = {
        size: _mean([r.recall for r in results if size_of(r.library) == size])
        for size in LIBRARY_SIZES
    }
    out: dict[str, object] = {
        "digest_recall": _mean(recalls),
        "cold_start_recall": phases["days 1-5"],
        "recall_by_phase": phases,
        "recall_by_library_size": by_size,
        "users_by_library_size": {
            size: sum(size_of(r.library) == size for r in results) for size in LIBRARY_SIZES
        },
        "ms_per_user_day": 1000 * sum(r.seconds for r in results) / sum(r.days for r in results),
        "wall_seconds": time.perf_counter() - t0,
        # None for a user with no library paper arriving on days 1-5
        "first_days_per_user": [
            r.phase_hits["days 1-5"] / r.phase_total["days 1-5"]
            if r.phase_total["days 1-5"]
            else None
            for r in results
        ],
    }
    log(
        f"{name:>24}: digest recall {out['digest_recall']:.4f}  "
        + "  ".join(f"{k} {v:.4f}" for k, v in phases.items())
        + f"  {out['ms_per_user_day']:.2f} ms/user-day  ({out['wall_seconds']:.0f} s)"
    )
    return out, recalls


def paired(a: list[float], b: list[float]) -> dict[str, float]:
    """Mean of ``a - b`` over the same users, and its standard error."""
    d = np.asarray(a) - np.asarray(b)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"mean_difference": float(d.mean()), "standard_error": se}


# The methods of --cold-start phrases (the others need liked papers).
PHRASE_METHODS = (
    "recommender,recommender_top10,recommender_tfidf,recommender_tfidf_top10,keyword_alert,random"
)
DEFAULT_METHODS = (
    "recommender,recommender_top10,recommender_tfidf,recommender_tfidf_top10,"
    "arxiv_sanity_lite,rocchio,random"
)


def parse_params(text: str, base: rm.TrainingParams = rm.DEFAULT_PARAMS) -> rm.TrainingParams:
    """The product's training parameters (``base``: a space's own, :func:`recommender.model.
    params_for`) with those named in ``text`` (name=value,...)."""
    changes: dict[str, object] = {}
    fields = {f.name: f for f in dataclasses.fields(rm.TrainingParams)}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if name not in fields:
            raise SystemExit(f"--params: no training parameter {name!r}")
        kind = type(getattr(rm.DEFAULT_PARAMS, name))
        changes[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return dataclasses.replace(base, **changes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python benchmarks/quality.py --users 300 --seed 4 --json\n"
        "  python benchmarks/quality.py --users 150 --seed 0 --methods recommender --json \\\n"
        "      --embedding-words w2-h15 --paired-with before.json",
    )
    ap.add_argument("--users", type=int, default=300, help="simulated users (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "citeulike-a")
    ap.add_argument("--json", action="store_true", help="print one JSON object with the results")
    ap.add_argument("--no-embeddings", action="store_true", help="skip the embedding variant")
    ap.add_argument("--model", default=rm.DEFAULT_MODEL, help="sentence-transformers model")
    ap.add_argument(
        "--methods", default=DEFAULT_METHODS, help="comma-separated subset of the methods to run"
    )
    ap.add_argument(
        "--profile",
        choices=("papers", "titles"),
        default="papers",
        help="liked papers in the profile count as whole catalogue papers, as the product "
        "resolves them (default), or as their titles alone (the product before)",
    )
    ap.add_argument(
        "--liked-all",
        action="store_true",
        help="each user signs up liking every back-catalogue paper of their library (about "
        "25), not 3: what a subscriber who lists their saved papers gets (every method "
        "is given them)",
    )
    ap.add_argument(
        "--cold-start",
        choices=("papers", "phrases"),
        default="papers",
        help="users sign up with 3 liked papers (default), or with interest phrases only: the "
        "3 most frequent tags of their first 3 papers (needs tags.dat and item-tags.dat)",
    )
    ap.add_argument(
        "--interests",
        choices=("one", "several"),
        default="one",
        help="several: users whose first papers fall into 2 or more tag groups, each group a "
        "named interest with an equal share, against one pooled interest (needs tags)",
    )
    ap.add_argument(
        "--floor",
        type=float,
        help="with --interests several: the affinity floor steering uses in this run's feature "
        "space instead of the product's (recommender.interests.AFFINITY_FLOOR; for trying)",
    )
    add_embedding_words(ap, "the embedding methods' space")
    ap.add_argument("--batch", type=int, default=BATCH, help=f"papers a day (default {BATCH})")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--weak", type=int, default=300, help="weak negatives per training")
    ap.add_argument(
        "--votes",
        choices=("one-by-one", "daily"),
        default="one-by-one",
        help="the recommender takes each vote as it comes, as the product does (default), or "
        "trains once on the day's votes, as the digest job retrains a stale model",
    )
    ap.add_argument(
        "--params",
        default="",
        help="the recommender's training parameters changed from the product's, as "
        "name=value,... (recommender.model.TrainingParams; for trying variants)",
    )
    ap.add_argument(
        "--latent",
        default="",
        help="words-only methods: which words go together, learned on the back catalogue, "
        "as name=value,... (kind=lsa|cooc, dims, weight, fit=w1|w2, scale=none|sigma, "
        "min_df, boost, only=phrases; for trying, see latent_space)",
    )
    ap.add_argument(
        "--paired-with",
        type=Path,
        help="the --json output of an earlier run over the same users: each method's paired "
        "difference from that run's same method (e.g. a variant of --params against the "
        "product's)",
    )
    args = ap.parse_args(argv)
    latent_opts = latent_options(args.latent)  # checked before the catalogue is read
    # every method runs single-threaded (BLAS included), as one digest worker would
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)

    data = load_data(args.data)
    half = data.n // 2
    if args.interests == "several":
        if data.tags is None:
            raise SystemExit(f"{args.data}: --interests several needs tags.dat and item-tags.dat")
        return main_interests(args, data)
    by_phrases = args.cold_start == "phrases"
    if by_phrases and data.tags is None:
        raise SystemExit(f"{args.data}: --cold-start phrases needs tags.dat and item-tags.dat")
    if by_phrases and args.liked_all:
        raise SystemExit("--liked-all: phrase cold-start users like no papers")
    users = pick_users(data, args.users, args.seed, phrases=by_phrases, liked_all=args.liked_all)
    log(f"{data.n} papers ({half} back catalogue, {data.n - half} arriving), {len(users)} users")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if by_phrases:
        if args.methods == DEFAULT_METHODS:
            methods = PHRASE_METHODS.split(",")
        needing_papers = {"arxiv_sanity_lite", "rocchio"} & set(methods)
        if needing_papers:
            raise SystemExit(
                f"--cold-start phrases: {', '.join(sorted(needing_papers))} need liked papers"
            )
    embedded = {"recommender", "recommender_top10"}
    use_emb = bool(embedded & set(methods)) and not args.no_embeddings
    if use_emb and not rm.embeddings_available():
        log("sentence-transformers is not installed: skipping the embedding variant")
        use_emb = False
    if not use_emb:
        methods = [m for m in methods if m not in embedded]

    papers = list(zip(data.titles, data.abstracts, strict=True))
    result: dict[str, object] = {
        "users": len(users),
        "papers": data.n,
        "seed": args.seed,
        "batch": args.batch,
        "profile": args.profile,
        "liked_all": args.liked_all,
        "cold_start": args.cold_start,
        "votes": args.votes,
    }
    impl: dict[str, Method] = {}

    if "arxiv_sanity_lite" in methods or "rocchio" in methods:
        # arxiv-sanity-lite's published TfidfVectorizer settings, fit on the back catalogue
        tfidf = arxiv_sanity_tfidf()
        texts = [f"{t} {a}" for t, a in papers]
        try:
            tfidf.fit(texts[:half])
        except ValueError as exc:  # scikit-learn: "After pruning, no terms remain"
            raise SystemExit(
                f"{args.data / 'papers.jsonl'}: arxiv-sanity-lite's TF-IDF settings (min_df=5, "
                f"max_df=0.1) leave no terms in the {half} back-catalogue papers ({exc}); "
                "the baseline needs a larger or more varied catalogue"
            ) from None
        xt = tfidf.transform(texts).astype(np.float32).tocsr()
        impl["arxiv_sanity_lite"] = ArxivSanityMethod(xt)
        impl["rocchio"] = RocchioMethod(xt)
    impl["random"] = RandomMethod()
    if "keyword_alert" in methods:
        impl["keyword_alert"] = KeywordAlertMethod([f"{t} {a}" for t, a in papers], half)
    phrases = sorted({p for u in users for p in u.phrases})
    if phrases:
        result["phrases_per_user"] = float(np.mean([len(u.phrases) for u in users]))

    params = parse_params(args.params)
    result["params"] = dataclasses.asdict(params)
    t0 = time.perf_counter()
    # document frequencies counted once on the back catalogue, then frozen (part of the space id),
    # with the cut-off the service uses when it makes a space
    words_space = rm.FeatureSpace.words_only().fit_idf(papers[:half], max_df=MAX_DOCUMENT_FREQUENCY)
    word_vectors = words_space.vectors
    if args.latent:
        words_space, word_vectors = latent_space(words_space, papers[:half], args.latent)
        result["latent"] = args.latent
    xw = word_vectors(papers)
    xw_prior = xw if args.profile == "papers" else word_vectors([(t, "") for t in data.titles])
    # only=phrases: papers score as [unit latent, unit words] but train as [0, unit words], and
    # the digest's similarities are the words' alone: without phrases, the words-only product
    xw_train = None
    only_phrases = latent_opts.get("only") == "phrases"
    if only_phrases:
        a = np.float32(np.sqrt(words_space.embedding_weight))
        plain = rm.FeatureSpace.words_only().fit_idf(papers[:half], max_df=MAX_DOCUMENT_FREQUENCY)
        words = plain.word_vectors(papers)
        xw = rm.PaperVectors(xw.embedding / a, words, xw.space_id)
        xw_train = rm.PaperVectors(np.zeros_like(xw.embedding), words, xw.space_id)
        if args.profile != "papers":
            raise SystemExit("--latent only=phrases: liked papers as whole papers only")
        xw_prior = xw_train
    log(f"hashed word features: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    sw = (
        day_similarities(xw if xw_train is None else xw_train, half, args.batch)
        if "recommender_tfidf" in methods
        else None
    )
    result["day_similarities_seconds_words"] = time.perf_counter() - t0
    pw = phrase_vectors(words_space, phrases, None, word_vectors) if phrases else None
    boost = float(latent_opts.get("boost", 1))
    if pw is not None and only_phrases:  # [boost * unit latent, unit words]
        rows, v = pw
        b = np.float32(np.sqrt(1.0 - words_space.embedding_weight))
        latent = v.embedding * np.float32(boost / np.sqrt(words_space.embedding_weight))
        pw = rows, rm.PaperVectors(latent, v.words / b, v.space_id)
    elif pw is not None and boost != 1.0:  # the phrases' latent block weighs `boost` times more
        rows, v = pw
        pw = rows, rm.PaperVectors(v.embedding * np.float32(boost), v.words, v.space_id)
    for name, sim in (("recommender_tfidf", sw), ("recommender_tfidf_top10", None)):
        impl[name] = RecommenderMethod(
            words_space,
            xw,
            xw_prior,
            args.weak,
            params,
            similarity=sim,
            phrases=pw,
            train_x=xw_train,
            one_by_one=args.votes == "one-by-one",
        )
    if use_emb:
        emb, rate, model_id = cached_embeddings(
            data, args.model, "papers", [rm.paper_text(t, a) for t, a in papers]
        )
        space = embedding_space(args.embedding_words, model_id, emb.shape[1]).fit_idf(
            papers[:half], max_df=MAX_DOCUMENT_FREQUENCY
        )
        result["embedding_word_block"] = space.word_block
        x = space.vectors(papers, emb)
        if args.profile == "papers":
            x_prior = x
        else:
            # the profile's liked titles embedded as the titles alone
            title_emb, _, _ = cached_embeddings(
                data, args.model, "titles", [rm.paper_text(t, "") for t in data.titles]
            )
            x_prior = space.vectors([(t, "") for t in data.titles], title_emb)
        t0 = time.perf_counter()
        se = day_similarities(x, half, args.batch) if "recommender" in methods else None
        result["day_similarities_seconds"] = time.perf_counter() - t0
        pe = phrase_vectors(space, phrases, rm.Embedder(args.model)) if phrases else None
        own = parse_params(args.params, rm.params_for(space))  # the embedding model's knobs
        for name, sim in (("recommender", se), ("recommender_top10", None)):
            impl[name] = RecommenderMethod(
                space,
                x,
                x_prior,
                args.weak,
                own,
                similarity=sim,
                phrases=pe,
                one_by_one=args.votes == "one-by-one",
            )
        result["embedding_model"] = model_id
        result["embedding_papers_per_s_first_run"] = rate
        # throughput measured now, on a fixed sample, whether or not the cache was used
        embedder = rm.Embedder(args.model)
        embedder.embed_texts(["warm-up"])
        sample = np.random.default_rng(args.seed).choice(
            data.n, size=min(400, data.n), replace=False
        )
        t0 = time.perf_counter()
        embedder.embed_texts([rm.paper_text(*papers[i]) for i in sample], batch_size=64)
        result["embedding_papers_per_s"] = len(sample) / (time.perf_counter() - t0)
        log(f"embedding throughput: {result['embedding_papers_per_s']:.0f} papers/s")

    _WORK.update(methods=impl, users=users, n=data.n, seed=args.seed, batch=args.batch)
    out: dict[str, dict[str, object]] = {}
    recalls: dict[str, list[float]] = {}
    for name in methods:
        if name not in impl:
            raise SystemExit(f"unknown method {name!r}")
        out[name], recalls[name] = run_method(name, len(users), args.jobs)
    for anchor in ("arxiv_sanity_lite", "keyword_alert"):
        if anchor in recalls:
            for name in methods:
                if name != anchor:
                    out[name][f"paired_vs_{anchor}"] = paired(recalls[name], recalls[anchor])
    for chosen, plain in (
        ("recommender", "recommender_top10"),
        ("recommender_tfidf", "recommender_tfidf_top10"),
    ):
        if chosen in recalls and plain in recalls:
            out[chosen]["paired_vs_top10"] = paired(recalls[chosen], recalls[plain])
    if args.paired_with:
        earlier = json.loads(args.paired_with.read_text())
        if earlier["user_ids"] != [u.uid for u in users]:
            raise SystemExit(f"{args.paired_with}: a run over other users")
        for name in methods:
            if name in earlier["recall_per_user"]:
                out[name]["paired_vs_earlier_run"] = paired(
                    recalls[name], earlier["recall_per_user"][name]
                )
                before = earlier["methods"].get(name, {}).get("first_days_per_user")
                if before is not None:
                    now = out[name]["first_days_per_user"]
                    both = [(a, b) for a, b in zip(now, before, strict=True) if a is not None]
                    out[name]["paired_days_1_5_vs_earlier_run"] = paired(*zip(*both, strict=True))
    result["methods"] = out
    # each user's digest recall per method, users in this order: for pairing runs made apart
    result["user_ids"] = [u.uid for u in users]
    result["recall_per_user"] = recalls
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(out, "keyword_alert" if by_phrases else "arxiv_sanity_lite")
    return 0


def print_table(out: dict[str, dict[str, object]], anchor: str = "arxiv_sanity_lite") -> None:
    """The figures of each method, with their ratio to the ``anchor`` method's."""
    base = out.get(anchor)

    def cell(value: float, of: float | None) -> str:
        if np.isnan(value):
            return "-"
        if of is None or np.isnan(of) or not of:
            return f"{value:.4f}"
        return f"{value:.4f} x{value / of:.2f}"

    def figures(r: dict[str, object]) -> list[float]:
        return [
            r["digest_recall"],  # type: ignore[list-item]
            *r["recall_by_phase"].values(),  # type: ignore[attr-defined]
            *r["recall_by_library_size"].values(),  # type: ignore[attr-defined]
        ]

    head = ["recall", *PHASES, *(f"library {k}" for k in LIBRARY_SIZES)]
    print(f"{'method':>24} " + " ".join(f"{h:>13}" for h in head) + f" {'ms/user-day':>12}")
    baseline = figures(base) if base else [None] * len(head)
    for name, r in out.items():
        cells = [cell(v, b) for v, b in zip(figures(r), baseline, strict=True)]
        print(
            f"{name:>24} " + " ".join(f"{c:>13}" for c in cells) + f" {r['ms_per_user_day']:12.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
