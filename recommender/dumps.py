"""Parse the text of a paper-listing page (a "digest dump") into listed papers.

The format is described in ``docs/dump-format.md``: a short header ending in the
listing's date (``Mar 20``), then per paper a title line, an abstract paragraph and an optional
three-line metadata block (author count, a ``·`` line, the paper's date with an optional upvote
count), blocks separated by blank lines.

The parser is lenient where real copies vary (CRLF, a BOM, UTF-16 with its BOM as Windows tools
save text, trailing spaces, no final newline,
extra blank lines, wrapped paragraphs, a paper without a metadata block) and strict where a file
is plainly not a dump (empty, HTML, binary, truncated, a number out of range, too large):
those raise :class:`DumpError`, which names the file and, where it helps, the line.

A truncated copy is recognised where its end says so: a title without an abstract, an
abstract that stops mid-sentence or in a URL (a URL is a clean ending only when a metadata
block follows), a metadata block without its date, and a last paper without a metadata block
where nearly all the others have one. A copy cut between two papers is a shorter listing and
cannot be told from one.

Limits keep a hostile file from costing much: a file over ``max_bytes`` (default
:data:`MAX_BYTES`) is refused from its size before it is read, and the parser reads blocks
one at a time and stops at the first paper over ``max_papers`` (default :data:`MAX_PAPERS`);
real listing pages hold about 100 papers in about 0.2 MB.

Dates in a dump carry no year. The rule: the listing date is the latest such day on or before
the *reference date* (the ``--date`` option, else the file's modification time, or today's
date for standard input; one day of slack allows for time zones); a paper date without a year
lies in the listing's year, or the year before if it would otherwise lie after the listing
date.

This module reads files and streams but never touches the database. Over 500 lines on purpose:
reading, the year rule, truncation checks and links all name the file and line of what they
refuse from the same blocks; split, each part would re-walk them.

Over 500 lines on purpose: one grammar (header, entries, metadata, links) and the checks that
refuse what is not a dump, which only make sense together.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from recommender import text_files
from recommender.errors import RecommenderError

MONTHS = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_MONTH = r"(?P<month>[A-Za-z]{3})[a-z]*\.?"
LISTING_DATE_RE = re.compile(rf"^{_MONTH}\s+(?P<day>\d{{1,2}})(?:,\s*(?P<year>\d{{4}}))?$")
PAPER_DATE_RE = re.compile(
    rf"^{_MONTH}\s+(?P<day>\d{{1,2}})(?:,\s*(?P<year>\d{{4}}))?(?:\s+(?P<upvotes>\d+))?$"
)
AUTHORS_RE = re.compile(r"^[•·*-]?\s*(?P<count>\d+)\s+authors?$", re.IGNORECASE)
SEPARATOR_RE = re.compile(r"^[·•|-]$")
URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>{}\"'`]+|\bgithub\.com/[\w.-]+/[\w.-]+", re.IGNORECASE
)


def _any_case(word: str) -> str:
    """Spell an ASCII ``word`` as a case-sensitive pattern that matches as IGNORECASE would."""
    # The letters that Unicode case-insensitive matching folds onto ASCII ones.
    folds = {"i": "İı", "k": "K", "s": "ſ"}
    return "".join(
        f"[{ch}{ch.upper()}{folds.get(ch, '')}]" if ch.isalpha() else re.escape(ch) for ch in word
    )


# URL_RE, written so that every match starts at one of a few letters: case-insensitive
# literals leave the regex engine trying a match at every character (about 150 µs per
# abstract); a leading character set lets it skip ahead (about 25 µs). Same matches.
_URL_SCAN = re.compile(
    rf"[hHwWgG](?:(?<=[hH]){_any_case('ttp')}{_any_case('s')}?://[^\s<>{{}}\"'`]+"
    rf"|(?<=[wW]){_any_case('ww.')}[^\s<>{{}}\"'`]+"
    rf"|(?<=[gG])(?<!\w[gG]){_any_case('ithub.com/')}[\w.-]+/[\w.-]+)"
)
CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "sourceforge.net")
VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")
# An abstract that ends in none of these (and not in a URL) stops mid-sentence.
SENTENCE_END = ".!?)]}\"'”’…"

# Generous limits: a real listing holds about 100 papers, some 2 KB each.
MAX_BYTES = 10_000_000
MAX_PAPERS = 5_000
# How a dump read from standard input is named, in errors and in the store.
STDIN = "<stdin>"
# The year rule of a listing date that gives its year ("Mar 20, 2026").
YEAR_IN_LISTING = "year given in the listing"
# Ranges of the numbers in a dump, so that each fits the store (PostgreSQL's integer holds
# 2,147,483,647) and a number no page could show is refused as the damage it is.
AUTHORS_RANGE = (1, 100_000)
UPVOTES_RANGE = (0, 10_000_000)
YEARS_RANGE = (1900, 2400)
MAX_HEADER_LINE = 80
MAX_HEADER_LINES = 20
MAX_TITLE = 400
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = [chr(code) for code in range(128) if CONTROL_CHARS.match(chr(code))]
# What str.isalnum() rejects: \W is exactly "not isalnum() and not '_'".
_NOT_ALNUM = re.compile(r"[\W_]+")
_ASCII_ALNUM = bytes(code if chr(code).isalnum() else 32 for code in range(256))
# What str.rstrip() strips, but for the line break (every such character is below U+3001).
_SPACES = [chr(code) for code in range(0x3001) if chr(code).isspace() and chr(code) != "\n"]
# Lines are stripped this many characters at a time: the list of one chunk's lines stays
# small even when a hostile file holds millions of tiny ones.
_CHUNK = 1 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")
# A block: lines with no blank line between them.
_BLOCK = re.compile(r"[^\n]+(?:\n[^\n]+)*")


class DumpError(RecommenderError, ValueError):
    """A file that is not a readable dump; ``str()`` names the file and line."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Link:
    kind: str  # "code", "video" or "project"
    url: str


