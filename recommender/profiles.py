"""Read and validate subscriber profiles: one TOML file per subscriber (see profiles/example.toml).

Every problem is a :class:`ProfileError` naming the file and the field. Loading a folder is all
or nothing: one bad file and no profile is returned, so a caller never applies half a folder.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email

from recommender import resources, text_files
from recommender.errors import RecommenderError
from recommender.schedules import Schedule, check_fires, parse_schedule

DEFAULT_SCHEDULE = "daily 07:30"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_DIGEST_SIZE = 10
MAX_DIGEST_SIZE = 100
# The longest text each stored field may hold. The subscribers table takes its column widths
# from here (store/models.py), so that a profile that passes validation is one every database
# stores (PostgreSQL refuses longer text).
MAX_LENGTHS: dict[str, int] = {
    "email": 320,
    "name": 200,
    "schedule": 100,
    "timezone": 64,
    "profile_path": 1000,
}
# The longest name of a named interest: digests label papers with it (digest_papers.interest).
MAX_INTEREST_NAME = 100
# At most this many named interests, and this many entries in each list of words or names:
# a profile is read by a person, and every entry costs each digest a little.
MAX_INTERESTS = 20
MAX_ENTRIES = 200
# The longest entry of such a list (a phrase, a title, a name), as a dump's longest title
# (dumps.MAX_TITLE), and the longest ``about``: a few paragraphs. The model reads every word
# of them for each digest: 200 phrases of 100,000 characters made each take 17 seconds.
MAX_ENTRY_CHARS = 400
MAX_ABOUT_CHARS = 20_000
# Fields of one ``[[interest]]`` table.
INTEREST_FIELDS = {"name", "phrases", "liked", "authors", "share", "must"}
# Characters that break a line or steer a terminal or the direction of text: refused in names
# and escaped wherever a stored name is printed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Symbols a must or must-not word may not hold: they would read as part of it (C++, C#) or as
# a pattern (deep.*, (a|b)), and the words are matched without them.
_UNMATCHED_SYMBOLS = frozenset("+#*?|()[]{}^$\\")
# What free text may hold of those: line breaks and tabs, read as spaces where they are checked.
_LINE_BREAKS = str.maketrans("\n\r\t", "   ")


def is_control(character: str) -> bool:
    """Whether ``character`` is a control character, a line break or a bidi control."""
    return unicodedata.category(character) in ("Cc", "Zl", "Zp") or character in _BIDI_CONTROLS


class ProfileError(RecommenderError, ValueError):
    """A profile that cannot be used; ``str()`` names the file and the field."""

    def __init__(self, source: str, message: str, field_name: str | None = None) -> None:
        self.source, self.field, self.message = source, field_name, message
        where = f"{source}: field {field_name!r}" if field_name else source
        super().__init__(f"{where}: {message}")


class ProfileErrors(ProfileError):
    """Several profiles of a folder that cannot be used: each named on a line of its own (the
    first one's file and field are this error's)."""

    def __init__(self, errors: Sequence[ProfileError]) -> None:
        first = errors[0]
        super().__init__(first.source, first.message, first.field)
        self.errors = list(errors)
        self.args = (
            f"{len(errors)} profiles cannot be used:\n" + "\n".join(f"  {e}" for e in errors),
        )

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Interest:
    """One named interest: what it is about, and its share of each digest.

    ``share`` is the part of the digest's slots it is given when it has papers good enough
    (0 to 1); ``must``: words or phrases a paper needs (one of them) to count for it.
    """

    name: str
    phrases: tuple[str, ...] = ()
    liked: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    share: float = 0.0
    must: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    email: str
    name: str = ""
    interests: tuple[str, ...] = ()
    about: str = ""
    liked: tuple[str, ...] = ()
    schedule: Schedule = field(default_factory=lambda: parse_schedule(DEFAULT_SCHEDULE))
    timezone: str = DEFAULT_TIMEZONE
    digest_size: int = DEFAULT_DIGEST_SIZE
    min_score: float | None = None
    paused: bool = False
    explore: bool = True
    # Named interests (``[[interest]]`` tables); ``interests`` and ``liked`` above are the
    # profile's unnamed one, as before named interests existed.
    topics: tuple[Interest, ...] = ()
    authors: tuple[str, ...] = ()  # followed, whatever the interest
    must_not: tuple[str, ...] = ()  # a paper with any of these is never sent
    source: str | None = None  # the file it came from

    @property
    def followed(self) -> tuple[str, ...]:
        """Every author followed: the profile's own and each interest's, once each."""
        names = [*self.authors, *(a for topic in self.topics for a in topic.authors)]
        return tuple(dict.fromkeys(names))


FIELDS = {
    "name",
    "email",
    "interests",
    "about",
    "liked",
    "schedule",
    "timezone",
    "digest_size",
    "min_score",
    "paused",
    "explore",
    "interest",
    "authors",
    "must_not",
}


def load_profiles(path: Path) -> list[Profile]:
    """Load a profile file, or every ``*.toml`` in a folder; raise :class:`ProfileError` for
    a bad one, :class:`ProfileErrors` naming each when there are several."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.toml") if p.is_file())
        if not files:
            raise ProfileError(str(path), "no *.toml profiles in this folder")
    elif path.exists():
        files = [path]
    else:
        raise ProfileError(str(path), "no such file or directory")
    profiles, errors = [], []
    for file in files:  # every bad one is named, not the first only
        try:
            profiles.append(load_profile(file))
        except ProfileError as exc:
            errors.append(exc)
    seen: dict[str, str] = {}
    for profile in profiles:
        if profile.email in seen:
            errors.append(_also_subscribed(profile, seen[profile.email]))
        seen.setdefault(profile.email, str(profile.source))
    _raise_any(errors)
    return profiles


