"""Paper features in a fixed, versioned feature space (pure: no I/O, no clocks).

A paper (title, abstract) becomes one row vector made of two blocks:

* **embedding block** (optional): the paper's sentence embedding (unit length, computed once per
  paper by :class:`recommender.embeddings.Embedder` and stored by the caller), and
* **word block**: *hashed* word unigrams, adjacent-word bigrams and parts of every word, of the
  title and abstract (English stop words dropped, sublinear term frequency, optionally frozen
  IDF weights, unit length). The parts let ``protein`` match ``proteins`` and ``proteomics``:
  most papers are known by a title alone, and two short texts on one topic rarely share many
  whole words. A words-only space takes every word's character 4-grams (recipe ``w2``); a space
  with an embedding block, where the embedding already knows which words go together, takes
  each longer word's first five letters (``w3``: a third of the features a paper to score).

Both blocks are scaled so that the whole vector has unit length:
``x = [a * embedding, b * words]`` with ``a**2 + b**2 == 1``.

Why the space stays valid as the corpus grows: the word block uses feature *hashing*, so there is no
vocabulary to refit and a new word can never move an existing feature. Words may be weighted by
inverse document frequency (:meth:`FeatureSpace.fit_idf`), but those statistics are counted once and
then frozen into the space: they are part of :attr:`FeatureSpace.id` (as a digest), so refitting
them on a grown corpus makes a *new* space rather than silently changing the old one. Anything else
that changes the space (hash width, tokenizer version, embedding model, block weights) changes the
id too. A stored space keeps its tokenizer: spaces made before character grams existed are ``w1``
(words and phrases only; migration 0007 wrote it into their definitions), so their models stay
valid; new words-only spaces use :data:`TOKENIZER_VERSION`, new spaces with embeddings
:data:`EMBEDDING_SPACE_TOKENIZER`. Every :class:`recommender.model.UserModel` records
the id it was trained in, and scoring refuses a mismatch (:class:`FeatureSpaceMismatch`) instead of
skewing the ranking; the caller then retrains the subscriber (a millisecond) on vectors of the new
space. Store a space with :meth:`FeatureSpace.to_dict` / :meth:`FeatureSpace.from_dict`.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.utils import murmurhash3_32

__all__ = [
    "EMBEDDING_SPACE_HASH_BITS",
    "EMBEDDING_SPACE_TOKENIZER",
    "TOKENIZER_VERSION",
    "TOKENIZERS",
    "FeatureSpace",
    "FeatureSpaceMismatch",
    "PaperVectors",
    "Term",
    "clean_text",
    "counts_from_bytes",
    "counts_to_bytes",
    "feature_columns",
    "link_only_terms",
    "paper_term_texts",
    "paper_terms",
    "stop_word_spans",
    "term_features",
    "text_terms",
]

# The term recipes. "w1": words and adjacent-word phrases; "w2": the same plus the character
# 4-grams of every word; "w3": words and phrases plus the first five letters of every longer
# word (one feature a word, where "w2" adds about seven). New words-only spaces take
# TOKENIZER_VERSION; stored spaces keep the recipe they were made with.
TOKENIZER_VERSION = "w2"
TOKENIZERS = ("w1", "w2", "w3")
# The word block of new spaces with an embedding block: its term recipe and hash width. There
# the embedding already knows which words go together and the word block holds a tenth of each
# vector's weight: words and phrases with each word's prefix ranked as well as "w2" in 2^15
# columns (benchmarks/RESULTS.md, "Scale"), with a third of the features a paper to score and
# half the columns to keep per subscriber.
EMBEDDING_SPACE_TOKENIZER = "w3"
EMBEDDING_SPACE_HASH_BITS = 14
CHAR_GRAM = 4
# Papers whose words are counted in one go when a space's document frequencies are fitted:
# a progress report each (half a second or so), and a bounded sparse matrix at a time.
COUNTED_AT_ONCE = 1000
PREFIX = 5

# Words that say nothing about a paper's topic in abstracts, on top of sklearn's English list.
# Its number words stop at "hundred": the larger ones complete them ("models from 100 million
# to 3 billion parameters" is no topic, as its digits, which no token keeps, are none). It
# has the auxiliary "do" but not its other forms: "does", "did", "doing" complete it.
_EXTRA_STOP_WORDS = frozenset(
    """
    paper papers study studies result results using used use uses based approach approaches
    method methods new present presents presented propose proposed proposes show shows shown
    provide provides provided demonstrate demonstrated also however may can one two three
    well within among via et al first recent recently respectively including include includes
    thousand thousands million millions billion billions trillion trillions
    does did doing
    """.split()
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | _EXTRA_STOP_WORDS

_TEX_COMMAND = re.compile(r"\\[A-Za-z]+\s*|\\.")
_BRACES = re.compile(r"[{}]")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)?|[0-9]+[A-Za-z][A-Za-z0-9]*")
_AROUND_TOKENS = re.compile(f"({_TOKEN.pattern})")  # split keeps the tokens


class FeatureSpaceMismatch(ValueError):
    """A model or vector belongs to a different feature space than the one in use."""


def clean_text(text: str) -> str:
    """Strip TeX/BibTeX leftovers (``\\&``, ``{T}his``) and collapse whitespace."""
    text = _TEX_COMMAND.sub(lambda m: " " if m.group(0)[1:2].isalpha() else m.group(0)[1:], text)
    text = _BRACES.sub("", text)
    return " ".join(text.split())


class Term(NamedTuple):
    """A word or phrase as it occurs in a paper: ``key`` is the feature, ``text`` the surface."""

    key: str
    text: str


def paper_terms(title: str, abstract: str = "") -> list[Term]:
    """Words and two-word phrases of a paper, in order, with their surface text.

    Unigrams are lowercased tokens of length >= 2 that are not stop words. A bigram joins two
    such tokens that stand next to each other in the text (only spaces or a hyphen between), so
    every phrase really occurs in the (cleaned) title or abstract.
    """
    keys, texts = paper_term_texts(title, abstract)
    return list(map(Term, keys, texts))


def paper_term_texts(title: str, abstract: str = "") -> tuple[list[str], list[str]]:
    """:func:`paper_terms` as two lists, the keys and their surface texts (faster)."""
    keys: list[str] = []
    texts: list[str] = []
    stop_words = STOP_WORDS
    gap = _GAP.fullmatch
    for part in (title, abstract):
        if not part:
            continue
        text = clean_text(part)
        previous: str | None = None
        previous_start = previous_end = 0
        for m in _TOKEN.finditer(text):
            surface = m.group(0)
            word = surface.lower().replace("’", "'")
            if len(word) < 2 or word in stop_words:
                previous = None
                continue
            keys.append(word)
            texts.append(surface)
            start = m.start()
            if previous is not None and gap(text, previous_end, start):
                keys.append(previous + " " + word)
                texts.append(text[previous_start : m.end()])
            previous, previous_start, previous_end = word, start, m.end()
    return keys, texts


def text_terms(texts: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Every term (word and two-word phrase, as :func:`paper_terms` keys them) of ``texts``
    (title, abstract): what a subscriber's own texts say, for an explanation to check a term
    against."""
    terms: set[str] = set()
    for text in texts:
        terms.update(_analyze(text))
    return frozenset(terms)


