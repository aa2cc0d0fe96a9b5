"""Parse the text of a paper-listing page (a "digest dump") into paper records.

The format is described in ``shared/docs/dump-format.md``: a short header ending in the
listing's date (``Mar 20``), then per paper a title line, an abstract paragraph and an optional
three-line metadata block (author count, a ``·`` line, the paper's date with an optional upvote
count), blocks separated by blank lines.

The parser is lenient where real copies vary (CRLF, a BOM, trailing spaces, no final newline,
extra blank lines, wrapped paragraphs, a paper without a metadata block) and strict where a file
is plainly not a dump (empty, HTML, binary, truncated): those raise :class:`DumpError`, which
names the file and, where it helps, the line.

Dates in a dump carry no year. The rule: the listing date is the latest such day on or before
the *reference date* (the ``--date`` option, else the file's modification time; one day of
slack allows for time zones); a paper date without a year lies in the listing's year, or the
year before if it would otherwise lie after the listing date.

This module reads files but never touches the database.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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

MAX_HEADER_LINE = 80
MAX_HEADER_LINES = 20
MAX_TITLE = 400
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = [chr(code) for code in range(128) if CONTROL_CHARS.match(chr(code))]
# What str.isalnum() rejects: \W is exactly "not isalnum() and not '_'".
_NOT_ALNUM = re.compile(r"[\W_]+")
_ASCII_ALNUM = bytes(code if chr(code).isalnum() else 32 for code in range(256))


class DumpError(ValueError):
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
class PaperRecord:
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
    papers: tuple[PaperRecord, ...] = field(default=())


@dataclass
class _Block:
    line: int  # line number of the block's first line
    lines: list[str]


def paper_id(title: str) -> str:
    """Return the stable id of a paper: a hash of its normalized title."""
    return hashlib.sha256(normalize_title(title).encode("utf-8")).hexdigest()[:16]


def normalize_title(title: str) -> str:
    """Fold case, width and punctuation so that copies of one title compare equal."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    if folded.isascii():  # most titles; bytes.translate is several times faster than re.sub
        return " ".join(folded.encode().translate(_ASCII_ALNUM).decode().split())
    return " ".join(_NOT_ALNUM.sub(" ", folded).split())


def read_dump(path: Path, *, reference_date: date | None = None) -> Dump:
    """Read and parse the dump at ``path``.

    Without ``reference_date`` the file's modification time (UTC) dates the listing.
    """
    try:
        data = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise DumpError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    if reference_date is not None:
        rule = f"year from --date {reference_date.isoformat()}"
    else:
        reference_date = datetime.fromtimestamp(mtime, UTC).date()
        rule = f"year from the file's modification time ({reference_date.isoformat()})"
    return parse_dump(data, reference_date=reference_date, source=str(path), year_rule=rule)


def parse_dump(
    data: str | bytes,
    *,
    reference_date: date,
    source: str = "<dump>",
    year_rule: str | None = None,
) -> Dump:
    """Parse a dump's text (or raw bytes) into a :class:`Dump`; raise :class:`DumpError`."""
    text = _decode(data, source)
    lines = [line.rstrip() for line in text.split("\n")]
    normalized = "\n".join(lines)
    content_hash = hashlib.sha256(normalized.strip().encode("utf-8")).hexdigest()
    _refuse_non_dumps(lines, normalized, source)
    blocks = _blocks(lines)
    listing_date, explicit_year, blocks = _header(blocks, reference_date, source)
    papers = _entries(blocks, listing_date, source)
    if explicit_year:
        rule = "year given in the listing"
    else:
        rule = year_rule or f"year from reference date {reference_date.isoformat()}"
    return Dump(listing_date, rule, content_hash, tuple(papers))


def _decode(data: str | bytes, source: str) -> str:
    if isinstance(data, bytes):
        if b"\x00" in data[:65536]:
            raise DumpError(source, "this is a binary file, not the text of a listing page")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DumpError(
                source, f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x})", line
            ) from exc
    else:
        text = data.removeprefix("\ufeff")
    if "\r" in text:  # looking for one character is much faster than a replace that finds none
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _refuse_non_dumps(lines: list[str], normalized: str, source: str) -> None:
    if not any(lines):
        raise DumpError(source, "the file is empty")
    # A search for each character (memchr) is several times faster than the regex, which then
    # only runs to say where the first one is.
    if any(ch in normalized for ch in _CONTROL) and (control := CONTROL_CHARS.search(normalized)):
        number = normalized.count("\n", 0, control.start()) + 1
        raise DumpError(source, "control characters: this looks like a binary file", number)
    first = next(number for number, line in enumerate(lines, 1) if line)
    head = " ".join(lines[first - 1 : first + 20]).lower()
    if lines[first - 1].lstrip().startswith("<") or "<html" in head or "<!doctype" in head:
        raise DumpError(
            source, "this is HTML; save the page's text (select all, copy, paste) instead", first
        )


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            current = None
        elif current is None:
            current = _Block(number, [line])
            blocks.append(current)
        else:
            current.lines.append(line)
    return blocks