def check_addresses_free(loaded: Sequence[Profile], files: Mapping[str, str]) -> None:
    """Refuse the profiles whose address belongs to a subscriber whose file (``files``: each
    subscriber's, by address) is another file that still names that address, as a folder
    holding both is refused: applied, either file would undo the other.

    A subscriber's file that is gone, or names another address now, was renamed, moved or
    edited: a profile with their address takes them along. So does the shipped example
    profile, which ``demo`` subscribes: a copy of it is the user's own file. One that cannot
    be read as a profile is taken to still name them: when in doubt, nothing changes.
    """
    errors = []
    for profile in loaded:
        held_by = files.get(profile.email)
        if profile.source is None or held_by is None or not _other_file(held_by, profile.source):
            continue
        if _shipped_example(held_by):
            continue
        try:
            holder = load_profile(Path(held_by))
        except ProfileError as exc:
            message = (
                f"{profile.email} is subscribed by {held_by}, which cannot be read to tell "
                f"whether it still names them ({exc.message})"
            )
            errors.append(ProfileError(profile.source, message, "email"))
            continue
        if holder.email == profile.email:
            errors.append(_also_subscribed(profile, held_by))
    _raise_any(errors)


def _also_subscribed(profile: Profile, other: str) -> ProfileError:
    return ProfileError(
        str(profile.source), f"{profile.email} is also subscribed by {other}", "email"
    )


def _other_file(path: str, source: str) -> bool:
    """Whether ``path`` is a file other than ``source`` (not another name of it)."""
    try:
        return not os.path.samefile(path, source)
    except OSError:  # gone: renamed, moved or deleted
        return False


def _shipped_example(path: str) -> bool:
    """Whether ``path`` is one of the profiles shipped with the package (``demo``'s)."""
    try:
        return Path(path).resolve().is_relative_to(resources.profiles_dir().resolve())
    except OSError:
        return False


def _raise_any(errors: Sequence[ProfileError]) -> None:
    if len(errors) > 1:
        raise ProfileErrors(errors)
    if errors:
        raise errors[0]