# Two tokens form a phrase only if just spaces or a hyphen separate them in the text.
_GAP = re.compile(r"[ \-]+")
# The stop words that join two words into one name (:func:`stop_word_spans`): "of", then
# maybe an article ("Mixture-of-Experts", "Chain-of-Thought", "state-of-the-art"). Not "and"
# or "in": those join two things, not one.
_SPAN_JOINS = ("of",)
_SPAN_ARTICLES = frozenset({"the", "a", "an"})
_HYPHEN = re.compile(r"[\-‐]")
_HYPHENATED_OF = re.compile(r"[\-‐]of[\-‐]", re.IGNORECASE)  # no span without one


def stop_word_spans(title: str, abstract: str = "") -> dict[tuple[str, str], str]:
    """Pairs of words (their keys, as in :func:`paper_terms`) that the text hyphenates into
    one name with "of" (and maybe an article), with the text of the first such span:
    "Mixture-of-Experts" gives ``("mixture", "experts")``. Such words make no phrase of their
    own (a stop word stands between), but an explanation that names both can name them as the
    paper writes them. Only hyphens: with spaces, "X of Y" is as often two things ("feedback
    of online users") as one name."""
    spans: dict[tuple[str, str], str] = {}
    stop_words = STOP_WORDS
    hyphen = _HYPHEN.fullmatch
    for part in (title, abstract):
        if not part or not _HYPHENATED_OF.search(part):
            continue
        text = clean_text(part)
        previous: str | None = None  # the last word, while only joining words followed it
        previous_start = end = 0
        between: list[str] = []
        for m in _TOKEN.finditer(text):
            word = m.group(0).lower().replace("’", "'")
            joined = hyphen(text, end, m.start()) is not None
            end = m.end()
            if len(word) < 2 or word in stop_words:
                between.append(word)
                ok = between[0] in _SPAN_JOINS and all(w in _SPAN_ARTICLES for w in between[1:])
                if not joined or not ok or len(between) > 2:
                    previous = None
                continue
            if previous is not None and joined and between:
                spans.setdefault((previous, word), text[previous_start:end])
            previous, previous_start, between = word, m.start(), []
    return spans


