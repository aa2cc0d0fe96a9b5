"""Match author names as people write them (pure: no database, no I/O).

A followed name and a paper's author name are the same person when their surnames are equal
once folded (case, accents, ``ü``/``ue`` and the like, hyphens and apostrophes) and their
given names agree as far as both say: "J. Smith" is "John Smith" and "J. R. Smith", not
"Jane Smith"'s namesake "K. Smith"; "Müller", "Mueller" and "Muller" are one surname, and
"Jürgen" is "Juergen"; "Łukasz" is "Lukasz" and "Søren" "Soren" (letters with no accent to
drop); "Xiao-Ming" is "Xiaoming".

A name must have a given name (or its initial) to match anything: a bare surname such as
"Smith" would follow every Smith, so :func:`parse_name` reads it as no name at all and the
profile refuses it. Names written "Surname, Given" are read as such.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import NamedTuple

# Letters whose plain spelling is two letters: "Müller" is also written "Mueller".
_SPELLED_OUT = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "o", "œ": "oe"}
# Letters Unicode does not decompose into a plain letter and a mark, and their plain spelling.
_PLAIN = str.maketrans("łŀøđðħıŧ", "lloddhit") | str.maketrans({"þ": "th", "æ": "ae", "œ": "oe"})
# Lower-case particles that belong to the surname: "Ludwig van Beethoven" is "van Beethoven".
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "ter", "ten"}
)
# Suffixes that are not a name: "Martin Luther King Jr." is King.
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd"})


class Name(NamedTuple):
    """A name as matching reads it: each given name, and the surname's spellings."""

    given: tuple[frozenset[str], ...]  # each one's folded spellings: {"jurgen", "juergen"}, {"r"}
    surnames: frozenset[str]  # folded, with and without spelled-out umlauts
    joined: frozenset[str]  # the given names written as one ("xiaoming"); empty with an initial


def fold(text: str, *, spell_out: bool = False) -> str:
    """Lower case, without accents; ``spell_out``: "ü" as "ue" (German style) first."""
    text = text.casefold()
    if spell_out:
        text = "".join(_SPELLED_OUT.get(c, c) for c in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_PLAIN)


def _letters(word: str) -> str:
    return re.sub(r"[^\w]|_", "", word)


def _spellings(name: str) -> frozenset[str]:
    """Every plain spelling of a name: "Müller" is "muller" and "mueller"; hyphens, spaces and
    apostrophes are dropped ("O'Brien" is "obrien"). An initial is its one letter only."""
    plain = _letters(fold(name))
    if len(plain) <= 1:
        return frozenset({plain} - {""})
    return frozenset({plain, _letters(fold(name, spell_out=True))})


def _is_initial(spellings: frozenset[str]) -> bool:
    return any(len(spelling) == 1 for spelling in spellings)


@functools.lru_cache(maxsize=1 << 14)  # a pool's author names, met again for each subscriber
def parse_name(text: str) -> Name | None:
    """Read ``text`` as a person's name; ``None`` if it has no given name or no surname."""
    text = " ".join(text.split())
    if "," in text:
        surname_part, _, given_part = text.partition(",")
        words = given_part.replace(".", ". ").split()
        surname_words = surname_part.split()
    else:
        words = text.replace(".", ". ").split()
        words = [w for w in words if _letters(fold(w)) not in _SUFFIXES]
        if len(words) < 2:
            return None
        # the surname is the last word, with any lower-case particles before it
        cut = len(words) - 1
        while cut > 1 and words[cut - 1].casefold() in _PARTICLES:
            cut -= 1
        words, surname_words = words[:cut], words[cut:]
    # "Jean-Pierre" gives "jean" and "pierre"; "J.-P." gives "j" and "p"
    parts = [part for word in words for part in re.split(r"[-‐]", word)]
    given = tuple(spellings for part in parts if (spellings := _spellings(part)))
    surnames = _spellings(" ".join(surname_words))
    if not given or not surnames:
        return None
    joined = frozenset() if any(map(_is_initial, given)) else _spellings("".join(parts))
    return Name(given, surnames, joined)


def _given_agree(one: Sequence[frozenset[str]], other: Sequence[frozenset[str]]) -> bool:
    """Whether two lists of given names can be one person's: the first names agree (a spelling
    in common, or one is the other's initial); middle names agree where both have one at that
    place."""
    for a, b in zip(one, other, strict=False):
        if _is_initial(a) or _is_initial(b):
            if not {s[0] for s in a} & {s[0] for s in b}:
                return False
        elif not a & b:
            return False
    return True


def same_person(one: Name, other: Name) -> bool:
    """Whether two names can be the same person (see the module's docstring)."""
    if not one.surnames & other.surnames:
        return False
    return _given_agree(one.given, other.given) or bool(one.joined & other.joined)


class Followed:
    """The authors one subscriber follows, read once and matched against many papers."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = [(text, name) for text in names if (name := parse_name(text)) is not None]

    def __bool__(self) -> bool:
        return bool(self.names)

    def match(self, authors: Iterable[str]) -> str | None:
        """The followed name (as the profile writes it) among a paper's ``authors``, if any."""
        for author in authors:
            name = parse_name(author)
            if name is None:
                continue
            for text, followed in self.names:
                if same_person(followed, name):
                    return text
        return None