def load_profile(path: Path) -> Profile:
    """Read and validate one profile file."""
    try:
        text = text_files.read(path)
    except OSError as exc:
        raise ProfileError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    except text_files.UndecodableText as exc:
        raise ProfileError(str(path), str(exc)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(str(path), f"not valid TOML: {exc}") from exc
    except RecursionError:
        raise ProfileError(str(path), "not valid TOML: nested too deeply") from None
    return parse_profile(data, source=str(path))


def parse_profile(data: dict[str, Any], source: str = "<profile>") -> Profile:
    """Validate a profile given as a dict (as read from TOML)."""
    _check_fields(data, FIELDS, "the fields are", "", source)
    if len(source) > MAX_LENGTHS["profile_path"]:
        raise ProfileError(
            source,
            f"the file's path is longer than {MAX_LENGTHS['profile_path']} characters; "
            "move it to a shorter one",
        )

    def get(name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        return _typed(data, name, kind, default, name, source)

    if "email" not in data:
        raise ProfileError(source, "missing: every profile needs an email address", "email")
    email = _checked_length(_email(get("email", str, None), source), "email", source)
    timezone = _checked_length(get("timezone", str, DEFAULT_TIMEZONE), "timezone", source)
    _check_timezone(timezone, source)
    digest_size = get("digest_size", int, DEFAULT_DIGEST_SIZE)
    if not 1 <= digest_size <= MAX_DIGEST_SIZE:
        raise ProfileError(source, f"must be between 1 and {MAX_DIGEST_SIZE}", "digest_size")
    min_score = get("min_score", (int, float), None)
    if min_score is not None and not _finite(min_score):
        raise ProfileError(source, f"{min_score!r} is not a finite number", "min_score")
    schedule_text = get("schedule", str, DEFAULT_SCHEDULE)
    try:
        schedule = parse_schedule(schedule_text)
        check_fires(schedule)
    except ValueError as exc:
        raise ProfileError(source, str(exc), "schedule") from exc
    _checked_length(schedule.text, "schedule", source)
    return Profile(
        email=email,
        name=_name(get("name", str, ""), source),
        interests=_phrases(get("interests", list, []), "interests", source),
        about=_about(get("about", str, ""), source),
        liked=_phrases(get("liked", list, []), "liked", source),
        schedule=schedule,
        timezone=timezone,
        digest_size=digest_size,
        min_score=float(min_score) if min_score is not None else None,
        paused=get("paused", bool, False),
        explore=get("explore", bool, True),
        topics=_interests(get("interest", list, []), source),
        authors=_authors(get("authors", list, []), "authors", source),
        must_not=_words(get("must_not", list, []), "must_not", source),
        source=source,
    )


def _interests(tables: list[Any], source: str) -> tuple[Interest, ...]:
    """The ``[[interest]]`` tables, each checked; shares left out split what the others leave."""
    if len(tables) > MAX_INTERESTS:
        raise ProfileError(
            source, f"at most {MAX_INTERESTS} interests, not {len(tables)}", "interest"
        )
    read: list[tuple[Interest, float | None]] = []
    names: set[str] = set()
    for number, table in enumerate(tables, start=1):
        where = f"interest {number}"
        if not isinstance(table, dict):
            raise ProfileError(
                source, f"{where} is {table!r}; write each one as an [[interest]] table", "interest"
            )
        _check_fields(table, INTEREST_FIELDS, "an interest's fields are", f"{where}.", source)

        def get(name: str, kind: type | tuple[type, ...], default: Any) -> Any:
            return _typed(table, name, kind, default, f"{where}.{name}", source)  # noqa: B023

        if "name" not in table:
            raise ProfileError(source, "missing: every interest needs a name", f"{where}.name")
        name = _one_line(get("name", str, ""), f"{where}.name", source)
        if not name:
            raise ProfileError(source, "empty; give the interest a name", f"{where}.name")
        if len(name) > MAX_INTEREST_NAME:
            raise ProfileError(
                source,
                f"at most {MAX_INTEREST_NAME} characters, not {len(name)}",
                f"{where}.name",
            )
        # Names that read the same in a digest are one name: in another case, spacing or
        # Unicode form ("Café" typed as "Cafe" and an accent).
        key = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
        if key in names:
            raise ProfileError(source, f"two interests are named {name!r}", f"{where}.name")
        names.add(key)
        share = get("share", (int, float), None)
        if share is not None and not (_finite(share) and 0 < share <= 1):
            raise ProfileError(
                source, f"{share!r} is not a share between 0 and 1 (0.3 = 30%)", f"{where}.share"
            )
        phrases = _phrases(get("phrases", list, []), f"{where}.phrases", source)
        liked = _phrases(get("liked", list, []), f"{where}.liked", source)
        if not phrases and not liked:
            raise ProfileError(
                source,
                "an interest needs phrases or liked papers to say what it is about",
                f"{where}.phrases",
            )
        interest = Interest(
            name=name,
            phrases=phrases,
            liked=liked,
            authors=_authors(get("authors", list, []), f"{where}.authors", source),
            share=0.0,
            must=_words(get("must", list, []), f"{where}.must", source),
        )
        read.append((interest, None if share is None else float(share)))
    given = sum(share for _, share in read if share is not None)
    if given > 1 + 1e-9:
        raise ProfileError(
            source,
            f"the interests' shares add up to {given:g}, more than 1 (all of it)",
            "interest",
        )
    unset = sum(share is None for _, share in read)
    rest = round((1.0 - given) / unset, 6) if unset else 0.0
    return tuple(
        replace(interest, share=share if share is not None else rest) for interest, share in read
    )


def _check_fields(
    table: dict[str, Any], allowed: set[str], listed: str, prefix: str, source: str
) -> None:
    """Refuse the first field of ``table`` not in ``allowed``, with a did-you-mean."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        close = difflib.get_close_matches(unknown[0], allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        message = f"unknown field; {hint}{listed} {', '.join(sorted(allowed))}"
        raise ProfileError(source, message, f"{prefix}{unknown[0]}")


def _typed(
    table: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    default: Any,
    field_name: str,
    source: str,
) -> Any:
    """``table[name]`` if it is of ``kind`` (a bool is no number), else a clear error."""
    if name not in table:
        return default
    value = table[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise ProfileError(source, f"expected {expected}, got {value!r}", field_name)
    return value


def _finite(value: float) -> bool:
    """Whether ``value`` is a number a float holds (an integer of 309 digits is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _control(value: str) -> str | None:
    """The first control character of ``value`` (:func:`is_control`), if it has one."""
    return next((character for character in value if is_control(character)), None)


def _one_line(value: str, name: str, source: str) -> str:
    value = value.strip()
    if (character := _control(value)) is not None:
        raise ProfileError(
            source, f"control character {character!r} not allowed; write it on one line", name
        )
    return value


def _words(values: list[Any], name: str, source: str) -> tuple[str, ...]:
    """Must or must-not words: each must have a letter or digit to match on, and no symbol
    that would read as meant but is not matched (:mod:`recommender.words` matches the words
    alone): "c++" would keep out every paper with a "c", "deep.*" only "deep"."""
    words = _phrases(values, name, source)
    for word in words:
        if not any(character.isalnum() for character in word):
            raise ProfileError(source, f"{word!r} has no letter or digit to match", name)
        if symbols := sorted(set(word) & _UNMATCHED_SYMBOLS):
            matched = " ".join(re.findall(r"\w+", word))
            raise ProfileError(
                source,
                f"{word!r} would match {matched!r} alone, as {' '.join(symbols)} is not "
                "matched: write words, not symbols or patterns",
                name,
            )
    return words


def _authors(values: list[Any], name: str, source: str) -> tuple[str, ...]:
    """Followed authors: each with a surname (see :mod:`recommender.authors`)."""
    from recommender.authors import parse_name

    names = _phrases(values, name, source)  # each on one line, as every list's entries
    for author in names:
        if parse_name(author) is None:
            raise ProfileError(
                source,
                f"{author!r} is not a full name: write a given name or its initial with the "
                "surname ('J. Smith', 'Ada Lovelace'); a surname alone would follow everyone "
                "who bears it",
                name,
            )
    return names


def _checked_length(value: str, name: str, source: str) -> str:
    if len(value) > MAX_LENGTHS[name]:
        raise ProfileError(
            source, f"at most {MAX_LENGTHS[name]} characters, not {len(value)}", name
        )
    return value


def _name(value: str, source: str) -> str:
    """A name, on one line: shown in listings and in the To line of every digest. Mail
    readers decode ``=?charset?...?=`` in a To line as an encoded word, which may hide a line
    break (a header of its own): no name holds one, so none is taken."""
    value = value.strip()
    if (character := _control(value)) is not None:
        raise ProfileError(
            source,
            f"control character {character!r} not allowed; write the name on one line",
            "name",
        )
    if "=?" in value:
        raise ProfileError(
            source, "'=?' not allowed: mail programs read it as an encoded header", "name"
        )
    return _checked_length(value, "name", source)


def _about(value: str, source: str) -> str:
    """Free text, over lines: a control character other than a line break or a tab steers a
    terminal or the text's direction, and a NUL is text PostgreSQL refuses to store."""
    value = value.strip()
    if (character := _control(value.translate(_LINE_BREAKS))) is not None:
        raise ProfileError(source, f"control character {character!r} not allowed", "about")
    if len(value) > MAX_ABOUT_CHARS:
        raise ProfileError(
            source, f"at most {MAX_ABOUT_CHARS} characters, not {len(value)}", "about"
        )
    return value


def _email(value: str, source: str) -> str:
    if not value.strip():
        raise ProfileError(source, "write an email address, such as 'ada@example.org'", "email")
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ProfileError(
            source, f"{value!r} is not a valid email address: {exc}", "email"
        ) from exc


def _check_timezone(name: str, source: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = closest_timezone(name)
        hint = f"did you mean {close!r}?" if close else "use an IANA name such as 'Europe/Berlin'"
        raise ProfileError(source, f"unknown time zone {name!r}; {hint}", "timezone") from exc


def closest_timezone(name: str) -> str | None:
    """The known time zone ``name`` most likely meant, or None: the same in another case or
    with spaces for underscores ("europe/berlin"), an offset's zone ("UTC+2": Etc/GMT-2), the
    zone of a city named alone ("Berlin"), else the closest by spelling ("Europe/Berln")."""
    zones = _timezones()
    wanted = "_".join(name.split()).lower()
    if wanted in zones:
        return zones[wanted]
    if offset := re.fullmatch(r"(?:utc|gmt)_?([+-])_?0?([0-9]{1,2})(?::?00)?", wanted):
        # POSIX signs: the zone two hours ahead of UTC is Etc/GMT-2
        sign, hours = offset.groups()
        return zones.get(f"etc/gmt{'-' if sign == '+' else '+'}{hours}")
    cities = sorted(zone for key, zone in zones.items() if key.rsplit("/", 1)[-1] == wanted)
    if cities:
        return cities[0]
    close = difflib.get_close_matches(wanted, zones, n=1)
    return zones[close[0]] if close else None


@functools.cache
def _timezones() -> dict[str, str]:
    """Every time zone this system knows, by its name in lower case."""
    return {zone.lower(): zone for zone in available_timezones()}


def _phrases(values: list[Any], name: str, source: str) -> tuple[str, ...]:
    if len(values) > MAX_ENTRIES:
        raise ProfileError(source, f"at most {MAX_ENTRIES} entries, not {len(values)}", name)
    phrases = []
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise ProfileError(source, f"item {index + 1} is {value!r}, not text", name)
        value = " ".join(value.split())  # line breaks and tabs are spaces
        if (character := _control(value)) is not None:
            raise ProfileError(
                source, f"item {index + 1} has the control character {character!r}", name
            )
        if len(value) > MAX_ENTRY_CHARS:
            raise ProfileError(
                source,
                f"item {index + 1} is {len(value)} characters long; at most {MAX_ENTRY_CHARS}",
                name,
            )
        if value:
            phrases.append(value)
    return tuple(phrases)