_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def link_only_terms(title: str, abstract: str = "") -> set[str]:
    """Keys of the paper's terms that occur in it only inside links ("Code at
    https://github.com/lab/tool": ``github``, ``com``, ``github com``): a host or a path names
    no topic, so an explanation never gives one as a reason."""
    links = _LINK.findall(title) + _LINK.findall(abstract)
    if not links:
        return set()
    inside = set(paper_term_texts(" ".join(links))[0])
    return inside - set(paper_term_texts(_LINK.sub(" ", title), _LINK.sub(" ", abstract))[0])


def _analyze(doc: tuple[str, str]) -> list[str]:
    """The keys of :func:`paper_terms` (the same ones, in the same order), made faster: the
    feature hashing of every paper runs through here. The text is split around its tokens
    once (tokens at odd places, what lies between them at even ones), so two kept tokens make
    a phrase when what lies between them is spaces and hyphens alone."""
    keys: list[str] = []
    stop_words = STOP_WORDS
    for part in doc:
        if not part:
            continue
        pieces = _AROUND_TOKENS.split(clean_text(part))
        previous: str | None = None
        for i in range(1, len(pieces), 2):
            word = pieces[i].lower().replace("’", "'")
            if len(word) < 2 or word in stop_words:
                previous = None
                continue
            keys.append(word)
            if previous is not None:
                gap = pieces[i - 1]
                if gap and not gap.strip(" -"):
                    keys.append(previous + " " + word)
            previous = word
    return keys


@functools.lru_cache(maxsize=1 << 16)
def _char_grams(word: str) -> tuple[str, ...]:
    """Character 4-grams of a word with its boundaries marked (``<protein>``: ``<pro``, ...).

    The ``#`` prefix keeps a gram from ever hashing like the word of the same letters.
    """
    padded = f"<{word}>"
    return tuple("#" + padded[i : i + CHAR_GRAM] for i in range(len(padded) - CHAR_GRAM + 1))


def _prefix(word: str) -> tuple[str, ...]:
    """A word's first :data:`PREFIX` letters, if it has more (``<netwo`` for ``networks``):
    truncation stemming. Marked like a gram, and longer than one, so it hashes like neither."""
    return ("#<" + word[:PREFIX],) if len(word) > PREFIX else ()


# What each recipe adds to a word (never to a phrase).
_WORD_EXTRAS = {"w1": lambda word: (), "w2": _char_grams, "w3": _prefix}


