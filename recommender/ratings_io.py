"""Read and write rating exports (CSV or JSON), so subscribers can take their ratings along.

A record is ``paper_id, title, vote (up/down/clear), source, rated_at (ISO 8601 with zone)``.
Reading is strict: a bad row is a :class:`RatingsFileError` naming the file, the row and the
field, and nothing is returned. A CSV field that a spreadsheet would run as a formula (a title
from a listing starting with ``=``, say) is written behind a ``'``, which reading takes off.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from recommender import text_files
from recommender.errors import RecommenderError
from recommender.votes import SOURCES, VOTES

FIELDS = ("paper_id", "title", "vote", "source", "rated_at")
FORMATS = ("csv", "json")
# What starts a formula in a spreadsheet (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RatingsFileError(RecommenderError, ValueError):
    def __init__(self, source: str, message: str, row: int | None = None) -> None:
        where = f"{source}:{row}" if row is not None else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class RatingRecord:
    paper_id: str
    title: str
    vote: str
    source: str
    rated_at: datetime

    def to_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["rated_at"] = self.rated_at.isoformat()
        return data


def format_for(path: str, explicit: str | None = None) -> str:
    """Pick the format from an explicit choice, else the file name's ending (default CSV)."""
    if explicit:
        return explicit
    return "json" if path.lower().endswith(".json") else "csv"


def write_ratings(records: list[RatingRecord], fmt: str) -> str:
    """The text of a rating export of ``records`` in format ``fmt`` (csv or json)."""
    if fmt == "json":
        return json.dumps([r.to_dict() for r in records], indent=2, ensure_ascii=False) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _inert(v) for k, v in r.to_dict().items()} for r in records)
    return out.getvalue()


def _runs_as_formula(value: str) -> bool:
    """Whether a spreadsheet would run ``value`` as a formula, or it reads back as one that
    would (a ``'`` before such a value), so that writing and reading are each other's undoing."""
    return value.startswith(FORMULA_STARTS) or (
        value.startswith("'") and _runs_as_formula(value[1:])
    )


def _inert(value: str) -> str:
    """``value`` as a CSV field no spreadsheet runs: behind a ``'`` when it would."""
    return "'" + value if _runs_as_formula(value) else value


def _as_written(value: str) -> str:
    """A CSV field's value before :func:`_inert`."""
    return value[1:] if value.startswith("'") and _runs_as_formula(value[1:]) else value


def read_ratings_file(path: Path, fmt: str | None = None) -> list[RatingRecord]:
    """The records of the rating export at ``path`` (format ``fmt``, else from its name): see
    :func:`read_ratings`; a file that cannot be read or decoded is a :class:`RatingsFileError`."""
    try:
        text = text_files.read(path)
    except OSError as exc:
        raise RatingsFileError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc
    except text_files.UndecodableText as exc:
        raise RatingsFileError(str(path), exc.reason, exc.line) from exc
    return read_ratings(text, format_for(str(path), fmt), str(path))


def read_ratings(text: str, fmt: str, source: str = "<ratings>") -> list[RatingRecord]:
    """The records of a rating export; :class:`RatingsFileError` names the first bad row."""
    if fmt == "json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RatingsFileError(source, f"not valid JSON: {exc.msg}", exc.lineno) from exc
        except RecursionError:
            raise RatingsFileError(source, "not valid JSON: nested too deeply") from None
        except ValueError as exc:  # such as an integer of more digits than Python converts
            raise RatingsFileError(source, f"not valid JSON: {exc}") from exc
        if not isinstance(rows, list):
            raise RatingsFileError(source, "expected a JSON list of ratings")
        numbered = [(index + 1, row) for index, row in enumerate(rows)]
        what = "item"
    else:
        reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
        try:
            if mistyped := _mistyped(reader.fieldnames or []):
                raise RatingsFileError(source, f"unknown column {mistyped}", 1)
            missing = [f for f in ("vote", "rated_at") if f not in (reader.fieldnames or [])]
            if missing:
                raise RatingsFileError(
                    source, f"missing column {missing[0]!r}; columns: {', '.join(FIELDS)}", 1
                )
            numbered = [
                (
                    reader.line_num,
                    {k: _as_written(v) if isinstance(v, str) else v for k, v in row.items()},
                )
                for row in reader
            ]
        except csv.Error as exc:  # such as a field longer than the csv module's limit
            raise RatingsFileError(source, f"line {reader.reader.line_num}: {exc}") from exc
        what = "line"
    return [_record(row, source, number, what) for number, row in numbered]


def _record(row: object, source: str, number: int, what: str) -> RatingRecord:
    def fail(message: str) -> RatingsFileError:
        return RatingsFileError(f"{source}", f"{what} {number}: {message}")

    if not isinstance(row, dict):
        raise fail("expected an object with the fields " + ", ".join(FIELDS))
    if what == "item" and (mistyped := _mistyped(list(row))):
        raise fail(f"unknown field {mistyped}")
    paper_id, title = str(row.get("paper_id") or "").strip(), str(row.get("title") or "").strip()
    # A JSON escape can spell what no text file holds: a lone surrogate, which no database
    # stores or terminal prints, or a NUL, which PostgreSQL refuses (an id is looked up).
    for name, value, refused in (("paper_id", paper_id, "\0"), ("title", title, "")):
        if any("\ud800" <= c <= "\udfff" or c in refused for c in value):
            raise fail(f"field {name!r} is {value!r}: a NUL or a lone surrogate is no text")
    if not paper_id and not title:
        raise fail("needs a paper_id or a title")
    vote = str(row.get("vote") or "").strip().lower()
    if vote not in VOTES:
        raise fail(f"field 'vote' is {row.get('vote')!r}; use up, down or clear")
    source_word = str(row.get("source") or "import").strip().lower()
    if source_word not in SOURCES:
        raise fail(f"field 'source' is {row.get('source')!r}; use one of {', '.join(SOURCES)}")
    try:
        rated_at = datetime.fromisoformat(str(row.get("rated_at") or ""))
    except ValueError:
        raise fail(f"field 'rated_at' is {row.get('rated_at')!r}, not an ISO 8601 time") from None
    if rated_at.tzinfo is None:
        raise fail("field 'rated_at' needs a time zone, such as +00:00")
    try:
        rated_at.astimezone(UTC)  # as it is stored
    except OverflowError:
        raise fail(
            f"field 'rated_at' is {row.get('rated_at')!r}, outside the calendar in UTC"
        ) from None
    return RatingRecord(paper_id, title, vote, source_word, rated_at)


def _mistyped(names: list[str]) -> str | None:
    """The first of ``names`` that looks like a field the file lacks, with a did-you-mean
    ("'sorce'; did you mean 'source'?"): its values would be passed over unread. Columns of
    the file's own (notes, say) are left alone."""
    for name in names:
        if name in FIELDS:
            continue
        close = difflib.get_close_matches("_".join(str(name).lower().split()), FIELDS, n=1)
        if close and close[0] not in names:
            return f"{name!r}; did you mean {close[0]!r}?"
    return None
