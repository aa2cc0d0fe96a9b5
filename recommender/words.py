"""Must and must-not words: whether a paper's text contains a word or phrase (pure).

A word or phrase matches whole words only, case-insensitively, with accents folded: "GAN"
matches "a GAN for..." but not "organ"; "naïve bayes" matches "Naive  Bayes"; a phrase's
words must follow each other (any spacing or hyphen between them: "self supervised" matches
"self-supervised").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from recommender.authors import fold

# Word characters as the folded text has them; anything else separates words.
_WORD = re.compile(r"\w+")


def _pattern(phrase: str) -> re.Pattern[str] | None:
    words = _WORD.findall(fold(phrase))
    if not words:
        return None
    return re.compile(r"(?<!\w)" + r"[\W_]+".join(map(re.escape, words)) + r"(?!\w)")


class Words:
    """A list of words or phrases, compiled once, matched against many texts."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self.phrases = tuple(phrases)
        patterns = [p for p in map(_pattern, self.phrases) if p is not None]
        self._any = re.compile("|".join(f"(?:{p.pattern})" for p in patterns)) if patterns else None

    def __bool__(self) -> bool:
        return self._any is not None

    def found_in(self, *texts: str) -> bool:
        """Whether any of the words or phrases is in any of ``texts``."""
        if self._any is None:
            return False
        return any(self._any.search(fold(text)) for text in texts)


def keeps(text: str, must: Words, must_not: Words) -> bool:
    """Whether a text passes: none of ``must_not`` in it, and one of ``must`` (if any)."""
    if must_not.found_in(text):
        return False
    return not must or must.found_in(text)