def term_features(key: str, tokenizer: str = TOKENIZER_VERSION) -> tuple[str, ...]:
    """The hashed features of one term: the term itself and, for a word, what the recipe adds
    (its character grams under "w2", its prefix under "w3")."""
    if " " in key:
        return (key,)
    return (key, *_WORD_EXTRAS[tokenizer](key))


def _with_extras(doc: tuple[str, str], tokenizer: str) -> list[str]:
    """:func:`_analyze` with what the recipe adds to each word after it (:data:`_WORD_EXTRAS`)."""
    extras = _WORD_EXTRAS[tokenizer]
    keys: list[str] = []
    for key in _analyze(doc):
        keys.append(key)
        if " " not in key:
            keys.extend(extras(key))
    return keys


_ANALYZERS = {
    "w1": _analyze,
    **{t: functools.partial(_with_extras, tokenizer=t) for t in ("w2", "w3")},
}


def _column(feature: str, n_words: int) -> int:
    """The column a hashed feature falls in: HashingVectorizer's own hash (signed 32-bit
    MurmurHash3 of its UTF-8, seed 0), its absolute value modulo the width."""
    return abs(murmurhash3_32(feature, seed=0)) % n_words


@functools.lru_cache(maxsize=1 << 17)
def _word_columns(word: str, tokenizer: str, n_words: int) -> tuple[int, ...]:
    """The columns one occurrence of a word adds one to: its own and what the recipe adds
    (a column twice where two of its features fall in it). Kept per process: a catalogue's
    words come back in paper after paper, its phrases (hashed as they come) rarely do."""
    return tuple(_column(feature, n_words) for feature in term_features(word, tokenizer))


def hashed_counts(docs: Sequence[tuple[str, str]], tokenizer: str, n_words: int) -> sp.csr_matrix:
    """How often each column is hit in each of ``docs``: a row a ``(title, abstract)`` pair,
    float32, duplicates summed. What a HashingVectorizer of the recipe's analyser
    (:data:`_ANALYZERS`, no sign, no norm) gives, made over twice as fast: a word's columns are
    hashed once (:func:`_word_columns`), not each time it occurs."""
    columns: list[int] = []
    ends = [0]
    for doc in docs:
        for key in _analyze(doc):
            if " " in key:
                columns.append(_column(key, n_words))
            else:
                columns.extend(_word_columns(key, tokenizer, n_words))
        ends.append(len(columns))
    x = sp.csr_matrix(
        (
            np.ones(len(columns), dtype=np.float32),
            np.asarray(columns, dtype=np.int32),
            np.asarray(ends, dtype=np.int64),
        ),
        shape=(len(docs), n_words),
    )
    x.sum_duplicates()
    return x


def counts_to_bytes(counts: sp.csr_matrix) -> list[bytes]:
    """Each row of :func:`hashed_counts` as bytes to keep (:func:`counts_from_bytes` reads
    them back), compressed: the gaps between its columns (little-endian, 2 bytes each in a
    block of up to 2^16 columns, else 4), then its counts (2 bytes each, at most 65,535: a
    column hit more often in one paper weighs as if hit that often, 1 + ln 65,535 against
    more), deflated. About 1.5 KB for a paper with a long abstract in a words-only space, 40%
    of the plain columns and counts."""
    column_type = _column_type(counts.shape[1])
    counts = counts.copy()
    counts.sort_indices()
    rows = []
    for start, end in zip(counts.indptr[:-1], counts.indptr[1:], strict=True):
        columns = counts.indices[start:end].astype(np.int64)
        gaps = np.diff(columns, prepend=0).astype(column_type)
        values = np.minimum(counts.data[start:end], np.iinfo(np.uint16).max).astype("<u2")
        rows.append(zlib.compress(gaps.tobytes() + values.tobytes(), 1))
    return rows