def _header(
    blocks: list[_Block], reference_date: date, source: str
) -> tuple[date, bool, list[_Block]]:
    """Find the listing date that ends the header; return it and the blocks after it."""
    seen = 0
    for index, block in enumerate(blocks):
        for offset, line in enumerate(block.lines):
            number = block.line + offset
            match = LISTING_DATE_RE.match(line.strip())
            if match:
                listing = _listing_date(match, reference_date, source, number)
                rest = block.lines[offset + 1 :]
                after = [_Block(number + 1, rest)] if rest else []
                return listing, bool(match["year"]), after + blocks[index + 1 :]
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
    month, day = _month(match, source, line), int(match["day"])
    if match["year"]:
        return _date(int(match["year"]), month, day, source, line)
    latest = reference + timedelta(days=1)
    for year in range(latest.year, latest.year - 9, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= latest:
            return candidate
    raise DumpError(source, f"no such day: {match[0]!r}", line)


def _month(match: re.Match[str], source: str, line: int) -> int:
    month = MONTHS.get(match["month"].lower())
    if month is None:
        raise DumpError(source, f"unknown month in date {match[0]!r}", line)
    return month


def _date(year: int, month: int, day: int, source: str, line: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DumpError(source, f"invalid date: {exc}", line) from exc


def _entries(blocks: list[_Block], listing: date, source: str) -> list[PaperRecord]:
    papers: list[PaperRecord] = []
    is_metadata = [_is_metadata(block) for block in blocks]
    index = 0
    while index < len(blocks):
        block = blocks[index]
        if is_metadata[index]:
            raise DumpError(source, "a metadata block with no paper before it", block.line)
        title = block.lines[0].strip()
        if len(title) > MAX_TITLE:
            raise DumpError(
                source,
                f"expected a paper's title, found a paragraph of {len(title)} characters "
                "(is a title missing?)",
                block.line,
            )
        abstract_lines = block.lines[1:]
        index += 1
        if not abstract_lines and index < len(blocks) and not is_metadata[index]:
            abstract_lines = blocks[index].lines
            index += 1
        elif not abstract_lines and index == len(blocks):
            raise DumpError(
                source,
                f"the last paper ({title[:60]!r}) has no abstract: the copy looks truncated",
                block.line,
            )
        abstract = " ".join(line.strip() for line in abstract_lines)
        authors = published = upvotes = None
        if index < len(blocks) and is_metadata[index]:
            authors, published, upvotes = _metadata(blocks[index], listing, source)
            index += 1
        elif index == len(blocks) and abstract and not _ends_cleanly(abstract):
            raise DumpError(
                source,
                "the last paper's abstract stops mid-sentence: the copy looks truncated "
                "(copy the page again, or end the abstract with a full stop if it really "
                "ends there)",
                block.line,
            )
        links = tuple(extract_links(abstract))
        papers.append(PaperRecord(title, abstract, authors, published, upvotes, links, block.line))
    if not papers:
        raise DumpError(source, "the listing holds no papers")
    return papers


def _is_metadata(block: _Block) -> bool:
    first = block.lines[0].strip()
    if AUTHORS_RE.match(first):
        return True
    return len(block.lines) <= 3 and all(
        SEPARATOR_RE.match(line.strip()) or PAPER_DATE_RE.match(line.strip())
        for line in block.lines
    )


def _metadata(
    block: _Block, listing: date, source: str
) -> tuple[int | None, date | None, int | None]:
    authors = published = upvotes = None
    for offset, raw in enumerate(block.lines):
        line, number = raw.strip(), block.line + offset
        if match := AUTHORS_RE.match(line):
            authors = int(match["count"])
        elif match := PAPER_DATE_RE.match(line):
            published = _paper_date(match, listing, source, number)
            upvotes = int(match["upvotes"]) if match["upvotes"] else None
        elif not SEPARATOR_RE.match(line):
            raise DumpError(source, f"unexpected line in a metadata block: {line[:60]!r}", number)
    if published is None:
        raise DumpError(
            source, "a metadata block without the paper's date (truncated copy?)", block.line
        )
    return authors, published, upvotes


def _paper_date(match: re.Match[str], listing: date, source: str, line: int) -> date:
    month, day = _month(match, source, line), int(match["day"])
    if match["year"]:
        return _date(int(match["year"]), month, day, source, line)
    for year in (listing.year, listing.year - 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= listing:
            return candidate
    raise DumpError(source, f"no such day before the listing date: {match[0]!r}", line)


def _ends_cleanly(abstract: str) -> bool:
    return abstract[-1] in SENTENCE_END or bool(URL_RE.fullmatch(abstract.split()[-1]))


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


def find_dump_files(paths: list[Path]) -> list[Path]:
    """Expand ``paths``: a file stands for itself, a directory for its ``*.txt`` files.

    Directories are searched recursively, hidden entries skipped, files sorted by path. A path
    that does not exist is kept, so that the caller can report it.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*.txt")
                    if p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        else:
            found.append(path)
    return found
