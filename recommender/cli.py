"""The ``recommender`` command line: thin commands over :class:`recommender.core.Recommender`.

Each command parses its options, calls the facade and prints; anything worth testing on its own
lives below this layer.

Over 500 lines on purpose: about thirty commands, each a short handler with its options, help
and examples; one file keeps ``recommender --help`` and its code side by side.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import shutil
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError
from tqdm import tqdm

from recommender import dumps, mailer, ratings_io, render, resources, text_files
from recommender.config import Settings
from recommender.core import (
    SORTS,
    SOURCES,
    ComposeOutcome,
    DayAhead,
    DeliveryOutcome,
    DumpInfo,
    DumpNotFound,
    EvaluationInfo,
    FetchedDay,
    FetchReport,
    FileOutcome,
    IngestReport,
    OutboxEntry,
    PaperInfo,
    PaperQuery,
    RatingInfo,
    Recommendation,
    Recommender,
    StreamDump,
    SubscriberInfo,
    Unsubscribed,
)
from recommender.errors import RecommenderError
from recommender.profiles import is_control
from recommender.results import to_json
from recommender.votes import VOTES

# A batch this large gets a progress bar (on a terminal).
PROGRESS_FROM_FILES = 10
DEFAULT_LIST_LIMIT = 25
# What a command that lists or ranks papers says while the catalogue is empty.
NO_PAPERS_YET = (
    "No papers yet: `recommender ingest PATH` adds dump files, `recommender fetch` today's "
    "listing (`recommender demo` the bundled examples)."
)
# How to subscribe again someone who unsubscribed, as every command that finds them so says it.
RESUBSCRIBE = "`recommender subscribe --resubscribe FILE` subscribes them again"

_T = TypeVar("_T")


class Day(click.ParamType):
    """A date on the command line, YYYY-MM-DD; one that is not is refused naming the option and
    that form (click.DateTime would name a strptime pattern)."""

    name = "date"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD.", param, ctx)
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a day of the calendar (YYYY-MM-DD).", param, ctx)


DAY = Day()


class AppContext:
    """Settings from the global options, and the facade, opened on first use."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        self._app: Recommender | None = None

    @property
    def app(self) -> Recommender:
        if self._app is None:
            self._app = Recommender(Settings.load(self.overrides))
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the package's expected errors into a clear message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RecommenderError as exc:
            raise click.ClickException(str(exc)) from exc
        except OperationalError as exc:
            # one line: the driver's messages may run over several
            raise click.ClickException(
                f"database error: {' '.join(str(exc.orig).split())}"
            ) from exc

    return wrapper