def counts_from_bytes(rows: Sequence[bytes], n_words: int) -> sp.csr_matrix:
    """The rows kept by :func:`counts_to_bytes`, as one float32 CSR matrix of ``n_words``
    columns (row by row: nothing of the size of the whole batch but the result)."""
    column_type = np.dtype(_column_type(n_words))
    width = column_type.itemsize + 2
    columns: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for row in rows:
        plain = zlib.decompress(row)
        n, rest = divmod(len(plain), width)
        if rest:
            raise ValueError(f"kept word counts are not rows of {width}-byte entries")
        # a row's columns are the running sum of its gaps
        columns.append(np.cumsum(np.frombuffer(plain, column_type, n)).astype(np.int32))
        values.append(np.frombuffer(plain, "<u2", n, offset=n * column_type.itemsize))
    ends = np.concatenate([[0], np.cumsum([len(c) for c in columns], dtype=np.int64)])
    return sp.csr_matrix(
        (
            np.concatenate(values).astype(np.float32) if values else np.zeros(0, np.float32),
            np.concatenate(columns) if columns else np.zeros(0, np.int32),
            ends,
        ),
        shape=(len(rows), n_words),
    )


def _column_type(n_words: int) -> str:
    return "<u2" if n_words <= 1 << 16 else "<u4"


def _counting_source() -> str:
    """The source of everything :func:`hashed_counts` does and of how its rows are kept, with
    the constants it reads."""
    import inspect

    parts = [clean_text, _analyze, _char_grams, _prefix, term_features, _column, _word_columns]
    parts += [hashed_counts, counts_to_bytes, counts_from_bytes, _column_type]
    try:
        code = "".join(inspect.getsource(getattr(f, "__wrapped__", f)) for f in parts)
    except OSError:  # no source on disk (a frozen build): the constants alone
        code = ""
    constants = (sorted(STOP_WORDS), _TOKEN.pattern, _TEX_COMMAND.pattern, CHAR_GRAM, PREFIX)
    return code + repr(constants)


# What the word counts kept between runs are keyed by besides the block (tokenizer and width):
# a digest of how they are counted and kept, so that counts kept by an earlier version of this
# module (another stop word, another rule for phrases, another layout) are counted afresh,
# never read as this one's.
COUNTING_RECIPE = hashlib.sha256(_counting_source().encode("utf-8")).hexdigest()[:10]


@functools.cache
def _column_hasher(n_words: int) -> FeatureHasher:
    # HashingVectorizer's own hashing (signed 32-bit MurmurHash3, seed 0, absolute value)
    return FeatureHasher(n_words, input_type="string", alternate_sign=False, dtype=np.float32)