@dataclass(frozen=True)
class ListedPaper:
    """A paper as a listing gives it, before it is stored: a dump's entry, or a source's paper
    (:class:`recommender.sources.base.SourcePaper`, converted so that both merge alike)."""

    title: str
    abstract: str
    authors: int | None
    published: date | None
    upvotes: int | None
    links: tuple[Link, ...]
    line: int  # where the title stands in the dump
    id: str = field(init=False, repr=False, compare=False)  # paper_id(title), computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", paper_id(self.title))


@dataclass(frozen=True)
class Dump:
    listing_date: date
    year_rule: str  # how the listing's year was chosen, in words
    content_hash: str  # sha256 of the normalized text
    papers: tuple[ListedPaper, ...] = field(default=())
    listing: str = ""  # the listing's date as the dump prints it: "Mar 20"


@dataclass(frozen=True)
class Repeat:
    """A title listed again in one dump: the entry at ``line`` has the title of the one at
    ``first`` (after :func:`normalize_title`), and the first is the one a paper is made of."""

    title: str  # as this entry prints it
    line: int
    first: int
    differs: tuple[str, ...]  # what this entry gives otherwise, in words: "abstract", "date"


# What two entries of one title may give differently, and its name in a repeat's words.
_COMPARED = {
    "abstract": "abstract",
    "authors": "author count",
    "published": "date",
    "upvotes": "upvote count",
}


def repeated_titles(papers: tuple[ListedPaper, ...]) -> list[Repeat]:
    """The entries of ``papers`` whose title an earlier entry has already, in order."""
    first: dict[str, ListedPaper] = {}
    repeats = []
    for paper in papers:
        kept = first.setdefault(paper.id, paper)
        if kept is not paper:
            differs = tuple(
                word
                for name, word in _COMPARED.items()
                if getattr(paper, name) != getattr(kept, name)
            )
            repeats.append(Repeat(paper.title, paper.line, kept.line, differs))
    return repeats


@dataclass
class _Block:
    line: int  # line number of the block's first line
    lines: list[str]
    is_metadata: bool = False


def paper_id(title: str) -> str:
    """Return the stable id of a paper: a hash of its normalized title."""
    return hashlib.sha256(normalize_title(title).encode("utf-8")).hexdigest()[:16]


