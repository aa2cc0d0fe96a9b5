"""Find the files shipped with the package: templates, example profiles, example dumps.

In a source checkout they are the repository's top-level ``templates/`` and ``profiles/``; an
installed wheel carries copies under ``recommender/_bundled/`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    bundled = PACKAGE / "_bundled" / name
    return bundled if bundled.is_dir() else PACKAGE.parent / name


def templates_dir() -> Path:
    return _shipped("templates")


def profiles_dir() -> Path:
    return _shipped("profiles")


def example_dumps_dir() -> Path:
    return PACKAGE / "examples" / "dumps"