def count(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the noun, singular for 1: "1 paper", "2 papers" (``many``, if not one + s)."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_result(found: _T, as_json: bool, text: Callable[[_T], None]) -> None:
    """Print what a command found: as JSON with ``--json``, else by ``text``, for a person."""
    if as_json:
        print_json(to_json(found))
    else:
        text(found)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  recommender demo                         # try it on the bundled example dumps
  recommender ingest ~/dumps/              # ingest every *.txt dump in a folder
  recommender papers search diffusion      # find papers
  recommender --db postgresql://postgres@localhost/papers stats
""",
)
@click.option(
    "--db",
    "database_url",
    metavar="URL",
    help="Database URL (SQLAlchemy form). Default: $RECOMMENDER_DATABASE_URL, else a SQLite "
    "file in the data directory.",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (default: $RECOMMENDER_HOME, else the user data directory).",
)
@click.version_option(package_name="recommender")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, home: Path | None) -> None:
    """Rank the day's new research papers for you and mail you a short digest.

    Ingest listing pages ("dumps"), rate papers, and let a per-user model choose what
    is worth your time.
    """
    state = AppContext({"database_url": database_url, "home": home})
    ctx.obj = state
    ctx.call_on_close(state.close)


@cli.command()
@click.pass_obj
@handle_errors
def init(state: AppContext) -> None:
    """Create the database, or upgrade its schema to this version.

    Other commands do this on first use too; run it to check the database is reachable.

    \b
    Example:
      RECOMMENDER_DATABASE_URL=postgresql://postgres@localhost/papers recommender init
    """
    changed = state.app.init()
    where = state.app.settings.describe_database()
    click.echo(f"{'Created or upgraded' if changed else 'Up to date:'} {where}")


@cli.command()
# Kept as text: "./-" is a file named "-", but Path("./-") == Path("-").
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--date",
    "reference_date",
    type=DAY,
    help="When the dumps were saved (YYYY-MM-DD): dates in a dump have no year, so each "
    "one is taken as the latest such day on or before this date. Default: each file's "
    "modification time; today's date for standard input. At most a day after today (UTC).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
@handle_errors
def ingest(
    state: AppContext, paths: tuple[str, ...], reference_date: date | None, as_json: bool
) -> None:
    """Ingest dump files: the saved text of paper-listing pages.

    PATHS are files, or folders whose *.txt files (recursively) are taken; "-" (once) reads
    one dump from standard input, recorded as <stdin>. Each file is ingested in one
    transaction; a file already ingested changes nothing. A file that is not a dump, or
    whose listing day is after today, is refused with the reason, and the others are still
    ingested; the exit status is then 1.

    \b
    Examples:
      recommender ingest 2026-11-20.txt
      recommender ingest --date 2026-11-23 ~/Downloads/daily-papers/
      xclip -o -selection clipboard | recommender ingest -
    """
    files = _dump_sources(paths)
    with progress_bar(len(files), "file", shown=len(files) >= PROGRESS_FROM_FILES) as bar:

        def advance(outcome: FileOutcome) -> None:
            bar.update(1)
            bar.set_postfix_str(outcome.path.name, refresh=False)

        try:
            report = state.app.ingest(files, reference_date=reference_date, on_file=advance)
        except DayAhead as exc:
            raise click.BadParameter(str(exc), param_hint="'--date'") from exc
    where = state.app.settings.describe_database()
    print_result(report, as_json, lambda report: _print_ingest_summary(report, where))
    if not report.ok:
        sys.exit(1)


def _dump_sources(paths: tuple[str, ...]) -> list[Path | StreamDump]:
    """The files ``paths`` name, in order, with standard input where "-" stands."""
    if paths.count("-") > 1:
        raise click.UsageError("'-' (standard input) may be given once only.")
    sources: list[Path | StreamDump] = []
    for path in paths:
        if path == "-":
            stdin = click.get_binary_stream("stdin")
            if stdin.isatty():  # else a user left waiting would not know why
                click.echo("Reading a dump from standard input; end it with Ctrl-D.", err=True)
            sources.append(StreamDump(stdin))
        else:
            sources.extend(dumps.find_dump_files([Path(path)]))
    return sources


def _print_ingest_summary(report: IngestReport, where: str) -> None:
    for outcome in report.files:
        if outcome.status == "ingested":
            click.echo(
                f"{outcome.path.name}: {outcome.dating()} · {outcome.papers_new} new, "
                f"{outcome.papers_updated} updated, {outcome.papers_unchanged} unchanged"
            )
        elif outcome.status == "already ingested":
            click.echo(
                f"{outcome.path.name}: already ingested as dump {outcome.dump_id}, "
                f"{outcome.dating()}"
            )
    ingested = report.count("ingested")
    if report.file_count == 0:  # every path was a folder with no dump in it
        click.echo(f"Found no dump to ingest; nothing was added to {where}.")
    else:
        click.echo(
            f"Ingested {ingested} of {count(report.file_count, 'file')} into {where}: "
            f"{count(report.papers_new, 'paper')} new, {report.papers_updated} updated, "
            f"{report.papers_unchanged} unchanged."
        )
    skipped = [f for f in report.files if f.status == "already ingested"]
    if skipped:
        click.echo(f"Already ingested, skipped: {', '.join(f.path.name for f in skipped)}")
    if report.warnings:
        click.echo("Listed more than once in one file, kept as one paper:", err=True)
        for warning in report.warnings:
            click.echo(f"  {warning}", err=True)
    if report.refused:
        folders = sum(1 for f in report.refused if f.folder)
        files = len(report.refused) - folders
        refused = [count(files, "file")] if files else []
        refused += [count(folders, "folder")] if folders else []
        click.echo(f"Refused {' and '.join(refused)}:", err=True)
        for outcome in report.refused:
            click.echo(f"  {outcome.error}", err=True)


@cli.command()
@click.option(
    "--source",
    type=click.Choice(SOURCES),
    default="hf",
    show_default=True,
    help="Where to fetch from: hf is Hugging Face Daily Papers; arxiv is the announcement "
    "feed of the arxiv_categories setting (past days from arXiv's query API).",
)
@click.option(
    "--date",
    "day",
    type=DAY,
    help="The listing day to fetch (YYYY-MM-DD). Default: today (UTC).",
)
@click.option(
    "--since",
    type=DAY,
    help="Fetch every listing day from this one (YYYY-MM-DD) to today, oldest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
@handle_errors
def fetch(
    state: AppContext, source: str, day: date | None, since: date | None, as_json: bool
) -> None:
    """Fetch a day's papers from a source into the catalogue (serve does this by itself).

    A paper already known (from a dump or another source) is matched by its arXiv id, else
    by its title, and merged into one: its upvotes, links, arXiv id and Hugging Face page are
    brought up to date. Each day is stored in one transaction; fetching a day again stores
    only what changed. Items of the listing that cannot be read are skipped and counted, and
    the rest of the day is stored. A source that cannot be reached is an error (exit 1); the
    days stored before it stay stored.

    \b
    Examples:
      recommender fetch
      recommender fetch --date 2026-03-20
      recommender fetch --since 2026-03-01 --json
      recommender fetch --source arxiv
      RECOMMENDER_ARXIV_CATEGORIES=cs.CV recommender fetch --source arxiv --since 2026-03-02

    arXiv's feed holds only its latest announcement (empty on weekends); a past day is the
    papers first submitted that day, from the query API, at one request every 3 seconds.
    """
    if day is not None and since is not None:
        raise click.UsageError("give --date or --since, not both.")

    def progress(fetched: FetchedDay) -> None:
        if not as_json:
            click.echo(_fetched_line(fetched))

    try:
        report = state.app.fetch(source, day=day, since=since, on_day=progress)
    except DayAhead as exc:
        raise click.BadParameter(str(exc), param_hint="'--date'" if day else "'--since'") from exc
    print_result(report, as_json, _print_fetch_summary)


def _print_fetch_summary(report: FetchReport) -> None:
    click.echo(
        f"Fetched {count(len(report.days), 'day')} from {report.source} "
        f"in {count(report.requests, 'request')}: {count(report.papers_new, 'paper')} "
        f"new, {report.papers_updated} updated, {report.papers_unchanged} unchanged, "
        f"{len(report.skipped)} skipped."
    )
    for skipped in report.skipped:
        click.echo(f"  skipped {skipped.item}: {skipped.reason}", err=True)


def _fetched_line(fetched: FetchedDay) -> str:
    if fetched.status == "unchanged":
        return f"{fetched.source} {fetched.day.isoformat()}: unchanged since the last fetch"
    return (
        f"{fetched.source} {fetched.day.isoformat()}: {fetched.papers_new} new, "
        f"{fetched.papers_updated} updated, {fetched.papers_unchanged} unchanged, "
        f"{len(fetched.skipped)} skipped"
    )


def paper_filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters shared by ``papers`` and ``papers search``."""
    options = [
        click.option(
            "--since",
            type=DAY,
            help="Only papers listed in a dump dated on or after this day.",
        ),
        click.option(
            "--published-since",
            type=DAY,
            help="Only papers whose own date is on or after this day.",
        ),
        click.option("--min-upvotes", type=click.IntRange(min=0), help="At least this many."),
        click.option("--with-code", is_flag=True, help="Only papers with a code repository link."),
        click.option("--dump", "dump_id", type=int, help="Only papers listed in this dump (id)."),
        click.option(
            "--sort", type=click.Choice(SORTS), default="newest", show_default=True, help="Order."
        ),
        click.option(
            "--limit",
            type=click.IntRange(min=0),
            help=f"At most this many; 0 for all. Default: {DEFAULT_LIST_LIMIT}; all with --json.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print a JSON list."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.group(invoke_without_command=True)
@paper_filters
@click.pass_context
@handle_errors
def papers(ctx: click.Context, **filters: Any) -> None:
    """List papers, newest first; or search them, or show one.

    \b
    Examples:
      recommender papers --with-code --sort upvotes
      recommender papers search "graph neural" --since 2026-11-01
      recommender papers show "Sparse Mixture Routing"
      recommender papers --json > papers.json
    """
    if ctx.invoked_subcommand is None:
        _list_papers(ctx.obj, None, **filters)


@papers.command()
@click.argument("words", nargs=-1, required=True)
@paper_filters
@click.pass_obj
@handle_errors
def search(state: AppContext, words: tuple[str, ...], **filters: Any) -> None:
    """Find papers whose title or abstract contains every one of WORDS (any case).

    \b
    Example:
      recommender papers search reinforcement learning --with-code
    """
    _list_papers(state, " ".join(words), **filters)


def _list_papers(
    state: AppContext,
    text: str | None,
    *,
    since: date | None,
    published_since: date | None,
    min_upvotes: int | None,
    with_code: bool,
    dump_id: int | None,
    sort: str,
    limit: int | None,
    as_json: bool,
) -> None:
    if limit is None:
        limit = 0 if as_json else DEFAULT_LIST_LIMIT
    query = PaperQuery(
        text=text,
        listed_since=since,
        published_since=published_since,
        min_upvotes=min_upvotes,
        with_code=with_code,
        dump_id=dump_id,
        sort=sort,
        limit=limit or None,
    )
    try:
        found, total = state.app.papers(query)
    except DumpNotFound as exc:
        raise click.ClickException(f"{exc}; `recommender dumps` lists them") from exc
    if not found and not as_json and state.app.paper_count() == 0:
        click.echo(NO_PAPERS_YET)
        return
    print_result(found, as_json, lambda found: _print_papers(found, total))


def _print_papers(found: list[PaperInfo], total: int) -> None:
    if not found:
        click.echo("No papers match.")
        return
    width = shutil.get_terminal_size((100, 20)).columns
    click.echo(f"{'ID':<16}  {'DATE':<11}  {'UPVOTES':>7}  TITLE")
    by_listing = False
    for paper in found:
        if paper.published:
            day = f"{paper.published.isoformat()} "
        elif paper.first_listed:  # no date of its own: the day a listing first showed it
            day, by_listing = f"{paper.first_listed.isoformat()}*", True
        else:
            day = f"{'-':<11}"
        votes = f"{paper.upvotes:>7}" if paper.upvotes is not None else f"{'-':>7}"
        line = f"{paper.id}  {day}  {votes}  {_plain(paper.title)}"
        click.echo(line if len(line) <= width else line[: width - 1] + "…")
    if by_listing:
        click.echo("* the listing's date: the dump gives no date of the paper's own.", err=True)
    if total > len(found):
        click.echo(f"… {total - len(found)} more; use --limit 0 to show all.", err=True)


@papers.command()
@click.argument("paper")
@click.option("--json", "as_json", is_flag=True, help="Print the paper as JSON.")
@click.pass_obj
@handle_errors
def show(state: AppContext, paper: str, as_json: bool) -> None:
    """Show one paper, by id or by the start of its title.

    \b
    Example:
      recommender papers show "Diffusion Policies"
    """
    print_result(state.app.paper(paper), as_json, _print_paper)


def _print_paper(info: PaperInfo) -> None:
    """One paper, each stored text escaped where it holds a control character (:func:`_plain`)."""
    click.secho(_plain(info.title), bold=True)
    click.echo(f"Read: {_plain(info.read_url)}")
    facts = [f"id {info.id}"]
    if info.authors is not None:
        facts.append(count(info.authors, "author"))
    if info.published:
        facts.append(f"published {info.published.isoformat()}")
    if info.upvotes is not None:
        facts.append(count(info.upvotes, "upvote"))
    click.echo(" · ".join(facts))
    click.echo()
    click.echo(click.wrap_text(_plain(info.abstract or "(no abstract)"), width=90))
    if info.links:
        click.echo()
        for link in info.links:
            click.echo(f"{link['kind']:>8}: {_plain(link['url'])}")
    click.echo()
    listed = ", ".join(f"{_plain(d['dump'])} ({d['listing_date']})" for d in info.listed_in)
    click.echo(f"Listed in: {listed}")


@cli.command("dumps")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
@handle_errors
def list_dumps(state: AppContext, as_json: bool) -> None:
    """List the ingested dumps, oldest listing first: id, listing date, papers, when ingested,
    file name, and the rule that gave the listing date its year.

    The id is what `papers --dump ID` takes.

    \b
    Examples:
      recommender dumps
      recommender papers --dump 2
    """
    print_result(state.app.dumps(), as_json, _print_dumps)


def _print_dumps(found: list[DumpInfo]) -> None:
    if not found:
        click.echo("No dumps yet; `recommender ingest PATH` adds some.")
        return
    width = max(2, *(len(str(info.id)) for info in found))
    names = max(4, *(len(info.file_name) for info in found))
    click.echo(
        f"{'ID':>{width}}  {'LISTED':<10}  {'PAPERS':>6}  {'INGESTED':<16}  {'FILE':<{names}}  RULE"
    )
    for info in found:
        ingested = info.ingested_at.strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{info.id:>{width}}  {info.listing_date.isoformat()}  {info.papers:>6}  "
            f"{ingested}  {info.file_name:<{names}}  {info.year_rule}"
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
@handle_errors
def stats(state: AppContext, as_json: bool) -> None:
    """Count what the database holds.

    \b
    Example:
      recommender stats --json
    """
    print_result(state.app.stats(), as_json, _print_stats)


def _print_stats(numbers: dict[str, object]) -> None:
    for key, value in numbers.items():
        click.echo(f"{key.replace('_', ' '):>22}: {value if value is not None else '-'}")


@cli.command()
@click.pass_obj
@handle_errors
def demo(state: AppContext) -> None:
    """Run the main job once on the bundled examples.

    Ingests the example dumps, subscribes the example profile (profiles/example.toml), and
    sends its digest: to the SMTP server if one is configured, else as an .eml file and an
    .html preview in the outbox folder. Uses the same database as every other command (a
    SQLite file in the data directory unless --db or RECOMMENDER_DATABASE_URL says
    otherwise). Safe to run again: nothing is ingested or sent twice.

    \b
    Example:
      recommender --home /tmp/recommender-demo demo
    """
    app = state.app
    files = dumps.find_dump_files([resources.example_dumps_dir()])
    report = app.ingest(files)
    _print_ingest_summary(report, app.settings.describe_database())
    for outcome in app.subscribe(resources.profiles_dir() / "example.toml"):
        click.echo(f"Subscriber {outcome.email}: {outcome.action}.")
    sent = _send(state, None)
    numbers = app.stats()
    papers, held = count(int(numbers["papers"]), "paper"), count(int(numbers["dumps"]), "dump")
    click.echo(f"The database now holds {papers} from {held}.")
    click.echo(
        "Next: `recommender recommend ada@example.org`, `recommender papers search WORDS`, "
        "`recommender --help`."
    )
    if not report.ok or not sent:
        sys.exit(1)


def _send(state: AppContext, email: str | None, *, dry_run: bool = False) -> bool:
    """Compose and deliver due digests, printing what happened; False if any failed."""
    app = state.app
    space_made(state)
    progress = Progress.embedding()
    try:
        app.embed_papers(on_start=progress.start, on_progress=progress.advance)
    finally:
        progress.close()

    def said_composed(c: ComposeOutcome) -> None:
        detail = f": {c.subject}" if c.subject else ""
        verb = "would send" if dry_run and c.status == "recorded" else c.status
        click.echo(f"{c.email}: {verb}{detail}")

    if dry_run:
        app.compose(email, dry_run=True, on_subscriber=said_composed)
        return True
    failed: list[DeliveryOutcome] = []
    to_files = isinstance(app.delivery_transport(), mailer.FileTransport)

    def said_delivered(d: DeliveryOutcome) -> None:
        if d.state == "sent" and to_files and d.where is not None:
            preview = mailer.FileTransport.preview_of(d.where)
            click.echo(f"Written to {d.where}" + (f" (preview: {preview})" if preview else ""))
            return
        if d.state == "sent":
            click.echo(f"Sent to {d.email}: {d.where}")
            return
        failed.append(d)
        if d.state == "failed":
            when = d.retry_at.strftime("%Y-%m-%d %H:%M UTC") if d.retry_at else "later"
            click.echo(f"Not sent to {d.email} (will retry at {when}): {d.error}", err=True)
        elif d.state == "unconfirmed":
            click.echo(
                f"Unconfirmed for {d.email}, not sent again by itself "
                f"(`recommender outbox --resend {d.digest_id}` if it did not arrive): {d.error}",
                err=True,
            )
        else:
            click.echo(f"Undeliverable to {d.email}: {d.error}", err=True)

    # each batch is delivered as soon as it is recorded, while the next ones are composed
    report = app.send(email, on_composed=said_composed, on_delivered=said_delivered)
    composed, delivered, ok = report.composed, report.delivered, not failed
    if to_files and any(d.state == "sent" for d in delivered):
        click.echo(f"No SMTP server is set, so digests were written to {app.settings.outbox}")
    if not delivered and not any(c.status == "recorded" for c in composed):
        waiting, first = app.waiting(email)
        if waiting and first is not None:
            wait = "1 digest waits" if waiting == 1 else f"{waiting} digests wait"
            at = f"{'at' if waiting == 1 else 'the first at'} {first:%Y-%m-%d %H:%M} UTC"
            click.echo(f"Nothing to send now: {wait} to be retried, {at}.")
        else:
            click.echo("Nothing to send.")
            if app.paper_count() == 0:
                click.echo(NO_PAPERS_YET)
    return ok


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--resubscribe",
    is_flag=True,
    help="Also reactivate subscribers who had unsubscribed (otherwise that sticks).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Set every field from the file, also those the subscriber changed themselves.",
)
@click.pass_obj
@handle_errors
def subscribe(state: AppContext, path: Path, resubscribe: bool, overwrite: bool) -> None:
    """Create or update subscribers from a profile file, or a folder of *.toml profiles.

    Profiles are checked first; if any is invalid, nothing changes. A file sets only the
    fields it changed since it was last applied: what a subscriber changed on their manage
    page stands, unless --overwrite. See profiles/example.toml for every field.

    \b
    Examples:
      recommender subscribe profiles/
      recommender subscribe profiles/ada.toml
      recommender subscribe --overwrite profiles/ada.toml
    """
    for outcome in state.app.subscribe(path, resubscribe=resubscribe, overwrite=overwrite):
        note = ""
        if outcome.action == "kept unsubscribed":
            note = " (use --resubscribe to undo their unsubscribe)"
        elif outcome.kept:
            kept = ", ".join(outcome.kept)
            note = f" (their own {kept} stands; --overwrite sets the file's)"
        click.echo(f"{outcome.action:>17}: {outcome.email}{note}")


@cli.command()
@click.argument("email")
@click.pass_obj
@handle_errors
def unsubscribe(state: AppContext, email: str) -> None:
    """Stop sending digests to EMAIL. Their ratings are kept.

    \b
    Example:
      recommender unsubscribe ada@example.org
    """
    if state.app.unsubscribe(email):
        click.echo(f"Unsubscribed {email}.")
    else:
        click.echo(f"{email} had already unsubscribed.")


@cli.command()
@click.argument("email")
@click.pass_obj
@handle_errors
def pause(state: AppContext, email: str) -> None:
    """Hold EMAIL's digests until `recommender resume EMAIL`. Nothing piles up meanwhile.

    \b
    Example:
      recommender pause ada@example.org
    """
    if _set_paused(state, email, paused=True):
        click.echo(f"Paused the digests of {email}.")
    else:
        click.echo(f"The digests of {email} were already paused.")


@cli.command()
@click.argument("email")
@click.pass_obj
@handle_errors
def resume(state: AppContext, email: str) -> None:
    """Send EMAIL's digests again; the next brings what arrived since their last.

    \b
    Example:
      recommender resume ada@example.org
    """
    if _set_paused(state, email, paused=False):
        click.echo(f"Resumed the digests of {email}.")
    else:
        click.echo(f"The digests of {email} were not paused.")


def _set_paused(state: AppContext, email: str, *, paused: bool) -> bool:
    try:
        return state.app.pause(email) if paused else state.app.resume(email)
    except Unsubscribed as exc:
        raise click.ClickException(f"{exc}; {RESUBSCRIBE}") from exc


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
@handle_errors
def subscribers(state: AppContext, as_json: bool) -> None:
    """List subscribers (also `recommender users`).

    \b
    Example:
      recommender subscribers --json
    """
    print_result(state.app.subscribers(), as_json, _print_subscribers)


# The command's first name, kept for scripts written against it; --help lists one name.
cli.add_command(copy.copy(subscribers), "users")
cli.commands["users"].hidden = True


def _print_subscribers(found: list[SubscriberInfo]) -> None:
    if not found:
        click.echo("No subscribers yet; add some with `recommender subscribe profiles/`.")
        return
    rows = []
    for subscriber in found:
        status = "active" if subscriber.active else "unsubscribed"
        if subscriber.active and subscriber.paused:
            status = "paused"
        rows.append(
            [
                subscriber.email,
                status,
                subscriber.schedule,
                subscriber.timezone,
                str(subscriber.ratings),
                subscriber.name,
            ]
        )
    _print_table(
        ["email", "status", "schedule", "time zone", "ratings", "name"], rows, right=frozenset({4})
    )


def _print_table(
    header: list[str], rows: list[list[str]], *, right: frozenset[int] = frozenset()
) -> None:
    """Print columns as wide as their widest value (the last one is not padded), with any
    control character escaped: a stored value must not break a line or steer the terminal."""
    rows = [["".join(_escaped(c) for c in value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [
            value.rjust(width) if i in right else value.ljust(width)
            for i, (value, width) in enumerate(zip(row, widths, strict=False))
        ]
        click.echo("  ".join([*cells, row[-1]]))


def _plain(text: str) -> str:
    """``text`` with every control character escaped (:func:`_escaped`)."""
    return text if text.isprintable() else "".join(_escaped(c) for c in text)


def _escaped(character: str) -> str:
    return repr(character)[1:-1] if is_control(character) else character


@cli.command()
@click.argument("email")
@click.argument("paper")
@click.argument("vote", type=click.Choice(list(VOTES)))
@click.pass_obj
@handle_errors
def rate(state: AppContext, email: str, paper: str, vote: str) -> None:
    """Rate PAPER (its id, or the start of its title) up or down for the subscriber EMAIL.

    `clear` withdraws a rating. Every rating is kept in the history; the latest counts.

    \b
    Examples:
      recommender rate ada@example.org 5602a22be89a861c up
      recommender rate ada@example.org "Sparse Mixture Routing" down
    """
    space_made(state)
    rating = state.app.rate(email, paper, vote)
    if rating.changed:
        done = {"up": "👍", "down": "👎", "clear": "cleared"}[rating.vote]
        click.echo(f"{done} {rating.title}")
    elif rating.vote == "clear":
        click.echo(f"Not rated, so nothing to clear: {rating.title}")
    else:
        click.echo(f"Already rated {rating.vote}: {rating.title}")


@cli.command()
@click.argument("email")
@click.option("--history", is_flag=True, help="Every rating ever given, oldest first.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
@handle_errors
def ratings(state: AppContext, email: str, history: bool, as_json: bool) -> None:
    """List EMAIL's current ratings, newest first.

    \b
    Examples:
      recommender ratings ada@example.org
      recommender ratings ada@example.org --history --json
    """
    found = state.app.ratings(email, history=history)
    print_result(found, as_json, lambda found: _print_ratings(found, email))


def _print_ratings(found: list[RatingInfo], email: str) -> None:
    if not found:
        click.echo(f"{email} has rated nothing yet.")
    for rating in found:
        when = rating.rated_at.strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{rating.vote:>5}  {when}  {rating.source:<6} {rating.paper_id}  {rating.title}"
        )


@cli.command("export-ratings")
@click.argument("email")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File (default: stdout).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(ratings_io.FORMATS),
    help=f"{' or '.join(ratings_io.FORMATS)}. Default: json if -o names a *.json file, else csv.",
)
@click.pass_obj
@handle_errors
def export_ratings(state: AppContext, email: str, output: Path | None, fmt: str | None) -> None:
    """Export EMAIL's whole rating history as CSV or JSON.

    \b
    Examples:
      recommender export-ratings ada@example.org -o ada-ratings.csv
      recommender export-ratings ada@example.org --format json > ada.json
    """
    text = ratings_io.write_ratings(
        state.app.export_ratings(email), ratings_io.format_for(str(output or ""), fmt)
    )
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            text_files.replace_file(output, text.encode("utf-8"))
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
        click.echo(f"Wrote {output}", err=True)


@cli.command("import-ratings")
@click.argument("email")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(ratings_io.FORMATS),
    help=f"{' or '.join(ratings_io.FORMATS)}. Default: json if FILE is named *.json, else csv.",
)
@click.pass_obj
@handle_errors
def import_ratings(state: AppContext, email: str, file: Path, fmt: str | None) -> None:
    """Add ratings exported by `export-ratings` to EMAIL's history.

    Ratings already there are skipped, so importing twice changes nothing; ratings of
    papers this database does not hold are skipped and listed.

    \b
    Example:
      recommender import-ratings ada@example.org ada-ratings.csv
    """
    records = ratings_io.read_ratings_file(file, fmt)
    report = state.app.import_ratings(email, records)
    click.echo(
        f"Imported {count(report.imported, 'rating')}; "
        f"{report.already_there} {'was' if report.already_there == 1 else 'were'} already there; "
        f"{len(report.unknown_papers)} "
        f"{'is of a paper' if len(report.unknown_papers) == 1 else 'are of papers'} "
        "not in this database."
    )
    for title in report.unknown_papers[:20]:
        click.echo(f"  not here: {_plain(title)}", err=True)  # the file's, unchecked


def space_made(state: AppContext) -> None:
    """Make the feature space now if there is none, with a progress bar over the papers whose
    words it counts (:meth:`Progress.counting`), before a command that ranks or trains would
    make it silently. A smaller catalogue is quick to count: its space is left to be made
    when needed (a command refused before it needs one makes none)."""
    progress = Progress.counting()
    if state.app.paper_count() < progress.minimum:
        return
    try:
        state.app.feature_space(on_start=progress.start, on_progress=progress.advance)
    finally:
        progress.close()


def progress_bar(total: int, unit: str, desc: str | None = None, *, shown: bool = True) -> Any:
    """A progress bar on standard error, drawn only when that is a terminal: a script, a pipe
    or a log file gets none of its carriage returns. ``shown=False``: never drawn."""
    drawn = shown and sys.stderr.isatty()
    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, disable=not drawn)


class Progress:
    """A progress bar over papers for long work, ``what`` it is, shown when there are at least
    ``minimum`` papers (and standard error is a terminal: :func:`progress_bar`)."""

    def __init__(self, what: str, minimum: int) -> None:
        self.what, self.minimum = what, minimum
        self.bar: tqdm[Any] | None = None

    @classmethod
    def embedding(cls) -> Progress:
        """Embedding papers: about a hundredth of a second each, so a bar from 64 of them."""
        return cls("Embedding papers", 64)

    @classmethod
    def counting(cls) -> Progress:
        """Counting papers' words for a new feature space: half a millisecond each with a long
        abstract, so a bar from 5,000 of them."""
        return cls("Counting words", 5000)

    def start(self, total: int) -> None:
        if total >= self.minimum:
            self.bar = progress_bar(total, "paper", self.what)

    def advance(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@cli.command()
@click.argument("email")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1), help="How many.")
@click.option(
    "--since",
    type=DAY,
    help="Only papers first listed on or after this date (YYYY-MM-DD).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, best first.")
@click.pass_obj
@handle_errors
def recommend(state: AppContext, email: str, top: int, since: date | None, as_json: bool) -> None:
    """Rank the papers the subscriber EMAIL has not rated yet, best first, and say why.

    Papers they list as liked in their profile are left out, and so is a paper with one of
    their must-not words; papers their digests carried are not. Each is labelled with the
    named interest it serves (and a followed author), as their digest would label it.

    The first run embeds every candidate paper once (a progress bar shows it) and keeps
    its word counts; later runs read both instead of computing them again.

    \b
    Examples:
      recommender recommend ada@example.org
      recommender recommend ada@example.org --top 5 --since 2026-03-01 --json
    """
    held = _held(state.app.subscriber(email))
    if held is not None:  # a preview all the same: said first, apart from the ranking
        click.echo(
            f"{email} {'is paused' if held == 'paused' else 'has unsubscribed'}, so no digest "
            f"goes to them; {_undo_hold(email, held)}.",
            err=True,
        )
    space_made(state)
    progress = Progress.embedding()
    try:
        found = state.app.recommend(
            email,
            top=top,
            since=since,
            on_start=progress.start,
            on_progress=progress.advance,
        )
    finally:
        progress.close()
    if not found and not as_json:
        click.echo(
            _nothing_to_recommend(state.app.nothing_to_recommend(email, since=since), email, since)
        )
        return
    print_result(found, as_json, _print_recommendations)


def _held(subscriber: SubscriberInfo) -> str | None:
    """Why no digest goes to ``subscriber`` ("unsubscribed" or "paused"); None if they get
    theirs."""
    if not subscriber.active:
        return "unsubscribed"
    return "paused" if subscriber.paused else None


def _undo_hold(email: str, held: str) -> str:
    """How to send ``email`` digests again, ``held`` as :func:`_held` says."""
    if held == "paused":
        return f"`recommender resume {email}` sends their digests again"
    return RESUBSCRIBE


def _nothing_to_recommend(why: str, email: str, since: date | None) -> str:
    """What ``recommend`` says when it finds nothing, for each of NOTHING_TO_RECOMMEND."""
    listed = f" first listed on or after {since.isoformat()}" if since else ""
    return {
        "no papers": NO_PAPERS_YET,
        "none listed since": f"No paper was{listed}; an earlier --since finds older ones.",
        "all rated": f"Nothing to recommend to {email}: they have rated every paper{listed}, "
        "or like it in their profile.",
        "all kept out": f"Nothing to recommend to {email}: every paper{listed} they have not "
        "rated has one of their must-not words.",
    }[why]


def _print_recommendations(found: list[Recommendation]) -> None:
    for rank, r in enumerate(found, 1):
        click.echo(f"{rank:>3}. {r.title}  ({r.id})")
        if r.followed:
            click.echo(f"     by an author you follow: {r.followed}")
        if r.interest:
            click.echo(f"     for your interest: {r.interest}")
        click.echo(f"     {render.standing(r.beats, r.among)}")
        click.echo(f"     {r.read_url}")
        click.echo(f"     {'; '.join(r.reasons)}")


@cli.command()
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
@handle_errors
def evaluate(state: AppContext, email: str, as_json: bool) -> None:
    """Show how well EMAIL's model predicts their own ratings (cross-validated).

    Each rating is predicted by a model trained without it (cross-validation); the figure is
    how often a paper you rated up is ranked above one you rated down (50% is a coin toss,
    100% perfect). --json also gives the accuracy of the model's yes/no at its threshold,
    which says little while up and down ratings are few or lopsided. Needs at least 2 thumbs
    up and 2 thumbs down.

    \b
    Example:
      recommender evaluate ada@example.org
    """
    space_made(state)
    try:
        info = state.app.evaluate(email)
    except ValueError as exc:
        raise click.ClickException(f"cannot evaluate {email}: {exc}") from exc
    print_result(info, as_json, _print_evaluation)


def _print_evaluation(info: EvaluationInfo) -> None:
    e = info.evaluation
    click.echo(
        f"{info.email}: {e.n_up} rated up, {e.n_down} rated down; each tested on a model "
        f"trained without it ({e.folds}-fold cross-validation)."
    )
    click.echo(
        f"  Given a paper you rated up and one you rated down, the model ranks the one you "
        f"liked higher {e.auc:.0%} of the time (ROC AUC {e.auc:.3f}; 50% is a coin toss, "
        "100% perfect)."
    )
    if e.prior_only_auc is not None:
        click.echo(
            f"  From your profile alone, before any rating, it would be {e.prior_only_auc:.0%}: "
            + (
                "your ratings are teaching it."
                if e.auc > e.prior_only_auc
                else "your ratings have not improved it yet."
            )
        )


@cli.command()
@click.argument("email", required=False)
@click.option(
    "--refit",
    is_flag=True,
    help="First recount word statistics over the catalogue as it is now, with today's word "
    "recipe (a new feature space).",
)
@click.pass_obj
@handle_errors
def retrain(state: AppContext, email: str | None, refit: bool) -> None:
    """Retrain EMAIL's model, or everyone's.

    Models retrain by themselves after every rating and whenever they are stale, so this is
    rarely needed; use --refit after the catalogue has grown a lot, or to move a space made
    by an older release to today's word recipe.

    \b
    Examples:
      recommender retrain ada@example.org
      recommender retrain --refit
    """
    progress = Progress.counting()
    try:
        trained = state.app.retrain(
            email, refit=refit, on_start=progress.start, on_progress=progress.advance
        )
    finally:
        progress.close()
    click.echo(f"Retrained {count(trained, 'model')}.")


@cli.command()
@click.argument("email")
@click.option(
    "--preview", is_flag=True, help="Write an HTML preview (what it always does; accepted as ever)."
)
@click.pass_obj
@handle_errors
def digest(state: AppContext, email: str, preview: bool) -> None:
    """Preview EMAIL's next digest as an HTML file, without sending or recording it.

    \b
    Example:
      recommender digest ada@example.org
    """
    outcome, path = state.app.preview(email)
    if path is None:
        click.echo(f"{email}: {outcome.status}; there is no digest to preview.")
        if outcome.status in ("paused", "unsubscribed"):
            click.echo(f"{_undo_hold(email, outcome.status)}.")
        if outcome.status == "nothing new" and state.app.paper_count() == 0:
            click.echo(NO_PAPERS_YET)
        return
    click.echo(f"{outcome.subject}")
    click.echo(f"Preview written to {path}")


@cli.command()
@click.option(
    "--subscriber",
    "--user",
    "email",
    metavar="EMAIL",
    help="Only this subscriber (default: every active one).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be sent; record and send nothing.")
@click.pass_obj
@handle_errors
def send(state: AppContext, email: str | None, dry_run: bool) -> None:
    """Send the due digests now: the new papers each subscriber has not seen yet.

    Every digest is recorded before it goes to the mail server, and a paper goes to a
    subscriber once only, so running this twice sends nothing new. Without SMTP settings
    (RECOMMENDER_SMTP_HOST, ...) digests are written as files, and the folder is named.
    Failed deliveries are retried by later runs, with growing delays. With many subscribers,
    one process per CPU composes the digests, 200 subscribers at a time, and each batch is
    sent as soon as it is recorded.

    \b
    Examples:
      recommender send --subscriber ada@example.org
      recommender send --dry-run
      RECOMMENDER_SMTP_HOST=mail.example.org RECOMMENDER_SMTP_USER=me recommender send
    """
    if not _send(state, email, dry_run=dry_run):
        sys.exit(1)


@cli.command()
@click.option("--resend", "resend_id", type=int, metavar="ID", help="Queue digest ID again.")
@click.option("--all", "everything", is_flag=True, help="List every digest, sent ones too.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
@handle_errors
def outbox(state: AppContext, resend_id: int | None, everything: bool, as_json: bool) -> None:
    """List digests not (known to be) sent: pending, failed, undeliverable, unconfirmed.

    "unconfirmed" means a sender stopped while handing the digest to the mail server: it
    may have arrived, so it is not sent again unless you ask with --resend. With --all,
    every digest is listed, with when it was recorded and, if sent, when it was sent.

    \b
    Examples:
      recommender outbox
      recommender outbox --all
      recommender outbox --resend 42 && recommender send
    """
    app = state.app
    if resend_id is not None:
        if not app.resend(resend_id):
            raise click.ClickException(_not_resent(app.outbox_entry(resend_id)))
        click.echo(f"Digest {resend_id} queued; `recommender send` delivers it.")
        return
    entries = app.outbox(include_sent=everything)
    print_result(entries, as_json, lambda entries: _print_outbox(entries, everything))


def _print_outbox(entries: list[OutboxEntry], everything: bool) -> None:
    if not entries:
        click.echo(
            "No digest was recorded yet."
            if everything
            else "The outbox is empty: every digest was sent."
        )
    for e in entries:
        if everything:  # when it was recorded, and what became of it when
            what = e.state
            if e.sent_at is not None:
                what = f"sent {e.sent_at:%Y-%m-%d %H:%M}"
            elif e.state == "failed" and e.next_attempt_at is not None:
                what = f"failed, retry {e.next_attempt_at:%Y-%m-%d %H:%M}"
            click.echo(
                f"{e.digest_id:>5}  {e.created_at:%Y-%m-%d %H:%M}  {what:<28}  "
                f"{e.email}  {e.subject}"
            )
        else:
            tries = count(e.attempts, "try", "tries")
            click.echo(f"{e.digest_id:>5}  {e.state:<13} {tries}  {e.email}  {e.subject}")
        if e.last_error and e.state != "sent":
            click.echo(f"       {e.last_error}")


def _not_resent(entry: OutboxEntry) -> str:
    """Why a digest in this state is not queued again."""
    why = {
        "sent": f"was sent at {entry.sent_at:%Y-%m-%d %H:%M} UTC" if entry.sent_at else "was sent",
        "pending": "is due already: the next `recommender send` delivers it",
        "sending": "is being sent now",
    }.get(entry.state, f"is {entry.state}")
    only = "only failed, undeliverable or unconfirmed digests are resent"
    return f"digest {entry.digest_id} {why}; {only}"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.pass_obj
@handle_errors
def serve(state: AppContext, host: str, port: int) -> None:
    """Run the service: the scheduler and the web endpoints, until SIGINT or SIGTERM.

    The scheduler ingests dumps dropped into the inbox folder (RECOMMENDER_INBOX_DIR,
    default HOME/inbox), sends each subscriber's digest on their schedule in their time
    zone, and retries failed deliveries. The web endpoints take the rating, unsubscribe and
    manage links of the digests; set RECOMMENDER_BASE_URL to the address people reach
    them at. Jobs are kept in the database, so a restart keeps every schedule.

    \b
    Examples:
      recommender serve
      RECOMMENDER_BASE_URL=https://papers.example.org recommender serve --host 0.0.0.0
    """
    from recommender.service import Service

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = state.app
    service = Service(app, host, port)
    service.listen()
    click.echo(f"Serving on http://{host}:{port} (links point to {app.settings.base_url})")
    click.echo(f"Inbox: {app.settings.inbox}   Database: {app.settings.describe_database()}")
    service.run()


def main() -> None:
    cli(prog_name="recommender")