def normalize_title(title: str) -> str:
    """Fold case, width and punctuation so that copies of one title compare equal."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    if folded.isascii():  # most titles; bytes.translate is several times faster than re.sub
        return " ".join(folded.encode().translate(_ASCII_ALNUM).decode().split())
    return " ".join(_NOT_ALNUM.sub(" ", folded).split())


def read_dump(
    path: Path,
    *,
    reference_date: date | None = None,
    max_bytes: int = MAX_BYTES,
    max_papers: int = MAX_PAPERS,
) -> Dump:
    """Read and parse the dump at ``path``.

    Without ``reference_date`` the file's modification time (UTC) dates the listing. A file
    over ``max_bytes`` is refused from its size, before it is read.
    """
    try:
        with path.open("rb") as handle:
            status = os.fstat(handle.fileno())
            if status.st_size > max_bytes:
                raise _too_large(str(path), status.st_size, max_bytes)
            data = handle.read(max_bytes + 1)  # the file may have grown since
    except OSError as exc:
        raise DumpError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise _too_large(str(path), len(data), max_bytes)
    if reference_date is not None:
        rule = f"year from --date {reference_date.isoformat()}"
    else:
        try:
            reference_date = datetime.fromtimestamp(status.st_mtime, UTC).date()
        except (OverflowError, ValueError, OSError) as exc:
            raise DumpError(
                str(path), "the file's modification time is not a date; give --date"
            ) from exc
        rule = f"year from the file's modification time ({reference_date.isoformat()})"
    return parse_dump(
        data,
        reference_date=reference_date,
        source=str(path),
        year_rule=rule,
        max_bytes=max_bytes,
        max_papers=max_papers,
    )


def read_stream(
    stream: BinaryIO,
    *,
    today: date,
    reference_date: date | None = None,
    source: str = STDIN,
    max_bytes: int = MAX_BYTES,
    max_papers: int = MAX_PAPERS,
) -> Dump:
    """Read and parse one dump from ``stream`` (standard input, as a rule).

    A stream has no modification time: without ``reference_date``, ``today`` dates the
    listing, and the year rule says so. At most ``max_bytes + 1`` bytes are read: a longer
    stream is refused without waiting for its end, which may never come.
    """
    data = bytearray()
    try:
        # read() may return less than asked (a pipe, a raw stream): loop until the end or
        # one byte past the limit.
        while len(data) <= max_bytes:
            chunk = stream.read(max_bytes + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise DumpError(source, f"cannot read it: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise _too_large(source, len(data), max_bytes, whole=False)
    if reference_date is not None:
        rule = f"year from --date {reference_date.isoformat()}"
    else:
        reference_date = today
        rule = f"year from today's date, {today.isoformat()} (standard input)"
    return parse_dump(
        bytes(data),
        reference_date=reference_date,
        source=source,
        year_rule=rule,
        max_bytes=max_bytes,
        max_papers=max_papers,
    )


def _too_large(source: str, size: int, limit: int, *, whole: bool = True) -> DumpError:
    """The refusal of a dump over ``limit`` bytes; ``whole``: ``size`` is all of it."""
    holds = _size(size) if whole else f"more than {_size(limit)}"
    if holds == _size(limit):  # just over: "10.0 MB; at most 10.0 MB" would say nothing
        holds, limit_shown = f"{size:,} bytes", f"{limit:,} bytes"
    else:
        limit_shown = _size(limit)
    return DumpError(
        source,
        f"the file holds {holds}; a dump is at most {limit_shown} "
        "(a listing page is about 0.2 MB; the limit is the setting max_dump_bytes)",
    )


def _size(count: int) -> str:
    # In bytes below 0.1 MB, where MB to one decimal would read "0.0 MB".
    return f"{count / 1e6:,.1f} MB" if count >= 100_000 else f"{count:,} bytes"


def parse_dump(
    data: str | bytes,
    *,
    reference_date: date,
    source: str = "<dump>",
    year_rule: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_papers: int = MAX_PAPERS,
) -> Dump:
    """Parse a dump's text (or raw bytes) into a :class:`Dump`; raise :class:`DumpError`."""
    if len(data) > max_bytes:  # for text, characters: at most its size in UTF-8
        raise _too_large(source, len(data), max_bytes)
    text = _decode(data, source)
    normalized = _strip_line_ends(text)
    del text
    _refuse_non_dumps(normalized, source)
    content_hash = hashlib.sha256(normalized.strip().encode("utf-8")).hexdigest()
    blocks = _blocks(normalized)
    listing, listing_date, explicit_year, blocks = _header(blocks, reference_date, source)
    papers = _entries(blocks, listing_date, source, max_papers)
    if explicit_year:
        rule = YEAR_IN_LISTING
    else:
        rule = year_rule or f"year from reference date {reference_date.isoformat()}"
    return Dump(listing_date, rule, content_hash, tuple(papers), listing)