def feature_columns(
    keys: Sequence[str], tokenizer: str, n_words: int
) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`FeatureSpace.feature_columns` of a space with that tokenizer and width."""
    if not keys:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # one row per term: its distinct columns, hashed in one call for all the terms
    rows = _column_hasher(n_words).transform([term_features(k, tokenizer) for k in keys])
    owners = np.repeat(np.arange(len(keys), dtype=np.int64), np.diff(rows.indptr))
    return owners, rows.indices.astype(np.int64)


@dataclass(frozen=True)
class FeatureSpace:
    """A fixed feature space: hashed words, optionally preceded by a sentence embedding.

    ``embedding_model``/``embedding_dim`` name the embedding block (``None``/0 for words only);
    ``embedding_weight`` is the share of the squared norm given to the embedding block;
    ``tokenizer`` names the term recipe of the word block (see :data:`TOKENIZER_VERSION`).
    """

    hash_bits: int = 15
    embedding_model: str | None = None
    embedding_dim: int = 0
    embedding_weight: float = 0.9
    idf: np.ndarray | None = field(default=None, repr=False, compare=False)
    tokenizer: str = TOKENIZER_VERSION

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {self.tokenizer!r}")
        if not 8 <= self.hash_bits <= 24:
            raise ValueError("hash_bits must be between 8 and 24")
        if (self.embedding_model is None) != (self.embedding_dim == 0):
            raise ValueError("give both embedding_model and embedding_dim, or neither")
        if self.embedding_model is not None and not 0.0 < self.embedding_weight < 1.0:
            raise ValueError("embedding_weight must be strictly between 0 and 1")
        if self.idf is not None:
            idf = np.ascontiguousarray(self.idf, dtype=np.float32)
            if idf.shape != (self.n_words,):
                raise ValueError(f"idf must have {self.n_words} entries, not {idf.shape}")
            object.__setattr__(self, "idf", idf)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FeatureSpace) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def fit_idf(
        self,
        papers: Iterable[tuple[str, str]],
        *,
        max_df: float = 1.0,
        min_df: int = 1,
        on_progress: Callable[[int], None] | None = None,
        on_counts: Callable[[Sequence[tuple[str, str]], sp.csr_matrix], None] | None = None,
    ) -> FeatureSpace:
        """A new space whose word block is weighted by inverse document frequencies.

        The frequencies are counted once, over ``papers``, and then frozen: they are part of the
        new space's :attr:`id` (as a digest), so refitting them later makes a *new* space and
        models of the old one are refused instead of silently skewed. Words never seen when
        fitting hash into buckets like any other word and get the weight of a rare word.
        ``on_progress(n)`` is told of every :data:`COUNTED_AT_ONCE` papers counted (about half
        a millisecond a paper with a long abstract), ``on_counts(papers, counts)`` given their
        :meth:`word_counts` (the same in the new space), to keep.
        """
        docs = [(t or "", a or "") for t, a in papers]
        df = np.zeros(self.n_words, dtype=np.float64)
        for start in range(0, len(docs), COUNTED_AT_ONCE):
            chunk = docs[start : start + COUNTED_AT_ONCE]
            counts = hashed_counts(chunk, self.tokenizer, self.n_words)
            df += np.bincount(counts.indices, minlength=self.n_words)
            if on_counts is not None:
                on_counts(chunk, counts)
            if on_progress is not None:
                on_progress(len(chunk))
        idf = np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0
        idf[df > max_df * len(docs)] = 0.0  # too common to tell papers apart
        idf[(df > 0) & (df < min_df)] = 0.0  # too rare to learn from
        return dataclasses.replace(self, idf=idf.astype(np.float32))

    @cached_property
    def idf_digest(self) -> str | None:
        if self.idf is None:
            return None
        return hashlib.sha256(self.idf.astype("<f4").tobytes()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """Plain data to store the space (the IDF table base64-encoded); see :meth:`from_dict`."""
        return {
            "id": self.id,
            "hash_bits": self.hash_bits,
            "embedding_model": self.embedding_model,
            "embedding_dim": self.embedding_dim,
            "embedding_weight": self.embedding_weight,
            "tokenizer": self.tokenizer,
            "idf": None
            if self.idf is None
            else base64.b64encode(self.idf.astype("<f4").tobytes()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpace:
        idf = None
        if d.get("idf") is not None:
            idf = np.frombuffer(base64.b64decode(d["idf"]), dtype="<f4").astype(np.float32)
        space = cls(
            d["hash_bits"],
            d["embedding_model"],
            d["embedding_dim"],
            d["embedding_weight"],
            idf,
            d["tokenizer"],  # migration 0007 wrote "w1" into spaces stored before it was kept
        )
        if "id" in d and d["id"] != space.id:
            raise FeatureSpaceMismatch(f"stored space {d['id']} does not rebuild as {space.id}")
        return space

    @classmethod
    def words_only(cls, hash_bits: int = 15, tokenizer: str = TOKENIZER_VERSION) -> FeatureSpace:
        return cls(hash_bits=hash_bits, tokenizer=tokenizer)

    @classmethod
    def with_embeddings(
        cls,
        model_id: str,
        dim: int,
        *,
        hash_bits: int = EMBEDDING_SPACE_HASH_BITS,
        embedding_weight: float = 0.9,
        tokenizer: str = EMBEDDING_SPACE_TOKENIZER,
    ) -> FeatureSpace:
        return cls(hash_bits, model_id, dim, embedding_weight, tokenizer=tokenizer)

    @property
    def word_block(self) -> str:
        """The word block's recipe and width, as ``TOKENIZER-hBITS`` (``w3-h14``)."""
        return f"{self.tokenizer}-h{self.hash_bits}"

    @property
    def counts_key(self) -> str:
        """What this space's :meth:`word_counts` are kept under: the word block and
        :data:`COUNTING_RECIPE` (``w3-h14-0123456789``)."""
        return f"{self.word_block}-{COUNTING_RECIPE}"

    # --- identity -------------------------------------------------------------------------
    @cached_property  # asked for on every score and explanation; the IDF digest is a hash
    def id(self) -> str:
        """Identifier of the space; models trained in another space are refused."""
        words = f"words-{self.tokenizer}-h{self.hash_bits}"
        if self.idf is not None:
            words += f"-idf{self.idf_digest}"
        if self.embedding_model is None:
            return words
        return f"emb-{self.embedding_model}-{self.embedding_dim}-w{self.embedding_weight:g}+{words}"

    @property
    def has_embeddings(self) -> bool:
        return self.embedding_model is not None

    @property
    def n_words(self) -> int:
        return 1 << self.hash_bits

    @property
    def dim(self) -> int:
        return self.embedding_dim + self.n_words

    @property
    def _scales(self) -> tuple[float, float]:
        if not self.has_embeddings:
            return 0.0, 1.0
        a = float(np.sqrt(self.embedding_weight))
        return a, float(np.sqrt(1.0 - self.embedding_weight))

    # --- vectors --------------------------------------------------------------------------
    def word_counts(self, papers: Iterable[tuple[str, str]]) -> sp.csr_matrix:
        """How often ``(title, abstract)`` pairs hit each column of the word block (what
        :meth:`word_vectors` weighs; the same in every space of this :attr:`word_block`)."""
        return hashed_counts([(t or "", a or "") for t, a in papers], self.tokenizer, self.n_words)

    def word_vectors(
        self, papers: Iterable[tuple[str, str]], counts: sp.csr_matrix | None = None
    ) -> sp.csr_matrix:
        """Unit-length hashed word vectors (sublinear tf) of ``(title, abstract)`` pairs, from
        their :meth:`word_counts` (``counts``, where the caller kept them)."""
        x = self.word_counts(papers) if counts is None else counts.astype(np.float32, copy=True)
        x.data = (1.0 + np.log(x.data)).astype(np.float32)  # sublinear tf
        if self.idf is not None:
            x.data *= self.idf[x.indices]
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        x = sp.csr_matrix(sp.diags(1.0 / norms).dot(x), dtype=np.float32)
        return x

    def term_columns(self, keys: Sequence[str]) -> np.ndarray:
        """Column (within the word block) of each term key: the hash the word block uses."""
        # HashingVectorizer's own hash (signed 32-bit MurmurHash3, seed 0, absolute value),
        # called directly: building a vectorizer per explained paper cost more than the rest.
        n = self.n_words
        return np.array([abs(murmurhash3_32(k, seed=0)) % n for k in keys], dtype=np.int64)

    def feature_columns(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every column each term key feeds, as ``(term index, column)`` pairs, each pair once.

        A word feeds its own column and, in a "w2" space, those of its character grams (in a
        "w3" space, that of its prefix).
        """
        return feature_columns(keys, self.tokenizer, self.n_words)

    def vectors(
        self,
        papers: Sequence[tuple[str, str]],
        embeddings: np.ndarray | None = None,
        counts: sp.csr_matrix | None = None,
    ) -> PaperVectors:
        """Feature vectors of ``(title, abstract)`` pairs (one row each).

        ``embeddings`` (``(n, embedding_dim)``, from the embedding model named by this space) is
        required exactly when the space has an embedding block. ``counts``: the papers'
        :meth:`word_counts`, where the caller kept them (else they are counted here).
        """
        papers = list(papers)
        if counts is not None and counts.shape != (len(papers), self.n_words):
            raise FeatureSpaceMismatch(
                f"word counts of shape {counts.shape} do not fit space {self.id} "
                f"({len(papers)} papers x {self.n_words})"
            )
        a, b = self._scales
        words = self.word_vectors(papers, counts)
        if b != 1.0:
            words = words * np.float32(b)
        if not self.has_embeddings:
            if embeddings is not None:
                raise FeatureSpaceMismatch(f"space {self.id} takes no embeddings")
            return PaperVectors(np.zeros((len(papers), 0), np.float32), words, self.id)
        if embeddings is None:
            raise FeatureSpaceMismatch(f"space {self.id} needs embeddings")
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape != (len(papers), self.embedding_dim):
            raise FeatureSpaceMismatch(
                f"embeddings of shape {emb.shape} do not fit space {self.id} "
                f"({len(papers)} papers x {self.embedding_dim})"
            )
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        emb = (emb * (a / np.maximum(norms, 1e-12))).astype(np.float32)
        return PaperVectors(emb, words, self.id)

    @cached_property  # one for the space: zero rows hold nothing to change, and training asks
    def _empty(self) -> PaperVectors:  # for several a subscriber
        return PaperVectors(
            np.zeros((0, self.embedding_dim), np.float32),
            sp.csr_matrix((0, self.n_words), dtype=np.float32),
            self.id,
        )

    def empty(self) -> PaperVectors:
        """Zero rows of this space."""
        return self._empty

    def check(self, vectors: PaperVectors) -> None:
        """Raise :class:`FeatureSpaceMismatch` unless ``vectors`` belong to this space."""
        if vectors.space_id != self.id or vectors.dim != self.dim:
            raise FeatureSpaceMismatch(
                f"vectors of feature space {vectors.space_id}, expected {self.id}"
            )


@dataclass(frozen=True)
class PaperVectors:
    """Rows of paper vectors in one feature space, kept as two blocks.

    ``embedding``: dense ``(n, embedding_dim)`` float32 (``embedding_dim`` may be 0);
    ``words``: sparse CSR ``(n, 2**hash_bits)`` float32. Both are already scaled, so the full
    vector of row ``i`` is ``[embedding[i], words[i]]`` and has unit length. Index with an
    integer array or slice to select rows; :meth:`stack` concatenates.
    """

    embedding: np.ndarray
    words: sp.csr_matrix
    space_id: str

    def __post_init__(self) -> None:
        if self.embedding.shape[0] != self.words.shape[0]:
            raise ValueError("embedding and word blocks have different numbers of rows")

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @property
    def dim(self) -> int:
        return int(self.embedding.shape[1] + self.words.shape[1])

    @cached_property
    def words_by_column(self) -> sp.csc_matrix:
        """The word block in column-major (CSC) form, made once: the product with many
        models' weights reads each weight once this way, where rows read them scattered."""
        return self.words.tocsc()

    def __getitem__(self, rows: Any) -> PaperVectors:
        if isinstance(rows, int | np.integer):
            rows = [int(rows)]
        if not isinstance(rows, slice):
            rows = np.asarray(rows, dtype=np.int64).ravel()
        return PaperVectors(self.embedding[rows], self.words[rows], self.space_id)

    @staticmethod
    def stack(parts: Sequence[PaperVectors]) -> PaperVectors:
        if not parts:
            raise ValueError("nothing to stack")
        ids = {p.space_id for p in parts}
        if len(ids) > 1:
            raise FeatureSpaceMismatch(f"vectors of different feature spaces: {sorted(ids)}")
        return PaperVectors(
            np.vstack([p.embedding for p in parts]),
            sp.vstack([p.words for p in parts], format="csr"),
            parts[0].space_id,
        )

    def to_matrix(self) -> sp.csr_matrix:
        """The full vectors as one ``(n, dim)`` CSR matrix."""
        return sp.hstack([sp.csr_matrix(self.embedding), self.words], format="csr")