def _strip_line_ends(text: str) -> str:
    """``text`` with whitespace stripped from the end of every line."""
    last = len(text) - 1
    while last >= 0 and text[last] == "\n":
        last -= 1
    # Most copies have none: a search per kind of space (each as fast as memchr) spares a copy.
    if not text[last:].strip("\n").isspace() and not any(s + "\n" in text for s in _SPACES):
        return text
    chunks, start = [], 0
    while start <= len(text):
        end = text.find("\n", start + _CHUNK)
        end = len(text) if end < 0 else end
        chunks.append("\n".join(line.rstrip() for line in text[start:end].split("\n")))
        start = end + 1
    return "\n".join(chunks)


def _decode(data: str | bytes, source: str) -> str:
    if isinstance(data, bytes):
        if b"\x00" in data[:65536] and not text_files.is_utf16(data):
            raise DumpError(source, "this is a binary file, not the text of a listing page")
        try:
            text = text_files.decode(data)
        except text_files.UndecodableText as exc:
            raise DumpError(source, exc.reason, exc.line) from exc
    else:
        text = data.removeprefix("\ufeff")
        # A str may hold what no UTF-8 file can: lone surrogates, which the store cannot take.
        if surrogate := _SURROGATE.search(text):
            line = text.count("\n", 0, surrogate.start()) + 1
            raise DumpError(source, "not UTF-8 text (a lone surrogate)", line)
    if "\r" in text:  # looking for one character is much faster than a replace that finds none
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _refuse_non_dumps(normalized: str, source: str) -> None:
    first_char = len(normalized) - len(normalized.lstrip())
    if first_char == len(normalized):
        raise DumpError(source, "the file is empty")
    # A search for each character (memchr) is several times faster than the regex, which then
    # only runs to say where the first one is.
    if any(ch in normalized for ch in _CONTROL) and (control := CONTROL_CHARS.search(normalized)):
        number = normalized.count("\n", 0, control.start()) + 1
        raise DumpError(source, "control characters: this looks like a binary file", number)
    start = normalized.rfind("\n", 0, first_char) + 1
    first = normalized.count("\n", 0, start) + 1
    head_lines = normalized[start : start + 65536].split("\n", 21)[:21]
    head = " ".join(head_lines).lower()
    if head_lines[0].lstrip().startswith("<") or "<html" in head or "<!doctype" in head:
        raise DumpError(
            source, "this is HTML; save the page's text (select all, copy, paste) instead", first
        )


def _blocks(normalized: str) -> Iterator[_Block]:
    """Yield the blocks of ``normalized`` text one at a time, numbered by their first line."""
    line, counted = 1, 0
    for match in _BLOCK.finditer(normalized):
        line += normalized.count("\n", counted, match.start())
        counted = match.start()
        lines = match[0].split("\n")
        yield _Block(line, lines, _is_metadata(lines))


def _header(
    blocks: Iterator[_Block], reference_date: date, source: str
) -> tuple[str, date, bool, Iterator[_Block]]:
    """Find the listing date that ends the header; return it as printed and as a date, whether
    it gives the year, and the blocks after it."""
    seen = 0
    for block in blocks:
        for offset, line in enumerate(block.lines):
            number = block.line + offset
            match = LISTING_DATE_RE.match(line.strip())
            if match:
                listing = _listing_date(match, reference_date, source, number)
                rest = block.lines[offset + 1 :]
                after = [_Block(number + 1, rest, _is_metadata(rest))] if rest else []
                return match[0], listing, bool(match["year"]), itertools.chain(after, blocks)
            seen += 1
            if len(line) > MAX_HEADER_LINE or seen > MAX_HEADER_LINES:
                raise DumpError(
                    source,
                    "no listing date in the header: a dump starts with a few short lines "
                    "ending in the listing's date, such as 'Mar 20'",
                    number,
                )
    raise DumpError(source, "no listing date and no papers: this is not a listing page")


def _listing_date(match: re.Match[str], reference: date, source: str, line: int) -> date:
    latest = reference + timedelta(days=1) if reference < date.max else reference
    return _dated(match, latest, 9, source, line, "no such day")


def _dated(
    match: re.Match[str], latest: date, years: int, source: str, line: int, refusal: str
) -> date:
    """The date ``match`` prints: in its own year if it gives one, else the latest such day on
    or before ``latest`` within ``years`` years of it; ``refusal`` says why there is none."""
    month, day = _month(match, source, line), int(match["day"])
    if match["year"]:
        return _date(int(match["year"]), month, day, source, line)
    for year in range(latest.year, latest.year - years, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= latest:
            return _date(year, month, day, source, line)
    raise DumpError(source, f"{refusal}: {match[0]!r}", line)


def _month(match: re.Match[str], source: str, line: int) -> int:
    month = MONTHS.get(match["month"].lower())
    if month is None:
        raise DumpError(source, f"unknown month in date {match[0]!r}", line)
    return month


def _date(year: int, month: int, day: int, source: str, line: int) -> date:
    low, high = YEARS_RANGE
    if not low <= year <= high:
        raise DumpError(source, f"the year {year} is out of range ({low} to {high})", line)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DumpError(source, f"invalid date: {exc}", line) from exc


def _entries(
    blocks: Iterator[_Block], listing: date, source: str, max_papers: int
) -> list[ListedPaper]:
    papers: list[ListedPaper] = []
    with_metadata = 0
    block = next(blocks, None)
    while block is not None:
        if block.is_metadata:
            raise DumpError(source, "a metadata block with no paper before it", block.line)
        title = block.lines[0].strip()
        if len(title) > MAX_TITLE:
            raise DumpError(
                source,
                f"expected a paper's title, found a paragraph of {len(title)} characters "
                "(is a title missing?)",
                block.line,
            )
        if len(papers) == max_papers:
            raise DumpError(
                source,
                f"more than {max_papers:,} papers in one dump (a listing page holds about 100; "
                "the limit is the setting max_dump_papers)",
                block.line,
            )
        abstract_lines = block.lines[1:]
        following = next(blocks, None)
        if not abstract_lines and following is None:
            raise DumpError(
                source,
                f"the last paper ({title[:60]!r}) has no abstract: the copy looks truncated",
                block.line,
            )
        if not abstract_lines and following is not None and not following.is_metadata:
            abstract_lines = following.lines
            following = next(blocks, None)
        abstract = " ".join(line.strip() for line in abstract_lines)
        authors = published = upvotes = None
        if following is not None and following.is_metadata:
            authors, published, upvotes = _metadata(following, listing, source)
            with_metadata += 1
            following = next(blocks, None)
        elif following is None:
            _refuse_a_cut_ending(abstract, title, papers, with_metadata, source, block.line)
        links = tuple(extract_links(abstract))
        papers.append(ListedPaper(title, abstract, authors, published, upvotes, links, block.line))
        block = following
    if not papers:
        raise DumpError(source, "the listing holds no papers")
    return papers


def _refuse_a_cut_ending(
    abstract: str, title: str, before: list[ListedPaper], with_metadata: int, source: str, line: int
) -> None:
    """Refuse a last paper, one without a metadata block, whose end looks cut off."""
    if abstract and abstract[-1] not in SENTENCE_END:
        if URL_RE.fullmatch(abstract.split()[-1]):
            raise DumpError(
                source,
                "the last paper's abstract ends in a URL with no metadata block after it: the "
                "copy may be cut inside the URL (copy the page again, or end the abstract with "
                "a full stop if it really ends there)",
                line,
            )
        raise DumpError(
            source,
            "the last paper's abstract stops mid-sentence: the copy looks truncated "
            "(copy the page again, or end the abstract with a full stop if it really "
            "ends there)",
            line,
        )
    # A page with metadata blocks shows one under nearly every paper: a last paper without
    # one is far more likely a copy cut just before it. Three papers before it at least, so
    # that a short listing with one paper of each kind is not taken for a cut.
    if len(before) >= 3 and with_metadata >= 0.9 * len(before):
        raise DumpError(
            source,
            f"the last paper ({title[:60]!r}) has no metadata block, though {with_metadata} of "
            f"the {len(before)} papers before it have one: the copy looks truncated (copy the "
            "page again)",
            line,
        )


def _is_metadata(lines: list[str]) -> bool:
    if AUTHORS_RE.match(lines[0].strip()):
        return True
    return len(lines) <= 3 and all(
        SEPARATOR_RE.match(line.strip()) or PAPER_DATE_RE.match(line.strip()) for line in lines
    )


def _metadata(
    block: _Block, listing: date, source: str
) -> tuple[int | None, date | None, int | None]:
    authors = published = upvotes = None
    for offset, raw in enumerate(block.lines):
        line, number = raw.strip(), block.line + offset
        if match := AUTHORS_RE.match(line):
            authors = _number(match["count"], "an author count", AUTHORS_RANGE, source, number)
        elif match := PAPER_DATE_RE.match(line):
            published = _paper_date(match, listing, source, number)
            if match["upvotes"]:
                upvotes = _number(
                    match["upvotes"], "an upvote count", UPVOTES_RANGE, source, number
                )
        elif not SEPARATOR_RE.match(line):
            raise DumpError(source, f"unexpected line in a metadata block: {line[:60]!r}", number)
    if published is None:
        raise DumpError(
            source, "a metadata block without the paper's date (truncated copy?)", block.line
        )
    return authors, published, upvotes


def _number(digits: str, what: str, allowed: tuple[int, int], source: str, line: int) -> int:
    """``digits`` as a number within ``allowed``; else a :class:`DumpError` naming the line."""
    low, high = allowed
    # Checked by length first: int() of thousands of digits is slow, and refused from 4,300 on.
    shown = digits if len(digits) <= 24 else f"a {len(digits)}-digit number"
    if len(digits) > len(str(high)) or not low <= int(digits) <= high:
        raise DumpError(source, f"{what} of {shown} is out of range ({low:,} to {high:,})", line)
    return int(digits)


def _paper_date(match: re.Match[str], listing: date, source: str, line: int) -> date:
    return _dated(match, listing, 2, source, line, "no such day before the listing date")


def extract_links(text: str) -> list[Link]:
    """Return the distinct URLs in ``text``, each classed as code, video or project page."""
    start = _first_url_at(text)
    if start is None:
        return []
    links: list[Link] = []
    seen: set[str] = set()
    for match in _URL_SCAN.finditer(text, start):
        url = _trim_url(match[0])
        if not url.lower().startswith(("http://", "https://")):
            url = "https://" + url
        host = url.split("/")[2].lower().removeprefix("www.")
        if "." not in host or url in seen:
            continue
        seen.add(url)
        if host.endswith(CODE_HOSTS):
            kind = "code"
        elif host.endswith(VIDEO_HOSTS):
            kind = "video"
        else:
            kind = "project"
        links.append(Link(kind, url))
    return links


def _first_url_at(text: str) -> int | None:
    """Return where the first match of URL_RE can start at the earliest, or None if nowhere."""
    # Every match holds "http", "www." or "thub.com/" once lowercased ("gi" may be "gı").
    lowered = text.lower()
    found = [lowered.find("http"), lowered.find("www."), lowered.find("thub.com/", 2) - 2]
    if max(found) < 0:
        return None
    if len(lowered) != len(text):  # lowercasing lengthened a character: positions moved
        return 0
    return min(at for at in found if at >= 0)


def _trim_url(url: str) -> str:
    while url and url[-1] in ".,;:!?'\"":
        url = url[:-1]
    for opening, closing in ("()", "[]", "{}"):
        while url.endswith(closing) and url.count(closing) > url.count(opening):
            url = url[:-1]
            while url and url[-1] in ".,;:!?":
                url = url[:-1]
    return url


def is_dump_name(name: str) -> bool:
    """Whether a file of this name, found in a folder, is taken for a dump: ``*.txt`` in any
    case (Windows saves ``.TXT`` too), not hidden (``.``: a file still being copied in)."""
    return name.lower().endswith(".txt") and not name.startswith(".")


def find_dump_files(paths: list[Path]) -> list[Path]:
    """Expand ``paths``: a file stands for itself, a directory for its dumps
    (:func:`is_dump_name`).

    Directories are searched recursively, hidden entries skipped, files sorted by path. A path
    that does not exist, and a directory with no dump in it, is kept, so that the caller can
    report it.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p
                for p in path.rglob("*")
                if is_dump_name(p.name)
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            found.extend(inside or [path])
        else:
            found.append(path)
    return found
